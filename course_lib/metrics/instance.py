"""Instance-segmentation scores: mask IoU, greedy COCO-style matching and mask average precision (AP).

Instance masks are N×H×W (or N×1×H×W, as Mask R-CNN gives) bool or 0/1 tensors; float masks are probabilities,
foreground where ``> 0.5``. An H×W instance-id map becomes masks with :func:`masks_from_instance_ids`.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Mapping, NamedTuple, Sequence

import numpy as np
import torch

from ..validation import check_fraction, check_int
from .inputs import float_dtype, label_tensor, to_tensor

__all__ = [
    "mask_iou_matrix",
    "MatchResult",
    "match_instances",
    "masks_from_instance_ids",
    "mask_ap_per_class",
    "mask_average_precision",
]

_RECALL_POINTS = np.linspace(0.0, 1.0, 101)  # COCO's 101-point interpolation


# ----------------------------------------------------------------------------------------------- masks and IoU
def _instance_masks(x: Any, name: str) -> torch.Tensor:
    """Bool N×H×W masks; N×1×H×W is squeezed, float masks are probabilities thresholded at > 0.5."""
    t = to_tensor(x, name)
    if t.ndim == 4 and t.shape[1] == 1:
        t = t[:, 0]
    if t.ndim != 3:
        raise ValueError(
            f"{name} has shape {tuple(t.shape)}; pass instance masks N×H×W (or N×1×H×W, as Mask R-CNN gives)."
        )
    if t.dtype == torch.bool:
        return t
    if t.is_floating_point():
        return t > 0.5
    if t.numel() and bool(((t != 0) & (t != 1)).any()):
        raise ValueError(
            f"{name} holds values other than 0/1; for an instance-id map (0 = background, 1..K = objects) "
            f"use masks_from_instance_ids(ids) first."
        )
    return t != 0


def masks_from_instance_ids(ids: Any, background: int = 0) -> torch.Tensor:
    """K×H×W bool masks, one per instance id in an H×W id map (sorted ids, ``background`` left out)."""
    t = label_tensor(ids, "ids")
    if t.ndim != 2:
        raise ValueError(f"ids has shape {tuple(t.shape)}; pass one H×W instance-id map.")
    values = torch.unique(t)
    values = values[values != background]
    return t.unsqueeze(0) == values.view(-1, 1, 1)


def mask_iou_matrix(a: Any, b: Any) -> torch.Tensor:
    """IoU of every mask in ``a`` (N×H×W) with every mask in ``b`` (M×H×W): an N×M matrix (empty vs empty -> 0)."""
    a, b = _instance_masks(a, "a"), _instance_masks(b, "b")
    if a.shape[1:] != b.shape[1:]:
        raise ValueError(f"a has masks of size {tuple(a.shape[1:])} but b has {tuple(b.shape[1:])}; they must match.")
    if a.device != b.device:
        raise ValueError(f"a is on {a.device} but b is on {b.device}; move both to one device.")
    dtype = float_dtype(a.device)
    # float32 sums are exact up to 2**24 pixels per mask
    mm_dtype = torch.float32 if a.shape[1] * a.shape[2] < 2**24 else dtype
    fa, fb = a.flatten(1).to(mm_dtype), b.flatten(1).to(mm_dtype)
    inter = (fa @ fb.T).to(dtype)
    union = fa.sum(1).to(dtype)[:, None] + fb.sum(1).to(dtype)[None, :] - inter
    return torch.where(union > 0, inter / union.clamp_min(1), torch.zeros_like(inter))


# ---------------------------------------------------------------------------------------------------- matching
class MatchResult(NamedTuple):
    """Greedy matching result: (pred, true) index pairs, unmatched indices and the IoU matrix."""

    matches: torch.Tensor
    unmatched_pred: torch.Tensor
    unmatched_true: torch.Tensor
    iou_matrix: torch.Tensor

    @property
    def matched_iou(self) -> torch.Tensor:
        """IoU of each matched pair, in the order of ``matches``."""
        return self.iou_matrix[self.matches[:, 0], self.matches[:, 1]]


def _greedy_match(ious: np.ndarray, order: np.ndarray, iou_threshold: float) -> list[tuple[int, int]]:
    """COCO's greedy rule: each prediction in turn takes the free ground truth with the highest IoU >= threshold."""
    taken = np.zeros(ious.shape[1], dtype=bool)
    pairs = []
    thr = min(iou_threshold, 1 - 1e-10)
    for d in order:
        best, m = thr, -1
        for g in range(ious.shape[1]):
            if taken[g] or ious[d, g] < best:
                continue
            best, m = ious[d, g], g  # ties go to the later ground truth, as in pycocotools
        if m >= 0:
            taken[m] = True
            pairs.append((int(d), m))
    return pairs


def _score_order(scores: Any, n: int, name: str) -> np.ndarray:
    """Indices of the ``n`` predictions by decreasing score (stable); their given order without scores."""
    if scores is None:
        return np.arange(n)
    s = to_tensor(scores, name).detach().reshape(-1).double().cpu().numpy()
    if s.shape[0] != n:
        raise ValueError(f"{name} has {s.shape[0]} values but there are {n} predicted masks; give one score per mask.")
    return np.argsort(-s, kind="mergesort")


def _unmatched(n: int, used: set[int], device: torch.device) -> torch.Tensor:
    """int64 tensor of the indices in range(n) that are not in ``used``."""
    return torch.tensor([i for i in range(n) if i not in used], dtype=torch.int64, device=device)


def match_instances(pred_masks: Any, true_masks: Any, iou_threshold: float = 0.5, scores: Any = None) -> MatchResult:
    """Greedily match predicted to true instance masks by mask IoU (highest score first, as COCO does).

    Returns ``MatchResult(matches, unmatched_pred, unmatched_true, iou_matrix)``: ``matches`` is K×2 (pred, true)
    indices with IoU >= ``iou_threshold``. Without ``scores`` the predictions are taken in their given order.
    """
    iou_threshold = check_fraction("iou_threshold", iou_threshold)
    ious = mask_iou_matrix(pred_masks, true_masks)
    n, m = ious.shape
    pairs = _greedy_match(ious.cpu().numpy(), _score_order(scores, n, "scores"), iou_threshold)
    dev = ious.device
    matches = torch.tensor(pairs, dtype=torch.int64, device=dev).reshape(-1, 2)
    unmatched_pred = _unmatched(n, {p for p, _ in pairs}, dev)
    unmatched_true = _unmatched(m, {t for _, t in pairs}, dev)
    return MatchResult(matches, unmatched_pred, unmatched_true, ious)


# -------------------------------------------------------------------------------------------- average precision
class _Image(NamedTuple):
    """One image's validated instances: masks, scores and labels of the predictions and of the ground truth."""

    pred_masks: torch.Tensor
    scores: np.ndarray
    pred_labels: np.ndarray
    true_masks: torch.Tensor
    true_labels: np.ndarray


class _Tally(NamedTuple):
    """Per class: scores and true-positive flags of the kept predictions, and the number of true instances."""

    scores: dict[int, list[np.ndarray]]
    hits: dict[int, list[np.ndarray]]
    n_true: dict[int, int]


def _get(d: Mapping[str, Any], key: str, where: str) -> Any:
    """``d[key]``, or a ValueError naming ``where`` and the keys it needs."""
    if not isinstance(d, Mapping) or key not in d:
        raise ValueError(
            f"{where} must be a dict with a {key!r} entry (keys: masks, labels{', scores' if 'pred' in where else ''})."
        )
    return d[key]


def _labels_of(d: Mapping[str, Any], n: int, where: str) -> np.ndarray:
    """int64 labels of the ``n`` masks of ``d`` (all 0 when it has no labels)."""
    if "labels" not in d or d["labels"] is None:
        return np.zeros(n, dtype=np.int64)  # class-agnostic: every mask is class 0
    lab = to_tensor(d["labels"], f"{where}['labels']").reshape(-1).cpu().numpy()
    if lab.shape[0] != n:
        raise ValueError(f"{where}['labels'] has {lab.shape[0]} values for {n} masks; give one label per mask.")
    return lab.astype(np.int64)


def _read_image(pr: Mapping[str, Any], tg: Mapping[str, Any], i: int) -> _Image:
    """Validate image ``i``'s prediction and target dicts."""
    pm = _instance_masks(_get(pr, "masks", f"preds[{i}]"), f"preds[{i}]['masks']")
    tm = _instance_masks(_get(tg, "masks", f"targets[{i}]"), f"targets[{i}]['masks']")
    if pm.shape[0] and tm.shape[0] and pm.shape[1:] != tm.shape[1:]:
        raise ValueError(
            f"preds[{i}] masks are {tuple(pm.shape[1:])} but targets[{i}] masks are {tuple(tm.shape[1:])}."
        )
    scores = to_tensor(_get(pr, "scores", f"preds[{i}]"), f"preds[{i}]['scores']")
    ps = scores.detach().reshape(-1).double().cpu().numpy()
    if ps.shape[0] != pm.shape[0]:
        raise ValueError(
            f"preds[{i}]['scores'] has {ps.shape[0]} values for {pm.shape[0]} masks; give one score per mask."
        )
    pl, tl = _labels_of(pr, pm.shape[0], f"preds[{i}]"), _labels_of(tg, tm.shape[0], f"targets[{i}]")
    return _Image(pm, ps, pl, tm, tl)


def _hits(image: _Image, order: np.ndarray, t_idx: np.ndarray, iou_threshold: float) -> np.ndarray:
    """True-positive flag of each prediction in ``order`` matched greedily to the true masks ``t_idx``."""
    tp = np.zeros(len(order), dtype=bool)
    if len(t_idx):
        pm, tm = image.pred_masks, image.true_masks
        kept_pred = pm[torch.as_tensor(order, device=pm.device)]
        ious = mask_iou_matrix(kept_pred, tm[torch.as_tensor(t_idx, device=tm.device)])
        for d, _ in _greedy_match(ious.cpu().numpy(), np.arange(len(order)), iou_threshold):
            tp[d] = True
    return tp


def _add_image(tally: _Tally, image: _Image, iou_threshold: float, max_detections: int) -> None:
    """Add one image's per-class detections (best ``max_detections`` by score) and true counts to ``tally``."""
    ps, pl, tl = image.scores, image.pred_labels, image.true_labels
    for c in np.union1d(pl, tl).tolist():
        p_idx, t_idx = np.flatnonzero(pl == c), np.flatnonzero(tl == c)
        order = p_idx[np.argsort(-ps[p_idx], kind="mergesort")][:max_detections]
        tally.n_true[c] = tally.n_true.get(c, 0) + len(t_idx)
        if len(order) == 0:
            continue
        tally.scores.setdefault(c, []).append(ps[order])
        tally.hits.setdefault(c, []).append(_hits(image, order, t_idx, iou_threshold))


def _warn_if_classes_disjoint(tally: _Tally) -> None:
    """Warn when predictions and targets share no class, so that AP is 0 whatever the masks."""
    true_classes = {c for c, n in tally.n_true.items() if n}
    if tally.scores and true_classes and not (set(tally.scores) & true_classes):
        warnings.warn(
            f"mask AP: the predictions have classes {sorted(tally.scores)} but the targets have {sorted(true_classes)}, "
            "so nothing can match and AP is 0. Give both the same 'labels' (e.g. torch.ones(K, dtype=torch.int64) "
            "for one foreground class); a dict without 'labels' counts as class 0.",
            UserWarning,
            stacklevel=4,  # the caller of mask_average_precision (or of mask_ap_per_class called directly)
        )


def _average_precision(scores: list[np.ndarray], hits: list[np.ndarray], n_true: int) -> float:
    """COCO AP of one class: the 101-point mean of the precision envelope over recall."""
    s = np.concatenate(scores)
    tp = np.concatenate(hits)[np.argsort(-s, kind="mergesort")]
    tps, fps = np.cumsum(tp, dtype=np.float64), np.cumsum(~tp, dtype=np.float64)
    recall = tps / n_true
    precision = tps / (tps + fps + np.spacing(1))
    precision = np.maximum.accumulate(precision[::-1])[::-1]  # precision envelope
    idx = np.searchsorted(recall, _RECALL_POINTS, side="left")
    q = np.where(idx < len(precision), precision[np.minimum(idx, len(precision) - 1)], 0.0)
    return float(q.mean())


def mask_ap_per_class(
    preds: Sequence[Mapping[str, Any]],
    targets: Sequence[Mapping[str, Any]],
    iou_threshold: float = 0.5,
    max_detections: int = 100,
) -> dict[int, float]:
    """COCO-style mask AP at one IoU threshold for each class that has ground truth (101-point interpolation).

    ``preds``: one dict per image with ``masks`` (N×H×W bool, or probabilities thresholded at 0.5), ``scores`` (N)
    and ``labels`` (N); ``targets``: dicts with ``masks`` and ``labels``. Without ``labels`` everything is one class 0.
    Classes that are only predicted have no AP (COCO leaves them out too).
    """
    iou_threshold = check_fraction("iou_threshold", iou_threshold)
    max_detections = check_int("max_detections", max_detections)
    if len(preds) != len(targets):
        raise ValueError(
            f"preds has {len(preds)} images but targets has {len(targets)}; give one dict per image in both."
        )
    tally = _Tally({}, {}, {})
    for i, (pr, tg) in enumerate(zip(preds, targets)):
        _add_image(tally, _read_image(pr, tg, i), iou_threshold, max_detections)
    _warn_if_classes_disjoint(tally)
    result: dict[int, float] = {}
    for c in sorted(tally.n_true):
        if tally.n_true[c] == 0:
            continue
        if c not in tally.scores:
            result[c] = 0.0
            continue
        result[c] = _average_precision(tally.scores[c], tally.hits[c], tally.n_true[c])
    return result


def mask_average_precision(
    preds: Sequence[Mapping[str, Any]],
    targets: Sequence[Mapping[str, Any]],
    iou_threshold: float = 0.5,
    max_detections: int = 100,
) -> float:
    """COCO-style mask AP at one IoU threshold (e.g. AP50), averaged over classes with ground truth; NaN if none.

    Same inputs as :func:`mask_ap_per_class`; agrees with torchmetrics ``MeanAveragePrecision(iou_type="segm")``
    ``map_50`` (which returns -1 where this returns NaN).
    """
    per_class = mask_ap_per_class(preds, targets, iou_threshold, max_detections)
    return float(np.mean(list(per_class.values()))) if per_class else math.nan
