"""Exercises of lesson 03 (metrics and losses): pixel accuracy, IoU and Dice from a confusion matrix, soft Dice loss.

The reference answers here agree with ``course_lib.metrics`` and ``course_lib.losses`` (tested in
``tests/checks/test_metrics_exercises.py``); the lesson goes on with those after each exercise.

One module per topic; importing this package registers the exercises in the lesson's order.
"""

from __future__ import annotations

from .common import LESSON
from .pixel_accuracy import pixel_accuracy_reference
from .scores_from_cm import dice_from_cm_reference, iou_from_cm_reference
from .soft_dice_loss import soft_dice_loss_reference

__all__ = [
    "pixel_accuracy_reference",
    "iou_from_cm_reference",
    "dice_from_cm_reference",
    "soft_dice_loss_reference",
]



