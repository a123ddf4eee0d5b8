"""Tests of course_lib.metrics.thin_structures (clDice, vessel width, recall by width) on hand-made shapes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage.morphology import skeletonize

from course_lib import metrics as M


# ------------------------------------------------------------------------------------------------- thin structures
def _line_and_bar():
    """A 1-pixel line (rows 8) and a 5-pixel bar (rows 20–24), each 50 pixels long."""
    t = torch.zeros(40, 60, dtype=torch.long)
    t[8, 5:55] = 1
    t[20:25, 5:55] = 1
    return t


def test_vessel_width_map_of_a_line_and_a_bar():
    t = _line_and_bar()
    widths = M.vessel_width_map(t)
    assert widths.shape == t.shape and bool((widths[t == 0] == 0).all())
    assert bool((widths[8, 5:55] == 1).all())
    bar = widths[20:25, 5:55]
    assert (bar == 5).float().mean() > 0.9 and bar.min() >= 3  # exact along the bar, rougher at its ends
    batch = M.vessel_width_map(torch.stack([t, torch.zeros_like(t)]))
    assert torch.equal(batch[0], widths) and bool((batch[1] == 0).all())
    vertical = M.vessel_width_map(t.T.contiguous())
    assert bool((vertical[5:55, 8] == 1).all()) and (vertical[5:55, 20:25] == 5).float().mean() > 0.9


def test_recall_by_width_finds_the_missed_thin_vessel():
    t = _line_and_bar()
    only_bar = torch.zeros_like(t)
    only_bar[20:25, 5:55] = 1
    result = M.recall_by_width(only_bar, t)
    assert result.edges.tolist() == [0, 2, 4, 6, math.inf]
    assert result.pixels.tolist()[0] == 50 and result.pixels.sum().item() == int((t == 1).sum())
    assert result.recall[0].item() == 0.0  # the 1-pixel line: all missed
    assert result.recall[2].item() == 1.0 and math.isnan(result.recall[3].item())  # the bar: all found; no wider
    half_line = t.clone()
    half_line[8, 5:30] = 0
    assert M.recall_by_width(half_line, t).recall[0].item() == 0.5
    fov = torch.ones_like(t, dtype=torch.bool)
    fov[:, 30:] = False  # score the left half only
    left = M.recall_by_width(t, t, fov, bins=(0, 2, math.inf))
    assert left.pixels.tolist() == [25, 125] and left.recall.tolist() == [1.0, 1.0]


def test_recall_by_width_rejects_bad_bins():
    t = _line_and_bar()
    for bins in [(0,), (0, 0, 2), (4, 2), [[0, 1]]]:
        with pytest.raises(ValueError, match="increasing edges"):
            M.recall_by_width(t, t, bins=bins)


def test_cldice_of_identical_shifted_and_thick_predictions():
    t = _line_and_bar()
    assert M.cldice(t, t) == 1.0
    line = (t == 1) & (torch.arange(40)[:, None] == 8)
    thick = torch.zeros_like(t)
    thick[7:10, 5:55] = 1  # a 3-pixel-wide prediction of the 1-pixel line
    assert M.binary_scores(thick, line.long())["dice"] == pytest.approx(0.5)
    assert M.cldice(thick, line.long()) > 0.95  # the centreline is found: clDice barely minds the thickness


def test_cldice_matches_its_definition_with_a_mask_and_a_batch(fundus):
    probs, target, _, fov = fundus(4, n=3, h=40, w=40, vessel_share=0.35)
    pred = probs > 0.5
    num = np.zeros(4)
    for p, t in zip(pred.numpy(), target.numpy().astype(bool)):
        p, t = p & fov.numpy(), t & fov.numpy()
        sp, st = skeletonize(p), skeletonize(t)
        num += [(sp & t).sum(), sp.sum(), (st & p).sum(), st.sum()]
    tprec, tsens = num[0] / num[1], num[2] / num[3]
    expected = 2 * tprec * tsens / (tprec + tsens)
    assert M.cldice(probs, target, fov) == pytest.approx(expected, abs=1e-12)
    assert M.cldice(pred, target, fov) == pytest.approx(expected, abs=1e-12)


def test_cldice_edge_cases():
    t = _line_and_bar()
    empty = torch.zeros_like(t)
    assert M.cldice(empty, t) != M.cldice(empty, t)  # nothing predicted: no predicted skeleton -> NaN
    assert math.isnan(M.cldice(empty, empty))
    elsewhere = torch.zeros_like(t)
    elsewhere[30:33, 5:55] = 1
    assert M.cldice(elsewhere, t) == 0.0
    with pytest.raises(ValueError, match="one H×W mask or a batch"):
        M.cldice(t[None, None], t[None, None])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_tensors_give_the_same_answers(fundus):
    probs, target, _, fov = fundus(9, n=2, h=64, w=60)
    cuda = lambda *xs: [x.cuda() for x in xs]  # noqa: E731
    assert M.cldice(*cuda(probs, target, fov)) == M.cldice(probs, target, fov)
    on_gpu, on_cpu = M.recall_by_width(*cuda(probs, target, fov)), M.recall_by_width(probs, target, fov)
    assert torch.equal(on_gpu.pixels, on_cpu.pixels) and torch.allclose(on_gpu.recall, on_cpu.recall, equal_nan=True)
