"""What the medical exercises share: counts inside the field of view, a synthetic fundus, a mistake detector."""

from __future__ import annotations

import math
from typing import Any, Callable

import torch

from ..core import Case

__all__ = ["LESSON", "fov_counts", "ratio", "fundus", "said"]

LESSON = "09_capstone_medical"


def fov_counts(pred: torch.Tensor, target: torch.Tensor, fov: torch.Tensor) -> tuple[int, int, int, int]:
    """(TP, FN, FP, TN) of bool-able masks, counted where ``fov`` is True."""
    p, t, f = pred.bool(), target.bool(), fov.bool()
    return (int((p & t & f).sum()), int((~p & t & f).sum()), int((p & ~t & f).sum()), int((~p & ~t & f).sum()))


def ratio(num: int, den: int) -> float:
    """``num / den``, or NaN when ``den`` is 0."""
    return num / den if den else math.nan


def fundus(seed: int, h: int, w: int, lines: int = 3, rim: float = 0.05) -> tuple[torch.Tensor, ...]:
    """(probs float32, target int64 0/1, fov bool): thin straight 'vessels' in a round field of view, a model's
    noisy probabilities, and a falsely bright rim just outside the FOV (``rim`` = the share of rim pixels lit),
    as real models give at its edge. Elsewhere outside the FOV the photo is black and the model says ~0."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    cy, cx, radius = (h - 1) / 2, (w - 1) / 2, 0.42 * min(h, w)
    dist = ((yy - cy) ** 2 + (xx - cx) ** 2).sqrt()
    fov = dist < radius
    vessels = torch.zeros(h, w, dtype=torch.bool)
    for _ in range(lines):
        angle, offset, width = torch.rand(3, generator=g).tolist()
        angle *= math.pi
        across = (xx - cx) * math.cos(angle) + (yy - cy) * math.sin(angle) - (offset - 0.5) * radius
        vessels |= across.abs() < 0.5 + 0.6 * width  # 1 or 2 pixels wide
    vessels &= fov
    logits = 2.0 * (2 * vessels.float() - 1) - 1.0 + 1.5 * torch.randn(h, w, generator=g)
    probs = torch.sigmoid(logits)
    outside = ~fov
    probs[outside] = 0.05 * torch.rand(int(outside.sum()), generator=g)
    lit = outside & (dist < radius + 1.5) & (torch.rand(h, w, generator=g) < rim)
    probs[lit] = 0.5 + 0.45 * torch.rand(int(lit.sum()), generator=g)
    return probs.float(), vessels.long(), fov


def said(*phrases: str) -> Callable[[Case, Any, str], bool]:
    """A mistake's detector: the checker's reason sentence contains one of ``phrases``."""
    return lambda case, got, reason: any(phrase in reason for phrase in phrases)
