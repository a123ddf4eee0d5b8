"""The course_lib.metrics package: one module per concern, re-exported under the names the lessons use."""

from __future__ import annotations

import importlib

import pytest

from course_lib import metrics as M

MODULES = ["semantic", "boundary", "instance", "binary", "thin_structures", "inputs", "panoptic"]

PUBLIC = [
    "confusion_matrix", "iou", "dice", "pixel_accuracy", "mean_class_accuracy", "iou_from_confusion",
    "dice_from_confusion", "accuracy_from_confusion", "SegmentationMeter", "boundary_f1", "hausdorff95",
    "mask_iou_matrix", "MatchResult", "match_instances", "masks_from_instance_ids", "mask_ap_per_class",
    "mask_average_precision", "to_panoptic", "panoptic_quality", "segment_quality", "IGNORE", "binary_scores", "roc_auc", "best_threshold", "cldice", "vessel_width_map",
    "WidthRecall", "recall_by_width",
]  # fmt: skip


def test_package_exports_the_same_public_names_in_the_same_order():
    assert M.__all__ == PUBLIC
    assert all(hasattr(M, name) for name in M.__all__)


@pytest.mark.parametrize("name", MODULES)
def test_each_module_declares_all_and_every_package_name_comes_from_one_module(name):
    mod = importlib.import_module(f"course_lib.metrics.{name}")
    assert isinstance(mod.__all__, list) and mod.__all__
    assert all(hasattr(mod, n) for n in mod.__all__)
    for n in set(mod.__all__) & set(M.__all__):
        assert getattr(M, n) is getattr(mod, n)


def test_every_public_name_has_exactly_one_home():
    homes = {n: [m for m in MODULES if n in importlib.import_module(f"course_lib.metrics.{m}").__all__] for n in PUBLIC}
    assert all(len(h) == 1 for h in homes.values()), homes
