"""Shared fixtures of the metric tests: an exact-enough comparison and a random fundus-like batch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course_lib import metrics as M

ATOL = 1e-6


def _close(ours, ref, atol=ATOL) -> None:
    """Assert ``ours`` (tensor or number) equals ``ref`` up to ``atol``, NaN at the same places."""
    ours = np.asarray(torch.as_tensor(ours, dtype=torch.float64).cpu().numpy(), dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=atol, equal_nan=True)


def _fundus(seed: int, n: int = 2, h: int = 48, w: int = 45, vessel_share: float = 0.12, ties: bool = False):
    """Random probabilities, a 0/1/255 target (255 outside a circular FOV) and the FOV mask."""
    g = torch.Generator().manual_seed(seed)
    target = (torch.rand(n, h, w, generator=g) < vessel_share).long()
    probs = (0.3 * target + 0.7 * torch.rand(n, h, w, generator=g)).float()
    if ties:
        probs = (probs * 20).round() / 20  # many equal scores
    yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    fov = ((yy - h / 2) ** 2 + (xx - w / 2) ** 2) < (0.45 * min(h, w)) ** 2
    probs[:, ~fov] = 0.9 * torch.rand(int((~fov).sum()), generator=g)  # a bright rim outside the FOV
    target_ignored = target.clone()
    target_ignored[:, ~fov] = M.IGNORE
    return probs, target, target_ignored, fov


@pytest.fixture
def close():
    """``close(ours, ref, atol=ATOL)``: assert equal up to ``atol``, NaN where the reference is NaN."""
    return _close


@pytest.fixture
def fundus():
    """``fundus(seed, n=2, h=48, w=45, vessel_share=0.12, ties=False) -> (probs, target, target_ignored, fov)``."""
    return _fundus
