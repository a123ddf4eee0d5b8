"""Exercises of lesson 03 (metrics and losses): pixel accuracy, IoU and Dice from a confusion matrix, soft Dice loss.

The reference answers here agree with ``course_lib.metrics`` and ``course_lib.losses`` (tested in
``tests/checks/test_metrics_exercises.py``); the lesson goes on with those after each exercise.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from .core import Case, Mistake, compare
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
# typical mistakes (each a wrong answer with the exercise's signature) and the checkers
# ---------------------------------------------------------------------------------------------------
def _macro_accuracy(pred: torch.Tensor, target: torch.Tensor, ignore_index: int | None = None) -> float:
    """Mistake: the mean per-class accuracy (macro) instead of the pixel accuracy."""
    keep = torch.ones_like(target, dtype=torch.bool) if ignore_index is None else target != ignore_index
    scores = [float(((pred == c) & (target == c) & keep).sum() / ((target == c) & keep).sum())
              for c in target[keep].unique().tolist()]
    return sum(scores) / len(scores) if scores else math.nan


def _accuracy_counting_ignored(pred: torch.Tensor, target: torch.Tensor, ignore_index: int | None = None) -> float:
    """Mistake: the ignored pixels stay in the count (as wrong pixels)."""
    return (pred == target).float().mean().item()


def _accuracy_zero_when_nothing_scored(pred: torch.Tensor, target: torch.Tensor, ignore_index: int | None = None) -> float:
    """Mistake: 0.0 instead of NaN when every pixel is ignored (a guard against dividing by zero)."""
    keep = torch.ones_like(target, dtype=torch.bool) if ignore_index is None else target != ignore_index
    if int(keep.sum()) == 0:
        return 0.0
    return int(((pred == target) & keep).sum()) / int(keep.sum())


def _accuracy_as_tensor(pred: torch.Tensor, target: torch.Tensor, ignore_index: int | None = None) -> torch.Tensor:
    """Mistake: the right value, but a 0-dim tensor instead of a Python float."""
    keep = torch.ones_like(target, dtype=torch.bool) if ignore_index is None else target != ignore_index
    return ((pred == target) & keep).sum() / keep.sum()


_PIXEL_ACCURACY_MISTAKES = (
    Mistake("mean per-class accuracy", _macro_accuracy,
            "that is the mean of the per-class accuracies (macro, metrics.mean_class_accuracy); pixel accuracy "
            "counts every scored pixel once: correct pixels / scored pixels, so big classes weigh more."),
    Mistake("0 instead of NaN when nothing is scored", _accuracy_zero_when_nothing_scored,
            "when every target pixel is ignored there is nothing to score: 0 / 0 is undefined, so the answer is "
            "NaN, not 0.0 (a 0.0 would pull an average down). Dividing tensors gives NaN by itself."),
    Mistake("ignored pixels counted", _accuracy_counting_ignored,
            "pixels whose target is ignore_index must not count at all, neither as right nor as wrong: leave them "
            "out of the total as well as out of the correct pixels."),
    Mistake("a tensor, not a float", _accuracy_as_tensor,
            "the value may be right, but the exercise asks for a plain Python float: turn the 0-dim tensor into "
            "a number with .item().",
            detect=lambda case, got, reason: isinstance(got, torch.Tensor)),
)


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


def _soft_dice_checker(case: Case, got: Any) -> str | None:
    probs, target = case.args
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
    return compare(case.expected, got.to(case.expected.dtype), case.atol, case.rtol)


def _loss_like(wrong):
    """Recognise a soft-Dice mistake by the value of the loss (whatever the checker found first)."""
    def detect(case: Case, got: Any, reason: str) -> bool:
        if not (isinstance(got, torch.Tensor) and got.ndim == 0 and got.is_floating_point()):
            return False
        value = torch.as_tensor(wrong(*case.args, **case.kwargs)).detach().to(case.expected.dtype)
        if compare(case.expected, value, case.atol, case.rtol) is None:
            return False
        return compare(value, got.detach().to(case.expected.dtype), case.atol, case.rtol) is None
    return detect


def _soft_dice_score(probs, target, smooth=1.0):
    t = target.to(probs.dtype)
    return (2 * (probs * t).sum() + smooth) / (probs.sum() + t.sum() + smooth)


def _soft_dice_thresholded(probs, target, smooth=1.0):
    return soft_dice_loss_reference((probs > 0.5).to(probs.dtype), target, smooth)


def _soft_dice_per_image(probs, target, smooth=1.0):
    return torch.stack([soft_dice_loss_reference(p, t, smooth) for p, t in zip(probs, target)]).mean()


def _soft_dice_squared(probs, target, smooth=1.0):
    t = target.to(probs.dtype)
    return 1 - (2 * (probs * t).sum() + smooth) / ((probs * probs).sum() + (t * t).sum() + smooth)


def _soft_dice_no_smooth_top(probs, target, smooth=1.0):
    t = target.to(probs.dtype)
    return 1 - 2 * (probs * t).sum() / (probs.sum() + t.sum() + smooth)


def _soft_dice_no_smooth_bottom(probs, target, smooth=1.0):
    t = target.to(probs.dtype)
    return 1 - (2 * (probs * t).sum() + smooth) / (probs.sum() + t.sum())


def _soft_dice_fixed_smooth(probs, target, smooth=1.0):
    return soft_dice_loss_reference(probs, target, 1.0)


def _soft_dice_item(probs, target, smooth=1.0):
    return soft_dice_loss_reference(probs, target, smooth).item()


def _soft_dice_per_pixel(probs, target, smooth=1.0):
    t = target.to(probs.dtype)
    return 1 - (2 * probs * t + smooth) / (probs + t + smooth)


_SOFT_DICE_MISTAKES = (
    Mistake("Dice score, not loss", _soft_dice_score,
            "that is the Dice score, where higher is better; a loss must get lower as the prediction gets better, "
            "so return 1 minus the score.", detect=_loss_like(_soft_dice_score)),
    Mistake("thresholded probabilities", _soft_dice_thresholded,
            "the soft Dice uses the probabilities as they are (0.3 counts as 0.3): thresholding gives no gradient, "
            "so the network could not learn from this loss.", detect=_loss_like(_soft_dice_thresholded)),
    Mistake("one loss per image, averaged", _soft_dice_per_image,
            "this exercise sums the overlap and the sizes over the whole batch first, then takes one Dice; a "
            "mean of per-image losses weighs a small object as much as a big one.",
            detect=_loss_like(_soft_dice_per_image)),
    Mistake("squared sums", _soft_dice_squared,
            "that is the squared variant of V-Net (sum of p² + sum of t²); use the plain sums of probabilities "
            "and of target here.", detect=_loss_like(_soft_dice_squared)),
    Mistake("smooth missing from the numerator", _soft_dice_no_smooth_top,
            "add smooth to the numerator too: with it on both sides two empty masks give Dice 1 (loss 0), not 0.",
            detect=_loss_like(_soft_dice_no_smooth_top)),
    Mistake("smooth missing from the denominator", _soft_dice_no_smooth_bottom,
            "add smooth to the denominator too: it keeps the fraction at most 1 and avoids 0 / 0 on empty masks.",
            detect=_loss_like(_soft_dice_no_smooth_bottom)),
    Mistake("a fixed smooth of 1", _soft_dice_fixed_smooth,
            "use the smooth argument the caller passes, not the constant 1.", detect=_loss_like(_soft_dice_fixed_smooth)),
    Mistake("a Python number, not a tensor", _soft_dice_item,
            "calling .item() (or float()) cuts the loss off from autograd: loss.backward() needs the 0-dim tensor.",
            detect=lambda case, got, reason: isinstance(got, (float, int)) and not isinstance(got, bool)),
    Mistake("no sum: one loss per pixel", _soft_dice_per_pixel,
            "the formula was applied pixel by pixel; sum the overlap and the sizes over all pixels first, then "
            "build one Dice for the whole batch.",
            detect=lambda case, got, reason: isinstance(got, torch.Tensor) and got.ndim > 0),
)


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
    hints=(
        "Pixel accuracy is the number of correctly labelled pixels divided by the number of scored pixels. A pixel "
        "whose target is the ignore label is not scored at all: it is neither right nor wrong, and it is not in the "
        "total either. If no pixel is left to score, the answer is NaN (0 / 0).",
        "Build a boolean mask keep that is target != ignore_index, or all True when ignore_index is None "
        "(torch.ones_like(target, dtype=torch.bool)). Count with .sum() and divide the two tensors, not Python "
        "ints: torch gives NaN for 0 / 0 where Python raises ZeroDivisionError. Return a float with .item().",
        "keep = target != ignore_index (all True when ignore_index is None); accuracy = "
        "(((pred == target) & keep).sum() / keep.sum()).item(): divide the tensors first (0 / 0 gives NaN "
        "there, not an error), then turn the result into a Python float.",
    ),
    mistakes=_PIXEL_ACCURACY_MISTAKES,
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


@register(
    "soft-dice-loss",
    lesson=LESSON,
    title="Soft Dice loss for binary segmentation",
    hints=(
        "Soft Dice uses the probabilities as they are, without a threshold: the overlap is the sum of probability "
        "times target over every pixel of every image, and Dice is twice the overlap plus smooth, over the sum of "
        "the probabilities plus the sum of the target plus smooth. The loss is 1 minus Dice, one number for the "
        "whole batch, and it must stay a tensor so that gradients can flow.",
        "Convert the target with target.to(probs.dtype); sum with .sum() over everything (no dim=); put smooth in "
        "both the numerator and the denominator; never call .item(), .detach() or compare with 0.5.",
        "Make target float; intersection = (probs * target).sum(); dice = (2 * intersection + smooth) / "
        "(probs.sum() + target.sum() + smooth); return 1 - dice (a tensor, no .item(), no thresholding).",
    ),
    mistakes=_SOFT_DICE_MISTAKES,
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
