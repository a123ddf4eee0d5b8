"""Binary scores inside a mask (e.g. the field of view of a retina image): Dice, IoU, sensitivity, specificity,
precision and accuracy, the exact ROC AUC and the best threshold.

Conventions (also those of :mod:`course_lib.metrics.thin_structures`)
--------------------------------------------------------------------
* ``target``: 0 = background, 1 = foreground (e.g. vessel), ``IGNORE`` (255) = not scored; bool masks also work.
* Predictions: bool or 0/1 integers, or float probabilities/scores, foreground where ``> threshold`` (compared in the
  scores' own dtype, exactly as ``probs > threshold``).
* ``mask``: bool (or 0/1), True where pixels are scored (e.g. the field of view); the target's shape, or one H×W
  mask for an N×H×W batch. Pixels outside it or with target 255 do not count at all.
* Counts are pooled over every scored pixel of the batch (micro average), as DRIVE results are usually reported.
* A ratio whose denominator is 0 is **NaN** (scikit-learn's ``zero_division=np.nan``): e.g. sensitivity without any
  foreground pixel, or everything when the mask is empty. Unlike ``dice(average="binary")``, which gives 1.0 when both
  masks are empty: an empty field of view is a bug to notice, not a perfect score.
* Tested against scikit-learn: ``f1_score`` (Dice), ``jaccard_score`` (IoU), ``recall_score`` (sensitivity;
  with ``pos_label=0``: specificity), ``precision_score``, ``accuracy_score`` and ``roc_auc_score`` on the
  scored pixels.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from ..validation import check_choice
from .inputs import label_tensor, to_tensor

__all__ = [
    "IGNORE",
    "binary_scores",
    "roc_auc",
    "best_threshold",
    "binary_target",
    "binary_prediction",
    "scored_pixels",
    "nan_ratio",
]

IGNORE = 255
_BINARY_METRICS = ("dice", "iou", "accuracy")
_DEFAULT_THRESHOLDS = np.arange(1, 100) / 100  # 0.01, 0.02, ..., 0.99


# ------------------------------------------------------------------------------------------------ inputs
def binary_target(target: Any, name: str = "target") -> torch.Tensor:
    """Integer target with values 0, 1 and IGNORE only."""
    t = label_tensor(target, name)
    if t.numel() == 0:
        return t
    low, high = (int(v) for v in torch.aminmax(t))
    value = low if low < 0 else None
    if value is None and high > 1:  # only then look for values other than 0, 1 and IGNORE
        bad = (t > 1) & (t != IGNORE)
        value = int(t[bad][0]) if bool(bad.any()) else None
    if value is not None:
        raise ValueError(
            f"{name} holds the value {value}; a binary target has 0 (background), 1 (foreground) and "
            f"{IGNORE} (not scored) only. For a 0/255 mask image use (mask > 127).long()."
        )
    return t


def _check_threshold(threshold: Any) -> None:
    """Raise a ValueError unless ``threshold`` is a finite number."""
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not math.isfinite(threshold):
        raise ValueError(f"threshold={threshold!r} must be a finite number, e.g. 0.5 for probabilities.")


def binary_prediction(pred: Any, threshold: float, name: str, shape: torch.Size) -> torch.Tensor:
    """Bool prediction of ``shape``: floats are thresholded (``> threshold``), integers must be 0/1."""
    p = to_tensor(pred, name)
    if tuple(p.shape) != tuple(shape):
        raise ValueError(
            f"{name} has shape {tuple(p.shape)} but target has shape {tuple(shape)}; they must match "
            f"(for N×1×H×W model output use {name}[:, 0])."
        )
    if p.is_floating_point():
        _check_threshold(threshold)
        if p.numel() and not bool(torch.isfinite(p).all()):
            raise ValueError(f"{name} holds NaN or inf values; check the model output before scoring it.")
        return p > threshold
    if p.dtype == torch.bool:
        return p
    if p.is_complex() or (p.numel() and bool(((p != 0) & (p != 1)).any())):
        raise ValueError(f"{name} holds values other than 0 and 1; pass a binary mask or float probabilities.")
    return p != 0


def _bool_mask(mask: Any) -> torch.Tensor:
    """``mask`` as a bool tensor: bool, or 0/1 integers."""
    m = to_tensor(mask, "mask")
    if m.is_floating_point() or m.is_complex():
        raise ValueError(f"mask has dtype {m.dtype}; pass a bool mask (True = scored), e.g. fov > 0.")
    if m.dtype != torch.bool:
        if m.numel() and bool(((m != 0) & (m != 1)).any()):
            raise ValueError("mask holds values other than 0 and 1; pass a bool mask, e.g. fov > 0 for a 0/255 image.")
        m = m != 0
    return m


def scored_pixels(target: torch.Tensor, mask: Any) -> torch.Tensor:
    """Bool tensor of target's shape: True where a pixel is scored (inside ``mask`` and not IGNORE)."""
    keep = target != IGNORE
    if mask is None:
        return keep
    m = _bool_mask(mask)
    if tuple(m.shape) != tuple(target.shape) and tuple(m.shape) != tuple(target.shape[-2:]):
        raise ValueError(
            f"mask has shape {tuple(m.shape)} but target has shape {tuple(target.shape)}; pass a mask of the "
            f"target's shape or one H×W mask for every image."
        )
    if m.device != target.device:
        raise ValueError(f"mask is on {m.device} but target is on {target.device}; move both to one device.")
    return keep & m


def nan_ratio(num: int, den: int) -> float:
    """``num / den``, or NaN when ``den`` is 0."""
    return num / den if den else math.nan


# ------------------------------------------------------------------------------------------ thresholded scores
def _binary_counts(pred: Any, target: Any, mask: Any, threshold: float) -> tuple[int, int, int, int]:
    """(TP, FN, FP, TN) pixel counts of a binary prediction inside ``mask``."""
    t = binary_target(target)
    p = binary_prediction(pred, threshold, "pred", t.shape)
    if p.device != t.device:
        raise ValueError(f"pred is on {p.device} but target is on {t.device}; move both to one device.")
    keep = scored_pixels(t, mask)
    pos = (t == 1) & keep
    neg = (t == 0) & keep
    tp, n_pos, fp, n_neg = (int(v) for v in torch.stack([(p & pos).sum(), pos.sum(), (p & neg).sum(), neg.sum()]))
    return tp, n_pos - tp, fp, n_neg - fp


def binary_scores(pred: Any, target: Any, mask: Any = None, threshold: float = 0.5) -> dict[str, float]:
    """Dice (= F1), IoU, sensitivity, specificity, precision and accuracy of a binary prediction inside ``mask``.

    ``pred``: a bool/0-1 mask or float probabilities (foreground where ``> threshold``); ``target``: 0/1 with
    255 = not scored; ``mask``: bool, True where pixels count (e.g. the field of view). Counts are pooled over
    the batch; a score with a zero denominator is NaN. Sensitivity = recall = TP/(TP+FN), specificity =
    TN/(TN+FP), precision = TP/(TP+FP), accuracy = (TP+TN)/all scored pixels.
    """
    tp, fn, fp, tn = _binary_counts(pred, target, mask, threshold)
    return {
        "dice": nan_ratio(2 * tp, 2 * tp + fp + fn),
        "iou": nan_ratio(tp, tp + fp + fn),
        "sensitivity": nan_ratio(tp, tp + fn),
        "specificity": nan_ratio(tn, tn + fp),
        "precision": nan_ratio(tp, tp + fp),
        "accuracy": nan_ratio(tp + tn, tp + fn + fp + tn),
    }


# ------------------------------------------------------------------------------------------ scores of all cuts
def _score_values(scores: Any, target: torch.Tensor, name: str) -> np.ndarray:
    """Real scores of ``target``'s shape and device as a numpy array (half precision and integers as float32)."""
    s = to_tensor(scores, name)
    if tuple(s.shape) != tuple(target.shape):
        raise ValueError(
            f"{name} has shape {tuple(s.shape)} but target has shape {tuple(target.shape)}; they must match "
            f"(for N×1×H×W model output use {name}[:, 0])."
        )
    if s.device != target.device:
        raise ValueError(f"{name} is on {s.device} but target is on {target.device}; move both to one device.")
    if s.is_complex():
        raise ValueError(f"{name} has dtype {s.dtype}; pass real-valued scores (probabilities or logits).")
    s = s.detach()
    if s.dtype in (torch.float16, torch.bfloat16) or not s.is_floating_point():
        s = s.float()
    return s.cpu().numpy()


def _sorted_scores(scores: Any, target: Any, mask: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Sorted scores of the scored foreground pixels and of the scored background pixels (numpy, on the CPU)."""
    t = binary_target(target)
    values = _score_values(scores, t, name)
    keep = scored_pixels(t, mask).cpu().numpy()
    fg = (t == 1).cpu().numpy()
    pos, neg = values[keep & fg], values[keep & ~fg]  # ~fg inside keep is exactly target == 0
    pos.sort()
    neg.sort()
    for part in (pos, neg):  # NaN sorts last, -inf first: the two ends tell whether all are finite
        if part.size and not (np.isfinite(part[0]) and np.isfinite(part[-1])):
            raise ValueError(f"{name} holds NaN or inf values inside the mask; check the model output before scoring it.")
    return pos, neg


def roc_auc(scores: Any, target: Any, mask: Any = None) -> float:
    """Exact area under the ROC curve of ``scores`` (probabilities or logits) inside ``mask``; NaN if one class is absent.

    The Mann-Whitney rank statistic: the chance that a random foreground pixel scores higher than a random
    background pixel, ties counting one half. Equals ``sklearn.metrics.roc_auc_score`` (which raises where this
    returns NaN). Sorts each class once and counts in integers, so it is exact and fast on millions of pixels.
    """
    pos, neg = _sorted_scores(scores, target, mask, "scores")
    if pos.size == 0 or neg.size == 0:
        return math.nan
    below = np.searchsorted(neg, pos, side="left")  # background pixels scored lower than each foreground pixel
    not_above = np.searchsorted(neg, pos, side="right")  # ... lower or equal (a tie counts one half)
    twice_wins = int(below.sum(dtype=np.int64)) + int(not_above.sum(dtype=np.int64))
    return twice_wins / (2.0 * pos.size * neg.size)


def _candidates(thresholds: Any, pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """Sorted unique float64 candidate thresholds: ``thresholds``, or 0.01..0.99 for probabilities in [0, 1]."""
    if thresholds is None:
        low = min(pos[:1].tolist() + neg[:1].tolist(), default=0.0)
        high = max(pos[-1:].tolist() + neg[-1:].tolist(), default=1.0)
        if low < 0 or high > 1:
            raise ValueError(
                f"probs lie in [{low:.3g}, {high:.3g}], not [0, 1]: pass probabilities (torch.sigmoid(logits)) "
                f"or your own thresholds=..."
            )
        return _DEFAULT_THRESHOLDS
    candidates = np.unique(np.asarray(to_tensor(thresholds, "thresholds").cpu().numpy(), dtype=np.float64))
    if candidates.ndim != 1 or candidates.size == 0 or not np.isfinite(candidates).all():
        raise ValueError("thresholds must be a non-empty 1-D list of finite numbers, e.g. np.linspace(0.05, 0.95, 19).")
    return candidates


def _scores_at(candidates: np.ndarray, pos: np.ndarray, neg: np.ndarray, metric: str) -> np.ndarray:
    """``metric`` of ``probs > t`` for every candidate t, from the sorted scores of each class."""
    cut = candidates.astype(pos.dtype)  # compare in the scores' own dtype, exactly as `probs > threshold` does
    tp = (pos.size - np.searchsorted(pos, cut, side="right")).astype(np.float64)
    fp = (neg.size - np.searchsorted(neg, cut, side="right")).astype(np.float64)
    fn = pos.size - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        if metric == "dice":
            return 2 * tp / (2 * tp + fp + fn)
        if metric == "iou":
            return tp / (tp + fp + fn)
        return (tp + neg.size - fp) / (pos.size + neg.size)


def best_threshold(
    probs: Any, target: Any, mask: Any = None, thresholds: Any = None, metric: str = "dice"
) -> tuple[float, float]:
    """The threshold (foreground where ``probs > threshold``) with the best ``metric`` inside ``mask``, and that score.

    ``thresholds``: the candidates (default 0.01, 0.02, …, 0.99, which needs probabilities in [0, 1]);
    ``metric``: ``"dice"`` (= F1), ``"iou"`` or ``"accuracy"``. Every candidate is scored at once from the
    sorted scores of each class (one binary search per candidate); ties go to the smallest threshold.
    Agrees with :func:`binary_scores` at the returned threshold.
    """
    check_choice("metric", metric, _BINARY_METRICS)
    pos, neg = _sorted_scores(probs, target, mask, "probs")
    candidates = _candidates(thresholds, pos, neg)
    if pos.size == 0:
        raise ValueError(
            "target has no foreground pixel inside the mask, so no threshold can be chosen; check the target "
            "(1 = foreground) and the mask."
        )
    values = _scores_at(candidates, pos, neg, metric)
    best = int(np.nanargmax(values))
    return float(candidates[best]), float(values[best])
