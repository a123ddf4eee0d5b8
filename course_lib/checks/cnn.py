"""Exercises of lesson 01 (CNN foundations): convolution by hand, output sizes, receptive fields.

The reference answers are the library's own functions (``course_lib.convolution``), which the lesson also
uses after each exercise, so the notebook runs on even when an exercise is left open.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .. import convolution
from .core import Case, Mistake, compare
from .registry import register

__all__ = [
    "conv_output_size_reference",
    "conv2d_single_reference",
    "receptive_field_reference",
    "transposed_output_size_reference",
]

LESSON = "01_cnn_foundations"


def conv_output_size_reference(n: int, k: int, s: int = 1, p: int = 0, d: int = 1) -> int:
    """Reference answer: output length of a convolution, floor((n + 2p - d(k-1) - 1) / s) + 1."""
    return convolution.conv_output_size(n, k, s=s, p=p, d=d)


def conv2d_single_reference(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Reference answer: 'valid' 2-D cross-correlation of one H×W image with one kh×kw kernel (float64, no flip)."""
    return convolution.conv2d_loops(image, kernel)


def receptive_field_reference(layers: Sequence[tuple[int, int]]) -> int:
    """Reference answer: receptive field (in input pixels) of a stack of (kernel, stride) layers."""
    return convolution.receptive_field(layers)


def transposed_output_size_reference(n: int, k: int, s: int = 1, p: int = 0, d: int = 1, output_padding: int = 0) -> int:
    """Reference answer: output length of a transposed convolution, (n-1)s - 2p + d(k-1) + output_padding + 1."""
    return convolution.transposed_output_size(n, k, s=s, p=p, d=d, output_padding=output_padding)


# ---------------------------------------------------------------------------------------------------
# typical mistakes, recognised by name
# ---------------------------------------------------------------------------------------------------
_CONV_OUTPUT_SIZE_MISTAKES = (
    Mistake(
        "padding forgotten",
        lambda n, k, s=1, p=0, d=1: (n - d * (k - 1) - 1) // s + 1,
        "you left the padding out: it makes the input longer before the kernel slides over it, by p pixels on "
        "both sides (2p).",
    ),
    Mistake(
        "padding on one side only",
        lambda n, k, s=1, p=0, d=1: (n + p - d * (k - 1) - 1) // s + 1,
        "padding adds p pixels on both sides, so the padded length has 2p, not p.",
    ),
    Mistake(
        "dilation forgotten",
        lambda n, k, s=1, p=0, d=1: (n + 2 * p - (k - 1) - 1) // s + 1,
        "you treated the kernel as k pixels wide; a dilated kernel leaves d − 1 gaps between neighbouring taps, "
        "so it spans d·(k − 1) + 1 pixels.",
    ),
    Mistake(
        "rounded up",
        lambda n, k, s=1, p=0, d=1: -(-(n + 2 * p - d * (k - 1) - 1) // s) + 1,
        "you rounded up; a last window that would stick out past the end is dropped, so round down (floor, //).",
    ),
    Mistake(
        "true division",
        lambda n, k, s=1, p=0, d=1: (n + 2 * p - d * (k - 1) - 1) / s + 1,
        "/ gives a fraction when the stride does not divide evenly; use floor division // so the result is a "
        "whole number of windows.",
    ),
)


def _as_float64(got: Any) -> Any:
    """An array of the right numbers is fine in any numeric dtype (float32, int)."""
    if isinstance(got, np.ndarray) and got.dtype != np.float64 and np.issubdtype(got.dtype, np.number):
        return got.astype(np.float64)
    return got


def _conv2d_single_checker(case: Case, got: Any) -> str | None:
    return compare(case.expected, _as_float64(got), case.atol, case.rtol)


def _conv2d_flipped(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    return conv2d_single_reference(image, np.asarray(kernel)[::-1, ::-1])


def _conv2d_same_size(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    kh, kw = np.asarray(kernel).shape
    padded = np.pad(np.asarray(image, dtype=np.float64), [(kh // 2, (kh - 1) // 2), (kw // 2, (kw - 1) // 2)])
    return conv2d_single_reference(padded, kernel)


def _conv2d_one_short(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    return conv2d_single_reference(image, kernel)[:-1, :-1]


def _output_shape_is(case: Case, got: Any, shape: tuple) -> bool:
    return isinstance(got, np.ndarray) and tuple(got.shape) == tuple(shape) != tuple(case.expected.shape)


_CONV2D_SINGLE_MISTAKES = (
    Mistake(
        "kernel flipped",
        _conv2d_flipped,
        "your result equals the FLIPPED kernel's: that is convolution as in maths and signal processing. "
        "Deep learning's 'convolution' is cross-correlation: lay the kernel on the patch as it is.",
        detect=lambda case, got, reason: (isinstance(got, np.ndarray) and got.shape == case.expected.shape
                                          and compare(_conv2d_flipped(*case.args), _as_float64(got)) is None),
    ),
    Mistake(
        "padded to the image size",
        _conv2d_same_size,
        "your output is as large as the image, so you padded it; this is a 'valid' convolution, which keeps only "
        "the positions where the whole kernel lies inside the image, so the output is smaller than the image.",
        detect=lambda case, got, reason: _output_shape_is(case, got, np.shape(case.args[0])),
    ),
    Mistake(
        "one row and column short",
        _conv2d_one_short,
        "the kernel's top-left corner can sit at rows 0 up to H − kh, which is H − kh + 1 positions (and the same "
        "for columns); remember that range(stop) stops just before stop.",
        detect=lambda case, got, reason: _output_shape_is(case, got, tuple(e - 1 for e in case.expected.shape)),
    ),
)


def _receptive_field_jump_first(layers: Sequence[tuple[int, int]]) -> int:
    r, jump = 1, 1
    for k, s in layers:
        jump *= s
        r += (k - 1) * jump
    return r


_RECEPTIVE_FIELD_MISTAKES = (
    Mistake(
        "strides ignored",
        lambda layers: 1 + sum(k - 1 for k, _ in layers),
        "you added up the kernels as if every stride were 1; after a stride-s layer, each further kernel step "
        "moves s times as far in the input (keep a running 'jump', the product of the earlier strides).",
    ),
    Mistake(
        "kernel sizes multiplied",
        lambda layers: int(np.prod([k for k, _ in layers])) if layers else 1,
        "receptive fields add up, they do not multiply: each layer widens the view by (k − 1) steps of the "
        "current jump.",
    ),
    Mistake(
        "stride applied too early",
        _receptive_field_jump_first,
        "you multiplied in a layer's stride before adding its own kernel; a layer's stride only spreads out the "
        "layers AFTER it, so add (k − 1)·jump first, then update the jump.",
    ),
    Mistake(
        "started at 0",
        lambda layers: sum((k - 1) * int(np.prod([s for _, s in layers[:i]])) for i, (k, _) in enumerate(layers)),
        "one off: before any layer, an output pixel already sees one input pixel (itself), so start at 1.",
    ),
)


_TRANSPOSED_OUTPUT_SIZE_MISTAKES = (
    Mistake(
        "output_padding forgotten",
        lambda n, k, s=1, p=0, d=1, output_padding=0: (n - 1) * s - 2 * p + d * (k - 1) + 1,
        "output_padding adds that many pixels at the end of the output; it is there to pick between the "
        "input sizes a strided convolution maps to the same size.",
    ),
    Mistake(
        "dilation forgotten",
        lambda n, k, s=1, p=0, d=1, output_padding=0: (n - 1) * s - 2 * p + (k - 1) + output_padding + 1,
        "a dilated kernel spans d·(k − 1) + 1 pixels, not k: each stamp it leaves is that wide.",
    ),
    Mistake(
        "padding on one side only",
        lambda n, k, s=1, p=0, d=1, output_padding=0: (n - 1) * s - p + d * (k - 1) + output_padding + 1,
        "padding trims p pixels from BOTH ends of a transposed convolution's output: −2p.",
    ),
    Mistake(
        "the convolution formula",
        lambda n, k, s=1, p=0, d=1, output_padding=0: (n + 2 * p - d * (k - 1) - 1) // s + 1,
        "that is the *convolution* output size; the transposed convolution runs it backwards, so the stride "
        "multiplies the size instead of dividing it.",
    ),
)


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
    hints=(
        "Count the positions the kernel window can take along one side. Padding makes the input longer at both "
        "ends, dilation spreads the kernel out so it covers more pixels, and the stride skips positions; a window "
        "that would stick out past the end does not count.",
        "Work out the padded length n + 2·p and the span of the dilated kernel, d·(k − 1) + 1; their difference is "
        "the room the window can slide in. Count the whole stride-s steps that fit in it with floor division `//`, "
        "and add 1 for the first position.",
        "`return (n + 2 * p - d * (k - 1) - 1) // s + 1` — padding adds p on both sides, a dilated kernel spans "
        "d·(k − 1) + 1 pixels, and `//` drops a last window that would not fit.",
    ),
    mistakes=_CONV_OUTPUT_SIZE_MISTAKES,
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
    hints=(
        "Slide the kernel over the image, one pixel at a time, only to the places where it fits completely "
        "inside. At each place, multiply every kernel value with the image value under it and add everything "
        "up: that sum is one output pixel. Use the kernel as it is, without turning it around.",
        "The output has H − kh + 1 rows and W − kw + 1 columns (`np.zeros` of that shape); fill it with two nested "
        "loops over i and j, cut the patch under the kernel with slicing `image[i:i + kh, j:j + kw]`, and sum its "
        "element-wise product with the kernel.",
        "`out = np.zeros((H - kh + 1, W - kw + 1))`, then for every i, j: "
        "`out[i, j] = (image[i:i + kh, j:j + kw] * kernel).sum()`. Do not flip the kernel — torch's conv2d does not either.",
    ),
    checker=_conv2d_single_checker,
    mistakes=_CONV2D_SINGLE_MISTAKES,
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
    hints=(
        "Walk through the layers from the input on, keeping track of two things: how many input pixels one "
        "position of the current layer sees, and how far apart, in input pixels, two neighbouring positions of "
        "the current layer are. A kernel widens the view by its size minus one of those steps; a stride makes "
        "the steps longer for every layer after it.",
        "Keep two running numbers, both starting at 1: the receptive field (one pixel sees itself) and the jump. "
        "A layer with kernel k widens the field by k − 1 jumps; only then does its stride s make the jump s times "
        "longer, for the layers after it.",
        "`r, jump = 1, 1`; for each `(k, s)` in layers: `r += (k - 1) * jump`, then `jump *= s`; return r.",
    ),
    mistakes=_RECEPTIVE_FIELD_MISTAKES,
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
    hints=(
        "Think of a convolution run backwards: each of the n input pixels stamps a copy of the kernel into the "
        "output, each stamp s pixels after the previous one. The output runs from the start of the first stamp to "
        "the end of the last; padding then trims both ends, and output_padding adds a few pixels at the end.",
        "The last stamp starts (n − 1)·s pixels after the first, and a dilated kernel is d·(k − 1) + 1 pixels "
        "wide. Take p off each of the two ends and add output_padding once.",
        "`return (n - 1) * s - 2 * p + d * (k - 1) + output_padding + 1`",
    ),
    mistakes=_TRANSPOSED_OUTPUT_SIZE_MISTAKES,
)
def _transposed_output_size_cases() -> list[Case]:
    visible = [
        (16, 2, _size_kwargs(s=2), "k=2, s=2 doubles exactly: n=16 -> 32"),
        (16, 3, _size_kwargs(s=2, p=1), "n=16, k=3, s=2, p=1 -> 31 (one short of double)"),
        (16, 3, _size_kwargs(s=2, p=1, output_padding=1), "the same with output_padding=1 -> 32"),
        (8, 3, _size_kwargs(d=2), "dilation: n=8, k=3, d=2 (each stamp is 5 pixels wide) -> 12"),
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
