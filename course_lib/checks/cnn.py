"""Exercises of lesson 01 (CNN foundations): convolution by hand, output sizes, receptive fields.

The reference answers here are also what the lesson uses after each exercise, so the notebook
runs on even when an exercise is left open.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .core import Case, compare
from .registry import register

__all__ = [
    "conv_output_size_reference",
    "conv2d_single_reference",
    "receptive_field_reference",
    "transposed_output_size_reference",
]

LESSON = "01_cnn_foundations"


def _check_ints(**values: int) -> None:
    minimum = {"n": 1, "k": 1, "s": 1, "p": 0, "d": 1, "output_padding": 0}
    for name, value in values.items():
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum[name]:
            raise ValueError(f"{name}={value!r} must be an int >= {minimum[name]}.")


def conv_output_size_reference(n: int, k: int, s: int = 1, p: int = 0, d: int = 1) -> int:
    """Reference answer: output length of a convolution, floor((n + 2p - d(k-1) - 1) / s) + 1."""
    _check_ints(n=n, k=k, s=s, p=p, d=d)
    size = (n + 2 * p - d * (k - 1) - 1) // s + 1
    if size < 1:
        raise ValueError(f"a kernel of size k={k} with dilation d={d} does not fit an input of n={n} with padding p={p}; "
                         f"pad more or use a smaller kernel.")
    return int(size)


def conv2d_single_reference(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Reference answer: 'valid' 2-D cross-correlation of one H×W image with one kh×kw kernel (float64, no flip)."""
    image, kernel = np.asarray(image, dtype=np.float64), np.asarray(kernel, dtype=np.float64)
    if image.ndim != 2 or kernel.ndim != 2:
        raise ValueError(f"image {image.shape} and kernel {kernel.shape} must both be 2-D arrays.")
    kh, kw = kernel.shape
    out_h, out_w = image.shape[0] - kh + 1, image.shape[1] - kw + 1
    if out_h < 1 or out_w < 1:
        raise ValueError(f"kernel {kernel.shape} is larger than image {image.shape}; use a smaller kernel.")
    out = np.zeros((out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            out[i, j] = np.sum(image[i:i + kh, j:j + kw] * kernel)
    return out


def receptive_field_reference(layers: Sequence[tuple[int, int]]) -> int:
    """Reference answer: receptive field (in input pixels) of a stack of (kernel, stride) layers."""
    rf, jump = 1, 1  # one output pixel sees one pixel; neighbouring outputs are `jump` input pixels apart
    for number, layer in enumerate(layers):
        if len(layer) != 2:
            raise ValueError(f"layers[{number}]={layer!r} must be a (kernel, stride) pair.")
        k, s = layer
        _check_ints(k=k, s=s)
        rf += (k - 1) * jump
        jump *= s
    return int(rf)


def transposed_output_size_reference(n: int, k: int, s: int = 1, p: int = 0, d: int = 1, output_padding: int = 0) -> int:
    """Reference answer: output length of a transposed convolution, (n-1)s - 2p + d(k-1) + output_padding + 1."""
    _check_ints(n=n, k=k, s=s, p=p, d=d, output_padding=output_padding)
    if output_padding >= max(s, d):
        raise ValueError(f"output_padding={output_padding} must be smaller than the stride s={s} or the dilation d={d}.")
    size = (n - 1) * s - 2 * p + d * (k - 1) + output_padding + 1
    if size < 1:
        raise ValueError(f"padding p={p} removes more than the transposed convolution makes; use less padding.")
    return int(size)


# ---------------------------------------------------------------------------------------------------
# checkers that recognise the common mistakes
# ---------------------------------------------------------------------------------------------------
def _diagnose(case: Case, got: Any, mistakes: list[tuple[Any, str]]) -> str | None:
    reason = compare(case.expected, got, case.atol, case.rtol)
    if reason is None:
        return None
    for wrong, explanation in mistakes:
        try:
            if compare(wrong, got, case.atol, case.rtol) is None:
                return f"{reason} {explanation}"
        except Exception:  # a mistake that cannot even be compared is not this one
            continue
    return reason


def _conv_output_size_checker(case: Case, got: Any) -> str | None:
    n, k = case.args
    s, p, d = case.kwargs.get("s", 1), case.kwargs.get("p", 0), case.kwargs.get("d", 1)
    top = n + 2 * p - d * (k - 1) - 1
    return _diagnose(case, got, [
        ((n + 2 * p - (k - 1) - 1) // s + 1, "That is the size without dilation: a dilated kernel spans d·(k−1)+1 pixels."),
        ((n - d * (k - 1) - 1) // s + 1, "That is the size without padding: padding adds p pixels on *both* sides (2p)."),
        ((n + p - d * (k - 1) - 1) // s + 1, "Padding adds p pixels on both sides, so the formula has 2p, not p."),
        (-(-top // s) + 1, "You rounded up; a window that does not fit is dropped, so round down (floor, `//`)."),
        (top / s + 1, "Use floor division `//` so the result is a whole number."),
    ])


def _conv2d_single_checker(case: Case, got: Any) -> str | None:
    image, kernel = case.args
    flipped = conv2d_single_reference(image, kernel[::-1, ::-1])
    if isinstance(got, np.ndarray) and got.shape == case.expected.shape and got.dtype != np.float64:
        got = got.astype(np.float64)  # an integer or float32 result is fine if the values are right
    return _diagnose(case, got, [
        (flipped, "Your result equals the *flipped* kernel's: deep-learning 'convolution' is cross-correlation — "
                  "do not flip the kernel."),
    ])


def _receptive_field_checker(case: Case, got: Any) -> str | None:
    (layers,) = case.args
    ignore_stride = 1 + sum(k - 1 for k, _ in layers)
    product = int(np.prod([k for k, _ in layers])) if layers else 1
    return _diagnose(case, got, [
        (ignore_stride, "That is what you get if strides are ignored: after a stride-s layer, each further kernel "
                        "step moves s× as far in the input (keep a running 'jump' = product of earlier strides)."),
        (product, "Receptive fields add up, they do not multiply: r += (k − 1) · jump."),
    ])


def _transposed_output_size_checker(case: Case, got: Any) -> str | None:
    n, k = case.args
    kw = {"s": 1, "p": 0, "d": 1, "output_padding": 0, **case.kwargs}
    s, p, d, op = kw["s"], kw["p"], kw["d"], kw["output_padding"]
    return _diagnose(case, got, [
        ((n - 1) * s - 2 * p + d * (k - 1) + 1, "Did you forget output_padding? It adds that many rows at the end."),
        ((n - 1) * s - 2 * p + (k - 1) + op + 1, "Did you forget the dilation? The kernel spans d·(k−1)+1 pixels."),
        ((n - 1) * s - p + d * (k - 1) + op + 1, "Padding removes p pixels from *both* ends: −2p."),
        ((n + 2 * p - d * (k - 1) - 1) // s + 1, "That is the *convolution* output size; the transposed convolution "
                                                  "runs it backwards: (n − 1)·s − 2p + d·(k − 1) + output_padding + 1."),
    ])


# ---------------------------------------------------------------------------------------------------
# exercises
# ---------------------------------------------------------------------------------------------------
def _size_kwargs(**kw: int) -> dict:
    defaults = {"s": 1, "p": 0, "d": 1, "output_padding": 0}
    return {k: v for k, v in kw.items() if v != defaults.get(k)}


def _describe_sizes(n: int, k: int, kw: dict) -> str:
    return ", ".join([f"n={n}", f"k={k}"] + [f"{key}={value}" for key, value in kw.items()])


@register(
    "conv-output-size",
    lesson=LESSON,
    title="Output size of a convolution",
    hint="out = (n + 2·p − d·(k − 1) − 1) // s + 1: padding adds p on both sides, a dilated kernel spans "
    "d·(k − 1) + 1 pixels, and `//` drops a last window that would not fit.",
    checker=_conv_output_size_checker,
)
def _conv_output_size_cases() -> list[Case]:
    visible = [
        (32, 3, _size_kwargs(p=1), "a 3×3 'same' convolution: n=32, k=3, p=1 keeps 32"),
        (32, 3, _size_kwargs(s=2, p=1), "stride 2 halves: n=32, k=3, s=2, p=1 -> 16"),
        (28, 5, _size_kwargs(), "no padding: n=28, k=5 -> 24"),
        (7, 3, _size_kwargs(d=2), "dilation: n=7, k=3, d=2 (the kernel spans 5 pixels) -> 3"),
    ]
    cases = [Case((n, k), kw, expected=conv_output_size_reference(n, k, **kw), description=text) for n, k, kw, text in visible]
    hidden = [(10, 3, _size_kwargs(s=3)), (5, 5, _size_kwargs()), (224, 7, _size_kwargs(s=2, p=3)), (9, 3, _size_kwargs(s=2, p=1, d=3))]
    rng = np.random.default_rng(101)
    while len(hidden) < 12:
        n, k, s, p, d = int(rng.integers(4, 300)), int(rng.integers(1, 8)), int(rng.integers(1, 5)), int(rng.integers(0, 4)), int(rng.integers(1, 4))
        if n + 2 * p - d * (k - 1) - 1 >= 0:
            hidden.append((n, k, _size_kwargs(s=s, p=p, d=d)))
    for n, k, kw in hidden:
        cases.append(Case((n, k), kw, expected=conv_output_size_reference(n, k, **kw), hidden=True, description=_describe_sizes(n, k, kw)))
    return cases


@register(
    "conv2d-single",
    lesson=LESSON,
    title="A 2-D convolution (cross-correlation) by hand",
    hint="The output has shape (H − kh + 1, W − kw + 1); out[i, j] = (image[i:i+kh, j:j+kw] * kernel).sum(). "
    "Do not flip the kernel — that is what torch's conv2d does too.",
    checker=_conv2d_single_checker,
)
def _conv2d_single_cases() -> list[Case]:
    ramp = np.arange(16, dtype=np.float64).reshape(4, 4)
    diagonal = np.array([[1.0, 0.0], [0.0, -1.0]])
    sobel_x = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    step = np.zeros((5, 6))
    step[:, 3:] = 1.0  # a vertical edge
    cases = [
        Case((ramp, diagonal), expected=conv2d_single_reference(ramp, diagonal),
             description="4×4 image 0..15 with the 2×2 kernel [[1, 0], [0, -1]] -> 3×3, every value -5"),
        Case((step, sobel_x), expected=conv2d_single_reference(step, sobel_x),
             description="5×6 image with a vertical edge and the Sobel-x kernel -> 3×4, positive at the edge"),
    ]
    rng = np.random.default_rng(202)
    for shape, kshape in [((3, 3), (3, 3)), ((5, 8), (1, 3)), ((7, 9), (2, 3)), ((6, 6), (1, 1)), ((9, 7), (4, 2)), ((12, 10), (3, 3))]:
        image, kernel = rng.normal(size=shape), rng.normal(size=kshape)
        cases.append(Case((image, kernel), expected=conv2d_single_reference(image, kernel), hidden=True,
                          description=f"random {shape[0]}×{shape[1]} image, random {kshape[0]}×{kshape[1]} kernel"))
    return cases


@register(
    "receptive-field",
    lesson=LESSON,
    title="Receptive field of a stack of layers",
    hint="Start with r = 1 and jump = 1; for each (k, s): r += (k − 1) · jump, then jump *= s. "
    "The jump is how far apart (in input pixels) neighbouring positions of the current layer are.",
    checker=_receptive_field_checker,
)
def _receptive_field_cases() -> list[Case]:
    visible = [
        ([(3, 1), (3, 1)], "two 3×3 convolutions, stride 1 -> 5"),
        ([(3, 1), (2, 2), (3, 1)], "3×3 conv, 2×2 max-pool (stride 2), 3×3 conv -> 8"),
    ]
    cases = [Case((layers,), expected=receptive_field_reference(layers), description=text) for layers, text in visible]
    hidden = [
        [],
        [(7, 2)],
        [(7, 2), (3, 2), (3, 1), (3, 1)],
        [(3, 1), (3, 1), (2, 2), (3, 1), (3, 1), (2, 2), (3, 1), (3, 1), (3, 1)],
        [(1, 1), (1, 1)],
    ]
    rng = np.random.default_rng(303)
    for _ in range(5):
        hidden.append([(int(rng.integers(1, 8)), int(rng.integers(1, 4))) for _ in range(int(rng.integers(1, 7)))])
    for layers in hidden:
        cases.append(Case((layers,), expected=receptive_field_reference(layers), hidden=True,
                          description=f"layers={layers}" if layers else "an empty stack (no layers) -> 1"))
    return cases


@register(
    "transposed-output-size",
    lesson=LESSON,
    title="Output size of a transposed convolution",
    hint="out = (n − 1)·s − 2·p + d·(k − 1) + output_padding + 1: each of the n inputs stamps the kernel s pixels "
    "after the previous one; padding trims p from both ends; output_padding adds rows at the end.",
    checker=_transposed_output_size_checker,
)
def _transposed_output_size_cases() -> list[Case]:
    visible = [
        (16, 2, _size_kwargs(s=2), "k=2, s=2 doubles exactly: n=16 -> 32"),
        (16, 3, _size_kwargs(s=2, p=1), "n=16, k=3, s=2, p=1 -> 31 (one short of double)"),
        (16, 3, _size_kwargs(s=2, p=1, output_padding=1), "the same with output_padding=1 -> 32"),
    ]
    cases = [Case((n, k), kw, expected=transposed_output_size_reference(n, k, **kw), description=text) for n, k, kw, text in visible]
    hidden = [(1, 3, _size_kwargs()), (8, 4, _size_kwargs(s=2, p=1)), (7, 3, _size_kwargs(s=3, p=1, d=2, output_padding=2))]
    rng = np.random.default_rng(404)
    while len(hidden) < 11:
        n, k, s, p, d = int(rng.integers(1, 65)), int(rng.integers(1, 8)), int(rng.integers(1, 5)), int(rng.integers(0, 3)), int(rng.integers(1, 3))
        op = int(rng.integers(0, max(s, d)))
        if (n - 1) * s - 2 * p + d * (k - 1) + op + 1 >= 1:
            hidden.append((n, k, _size_kwargs(s=s, p=p, d=d, output_padding=op)))
    for n, k, kw in hidden:
        cases.append(Case((n, k), kw, expected=transposed_output_size_reference(n, k, **kw), hidden=True, description=_describe_sizes(n, k, kw)))
    return cases
