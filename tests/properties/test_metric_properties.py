"""Property-based tests of :mod:`course_lib.metrics.semantic`: agreement with scikit-learn on random label maps,
IoU <= Dice, symmetry and bounds.

Label maps are drawn by hypothesis (small H×W, a few classes, optionally an ``ignore_index`` that is either a
void value such as 255 or one of the class ids, and classes that may be absent from both maps). The references are
scikit-learn's ``confusion_matrix``, ``jaccard_score`` and ``f1_score`` on the flattened, non-ignored pixels, as the
module docstring of :mod:`course_lib.metrics.semantic` promises.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from course_lib.metrics import confusion_matrix, dice, dice_from_confusion, iou, iou_from_confusion

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
AVERAGES = (None, "macro", "micro")


@st.composite
def label_maps(draw: st.DrawFn, binary: bool = False) -> tuple[np.ndarray, np.ndarray, int, int | None]:
    """(pred, target, num_classes, ignore_index): two H×W int64 maps; ignore_index None, 255 or a class id."""
    c = 2 if binary else draw(st.integers(2, 5))
    h, w = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    # the drawn values use only part of the classes sometimes, so absent classes occur often
    used = draw(st.integers(1, c))
    cells = st.integers(0, used - 1)
    pred = np.array(draw(st.lists(cells, min_size=h * w, max_size=h * w)), dtype=np.int64).reshape(h, w)
    target = np.array(draw(st.lists(cells, min_size=h * w, max_size=h * w)), dtype=np.int64).reshape(h, w)
    ignore = draw(st.sampled_from([None, 255]) if binary else st.sampled_from([None, 255, *range(c)]))
    if ignore is not None:
        void = np.array(draw(st.lists(st.booleans(), min_size=h * w, max_size=h * w))).reshape(h, w)
        target = np.where(void, ignore, target)
        assume(not void.all() or ignore < c)
    return pred, target, c, ignore


def _kept(pred: np.ndarray, target: np.ndarray, ignore: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Flattened pred and target without the ignored target pixels."""
    keep = np.ones(target.shape, bool) if ignore is None else target != ignore
    return pred[keep].ravel(), target[keep].ravel()


def _scored(c: int, ignore: int | None) -> list[int]:
    """The classes that are scored: all but ``ignore`` when it is a class id."""
    return [k for k in range(c) if k != ignore]


def _sklearn(fn, y_true: np.ndarray, y_pred: np.ndarray, labels: list[int], average: str | None) -> np.ndarray:
    """scikit-learn's score with the library's conventions: NaN for 0/0, and such classes left out of averages.

    ``f1_score`` has ``zero_division=np.nan`` for this; ``jaccard_score`` has not, so there the classes absent from
    both maps are set to NaN (per class) or left out of ``labels`` (macro) by hand.
    """
    present = [k for k in labels if np.any(y_true == k) or np.any(y_pred == k)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if fn is skm.f1_score:
            return np.asarray(fn(y_true, y_pred, labels=labels, average=average, zero_division=np.nan), dtype=float)
        if average == "macro":
            return np.asarray(fn(y_true, y_pred, labels=present, average="macro") if present else np.nan)
        out = np.asarray(fn(y_true, y_pred, labels=labels, average=average, zero_division=0), dtype=float)
    if average is None:
        out[[k not in present for k in labels]] = np.nan
    return out


def _ours(x: torch.Tensor) -> np.ndarray:
    """A metric result as a float numpy array."""
    return x.detach().cpu().double().numpy()


# ---------------------------------------------------------------------------------------- agreement with sklearn
@SETTINGS
@given(label_maps())
def test_confusion_matrix_matches_sklearn(case):
    pred, target, c, ignore = case
    p, t = _kept(pred, target, ignore)
    expected = skm.confusion_matrix(t, p, labels=list(range(c))) if t.size else np.zeros((c, c), np.int64)
    got = confusion_matrix(pred, target, c, ignore_index=ignore)
    assert got.dtype == torch.int64
    np.testing.assert_array_equal(got.numpy(), expected)
    assert int(got.sum()) == t.size


@pytest.mark.parametrize("ours,theirs", [(iou, skm.jaccard_score), (dice, skm.f1_score)], ids=["iou-jaccard", "dice-f1"])
@SETTINGS
@given(case=label_maps(), average=st.sampled_from(AVERAGES))
def test_iou_and_dice_match_sklearn_jaccard_and_f1(ours, theirs, case, average):
    pred, target, c, ignore = case
    p, t = _kept(pred, target, ignore)
    assume(t.size > 0)
    labels = _scored(c, ignore)
    expected = _sklearn(theirs, t, p, labels, average)
    got = _ours(ours(pred, target, c, ignore_index=ignore, average=average))
    if average is None:
        got = got[labels]
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12, equal_nan=True)


@SETTINGS
@given(label_maps(binary=True), st.sampled_from(["iou", "dice"]))
def test_binary_average_matches_sklearn(case, kind):
    pred, target, c, ignore = case
    p, t = _kept(pred, target, ignore)
    assume(t.size > 0)
    fn, ours = (skm.jaccard_score, iou) if kind == "iou" else (skm.f1_score, dice)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = fn(t, p, labels=[0, 1], average="binary", pos_label=1, zero_division=1.0)
    got = float(ours(pred, target, 2, ignore_index=ignore, average="binary"))
    assert got == pytest.approx(expected, abs=1e-12)


@SETTINGS
@given(label_maps(), st.sampled_from([*AVERAGES, "binary"]))
def test_scores_from_confusion_equal_scores_of_labels(case, average):
    pred, target, c, ignore = case
    assume(average != "binary" or c == 2)
    cm = confusion_matrix(pred, target, c, ignore_index=ignore)
    for direct, from_cm in ((iou, iou_from_confusion), (dice, dice_from_confusion)):
        a = _ours(direct(pred, target, c, ignore_index=ignore, average=average))
        b = _ours(from_cm(cm, average=average, ignore_index=ignore))
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------------------------ bounds, order and symmetry
@SETTINGS
@given(label_maps(), st.sampled_from([*AVERAGES, "binary"]))
def test_iou_at_most_dice_and_both_in_unit_interval(case, average):
    pred, target, c, ignore = case
    assume(average != "binary" or c == 2)
    j = _ours(iou(pred, target, c, ignore_index=ignore, average=average))
    d = _ours(dice(pred, target, c, ignore_index=ignore, average=average))
    np.testing.assert_array_equal(np.isnan(j), np.isnan(d))  # undefined in the same places
    ok = ~np.isnan(j)
    assert np.all((j[ok] >= 0) & (j[ok] <= 1)) and np.all((d[ok] >= 0) & (d[ok] <= 1))
    assert np.all(j[ok] <= d[ok] + 1e-12)
    if average is None or average == "binary":  # per class: Dice = 2·IoU / (1 + IoU) exactly
        np.testing.assert_allclose(d[ok], 2 * j[ok] / (1 + j[ok]), rtol=1e-12, atol=1e-12)


@SETTINGS
@given(label_maps(), st.sampled_from([*AVERAGES, "binary"]))
def test_iou_and_dice_are_symmetric_without_ignore(case, average):
    pred, target, c, _ = case
    assume(average != "binary" or c == 2)
    target = np.where(target < c, target, 0)  # no void pixels: the property is about two plain label maps
    for fn in (iou, dice):
        ab = _ours(fn(pred, target, c, average=average))
        ba = _ours(fn(target, pred, c, average=average))
        np.testing.assert_allclose(ab, ba, rtol=1e-12, atol=1e-12, equal_nan=True)


@SETTINGS
@given(label_maps())
def test_perfect_prediction_scores_one(case):
    _, target, c, ignore = case
    pred = np.where((target >= 0) & (target < c), target, 0)
    for fn in (iou, dice):
        for average in ("macro", "micro"):
            got = float(fn(pred, target, c, ignore_index=ignore, average=average))
            assert np.isnan(got) or got == 1.0
