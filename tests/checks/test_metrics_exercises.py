import math

import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score, f1_score, jaccard_score

from course_lib import losses, metrics
from course_lib.checks import check, exercises_for
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


def test_pixel_accuracy_mistakes(first_failure):
    no_ignore = first_failure("pixel-accuracy", lambda p, t, ignore_index=None: (p == t).float().mean().item(),
                              "ignored pixels counted")
    assert "case 2" in no_ignore.message
    wrong_total = first_failure("pixel-accuracy", lambda p, t, ignore_index=None: (
        ((p == t) & (t != (-1 if ignore_index is None else ignore_index))).sum().item() / t.numel()),
        "ignored pixels counted")
    assert "out of the total" in wrong_total.message
    first_failure("pixel-accuracy", lambda p, t, ignore_index=None: float(metrics.mean_class_accuracy(p, t, 3)),
                  "mean per-class accuracy")
    tensor = first_failure("pixel-accuracy", lambda p, t, ignore_index=None: (p == t).float().mean(),
                           "a tensor, not a float")
    assert ".item()" in tensor.message

    def zero_guard(pred, target, ignore_index=None):
        keep = torch.ones_like(target, dtype=torch.bool) if ignore_index is None else target != ignore_index
        return ((pred == target) & keep).sum().item() / keep.sum().item() if keep.any() else 0.0

    zero = first_failure("pixel-accuracy", zero_guard, "0 instead of NaN when nothing is scored")
    assert "every target pixel is ignored" in zero.message

    def python_division(pred, target, ignore_index=None):
        keep = torch.ones_like(target, dtype=torch.bool) if ignore_index is None else target != ignore_index
        return ((pred == target) & keep).sum().item() / keep.sum().item()  # int / int: 0 / 0 raises

    python_division = first_failure("pixel-accuracy", python_division, None)
    assert "ZeroDivisionError" in python_division.message
    assert "every target pixel is ignored" in python_division.message and "NaN (0 / 0)" in python_division.message


def test_iou_and_dice_mistakes(first_failure):
    clamped = first_failure("iou-from-cm", lambda cm: cm.diag() / (cm.sum(0) + cm.sum(1) - cm.diag()).clamp_min(1),
                            "absent class scored 0")
    assert "got 0.0, expected nan" in clamped.message
    union = first_failure("iou-from-cm", lambda cm: cm.diag() / (cm.sum(0) + cm.sum(1)), "TP counted twice in the union")
    assert "subtract TP once" in union.message
    first_failure("iou-from-cm", lambda cm: cm.diag() / cm.sum(0), "precision instead of IoU")
    first_failure("iou-from-cm", lambda cm: cm.diag() / cm.sum(1), "recall instead of IoU")
    first_failure("iou-from-cm", dice_from_cm_reference, "Dice instead of IoU")
    first_failure("dice-from-cm", lambda cm: cm.diag() / (cm.sum(0) + cm.sum(1)), "factor 2 missing")
    first_failure("dice-from-cm", iou_from_cm_reference, "IoU instead of Dice")
    first_failure("dice-from-cm", lambda cm: 2 * cm.diag() / (cm.sum(0) + cm.sum(1) - cm.diag()), "wrong denominator")
    first_failure("dice-from-cm", lambda cm: (2 * cm.diag() / (cm.sum(0) + cm.sum(1))).nan_to_num(0.0),
                  "absent class scored 0")
    numpy_back = first_failure("dice-from-cm", lambda cm: dice_from_cm_reference(cm).numpy(), None)
    assert "torch.Tensor" in numpy_back.message and "mistake:" not in numpy_back.message


def _dice(p, t, smooth=1.0):
    return 1 - (2 * (p * t).sum() + smooth) / (p.sum() + t.sum() + smooth)


def test_soft_dice_mistakes(first_failure):
    item = first_failure("soft-dice-loss", lambda p, t, smooth=1.0: _dice(p, t, smooth).item(),
                         "a Python number, not a tensor")
    assert "loss.backward()" in item.message
    first_failure("soft-dice-loss", lambda p, t, smooth=1.0: 1 - _dice(p, t, smooth), "Dice score, not loss")
    hard = first_failure("soft-dice-loss", lambda p, t, smooth=1.0: _dice((p > 0.5).float(), t, smooth),
                         "thresholded probabilities")
    assert "requires_grad" in hard.message
    first_failure("soft-dice-loss",
                  lambda p, t, smooth=1.0: torch.stack([_dice(a, b, smooth) for a, b in zip(p, t)]).mean(),
                  "one loss per image, averaged")
    first_failure("soft-dice-loss",
                  lambda p, t, smooth=1.0: 1 - (2 * (p * t).sum() + smooth) / ((p * p).sum() + (t * t).sum() + smooth),
                  "squared sums")
    fixed = first_failure("soft-dice-loss", lambda p, t, smooth=1.0: _dice(p, t, 1.0), "a fixed smooth of 1")
    assert "smooth=0.0" in fixed.message
    first_failure("soft-dice-loss", lambda p, t, smooth=1.0: 1 - 2 * (p * t).sum() / (p.sum() + t.sum() + smooth),
                  "smooth missing from the numerator")
    first_failure("soft-dice-loss", lambda p, t, smooth=1.0: 1 - (2 * (p * t).sum() + smooth) / (p.sum() + t.sum()),
                  "smooth missing from the denominator")
    per_pixel = first_failure("soft-dice-loss", lambda p, t, smooth=1.0: 1 - (2 * p * t + smooth) / (p + t + smooth),
                              "no sum: one loss per pixel")
    assert "0-dim" in per_pixel.message
