"""Panoptic quality: hand-worked cases, agreement with torchmetrics' ``PanopticQuality`` and with a brute-force
COCO-style count, properties (PQ = SQ × RQ), and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torchmetrics.detection import PanopticQuality

from course_lib import metrics as M
from course_lib.metrics import panoptic_quality, segment_quality, to_panoptic

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
THINGS, STUFFS, VOID = [1, 3], [0, 2], 7


def _pan(sem, ids, things=(1,)):
    return to_panoptic(torch.tensor(sem), torch.tensor(ids), list(things))


# ---- hand-worked cases ---------------------------------------------------------------------------------
TRUE_IDS = [[1, 1, 0, 0],
            [1, 1, 0, 0],
            [0, 0, 0, 2],
            [0, 0, 0, 2]]
PRED_IDS = [[1, 1, 0, 0],
            [1, 1, 0, 0],
            [0, 0, 0, 0],
            [3, 3, 0, 0]]  # object 1 exact (TP, IoU 1), object 2 missed (FN), object 3 invented (FP)


def _from_ids(ids):
    t = torch.tensor(ids)
    return to_panoptic((t > 0).long(), t, [1])


def test_one_match_one_false_positive_one_false_negative_worked_by_hand():
    r = panoptic_quality(_from_ids(PRED_IDS), _from_ids(TRUE_IDS), things=[1], stuffs=[0])
    # nucleus (thing 1): TP 1 with IoU 1, FP 1, FN 1 -> SQ 1, RQ 1 / (1 + ½ + ½) = 0.5, PQ 0.5
    assert r["per_class"][1] == {"pq": 0.5, "sq": 1.0, "rq": 0.5, "tp": 1, "fp": 1, "fn": 1}
    # background (stuff 0): 10 true and 10 predicted pixels, 8 shared -> IoU 8 / 12 = 2/3, one TP
    assert r["per_class"][0] == pytest.approx({"pq": 2 / 3, "sq": 2 / 3, "rq": 1.0, "tp": 1, "fp": 0, "fn": 0})
    assert r["pq"] == pytest.approx((0.5 + 2 / 3) / 2) and r["sq"] == pytest.approx(5 / 6) and r["rq"] == 0.75
    assert (r["pq_things"], r["sq_things"], r["rq_things"]) == (0.5, 1.0, 0.5)
    assert r["pq_stuff"] == pytest.approx(2 / 3) and r["rq_stuff"] == 1.0
    assert (r["tp"], r["fp"], r["fn"]) == (2, 1, 1)
    assert list(r) == ["pq", "sq", "rq", "pq_things", "sq_things", "rq_things", "pq_stuff", "sq_stuff", "rq_stuff",
                       "per_class", "tp", "fp", "fn"]
    assert all(isinstance(r[k], float) for k in ("pq", "sq", "rq", "pq_things", "pq_stuff"))


def test_segment_quality_of_the_hand_worked_case_and_of_empty_maps():
    assert segment_quality(torch.tensor(PRED_IDS), torch.tensor(TRUE_IDS)) == (0.5, 1.0, 0.5)
    assert segment_quality(np.array(TRUE_IDS), np.array(TRUE_IDS)) == (1.0, 1.0, 1.0)
    zeros = torch.zeros(4, 4, dtype=torch.int64)
    assert all(math.isnan(v) for v in segment_quality(zeros, zeros))  # nothing to find and nothing found: 0 / 0
    assert segment_quality(torch.tensor(PRED_IDS), zeros) == (0.0, 0.0, 0.0)  # only false positives
    assert segment_quality(zeros, torch.tensor(TRUE_IDS)) == (0.0, 0.0, 0.0)  # only false negatives
    assert all(type(v) is float for v in segment_quality(torch.tensor(PRED_IDS), torch.tensor(TRUE_IDS)))


def test_an_iou_of_exactly_one_half_does_not_match():
    true = torch.tensor([[1, 1, 1, 1, 0, 0]])
    pred = torch.tensor([[1, 1, 0, 0, 0, 0]])  # 2 shared of 4 in the union: IoU 0.5
    assert segment_quality(pred, true) == (0.0, 0.0, 0.0)
    pred = torch.tensor([[1, 1, 1, 0, 0, 0]])  # IoU 0.75
    assert segment_quality(pred, true) == (pytest.approx(0.75), pytest.approx(0.75), 1.0)
    assert segment_quality(pred, true, iou_threshold=0.75) == (0.0, 0.0, 0.0)  # must be above the threshold


def test_void_pixels_are_cut_from_predictions_and_mostly_void_predictions_are_no_false_positives():
    # category per pixel: 1 = thing, 0 = background (stuff), 7 = unlabelled
    target = _pan([[1, 1, 1, 7, 7, 7, 0, 0]], [[1, 1, 1, 0, 0, 0, 0, 0]])
    pred = _pan([[1, 1, 1, 1, 1, 1, 0, 0]], [[1, 1, 1, 1, 1, 2, 0, 0]])
    # predicted object 1 covers the true object and 2 void pixels: IoU 3/3 once void is cut (3/5 without);
    # predicted object 2 lies only on void: not a false positive
    r = panoptic_quality(pred, target, things=[1], stuffs=[0], void=7)
    assert r["per_class"][1] == {"pq": 1.0, "sq": 1.0, "rq": 1.0, "tp": 1, "fp": 0, "fn": 0}
    assert r["pq"] == 1.0
    theirs = PanopticQuality([1], [0], return_sq_and_rq=True)(pred[None], target[None])
    assert torch.allclose(theirs, torch.ones(3, dtype=torch.float64))


def test_predicted_void_means_no_prediction_and_unknown_predictions_can_be_void():
    target = _pan([[1, 1, 1, 1, 0, 0]], [[1, 1, 1, 1, 0, 0]])
    pred = _pan([[7, 7, 7, 1, 0, 0]], [[0, 0, 0, 1, 0, 0]])  # the object is mostly predicted void: no FN either
    r = panoptic_quality(pred, target, things=[1], stuffs=[0], void=7)
    assert r["per_class"][1]["tp"] == 1 and r["per_class"][1]["fn"] == 0  # the rest matches: IoU 1/1
    with pytest.raises(ValueError, match="pred holds category 7.*allow_unknown_pred=True"):
        panoptic_quality(pred, target, things=[1], stuffs=[0])
    assert panoptic_quality(pred, target, things=[1], stuffs=[0], allow_unknown_pred=True) == r


def test_stuff_instance_ids_are_ignored_and_thing_instance_zero_is_a_segment():
    target = _pan([[0, 0, 2, 2], [1, 1, 2, 2]], [[5, 6, 0, 9], [0, 0, 1, 2]], things=[1])
    assert target[..., 1].tolist() == [[0, 0, 0, 0], [0, 0, 0, 0]]  # stuff 0 and 2 get instance 0; thing keeps 0
    pred = torch.stack([target[..., 0], torch.tensor([[3, 4, 5, 6], [0, 0, 7, 8]])], dim=-1)
    r = panoptic_quality(pred, target, things=[1], stuffs=[0, 2])
    assert r["pq"] == 1.0 and r["tp"] == 3  # one segment each: stuff 0, stuff 2 and thing (1, 0)


def test_to_panoptic_layout_and_batches():
    sem = torch.tensor([[[0, 1], [2, 1]], [[1, 1], [0, 0]]])
    ids = torch.tensor([[[4, 5], [6, 7]], [[1, 2], [3, 0]]], dtype=torch.int32)
    p = to_panoptic(sem, ids, things=[1])
    assert p.shape == (2, 2, 2, 2) and p.dtype == torch.int64
    assert p[..., 0].tolist() == sem.tolist()
    assert p[..., 1].tolist() == [[[0, 5], [0, 7]], [[1, 2], [0, 0]]]
    assert torch.equal(to_panoptic(sem[0], ids[0], {1}), p[0])
    assert torch.equal(to_panoptic(sem.numpy(), ids.numpy(), torch.tensor([1])), p)


# ---- agreement with torchmetrics and with a brute-force count -----------------------------------------
def _blocky(g: torch.Generator, n: int, h: int, w: int, cats: list[int], max_id: int) -> torch.Tensor:
    """N×H×W×2 panoptic maps made of random 2×2..5×5 blocks (so that segments overlap a lot)."""
    s = int(torch.randint(2, 6, (1,), generator=g))
    small = (n, -(-h // s), -(-w // s))
    c = torch.tensor(cats)[torch.randint(0, len(cats), small, generator=g)]
    i = torch.randint(0, max_id + 1, small, generator=g)
    up = torch.stack([c, i], -1).repeat_interleave(s, 1).repeat_interleave(s, 2)
    return up[:, :h, :w]


def _prediction(g: torch.Generator, target: torch.Tensor, cats: list[int]) -> torch.Tensor:
    """``target`` with new instance ids, shifted by a pixel or not, with a few blocks relabelled: partly right."""
    shift = [(0, 0), (0, 1), (1, 0), (-1, 0)][int(torch.randint(0, 4, (1,), generator=g))]
    pred = torch.roll(target, shift, dims=(1, 2)).clone()
    pred[..., 1] = (pred[..., 1] * 5 + 2) % 11  # other ids for the same segments: matching is by overlap
    noise = _blocky(g, *target.shape[:3], cats, 3)
    flip = _blocky(g, *target.shape[:3], [0, 0, 0, 1], 0)[..., 0] == 1  # about a quarter of the blocks
    pred[flip] = noise[flip]
    return pred


def _torchmetrics(pred, target, things, stuffs, per_class=False, allow_unknown=True):
    m = PanopticQuality(things, stuffs, allow_unknown_preds_category=allow_unknown, return_sq_and_rq=True,
                        return_per_class=per_class)
    m.update(pred, target)
    return m.compute()


def _ours_per_class(r, things, stuffs):
    """Our per-class (pq, sq, rq) in torchmetrics' order (sorted things, then sorted stuffs), 0 where absent."""
    zero = {"pq": 0.0, "sq": 0.0, "rq": 0.0}
    rows = [r["per_class"].get(c, zero) for c in sorted(things) + sorted(stuffs)]
    return torch.tensor([[x["pq"], x["sq"], x["rq"]] for x in rows], dtype=torch.float64)


@pytest.mark.parametrize("seed", range(30))
def test_agrees_with_torchmetrics_on_random_maps_with_void(seed):
    g = torch.Generator().manual_seed(seed)
    n, h, w = 1 + seed % 3, 5 + seed % 11, 6 + (3 * seed) % 13
    cats = [0, 1, 2, 3] + ([VOID] if seed % 2 else [])
    target = _blocky(g, n, h, w, cats, 3)
    pred = _prediction(g, target, cats)
    ours = panoptic_quality(pred, target, THINGS, STUFFS, void=VOID)
    theirs = _torchmetrics(pred, target, THINGS, STUFFS)
    mine = torch.tensor([ours["pq"], ours["sq"], ours["rq"]], dtype=torch.float64)
    assert torch.allclose(mine, theirs, atol=1e-6, equal_nan=True), (mine, theirs)
    per_class = _torchmetrics(pred, target, THINGS, STUFFS, per_class=True)
    assert torch.allclose(_ours_per_class(ours, THINGS, STUFFS), per_class, atol=1e-6)


def test_the_random_cases_hold_matches_and_mistakes():
    counts = []
    for seed in range(30):  # the cases of the test above
        g = torch.Generator().manual_seed(seed)
        target = _blocky(g, 1 + seed % 3, 5 + seed % 11, 6 + (3 * seed) % 13, [0, 1, 2, 3, VOID], 3)
        r = panoptic_quality(_prediction(g, target, [0, 1, 2, 3]), target, THINGS, STUFFS, void=VOID)
        counts.append((r["tp"], r["fp"], r["fn"]))
    assert sum(tp > 0 for tp, _, _ in counts) >= 20 and sum(fp > 0 and fn > 0 for _, fp, fn in counts) >= 20


@pytest.mark.parametrize("seed", range(10))
def test_agrees_with_torchmetrics_image_by_image_and_on_one_image(seed):
    g = torch.Generator().manual_seed(100 + seed)
    target = _blocky(g, 3, 12, 10, [0, 1, 2, 3, VOID], 4)
    pred = _prediction(g, target, [0, 1, 2, 3, 9])  # 9: a category nobody scores, void with allow_unknown_pred
    m = PanopticQuality(THINGS, STUFFS, allow_unknown_preds_category=True, return_sq_and_rq=True)
    for p, t in zip(pred, target):
        m.update(p[None], t[None])
        one = panoptic_quality(p, t, THINGS, STUFFS, void=VOID, allow_unknown_pred=True)  # one H×W×2 image
        theirs = _torchmetrics(p[None], t[None], THINGS, STUFFS)
        assert torch.allclose(torch.tensor([one["pq"], one["sq"], one["rq"]]).double(), theirs, atol=1e-6,
                              equal_nan=True)
    batch = panoptic_quality(pred, target, THINGS, STUFFS, void=VOID, allow_unknown_pred=True)
    assert torch.allclose(torch.tensor([batch["pq"], batch["sq"], batch["rq"]]).double(), m.compute(), atol=1e-6)


def test_a_batch_adds_up_counts_instead_of_averaging_image_scores():
    g = torch.Generator().manual_seed(7)
    target = _blocky(g, 4, 10, 10, [0, 1, 2, 3], 3)
    pred = _prediction(g, target, [0, 1, 2, 3])
    batch = panoptic_quality(pred, target, THINGS, STUFFS)
    singles = [panoptic_quality(p, t, THINGS, STUFFS) for p, t in zip(pred, target)]
    for key in ("tp", "fp", "fn"):
        assert batch[key] == sum(s[key] for s in singles)
    for c, row in batch["per_class"].items():
        assert row["tp"] == sum(s["per_class"].get(c, {"tp": 0})["tp"] for s in singles)
        iou_sum = sum(s["per_class"][c]["sq"] * s["per_class"][c]["tp"] for s in singles if c in s["per_class"])
        assert row["sq"] * row["tp"] == pytest.approx(iou_sum)


def _brute_force(pred: np.ndarray, target: np.ndarray, things, stuffs, void, thr):
    """COCO's recipe written plainly for one H×W×2 image: {category: [tp, fp, fn, iou_sum]}."""
    def segments(x):
        cat, inst = x[..., 0], np.where(np.isin(x[..., 0], things), x[..., 1], 0)
        return {(c, i): (cat == c) & (inst == i) for c, i in set(zip(cat.ravel().tolist(), inst.ravel().tolist()))
                if c != void}
    p_segs, t_segs = segments(pred), segments(target)
    t_void, p_void = target[..., 0] == void, pred[..., 0] == void
    stats = {c: [0, 0, 0, 0.0] for c in [*things, *stuffs]}
    p_hit, t_hit = set(), set()
    for pk, pm in p_segs.items():
        for tk, tm in t_segs.items():
            if pk[0] != tk[0]:
                continue
            inter = (pm & tm).sum()
            union = (pm & ~t_void).sum() + (tm & ~p_void).sum() - inter
            if inter and inter / union > thr:
                stats[pk[0]][0] += 1
                stats[pk[0]][3] += inter / union
                p_hit.add(pk)
                t_hit.add(tk)
    for pk, pm in p_segs.items():
        stats[pk[0]][1] += pk not in p_hit and (pm & t_void).sum() <= pm.sum() / 2
    for tk, tm in t_segs.items():
        stats[tk[0]][2] += tk not in t_hit and (tm & p_void).sum() <= tm.sum() / 2
    return stats


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("thr", [0.5, 0.6, 0.8])
def test_counts_agree_with_a_brute_force_count_at_several_thresholds(seed, thr):
    g = torch.Generator().manual_seed(200 + seed)
    target = _blocky(g, 1, 9, 11, [0, 1, 2, 3, VOID], 3)
    pred = _prediction(g, target, [0, 1, 2, 3, VOID])
    ours = panoptic_quality(pred, target, THINGS, STUFFS, void=VOID, iou_threshold=thr)
    ref = _brute_force(pred[0].numpy(), target[0].numpy(), THINGS, STUFFS, VOID, thr)
    for c, (tp, fp, fn, iou_sum) in ref.items():
        row = ours["per_class"].get(c, {"tp": 0, "fp": 0, "fn": 0, "sq": 0.0})
        assert (row["tp"], row["fp"], row["fn"]) == (tp, fp, fn), c
        assert row["sq"] * row["tp"] == pytest.approx(iou_sum)


# ---- properties --------------------------------------------------------------------------------------
@st.composite
def panoptic_pairs(draw: st.DrawFn) -> tuple[torch.Tensor, torch.Tensor]:
    """Two small H×W×2 maps over categories 0..3 (things 1, 3) and void 7, instance ids 0..2."""
    h, w = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    cells = st.tuples(st.sampled_from([0, 1, 2, 3, VOID]), st.integers(0, 2))
    maps = [torch.tensor(draw(st.lists(cells, min_size=h * w, max_size=h * w))).reshape(h, w, 2) for _ in range(2)]
    return maps[0], maps[1]


@SETTINGS
@given(panoptic_pairs())
def test_pq_is_sq_times_rq_per_class_and_scores_are_fractions(pair):
    pred, target = pair
    r = panoptic_quality(pred, target, THINGS, STUFFS, void=VOID)
    for c, row in r["per_class"].items():
        assert row["pq"] == pytest.approx(row["sq"] * row["rq"])
        assert row["tp"] + row["fp"] + row["fn"] > 0
        assert row["rq"] == pytest.approx(row["tp"] / (row["tp"] + 0.5 * row["fp"] + 0.5 * row["fn"]))
        assert all(0.0 <= row[k] <= 1.0 for k in ("pq", "sq", "rq"))
        assert row["sq"] > 0.5 or row["tp"] == 0  # every match has IoU > 0.5
    if r["per_class"]:
        assert r["pq"] == pytest.approx(np.mean([row["pq"] for row in r["per_class"].values()]))
    else:
        assert math.isnan(r["pq"])
    theirs = _torchmetrics(pred[None], target[None], THINGS, STUFFS)
    assert torch.allclose(torch.tensor([r["pq"], r["sq"], r["rq"]]).double(), theirs, atol=1e-6, equal_nan=True)


@SETTINGS
@given(panoptic_pairs())
def test_a_perfect_prediction_scores_one(pair):
    _, target = pair
    r = panoptic_quality(target, target, THINGS, STUFFS, void=VOID)
    assert math.isnan(r["pq"]) if not r["per_class"] else r["pq"] == r["sq"] == r["rq"] == 1.0
    assert r["fp"] == r["fn"] == 0


# ---- bad input ---------------------------------------------------------------------------------------
P = torch.zeros(4, 4, 2, dtype=torch.int64)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: panoptic_quality(P, torch.zeros(4, 5, 2, dtype=torch.int64), [1], [0]), "pred has shape.*target"),
        (lambda: panoptic_quality(P, P + torch.tensor([5, 0]), [1], [0]), "target holds category 5.*void=5"),
        (lambda: panoptic_quality(P + torch.tensor([5, 0]), P, [1], [0]), "pred holds category 5"),
        (lambda: panoptic_quality(P, P, [1, 2], [2, 0]), r"things and stuffs share the categories \[2\]"),
        (lambda: panoptic_quality(P, P, [], []), "things and stuffs are both empty"),
        (lambda: panoptic_quality(P.float(), P, [1], [0]), "pred has dtype torch.float32"),
        (lambda: panoptic_quality(P, P.double(), [1], [0]), "target has dtype"),
        (lambda: panoptic_quality(P[..., 0], P[..., 0], [1], [0]), r"pred has shape \(4, 4\).*H×W×2"),
        (lambda: panoptic_quality(P, P, 1, [0]), "things=1 must be a collection"),
        (lambda: panoptic_quality(P, P, [1.5], [0]), "things holds 1.5"),
        (lambda: panoptic_quality(P, P, [1], ["sky"]), "stuffs holds 'sky'"),
        (lambda: panoptic_quality(P, P, [1], [0], void=0), "void=0 is also in things or stuffs"),
        (lambda: panoptic_quality(P, P, [1], [0], void=2.5), "void=2.5 must be"),
        (lambda: panoptic_quality(P, P, [1], [0], iou_threshold=0.3), "iou_threshold=0.3 must be at least 0.5"),
        (lambda: panoptic_quality(P, P, [1], [0], iou_threshold=1.5), "iou_threshold=1.5"),
        (lambda: panoptic_quality(P, P, [1], [0], allow_unknown_pred="yes"), "allow_unknown_pred='yes'"),
        (lambda: to_panoptic(P[..., 0], P[:3, :, 0], [1]), "semantic has shape.*instances"),
        (lambda: to_panoptic(P[..., 0].float(), P[..., 0], [1]), "semantic has dtype"),
        (lambda: to_panoptic(P[0, :, 0], P[0, :, 0], [1]), r"semantic has shape \(4,\)"),
        (lambda: segment_quality(P[..., 0], P[:2, :, 0]), "pred_ids has shape.*true_ids"),
        (lambda: segment_quality(P[..., 0], P[..., 0].float()), "true_ids has dtype"),
    ],
)
def test_bad_input_raises_a_value_error_naming_the_argument_and_the_fix(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_exported_from_the_metrics_package():
    assert M.panoptic_quality is panoptic_quality and M.to_panoptic is to_panoptic
    assert M.segment_quality is segment_quality
    assert panoptic_quality.__doc__.splitlines()[0].endswith(".") and to_panoptic.__doc__.splitlines()[0].endswith(".")
