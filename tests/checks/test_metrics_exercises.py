import math

import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score, f1_score, jaccard_score

from course_lib import losses, metrics
from course_lib.checks import EXERCISES, Status, check, exercises_for, reset_hints
from course_lib.checks.metrics import (dice_from_cm_reference, iou_from_cm_reference, pixel_accuracy_reference,
                                       soft_dice_loss_reference)

REFERENCES = {
    "pixel-accuracy": pixel_accuracy_reference,
    "iou-from-cm": iou_from_cm_reference,
    "dice-from-cm": dice_from_cm_reference,
    "soft-dice-loss": soft_dice_loss_reference,
}


def _labels(seed, shape=(3, 17, 19), num_classes=5):
    g = torch.Generator().manual_seed(seed)
    target = torch.randint(0, num_classes, shape, generator=g)
    pred = torch.where(torch.rand(shape, generator=g) < 0.6, target, torch.randint(0, num_classes, shape, generator=g))
    return pred, target


# ---- the references agree with course_lib and scikit-learn ---------------------------------------
@pytest.mark.parametrize("seed", range(4))
def test_pixel_accuracy_reference_matches_course_lib_and_sklearn(seed):
    pred, target = _labels(seed)
    assert pixel_accuracy_reference(pred, target) == pytest.approx(accuracy_score(target.flatten(), pred.flatten()))
    target[:, :3] = 255
    ours = pixel_accuracy_reference(pred, target, ignore_index=255)
    assert isinstance(ours, float)
    assert ours == pytest.approx(float(metrics.pixel_accuracy(pred, target, 5, ignore_index=255, average="micro")))
    assert math.isnan(pixel_accuracy_reference(pred, torch.full_like(target, 255), ignore_index=255))


@pytest.mark.parametrize("seed", range(4))
def test_cm_references_match_course_lib_and_sklearn(seed):
    pred, target = _labels(seed, num_classes=6)
    pred[pred == 5] = 0
    target[target == 5] = 0  # class 5 absent from both: NaN
    cm = metrics.confusion_matrix(pred, target, 6)
    iou, dice = iou_from_cm_reference(cm), dice_from_cm_reference(cm)
    assert iou.dtype == dice.dtype == torch.float64 and iou.shape == dice.shape == (6,)
    assert torch.allclose(iou, metrics.iou_from_confusion(cm, average=None), equal_nan=True)
    assert torch.allclose(dice, metrics.dice_from_confusion(cm, average=None), equal_nan=True)
    assert math.isnan(iou[5]) and math.isnan(dice[5])
    y, p = target.flatten().numpy(), pred.flatten().numpy()
    assert np.allclose(iou[:5].numpy(), jaccard_score(y, p, labels=range(5), average=None))
    assert np.allclose(dice[:5].numpy(), f1_score(y, p, labels=range(5), average=None))
    assert torch.allclose(dice, 2 * iou / (1 + iou), equal_nan=True)


def test_soft_dice_reference_matches_course_lib_and_has_gradients():
    g = torch.Generator().manual_seed(0)
    target = (torch.rand(4, 9, 11, generator=g) < 0.2).long()
    logits = torch.randn(4, 1, 9, 11, generator=g, requires_grad=True)
    for smooth in (0.0, 1.0, 2.5):
        ours = soft_dice_loss_reference(torch.sigmoid(logits[:, 0]), target, smooth=smooth)
        theirs = losses.soft_dice_loss(logits, target, smooth=smooth)
        assert ours.ndim == 0 and torch.allclose(ours, theirs, atol=1e-6)
    ours.backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0
    empty = torch.zeros(2, 5, 5, dtype=torch.long)
    assert soft_dice_loss_reference(torch.zeros(2, 5, 5), empty) == 0  # both empty: Dice 1
    assert soft_dice_loss_reference(torch.full((2, 5, 5), 0.2), empty) > 0.8  # false alarm on an empty batch


# ---- the checks ----------------------------------------------------------------------------------
def test_lesson_has_checked_exercises_with_visible_hidden_cases_and_hints():
    exercises = exercises_for("03_metrics_losses")
    assert {e.id for e in exercises} == set(REFERENCES)
    for ex in exercises:
        cases = ex.make_cases()
        assert sum(not c.hidden for c in cases) >= 2 and sum(c.hidden for c in cases) >= 5, ex.id
        assert ex.hint and all(c.description for c in cases if not c.hidden), ex.id
        assert ex.function_name == ex.id.replace("-", "_")
        assert any("empty" in c.description or "ignored" in c.description or "absent" in c.description
                   or "never" in c.description for c in cases if c.hidden), ex.id  # the edge cases are there


def test_typical_correct_answers_pass():
    def accuracy(pred, target, ignore_index=None):
        keep = target != ignore_index if ignore_index is not None else torch.ones_like(target, dtype=torch.bool)
        return (pred[keep] == target[keep]).float().mean().item()

    assert check("pixel-accuracy", accuracy).ok
    assert check("iou-from-cm", lambda cm: cm.diag() / (cm.sum(0) + cm.sum(1) - cm.diag())).ok  # float32 is fine
    assert check("dice-from-cm", lambda cm: 2 * cm.diag() / (cm.sum(0) + cm.sum(1))).ok
    assert check("soft-dice-loss", lambda p, t, smooth=1.0: 1 - (2 * (p * t).sum() + smooth) / (p.sum() + t.sum() + smooth)).ok


def _first_try(exercise, func):
    """Check ``func`` as a learner's first try: the verdict shows the idea (step 1) only."""
    reset_hints(exercise)
    result = check(exercise, func)
    reset_hints(exercise)
    hints = EXERCISES[exercise].hints
    assert result.status == Status.FAILED and "step 1 of 3" in result.message and hints[0] in result.message
    assert hints[1] not in result.message and hints[2] not in result.message
    return result


def test_pixel_accuracy_mistakes():
    no_ignore = _first_try("pixel-accuracy", lambda p, t, ignore_index=None: (p == t).float().mean().item())
    assert "case 2" in no_ignore.message and "mistake:  ignored pixels counted:" in no_ignore.message
    wrong_total = _first_try("pixel-accuracy", lambda p, t, ignore_index=None: (
        ((p == t) & (t != (-1 if ignore_index is None else ignore_index))).sum().item() / t.numel()))
    assert "mistake:  ignored pixels counted:" in wrong_total.message and "out of the total" in wrong_total.message
    macro = _first_try("pixel-accuracy", lambda p, t, ignore_index=None: float(metrics.mean_class_accuracy(p, t, 3)))
    assert "mistake:  mean per-class accuracy:" in macro.message
    tensor = _first_try("pixel-accuracy", lambda p, t, ignore_index=None: (p == t).float().mean())
    assert ".item()" in tensor.message and "mistake:  a tensor, not a float:" in tensor.message

    def zero_guard(pred, target, ignore_index=None):
        keep = torch.ones_like(target, dtype=torch.bool) if ignore_index is None else target != ignore_index
        return ((pred == target) & keep).sum().item() / keep.sum().item() if keep.any() else 0.0

    zero = _first_try("pixel-accuracy", zero_guard)
    assert "every target pixel is ignored" in zero.message
    assert "mistake:  0 instead of NaN when nothing is scored:" in zero.message

    def python_division(pred, target, ignore_index=None):
        keep = torch.ones_like(target, dtype=torch.bool) if ignore_index is None else target != ignore_index
        return ((pred == target) & keep).sum().item() / keep.sum().item()  # int / int: 0 / 0 raises

    python_division = _first_try("pixel-accuracy", python_division)
    assert "ZeroDivisionError" in python_division.message
    assert "every target pixel is ignored" in python_division.message and "NaN (0 / 0)" in python_division.message


def test_iou_and_dice_mistakes():
    clamped = _first_try("iou-from-cm", lambda cm: cm.diag() / (cm.sum(0) + cm.sum(1) - cm.diag()).clamp_min(1))
    assert "got 0.0, expected nan" in clamped.message and "mistake:  absent class scored 0:" in clamped.message
    union = _first_try("iou-from-cm", lambda cm: cm.diag() / (cm.sum(0) + cm.sum(1)))
    assert "mistake:  TP counted twice in the union:" in union.message and "subtract TP once" in union.message
    precision = _first_try("iou-from-cm", lambda cm: cm.diag() / cm.sum(0))
    assert "mistake:  precision instead of IoU:" in precision.message
    recall = _first_try("iou-from-cm", lambda cm: cm.diag() / cm.sum(1))
    assert "mistake:  recall instead of IoU:" in recall.message
    dice_instead = _first_try("iou-from-cm", dice_from_cm_reference)
    assert "mistake:  Dice instead of IoU:" in dice_instead.message
    no_two = _first_try("dice-from-cm", lambda cm: cm.diag() / (cm.sum(0) + cm.sum(1)))
    assert "mistake:  factor 2 missing:" in no_two.message
    iou_instead = _first_try("dice-from-cm", iou_from_cm_reference)
    assert "mistake:  IoU instead of Dice:" in iou_instead.message
    twice_iou = _first_try("dice-from-cm", lambda cm: 2 * cm.diag() / (cm.sum(0) + cm.sum(1) - cm.diag()))
    assert "mistake:  wrong denominator:" in twice_iou.message
    nan_to_zero = _first_try("dice-from-cm", lambda cm: (2 * cm.diag() / (cm.sum(0) + cm.sum(1))).nan_to_num(0.0))
    assert "mistake:  absent class scored 0:" in nan_to_zero.message
    numpy_back = _first_try("dice-from-cm", lambda cm: dice_from_cm_reference(cm).numpy())
    assert "torch.Tensor" in numpy_back.message and "mistake:" not in numpy_back.message


def _dice(p, t, smooth=1.0):
    return 1 - (2 * (p * t).sum() + smooth) / (p.sum() + t.sum() + smooth)


def test_soft_dice_mistakes():
    item = _first_try("soft-dice-loss", lambda p, t, smooth=1.0: _dice(p, t, smooth).item())
    assert "loss.backward()" in item.message and "mistake:  a Python number, not a tensor:" in item.message
    score = _first_try("soft-dice-loss", lambda p, t, smooth=1.0: 1 - _dice(p, t, smooth))
    assert "mistake:  Dice score, not loss:" in score.message
    hard = _first_try("soft-dice-loss", lambda p, t, smooth=1.0: _dice((p > 0.5).float(), t, smooth))
    assert "requires_grad" in hard.message and "mistake:  thresholded probabilities:" in hard.message
    per_image = _first_try("soft-dice-loss",
                           lambda p, t, smooth=1.0: torch.stack([_dice(a, b, smooth) for a, b in zip(p, t)]).mean())
    assert "mistake:  one loss per image, averaged:" in per_image.message
    squared = _first_try("soft-dice-loss", lambda p, t, smooth=1.0: 1 - (2 * (p * t).sum() + smooth) / ((p * p).sum() + (t * t).sum() + smooth))
    assert "mistake:  squared sums:" in squared.message
    fixed = _first_try("soft-dice-loss", lambda p, t, smooth=1.0: _dice(p, t, 1.0))
    assert "smooth=0.0" in fixed.message and "mistake:  a fixed smooth of 1:" in fixed.message
    no_smooth_top = _first_try("soft-dice-loss", lambda p, t, smooth=1.0: 1 - 2 * (p * t).sum() / (p.sum() + t.sum() + smooth))
    assert "mistake:  smooth missing from the numerator:" in no_smooth_top.message
    no_smooth_bottom = _first_try("soft-dice-loss", lambda p, t, smooth=1.0: 1 - (2 * (p * t).sum() + smooth) / (p.sum() + t.sum()))
    assert "mistake:  smooth missing from the denominator:" in no_smooth_bottom.message
    per_pixel = _first_try("soft-dice-loss", lambda p, t, smooth=1.0: 1 - (2 * p * t + smooth) / (p + t + smooth))
    assert "0-dim" in per_pixel.message and "mistake:  no sum: one loss per pixel:" in per_pixel.message
