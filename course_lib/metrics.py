"""Segmentation metrics: confusion matrix, IoU, Dice, pixel accuracy, mean class accuracy, boundary scores, instance
mask AP, and binary scores inside a field of view (sensitivity, specificity, ROC AUC, best threshold, clDice, recall by
vessel width).

Introduced in lesson 03 (semantic metrics), used again in lesson 06 (instance matching and mask AP).

Conventions (the same in every function here)
---------------------------------------------
* ``pred`` and ``target`` are integer class-label tensors (or numpy arrays) of the same shape, e.g. H×W or
  N×H×W. Turn logits into labels first: ``logits.argmax(dim=1)``. Float labels raise ``ValueError``.
* ``ignore_index`` marks *target* pixels that are skipped entirely (their prediction does not matter). If it is
  also a valid class id (``0 <= ignore_index < num_classes``) that class is not scored either: it is NaN per
  class and left out of every average (torchmetrics' ``JaccardIndex`` does the same).
* Per class, with TP/FP/FN counted over all pixels given:
  IoU = TP / (TP + FP + FN), Dice = 2·TP / (2·TP + FP + FN) (= F1), accuracy = TP / (TP + FN) (= recall).
* ``average=None``: one value per class; **NaN** where the value is undefined (0/0): for IoU and Dice a class
  absent from both pred and target; for accuracy a class absent from target.
* ``average="macro"``: the mean of the per-class values that are not NaN, i.e. over classes present in pred or
  target (accuracy: present in target). So a class that nobody drew and nobody predicted neither helps nor hurts.
  The default of ``iou`` and ``dice``.
* ``average="micro"``: counts summed over the scored classes first: ΣTP / Σ(TP+FP+FN) for IoU,
  2ΣTP / Σ(2TP+FP+FN) for Dice and ΣTP / Σ(TP+FN) for accuracy (= ordinary pixel accuracy). On multi-class
  labels micro Dice equals pixel accuracy, exactly as in scikit-learn (micro F1 == accuracy).
* Accuracy is the exception: ``pixel_accuracy`` and ``accuracy_from_confusion`` default to ``"micro"`` (correct
  pixels / counted pixels, the figure papers call pixel accuracy); the macro figure, mean class accuracy, is
  :func:`mean_class_accuracy` (or ``average="macro"``).
* ``average="binary"`` (IoU and Dice, ``num_classes=2``): the foreground (class 1) score only. When neither
  pred nor target has any foreground the answer is **1.0** (nothing to find, nothing wrongly found).
  With ``"macro"`` the same both-empty case is also 1.0: background is the only class present and is perfect.
* A value that cannot be computed at all (no pixel left after ``ignore_index``) is NaN.

Equivalences with the references (tested in ``tests/test_metrics.py``)
--------------------------------------------------------------------
* scikit-learn on flattened labels (ignored pixels removed), ``labels=`` = the scored classes:
  ``jaccard_score``/``f1_score``/``recall_score`` with ``average=None|"macro"|"micro"`` and
  ``zero_division=np.nan`` match ours for ``None|"macro"|"micro"``; ``accuracy_score`` matches
  ``pixel_accuracy`` (micro); ``balanced_accuracy_score`` matches ``mean_class_accuracy``;
  ``average="binary"`` matches ``average="binary", zero_division=1.0``; ``confusion_matrix(labels=range(C))``
  matches :func:`confusion_matrix`.
* torchmetrics: ``multiclass_jaccard_index`` (``"macro"``, ``"micro"``, ``ignore_index``) matches ours exactly;
  with ``average="none"`` it gives 0 instead of NaN for absent classes (``zero_division=0``).
  ``multiclass_f1_score`` matches Dice for ``"macro"``/``"micro"`` except when ``ignore_index`` is a class id that
  the model still predicts: torchmetrics F1 then scores that class as 0 (its Jaccard does not).
  ``multiclass_accuracy(average="micro")`` matches pixel accuracy; its ``"macro"`` (mean class accuracy) counts a
  class that is only predicted (never in target) as recall 0, where ours (and scikit-learn) leave it out.

Binary scores inside a mask (``binary_scores``, ``roc_auc``, ``best_threshold``, ``cldice``, ``recall_by_width``)
-----------------------------------------------------------------------------------------------------------------
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
import warnings
from typing import Any, Mapping, NamedTuple, Sequence

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "confusion_matrix",
    "iou",
    "dice",
    "pixel_accuracy",
    "mean_class_accuracy",
    "iou_from_confusion",
    "dice_from_confusion",
    "accuracy_from_confusion",
    "SegmentationMeter",
    "boundary_f1",
    "hausdorff95",
    "mask_iou_matrix",
    "MatchResult",
    "match_instances",
    "masks_from_instance_ids",
    "mask_ap_per_class",
    "mask_average_precision",
    "IGNORE",
    "binary_scores",
    "roc_auc",
    "best_threshold",
    "cldice",
    "vessel_width_map",
    "WidthRecall",
    "recall_by_width",
]

_AVERAGES = ("macro", "micro", "binary", None)
_NUMPY_TORCH_INT = (np.bool_, np.uint8, np.int8, np.int16, np.int32, np.int64)


# ----------------------------------------------------------------------------------------------- input checks
def _to_tensor(x: Any, name: str) -> torch.Tensor:
    """Return ``x`` as a tensor (numpy arrays and nested lists are converted)."""
    if isinstance(x, torch.Tensor):
        return x
    if isinstance(x, np.ndarray):
        if x.dtype.kind in "iub" and x.dtype.type not in _NUMPY_TORCH_INT:
            x = x.astype(np.int64)
        if x.dtype.kind not in "iubf":
            raise ValueError(f"{name} is a numpy array of dtype {x.dtype}; pass integer class labels.")
        return torch.from_numpy(np.ascontiguousarray(x))
    if isinstance(x, (list, tuple)):
        return torch.as_tensor(np.asarray(x))
    raise TypeError(f"{name} must be a torch.Tensor or numpy array, got {type(x).__name__}.")


def _check_num_classes(num_classes: Any) -> int:
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(
            f"num_classes={num_classes!r} must be a positive int (the number of classes, e.g. 2 for binary)."
        )
    return int(num_classes)


def _check_ignore_index(ignore_index: Any) -> int | None:
    if ignore_index is None:
        return None
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer)):
        raise ValueError(f"ignore_index={ignore_index!r} must be an int label value (e.g. 255) or None.")
    return int(ignore_index)


def _check_average(average: Any, allowed: Sequence[Any] = _AVERAGES) -> None:
    if average not in allowed:
        raise ValueError(f"average={average!r} is not supported; use one of {', '.join(map(repr, allowed))}.")


def _label_tensor(x: Any, name: str) -> torch.Tensor:
    t = _to_tensor(x, name)
    if t.dtype == torch.bool:
        return t.view(torch.uint8)
    if t.is_floating_point() or t.is_complex():
        raise ValueError(
            f"{name} has dtype {t.dtype} but must hold integer class labels; turn scores into labels first, "
            f"e.g. {name}=logits.argmax(dim=1) (multi-class) or (probs > 0.5).long() (binary)."
        )
    return t


def _range_problem(x: torch.Tensor, name: str, num_classes: int, keep: torch.Tensor | None) -> None:
    """Raise a ValueError describing the out-of-range labels of ``x`` (only called when some exist)."""
    x64 = x.reshape(-1).long()
    bad = (x64 < 0) | (x64 >= num_classes)
    if keep is not None:
        bad &= keep.reshape(-1)
    n_bad = int(bad.sum())
    if n_bad == 0:
        return
    value = int(x64[bad][0])
    if value < 0:
        fix = (
            f"labels must be class ids 0..{num_classes - 1}; if {value} marks pixels to skip pass ignore_index={value}"
        )
    else:
        fix = (
            f"labels must be class ids 0..{num_classes - 1}; raise num_classes above the largest label, "
            f"or pass ignore_index={value} if it marks pixels to skip (e.g. 255 = void)"
        )
    raise ValueError(f"{name} holds the value {value} at {n_bad} pixel(s): {fix}.")


def _check_labels(
    pred: Any, target: Any, num_classes: int, ignore_index: int | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate and return (pred, target) as integer tensors of the same shape and device."""
    pred = _label_tensor(pred, "pred")
    target = _label_tensor(target, "target")
    if pred.shape != target.shape:
        raise ValueError(
            f"pred has shape {tuple(pred.shape)} but target has shape {tuple(target.shape)}; they must match "
            f"(labels per pixel; for logits N×C×H×W use pred=logits.argmax(dim=1))."
        )
    if pred.device != target.device:
        raise ValueError(f"pred is on {pred.device} but target is on {target.device}; move both to one device.")
    if pred.numel() == 0:
        return pred, target
    lims = torch.stack([*torch.aminmax(pred), *torch.aminmax(target)]).tolist()
    p_ok = lims[0] >= 0 and lims[1] < num_classes
    t_ok = lims[2] >= 0 and lims[3] < num_classes
    if not t_ok:
        if ignore_index is None:
            _range_problem(target, "target", num_classes, None)
        else:
            _range_problem(target, "target", num_classes, target != ignore_index)
    if not p_ok:
        keep = None if ignore_index is None else target != ignore_index
        _range_problem(pred, "pred", num_classes, keep)
    return pred, target


def _confusion(pred: torch.Tensor, target: torch.Tensor, num_classes: int, ignore_index: int | None) -> torch.Tensor:
    """Confusion matrix of already-validated labels with one ``torch.bincount``."""
    n2 = num_classes * num_classes
    idx_dtype = torch.int64
    if pred.device.type == "cpu":  # narrow indices are 2-4x faster on CPU (less memory traffic)
        for dt in (torch.int16, torch.int32):
            info = torch.iinfo(dt)
            if n2 < info.max and (ignore_index is None or info.min <= ignore_index <= info.max):
                idx_dtype = dt
                break
    t = target.reshape(-1).to(idx_dtype)
    p = pred.reshape(-1).to(idx_dtype)
    idx = torch.add(p, t, alpha=num_classes)  # t * C + p in one pass
    if ignore_index is not None:
        idx = torch.where(t != ignore_index, idx, n2)  # ignored pixels go to one extra, dropped bin
        counts = torch.bincount(idx, minlength=n2 + 1)[:n2]
    else:
        counts = torch.bincount(idx, minlength=n2)
    return counts.reshape(num_classes, num_classes).to(torch.int64)


def confusion_matrix(pred: Any, target: Any, num_classes: int, ignore_index: int | None = None) -> torch.Tensor:
    """num_classes×num_classes int64 counts: row = true class, column = predicted class (one ``bincount``)."""
    num_classes = _check_num_classes(num_classes)
    ignore_index = _check_ignore_index(ignore_index)
    pred, target = _check_labels(pred, target, num_classes, ignore_index)
    return _confusion(pred, target, num_classes, ignore_index)


# ----------------------------------------------------------------------------------- scores from a confusion matrix
def _float_dtype(device: torch.device) -> torch.dtype:
    return torch.float32 if device.type == "mps" else torch.float64


def _check_confusion(cm: Any) -> torch.Tensor:
    cm = _to_tensor(cm, "cm")
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] < 1:
        raise ValueError(
            f"cm has shape {tuple(cm.shape)}; it must be a square C×C confusion matrix (rows = true class)."
        )
    if cm.numel() and bool((cm < 0).any()):
        raise ValueError("cm holds negative counts; pass a confusion matrix of pixel counts (see confusion_matrix()).")
    return cm


def _score(cm: Any, kind: str, average: str | None, ignore_index: int | None) -> torch.Tensor:
    """Per-class scores of one kind ('iou', 'dice', 'accuracy') from a confusion matrix, then reduce."""
    cm = _check_confusion(cm)
    ignore_index = _check_ignore_index(ignore_index)
    c = cm.shape[0]
    if average == "binary" and c != 2:
        raise ValueError(
            f"average='binary' needs num_classes=2 (background, foreground) but there are {c} classes; use 'macro'."
        )
    cm = cm.to(_float_dtype(cm.device))
    tp = cm.diagonal()
    fp = cm.sum(0) - tp
    fn = cm.sum(1) - tp
    if kind == "iou":
        num, den = tp, tp + fp + fn
    elif kind == "dice":
        num, den = 2 * tp, 2 * tp + fp + fn
    else:
        num, den = tp, tp + fn
    scored = torch.ones(c, dtype=torch.bool, device=cm.device)
    if ignore_index is not None and 0 <= ignore_index < c:
        scored[ignore_index] = False
    if average == "binary":
        if den[1] > 0:
            return num[1] / den[1]
        return torch.ones((), dtype=cm.dtype, device=cm.device)
    if average == "micro":
        d = den[scored].sum()
        return num[scored].sum() / d if d > 0 else torch.full((), math.nan, dtype=cm.dtype, device=cm.device)
    valid = scored & (den > 0)
    per_class = torch.where(valid, num / den.clamp_min(1), torch.full_like(num, math.nan))
    if average is None:
        return per_class
    if not bool(valid.any()):
        return torch.full((), math.nan, dtype=cm.dtype, device=cm.device)
    return per_class[valid].mean()


def iou_from_confusion(cm: Any, average: str | None = "macro", ignore_index: int | None = None) -> torch.Tensor:
    """IoU (Jaccard) from a confusion matrix (rows = true class); same ``average`` rules as :func:`iou`."""
    _check_average(average)
    return _score(cm, "iou", average, ignore_index)


def dice_from_confusion(cm: Any, average: str | None = "macro", ignore_index: int | None = None) -> torch.Tensor:
    """Dice (F1) from a confusion matrix (rows = true class); same ``average`` rules as :func:`dice`."""
    _check_average(average)
    return _score(cm, "dice", average, ignore_index)


def accuracy_from_confusion(cm: Any, average: str | None = "micro", ignore_index: int | None = None) -> torch.Tensor:
    """Pixel accuracy from a confusion matrix: "micro" (default) = overall, "macro" = mean class accuracy."""
    _check_average(average, ("macro", "micro", None))
    return _score(cm, "accuracy", average, ignore_index)


def iou(
    pred: Any, target: Any, num_classes: int, ignore_index: int | None = None, average: str | None = "macro"
) -> torch.Tensor:
    """Intersection over union of label maps; "macro" = mean IoU over classes present in pred or target."""
    _check_average(average)
    return _score(confusion_matrix(pred, target, num_classes, ignore_index), "iou", average, ignore_index)


def dice(
    pred: Any, target: Any, num_classes: int, ignore_index: int | None = None, average: str | None = "macro"
) -> torch.Tensor:
    """Dice coefficient (F1) of label maps; "macro" = mean Dice over classes present in pred or target."""
    _check_average(average)
    return _score(confusion_matrix(pred, target, num_classes, ignore_index), "dice", average, ignore_index)


def pixel_accuracy(
    pred: Any, target: Any, num_classes: int, ignore_index: int | None = None, average: str | None = "micro"
) -> torch.Tensor:
    """Pixel accuracy: correct / counted pixels (default "micro"); "macro" = mean class accuracy, None = per class.

    The default is the classic pixel accuracy of papers (and of the pixel-accuracy trap of lesson 03), unlike
    ``iou`` and ``dice``, whose default is "macro". For the mean of the per-class accuracies call
    :func:`mean_class_accuracy`.
    """
    _check_average(average, ("macro", "micro", None))
    return _score(confusion_matrix(pred, target, num_classes, ignore_index), "accuracy", average, ignore_index)


def mean_class_accuracy(pred: Any, target: Any, num_classes: int, ignore_index: int | None = None) -> torch.Tensor:
    """Mean class accuracy: the per-class accuracies (recall) averaged over classes present in target ("macro")."""
    return pixel_accuracy(pred, target, num_classes, ignore_index, average="macro")


# --------------------------------------------------------------------------------------------- running meter
class SegmentationMeter:
    """Accumulates a confusion matrix over batches; ``compute()`` gives mIoU, Dice, accuracies and per-class values."""

    def __init__(self, num_classes: int, ignore_index: int | None = None) -> None:
        self.num_classes = _check_num_classes(num_classes)
        self.ignore_index = _check_ignore_index(ignore_index)
        self.cm: torch.Tensor | None = None

    def reset(self) -> None:
        """Forget everything seen so far."""
        self.cm = None

    @torch.no_grad()
    def update(self, pred: Any, target: Any) -> None:
        """Add one batch: ``pred`` labels (or N×C×H×W logits, argmax-ed here) and ``target`` labels."""
        pred = _to_tensor(pred, "pred")
        target = _to_tensor(target, "target")
        if pred.is_floating_point() and pred.ndim == target.ndim + 1 and pred.shape[1] == self.num_classes:
            pred = pred.argmax(dim=1)
        cm = confusion_matrix(pred, target, self.num_classes, self.ignore_index)
        if self.cm is None:
            self.cm = cm
        else:
            self.cm += cm.to(self.cm.device)

    def compute(self) -> dict[str, Any]:
        """Scores over everything seen since the last reset (floats, plus per-class tensors and the matrix)."""
        if self.cm is None:
            raise ValueError(
                "SegmentationMeter.compute() was called before any update(pred, target); add a batch first."
            )
        cm, ig = self.cm, self.ignore_index
        return {
            "miou": float(_score(cm, "iou", "macro", ig)),
            "dice": float(_score(cm, "dice", "macro", ig)),
            "pixel_accuracy": float(_score(cm, "accuracy", "micro", ig)),
            "mean_accuracy": float(_score(cm, "accuracy", "macro", ig)),
            "per_class_iou": _score(cm, "iou", None, ig).cpu(),
            "per_class_dice": _score(cm, "dice", None, ig).cpu(),
            "per_class_accuracy": _score(cm, "accuracy", None, ig).cpu(),
            "confusion_matrix": cm.cpu().clone(),
        }

    def __repr__(self) -> str:
        seen = 0 if self.cm is None else int(self.cm.sum())
        return f"SegmentationMeter(num_classes={self.num_classes}, ignore_index={self.ignore_index}, pixels={seen})"


# --------------------------------------------------------------------------------------------- boundary metrics
def _binary_masks(x: Any, name: str) -> torch.Tensor:
    """Bool N×H×W masks from bool or 0/1 integer H×W / N×H×W input."""
    t = _to_tensor(x, name)
    if t.is_floating_point() or t.is_complex():
        raise ValueError(f"{name} has dtype {t.dtype}; pass a bool or 0/1 integer mask (e.g. probs > 0.5).")
    if t.ndim not in (2, 3):
        raise ValueError(f"{name} has shape {tuple(t.shape)}; pass one H×W mask or a batch N×H×W.")
    if t.dtype != torch.bool:
        if t.numel() and bool(((t != 0) & (t != 1)).any()):
            raise ValueError(f"{name} holds values other than 0 and 1; for label maps pass num_classes=... instead.")
        t = t != 0
    return t if t.ndim == 3 else t.unsqueeze(0)


def _boundary(mask: torch.Tensor) -> torch.Tensor:
    """Foreground pixels with a background 8-neighbour inside the image (the image frame is not a boundary)."""
    m = mask.unsqueeze(1).float()
    background_near = F.max_pool2d(1.0 - m, kernel_size=3, stride=1, padding=1)  # pads with -inf: outside ignored
    return ((m * background_near) > 0).squeeze(1)


def _dilate(mask: torch.Tensor, radius: int) -> torch.Tensor:
    if radius == 0:
        return mask
    return F.max_pool2d(mask.unsqueeze(1).float(), 2 * radius + 1, stride=1, padding=radius).squeeze(1) > 0


def _boundary_f1_masks(pred: torch.Tensor, target: torch.Tensor, tolerance: int, empty: float) -> torch.Tensor:
    pb, tb = _boundary(pred), _boundary(target)
    n_p = pb.sum((1, 2)).double()
    n_t = tb.sum((1, 2)).double()
    hit_p = (pb & _dilate(tb, tolerance)).sum((1, 2)).double()
    hit_t = (tb & _dilate(pb, tolerance)).sum((1, 2)).double()
    precision = hit_p / n_p.clamp_min(1)
    recall = hit_t / n_t.clamp_min(1)
    f1 = torch.where(precision + recall > 0, 2 * precision * recall / (precision + recall).clamp_min(1e-300), 0.0)
    # No outline in either mask: each is all-empty or all-full. Equal masks score ``empty``; an all-full
    # prediction against an empty target (or the reverse) is a total miss, 0.
    same = pred.flatten(1).any(1) == target.flatten(1).any(1)
    no_outline = torch.where(same, torch.full_like(f1, empty), torch.zeros_like(f1))
    return torch.where((n_p == 0) & (n_t == 0), no_outline, f1)


def boundary_f1(
    pred: Any, target: Any, tolerance: int = 2, num_classes: int | None = None, reduction: str = "mean"
) -> torch.Tensor:
    """Boundary F1 score: contours that match within ``tolerance`` pixels (Chebyshev distance), per image.

    Binary masks (``num_classes=None``): bool/0-1 H×W or N×H×W; both without any boundary -> 1.0.
    Label maps (``num_classes=C``): scored per image and class; a class without boundary in both -> NaN.
    A boundary pixel is a foreground pixel with a background 8-neighbour; the image frame is not a boundary.
    ``reduction="mean"`` averages (ignoring NaN), ``"none"`` returns the N (or N×C) tensor.
    """
    if isinstance(tolerance, bool) or not isinstance(tolerance, int) or tolerance < 0:
        raise ValueError(f"tolerance={tolerance!r} must be a non-negative int number of pixels, e.g. 2.")
    if reduction not in ("mean", "none"):
        raise ValueError(f"reduction={reduction!r} must be 'mean' or 'none'.")
    if num_classes is None:
        p, t = _binary_masks(pred, "pred"), _binary_masks(target, "target")
        if p.shape != t.shape:
            raise ValueError(f"pred has shape {tuple(p.shape)} but target has shape {tuple(t.shape)}; they must match.")
        scores = _boundary_f1_masks(p, t, tolerance, empty=1.0)
    else:
        num_classes = _check_num_classes(num_classes)
        p, t = _check_labels(pred, target, num_classes, None)
        if p.ndim not in (2, 3):
            raise ValueError(f"pred has shape {tuple(p.shape)}; pass one H×W label map or a batch N×H×W.")
        if p.ndim == 2:
            p, t = p.unsqueeze(0), t.unsqueeze(0)
        n = p.shape[0]
        classes = torch.arange(num_classes, device=p.device).view(1, -1, 1, 1)
        p_oh = (p.unsqueeze(1) == classes).flatten(0, 1)
        t_oh = (t.unsqueeze(1) == classes).flatten(0, 1)
        scores = _boundary_f1_masks(p_oh, t_oh, tolerance, empty=math.nan).view(n, num_classes)
    if reduction == "none":
        return scores
    return scores.nanmean()


def hausdorff95(
    pred: Any, target: Any, spacing: Sequence[float] | None = None, percentile: float = 95.0, reduction: str = "mean"
) -> torch.Tensor:
    """95th-percentile Hausdorff distance between mask surfaces (symmetric: max of both directions), per image.

    Surface = foreground pixels with a background 8-neighbour, where outside the image counts as background
    (as in MONAI). Both masks empty -> 0.0; exactly one empty -> inf. ``spacing`` = pixel size (row, col).
    Percentiles use numpy's default (linear) interpolation. Computed on the CPU with SciPy's distance transform.
    """
    from scipy.ndimage import distance_transform_edt

    if reduction not in ("mean", "none"):
        raise ValueError(f"reduction={reduction!r} must be 'mean' or 'none'.")
    if not 0 <= float(percentile) <= 100:
        raise ValueError(f"percentile={percentile!r} must be between 0 and 100 (95 for HD95, 100 for Hausdorff).")
    p, t = _binary_masks(pred, "pred"), _binary_masks(target, "target")
    if p.shape != t.shape:
        raise ValueError(f"pred has shape {tuple(p.shape)} but target has shape {tuple(t.shape)}; they must match.")
    if spacing is not None and len(spacing) != 2:
        raise ValueError(f"spacing={spacing!r} must be two pixel sizes (row, col), e.g. (1.0, 1.0).")
    padded = lambda m: F.pad(m.unsqueeze(1).float(), (1, 1, 1, 1)).squeeze(1) > 0  # noqa: E731 (frame = background)
    pb = _boundary(padded(p))[:, 1:-1, 1:-1].cpu().numpy()
    tb = _boundary(padded(t))[:, 1:-1, 1:-1].cpu().numpy()
    out = []
    for a, b in zip(pb, tb):
        if not a.any() and not b.any():
            out.append(0.0)
        elif not a.any() or not b.any():
            out.append(math.inf)
        else:
            to_b = distance_transform_edt(~b, sampling=spacing)[a]
            to_a = distance_transform_edt(~a, sampling=spacing)[b]
            out.append(float(max(np.percentile(to_b, percentile), np.percentile(to_a, percentile))))
    scores = torch.tensor(out, dtype=torch.float64)
    return scores if reduction == "none" else scores.mean()


# --------------------------------------------------------------------------------------------- instance masks
def _instance_masks(x: Any, name: str) -> torch.Tensor:
    """Bool N×H×W masks; N×1×H×W is squeezed, float masks are probabilities thresholded at > 0.5."""
    t = _to_tensor(x, name)
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
    t = _label_tensor(ids, "ids")
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
    dtype = _float_dtype(a.device)
    # float32 sums are exact up to 2**24 pixels per mask
    mm_dtype = torch.float32 if a.shape[1] * a.shape[2] < 2**24 else dtype
    fa, fb = a.flatten(1).to(mm_dtype), b.flatten(1).to(mm_dtype)
    inter = (fa @ fb.T).to(dtype)
    union = fa.sum(1).to(dtype)[:, None] + fb.sum(1).to(dtype)[None, :] - inter
    return torch.where(union > 0, inter / union.clamp_min(1), torch.zeros_like(inter))


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
    if scores is None:
        return np.arange(n)
    s = _to_tensor(scores, name).detach().reshape(-1).double().cpu().numpy()
    if s.shape[0] != n:
        raise ValueError(f"{name} has {s.shape[0]} values but there are {n} predicted masks; give one score per mask.")
    return np.argsort(-s, kind="mergesort")


def _check_threshold(iou_threshold: Any) -> float:
    if isinstance(iou_threshold, bool) or not isinstance(iou_threshold, (int, float)) or not 0 <= iou_threshold <= 1:
        raise ValueError(f"iou_threshold={iou_threshold!r} must be a number between 0 and 1, e.g. 0.5.")
    return float(iou_threshold)


def match_instances(pred_masks: Any, true_masks: Any, iou_threshold: float = 0.5, scores: Any = None) -> MatchResult:
    """Greedily match predicted to true instance masks by mask IoU (highest score first, as COCO does).

    Returns ``MatchResult(matches, unmatched_pred, unmatched_true, iou_matrix)``: ``matches`` is K×2 (pred, true)
    indices with IoU >= ``iou_threshold``. Without ``scores`` the predictions are taken in their given order.
    """
    iou_threshold = _check_threshold(iou_threshold)
    ious = mask_iou_matrix(pred_masks, true_masks)
    n, m = ious.shape
    pairs = _greedy_match(ious.cpu().numpy(), _score_order(scores, n, "scores"), iou_threshold)
    dev = ious.device
    matches = torch.tensor(pairs, dtype=torch.int64, device=dev).reshape(-1, 2)
    used_p = {p for p, _ in pairs}
    used_t = {t for _, t in pairs}
    unmatched_pred = torch.tensor([i for i in range(n) if i not in used_p], dtype=torch.int64, device=dev)
    unmatched_true = torch.tensor([j for j in range(m) if j not in used_t], dtype=torch.int64, device=dev)
    return MatchResult(matches, unmatched_pred, unmatched_true, ious)


def _get(d: Mapping[str, Any], key: str, where: str) -> Any:
    if not isinstance(d, Mapping) or key not in d:
        raise ValueError(
            f"{where} must be a dict with a {key!r} entry (keys: masks, labels{', scores' if 'pred' in where else ''})."
        )
    return d[key]


def _labels_of(d: Mapping[str, Any], n: int, where: str) -> np.ndarray:
    if "labels" not in d or d["labels"] is None:
        return np.zeros(n, dtype=np.int64)  # class-agnostic: every mask is class 0
    lab = _to_tensor(d["labels"], f"{where}['labels']").reshape(-1).cpu().numpy()
    if lab.shape[0] != n:
        raise ValueError(f"{where}['labels'] has {lab.shape[0]} values for {n} masks; give one label per mask.")
    return lab.astype(np.int64)


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
    iou_threshold = _check_threshold(iou_threshold)
    if isinstance(max_detections, bool) or not isinstance(max_detections, int) or max_detections < 1:
        raise ValueError(f"max_detections={max_detections!r} must be a positive int (COCO uses 100).")
    if len(preds) != len(targets):
        raise ValueError(
            f"preds has {len(preds)} images but targets has {len(targets)}; give one dict per image in both."
        )
    per_class_scores: dict[int, list[np.ndarray]] = {}
    per_class_tp: dict[int, list[np.ndarray]] = {}
    n_true: dict[int, int] = {}
    for i, (pr, tg) in enumerate(zip(preds, targets)):
        pm = _instance_masks(_get(pr, "masks", f"preds[{i}]"), f"preds[{i}]['masks']")
        tm = _instance_masks(_get(tg, "masks", f"targets[{i}]"), f"targets[{i}]['masks']")
        if pm.shape[0] and tm.shape[0] and pm.shape[1:] != tm.shape[1:]:
            raise ValueError(
                f"preds[{i}] masks are {tuple(pm.shape[1:])} but targets[{i}] masks are {tuple(tm.shape[1:])}."
            )
        ps = (
            _to_tensor(_get(pr, "scores", f"preds[{i}]"), f"preds[{i}]['scores']")
            .detach()
            .reshape(-1)
            .double()
            .cpu()
            .numpy()
        )
        if ps.shape[0] != pm.shape[0]:
            raise ValueError(
                f"preds[{i}]['scores'] has {ps.shape[0]} values for {pm.shape[0]} masks; give one score per mask."
            )
        pl, tl = _labels_of(pr, pm.shape[0], f"preds[{i}]"), _labels_of(tg, tm.shape[0], f"targets[{i}]")
        for c in np.union1d(pl, tl).tolist():
            p_idx, t_idx = np.flatnonzero(pl == c), np.flatnonzero(tl == c)
            order = p_idx[np.argsort(-ps[p_idx], kind="mergesort")][:max_detections]
            n_true[c] = n_true.get(c, 0) + len(t_idx)
            if len(order) == 0:
                continue
            tp = np.zeros(len(order), dtype=bool)
            if len(t_idx):
                ious = mask_iou_matrix(
                    pm[torch.as_tensor(order, device=pm.device)], tm[torch.as_tensor(t_idx, device=tm.device)]
                )
                for d, _ in _greedy_match(ious.cpu().numpy(), np.arange(len(order)), iou_threshold):
                    tp[d] = True
            per_class_scores.setdefault(c, []).append(ps[order])
            per_class_tp.setdefault(c, []).append(tp)
    true_classes = {c for c, n in n_true.items() if n}
    if per_class_scores and true_classes and not (set(per_class_scores) & true_classes):
        warnings.warn(
            f"mask AP: the predictions have classes {sorted(per_class_scores)} but the targets have {sorted(true_classes)}, "
            "so nothing can match and AP is 0. Give both the same 'labels' (e.g. torch.ones(K, dtype=torch.int64) "
            "for one foreground class); a dict without 'labels' counts as class 0.",
            UserWarning,
            stacklevel=3,
        )
    rec_thresholds = np.linspace(0.0, 1.0, 101)
    result: dict[int, float] = {}
    for c in sorted(n_true):
        if n_true[c] == 0:
            continue
        if c not in per_class_scores:
            result[c] = 0.0
            continue
        s = np.concatenate(per_class_scores[c])
        tp = np.concatenate(per_class_tp[c])[np.argsort(-s, kind="mergesort")]
        tps, fps = np.cumsum(tp, dtype=np.float64), np.cumsum(~tp, dtype=np.float64)
        recall = tps / n_true[c]
        precision = tps / (tps + fps + np.spacing(1))
        precision = np.maximum.accumulate(precision[::-1])[::-1]  # precision envelope
        idx = np.searchsorted(recall, rec_thresholds, side="left")
        q = np.where(idx < len(precision), precision[np.minimum(idx, len(precision) - 1)], 0.0)
        result[c] = float(q.mean())
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


# ------------------------------------------------------------------------------- binary scores inside a mask
# Conventions: see "Binary scores inside a mask" in the module docstring.
IGNORE = 255
_BINARY_METRICS = ("dice", "iou", "accuracy")


def _binary_target(target: Any, name: str = "target") -> torch.Tensor:
    """Integer target with values 0, 1 and IGNORE only."""
    t = _label_tensor(target, name)
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


def _binary_prediction(pred: Any, threshold: float, name: str, shape: torch.Size) -> torch.Tensor:
    """Bool prediction of ``shape``: floats are thresholded (``> threshold``), integers must be 0/1."""
    p = _to_tensor(pred, name)
    if tuple(p.shape) != tuple(shape):
        raise ValueError(
            f"{name} has shape {tuple(p.shape)} but target has shape {tuple(shape)}; they must match "
            f"(for N×1×H×W model output use {name}[:, 0])."
        )
    if p.is_floating_point():
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not math.isfinite(threshold):
            raise ValueError(f"threshold={threshold!r} must be a finite number, e.g. 0.5 for probabilities.")
        if p.numel() and not bool(torch.isfinite(p).all()):
            raise ValueError(f"{name} holds NaN or inf values; check the model output before scoring it.")
        return p > threshold
    if p.dtype == torch.bool:
        return p
    if p.is_complex() or (p.numel() and bool(((p != 0) & (p != 1)).any())):
        raise ValueError(f"{name} holds values other than 0 and 1; pass a binary mask or float probabilities.")
    return p != 0


def _scored(target: torch.Tensor, mask: Any) -> torch.Tensor:
    """Bool tensor of target's shape: True where a pixel is scored (inside ``mask`` and not IGNORE)."""
    keep = target != IGNORE
    if mask is None:
        return keep
    m = _to_tensor(mask, "mask")
    if m.is_floating_point() or m.is_complex():
        raise ValueError(f"mask has dtype {m.dtype}; pass a bool mask (True = scored), e.g. fov > 0.")
    if m.dtype != torch.bool:
        if m.numel() and bool(((m != 0) & (m != 1)).any()):
            raise ValueError("mask holds values other than 0 and 1; pass a bool mask, e.g. fov > 0 for a 0/255 image.")
        m = m != 0
    if tuple(m.shape) != tuple(target.shape) and tuple(m.shape) != tuple(target.shape[-2:]):
        raise ValueError(
            f"mask has shape {tuple(m.shape)} but target has shape {tuple(target.shape)}; pass a mask of the "
            f"target's shape or one H×W mask for every image."
        )
    if m.device != target.device:
        raise ValueError(f"mask is on {m.device} but target is on {target.device}; move both to one device.")
    return keep & m


def _ratio(num: int, den: int) -> float:
    return num / den if den else math.nan


def _binary_counts(pred: Any, target: Any, mask: Any, threshold: float) -> tuple[int, int, int, int]:
    t = _binary_target(target)
    p = _binary_prediction(pred, threshold, "pred", t.shape)
    if p.device != t.device:
        raise ValueError(f"pred is on {p.device} but target is on {t.device}; move both to one device.")
    keep = _scored(t, mask)
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
        "dice": _ratio(2 * tp, 2 * tp + fp + fn),
        "iou": _ratio(tp, tp + fp + fn),
        "sensitivity": _ratio(tp, tp + fn),
        "specificity": _ratio(tn, tn + fp),
        "precision": _ratio(tp, tp + fp),
        "accuracy": _ratio(tp + tn, tp + fn + fp + tn),
    }


def _sorted_scores(scores: Any, target: Any, mask: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Sorted scores of the scored foreground pixels and of the scored background pixels (numpy, on the CPU)."""
    t = _binary_target(target)
    s = _to_tensor(scores, name)
    if tuple(s.shape) != tuple(t.shape):
        raise ValueError(
            f"{name} has shape {tuple(s.shape)} but target has shape {tuple(t.shape)}; they must match "
            f"(for N×1×H×W model output use {name}[:, 0])."
        )
    if s.device != t.device:
        raise ValueError(f"{name} is on {s.device} but target is on {t.device}; move both to one device.")
    if s.is_complex():
        raise ValueError(f"{name} has dtype {s.dtype}; pass real-valued scores (probabilities or logits).")
    keep = _scored(t, mask).cpu().numpy()
    fg = (t == 1).cpu().numpy()
    s = s.detach()
    if s.dtype in (torch.float16, torch.bfloat16) or not s.is_floating_point():
        s = s.float()
    values = s.cpu().numpy()
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


def best_threshold(
    probs: Any, target: Any, mask: Any = None, thresholds: Any = None, metric: str = "dice"
) -> tuple[float, float]:
    """The threshold (foreground where ``probs > threshold``) with the best ``metric`` inside ``mask``, and that score.

    ``thresholds``: the candidates (default 0.01, 0.02, …, 0.99, which needs probabilities in [0, 1]);
    ``metric``: ``"dice"`` (= F1), ``"iou"`` or ``"accuracy"``. Every candidate is scored at once from the
    sorted scores of each class (one binary search per candidate); ties go to the smallest threshold.
    Agrees with :func:`binary_scores` at the returned threshold.
    """
    if metric not in _BINARY_METRICS:
        raise ValueError(f"metric={metric!r} is not supported; use one of {', '.join(map(repr, _BINARY_METRICS))}.")
    pos, neg = _sorted_scores(probs, target, mask, "probs")
    if thresholds is None:
        low = min(pos[:1].tolist() + neg[:1].tolist(), default=0.0)
        high = max(pos[-1:].tolist() + neg[-1:].tolist(), default=1.0)
        if low < 0 or high > 1:
            raise ValueError(
                f"probs lie in [{low:.3g}, {high:.3g}], not [0, 1]: pass probabilities (torch.sigmoid(logits)) "
                f"or your own thresholds=..."
            )
        candidates = np.arange(1, 100) / 100
    else:
        candidates = np.unique(np.asarray(_to_tensor(thresholds, "thresholds").cpu().numpy(), dtype=np.float64))
        if candidates.ndim != 1 or candidates.size == 0 or not np.isfinite(candidates).all():
            raise ValueError("thresholds must be a non-empty 1-D list of finite numbers, e.g. np.linspace(0.05, 0.95, 19).")
    if pos.size == 0:
        raise ValueError(
            "target has no foreground pixel inside the mask, so no threshold can be chosen; check the target "
            "(1 = foreground) and the mask."
        )
    cut = candidates.astype(pos.dtype)  # compare in the scores' own dtype, exactly as `probs > threshold` does
    tp = (pos.size - np.searchsorted(pos, cut, side="right")).astype(np.float64)
    fp = (neg.size - np.searchsorted(neg, cut, side="right")).astype(np.float64)
    fn = pos.size - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        if metric == "dice":
            values = 2 * tp / (2 * tp + fp + fn)
        elif metric == "iou":
            values = tp / (tp + fp + fn)
        else:
            values = (tp + neg.size - fp) / (pos.size + neg.size)
    best = int(np.nanargmax(values))
    return float(candidates[best]), float(values[best])


# ------------------------------------------------------------------------------- thin structures (vessels)
class WidthRecall(NamedTuple):
    """Recall of foreground pixels per width bin: bin i holds widths in [edges[i], edges[i+1])."""

    edges: torch.Tensor
    recall: torch.Tensor
    pixels: torch.Tensor


def _binary_batch(pred: Any, target: Any, mask: Any, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pred, foreground, scored) as bool N×H×W numpy arrays."""
    t = _binary_target(target)
    if t.ndim not in (2, 3):
        raise ValueError(f"target has shape {tuple(t.shape)}; pass one H×W mask or a batch N×H×W.")
    p = _binary_prediction(pred, threshold, "pred", t.shape)
    keep = _scored(t, mask)
    arrays = [a.cpu().numpy() for a in (p, t == 1, keep)]
    return tuple(a[None] if a.ndim == 2 else a for a in arrays)  # type: ignore[return-value]


def cldice(pred: Any, target: Any, mask: Any = None, threshold: float = 0.5) -> float:
    """Centreline Dice (clDice, Shit et al. 2021): how well the skeletons of thin structures are covered.

    Both masks are cut to the scored pixels and skeletonised (``skimage.morphology.skeletonize``);
    topology precision = share of the predicted skeleton inside the target, topology sensitivity = share of
    the target skeleton inside the prediction, clDice = their harmonic mean. Counts are pooled over the
    batch; NaN when a skeleton is empty. A thick prediction of a thin vessel scores a low Dice but clDice 1.
    """
    from skimage.morphology import skeletonize

    p, fg, keep = _binary_batch(pred, target, mask, threshold)
    counts = np.zeros(4, dtype=np.int64)  # skel(P) in T, |skel(P)|, skel(T) in P, |skel(T)|
    for pi, ti, ki in zip(p, fg, keep):
        pi, ti = pi & ki, ti & ki
        sp, st = skeletonize(pi), skeletonize(ti)
        counts += [np.count_nonzero(sp & ti), np.count_nonzero(sp), np.count_nonzero(st & pi), np.count_nonzero(st)]
    tprec, tsens = _ratio(int(counts[0]), int(counts[1])), _ratio(int(counts[2]), int(counts[3]))
    if math.isnan(tprec) or math.isnan(tsens):
        return math.nan
    return 0.0 if tprec + tsens == 0 else 2 * tprec * tsens / (tprec + tsens)


def vessel_width_map(target: Any) -> torch.Tensor:
    """Estimated width in pixels of the structure at each foreground pixel of an H×W (or N×H×W) mask; 0 elsewhere.

    Each pixel takes the width at its nearest centreline (skeleton) pixel, 2·d − 1, where d is that pixel's
    Euclidean distance to the background (``scipy.ndimage.distance_transform_edt``). Exact for straight bars
    of odd width (a 1-pixel line gives 1, a 5-pixel bar 5); one less for even widths; rougher at ends and forks.
    """
    from scipy.ndimage import distance_transform_edt
    from skimage.morphology import skeletonize

    t = _binary_target(target)
    if t.ndim not in (2, 3):
        raise ValueError(f"target has shape {tuple(t.shape)}; pass one H×W mask or a batch N×H×W.")
    fg = (t == 1).cpu().numpy()
    batch = fg[None] if fg.ndim == 2 else fg
    out = np.zeros(batch.shape, dtype=np.float64)
    for i, f in enumerate(batch):
        skeleton = skeletonize(f)
        if not skeleton.any():
            continue
        depth = distance_transform_edt(f)
        rows, cols = distance_transform_edt(~skeleton, return_distances=False, return_indices=True)
        out[i][f] = (2 * depth[rows, cols] - 1)[f]
    result = torch.from_numpy(out)
    return result[0] if fg.ndim == 2 else result


def recall_by_width(
    pred: Any,
    target: Any,
    mask: Any = None,
    bins: Sequence[float] = (0, 2, 4, 6, math.inf),
    threshold: float = 0.5,
) -> WidthRecall:
    """Recall of the target's foreground pixels grouped by the width of their vessel (:func:`vessel_width_map`).

    ``bins`` are increasing edges; bin i counts widths in [bins[i], bins[i+1]) (widths outside all bins are
    left out). Returns ``WidthRecall(edges, recall, pixels)``: recall per bin (NaN for an empty bin) and the
    number of scored foreground pixels in it. Shows whether a model misses the thin capillaries.
    """
    edges = np.asarray(bins, dtype=np.float64)
    if edges.ndim != 1 or edges.size < 2 or np.isnan(edges).any() or not (np.diff(edges) > 0).all():
        raise ValueError(f"bins={bins!r} must be at least two increasing edges, e.g. (0, 2, 4, 6, math.inf).")
    p, fg, keep = _binary_batch(pred, target, mask, threshold)
    widths = vessel_width_map(torch.from_numpy(fg.astype(np.uint8))).numpy()
    scored = fg & keep
    which = np.searchsorted(edges, widths[scored], side="right") - 1
    inside = (which >= 0) & (which < edges.size - 1)
    n_bins = edges.size - 1
    pixels = np.bincount(which[inside], minlength=n_bins)
    hits = np.bincount(which[inside], weights=p[scored][inside].astype(np.float64), minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(pixels > 0, hits / np.maximum(pixels, 1), np.nan)
    return WidthRecall(torch.from_numpy(edges), torch.from_numpy(recall), torch.from_numpy(pixels.astype(np.int64)))
