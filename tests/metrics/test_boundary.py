"""Tests of course_lib.metrics.boundary (boundary F1, HD95) against brute-force references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from course_lib import metrics as M


# ------------------------------------------------------------------------------------------- boundary metrics
def _ref_boundary(mask: np.ndarray) -> np.ndarray:
    from scipy.ndimage import binary_erosion

    return mask & ~binary_erosion(mask, structure=np.ones((3, 3)), border_value=1)


def _ref_boundary_f1(pred: np.ndarray, target: np.ndarray, tol: int, empty: float) -> float:
    pb, tb = _ref_boundary(pred), _ref_boundary(target)
    pp, tp = np.argwhere(pb), np.argwhere(tb)
    if len(pp) == 0 and len(tp) == 0:
        return empty
    if len(pp) == 0 or len(tp) == 0:
        return 0.0
    cheb = np.abs(pp[:, None, :] - tp[None, :, :]).max(-1)  # brute force: every pair of boundary pixels
    precision = (cheb.min(1) <= tol).mean()
    recall = (cheb.min(0) <= tol).mean()
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def _blob_masks(rng, n, h=24, w=24, p_fill=0.5):
    from scipy.ndimage import binary_opening

    out = []
    for _ in range(n):
        m = rng.random((h, w)) < p_fill
        out.append(binary_opening(m, iterations=1))
    return np.stack(out)


@pytest.mark.parametrize("tol", [0, 1, 2])
def test_boundary_f1_matches_brute_force(tol, close):
    rng = np.random.default_rng(tol)
    pred, target = _blob_masks(rng, 4), _blob_masks(rng, 4)
    pred[0] = False
    target[0] = False  # both empty -> 1.0
    pred[1] = False  # one empty -> 0.0
    ours = M.boundary_f1(torch.from_numpy(pred), torch.from_numpy(target), tolerance=tol, reduction="none")
    ref = [_ref_boundary_f1(a, b, tol, 1.0) for a, b in zip(pred, target)]
    close(ours, ref)
    assert ours[0].item() == 1.0 and ours[1].item() == 0.0
    close(M.boundary_f1(pred, target, tolerance=tol), np.mean(ref))


def test_boundary_f1_per_class_matches_brute_force(close):
    rng = np.random.default_rng(11)
    c = 4
    from scipy.ndimage import median_filter

    t = median_filter(rng.integers(0, c - 1, (2, 20, 20)), size=(1, 5, 5))  # class 3 absent everywhere
    p = median_filter(rng.integers(0, c - 1, (2, 20, 20)), size=(1, 5, 5))
    ours = M.boundary_f1(torch.from_numpy(p), torch.from_numpy(t), tolerance=1, num_classes=c, reduction="none")
    ref = [[_ref_boundary_f1(p[i] == k, t[i] == k, 1, math.nan) for k in range(c)] for i in range(2)]
    close(ours, ref)
    assert torch.isnan(ours[:, 3]).all()
    close(M.boundary_f1(p, t, 1, num_classes=c), np.nanmean(ref))


def test_boundary_f1_perfect_and_shifted():
    m = torch.zeros(1, 32, 32, dtype=torch.bool)
    m[0, 8:24, 8:24] = True
    assert M.boundary_f1(m, m, tolerance=0).item() == 1.0
    shifted = torch.roll(m, 3, dims=2)
    assert M.boundary_f1(shifted, m, tolerance=3).item() == 1.0
    assert M.boundary_f1(shifted, m, tolerance=1).item() < 0.8


def _ref_hd(pred: np.ndarray, target: np.ndarray, q=95.0) -> float:
    from scipy.ndimage import binary_erosion
    from scipy.spatial.distance import cdist

    def surface(m):
        return np.argwhere(m & ~binary_erosion(m, structure=np.ones((3, 3)), border_value=0))

    a, b = surface(pred), surface(target)
    if len(a) == 0 and len(b) == 0:
        return 0.0
    if len(a) == 0 or len(b) == 0:
        return math.inf
    d = cdist(a, b)
    return max(np.percentile(d.min(1), q), np.percentile(d.min(0), q))


def test_hausdorff95_matches_brute_force(close):
    rng = np.random.default_rng(2)
    pred, target = _blob_masks(rng, 4, p_fill=0.4), _blob_masks(rng, 4, p_fill=0.4)
    pred[0] = False
    target[0] = False
    target[1] = False
    pred[2] = True  # full-image mask: its surface is the image frame
    ours = M.hausdorff95(pred, target, reduction="none")
    ref = [_ref_hd(a, b) for a, b in zip(pred, target)]
    close(ours, ref)
    assert ours[0].item() == 0.0 and math.isinf(ours[1].item())
    close(
        M.hausdorff95(pred[2:], target[2:], percentile=100, reduction="none"),
        [_ref_hd(a, b, 100) for a, b in zip(pred[2:], target[2:])],
    )


def test_hausdorff95_of_shifted_square_and_spacing():
    m = torch.zeros(40, 40, dtype=torch.bool)
    m[10:30, 10:30] = True
    assert M.hausdorff95(m, m).item() == 0.0
    shifted = torch.roll(m, 4, dims=1)
    assert M.hausdorff95(shifted, m).item() == pytest.approx(4.0)
    assert M.hausdorff95(shifted, m, spacing=(1.0, 0.5)).item() == pytest.approx(2.0)


def test_boundary_metrics_reject_bad_input():
    with pytest.raises(ValueError, match="tolerance"):
        M.boundary_f1(torch.zeros(4, 4, dtype=torch.bool), torch.zeros(4, 4, dtype=torch.bool), tolerance=-1)
    with pytest.raises(ValueError, match="pred has dtype"):
        M.boundary_f1(torch.zeros(4, 4), torch.zeros(4, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="num_classes"):
        M.boundary_f1(torch.full((4, 4), 2), torch.zeros(4, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="shape"):
        M.hausdorff95(torch.zeros(4, 4, dtype=torch.bool), torch.zeros(4, 5, dtype=torch.bool))


def test_boundary_f1_full_prediction_against_empty_target_is_a_miss():
    full = torch.ones(1, 8, 8, dtype=torch.bool)
    empty = torch.zeros(1, 8, 8, dtype=torch.bool)
    assert M.boundary_f1(full, empty).item() == 0.0
    assert M.boundary_f1(empty, full).item() == 0.0
    assert M.boundary_f1(empty, empty).item() == 1.0
    assert M.boundary_f1(full, full).item() == 1.0
    per_class = M.boundary_f1(torch.ones(8, 8, dtype=torch.long), torch.zeros(8, 8, dtype=torch.long), num_classes=2, reduction="none")
    assert per_class.flatten().tolist() == [0.0, 0.0]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_tensors_give_the_same_answers(close):
    rng = np.random.default_rng(3)
    m, t = torch.from_numpy(_blob_masks(rng, 3)), torch.from_numpy(_blob_masks(rng, 3))
    dev = torch.device("cuda")
    close(M.boundary_f1(m.to(dev), t.to(dev)).cpu(), M.boundary_f1(m, t))
    close(M.hausdorff95(m.to(dev), t.to(dev)), M.hausdorff95(m, t))
