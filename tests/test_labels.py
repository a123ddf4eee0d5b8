"""course_lib.labels: foreground share and per-class pixel counts of a label map."""

import pytest
import torch

from course_lib import labels


def test_foreground_fraction_counts_every_non_background_label():
    label_map = torch.tensor([[0, 1, 2, 0], [0, 0, 1, 0]])
    assert labels.foreground_fraction(label_map) == pytest.approx(3 / 8)
    assert labels.foreground_fraction(label_map, background=1) == pytest.approx(6 / 8)
    assert isinstance(labels.foreground_fraction(label_map), float)


def test_class_pixel_counts_are_int64_with_absent_classes_zero():
    got = labels.class_pixel_counts(torch.tensor([[0, 0, 2], [2, 2, 0]], dtype=torch.uint8), 4)
    assert got.dtype == torch.int64 and got.tolist() == [3, 0, 3, 0]


def test_bad_label_maps_are_refused():
    with pytest.raises(ValueError, match="integer"):
        labels.foreground_fraction(torch.zeros(2, 2))
    with pytest.raises(ValueError, match="outside 0..1"):
        labels.class_pixel_counts(torch.tensor([0, 2]), 2)
