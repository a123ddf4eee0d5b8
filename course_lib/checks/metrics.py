"""Exercises of lesson 03 (metrics and losses): pixel accuracy, IoU and Dice from a confusion matrix, soft Dice loss.

The reference answers here agree with ``course_lib.metrics`` and ``course_lib.losses`` (tested in
``tests/checks/test_metrics_exercises.py``); the lesson goes on with those after each exercise.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from .core import Case, compare
from .registry import register

__all__ = [
    "pixel_accuracy_reference",
    "iou_from_cm_reference",
    "dice_from_cm_reference",
    "soft_dice_loss_reference",
]

LESSON = "03_metrics_losses"


def pixel_accuracy_reference(pred: torch.Tensor, target: torch.Tensor, ignore_index: int | None = None) -> float:
    """Reference answer: the share of scored pixels whose label is right (a float); NaN if every pixel is ignored."""
    keep = torch.ones_like(target, dtype=torch.bool) if ignore_index is None else target != ignore_index
    scored = int(keep.sum())
    if scored == 0:
        return math.nan
    return int(((pred == target) & keep).sum()) / scored


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


def soft_dice_loss_reference(probs: torch.Tensor, target: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
    """Reference answer: 1 − (2·Σp·t + smooth) / (Σp + Σt + smooth), sums over the whole batch (a 0-dim tensor).

    Both empty (no target pixel, all probabilities 0) gives Dice 1, loss 0, thanks to ``smooth``.
    """
    t = target.to(probs.dtype)
    intersection = (probs * t).sum()
    return 1 - (2 * intersection + smooth) / (probs.sum() + t.sum() + smooth)


# ---------------------------------------------------------------------------------------------------
# checkers that recognise the common mistakes
# ---------------------------------------------------------------------------------------------------
def _matches(wrong: Any, got: Any, case: Case) -> bool:
    try:
        return compare(wrong, got, case.atol, case.rtol) is None
    except Exception:  # a mistake that cannot even be compared is not this one
        return False


def _diagnose(case: Case, got: Any, reason: str | None, mistakes: list[tuple[Any, str]]) -> str | None:
    if reason is None:
        return None
    for wrong, explanation in mistakes:
        if _matches(wrong, got, case):
            return f"{reason} {explanation}"
    return reason


def _macro_accuracy(pred: torch.Tensor, target: torch.Tensor, ignore_index: int | None) -> float:
    keep = torch.ones_like(target, dtype=torch.bool) if ignore_index is None else target != ignore_index
    scores = [float(((pred == c) & (target == c) & keep).sum() / ((target == c) & keep).sum())
              for c in target[keep].unique().tolist()]
    return sum(scores) / len(scores) if scores else math.nan


def _pixel_accuracy_checker(case: Case, got: Any) -> str | None:
    pred, target = case.args
    ignore_index = case.kwargs.get("ignore_index")
    reason = compare(case.expected, got, case.atol, case.rtol)
    if reason is None or ignore_index is None:
        return _diagnose(case, got, reason, [
            (_macro_accuracy(pred, target, ignore_index),
             "That is the *mean per-class* accuracy (macro); pixel accuracy counts every pixel once: correct / all."),
        ])
    return _diagnose(case, got, reason, [
        (float((pred == target).float().mean()),
         f"That counts the ignored pixels (target == {ignore_index}) as wrong: they must not count at all, so "
         f"divide the number of correct kept pixels by the number of pixels you kept (keep = target != ignore_index)."),
        (_macro_accuracy(pred, target, ignore_index),
         "That is the *mean per-class* accuracy (macro); pixel accuracy counts every pixel once: correct / all."),
    ])


def _per_class_checker(case: Case, got: Any, kind: str) -> str | None:
    if isinstance(got, torch.Tensor) and got.is_floating_point() and tuple(got.shape) == tuple(case.expected.shape):
        got = got.double()  # float32 (what int / int gives in torch) is fine if the values are right
    reason = compare(case.expected, got, case.atol, case.rtol)
    if reason is None:
        return None
    (cm,) = case.args
    tp, fp, fn = _tp_fp_fn(cm)
    absent = (tp + fp + fn) == 0
    mistakes = [
        (torch.where(absent, torch.zeros_like(tp), case.expected),
         "A class that is in neither the prediction nor the target has 0 / 0, which is undefined: return NaN "
         "there (dividing tensors does that by itself; do not clamp the denominator), so that averages can "
         "leave the class out."),
        (tp / (tp + fp), "That is the *precision* TP / (TP + FP) (column sums); the score also needs the false "
                         "negatives (row sums)."),
        (tp / (tp + fn), "That is the *recall* TP / (TP + FN) (row sums); the score also needs the false "
                         "positives (column sums)."),
    ]
    if kind == "iou":
        mistakes += [
            (dice_from_cm_reference(cm), "That is the *Dice* score; IoU is TP / (TP + FP + FN), with TP counted once."),
            (tp / (cm.double().sum(0) + cm.double().sum(1)),
             "The union is row sum + column sum − TP: the diagonal is in both sums, so subtract it once."),
        ]
    else:
        mistakes += [
            (iou_from_cm_reference(cm), "That is the *IoU*; Dice counts the true positives twice: 2·TP / (2·TP + FP + FN)."),
            (tp / (2 * tp + fp + fn), "The numerator needs the factor 2: Dice = 2·TP / (2·TP + FP + FN)."),
            (2 * tp / (tp + fp + fn), "The denominator is 2·TP + FP + FN (= predicted pixels + true pixels)."),
        ]
    return _diagnose(case, got, reason, mistakes)


def _iou_checker(case: Case, got: Any) -> str | None:
    return _per_class_checker(case, got, "iou")


def _dice_checker(case: Case, got: Any) -> str | None:
    return _per_class_checker(case, got, "dice")


def _soft_dice_checker(case: Case, got: Any) -> str | None:
    probs, target = case.args
    smooth = case.kwargs.get("smooth", 1.0)
    if isinstance(got, (float, int)) and not isinstance(got, bool):
        return (f"result is a Python number ({got!r}); return the 0-dim tensor itself (no .item()) so that "
                f"loss.backward() can compute gradients.")
    if not isinstance(got, torch.Tensor):
        return f"result should be a torch.Tensor (a 0-dim loss), but it is a {type(got).__name__}."
    if got.ndim != 0:
        return (f"result has shape {tuple(got.shape)}; a loss is one number for the whole batch: sum over all "
                f"pixels of all images, then return a 0-dim tensor.")
    if not got.is_floating_point():
        return f"result has dtype {got.dtype}; a loss must be a float tensor."
    if probs.requires_grad and not got.requires_grad:
        return ("result does not depend on probs for autograd (requires_grad is False): did you threshold the "
                "probabilities, call .item()/.detach(), or go through NumPy? Keep every step in torch.")
    reason = compare(case.expected, got.to(case.expected.dtype), case.atol, case.rtol)
    if reason is None:
        return None
    p, t = probs.detach(), target.to(probs.dtype)
    hard = (p > 0.5).to(p.dtype)
    per_image = torch.stack([soft_dice_loss_reference(p[i], target[i], smooth) for i in range(p.shape[0])]).mean()
    mistakes = [
        (1 - case.expected, "That is the Dice *score*; the loss is 1 − Dice, so that lower is better."),
        (soft_dice_loss_reference(hard, target, smooth),
         "You thresholded the probabilities; the *soft* Dice uses them as they are (0.3 counts as 0.3)."),
        (per_image, "You averaged one loss per image; this exercise sums over the whole batch first "
                    "(intersection = (probs * target).sum() over all images and pixels)."),
        (1 - (2 * (p * t).sum() + smooth) / ((p * p).sum() + (t * t).sum() + smooth),
         "That is the squared variant (Σp² + Σt², as in V-Net); use the plain sums Σp + Σt here."),
        (1 - (2 * (p * t).sum()) / (p.sum() + t.sum() + smooth), "Add `smooth` to the numerator too."),
        (1 - (2 * (p * t).sum() + smooth) / (p.sum() + t.sum()), "Add `smooth` to the denominator too."),
        (1 - (2 * (p * t).sum() + 1.0) / (p.sum() + t.sum() + 1.0), "Use the `smooth` argument, not a fixed 1."),
    ]
    return _diagnose(case, got.to(case.expected.dtype), reason, mistakes)


# ---------------------------------------------------------------------------------------------------
# cases
# ---------------------------------------------------------------------------------------------------
_PRED = torch.tensor([[0, 0, 1, 1],
                      [0, 1, 1, 2],
                      [0, 0, 2, 2]])
_TARGET = torch.tensor([[0, 0, 1, 1],
                        [0, 0, 1, 1],
                        [0, 2, 2, 2]])


def _random_labels(g: torch.Generator, shape: tuple[int, ...], num_classes: int, p_right: float = 0.7):
    target = torch.randint(0, num_classes, shape, generator=g)
    noise = torch.randint(0, num_classes, shape, generator=g)
    pred = torch.where(torch.rand(shape, generator=g) < p_right, target, noise)
    return pred, target


def _random_cm(g: torch.Generator, num_classes: int, absent: int = 0, scale: int = 1000) -> torch.Tensor:
    cm = torch.randint(0, scale, (num_classes, num_classes), generator=g)
    cm += torch.diag(torch.randint(scale, 20 * scale, (num_classes,), generator=g))  # mostly right
    for c in torch.randperm(num_classes, generator=g)[:absent].tolist():
        cm[c, :] = 0
        cm[:, c] = 0
    return cm


@register(
    "pixel-accuracy",
    lesson=LESSON,
    title="Pixel accuracy, skipping ignored pixels",
    hint="keep = target != ignore_index (all True when ignore_index is None); accuracy = "
    "(((pred == target) & keep).sum() / keep.sum()).item(): divide the tensors first (0 / 0 gives NaN "
    "there, not an error), then turn the result into a Python float.",
    checker=_pixel_accuracy_checker,
)
def _pixel_accuracy_cases() -> list[Case]:
    target_void = _TARGET.clone()
    target_void[0, 0] = target_void[1, 1] = 255  # two pixels nobody could label (one predicted right, one wrong)
    cases = [
        Case((_PRED, _TARGET), expected=pixel_accuracy_reference(_PRED, _TARGET),
             description="3×4 label maps, 9 of 12 pixels right -> 0.75"),
        Case((_PRED, target_void), {"ignore_index": 255}, expected=pixel_accuracy_reference(_PRED, target_void, 255),
             description="the same with target[0, 0] and target[1, 1] set to 255 and ignore_index=255: 10 scored, 8 right -> 0.8"),
    ]
    g = torch.Generator().manual_seed(303)
    for shape, c in [((16, 16), 2), ((2, 9, 13), 5), ((31, 7), 3)]:
        pred, target = _random_labels(g, shape, c)
        cases.append(Case((pred, target), expected=pixel_accuracy_reference(pred, target), hidden=True,
                          description=f"random {shape} labels with {c} classes"))
    for shape, c, ignore in [((12, 12), 3, 255), ((3, 8, 8), 4, -1)]:
        pred, target = _random_labels(g, shape, c)
        target = torch.where(torch.rand(shape, generator=g) < 0.2, torch.full_like(target, ignore), target)
        cases.append(Case((pred, target), {"ignore_index": ignore},
                          expected=pixel_accuracy_reference(pred, target, ignore), hidden=True,
                          description=f"random {shape} labels, about 20% of target pixels = ignore_index={ignore}"))
    pred, target = _random_labels(g, (10, 6), 3)
    cases.append(Case((pred, target), {"ignore_index": 2}, expected=pixel_accuracy_reference(pred, target, 2),
                      hidden=True, description="ignore_index=2 is also a class id: every pixel of class 2 is skipped"))
    zeros = torch.zeros(8, 8, dtype=torch.int64)
    cases.append(Case((zeros, zeros), expected=1.0, hidden=True,
                      description="all background, predicted all background: every pixel is right -> 1.0"))
    all_void = torch.full((4, 4), 255)
    cases.append(Case((zeros[:4, :4], all_void), {"ignore_index": 255}, expected=math.nan, hidden=True,
                      description="every target pixel is ignored: nothing to score -> NaN (0 / 0 in torch gives NaN)"))
    return cases


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
    hint="TP = cm.diagonal(); FP = cm.sum(0) − TP (predicted as the class, column sums); FN = cm.sum(1) − TP "
    "(true class, row sums); IoU = TP / (TP + FP + FN). Divide tensors so that 0 / 0 gives NaN.",
    checker=_iou_checker,
)
def _iou_from_cm_cases() -> list[Case]:
    return _cm_cases(iou_from_cm_reference)


@register(
    "dice-from-cm",
    lesson=LESSON,
    title="Per-class Dice from a confusion matrix",
    hint="With TP, FP, FN as in the IoU exercise: Dice = 2·TP / (2·TP + FP + FN); 0 / 0 gives NaN. "
    "(Equivalently Dice = 2·IoU / (1 + IoU).)",
    checker=_dice_checker,
)
def _dice_from_cm_cases() -> list[Case]:
    return _cm_cases(dice_from_cm_reference)


@register(
    "soft-dice-loss",
    lesson=LESSON,
    title="Soft Dice loss for binary segmentation",
    hint="Make target float; intersection = (probs * target).sum(); dice = (2 * intersection + smooth) / "
    "(probs.sum() + target.sum() + smooth); return 1 - dice (a tensor, no .item(), no thresholding).",
    checker=_soft_dice_checker,
)
def _soft_dice_loss_cases() -> list[Case]:
    target = torch.tensor([[[0, 1, 1], [0, 1, 0]]])
    probs = torch.tensor([[[0.1, 0.8, 0.6], [0.2, 0.9, 0.4]]], requires_grad=True)
    perfect = target.float()
    cases = [
        Case((probs, target), expected=soft_dice_loss_reference(probs.detach(), target),
             description="one 2×3 image, 3 foreground pixels, soft probabilities (with requires_grad=True)"),
        Case((perfect, target), expected=soft_dice_loss_reference(perfect, target),
             description="probabilities equal to the target: Dice 1, loss 0"),
        Case((probs.detach(), target), {"smooth": 0.0}, expected=soft_dice_loss_reference(probs.detach(), target, 0.0),
             description="the first case with smooth=0.0"),
    ]
    g = torch.Generator().manual_seed(505)
    for shape, fg in [((2, 8, 8), 0.3), ((4, 16, 12), 0.05), ((1, 5, 7), 0.5)]:
        t = (torch.rand(shape, generator=g) < fg).long()
        p = torch.rand(shape, generator=g).requires_grad_(True)
        cases.append(Case((p, t), expected=soft_dice_loss_reference(p.detach(), t), hidden=True,
                          description=f"random batch {shape}, about {fg:.0%} foreground"))
    t = (torch.rand(3, 10, 10, generator=g) < 0.2).long()
    p = torch.rand(3, 10, 10, generator=g, dtype=torch.float64)
    cases.append(Case((p, t), {"smooth": 0.5}, expected=soft_dice_loss_reference(p, t, 0.5), hidden=True,
                      description="float64 probabilities, smooth=0.5"))
    empty = torch.zeros(2, 6, 6, dtype=torch.int64)
    cases += [
        Case((torch.zeros(2, 6, 6), empty), expected=soft_dice_loss_reference(torch.zeros(2, 6, 6), empty),
             hidden=True, description="empty target and all probabilities 0: both empty -> Dice 1, loss 0 (smooth)"),
        Case((torch.full((2, 6, 6), 0.1), empty), expected=soft_dice_loss_reference(torch.full((2, 6, 6), 0.1), empty),
             hidden=True, description="empty target but probabilities 0.1: the loss is above 0"),
        Case((torch.zeros(1, 4, 4), torch.ones(1, 4, 4, dtype=torch.int64)),
             expected=soft_dice_loss_reference(torch.zeros(1, 4, 4), torch.ones(1, 4, 4, dtype=torch.int64)),
             hidden=True, description="all foreground, predicted all 0: loss close to 1"),
    ]
    return cases
