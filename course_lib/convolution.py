"""Convolution by hand and its size arithmetic (lesson 01): the two-loop baseline, output sizes, receptive fields.

Sizes follow PyTorch's ``nn.Conv2d`` / ``nn.ConvTranspose2d`` along one axis: input length ``n``, kernel ``k``,
stride ``s``, padding ``p``, dilation ``d``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .validation import check_int

__all__ = ["conv2d_loops", "conv_output_size", "transposed_output_size", "receptive_field"]


def conv2d_loops(image: Any, kernel: Any) -> np.ndarray:
    """'Valid' 2-D cross-correlation of one H×W image with one kh×kw kernel by two Python loops (float64, no flip)."""
    image, kernel = np.asarray(image, dtype=np.float64), np.asarray(kernel, dtype=np.float64)
    if image.ndim != 2 or kernel.ndim != 2:
        raise ValueError(f"image {image.shape} and kernel {kernel.shape} must both be 2-D arrays.")
    if kernel.size == 0:
        raise ValueError(f"kernel has shape {kernel.shape}; it needs at least one weight (e.g. a 3×3 kernel).")
    kh, kw = kernel.shape
    out_h, out_w = image.shape[0] - kh + 1, image.shape[1] - kw + 1
    if out_h < 1 or out_w < 1:
        raise ValueError(f"kernel {kernel.shape} is larger than image {image.shape}; use a smaller kernel.")
    out = np.zeros((out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            out[i, j] = np.sum(image[i:i + kh, j:j + kw] * kernel)
    return out


def conv_output_size(n: int, k: int, s: int = 1, p: int = 0, d: int = 1) -> int:
    """Output length of a convolution: floor((n + 2p − d(k−1) − 1) / s) + 1."""
    n, k, s, d = (check_int(name, v) for name, v in (("n", n), ("k", k), ("s", s), ("d", d)))
    p = check_int("p", p, minimum=0)
    size = (n + 2 * p - d * (k - 1) - 1) // s + 1
    if size < 1:
        raise ValueError(f"a kernel of size k={k} with dilation d={d} does not fit an input of n={n} with padding p={p}; "
                         f"pad more or use a smaller kernel.")
    return int(size)


def transposed_output_size(n: int, k: int, s: int = 1, p: int = 0, d: int = 1, output_padding: int = 0) -> int:
    """Output length of a transposed convolution: (n−1)s − 2p + d(k−1) + output_padding + 1."""
    n, k, s, d = (check_int(name, v) for name, v in (("n", n), ("k", k), ("s", s), ("d", d)))
    p, output_padding = check_int("p", p, minimum=0), check_int("output_padding", output_padding, minimum=0)
    if output_padding >= max(s, d):
        raise ValueError(f"output_padding={output_padding} must be smaller than the stride s={s} or the dilation d={d}.")
    size = (n - 1) * s - 2 * p + d * (k - 1) + output_padding + 1
    if size < 1:
        raise ValueError(f"padding p={p} removes more than the transposed convolution makes; use less padding.")
    return int(size)


def receptive_field(layers: Sequence[tuple[int, int]]) -> int:
    """Receptive field, in input pixels, of one output pixel of a stack of ``(kernel, stride)`` layers."""
    rf, jump = 1, 1  # one output pixel sees one pixel; neighbouring outputs are `jump` input pixels apart
    for number, layer in enumerate(layers):
        if len(layer) != 2:
            raise ValueError(f"layers[{number}]={layer!r} must be a (kernel, stride) pair.")
        k, s = check_int(f"layers[{number}] kernel", layer[0]), check_int(f"layers[{number}] stride", layer[1])
        rf += (k - 1) * jump
        jump *= s
    return int(rf)
