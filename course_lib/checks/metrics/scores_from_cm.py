"""Exercises ``iou-from-cm`` and ``dice-from-cm``: per-class IoU and Dice from a confusion matrix."""

from __future__ import annotations

from typing import Any

import torch

from ..core import Case, Mistake, compare
from ..registry import register
from .common import LESSON

__all__ = ["iou_from_cm_reference", "dice_from_cm_reference"]


def _tp_fp_fn(cm: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    cm = cm.double()
    tp = cm.diagonal()
    return tp, cm.sum(0) - tp, cm.sum(1) - tp  # column sums = predicted, row sums = true


def iou_from_cm_reference(cm: torch.Tensor) -> torch.Tensor:
    """Reference answer: per-class IoU = TP / (TP + FP + FN) from a C×C confusion matrix (rows = true class).

    Float64; NaN for a class absent from both prediction and target (0 / 0).
    """
    tp, fp, fn = _tp_fp_fn(cm)
    return tp / (tp + fp + fn)  # 0 / 0 gives NaN in torch


def dice_from_cm_reference(cm: torch.Tensor) -> torch.Tensor:
    """Reference answer: per-class Dice = 2·TP / (2·TP + FP + FN) from a C×C confusion matrix; float64, NaN for 0 / 0."""
    tp, fp, fn = _tp_fp_fn(cm)
    return 2 * tp / (2 * tp + fp + fn)


def _as_double(case: Case, got: Any) -> Any:
    """float32 (what int / int gives in torch) is fine if the values are right: compare it as float64."""
    if isinstance(got, torch.Tensor) and got.is_floating_point() and tuple(got.shape) == tuple(case.expected.shape):
        return got.double()
    return got


def _per_class_checker(case: Case, got: Any) -> str | None:
    return compare(case.expected, _as_double(case, got), case.atol, case.rtol)


def _per_class_like(wrong):
    """Recognise a per-class mistake by value, with float32 results compared as float64."""
    def detect(case: Case, got: Any, reason: str) -> bool:
        value = wrong(*case.args)
        if compare(case.expected, value, case.atol, case.rtol) is None:
            return False  # this case cannot tell the mistake from the answer
        return compare(value, _as_double(case, got), case.atol, case.rtol) is None
    return detect


def _counts(cm: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """TP, predicted (column sums) and true (row sums) per class, float64."""
    cm = cm.double()
    return cm.diagonal(), cm.sum(0), cm.sum(1)


def _iou_clamped(cm: torch.Tensor) -> torch.Tensor:
    tp, predicted, true = _counts(cm)
    return tp / (predicted + true - tp).clamp_min(1)


def _dice_clamped(cm: torch.Tensor) -> torch.Tensor:
    tp, predicted, true = _counts(cm)
    return 2 * tp / (predicted + true).clamp_min(1)


def _precision(cm: torch.Tensor) -> torch.Tensor:
    tp, predicted, _ = _counts(cm)
    return tp / predicted


def _recall(cm: torch.Tensor) -> torch.Tensor:
    tp, _, true = _counts(cm)
    return tp / true


def _union_without_minus_tp(cm: torch.Tensor) -> torch.Tensor:
    tp, predicted, true = _counts(cm)
    return tp / (predicted + true)  # also Dice without its factor 2


def _twice_iou(cm: torch.Tensor) -> torch.Tensor:
    tp, predicted, true = _counts(cm)
    return 2 * tp / (predicted + true - tp)


_ABSENT = ("absent class scored 0",
           "a class in neither the prediction nor the target has 0 / 0, which is undefined: leave it NaN (dividing "
           "tensors does that by itself; do not clamp the denominator or replace NaN), so that averages can leave "
           "the class out.")


def _precision_mistake(score: str) -> Mistake:
    return Mistake(f"precision instead of {score}", _precision,
                   "that is the precision TP / (TP + FP), diagonal over column sums; the score also needs the false "
                   "negatives (the rest of the row).", detect=_per_class_like(_precision))


def _recall_mistake(score: str) -> Mistake:
    return Mistake(f"recall instead of {score}", _recall,
                   "that is the recall TP / (TP + FN), diagonal over row sums; the score also needs the false "
                   "positives (the rest of the column).", detect=_per_class_like(_recall))


_IOU_MISTAKES = (
    Mistake(_ABSENT[0], _iou_clamped, _ABSENT[1], detect=_per_class_like(_iou_clamped)),
    Mistake("Dice instead of IoU", dice_from_cm_reference,
            "that is the Dice score, which counts the true positives twice; IoU counts them once: "
            "TP / (TP + FP + FN).", detect=_per_class_like(dice_from_cm_reference)),
    Mistake("TP counted twice in the union", _union_without_minus_tp,
            "row sum + column sum contains the diagonal twice (it is in both sums): subtract TP once to get the "
            "union.", detect=_per_class_like(_union_without_minus_tp)),
    _precision_mistake("IoU"),
    _recall_mistake("IoU"),
)

_DICE_MISTAKES = (
    Mistake(_ABSENT[0], _dice_clamped, _ABSENT[1], detect=_per_class_like(_dice_clamped)),
    Mistake("IoU instead of Dice", iou_from_cm_reference,
            "that is the IoU, TP / (TP + FP + FN); Dice counts the true positives twice, in the numerator and in "
            "the denominator.", detect=_per_class_like(iou_from_cm_reference)),
    Mistake("factor 2 missing", _union_without_minus_tp,
            "the numerator needs the factor 2: without it a perfect class scores 0.5, not 1.",
            detect=_per_class_like(_union_without_minus_tp)),
    Mistake("wrong denominator", _twice_iou,
            "that is 2 × IoU (it can exceed 1); the denominator of Dice is 2·TP + FP + FN, the predicted pixels "
            "plus the true pixels.", detect=_per_class_like(_twice_iou)),
    _precision_mistake("Dice"),
    _recall_mistake("Dice"),
)


def _random_cm(g: torch.Generator, num_classes: int, absent: int = 0, scale: int = 1000) -> torch.Tensor:
    cm = torch.randint(0, scale, (num_classes, num_classes), generator=g)
    cm += torch.diag(torch.randint(scale, 20 * scale, (num_classes,), generator=g))  # mostly right
    for c in torch.randperm(num_classes, generator=g)[:absent].tolist():
        cm[c, :] = 0
        cm[:, c] = 0
    return cm


def _cm_cases(reference) -> list[Case]:
    cm3 = torch.tensor([[5, 1, 0],
                        [0, 3, 1],
                        [0, 1, 1]])
    cm_absent = torch.tensor([[9, 1, 0],
                              [2, 4, 0],
                              [0, 0, 0]])
    cases = [
        Case((cm3,), expected=reference(cm3), description="3×3 matrix [[5, 1, 0], [0, 3, 1], [0, 1, 1]] (rows = true class)"),
        Case((cm_absent,), expected=reference(cm_absent),
             description="class 2 never appears (row and column of zeros): its score is NaN"),
    ]
    g = torch.Generator().manual_seed(404)
    for c, absent in [(2, 0), (4, 1), (6, 2), (9, 0), (5, 4)]:
        cm = _random_cm(g, c, absent)
        cases.append(Case((cm,), expected=reference(cm), hidden=True,
                          description=f"random {c}×{c} matrix with {absent} absent class(es)"))
    only_predicted = torch.tensor([[50, 3], [0, 0]])
    empty_bin = torch.tensor([[4096, 0], [0, 0]])
    big = torch.tensor([[3_000_000_000, 1], [2, 7]])
    cases += [
        Case((only_predicted,), expected=reference(only_predicted), hidden=True,
             description="class 1 is predicted 3 times but never true: score 0 (not NaN), it was wrongly found"),
        Case((empty_bin,), expected=reference(empty_bin), hidden=True,
             description="binary, empty target and empty prediction: background 1.0, foreground NaN"),
        Case((torch.zeros(3, 3, dtype=torch.int64),), expected=reference(torch.zeros(3, 3, dtype=torch.int64)),
             hidden=True, description="an all-zero 3×3 matrix (no pixel at all): every class NaN"),
        Case((torch.tensor([[12]]),), expected=reference(torch.tensor([[12]])), hidden=True,
             description="a single class, 12 pixels all right: [1.0]"),
        Case((big,), expected=reference(big), hidden=True, description="large counts (3 billion pixels)"),
    ]
    return cases


@register(
    "iou-from-cm",
    lesson=LESSON,
    title="Per-class IoU from a confusion matrix",
    hints=(
        "Read the counts off the matrix: the diagonal holds the correctly labelled pixels of each class, the rest "
        "of a row are pixels of that class that were missed (false negatives), the rest of a column are pixels "
        "wrongly given that class (false positives). IoU is true positives over true positives + false positives "
        "+ false negatives. A class in neither prediction nor target has 0 / 0: leave it NaN.",
        "cm.diagonal() gives TP; cm.sum(0) adds up each column (everything predicted as the class) and cm.sum(1) "
        "each row (everything truly the class); both sums contain TP. Convert with .double() first, and do not "
        "clamp the denominator.",
        "TP = cm.diagonal(); FP = cm.sum(0) − TP (predicted as the class, column sums); FN = cm.sum(1) − TP "
        "(true class, row sums); IoU = TP / (TP + FP + FN). Divide tensors so that 0 / 0 gives NaN.",
    ),
    mistakes=_IOU_MISTAKES,
    checker=_per_class_checker,
)
def _iou_from_cm_cases() -> list[Case]:
    return _cm_cases(iou_from_cm_reference)


@register(
    "dice-from-cm",
    lesson=LESSON,
    title="Per-class Dice from a confusion matrix",
    hints=(
        "Dice compares twice the overlap with the sizes of both regions: twice the true positives over twice the "
        "true positives + false positives + false negatives. Read TP, FP and FN off the matrix as in the IoU "
        "exercise; a class absent from both prediction and target stays NaN.",
        "For one class, its row sum + its column sum is exactly 2·TP + FP + FN (predicted pixels + true pixels), "
        "so cm.sum(0) + cm.sum(1) is the whole denominator. Use .double() and tensor division so that 0 / 0 "
        "gives NaN.",
        "With TP, FP, FN as in the IoU exercise: Dice = 2·TP / (2·TP + FP + FN); 0 / 0 gives NaN. "
        "(Equivalently Dice = 2·IoU / (1 + IoU).)",
    ),
    mistakes=_DICE_MISTAKES,
    checker=_per_class_checker,
)
def _dice_from_cm_cases() -> list[Case]:
    return _cm_cases(dice_from_cm_reference)
