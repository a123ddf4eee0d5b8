"""course_lib.selection: the worst classes of a confusion matrix, the best architecture within limits."""

import pytest
import torch

from course_lib import selection

ROWS = [{"name": "fcn", "params": 50_000, "images_per_s": 900, "miou": 0.40},
        {"name": "unet", "params": 150_000, "images_per_s": 300, "miou": 0.55},
        {"name": "deeplab", "params": 900_000, "images_per_s": 120, "miou": 0.60}]


def test_worst_classes_skip_classes_with_no_pixel():
    cm = torch.tensor([[8, 2, 0, 0], [4, 4, 0, 0], [0, 0, 0, 0], [0, 0, 1, 9]])  # class 2: predicted once, never true
    assert selection.worst_classes(cm, ["a", "b", "c", "d"], k=2) == ["c", "b"]
    cm[3, 2] = 0
    assert selection.worst_classes(cm, ["a", "b", "c", "d"], k=5) == ["b", "a", "d"]


def test_worst_classes_need_one_name_per_class():
    with pytest.raises(ValueError, match="one per class"):
        selection.worst_classes(torch.eye(3, dtype=torch.long), ["a", "b"])


def test_pick_architecture_respects_the_limits():
    assert selection.pick_architecture(ROWS) == "deeplab"
    assert selection.pick_architecture(ROWS, max_params=200_000) == "unet"
    assert selection.pick_architecture(ROWS, min_speed=500) == "fcn"
    assert selection.pick_architecture(ROWS, max_params=10_000) is None
    with pytest.raises(ValueError, match="max_params"):
        selection.pick_architecture(ROWS, max_params=-1)
