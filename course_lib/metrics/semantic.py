"""Semantic-segmentation scores of label maps: confusion matrix, IoU, Dice, pixel and mean class accuracy, and a
running :class:`SegmentationMeter`.

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

Equivalences with the references (tested in ``tests/metrics/test_semantic.py``)
------------------------------------------------------------------------------
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
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ..validation import check_choice
from .inputs import check_ignore_index, check_labels, check_num_classes, float_dtype, to_tensor

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
]

_AVERAGES = ("macro", "micro", "binary", None)
_ACCURACY_AVERAGES = ("macro", "micro", None)


# ----------------------------------------------------------------------------------------------- confusion matrix
def _index_dtype(num_classes: int, ignore_index: int | None, device: torch.device) -> torch.dtype:
    """The narrowest integer dtype that holds every bin index (narrow indices are 2-4x faster on the CPU)."""
    if device.type == "cpu":
        n2 = num_classes * num_classes
        for dt in (torch.int16, torch.int32):
            info = torch.iinfo(dt)
            if n2 < info.max and (ignore_index is None or info.min <= ignore_index <= info.max):
                return dt
    return torch.int64


def _confusion(pred: torch.Tensor, target: torch.Tensor, num_classes: int, ignore_index: int | None) -> torch.Tensor:
    """Confusion matrix of already-validated labels with one ``torch.bincount``."""
    n2 = num_classes * num_classes
    idx_dtype = _index_dtype(num_classes, ignore_index, pred.device)
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
    num_classes = check_num_classes(num_classes)
    ignore_index = check_ignore_index(ignore_index)
    pred, target = check_labels(pred, target, num_classes, ignore_index)
    return _confusion(pred, target, num_classes, ignore_index)


# ----------------------------------------------------------------------------------- scores from a confusion matrix
def _check_confusion(cm: Any) -> torch.Tensor:
    """``cm`` as a tensor if it is a square matrix of non-negative counts."""
    cm = to_tensor(cm, "cm")
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] < 1:
        raise ValueError(
            f"cm has shape {tuple(cm.shape)}; it must be a square C×C confusion matrix (rows = true class)."
        )
    if cm.numel() and bool((cm < 0).any()):
        raise ValueError("cm holds negative counts; pass a confusion matrix of pixel counts (see confusion_matrix()).")
    if cm.is_floating_point() and not bool(torch.isfinite(cm).all()):
        raise ValueError("cm holds NaN or infinite counts; pass a confusion matrix of pixel counts (see confusion_matrix()).")
    return cm


def _fraction(cm: torch.Tensor, kind: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-class numerator and denominator of one kind of score ('iou', 'dice', 'accuracy') of a float matrix."""
    tp = cm.diagonal()
    fp = cm.sum(0) - tp
    fn = cm.sum(1) - tp
    if kind == "iou":
        return tp, tp + fp + fn
    if kind == "dice":
        return 2 * tp, 2 * tp + fp + fn
    return tp, tp + fn


def _scored_classes(c: int, ignore_index: int | None, device: torch.device) -> torch.Tensor:
    """Bool per class: False only for ``ignore_index`` when it is a class id."""
    scored = torch.ones(c, dtype=torch.bool, device=device)
    if ignore_index is not None and 0 <= ignore_index < c:
        scored[ignore_index] = False
    return scored


def _nan(like: torch.Tensor) -> torch.Tensor:
    """A NaN scalar of ``like``'s dtype and device."""
    return torch.full((), math.nan, dtype=like.dtype, device=like.device)


def _reduce(num: torch.Tensor, den: torch.Tensor, scored: torch.Tensor, average: str | None) -> torch.Tensor:
    """Per-class fractions ``num / den`` reduced by ``average`` (see the module conventions)."""
    if average == "binary":
        return num[1] / den[1] if den[1] > 0 else torch.ones((), dtype=num.dtype, device=num.device)
    if average == "micro":
        d = den[scored].sum()
        return num[scored].sum() / d if d > 0 else _nan(num)
    valid = scored & (den > 0)
    per_class = torch.where(valid, num / den.clamp_min(1), torch.full_like(num, math.nan))
    if average is None:
        return per_class
    return per_class[valid].mean() if bool(valid.any()) else _nan(num)


def _score(cm: Any, kind: str, average: str | None, ignore_index: int | None) -> torch.Tensor:
    """Per-class scores of one kind ('iou', 'dice', 'accuracy') from a confusion matrix, then reduce."""
    cm = _check_confusion(cm)
    ignore_index = check_ignore_index(ignore_index)
    c = cm.shape[0]
    if average == "binary" and c != 2:
        raise ValueError(
            f"average='binary' needs num_classes=2 (background, foreground) but there are {c} classes; use 'macro'."
        )
    cm = cm.to(float_dtype(cm.device))
    num, den = _fraction(cm, kind)
    return _reduce(num, den, _scored_classes(c, ignore_index, cm.device), average)


def iou_from_confusion(cm: Any, average: str | None = "macro", ignore_index: int | None = None) -> torch.Tensor:
    """IoU (Jaccard) from a confusion matrix (rows = true class); same ``average`` rules as :func:`iou`."""
    check_choice("average", average, _AVERAGES)
    return _score(cm, "iou", average, ignore_index)


def dice_from_confusion(cm: Any, average: str | None = "macro", ignore_index: int | None = None) -> torch.Tensor:
    """Dice (F1) from a confusion matrix (rows = true class); same ``average`` rules as :func:`dice`."""
    check_choice("average", average, _AVERAGES)
    return _score(cm, "dice", average, ignore_index)


def accuracy_from_confusion(cm: Any, average: str | None = "micro", ignore_index: int | None = None) -> torch.Tensor:
    """Pixel accuracy from a confusion matrix: "micro" (default) = overall, "macro" = mean class accuracy."""
    check_choice("average", average, _ACCURACY_AVERAGES)
    return _score(cm, "accuracy", average, ignore_index)


# ------------------------------------------------------------------------------------------- scores of label maps
def iou(
    pred: Any, target: Any, num_classes: int, ignore_index: int | None = None, average: str | None = "macro"
) -> torch.Tensor:
    """Intersection over union of label maps; "macro" = mean IoU over classes present in pred or target."""
    check_choice("average", average, _AVERAGES)
    return _score(confusion_matrix(pred, target, num_classes, ignore_index), "iou", average, ignore_index)


def dice(
    pred: Any, target: Any, num_classes: int, ignore_index: int | None = None, average: str | None = "macro"
) -> torch.Tensor:
    """Dice coefficient (F1) of label maps; "macro" = mean Dice over classes present in pred or target."""
    check_choice("average", average, _AVERAGES)
    return _score(confusion_matrix(pred, target, num_classes, ignore_index), "dice", average, ignore_index)


def pixel_accuracy(
    pred: Any, target: Any, num_classes: int, ignore_index: int | None = None, average: str | None = "micro"
) -> torch.Tensor:
    """Pixel accuracy: correct / counted pixels (default "micro"); "macro" = mean class accuracy, None = per class.

    The default is the classic pixel accuracy of papers (and of the pixel-accuracy trap), unlike ``iou`` and
    ``dice``, whose default is "macro". For the mean of the per-class accuracies call :func:`mean_class_accuracy`.
    """
    check_choice("average", average, _ACCURACY_AVERAGES)
    return _score(confusion_matrix(pred, target, num_classes, ignore_index), "accuracy", average, ignore_index)


def mean_class_accuracy(pred: Any, target: Any, num_classes: int, ignore_index: int | None = None) -> torch.Tensor:
    """Mean class accuracy: the per-class accuracies (recall) averaged over classes present in target ("macro")."""
    return pixel_accuracy(pred, target, num_classes, ignore_index, average="macro")


# --------------------------------------------------------------------------------------------- running meter
class SegmentationMeter:
    """Accumulates a confusion matrix over batches; ``compute()`` gives mIoU, Dice, accuracies and per-class values."""

    def __init__(self, num_classes: int, ignore_index: int | None = None) -> None:
        """A meter for ``num_classes`` classes; target pixels equal to ``ignore_index`` are skipped."""
        self.num_classes = check_num_classes(num_classes)
        self.ignore_index = check_ignore_index(ignore_index)
        self.cm: torch.Tensor | None = None

    def reset(self) -> None:
        """Forget everything seen so far."""
        self.cm = None

    @torch.no_grad()
    def update(self, pred: Any, target: Any) -> None:
        """Add one batch: ``pred`` labels (or N×C×H×W logits, argmax-ed here) and ``target`` labels."""
        pred = to_tensor(pred, "pred")
        target = to_tensor(target, "target")
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
        """Classes, ignore index and the number of pixels counted so far."""
        seen = 0 if self.cm is None else int(self.cm.sum())
        return f"SegmentationMeter(num_classes={self.num_classes}, ignore_index={self.ignore_index}, pixels={seen})"
