"""Tests of course_lib.metrics.inputs: the argument conversion and checks every metric module shares."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course_lib.metrics.inputs import (
    check_ignore_index,
    check_labels,
    check_num_classes,
    float_dtype,
    label_tensor,
    to_tensor,
)


def test_to_tensor_converts_numpy_and_lists_and_rejects_other_types():
    assert to_tensor(np.array([1, 2], dtype=np.uint16), "x").dtype == torch.int64  # no torch uint16 arithmetic
    assert to_tensor(np.array([True]), "x").dtype == torch.bool
    assert torch.equal(to_tensor([[1, 2]], "x"), torch.tensor([[1, 2]]))
    t = torch.zeros(2)
    assert to_tensor(t, "x") is t
    with pytest.raises(ValueError, match="x is a numpy array of dtype <U1"):
        to_tensor(np.array(["a"]), "x")
    with pytest.raises(TypeError, match="x must be a torch.Tensor or numpy array, got str"):
        to_tensor("a", "x")


def test_label_tensor_views_bool_as_uint8_and_refuses_scores():
    assert label_tensor(torch.tensor([True, False]), "pred").dtype == torch.uint8
    with pytest.raises(ValueError, match=r"pred=logits.argmax\(dim=1\)"):
        label_tensor(torch.zeros(2), "pred")


def test_scalar_checks_name_the_argument():
    assert check_num_classes(np.int64(3)) == 3 and type(check_num_classes(np.int64(3))) is int
    for bad in (0, 2.0, True, None):
        with pytest.raises(ValueError, match="num_classes="):
            check_num_classes(bad)
    assert check_ignore_index(None) is None and check_ignore_index(-1) == -1
    assert check_ignore_index(np.int16(255)) == 255
    for bad in (1.5, True, "255"):
        with pytest.raises(ValueError, match="ignore_index="):
            check_ignore_index(bad)


def test_check_labels_skips_ignored_target_pixels_only():
    t = torch.tensor([[0, 255], [1, 1]])
    p, _ = check_labels(torch.tensor([[0, 9], [1, 1]]), t, 2, 255)  # 9 sits under an ignored pixel
    assert p.shape == (2, 2)
    with pytest.raises(ValueError, match="pred holds the value 9 at 1 pixel"):
        check_labels(torch.tensor([[9, 0], [1, 1]]), t, 2, 255)
    with pytest.raises(ValueError, match="target holds the value 255"):
        check_labels(t, t, 2, None)
    with pytest.raises(ValueError, match=r"pred has shape \(1, 2\) but target has shape \(2, 2\)"):
        check_labels(t[:1], t, 2, 255)


def test_float_dtype_is_float64_except_on_mps():
    assert float_dtype(torch.device("cpu")) == torch.float64
    assert float_dtype(torch.device("mps")) == torch.float32
