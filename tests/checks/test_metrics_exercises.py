import math

import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score, f1_score, jaccard_score

from course_lib import losses, metrics
from course_lib.checks import Status, check, exercises_for
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


def test_pixel_accuracy_mistakes():
    no_ignore = check("pixel-accuracy", lambda p, t, ignore_index=None: (p == t).float().mean().item())
    assert no_ignore.status == Status.FAILED and "case 2" in no_ignore.message
    assert "counts the ignored pixels (target == 255) as wrong" in no_ignore.message
    wrong_total = check("pixel-accuracy", lambda p, t, ignore_index=None: (
        ((p == t) & (t != (-1 if ignore_index is None else ignore_index))).sum().item() / t.numel()))
    assert wrong_total.status == Status.FAILED and "divide the number of correct kept pixels" in wrong_total.message
    macro = check("pixel-accuracy", lambda p, t, ignore_index=None: float(metrics.pixel_accuracy(p, t, 3)))
    assert macro.status == Status.FAILED and "*mean per-class* accuracy" in macro.message
    tensor = check("pixel-accuracy", lambda p, t, ignore_index=None: (p == t).float().mean())
    assert tensor.status == Status.FAILED and ".item()" in tensor.message
    def python_division(pred, target, ignore_index=None):
        keep = torch.ones_like(target, dtype=torch.bool) if ignore_index is None else target != ignore_index
        return ((pred == target) & keep).sum().item() / keep.sum().item()  # int / int: 0 / 0 raises

    python_division = check("pixel-accuracy", python_division)
    assert python_division.status == Status.FAILED and "ZeroDivisionError" in python_division.message
    assert "every target pixel is ignored" in python_division.message and "0 / 0 gives NaN" in python_division.message


def test_iou_and_dice_mistakes():
    clamped = check("iou-from-cm", lambda cm: cm.diag() / (cm.sum(0) + cm.sum(1) - cm.diag()).clamp_min(1))
    assert clamped.status == Status.FAILED and "return NaN" in clamped.message and "got 0.0, expected nan" in clamped.message
    union = check("iou-from-cm", lambda cm: cm.diag() / (cm.sum(0) + cm.sum(1)))
    assert union.status == Status.FAILED and "subtract it once" in union.message
    precision = check("iou-from-cm", lambda cm: cm.diag() / cm.sum(0))
    assert precision.status == Status.FAILED and "*precision*" in precision.message
    dice_instead = check("iou-from-cm", dice_from_cm_reference)
    assert dice_instead.status == Status.FAILED and "That is the *Dice* score" in dice_instead.message
    no_two = check("dice-from-cm", lambda cm: cm.diag() / (cm.sum(0) + cm.sum(1)))
    assert no_two.status == Status.FAILED and "factor 2" in no_two.message
    iou_instead = check("dice-from-cm", iou_from_cm_reference)
    assert iou_instead.status == Status.FAILED and "That is the *IoU*" in iou_instead.message
    numpy_back = check("dice-from-cm", lambda cm: dice_from_cm_reference(cm).numpy())
    assert numpy_back.status == Status.FAILED and "torch.Tensor" in numpy_back.message


def _dice(p, t, smooth=1.0):
    return 1 - (2 * (p * t).sum() + smooth) / (p.sum() + t.sum() + smooth)


def test_soft_dice_mistakes():
    item = check("soft-dice-loss", lambda p, t, smooth=1.0: _dice(p, t, smooth).item())
    assert item.status == Status.FAILED and "loss.backward()" in item.message
    score = check("soft-dice-loss", lambda p, t, smooth=1.0: 1 - _dice(p, t, smooth))
    assert score.status == Status.FAILED and "Dice *score*" in score.message
    hard = check("soft-dice-loss", lambda p, t, smooth=1.0: _dice((p > 0.5).float(), t, smooth))
    assert hard.status == Status.FAILED and "requires_grad" in hard.message
    per_image = check("soft-dice-loss", lambda p, t, smooth=1.0: torch.stack([_dice(a, b, smooth) for a, b in zip(p, t)]).mean())
    assert per_image.status == Status.FAILED and "one loss per image" in per_image.message
    squared = check("soft-dice-loss", lambda p, t, smooth=1.0: 1 - (2 * (p * t).sum() + smooth) / ((p * p).sum() + (t * t).sum() + smooth))
    assert squared.status == Status.FAILED and "squared variant" in squared.message
    fixed = check("soft-dice-loss", lambda p, t, smooth=1.0: _dice(p, t, 1.0))
    assert fixed.status == Status.FAILED and "smooth=0.0" in fixed.message and "not a fixed 1" in fixed.message
    no_smooth_top = check("soft-dice-loss", lambda p, t, smooth=1.0: 1 - 2 * (p * t).sum() / (p.sum() + t.sum() + smooth))
    assert no_smooth_top.status == Status.FAILED and "numerator" in no_smooth_top.message
    per_pixel = check("soft-dice-loss", lambda p, t, smooth=1.0: 1 - (2 * p * t + smooth) / (p + t + smooth))
    assert per_pixel.status == Status.FAILED and "0-dim" in per_pixel.message
