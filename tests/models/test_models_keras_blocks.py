"""course_lib.models.keras_blocks: the Keras twin of models.DoubleConv (Keras 3 on the torch backend)."""

import os

import pytest

from course_lib import models
from course_lib.models import keras_blocks


def test_double_conv_keeps_height_and_width_and_matches_double_conv_in_size():
    os.environ.setdefault("KERAS_BACKEND", "torch")  # as keras_blocks does, before the first import
    keras = pytest.importorskip("keras")
    block = keras_blocks.double_conv(8)
    out = block(keras.ops.zeros((2, 16, 12, 3)))
    assert tuple(out.shape) == (2, 16, 12, 8)
    assert models.count_parameters(block, trainable_only=True) == models.count_parameters(models.DoubleConv(3, 8))


def test_double_conv_needs_a_positive_number_of_filters():
    with pytest.raises(ValueError, match="filters"):
        keras_blocks.double_conv(0)
