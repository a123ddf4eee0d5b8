"""Boundary scores of binary masks and label maps: boundary F1 (contours matched within a tolerance) and the
95th-percentile Hausdorff distance between mask surfaces.

Masks are bool or 0/1 integer tensors (or numpy arrays), one H×W mask or a batch N×H×W; scores are per image.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..validation import check_choice, check_int
from .inputs import check_labels, check_num_classes, to_tensor

__all__ = ["boundary_f1", "hausdorff95"]

_REDUCTIONS = ("mean", "none")


def _binary_masks(x: Any, name: str) -> torch.Tensor:
    """Bool N×H×W masks from bool or 0/1 integer H×W / N×H×W input."""
    t = to_tensor(x, name)
    if t.is_floating_point() or t.is_complex():
        raise ValueError(f"{name} has dtype {t.dtype}; pass a bool or 0/1 integer mask (e.g. probs > 0.5).")
    if t.ndim not in (2, 3):
        raise ValueError(f"{name} has shape {tuple(t.shape)}; pass one H×W mask or a batch N×H×W.")
    if t.dtype != torch.bool:
        if t.numel() and bool(((t != 0) & (t != 1)).any()):
            raise ValueError(f"{name} holds values other than 0 and 1; for label maps pass num_classes=... instead.")
        t = t != 0
    return t if t.ndim == 3 else t.unsqueeze(0)


def _mask_pair(pred: Any, target: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Bool N×H×W (pred, target) masks of the same shape."""
    p, t = _binary_masks(pred, "pred"), _binary_masks(target, "target")
    if p.shape != t.shape:
        raise ValueError(f"pred has shape {tuple(p.shape)} but target has shape {tuple(t.shape)}; they must match.")
    return p, t


def _boundary(mask: torch.Tensor) -> torch.Tensor:
    """Foreground pixels with a background 8-neighbour inside the image (the image frame is not a boundary)."""
    m = mask.unsqueeze(1).float()
    background_near = F.max_pool2d(1.0 - m, kernel_size=3, stride=1, padding=1)  # pads with -inf: outside ignored
    return ((m * background_near) > 0).squeeze(1)


def _dilate(mask: torch.Tensor, radius: int) -> torch.Tensor:
    """Bool N×H×W masks grown by ``radius`` pixels (a (2·radius+1)² square)."""
    if radius == 0:
        return mask
    return F.max_pool2d(mask.unsqueeze(1).float(), 2 * radius + 1, stride=1, padding=radius).squeeze(1) > 0


def _boundary_f1_masks(pred: torch.Tensor, target: torch.Tensor, tolerance: int, empty: float) -> torch.Tensor:
    """Boundary F1 of each pair of bool masks; ``empty`` where both masks equal and neither has an outline."""
    pb, tb = _boundary(pred), _boundary(target)
    n_p = pb.sum((1, 2)).double()
    n_t = tb.sum((1, 2)).double()
    hit_p = (pb & _dilate(tb, tolerance)).sum((1, 2)).double()
    hit_t = (tb & _dilate(pb, tolerance)).sum((1, 2)).double()
    precision = hit_p / n_p.clamp_min(1)
    recall = hit_t / n_t.clamp_min(1)
    f1 = torch.where(precision + recall > 0, 2 * precision * recall / (precision + recall).clamp_min(1e-300), 0.0)
    # No outline in either mask: each is all-empty or all-full. Equal masks score ``empty``; an all-full
    # prediction against an empty target (or the reverse) is a total miss, 0.
    same = pred.flatten(1).any(1) == target.flatten(1).any(1)
    no_outline = torch.where(same, torch.full_like(f1, empty), torch.zeros_like(f1))
    return torch.where((n_p == 0) & (n_t == 0), no_outline, f1)


def _label_boundary_f1(pred: Any, target: Any, tolerance: int, num_classes: Any) -> torch.Tensor:
    """N×C boundary F1 of label maps, one class at a time; NaN for a class without boundary in both."""
    num_classes = check_num_classes(num_classes)
    p, t = check_labels(pred, target, num_classes, None)
    if p.ndim not in (2, 3):
        raise ValueError(f"pred has shape {tuple(p.shape)}; pass one H×W label map or a batch N×H×W.")
    if p.ndim == 2:
        p, t = p.unsqueeze(0), t.unsqueeze(0)
    n = p.shape[0]
    classes = torch.arange(num_classes, device=p.device).view(1, -1, 1, 1)
    p_oh = (p.unsqueeze(1) == classes).flatten(0, 1)
    t_oh = (t.unsqueeze(1) == classes).flatten(0, 1)
    return _boundary_f1_masks(p_oh, t_oh, tolerance, empty=math.nan).view(n, num_classes)


def boundary_f1(
    pred: Any, target: Any, tolerance: int = 2, num_classes: int | None = None, reduction: str = "mean"
) -> torch.Tensor:
    """Boundary F1 score: contours that match within ``tolerance`` pixels (Chebyshev distance), per image.

    Binary masks (``num_classes=None``): bool/0-1 H×W or N×H×W; both without any boundary -> 1.0.
    Label maps (``num_classes=C``): scored per image and class; a class without boundary in both -> NaN.
    A boundary pixel is a foreground pixel with a background 8-neighbour; the image frame is not a boundary.
    ``reduction="mean"`` averages (ignoring NaN), ``"none"`` returns the N (or N×C) tensor.
    """
    tolerance = check_int("tolerance", tolerance, minimum=0)
    check_choice("reduction", reduction, _REDUCTIONS)
    if num_classes is None:
        p, t = _mask_pair(pred, target)
        scores = _boundary_f1_masks(p, t, tolerance, empty=1.0)
    else:
        scores = _label_boundary_f1(pred, target, tolerance, num_classes)
    if reduction == "none":
        return scores
    return scores.nanmean()


def _surface(masks: torch.Tensor) -> np.ndarray:
    """Bool N×H×W numpy surface pixels, counting outside the image as background (as MONAI does)."""
    padded = F.pad(masks.unsqueeze(1).float(), (1, 1, 1, 1)).squeeze(1) > 0
    return _boundary(padded)[:, 1:-1, 1:-1].cpu().numpy()


def _surface_distance(a: np.ndarray, b: np.ndarray, spacing: Sequence[float] | None, percentile: float) -> float:
    """Symmetric percentile distance between two surfaces: 0.0 when both are empty, inf when one is."""
    from scipy.ndimage import distance_transform_edt

    if not a.any() and not b.any():
        return 0.0
    if not a.any() or not b.any():
        return math.inf
    to_b = distance_transform_edt(~b, sampling=spacing)[a]
    to_a = distance_transform_edt(~a, sampling=spacing)[b]
    return float(max(np.percentile(to_b, percentile), np.percentile(to_a, percentile)))


def hausdorff95(
    pred: Any, target: Any, spacing: Sequence[float] | None = None, percentile: float = 95.0, reduction: str = "mean"
) -> torch.Tensor:
    """95th-percentile Hausdorff distance between mask surfaces (symmetric: max of both directions), per image.

    Surface = foreground pixels with a background 8-neighbour, where outside the image counts as background
    (as in MONAI). Both masks empty -> 0.0; exactly one empty -> inf. ``spacing`` = pixel size (row, col).
    Percentiles use numpy's default (linear) interpolation. Computed on the CPU with SciPy's distance transform.
    """
    check_choice("reduction", reduction, _REDUCTIONS)
    if not 0 <= float(percentile) <= 100:
        raise ValueError(f"percentile={percentile!r} must be between 0 and 100 (95 for HD95, 100 for Hausdorff).")
    p, t = _mask_pair(pred, target)
    if spacing is not None and (len(spacing) != 2 or not all(isinstance(s, (int, float)) and s > 0 for s in spacing)):
        raise ValueError(f"spacing={spacing!r} must be two positive pixel sizes (row, col), e.g. (1.0, 1.0).")
    out = [_surface_distance(a, b, spacing, percentile) for a, b in zip(_surface(p), _surface(t))]
    scores = torch.tensor(out, dtype=torch.float64)
    return scores if reduction == "none" else scores.mean()
