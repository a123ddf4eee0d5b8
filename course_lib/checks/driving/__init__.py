"""Exercises of the autonomous-driving capstone: class weights without void, mIoU vs micro IoU, ONNX outputs that match.

Conventions (CamVid-11): classes 0..10 are scored, label 11 is *void* (unlabelled pixels). Void target pixels
are ignored exactly as ``course_lib.metrics`` does with ``ignore_index=11``: they count for no class, and what
the model predicts there does not matter (tested in ``tests/checks/test_driving_exercises.py``).

One module per exercise; importing this package registers them in the lesson's order.
"""

from __future__ import annotations

from .common import LESSON, NUM_CLASSES, VOID
from .sqrt_class_weights import sqrt_class_weights_reference
from .miou_and_micro import miou_and_micro_reference
from .outputs_match import outputs_match_reference

__all__ = ["sqrt_class_weights_reference", "miou_and_micro_reference", "outputs_match_reference"]



