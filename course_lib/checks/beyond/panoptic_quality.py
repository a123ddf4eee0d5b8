"""Exercise ``segment-quality``: PQ, SQ and RQ of one thing class from two instance-id maps.

The learner writes ``segment_quality(pred_ids, true_ids) -> (pq, sq, rq)``: match predicted and true objects at
IoU > 0.5, then SQ = mean IoU of the matches, RQ = TP / (TP + ½FP + ½FN), PQ = SQ × RQ. The reference is the
library's :func:`course_lib.metrics.segment_quality`, which agrees with torchmetrics' ``PanopticQuality``.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ... import metrics
from ..core import Case, Mistake, compare, describe
from ..registry import register
from .common import LESSON

__all__ = ["segment_quality_reference"]

_NAMES = ("pq", "sq", "rq")


def segment_quality_reference(pred_ids: torch.Tensor, true_ids: torch.Tensor) -> tuple[float, float, float]:
    """Reference answer: (PQ, SQ, RQ) of one thing class, objects matched at IoU > 0.5; NaN each with no object."""
    return metrics.segment_quality(pred_ids, true_ids)


# ---- the checker: which of the three values is wrong ------------------------------------------------------
def _numbers(got: Any) -> tuple[float, float, float] | None:
    """``got`` as three floats, or None when it is not a tuple/list of three plain numbers."""
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        return None
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in got):
        return None
    return float(got[0]), float(got[1]), float(got[2])


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9) or (math.isnan(a) and math.isnan(b))


def _text(values: tuple[float, ...]) -> str:
    return "(" + ", ".join(f"{v:.4g}" for v in values) + ")"


def _check_segment_quality(case: Case, got: Any) -> str | None:
    """None when ``got`` is the expected (pq, sq, rq); otherwise which values are wrong."""
    reason = compare(case.expected, got, case.atol, case.rtol, path="the result")
    if reason is None:
        return None
    values = _numbers(got)
    if values is None and isinstance(got, (tuple, list)) and len(got) == 3:
        return reason  # e.g. tensors: the reason says what to change
    if values is None:
        return f"{reason} Return a tuple of three Python floats (pq, sq, rq); got {describe(got)}."
    wrong = [n for n, e, g in zip(_NAMES, case.expected, values) if not _same(e, g)]
    return (f"{reason} Wrong: {', '.join(wrong)} (expected (pq, sq, rq) = {_text(case.expected)}, "
            f"got {_text(values)}).")


# ---- typical wrong answers -------------------------------------------------------------------------------
def _ids(x: torch.Tensor, background: bool) -> list[int]:
    return [i for i in torch.unique(x).tolist() if background or i != 0]


def _iou(pred_ids: torch.Tensor, true_ids: torch.Tensor, p: int, t: int) -> float:
    inter = int(((pred_ids == p) & (true_ids == t)).sum())
    return inter / int(((pred_ids == p) | (true_ids == t)).sum())


def _quality(pred_ids: torch.Tensor, true_ids: torch.Tensor, *, at_least: bool = False, full_rq: bool = False,
             sq_over_true: bool = False, background: bool = False, empty: float = math.nan, by_id: bool = False,
             sq_none: float = 0.0) -> tuple[float, float, float]:
    """(PQ, SQ, RQ) computed plainly, each flag making one of the typical mistakes."""
    p_ids, t_ids = _ids(pred_ids, background), _ids(true_ids, background)
    if not p_ids and not t_ids:
        return empty, empty, empty
    pairs = [(p, t) for p in p_ids for t in t_ids if not by_id or p == t]
    ious = [_iou(pred_ids, true_ids, p, t) for p, t in pairs]
    matched = [v for v in ious if v >= 0.5] if at_least else [v for v in ious if v > 0.5]
    tp = len(matched)
    fp, fn = max(len(p_ids) - tp, 0), max(len(t_ids) - tp, 0)
    if sq_over_true:
        sq = sum(matched) / len(t_ids) if t_ids else sq_none
    else:
        sq = sum(matched) / tp if tp else sq_none
    rq = tp / (tp + fp + fn) if full_rq else tp / (tp + 0.5 * fp + 0.5 * fn)
    return sq * rq, sq, rq


def _as_tensors(pred_ids: torch.Tensor, true_ids: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Mistake: the right values, as 0-dim tensors instead of Python floats."""
    return tuple(torch.tensor(v, dtype=torch.float64) for v in _quality(pred_ids, true_ids))


def _with_background(pred_ids: torch.Tensor, true_ids: torch.Tensor) -> tuple[float, float, float]:
    """Mistake: id 0 (background) is scored as one more object."""
    return _quality(pred_ids, true_ids, background=True)


def _match_at_half(pred_ids: torch.Tensor, true_ids: torch.Tensor) -> tuple[float, float, float]:
    """Mistake: a pair with IoU exactly 0.5 counts as a match (>= instead of >)."""
    return _quality(pred_ids, true_ids, at_least=True)


def _rq_without_half(pred_ids: torch.Tensor, true_ids: torch.Tensor) -> tuple[float, float, float]:
    """Mistake: RQ = TP / (TP + FP + FN), without the halves."""
    return _quality(pred_ids, true_ids, full_rq=True)


def _sq_over_all_objects(pred_ids: torch.Tensor, true_ids: torch.Tensor) -> tuple[float, float, float]:
    """Mistake: SQ divides the matched IoUs by the number of true objects, not of matches."""
    return _quality(pred_ids, true_ids, sq_over_true=True)


def _zero_when_empty(pred_ids: torch.Tensor, true_ids: torch.Tensor) -> tuple[float, float, float]:
    """Mistake: 0.0 instead of NaN when neither map has an object."""
    return _quality(pred_ids, true_ids, empty=0.0)


def _matched_by_id(pred_ids: torch.Tensor, true_ids: torch.Tensor) -> tuple[float, float, float]:
    """Mistake: predicted object k is only compared with true object k."""
    return _quality(pred_ids, true_ids, by_id=True)


def _sq_nan_without_match(pred_ids: torch.Tensor, true_ids: torch.Tensor) -> tuple[float, float, float]:
    """Mistake: SQ = 0 / 0 = NaN when nothing matches (a Python division would raise instead)."""
    return _quality(pred_ids, true_ids, sq_none=math.nan)


def _holds_tensor(case: Case, got: Any, reason: str) -> bool:
    return isinstance(got, torch.Tensor) or (isinstance(got, (tuple, list)) and
                                             any(isinstance(v, torch.Tensor) for v in got))


def _sq_undefined(case: Case, got: Any, reason: str) -> bool:
    """A ZeroDivisionError, or NaN for SQ, where nothing matched and the answer's SQ is 0."""
    if case.expected[1] != 0.0:
        return False
    values = _numbers(got)
    return isinstance(got, ZeroDivisionError) or (values is not None and math.isnan(values[1]))


_MISTAKES = (
    Mistake("a tensor, not floats", _as_tensors,
            "the values may be right, but the exercise asks for three plain Python floats: turn each 0-dim tensor "
            "into a number with .item() (or float(...)).", detect=_holds_tensor),
    Mistake("background counted as an object", _with_background,
            "id 0 marks background, not an object: leave it out of both id lists. Counted as an object it nearly "
            "always finds its match, which adds a true positive with a high IoU and inflates all three scores."),
    Mistake("matched at IoU >= 0.5", _match_at_half,
            "a match needs IoU strictly above 0.5. Only then can an object have at most one partner (two disjoint "
            "objects cannot both cover more than half of it), so the matching needs no search. A pair at exactly "
            "0.5 is a false positive plus a false negative."),
    Mistake("RQ without the halves", _rq_without_half,
            "RQ = TP / (TP + ½FP + ½FN): it is the F1 score of the detections. Without the halves, TP / (TP + FP + "
            "FN), each miss or false alarm weighs twice as much."),
    Mistake("SQ averaged over all objects", _sq_over_all_objects,
            "SQ is the mean IoU of the matched pairs only: sum of their IoUs / TP. The unmatched objects are already "
            "counted in RQ; dividing by every object would punish them twice."),
    Mistake("0 instead of NaN for empty maps", _zero_when_empty,
            "with no object in either map there is nothing to find and nothing found: 0 / 0 is undefined, so all "
            "three are NaN (math.nan), not 0.0, which would pull an average down."),
    Mistake("objects matched by their id number", _matched_by_id,
            "ids are arbitrary names: predicted object 2 need not be true object 2. Compare every predicted object "
            "with every true object and match by IoU, whatever their ids."),
    Mistake("SQ undefined when nothing matches", _sq_nan_without_match,
            "when there are objects but no match, SQ is 0 by convention (as in COCO's panopticapi and torchmetrics), "
            "so PQ is 0 too: guard the division, e.g. sq = sum(ious) / tp if tp else 0.0.", detect=_sq_undefined),
)


# ---- cases ---------------------------------------------------------------------------------------------------
def _paint(h: int, w: int, boxes: list[tuple[int, int, int, int, int]]) -> torch.Tensor:
    """An H×W int64 id map with each (id, row0, row1, col0, col1) rectangle painted in turn (ends excluded)."""
    ids = torch.zeros(h, w, dtype=torch.int64)
    for k, r0, r1, c0, c1 in boxes:
        ids[r0:r1, c0:c1] = k
    return ids


def _random_pair(g: torch.Generator, h: int, w: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """True rectangles; the prediction shifts each a little, renumbers them, drops one and invents one."""
    def rand(lo: int, hi: int) -> int:
        return int(torch.randint(lo, hi + 1, (1,), generator=g))

    true_boxes, pred_boxes = [], []
    for k in range(1, n + 1):
        r0, c0 = rand(0, h - 4), rand(0, w - 4)
        r1, c1 = min(h, r0 + rand(3, 7)), min(w, c0 + rand(3, 7))
        true_boxes.append((k, r0, r1, c0, c1))
        dr, dc = rand(-1, 1), rand(-1, 1)
        pred_boxes.append((10 + 3 * k, max(0, r0 + dr), r1 + dr, max(0, c0 + dc), c1 + dc))
    del pred_boxes[rand(0, n - 1)]
    r0, c0 = rand(0, h - 3), rand(0, w - 3)
    pred_boxes.append((99, r0, r0 + 3, c0, c0 + 3))
    return _paint(h, w, pred_boxes), _paint(h, w, true_boxes)


def _case(pred: torch.Tensor, true: torch.Tensor, description: str, hidden: bool = False) -> Case:
    return Case((pred, true), expected=segment_quality_reference(pred, true), description=description, hidden=hidden)


def _hand_cases() -> list[Case]:
    """The cases worked by hand: a miss and a false alarm, touching objects, an IoU of exactly 0.5."""
    one_of_each = (_paint(6, 8, [(1, 0, 3, 0, 3), (3, 4, 6, 0, 2)]), _paint(6, 8, [(1, 0, 3, 0, 3), (2, 3, 6, 5, 8)]))
    touching = (_paint(3, 8, [(2, 0, 3, 0, 5), (1, 0, 3, 5, 8)]), _paint(3, 8, [(1, 0, 3, 0, 4), (2, 0, 3, 4, 8)]))
    half = (_paint(4, 6, [(1, 0, 2, 0, 2)]), _paint(4, 6, [(1, 0, 2, 0, 4)]))
    return [
        _case(*one_of_each, "object 1 found exactly (IoU 1), true object 2 missed, predicted object 3 invented: "
              "TP 1, FP 1, FN 1 -> SQ 1, RQ 1 / (1 + ½ + ½) = 0.5, PQ 0.5"),
        _case(*touching, "two touching objects; the prediction moves their border one column and numbers them the "
              "other way round: IoUs 12/15 = 0.8 and 9/12 = 0.75 -> SQ 0.775, RQ 1, PQ 0.775"),
        _case(*half, "a prediction covering exactly half of the one true object: IoU 4/8 = 0.5 is NOT a match -> "
              "FP 1, FN 1 -> PQ 0, SQ 0 (nothing matched), RQ 0"),
    ]


def _hidden_cases() -> list[Case]:
    """Split and merged objects, empty maps and random rectangles."""
    zeros = torch.zeros(5, 6, dtype=torch.int64)
    two = _paint(5, 6, [(1, 0, 2, 0, 4), (2, 3, 5, 0, 2)])
    cases = [
        _case(_paint(2, 6, [(1, 0, 2, 0, 3), (2, 0, 2, 3, 5)]), _paint(2, 6, [(1, 0, 2, 0, 5)]),
              "one object of 10 pixels predicted as two parts of 6 and 4: IoU 0.6 matches, the other part is a false "
              "positive -> SQ 0.6, RQ 2/3, PQ 0.4", hidden=True),
        _case(_paint(3, 6, [(5, 0, 2, 0, 6)]), _paint(3, 6, [(1, 0, 2, 0, 4), (2, 0, 2, 4, 6)]),
              "two touching objects (8 and 4 pixels) predicted as one of 12: IoU 8/12 matches the bigger one, the "
              "smaller is missed -> SQ 2/3, RQ 2/3", hidden=True),
        _case(_paint(2, 6, [(1, 0, 2, 0, 6)]), _paint(2, 6, [(1, 0, 2, 0, 3), (2, 0, 2, 3, 6)]),
              "two equal objects predicted as one: IoU exactly 0.5 with each, so no match -> all 0", hidden=True),
        _case(zeros, two, "nothing predicted, two true objects -> all 0 (SQ is 0 when nothing matches)", hidden=True),
        _case(two, zeros, "two predicted objects, none true -> all 0", hidden=True),
        _case(zeros, zeros.clone(), "no object in either map: nothing to find -> (nan, nan, nan)", hidden=True),
        _case(two.clone(), two, "a perfect prediction -> (1.0, 1.0, 1.0)", hidden=True),
    ]
    g = torch.Generator().manual_seed(1111)
    for h, w, n in ((16, 16, 4), (20, 14, 6), (24, 24, 8)):
        cases.append(_case(*_random_pair(g, h, w, n), hidden=True,
                           description=f"{n} random rectangles in {h}×{w}, predicted shifted by up to a pixel, "
                           f"renumbered, one dropped and one invented"))
    return cases


@register(
    "segment-quality",
    lesson=LESSON,
    title="Panoptic quality of one thing class: PQ = SQ × RQ",
    hints=(
        "Every id other than 0 is one object: a set of pixels. Compare every predicted object with every true "
        "object by IoU; a pair whose IoU is strictly above one half is a match (a true positive), and no object can "
        "have two such partners. Predicted objects left without a partner are false positives, true ones false "
        "negatives. SQ is the mean IoU of the matches (0 when there is none), RQ is TP divided by TP plus half the "
        "false positives plus half the false negatives, and PQ is SQ times RQ. With no object in either map all "
        "three are NaN.",
        "List the object ids with torch.unique(pred_ids) and torch.unique(true_ids), leaving out 0. For each pair "
        "(p, t) the IoU is ((pred_ids == p) & (true_ids == t)).sum() / ((pred_ids == p) | (true_ids == t)).sum(); "
        "keep the IoUs > 0.5 (not >= 0.5). TP is how many you kept, FP = predicted objects - TP, FN = true objects "
        "- TP. Return (pq, sq, rq) as Python floats (.item() or float()).",
        "p_ids = [i for i in torch.unique(pred_ids).tolist() if i != 0]; t_ids = [i for i in "
        "torch.unique(true_ids).tolist() if i != 0]; if not p_ids and not t_ids: return (math.nan, math.nan, "
        "math.nan); ious = [(((pred_ids == p) & (true_ids == t)).sum() / ((pred_ids == p) | (true_ids == t)).sum())"
        ".item() for p in p_ids for t in t_ids]; matched = [v for v in ious if v > 0.5]; tp = len(matched); "
        "fp, fn = len(p_ids) - tp, len(t_ids) - tp; sq = sum(matched) / tp if tp else 0.0; "
        "rq = tp / (tp + 0.5 * fp + 0.5 * fn); return (sq * rq, sq, rq)",
    ),
    checker=_check_segment_quality,
    function="segment_quality",
    mistakes=_MISTAKES,
)
def _panoptic_quality_cases() -> list[Case]:
    return _hand_cases() + _hidden_cases()
