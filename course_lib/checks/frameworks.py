"""Exercise of lesson 04's Keras section: the DoubleConv block again, in Keras 3 on the torch backend.

Keras is imported only when this exercise is checked (``_keras()``), and always on the torch backend, so
checking any other exercise stays as fast as before and no TensorFlow is needed.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .core import Case, Mistake
from .registry import register

__all__ = ["keras_double_conv_reference"]


def _keras():
    """``keras`` on the torch backend (the backend must be chosen before the first ``import keras``)."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    return keras


def keras_double_conv_reference(filters: int):
    """Reference answer: (Conv2D 3×3 "same" → BatchNormalization → ReLU) twice, as a ``keras.Sequential``.

    ``use_bias=False`` and ``momentum=0.9`` make it the exact twin of ``models.DoubleConv`` (PyTorch's
    BatchNorm momentum 0.1 is Keras's 0.9: Keras counts the weight of the old average, PyTorch of the new batch).
    """
    from ..models import keras_blocks

    return keras_blocks.double_conv(filters)


# ------------------------------------------------------------------------------------------------ helpers
def _sublayers(block: Any) -> list:
    """Every layer inside ``block``, nested blocks included, in the order they were added."""
    keras = _keras()
    if not isinstance(block, keras.layers.Layer):
        return []
    found: list = []

    def walk(layer) -> None:  # depth first, in the order the layers run (a model's .layers is in that order)
        inner = layer.layers if isinstance(layer, keras.Model) else getattr(layer, "_layers", [])
        for sub in inner:
            if all(sub is not seen for seen in found):
                found.append(sub)
                walk(sub)

    walk(block)
    return found


def _is_relu(fn: Any) -> bool:
    return getattr(fn, "__name__", "") == "relu"


def _kinds(block: Any) -> list[str]:
    """The block as a sequence of "conv", "batchnorm" and "relu" (other layers are left out)."""
    keras = _keras()
    kinds = []
    for layer in _sublayers(block):
        if isinstance(layer, keras.layers.Conv2D):
            kinds.append("conv")
            if _is_relu(getattr(layer, "activation", None)):
                kinds.append("relu")
        elif isinstance(layer, keras.layers.BatchNormalization):
            kinds.append("batchnorm")
        elif isinstance(layer, keras.layers.ReLU) or (
            isinstance(layer, keras.layers.Activation) and _is_relu(layer.activation)
        ):
            kinds.append("relu")
    return kinds


def _convs(block: Any) -> list:
    keras = _keras()
    return [layer for layer in _sublayers(block) if isinstance(layer, keras.layers.Conv2D)]


_NAMES = {"conv": "Conv2D", "batchnorm": "BatchNormalization", "relu": "ReLU"}


# ------------------------------------------------------------------------------------------------ keras-double-conv
class _BlockCase(Case):
    """A case that also says how many channels the channels-last test input has."""

    def __init__(self, filters: int, in_channels: int, **kwargs):
        super().__init__(args=(filters,), **kwargs)
        self.in_channels = in_channels


def _check_keras_double_conv(case: Case, got: Any) -> str | None:
    keras = _keras()
    (filters,) = case.args
    if got is None:
        return "keras_double_conv returned None; return the block you built (a keras.Sequential([...]))."
    if not isinstance(got, keras.layers.Layer):
        return (f"keras_double_conv should return a Keras layer or model, e.g. keras.Sequential([...]), but it "
                f"returned {type(got).__name__}.")
    x = np.random.default_rng(filters * 100 + case.in_channels).standard_normal((2, 13, 10, case.in_channels))
    x = x.astype("float32")
    try:
        out = got(x, training=True)  # channels last: N×H×W×C; Keras builds every layer on this first call
    except Exception as exc:
        return (f"calling the block on a channels-last input of shape {x.shape} raised {type(exc).__name__}: {exc}")
    convs = _convs(got)
    if len(convs) != 2:
        return f"the block has {len(convs)} Conv2D layer(s); a DoubleConv has exactly 2."
    for i, conv in enumerate(convs, start=1):
        if conv.filters != filters or tuple(conv.kernel_size) != (3, 3):
            return (f"conv {i} is Conv2D({conv.filters}, {tuple(conv.kernel_size)}), expected Conv2D({filters}, (3, 3)): "
                    f"the first argument is the number of filters (the OUTPUT channels), the second the kernel size.")
        if conv.padding != "same":
            return (f"conv {i} has padding={conv.padding!r}, Keras's default: each 3×3 convolution then loses 2 rows "
                    f"and 2 columns; use padding=\"same\" to keep H and W.")
    kinds = _kinds(got)
    if kinds.count("batchnorm") != 2:
        return (f"the block has {kinds.count('batchnorm')} BatchNormalization layer(s); put one after each "
                f"convolution (2 in all).")
    if kinds.count("relu") != 2:
        return f"the block has {kinds.count('relu')} ReLU(s); each of the two stages ends with one (2 in all)."
    if kinds != ["conv", "batchnorm", "relu"] * 2:
        order = " → ".join(_NAMES[k] for k in kinds)
        return f"the layers run in the order {order}; expected Conv2D → BatchNormalization → ReLU, twice."
    out = out.detach().cpu().numpy() if hasattr(out, "detach") else np.asarray(out)  # a torch tensor here
    want = (2, 13, 10, filters)
    if tuple(out.shape) != want:
        return (f"on a channels-last input of shape {x.shape} the block returns shape {tuple(out.shape)}, expected "
                f"{want} (height and width kept, {filters} channels last).")
    if bool((out < 0).any()):
        return "the output has negative values: end each stage, and so the block, with a ReLU."
    return None


def _kdc_valid_padding(filters: int):
    keras = _keras()
    layers = keras.layers
    return keras.Sequential([layers.Conv2D(filters, 3), layers.BatchNormalization(), layers.ReLU(),
                             layers.Conv2D(filters, 3), layers.BatchNormalization(), layers.ReLU()])


def _kdc_no_batchnorm(filters: int):
    keras = _keras()
    layers = keras.layers
    return keras.Sequential([layers.Conv2D(filters, 3, padding="same"), layers.ReLU(),
                             layers.Conv2D(filters, 3, padding="same"), layers.ReLU()])


def _kdc_swapped_arguments(filters: int):
    keras = _keras()
    layers = keras.layers
    return keras.Sequential([layers.Conv2D(3, filters, padding="same"), layers.BatchNormalization(), layers.ReLU(),
                             layers.Conv2D(3, filters, padding="same"), layers.BatchNormalization(), layers.ReLU()])


def _kdc_relu_in_conv(filters: int):
    keras = _keras()
    layers = keras.layers
    return keras.Sequential([layers.Conv2D(filters, 3, padding="same", activation="relu"), layers.BatchNormalization(),
                             layers.Conv2D(filters, 3, padding="same", activation="relu"), layers.BatchNormalization()])


def _kdc_no_final_relu(filters: int):
    keras = _keras()
    layers = keras.layers
    return keras.Sequential([layers.Conv2D(filters, 3, padding="same"), layers.BatchNormalization(), layers.ReLU(),
                             layers.Conv2D(filters, 3, padding="same"), layers.BatchNormalization()])


_KERAS_DOUBLE_CONV_MISTAKES = (
    Mistake("filters and kernel size swapped", _kdc_swapped_arguments,
            "Keras's Conv2D(filters, kernel_size) takes the number of output channels first and the kernel size "
            "second; there is no in_channels argument, Keras reads it from the data on the first call.",
            detect=lambda case, got, reason: any(
                tuple(c.kernel_size) == (case.args[0],) * 2 and c.filters == 3 for c in _convs(got))),
    Mistake("padding left at 'valid'", _kdc_valid_padding,
            "Conv2D pads nothing unless told (padding=\"valid\" is the default), so two 3×3 convolutions make the "
            "map 4 pixels narrower and shorter; padding=\"same\" is PyTorch's padding=1 for a 3×3 kernel.",
            detect=lambda case, got, reason: any(c.padding == "valid" for c in _convs(got))),
    Mistake("no BatchNormalization", _kdc_no_batchnorm,
            "put a layers.BatchNormalization() after each convolution, before its ReLU, like nn.BatchNorm2d in "
            "the PyTorch block.",
            detect=lambda case, got, reason: len(_convs(got)) == 2 and "batchnorm" not in _kinds(got)),
    Mistake("ReLU before BatchNormalization", _kdc_relu_in_conv,
            "Conv2D(..., activation=\"relu\") applies the ReLU inside the convolution, before the BatchNormalization "
            "that follows; the U-Net stage is conv → BatchNorm → ReLU, so keep the activation as its own layer.",
            detect=lambda case, got, reason: any(_is_relu(getattr(c, "activation", None)) for c in _convs(got))),
    Mistake("a ReLU missing", _kdc_no_final_relu,
            "each of the two stages ends with its own ReLU (layers.ReLU()), the second one included.",
            detect=lambda case, got, reason: len(_convs(got)) == 2 and _kinds(got).count("relu") < 2),
)


@register(
    "keras-double-conv",
    lesson="04_unet",
    title="The DoubleConv block in Keras",
    hints=(
        "It is the PyTorch DoubleConv again: the same stage twice in a row, a 3×3 convolution that keeps the height "
        "and width, then batch normalisation, then a ReLU. In Keras you only say how many channels come out of a "
        "convolution; each layer reads how many come in from the data the first time it is called.",
        "Return keras.Sequential([...]) with six layers: layers.Conv2D, layers.BatchNormalization, layers.ReLU, "
        "and again. Conv2D's first argument is the number of filters (the output channels), the second the kernel "
        "size, and its padding defaults to \"valid\".",
        "keras.Sequential([layers.Conv2D(filters, 3, padding=\"same\", use_bias=False), "
        "layers.BatchNormalization(momentum=0.9), layers.ReLU(), and the same three layers again]).",
    ),
    mistakes=_KERAS_DOUBLE_CONV_MISTAKES,
    checker=_check_keras_double_conv,
)
def _keras_double_conv_cases() -> list[Case]:
    return [
        _BlockCase(8, 1, description="keras_double_conv(8) on a 2×13×10×1 input: 2 Conv2D 3×3, BatchNormalization, "
                   "ReLU; output 2×13×10×8"),
        _BlockCase(16, 8, description="keras_double_conv(16) on a 2×13×10×8 input: output 2×13×10×16 (H and W kept)"),
        _BlockCase(3, 3, hidden=True, description="keras_double_conv(3) on 3 channels"),
        _BlockCase(4, 16, hidden=True, description="keras_double_conv(4) on 16 channels (fewer out than in)"),
        _BlockCase(7, 5, hidden=True, description="keras_double_conv(7) on 5 channels"),
    ]
