"""Panoptic quality (PQ): one score for *things* (countable objects) and *stuff* (amorphous regions) together.

Conventions
-----------
* A *panoptic map* is an integer tensor H×W×2 (or N×H×W×2 for a batch) holding (category id, instance id) per
  pixel, the layout of torchmetrics' ``PanopticQuality``. :func:`to_panoptic` builds one from a semantic label map
  and an instance-id map.
* A *segment* is one (category, instance) pair in one image. For a category in ``things`` every instance id is its
  own segment; for a category in ``stuffs`` the instance id is ignored, so all its pixels in an image are one segment.
  A thing pixel with instance id 0 is an ordinary segment (category, 0), as in torchmetrics; to leave such pixels
  out, give them the ``void`` category first.
* ``void`` (optional) is the category id of unlabelled pixels. Target void pixels are not scored: they are removed
  from the predicted segments before the IoU, and a predicted segment lying more than half on them is no false
  positive (as in COCO's panopticapi). Predicted void pixels mean "no prediction": they are removed from the true
  segments, and a true segment more than half predicted void is no false negative (as in torchmetrics).
  Any other category in neither ``things`` nor ``stuffs`` is an error; ``allow_unknown_pred=True`` makes unknown
  *predicted* categories void instead (torchmetrics' ``allow_unknown_preds_category``).
* In each image a predicted and a true segment of the same category match when their IoU > ``iou_threshold``
  (0.5: then a segment can overlap at most one other by that much, so the matching is unique without any search).
  Matched pairs are true positives (TP), unmatched predictions false positives (FP), unmatched true segments false
  negatives (FN). TP, FP, FN and the IoU sum of the matches are added up per category over all images, then per
  category SQ = IoU sum / TP (0 without TP), RQ = TP / (TP + ½FP + ½FN), PQ = SQ × RQ (Kirillov et al.,
  "Panoptic Segmentation", CVPR 2019). Averages are over the categories with TP + FP + FN > 0; NaN when none.

Agreement (tested in ``tests/metrics/test_panoptic.py``): on an N×H×W×2 batch, :func:`panoptic_quality` gives the
pq, sq and rq (averaged and per class) of torchmetrics'
``PanopticQuality(things, stuffs, return_sq_and_rq=True, return_per_class=...)`` (which makes every unknown target
category void, and unknown predicted ones too with ``allow_unknown_preds_category=True``), except that torchmetrics
gives 0 where this gives NaN or leaves a category out. Careful: torchmetrics reads an H×W×2 tensor as a batch of H
images of W pixels each; give it ``x[None]`` for one image. COCO's crowd regions (``iscrowd``) are not modelled:
mark them void.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from numbers import Integral
from typing import Any, NamedTuple

import torch

from ..validation import check_fraction
from .inputs import float_dtype, label_tensor

__all__ = ["to_panoptic", "panoptic_quality", "segment_quality"]


# ----------------------------------------------------------------------------------------------- arguments
def _categories(values: Any, name: str) -> set[int]:
    """``values`` as a set of int category ids, or a ValueError naming ``name``."""
    if isinstance(values, torch.Tensor):
        values = values.reshape(-1).tolist()
    if isinstance(values, (str, bytes)) or not isinstance(values, Collection):
        raise ValueError(f"{name}={values!r} must be a collection of int category ids, e.g. {name}=[1, 2].")
    bad = [v for v in values if isinstance(v, bool) or not isinstance(v, Integral)]
    if bad:
        raise ValueError(f"{name} holds {bad[0]!r}, which is not an int category id; pass ints, e.g. {name}=[1, 2].")
    return {int(v) for v in values}


def _check_void(void: Any, known: set[int]) -> int | None:
    """``void`` as an int category id outside ``known``, or None."""
    if void is None:
        return None
    if isinstance(void, bool) or not isinstance(void, Integral):
        raise ValueError(f"void={void!r} must be the int category id of unlabelled pixels (e.g. void=255) or None.")
    if int(void) in known:
        raise ValueError(f"void={void} is also in things or stuffs; void must be a category id that is scored nowhere.")
    return int(void)


def _check_threshold(iou_threshold: Any) -> float:
    """``iou_threshold`` as a float in [0.5, 1]: below 0.5 a segment could match several others."""
    value = check_fraction("iou_threshold", iou_threshold)
    if value < 0.5:
        raise ValueError(
            f"iou_threshold={iou_threshold!r} must be at least 0.5: below it a segment can match several others "
            "and PQ's matching is no longer unique (the standard value is 0.5)."
        )
    return value


def _panoptic_tensor(x: Any, name: str) -> torch.Tensor:
    """``x`` as an int64 N×H×W×2 panoptic batch (an H×W×2 map becomes a batch of one)."""
    t = label_tensor(x, name)
    if t.ndim not in (3, 4) or t.shape[-1] != 2:
        raise ValueError(
            f"{name} has shape {tuple(t.shape)}; pass an H×W×2 panoptic map of (category id, instance id) per "
            f"pixel, or N×H×W×2 for a batch (to_panoptic(semantic, instances, things) builds one)."
        )
    t = t.long()
    return t[None] if t.ndim == 3 else t


def _id_maps(first: Any, second: Any, names: tuple[str, str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Validated int64 maps of one shape (H×W or N×H×W) and device; ``names`` are the arguments' names."""
    a, b = label_tensor(first, names[0]), label_tensor(second, names[1])
    if a.ndim not in (2, 3):
        raise ValueError(f"{names[0]} has shape {tuple(a.shape)}; pass an H×W map or an N×H×W batch.")
    if a.shape != b.shape:
        raise ValueError(
            f"{names[0]} has shape {tuple(a.shape)} but {names[1]} has {tuple(b.shape)}; they must match pixel for pixel."
        )
    if a.device != b.device:
        raise ValueError(f"{names[0]} is on {a.device} but {names[1]} is on {b.device}; move both to one device.")
    return a.long(), b.long()


# ----------------------------------------------------------------------------------------------- building maps
def to_panoptic(semantic: Any, instances: Any, things: Collection[int]) -> torch.Tensor:
    """Panoptic map (…×2 int64: category, instance) from a label map and an id map; stuff pixels get instance 0.

    ``semantic`` and ``instances`` are H×W (or N×H×W) integer maps; the result is H×W×2 (or N×H×W×2). Thing pixels
    keep their instance id, including 0 (then they form one segment (category, 0), as in torchmetrics).
    """
    sem, ins = _id_maps(semantic, instances, ("semantic", "instances"))
    thing_ids = torch.tensor(sorted(_categories(things, "things")), dtype=torch.int64, device=sem.device)
    is_thing = torch.isin(sem, thing_ids)
    return torch.stack([sem, torch.where(is_thing, ins, torch.zeros_like(ins))], dim=-1)


class _Layout(NamedTuple):
    """The scored categories: ids in torchmetrics' order (sorted things, then sorted stuffs) and how many are things.

    Pixels carry the *position* of their category in ``ids``; position ``len(ids)`` is void.
    """

    ids: torch.Tensor
    n_things: int


class _Pixels(NamedTuple):
    """The pixels of a batch, N×P each: category position (see :class:`_Layout`) and instance id."""

    category: torch.Tensor
    instance: torch.Tensor


def _categorise(x: torch.Tensor, name: str, layout: _Layout, void: int | None, unknown_is_void: bool) -> _Pixels:
    """Category positions and instance ids (0 for stuff and void) of the pixels of an N×H×W×2 batch, as N×P."""
    x = x.flatten(1, 2)
    cat, n = x[..., 0].contiguous(), len(layout.ids)
    ids = layout.ids.to(x.device)
    order = torch.argsort(ids)
    at = torch.searchsorted(ids[order], cat).clamp_max(n - 1)
    known = ids[order][at] == cat
    is_void = ~known if unknown_is_void else (cat == void if void is not None else torch.zeros_like(known))
    bad = ~(known | is_void)
    if bool(bad.any()):
        value, count = int(cat[bad][0]), int((cat == cat[bad][0]).sum())
        fix = f"add it to things or stuffs, or pass void={value} if it marks unlabelled pixels"
        if name == "pred":
            fix += " (or allow_unknown_pred=True to treat every unknown predicted category as void)"
        raise ValueError(f"{name} holds category {value} at {count} pixel(s), in neither things nor stuffs: {fix}.")
    position = torch.where(known, order[at], torch.full_like(cat, n))
    inst = torch.where(position < layout.n_things, x[..., 1], torch.zeros_like(cat))
    return _Pixels(position, inst)


# ----------------------------------------------------------------------------------------------- counting
class _Counts(NamedTuple):
    """Per category (in layout order): true positives, false positives, false negatives and the IoU sum of TPs."""

    tp: torch.Tensor
    fp: torch.Tensor
    fn: torch.Tensor
    iou_sum: torch.Tensor


def _scatter(index: torch.Tensor, values: torch.Tensor, n: int) -> torch.Tensor:
    """Sums of ``values`` into ``n`` bins by ``index``."""
    return torch.zeros(n, dtype=values.dtype, device=values.device).index_add_(0, index, values)


def _segments(pixels: _Pixels, n_categories: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(category position of each segment, segment index of each pixel); a segment is an (image, category, instance).

    Segments never cross images, so a whole batch is counted at once.
    """
    _, inst = torch.unique(pixels.instance, return_inverse=True)  # 0..k-1: the keys below cannot overflow
    k = int(inst.max()) + 1 if inst.numel() else 1
    image = torch.arange(inst.shape[0], device=inst.device).view(-1, 1)
    code = (image * (n_categories + 1) + pixels.category) * k + inst
    keys, index = torch.unique(code.reshape(-1), return_inverse=True)
    return (keys // k) % (n_categories + 1), index


class _Pairs(NamedTuple):
    """Segments and overlaps: category positions and pixel areas of the segments, and every overlapping pair."""

    p_cat: torch.Tensor
    t_cat: torch.Tensor
    p_area: torch.Tensor
    t_area: torch.Tensor
    pp: torch.Tensor  # predicted segment of each overlapping pair
    tt: torch.Tensor  # true segment of each overlapping pair
    inter: torch.Tensor  # pixels of each overlapping pair


def _pairs(pred: _Pixels, target: _Pixels, n_categories: int) -> _Pairs:
    """The segments of a prediction and a target, and the pixels of every overlapping (pred, true) pair."""
    p_cat, p_idx = _segments(pred, n_categories)
    t_cat, t_idx = _segments(target, n_categories)
    n_p, n_t = len(p_cat), len(t_cat)
    pair, inter = torch.unique(p_idx * n_t + t_idx, return_counts=True)
    p_area, t_area = torch.bincount(p_idx, minlength=n_p), torch.bincount(t_idx, minlength=n_t)
    return _Pairs(p_cat, t_cat, p_area, t_area, pair // n_t, pair % n_t, inter)


def _counts(pred: _Pixels, target: _Pixels, layout: _Layout, thr: float) -> _Counts:
    """TP, FP, FN and IoU sum per category, summed over the images of a batch."""
    n = len(layout.ids)  # also the position of void
    s = _pairs(pred, target, n)
    pp, tt, inter = s.pp, s.tt, s.inter
    p_void, t_void = s.p_cat == n, s.t_cat == n
    p_on_void = _scatter(pp[t_void[tt]], inter[t_void[tt]], len(s.p_cat))  # pred pixels on unlabelled target
    t_under_void = _scatter(tt[p_void[pp]], inter[p_void[pp]], len(s.t_cat))  # true pixels predicted void
    union = s.p_area[pp] - p_on_void[pp] + s.t_area[tt] - t_under_void[tt] - inter
    dtype = float_dtype(inter.device)
    iou = inter.to(dtype) / union.to(dtype)
    match = (s.p_cat[pp] == s.t_cat[tt]) & ~t_void[tt] & (iou > thr)  # exact at 0.5: the division is rounded right
    p_matched = _scatter(pp[match], inter[match], len(s.p_cat)) > 0
    t_matched = _scatter(tt[match], inter[match], len(s.t_cat)) > 0
    fp = ~p_matched & ~p_void & (2 * p_on_void <= s.p_area)  # a prediction mostly on void is no false positive
    fn = ~t_matched & ~t_void & (2 * t_under_void <= s.t_area)  # a true segment mostly predicted void is no FN
    tp_cat = s.p_cat[pp[match]]
    return _Counts(
        torch.bincount(tp_cat, minlength=n),
        torch.bincount(s.p_cat[fp], minlength=n),
        torch.bincount(s.t_cat[fn], minlength=n),
        _scatter(tp_cat, iou[match], n),
    )


# ----------------------------------------------------------------------------------------------- scores
def _mean(values: torch.Tensor, keep: torch.Tensor) -> float:
    """The mean of ``values`` where ``keep``; NaN when nothing is kept."""
    return float(values[keep].mean()) if bool(keep.any()) else math.nan


def _result(c: _Counts, layout: _Layout) -> dict[str, Any]:
    """The score dict of :func:`panoptic_quality` from the summed counts."""
    tp, fp, fn, iou_sum = c.tp.cpu().double(), c.fp.cpu().double(), c.fn.cpu().double(), c.iou_sum.cpu().double()
    denom = tp + 0.5 * fp + 0.5 * fn
    sq = torch.where(tp > 0, iou_sum / tp.clamp_min(1), torch.zeros_like(tp))
    rq = torch.where(denom > 0, tp / denom.clamp_min(0.5), torch.zeros_like(tp))
    pq, present = sq * rq, denom > 0
    is_thing = torch.arange(len(layout.ids)) < layout.n_things
    out: dict[str, Any] = {}
    for suffix, keep in (("", present), ("_things", present & is_thing), ("_stuff", present & ~is_thing)):
        out.update({f"pq{suffix}": _mean(pq, keep), f"sq{suffix}": _mean(sq, keep), f"rq{suffix}": _mean(rq, keep)})
    out["per_class"] = {
        int(layout.ids[i]): {"pq": float(pq[i]), "sq": float(sq[i]), "rq": float(rq[i]),
                             "tp": int(tp[i]), "fp": int(fp[i]), "fn": int(fn[i])}
        for i in torch.nonzero(present).flatten().tolist()
    }
    out.update(tp=int(tp.sum()), fp=int(fp.sum()), fn=int(fn.sum()))
    return out


def _layout(things: Any, stuffs: Any) -> _Layout:
    """Validated categories: things and stuffs disjoint and not both empty."""
    thing_set, stuff_set = _categories(things, "things"), _categories(stuffs, "stuffs")
    if thing_set & stuff_set:
        raise ValueError(
            f"things and stuffs share the categories {sorted(thing_set & stuff_set)}; each category is either a thing "
            "(countable, one segment per instance) or stuff (one segment per image), not both."
        )
    if not thing_set | stuff_set:
        raise ValueError("things and stuffs are both empty; name the scored categories, e.g. things=[1], stuffs=[0].")
    ids = sorted(thing_set) + sorted(stuff_set)
    return _Layout(torch.tensor(ids, dtype=torch.int64), len(thing_set))


def panoptic_quality(
    pred: Any,
    target: Any,
    things: Collection[int],
    stuffs: Collection[int],
    void: int | None = None,
    iou_threshold: float = 0.5,
    allow_unknown_pred: bool = False,
) -> dict[str, Any]:
    """Panoptic quality PQ = SQ × RQ of panoptic maps (H×W×2 or N×H×W×2: category, instance), as in COCO.

    Returns a dict: ``pq``, ``sq``, ``rq`` (means over the categories with TP + FP + FN > 0), the same over things
    only (``pq_things``, ...) and stuff only (``pq_stuff``, ...), NaN where no category counts; ``per_class``
    {category: {pq, sq, rq, tp, fp, fn}} for those categories (things first); and the totals ``tp``, ``fp``, ``fn``.
    ``void``: category id of unlabelled pixels (see the module docstring). Counts add up over the images of a batch.
    """
    layout = _layout(things, stuffs)
    void = _check_void(void, set(layout.ids.tolist()))
    thr = _check_threshold(iou_threshold)
    if not isinstance(allow_unknown_pred, bool):
        raise ValueError(f"allow_unknown_pred={allow_unknown_pred!r} must be True or False.")
    p, t = _panoptic_tensor(pred, "pred"), _panoptic_tensor(target, "target")
    if p.shape != t.shape:
        raise ValueError(
            f"pred has shape {tuple(p.shape)} but target has shape {tuple(t.shape)} (as batches); they must match."
        )
    if p.device != t.device:
        raise ValueError(f"pred is on {p.device} but target is on {t.device}; move both to one device.")
    pixels = _categorise(p, "pred", layout, void, allow_unknown_pred), _categorise(t, "target", layout, void, False)
    return _result(_counts(*pixels, layout, thr), layout)


def segment_quality(pred_ids: Any, true_ids: Any, iou_threshold: float = 0.5) -> tuple[float, float, float]:
    """(PQ, SQ, RQ) of one thing class from instance-id maps (0 = background); NaN each when neither has an object.

    ``pred_ids`` and ``true_ids`` are H×W (or N×H×W) maps with 0 for background and 1..K for the objects. With no
    match SQ is 0 (as in :func:`panoptic_quality`). The background is not scored.
    """
    pred, true = _id_maps(pred_ids, true_ids, ("pred_ids", "true_ids"))
    thing = 1
    scores = panoptic_quality(
        to_panoptic((pred != 0).long(), pred, [thing]),
        to_panoptic((true != 0).long(), true, [thing]),
        things=[thing], stuffs=[0], iou_threshold=iou_threshold,
    )
    row = scores["per_class"].get(thing)
    if row is None:
        return math.nan, math.nan, math.nan
    return row["pq"], row["sq"], row["rq"]
