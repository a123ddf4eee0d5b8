"""Tests of course_lib.metrics' binary scores inside a mask (field of view), ROC AUC, best threshold and the
thin-structure scores (clDice, recall by vessel width), against scikit-learn and hand-made shapes."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
import torch
from skimage.morphology import skeletonize

from course_lib import metrics as M

sk = pytest.importorskip("sklearn.metrics")
tmf = pytest.importorskip("torchmetrics.functional.classification")


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


def _flat(probs, target, fov):
    keep = fov.expand_as(target).reshape(-1).numpy()
    return probs.reshape(-1).numpy()[keep], target.reshape(-1).numpy()[keep]


# ------------------------------------------------------------------------------------------------- binary_scores
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.62])
def test_binary_scores_match_sklearn_inside_the_mask(seed, threshold):
    probs, target, _, fov = _fundus(seed)
    s, y = _flat(probs, target, fov)
    p = s > np.float32(threshold)
    ours = M.binary_scores(probs, target, fov, threshold=threshold)
    assert ours["dice"] == pytest.approx(sk.f1_score(y, p), abs=1e-12)
    assert ours["iou"] == pytest.approx(sk.jaccard_score(y, p), abs=1e-12)
    assert ours["sensitivity"] == pytest.approx(sk.recall_score(y, p), abs=1e-12)
    assert ours["specificity"] == pytest.approx(sk.recall_score(y, p, pos_label=0), abs=1e-12)
    assert ours["precision"] == pytest.approx(sk.precision_score(y, p), abs=1e-12)
    assert ours["accuracy"] == pytest.approx(sk.accuracy_score(y, p), abs=1e-12)
    assert all(isinstance(v, float) for v in ours.values())


def test_ignore_value_in_target_equals_a_mask_and_both_together():
    probs, target, ignored, fov = _fundus(5)
    by_mask = M.binary_scores(probs, target, fov)
    assert M.binary_scores(probs, ignored) == by_mask  # 255 outside the FOV: no mask needed
    assert M.binary_scores(probs, ignored, fov) == by_mask
    assert M.binary_scores(probs, target, fov.expand_as(target)) == by_mask  # per-image masks
    assert M.binary_scores(probs.numpy(), target.numpy(), fov.numpy()) == by_mask  # numpy in, same answer
    assert M.binary_scores(probs > 0.5, target, fov) == by_mask  # a bool prediction
    assert M.binary_scores((probs > 0.5).long(), target.bool(), fov.long()) == by_mask


def test_scores_outside_the_mask_do_not_count_and_whole_image_specificity_is_inflated():
    probs, target, _, fov = _fundus(6)
    inside = M.binary_scores(probs, target, fov)
    messed = probs.clone()
    messed[:, ~fov] = 1 - messed[:, ~fov]
    assert M.binary_scores(messed, target, fov) == inside
    background_outside = torch.zeros_like(probs)
    background_outside[:, fov] = probs[:, fov]  # black outside the FOV, as in a fundus photo
    everywhere = M.binary_scores(background_outside, target)
    assert everywhere["specificity"] > inside["specificity"]  # the trap: easy true negatives outside


def test_undefined_scores_are_nan():
    target = torch.zeros(4, 4, dtype=torch.long)
    none = M.binary_scores(torch.zeros(4, 4, dtype=torch.bool), target)
    assert math.isnan(none["dice"]) and math.isnan(none["iou"]) and math.isnan(none["sensitivity"])
    assert math.isnan(none["precision"]) and none["specificity"] == 1.0 and none["accuracy"] == 1.0
    empty_mask = M.binary_scores(torch.ones(4, 4), target, torch.zeros(4, 4, dtype=torch.bool))
    assert all(math.isnan(v) for v in empty_mask.values())


def test_binary_scores_reject_bad_input():
    t = torch.zeros(3, 4, dtype=torch.long)
    with pytest.raises(ValueError, match="value 2"):
        M.binary_scores(t, t + 2)
    with pytest.raises(ValueError, match="mask > 127"):
        M.binary_scores(t, torch.full((3, 4), 128))
    with pytest.raises(ValueError, match="value -1"):
        M.binary_scores(t, t - 1)
    with pytest.raises(ValueError, match="float32"):
        M.binary_scores(t, t.float())
    with pytest.raises(ValueError, match=r"pred has shape \(1, 3, 4\)"):
        M.binary_scores(t[None], t)
    with pytest.raises(ValueError, match="other than 0 and 1"):
        M.binary_scores(t + 3, t)
    with pytest.raises(ValueError, match="NaN"):
        M.binary_scores(torch.full((3, 4), math.nan), t)
    with pytest.raises(ValueError, match="mask has shape"):
        M.binary_scores(t, t, torch.ones(4, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="fov > 0"):
        M.binary_scores(t, t, torch.full((3, 4), 255))
    with pytest.raises(ValueError, match="bool mask"):
        M.binary_scores(t, t, torch.ones(3, 4))
    with pytest.raises(ValueError, match="threshold="):
        M.binary_scores(t.float(), t, threshold=None)
    with pytest.raises(TypeError, match="numpy array"):
        M.binary_scores("mask", t)


# ------------------------------------------------------------------------------------------------- roc_auc
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("ties", [False, True])
def test_roc_auc_matches_sklearn(seed, ties):
    probs, target, ignored, fov = _fundus(seed, ties=ties)
    s, y = _flat(probs, target, fov)
    ref = sk.roc_auc_score(y, s)
    assert M.roc_auc(probs, target, fov) == pytest.approx(ref, abs=1e-9)
    assert M.roc_auc(probs, ignored) == pytest.approx(ref, abs=1e-9)
    logits = torch.logit(probs.double().clamp(1e-6, 1 - 1e-6))  # any monotone score gives the same AUC
    assert M.roc_auc(logits, target, fov) == pytest.approx(ref, abs=1e-9)


def test_roc_auc_edge_cases():
    t = torch.tensor([0, 0, 1, 1])
    assert M.roc_auc(torch.tensor([0.1, 0.2, 0.3, 0.4]), t) == 1.0
    assert M.roc_auc(torch.tensor([0.4, 0.3, 0.2, 0.1]), t) == 0.0
    assert M.roc_auc(torch.tensor([0.5, 0.5, 0.5, 0.5]), t) == 0.5  # all tied: chance
    assert M.roc_auc(torch.tensor([1, 2, 2, 3]), t) == pytest.approx(0.875)  # integer scores, one tie
    assert M.roc_auc(torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=torch.float16), t) == 1.0
    assert math.isnan(M.roc_auc(torch.rand(5), torch.zeros(5, dtype=torch.long)))  # one class only
    assert math.isnan(M.roc_auc(torch.rand(4), t, torch.zeros(4, dtype=torch.bool)))
    with pytest.raises(ValueError, match="NaN or inf"):
        M.roc_auc(torch.tensor([0.1, math.nan, 0.3, 0.4]), t)
    assert M.roc_auc(torch.tensor([0.1, math.nan, 0.3, 0.4]), t, torch.arange(4) != 1) == 1.0  # NaN outside: fine
    with pytest.raises(ValueError, match="shape"):
        M.roc_auc(torch.rand(3), t)


def test_roc_auc_is_exact_on_a_large_image_set_and_not_slower_than_torchmetrics():
    probs, target, ignored, fov = _fundus(7, n=4, h=584, w=565)
    s, y = _flat(probs, target, fov)
    assert M.roc_auc(probs, ignored) == pytest.approx(sk.roc_auc_score(y, s), abs=1e-9)
    st, yt = torch.from_numpy(s), torch.from_numpy(y)
    best_ours = best_theirs = math.inf
    for _ in range(3):  # interleaved, best of several: robust to other processes on a shared machine
        start = time.perf_counter()
        M.roc_auc(probs, ignored)  # includes the masking; torchmetrics gets the pixels already selected
        best_ours = min(best_ours, time.perf_counter() - start)
        start = time.perf_counter()
        tmf.binary_auroc(st, yt)
        best_theirs = min(best_theirs, time.perf_counter() - start)
    assert best_ours <= 1.2 * best_theirs, f"ours {best_ours * 1e3:.0f} ms vs torchmetrics {best_theirs * 1e3:.0f} ms"


# ------------------------------------------------------------------------------------------------- best_threshold
def _brute_force_best(probs, target, fov, thresholds, metric):
    scores = [M.binary_scores(probs, target, fov, threshold=float(t))[metric] for t in thresholds]
    best = int(np.nanargmax(scores))
    return float(thresholds[best]), scores[best]


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("metric", ["dice", "iou", "accuracy"])
def test_best_threshold_matches_trying_every_threshold(seed, metric):
    probs, target, _, fov = _fundus(seed, ties=seed == 2)
    grid = np.arange(1, 100) / 100
    th, score = M.best_threshold(probs, target, fov, metric=metric)
    assert (th, score) == pytest.approx(_brute_force_best(probs, target, fov, grid, metric), abs=1e-12)
    assert M.binary_scores(probs, target, fov, threshold=th)[metric] == pytest.approx(score, abs=1e-12)
    coarse = [0.7, 0.2, 0.45, 0.2]  # any order, duplicates allowed
    expected = _brute_force_best(probs, target, fov, sorted(set(coarse)), metric)
    assert M.best_threshold(probs, target, fov, thresholds=coarse, metric=metric) == pytest.approx(expected, abs=1e-12)


def test_best_threshold_on_thresholds_equal_to_scores_agrees_with_greater_than():
    probs = torch.tensor([0.1, 0.3, 0.3, 0.7, 0.3], dtype=torch.float32)
    target = torch.tensor([0, 1, 1, 1, 0])
    th, score = M.best_threshold(probs, target, thresholds=[0.1, 0.3, 0.7])
    assert th == 0.1 and score == pytest.approx(2 * 3 / (2 * 3 + 1))  # 0.3 > 0.3 is False, as in probs > 0.3
    assert M.best_threshold(probs, target, thresholds=[0.3, 0.7]) == pytest.approx((0.3, 0.5))  # only 0.7 is > 0.3


def test_dice_best_threshold_differs_from_accuracy_best_on_imbalanced_data():
    g = torch.Generator().manual_seed(3)
    target = (torch.rand(4, 64, 64, generator=g) < 0.08).long()
    probs = torch.sigmoid(2.0 * target - 1 + torch.randn(4, 64, 64, generator=g))  # overlapping classes
    fov = torch.ones(64, 64, dtype=torch.bool)
    th_dice, _ = M.best_threshold(probs, target, fov)
    th_acc, _ = M.best_threshold(probs, target, fov, metric="accuracy")
    assert th_acc > th_dice  # accuracy rewards calling the many background pixels background


def test_best_threshold_rejects_bad_input():
    probs, target, _, fov = _fundus(0)
    with pytest.raises(ValueError, match="metric='f1'"):
        M.best_threshold(probs, target, fov, metric="f1")
    with pytest.raises(ValueError, match="sigmoid"):
        M.best_threshold(probs * 4 - 2, target, fov)
    assert M.best_threshold(probs * 4 - 2, target, fov, thresholds=[-1.0, 0.0, 1.0])[0] in (-1.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="thresholds"):
        M.best_threshold(probs, target, fov, thresholds=[])
    with pytest.raises(ValueError, match="no foreground"):
        M.best_threshold(probs, torch.zeros_like(target), fov)


def test_roc_auc_and_best_threshold_are_fast_on_four_drive_sized_images():
    probs, _, ignored, _ = _fundus(8, n=4, h=584, w=565)
    for fn in (M.roc_auc, M.best_threshold):
        best = math.inf
        for _ in range(3):
            start = time.perf_counter()
            fn(probs, ignored)
            best = min(best, time.perf_counter() - start)
        assert best < 1.0, f"{fn.__name__} took {best:.2f} s on 4×584×565"  # about 0.1 s on two idle cores


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


def test_cldice_matches_its_definition_with_a_mask_and_a_batch():
    probs, target, _, fov = _fundus(4, n=3, h=40, w=40, vessel_share=0.35)
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
def test_cuda_tensors_give_the_same_answers():
    probs, target, ignored, fov = _fundus(9, n=2, h=64, w=60)
    cuda = lambda *xs: [x.cuda() for x in xs]  # noqa: E731
    assert M.binary_scores(*cuda(probs, target, fov)) == M.binary_scores(probs, target, fov)
    assert M.roc_auc(*cuda(probs, ignored)) == M.roc_auc(probs, ignored)
    assert M.best_threshold(*cuda(probs, target, fov)) == M.best_threshold(probs, target, fov)
    assert M.cldice(*cuda(probs, target, fov)) == M.cldice(probs, target, fov)
    on_gpu, on_cpu = M.recall_by_width(*cuda(probs, target, fov)), M.recall_by_width(probs, target, fov)
    assert torch.equal(on_gpu.pixels, on_cpu.pixels) and torch.allclose(on_gpu.recall, on_cpu.recall, equal_nan=True)
    with pytest.raises(ValueError, match="one device"):
        M.binary_scores(probs.cuda(), target)
