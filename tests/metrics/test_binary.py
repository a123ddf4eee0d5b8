"""Tests of course_lib.metrics.binary: scores inside a mask (field of view), ROC AUC and best threshold,
against scikit-learn, torchmetrics and brute force."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
import torch

from course_lib import metrics as M

sk = pytest.importorskip("sklearn.metrics")
tmf = pytest.importorskip("torchmetrics.functional.classification")


def _flat(probs, target, fov):
    keep = fov.expand_as(target).reshape(-1).numpy()
    return probs.reshape(-1).numpy()[keep], target.reshape(-1).numpy()[keep]


# ------------------------------------------------------------------------------------------------- binary_scores
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.62])
def test_binary_scores_match_sklearn_inside_the_mask(seed, threshold, fundus):
    probs, target, _, fov = fundus(seed)
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


def test_ignore_value_in_target_equals_a_mask_and_both_together(fundus):
    probs, target, ignored, fov = fundus(5)
    by_mask = M.binary_scores(probs, target, fov)
    assert M.binary_scores(probs, ignored) == by_mask  # 255 outside the FOV: no mask needed
    assert M.binary_scores(probs, ignored, fov) == by_mask
    assert M.binary_scores(probs, target, fov.expand_as(target)) == by_mask  # per-image masks
    assert M.binary_scores(probs.numpy(), target.numpy(), fov.numpy()) == by_mask  # numpy in, same answer
    assert M.binary_scores(probs > 0.5, target, fov) == by_mask  # a bool prediction
    assert M.binary_scores((probs > 0.5).long(), target.bool(), fov.long()) == by_mask


def test_scores_outside_the_mask_do_not_count_and_whole_image_specificity_is_inflated(fundus):
    probs, target, _, fov = fundus(6)
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
def test_roc_auc_matches_sklearn(seed, ties, fundus):
    probs, target, ignored, fov = fundus(seed, ties=ties)
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


def test_roc_auc_is_exact_on_a_large_image_set_and_not_slower_than_torchmetrics(fundus):
    probs, target, ignored, fov = fundus(7, n=4, h=584, w=565)
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
def test_best_threshold_matches_trying_every_threshold(seed, metric, fundus):
    probs, target, _, fov = fundus(seed, ties=seed == 2)
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


def test_best_threshold_rejects_bad_input(fundus):
    probs, target, _, fov = fundus(0)
    with pytest.raises(ValueError, match="metric='f1'"):
        M.best_threshold(probs, target, fov, metric="f1")
    with pytest.raises(ValueError, match="sigmoid"):
        M.best_threshold(probs * 4 - 2, target, fov)
    assert M.best_threshold(probs * 4 - 2, target, fov, thresholds=[-1.0, 0.0, 1.0])[0] in (-1.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="thresholds"):
        M.best_threshold(probs, target, fov, thresholds=[])
    with pytest.raises(ValueError, match="no foreground"):
        M.best_threshold(probs, torch.zeros_like(target), fov)


def test_roc_auc_and_best_threshold_are_fast_on_four_drive_sized_images(fundus):
    probs, _, ignored, _ = fundus(8, n=4, h=584, w=565)
    for fn in (M.roc_auc, M.best_threshold):
        best = math.inf
        for _ in range(3):
            start = time.perf_counter()
            fn(probs, ignored)
            best = min(best, time.perf_counter() - start)
        assert best < 1.0, f"{fn.__name__} took {best:.2f} s on 4×584×565"  # about 0.1 s on two idle cores

@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_tensors_give_the_same_answers(fundus):
    probs, target, ignored, fov = fundus(9, n=2, h=64, w=60)
    cuda = lambda *xs: [x.cuda() for x in xs]  # noqa: E731
    assert M.binary_scores(*cuda(probs, target, fov)) == M.binary_scores(probs, target, fov)
    assert M.roc_auc(*cuda(probs, ignored)) == M.roc_auc(probs, ignored)
    assert M.best_threshold(*cuda(probs, target, fov)) == M.best_threshold(probs, target, fov)
    with pytest.raises(ValueError, match="one device"):
        M.binary_scores(probs.cuda(), target)
