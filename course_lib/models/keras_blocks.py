"""Lesson 04's U-Net blocks in Keras 3 on the torch backend (no TensorFlow): the twin of ``models.DoubleConv``.

Keras is imported when a block is built, on the torch backend unless ``KERAS_BACKEND`` already says otherwise.
"""

from __future__ import annotations

import os
from typing import Any

from ..validation import check_int

__all__ = ["double_conv"]


def _keras() -> Any:
    """``keras``, on the torch backend (the backend must be chosen before the first ``import keras``)."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    return keras


def double_conv(filters: int) -> Any:
    """(Conv2D 3×3 "same" → BatchNormalization → ReLU) twice, as a ``keras.Sequential``: ``models.DoubleConv`` in Keras.

    ``use_bias=False`` and ``momentum=0.9`` make it the exact twin of ``DoubleConv`` (PyTorch's BatchNorm
    momentum 0.1 is Keras's 0.9: Keras counts the weight of the old average, PyTorch of the new batch).
    """
    filters = check_int("filters", filters)
    keras = _keras()
    layers = keras.layers
    return keras.Sequential([
        layers.Conv2D(filters, 3, padding="same", use_bias=False),
        layers.BatchNormalization(momentum=0.9),
        layers.ReLU(),
        layers.Conv2D(filters, 3, padding="same", use_bias=False),
        layers.BatchNormalization(momentum=0.9),
        layers.ReLU(),
    ])
