"""Tests of course_lib.metrics against scikit-learn, torchmetrics, pycocotools and brute-force references."""

from __future__ import annotations

import contextlib
import io
import math
import time
import warnings

import numpy as np
import pytest
import torch

from course_lib import metrics as M

sk = pytest.importorskip("sklearn.metrics")
tmf = pytest.importorskip("torchmetrics.functional.classification")

ATOL = 1e-6


def _labels(rng: np.random.Generator, shape, values) -> torch.Tensor:
    return torch.from_numpy(rng.choice(np.asarray(values), size=shape)).long()


def _close(ours, ref, atol=ATOL) -> None:
    ours = np.asarray(torch.as_tensor(ours, dtype=torch.float64).cpu().numpy(), dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=atol, equal_nan=True)


def _sk(fn, t, p, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns about absent classes; the values are what we compare
        return fn(t, p, **kw)


# Random cases: (num_classes, label values in target, label values in pred, ignore_index). Several leave classes
# out of one or both tensors, one is single-class, two use an ignore index (outside and inside the class range).
CASES = [
    (5, range(5), range(5), None),
    (6, [0, 2, 3], [0, 1, 2], None),  # class 4, 5 absent from both; 1 only predicted; 3 only in target
    (3, [1], [1], None),  # a single class, perfectly predicted
    (4, [0, 1, 2, 3, 255], range(4), 255),  # void pixels in the target
    (4, [0, 1, 2, 3], range(4), 0),  # ignore_index is a class id: class 0 neither counted nor scored
    (11, range(11), range(11), None),
]


def _case(i, seed=0, shape=(3, 17, 19)):
    c, tv, pv, ig = CASES[i]
    rng = np.random.default_rng(seed + 100 * i)
    return c, _labels(rng, shape, list(tv)), _labels(rng, shape, list(pv)), ig


def _flat_kept(p, t, ig):
    p, t = p.reshape(-1).numpy(), t.reshape(-1).numpy()
    if ig is not None:
        keep = t != ig
        p, t = p[keep], t[keep]
    return p, t


def _scored(c, ig):
    return [k for k in range(c) if k != ig]


# ------------------------------------------------------------------------------------------- scikit-learn
@pytest.mark.parametrize("i", range(len(CASES)))
def test_confusion_matrix_matches_sklearn(i):
    c, t, p, ig = _case(i)
    pf, tf = _flat_kept(p, t, ig)
    ref = sk.confusion_matrix(tf, pf, labels=list(range(c)))
    cm = M.confusion_matrix(p, t, c, ignore_index=ig)
    assert cm.dtype == torch.int64 and cm.shape == (c, c)
    np.testing.assert_array_equal(cm.numpy(), ref)


@pytest.mark.parametrize("i", range(len(CASES)))
def test_iou_dice_accuracy_match_sklearn(i):
    c, t, p, ig = _case(i)
    pf, tf = _flat_kept(p, t, ig)
    labels = _scored(c, ig)
    present = [k for k in labels if k in set(pf) | set(tf)]
    # per class: sklearn gives 0 for absent classes (jaccard has no zero_division=nan), ours NaN -> compare present
    per_iou = M.iou(p, t, c, ig, average=None)
    ref_iou = _sk(sk.jaccard_score, tf, pf, labels=list(range(c)), average=None, zero_division=0)
    _close(per_iou[present], ref_iou[present])
    assert torch.isnan(per_iou[[k for k in range(c) if k not in present]]).all()
    # macro over present classes == sklearn macro restricted to the present labels
    _close(M.iou(p, t, c, ig), _sk(sk.jaccard_score, tf, pf, labels=present, average="macro"))
    _close(M.iou(p, t, c, ig, average="micro"), _sk(sk.jaccard_score, tf, pf, labels=labels, average="micro"))
    # f1 / recall support zero_division=nan, and then their macro skips NaN exactly as ours does
    for ours_fn, ref_fn in ((M.dice, sk.f1_score), (M.pixel_accuracy, sk.recall_score)):
        for avg in (None, "macro", "micro"):
            ref = _sk(ref_fn, tf, pf, labels=labels, average=avg, zero_division=np.nan)
            ours = ours_fn(p, t, c, ig, average=avg)
            _close(ours[labels] if avg is None else ours, ref)
    _close(M.pixel_accuracy(p, t, c, ig, average="micro"), sk.accuracy_score(tf, pf))
    if ig is None or ig >= c:  # multi-class micro F1 == accuracy (not when an ignored class id is left out of labels)
        _close(M.dice(p, t, c, ig, average="micro"), sk.accuracy_score(tf, pf))
    _close(M.pixel_accuracy(p, t, c, ig), sk.accuracy_score(tf, pf))  # the default is micro
    _close(M.pixel_accuracy(p, t, c, ig, average="macro"), _sk(sk.balanced_accuracy_score, tf, pf))
    _close(M.mean_class_accuracy(p, t, c, ig), _sk(sk.balanced_accuracy_score, tf, pf))


def test_binary_average_matches_sklearn_binary_with_zero_division_one():
    rng = np.random.default_rng(1)
    for fg in (0.0, 0.05, 0.5):
        t = torch.from_numpy(rng.random((2, 16, 16)) < fg).long()
        p = torch.from_numpy(rng.random((2, 16, 16)) < fg).long()
        tf, pf = t.reshape(-1).numpy(), p.reshape(-1).numpy()
        _close(M.iou(p, t, 2, average="binary"), sk.jaccard_score(tf, pf, average="binary", zero_division=1.0))
        _close(M.dice(p, t, 2, average="binary"), sk.f1_score(tf, pf, average="binary", zero_division=1.0))


def test_both_empty_binary_is_one_and_foreground_nan_per_class():
    empty = torch.zeros(2, 8, 8, dtype=torch.long)
    for fn in (M.iou, M.dice):
        assert fn(empty, empty, 2, average="binary").item() == 1.0
        assert fn(empty, empty, 2).item() == 1.0  # macro: background is the only class present, and perfect
        assert fn(empty, empty, 2, average="micro").item() == 1.0
        per = fn(empty, empty, 2, average=None)
        assert per[0].item() == 1.0 and math.isnan(per[1].item())
    # prediction with foreground where there is none: binary IoU 0, macro averages background and foreground
    pred = empty.clone()
    pred[0, :2, :2] = 1
    assert M.iou(pred, empty, 2, average="binary").item() == 0.0
    _close(M.iou(pred, empty, 2), (124 / 128 + 0.0) / 2)


def test_all_pixels_ignored_gives_nan_not_a_number_pretending():
    t = torch.full((4, 4), 255)
    p = torch.zeros(4, 4, dtype=torch.long)
    assert math.isnan(M.iou(p, t, 3, ignore_index=255).item())
    assert math.isnan(M.pixel_accuracy(p, t, 3, ignore_index=255).item())
    assert M.confusion_matrix(p, t, 3, ignore_index=255).sum().item() == 0


def test_large_ignore_index_and_many_classes_use_wide_enough_indices():
    t = torch.tensor([0, 1, 40000, 1], dtype=torch.int32)
    p = torch.tensor([0, 1, 1, 0])
    assert M.confusion_matrix(p, t, 2, ignore_index=40000).tolist() == [[1, 0], [1, 1]]
    rng = np.random.default_rng(4)
    t, p = _labels(rng, (500,), range(300)), _labels(rng, (500,), range(300))
    np.testing.assert_array_equal(
        M.confusion_matrix(p, t, 300).numpy(), sk.confusion_matrix(t, p, labels=list(range(300)))
    )


def test_ignored_pixels_do_not_affect_any_score():
    c, t, p, _ = _case(0)
    t_void = t.clone()
    void = torch.rand(t.shape, generator=torch.Generator().manual_seed(0)) < 0.3
    t_void[void] = 255
    p_garbage = p.clone()
    p_garbage[void] = (p[void] + 1) % c  # change predictions under the void pixels only
    for fn in (M.iou, M.dice, M.pixel_accuracy):
        for avg in ("macro", "micro"):
            assert fn(p, t_void, c, 255, average=avg).item() == fn(p_garbage, t_void, c, 255, average=avg).item()
    # and equal the score computed on the kept pixels alone
    keep = ~void
    _close(M.iou(p, t_void, c, 255), M.iou(p[keep], t[keep], c))


def test_from_confusion_functions_equal_direct_functions():
    c, t, p, ig = _case(1)
    cm = M.confusion_matrix(p, t, c)
    for avg in (None, "macro", "micro"):
        _close(M.iou_from_confusion(cm, average=avg), M.iou(p, t, c, average=avg))
        _close(M.dice_from_confusion(cm, average=avg), M.dice(p, t, c, average=avg))
        _close(M.accuracy_from_confusion(cm, average=avg), M.pixel_accuracy(p, t, c, average=avg))
    # a hand-made matrix, as in the lesson exercise: rows = true class, columns = predicted
    cm = torch.tensor([[50, 10], [5, 35]])
    _close(M.iou_from_confusion(cm, average=None), [50 / 65, 35 / 50])
    _close(M.dice_from_confusion(cm, average=None), [100 / 115, 70 / 85])
    _close(M.accuracy_from_confusion(cm, average="micro"), 85 / 100)
    _close(M.accuracy_from_confusion(cm, average="macro"), (50 / 60 + 35 / 40) / 2)
    _close(M.accuracy_from_confusion(cm), 85 / 100)  # the default is micro, like pixel_accuracy
    _close(M.iou_from_confusion(cm.numpy(), average="binary"), 35 / 50)


def test_numpy_bool_and_small_int_inputs_are_accepted():
    c, t, p, _ = _case(0)
    ref = M.iou(p, t, c)
    _close(M.iou(p.numpy(), t.numpy(), c), ref)
    _close(M.iou(p.to(torch.uint8), t.to(torch.int16), c), ref)
    _close(M.iou(p.numpy().astype(np.uint16), t.numpy().astype(np.uint32), c), ref)
    pb, tb = p > 2, t > 2
    _close(M.iou(pb, tb, 2), M.iou(pb.long(), tb.long(), 2))


# ------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "kwargs, words",
    [
        (
            dict(pred=torch.zeros(4, 4), target=torch.zeros(4, 4, dtype=torch.long), num_classes=2),
            ["pred", "float32", "argmax"],
        ),
        (dict(pred=torch.zeros(4, 4, dtype=torch.long), target=np.zeros((4, 4)), num_classes=2), ["target", "float64"]),
        (
            dict(pred=torch.zeros(4, 4, dtype=torch.long), target=torch.zeros(4, 5, dtype=torch.long), num_classes=2),
            ["shape", "(4, 4)", "(4, 5)"],
        ),
        (
            dict(pred=torch.zeros(4, 4, dtype=torch.long), target=torch.full((4, 4), 3), num_classes=3),
            ["target", "value 3", "num_classes"],
        ),
        (
            dict(pred=torch.full((4, 4), 7), target=torch.zeros(4, 4, dtype=torch.long), num_classes=3),
            ["pred", "value 7"],
        ),
        (
            dict(pred=torch.zeros(4, 4, dtype=torch.long), target=torch.full((4, 4), -1), num_classes=3),
            ["target", "-1", "ignore_index=-1"],
        ),
        (
            dict(
                pred=torch.zeros(4, 4, dtype=torch.long),
                target=torch.full((4, 4), 255),
                num_classes=3,
                ignore_index=254,
            ),
            ["target", "255"],
        ),
        (
            dict(pred=torch.zeros(4, 4, dtype=torch.long), target=torch.zeros(4, 4, dtype=torch.long), num_classes=0),
            ["num_classes", "positive"],
        ),
        (
            dict(pred=torch.zeros(4, 4, dtype=torch.long), target=torch.zeros(4, 4, dtype=torch.long), num_classes=2.0),
            ["num_classes"],
        ),
        (
            dict(
                pred=torch.zeros(4, 4, dtype=torch.long),
                target=torch.zeros(4, 4, dtype=torch.long),
                num_classes=2,
                average="mean",
            ),
            ["average", "macro"],
        ),
        (
            dict(
                pred=torch.zeros(4, 4, dtype=torch.long),
                target=torch.zeros(4, 4, dtype=torch.long),
                num_classes=3,
                average="binary",
            ),
            ["binary", "num_classes=2"],
        ),
    ],
)
def test_bad_input_raises_value_error_naming_the_problem(kwargs, words):
    with pytest.raises(ValueError) as err:
        M.iou(**kwargs)
    for w in words:
        assert w in str(err.value), (w, str(err.value))


def test_pred_values_under_ignored_pixels_are_not_checked_but_elsewhere_are():
    t = torch.tensor([[0, 255], [1, 1]])
    p = torch.tensor([[0, 9], [1, 1]])
    assert M.iou(p, t, 2, ignore_index=255).item() == 1.0
    with pytest.raises(ValueError, match="pred holds the value 9"):
        M.iou(p.T.contiguous(), t, 2, ignore_index=255)


def test_other_validation_messages():
    with pytest.raises(TypeError, match="pred must be a torch.Tensor or numpy array"):
        M.confusion_matrix("abc", torch.zeros(2, dtype=torch.long), 2)
    with pytest.raises(ValueError, match="square"):
        M.iou_from_confusion(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="negative"):
        M.dice_from_confusion(torch.tensor([[1, -1], [0, 1]]))
    with pytest.raises(ValueError, match="average"):
        M.pixel_accuracy(torch.zeros(2, dtype=torch.long), torch.zeros(2, dtype=torch.long), 2, average="binary")


# ------------------------------------------------------------------------------------------- torchmetrics
@pytest.mark.parametrize("i", range(len(CASES)))
def test_matches_torchmetrics_jaccard_f1_accuracy(i):
    c, t, p, ig = _case(i, seed=7)
    for avg in ("macro", "micro"):
        ref = tmf.multiclass_jaccard_index(p, t, c, average=avg, ignore_index=ig)
        _close(M.iou(p, t, c, ig, average=avg), ref)
    ref_none = tmf.multiclass_jaccard_index(p, t, c, average="none", ignore_index=ig)
    ours_none = M.iou(p, t, c, ig, average=None)
    # torchmetrics' zero_division=0 puts 0 where ours is NaN (class absent from both, or the ignored class)
    _close(torch.nan_to_num(ours_none, nan=0.0), ref_none)
    _close(M.pixel_accuracy(p, t, c, ig, average="micro"), tmf.multiclass_accuracy(p, t, c, average="micro", ignore_index=ig))
    if ig is None or not 0 <= ig < c:  # see test_torchmetrics_f1_scores_an_ignored_class_id_that_is_predicted
        for avg in ("macro", "micro"):
            _close(M.dice(p, t, c, ig, average=avg), tmf.multiclass_f1_score(p, t, c, average=avg, ignore_index=ig))
    if set(CASES[i][2]) <= set(CASES[i][1]) - {
        ig
    }:  # see test_torchmetrics_macro_accuracy_counts_only_predicted_classes
        _close(
            M.pixel_accuracy(p, t, c, ig, average="macro"),
            tmf.multiclass_accuracy(p, t, c, average="macro", ignore_index=ig),
        )


def test_torchmetrics_class_module_matches_meter_over_batches():
    tm = pytest.importorskip("torchmetrics.classification")
    c, ig = 5, 255
    rng = np.random.default_rng(3)
    ref = tm.MulticlassJaccardIndex(num_classes=c, ignore_index=ig)
    meter = M.SegmentationMeter(c, ignore_index=ig)
    for _ in range(3):
        t = _labels(rng, (2, 9, 9), [0, 1, 2, 255])
        p = _labels(rng, (2, 9, 9), range(c))
        ref.update(p, t)
        meter.update(p, t)
    _close(meter.compute()["miou"], ref.compute())


def test_torchmetrics_macro_accuracy_counts_only_predicted_classes():
    """A class predicted but never in the target has recall 0/0: we (and sklearn) skip it, torchmetrics scores 0."""
    t = torch.tensor([0, 0, 1, 1])
    p = torch.tensor([0, 2, 1, 1])
    assert M.pixel_accuracy(p, t, 3, average="macro").item() == pytest.approx((0.5 + 1.0) / 2)
    assert _sk(sk.balanced_accuracy_score, t.numpy(), p.numpy()) == pytest.approx(0.75)
    assert tmf.multiclass_accuracy(p, t, 3, average="macro").item() == pytest.approx((0.5 + 1.0 + 0.0) / 3)


def test_torchmetrics_f1_scores_an_ignored_class_id_that_is_predicted():
    """ignore_index=0, class 0 still predicted: torchmetrics' Jaccard skips class 0, its F1 scores it 0; we skip it."""
    t = torch.tensor([0, 0, 1, 1, 2, 2])
    p = torch.tensor([0, 1, 1, 0, 2, 2])
    ours = M.dice(p, t, 3, ignore_index=0)
    assert ours.item() == pytest.approx((2 / 3 + 1.0) / 2)  # class 1: TP 1, FP 1, FN 1; class 2 perfect
    assert tmf.multiclass_jaccard_index(p, t, 3, ignore_index=0).item() == pytest.approx(M.iou(p, t, 3, 0).item())
    assert tmf.multiclass_f1_score(p, t, 3, ignore_index=0).item() == pytest.approx((0.0 + 2 / 3 + 1.0) / 3)


# ------------------------------------------------------------------------------------------- meter
def test_meter_accumulates_like_one_big_batch_and_takes_logits():
    rng = np.random.default_rng(5)
    c = 4
    ts = [_labels(rng, (2, 8, 8), [0, 1, 2, 3, 255]) for _ in range(3)]
    ps = [_labels(rng, (2, 8, 8), range(c)) for _ in range(3)]
    meter = M.SegmentationMeter(c, ignore_index=255)
    for p, t in zip(ps, ts):
        logits = torch.nn.functional.one_hot(p, c).permute(0, 3, 1, 2).float()
        meter.update(logits, t)
    out = meter.compute()
    p_all, t_all = torch.cat(ps), torch.cat(ts)
    _close(out["miou"], M.iou(p_all, t_all, c, 255))
    _close(out["dice"], M.dice(p_all, t_all, c, 255))
    _close(out["pixel_accuracy"], M.pixel_accuracy(p_all, t_all, c, 255, average="micro"))
    _close(out["pixel_accuracy"], M.pixel_accuracy(p_all, t_all, c, 255))
    _close(out["mean_accuracy"], M.mean_class_accuracy(p_all, t_all, c, 255))
    _close(out["per_class_iou"], M.iou(p_all, t_all, c, 255, average=None))
    assert torch.equal(out["confusion_matrix"], M.confusion_matrix(p_all, t_all, c, 255))
    assert "pixels=" in repr(meter)
    meter.reset()
    with pytest.raises(ValueError, match="before any update"):
        meter.compute()


# ------------------------------------------------------------------------------------------- pixel-accuracy trap
def test_pixel_accuracy_trap_on_imbalanced_data():
    t = torch.zeros(100, 100, dtype=torch.long)
    t[:5, :5] = 1  # 0.25 % foreground
    p = torch.zeros_like(t)  # "always background"
    assert M.pixel_accuracy(p, t, 2).item() > 0.99
    assert M.iou(p, t, 2, average="binary").item() == 0.0
    assert M.mean_class_accuracy(p, t, 2).item() == pytest.approx(0.5)


# ------------------------------------------------------------------------------------------- pixel vs class accuracy
def test_pixel_accuracy_default_is_micro_and_mean_class_accuracy_is_macro():
    t = torch.tensor([0, 0, 0, 0, 0, 0, 1, 1])
    p = torch.tensor([0, 0, 0, 0, 0, 0, 1, 0])  # 7 of 8 pixels right; class 0: 6/6, class 1: 1/2
    micro, macro = 7 / 8, (1.0 + 0.5) / 2
    assert micro != macro
    _close(M.pixel_accuracy(p, t, 2), micro)
    _close(M.pixel_accuracy(p, t, 2, average="micro"), micro)
    _close(M.mean_class_accuracy(p, t, 2), macro)
    _close(M.pixel_accuracy(p, t, 2, average="macro"), macro)  # explicit callers keep working
    _close(M.pixel_accuracy(p, t, 2, average=None), [1.0, 0.5])
    assert "mean_class_accuracy" in M.__all__


def test_pixel_and_mean_class_accuracy_respect_ignore_index():
    t = torch.tensor([0, 0, 0, 0, 1, 1, 255, 255, 255])
    p = torch.tensor([0, 0, 0, 1, 1, 0, 1, 1, 1])  # ignored pixels predicted wrong: they must not count
    _close(M.pixel_accuracy(p, t, 2, ignore_index=255), 4 / 6)
    _close(M.mean_class_accuracy(p, t, 2, ignore_index=255), (3 / 4 + 1 / 2) / 2)
    # an ignored class id is left out of both: only class 0 is scored here
    _close(M.pixel_accuracy(p[:6], t[:6], 2, ignore_index=1), 3 / 4)
    _close(M.mean_class_accuracy(p[:6], t[:6], 2, ignore_index=1), 3 / 4)


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
def test_boundary_f1_matches_brute_force(tol):
    rng = np.random.default_rng(tol)
    pred, target = _blob_masks(rng, 4), _blob_masks(rng, 4)
    pred[0] = False
    target[0] = False  # both empty -> 1.0
    pred[1] = False  # one empty -> 0.0
    ours = M.boundary_f1(torch.from_numpy(pred), torch.from_numpy(target), tolerance=tol, reduction="none")
    ref = [_ref_boundary_f1(a, b, tol, 1.0) for a, b in zip(pred, target)]
    _close(ours, ref)
    assert ours[0].item() == 1.0 and ours[1].item() == 0.0
    _close(M.boundary_f1(pred, target, tolerance=tol), np.mean(ref))


def test_boundary_f1_per_class_matches_brute_force():
    rng = np.random.default_rng(11)
    c = 4
    from scipy.ndimage import median_filter

    t = median_filter(rng.integers(0, c - 1, (2, 20, 20)), size=(1, 5, 5))  # class 3 absent everywhere
    p = median_filter(rng.integers(0, c - 1, (2, 20, 20)), size=(1, 5, 5))
    ours = M.boundary_f1(torch.from_numpy(p), torch.from_numpy(t), tolerance=1, num_classes=c, reduction="none")
    ref = [[_ref_boundary_f1(p[i] == k, t[i] == k, 1, math.nan) for k in range(c)] for i in range(2)]
    _close(ours, ref)
    assert torch.isnan(ours[:, 3]).all()
    _close(M.boundary_f1(p, t, 1, num_classes=c), np.nanmean(ref))


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


def test_hausdorff95_matches_brute_force():
    rng = np.random.default_rng(2)
    pred, target = _blob_masks(rng, 4, p_fill=0.4), _blob_masks(rng, 4, p_fill=0.4)
    pred[0] = False
    target[0] = False
    target[1] = False
    pred[2] = True  # full-image mask: its surface is the image frame
    ours = M.hausdorff95(pred, target, reduction="none")
    ref = [_ref_hd(a, b) for a, b in zip(pred, target)]
    _close(ours, ref)
    assert ours[0].item() == 0.0 and math.isinf(ours[1].item())
    _close(
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


# ------------------------------------------------------------------------------------------- instance helpers
def _rect_masks(rng, n, h=32, w=32):
    m = np.zeros((n, h, w), bool)
    for i in range(n):
        y, x = rng.integers(0, h - 6), rng.integers(0, w - 6)
        dy, dx = rng.integers(3, 12, size=2)
        m[i, y : y + dy, x : x + dx] = True
    return m


def test_mask_iou_matrix_matches_brute_force_and_accepts_mask_rcnn_layout():
    rng = np.random.default_rng(0)
    a, b = _rect_masks(rng, 5), _rect_masks(rng, 3)
    ref = np.array([[(x & y).sum() / (x | y).sum() for y in b] for x in a])
    _close(M.mask_iou_matrix(torch.from_numpy(a), torch.from_numpy(b)), ref)
    probs = torch.from_numpy(a).float()[:, None] * 0.9  # N×1×H×W probabilities, as Mask R-CNN returns
    _close(M.mask_iou_matrix(probs, b.astype(np.uint8)), ref)
    assert M.mask_iou_matrix(np.zeros((0, 32, 32), bool), b).shape == (0, 3)
    with pytest.raises(ValueError, match="masks_from_instance_ids"):
        M.mask_iou_matrix(np.full((1, 4, 4), 3), b[:, :4, :4])


def test_masks_from_instance_ids():
    ids = torch.tensor([[0, 1, 1], [0, 3, 3], [5, 5, 0]])
    masks = M.masks_from_instance_ids(ids)
    assert masks.shape == (3, 3, 3) and masks.dtype == torch.bool
    assert masks.sum((1, 2)).tolist() == [2, 2, 2]
    assert torch.equal(masks.sum(0), ids != 0)


def test_match_instances_greedy_by_score():
    t = torch.zeros(2, 10, 10, dtype=torch.bool)
    t[0, :5, :5] = True
    t[1, 5:, 5:] = True
    p = torch.zeros(3, 10, 10, dtype=torch.bool)
    p[0, :5, :4] = True  # IoU 0.8 with true 0
    p[1, :5, :5] = True  # IoU 1.0 with true 0
    p[2, 0, 9] = True  # matches nothing
    by_order = M.match_instances(p, t)  # no scores: pred 0 comes first and takes true 0
    assert by_order.matches.tolist() == [[0, 0]]
    assert by_order.unmatched_pred.tolist() == [1, 2] and by_order.unmatched_true.tolist() == [1]
    by_score = M.match_instances(p, t, scores=torch.tensor([0.1, 0.9, 0.5]))
    assert by_score.matches.tolist() == [[1, 0]]
    _close(by_score.matched_iou, [1.0])
    assert by_score.iou_matrix.shape == (3, 2)
    assert M.match_instances(p, t, iou_threshold=0.85).matches.tolist() == [[1, 0]]
    # a prediction overlapping two objects takes the one with the highest IoU, not the first or last above threshold
    wide = torch.zeros(1, 10, 10, dtype=torch.bool)
    wide[0, :5, :6] = True  # IoU 25/30 with a 5×5 square at the left, 15/40 with a 5×5 square shifted by 3
    two = torch.zeros(2, 10, 10, dtype=torch.bool)
    two[1, :5, :5] = True
    two[0, :5, 3:8] = True
    _close(M.mask_iou_matrix(wide, two), [[15 / 40, 25 / 30]])
    assert M.match_instances(wide, two, iou_threshold=0.3).matches.tolist() == [[0, 1]]
    assert M.match_instances(wide, two.flip(0), iou_threshold=0.3).matches.tolist() == [[0, 0]]
    with pytest.raises(ValueError, match="iou_threshold"):
        M.match_instances(p, t, iou_threshold=1.5)
    with pytest.raises(ValueError, match="scores has 2 values"):
        M.match_instances(p, t, scores=[0.1, 0.2])


def _instance_case(seed, n_img=4, n_cls=3, every_image_has_truth=True):
    rng = np.random.default_rng(seed)
    preds, targets = [], []
    for _ in range(n_img):
        nt = int(rng.integers(1 if every_image_has_truth else 0, 5))
        tm, tl = _rect_masks(rng, nt), rng.integers(0, n_cls, nt)
        pm, pl = [], []
        for k in range(nt):  # most objects are found, slightly off, sometimes with the wrong class
            if rng.random() < 0.8:
                pm.append(np.roll(tm[k], tuple(rng.integers(-2, 3, size=2)), axis=(0, 1)))
                pl.append(tl[k] if rng.random() < 0.85 else rng.integers(0, n_cls))
        for m in _rect_masks(rng, int(rng.integers(0, 3))):  # plus some false positives
            pm.append(m)
            pl.append(rng.integers(0, n_cls))
        pm = np.array(pm, bool).reshape(-1, 32, 32)
        preds.append(
            dict(
                masks=torch.from_numpy(pm),
                scores=torch.from_numpy(rng.random(len(pm))).float(),
                labels=torch.tensor(pl, dtype=torch.long),
            )
        )
        targets.append(dict(masks=torch.from_numpy(tm), labels=torch.from_numpy(tl)))
    return preds, targets


def _pycocotools_ap(preds, targets, iou_threshold=0.5):
    mask_utils = pytest.importorskip("pycocotools.mask")
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    def rle(m):
        r = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
        r["counts"] = r["counts"].decode()
        return r

    images, anns, dets = [], [], []
    cats = sorted({int(x) for d in preds + targets for x in d["labels"]})
    for i, (p, t) in enumerate(zip(preds, targets)):
        images.append(dict(id=i, height=32, width=32))
        for m, lab in zip(t["masks"].numpy(), t["labels"].tolist()):
            r = rle(m)
            anns.append(
                dict(
                    id=len(anns) + 1,
                    image_id=i,
                    category_id=lab,
                    segmentation=r,
                    area=float(m.sum()),
                    iscrowd=0,
                    bbox=list(mask_utils.toBbox(r)),
                )
            )
        for m, lab, s in zip(p["masks"].numpy(), p["labels"].tolist(), p["scores"].tolist()):
            dets.append(dict(image_id=i, category_id=lab, segmentation=rle(m), score=s))
    gt = COCO()
    gt.dataset = dict(images=images, annotations=anns, categories=[dict(id=c) for c in cats])
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
        ev = COCOeval(gt, gt.loadRes(dets), "segm")
        ev.params.iouThrs = np.array([iou_threshold])
        ev.evaluate()
        ev.accumulate()
    s = ev.eval["precision"][0, :, :, 0, -1]
    return float(np.mean(s[s > -1])) if (s > -1).any() else math.nan


@pytest.mark.parametrize("seed", range(6))
def test_mask_ap50_matches_torchmetrics(seed):
    pytest.importorskip("pycocotools")
    from torchmetrics.detection import MeanAveragePrecision

    preds, targets = _instance_case(seed)
    ref = MeanAveragePrecision(iou_type="segm")
    ref.update(preds, targets)
    ours = M.mask_average_precision(preds, targets, iou_threshold=0.5)
    assert 0.0 < ours < 1.0  # a case that exercises both hits and misses
    _close(ours, ref.compute()["map_50"].item(), atol=1e-6)


@pytest.mark.parametrize("seed", range(6, 10))
def test_mask_ap_matches_pycocotools_also_with_images_without_truth(seed):
    """pycocotools counts detections on images without ground truth as false positives; torchmetrics' segm
    mode drops such images (it registers only images with target masks), so there it can report a higher AP."""
    preds, targets = _instance_case(seed, every_image_has_truth=False)
    assert any(len(t["labels"]) == 0 for t in targets) or seed != 6
    for thr in (0.5, 0.75):
        _close(M.mask_average_precision(preds, targets, iou_threshold=thr), _pycocotools_ap(preds, targets, thr))


def test_mask_ap_hand_computed_and_edge_cases():
    t = torch.zeros(2, 16, 16, dtype=torch.bool)
    t[0, :4, :4] = True
    t[1, 8:, 8:] = True
    perfect = [dict(masks=t, scores=torch.tensor([0.9, 0.8]), labels=torch.tensor([1, 1]))]
    targets = [dict(masks=t, labels=torch.tensor([1, 1]))]
    assert M.mask_average_precision(perfect, targets) == pytest.approx(1.0)
    # a confident false positive ranked first, then the two hits: precision 1/2, 2/3 -> envelope 2/3 everywhere
    fp = torch.zeros(1, 16, 16, dtype=torch.bool)
    fp[0, 0, 15] = True
    ranked = [dict(masks=torch.cat([fp, t]), scores=torch.tensor([0.99, 0.9, 0.8]), labels=torch.tensor([1, 1, 1]))]
    assert M.mask_average_precision(ranked, targets) == pytest.approx(2 / 3)
    # one object missed: recall stops at 0.5 -> 51 of 101 recall points have precision 1
    half = [dict(masks=t[:1], scores=torch.tensor([0.9]), labels=torch.tensor([1]))]
    assert M.mask_average_precision(half, targets) == pytest.approx(51 / 101)
    # class-agnostic (no labels), nothing predicted, nothing true
    assert M.mask_average_precision([dict(masks=t, scores=torch.tensor([0.5, 0.4]))], [dict(masks=t)]) == pytest.approx(
        1.0
    )
    empty = dict(
        masks=torch.zeros(0, 16, 16, dtype=torch.bool), scores=torch.zeros(0), labels=torch.zeros(0, dtype=torch.long)
    )
    assert M.mask_average_precision([empty], targets) == 0.0
    assert math.isnan(M.mask_average_precision([empty], [dict(masks=empty["masks"], labels=empty["labels"])]))
    assert M.mask_ap_per_class(ranked, targets) == {1: pytest.approx(2 / 3)}
    with pytest.raises(ValueError, match="preds has 1 images but targets has 2"):
        M.mask_average_precision(perfect, targets * 2)
    with pytest.raises(ValueError, match="scores"):
        M.mask_average_precision([dict(masks=t, labels=torch.tensor([1, 1]))], targets)


# ------------------------------------------------------------------------------------------- speed and devices
def _best_time(fn, repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def test_miou_is_not_slower_than_torchmetrics():
    """16×256×256 labels, 11 classes: ours (with its input checks) vs torchmetrics' default functional call."""
    g = torch.Generator().manual_seed(0)
    t = torch.randint(0, 11, (16, 256, 256), generator=g)
    p = torch.randint(0, 11, (16, 256, 256), generator=g)
    _close(M.iou(p, t, 11), tmf.multiclass_jaccard_index(p, t, 11))
    ours = lambda: M.iou(p, t, 11)  # noqa: E731
    theirs = lambda: tmf.multiclass_jaccard_index(p, t, 11)  # noqa: E731
    best_ours = best_theirs = math.inf
    for _ in range(4):  # interleaved, best of several: robust to other processes on a shared machine
        best_ours = min(best_ours, _best_time(ours, 2))
        best_theirs = min(best_theirs, _best_time(theirs, 1))
    assert best_ours <= 1.2 * best_theirs, f"ours {best_ours * 1e3:.1f} ms vs torchmetrics {best_theirs * 1e3:.1f} ms"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_tensors_give_the_same_answers():
    c, t, p, ig = _case(3)
    dev = torch.device("cuda")
    assert torch.equal(M.confusion_matrix(p.to(dev), t.to(dev), c, ig).cpu(), M.confusion_matrix(p, t, c, ig))
    _close(M.iou(p.to(dev), t.to(dev), c, ig).cpu(), M.iou(p, t, c, ig))
    meter = M.SegmentationMeter(c, ig)
    meter.update(p.to(dev), t.to(dev))
    _close(meter.compute()["miou"], M.iou(p, t, c, ig))
    m = p[0] == 1
    _close(M.boundary_f1(m.to(dev), (t[0] == 1).to(dev)).cpu(), M.boundary_f1(m, t[0] == 1))
    _close(M.hausdorff95(m.to(dev), (t[0] == 1).to(dev)), M.hausdorff95(m, t[0] == 1))
    preds, targets = _instance_case(0)
    to = lambda d: {k: v.to(dev) for k, v in d.items()}  # noqa: E731
    _close(
        M.mask_average_precision([to(d) for d in preds], [to(d) for d in targets]),
        M.mask_average_precision(preds, targets),
    )


def test_boundary_f1_full_prediction_against_empty_target_is_a_miss():
    full = torch.ones(1, 8, 8, dtype=torch.bool)
    empty = torch.zeros(1, 8, 8, dtype=torch.bool)
    assert M.boundary_f1(full, empty).item() == 0.0
    assert M.boundary_f1(empty, full).item() == 0.0
    assert M.boundary_f1(empty, empty).item() == 1.0
    assert M.boundary_f1(full, full).item() == 1.0
    per_class = M.boundary_f1(torch.ones(8, 8, dtype=torch.long), torch.zeros(8, 8, dtype=torch.long), num_classes=2, reduction="none")
    assert per_class.flatten().tolist() == [0.0, 0.0]


def test_mask_ap_warns_when_predicted_and_true_classes_cannot_match():
    from course_lib.metrics import mask_average_precision

    masks = torch.zeros(1, 8, 8, dtype=torch.bool)
    masks[0, 2:5, 2:5] = True
    pred = {"masks": masks, "scores": torch.tensor([0.9]), "labels": torch.tensor([1])}
    with pytest.warns(UserWarning, match="'labels'"):
        assert mask_average_precision([pred], [{"masks": masks}]) == 0.0  # the target has no labels: class 0
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert mask_average_precision([pred], [{"masks": masks, "labels": torch.tensor([1])}]) == pytest.approx(1.0)
