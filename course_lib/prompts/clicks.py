"""Clicks as prompts: checked (row, col, positive) triples, their encoding as maps, and simulated clicks.

A click is a triple ``(row, col, positive)`` in image pixels: ``positive=True`` says "the object is here",
``positive=False`` says "not here". The standard interactive-segmentation protocol (Xu et al. 2016; RITM,
Sofiiuk et al. 2022) simulates a user: the first click is the object pixel farthest from the object's
boundary (:func:`first_click`); each next click goes where the prediction is most wrong, the error pixel
farthest from the boundary of its error region (:func:`next_click`). Distances come from a Euclidean
distance transform in which the image border counts as a boundary too.
"""

from __future__ import annotations

from numbers import Integral
from typing import Any, NamedTuple, Sequence

import numpy as np
import torch
from scipy import ndimage

from ..validation import check_choice, check_positive

__all__ = [
    "Click",
    "CLICK_ENCODINGS",
    "CLICK_DEFAULTS",
    "as_clicks",
    "click_maps",
    "as_mask",
    "boundary_distance",
    "error_distance",
    "first_click",
    "next_click",
]

#: How :func:`click_maps` draws a click: a filled disk, or a Gaussian bump of that radius (its sigma).
CLICK_ENCODINGS = ("disk", "gaussian")

#: The click settings of the course's click-to-segment recipe (``click-unet-nuclei``), the defaults of
#: ``click_maps``, ``ClickDataset``, ``ClickSegmenter`` and ``IterativeClicks``: disks of radius 2, up to 4
#: simulated corrections per sample, objects of at least 10 pixels, up to 3 clicks with the model in the loop.
CLICK_DEFAULTS = {"radius": 2.0, "encoding": "disk", "max_extra_clicks": 4, "min_area": 10, "iterations": 3}


class Click(NamedTuple):
    """One click in image pixels: ``row``, ``col``, and ``positive`` (True: the object, False: not the object)."""

    row: int
    col: int
    positive: bool


def _index(value: Any, what: str) -> int:
    """A click's row or column as an int; bools, floats and tensors are refused."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (Integral, np.integer)):
        raise ValueError(f"clicks holds {what}={value!r}; a click is (row, col, positive) with whole-number row and "
                         f"col, e.g. (12, 30, True).")
    return int(value)


def as_clicks(clicks: Any, shape: tuple[int, int] | None = None) -> list[Click]:
    """``clicks`` (a sequence of ``(row, col, positive)`` triples) as checked Clicks, inside ``shape`` if given."""
    if isinstance(clicks, (str, bytes, torch.Tensor, np.ndarray)) or not isinstance(clicks, Sequence):
        raise ValueError(f"clicks must be a list of (row, col, positive) triples, got {type(clicks).__name__}; "
                         f"e.g. clicks=[(12, 30, True)].")
    out = []
    for click in clicks:
        if not isinstance(click, (tuple, list)) or len(click) != 3:
            raise ValueError(f"clicks holds {click!r}; each click must be a (row, col, positive) triple, e.g. (12, 30, True).")
        row, col = _index(click[0], "row"), _index(click[1], "col")
        if not isinstance(click[2], (bool, np.bool_)):
            raise ValueError(f"clicks holds positive={click[2]!r}; use True (the object) or False (not the object).")
        if shape is not None and not (0 <= row < shape[0] and 0 <= col < shape[1]):
            raise ValueError(f"clicks holds ({row}, {col}), outside the {shape[0]}×{shape[1]} image; "
                             f"use 0 <= row < {shape[0]} and 0 <= col < {shape[1]}.")
        out.append(Click(row, col, bool(click[2])))
    return out


def _shape(shape: Any) -> tuple[int, int]:
    """``shape`` as a checked (H, W) pair of positive ints."""
    if not isinstance(shape, (tuple, list, torch.Size)) or len(shape) != 2:
        raise ValueError(f"shape={shape!r} must be (H, W), e.g. shape=(64, 64) or shape=image.shape[-2:].")
    for size in shape:
        if isinstance(size, bool) or not isinstance(size, (Integral, np.integer)) or size < 1:
            raise ValueError(f"shape={shape!r} must hold two positive ints, e.g. shape=(64, 64).")
    return int(shape[0]), int(shape[1])


def click_maps(clicks: Any, shape: Any, radius: float = CLICK_DEFAULTS["radius"],
               encoding: str = CLICK_DEFAULTS["encoding"]) -> torch.Tensor:
    """2×H×W float32 maps of ``clicks``: channel 0 the positive clicks, channel 1 the negative ones.

    ``encoding="disk"`` sets every pixel within ``radius`` of a click to 1; ``"gaussian"`` draws
    exp(-d²/2·radius²) instead. Overlapping clicks of one kind take the maximum, so every value is in [0, 1].
    """
    h, w = _shape(shape)
    clicks = as_clicks(clicks, (h, w))
    check_positive("radius", radius)
    check_choice("encoding", encoding, CLICK_ENCODINGS)
    maps = np.zeros((2, h, w), dtype=np.float32)
    rows = np.arange(h, dtype=np.float32)[:, None]
    cols = np.arange(w, dtype=np.float32)[None, :]
    for click in clicks:
        d2 = (rows - click.row) ** 2 + (cols - click.col) ** 2
        drawn = (d2 <= radius**2).astype(np.float32) if encoding == "disk" else np.exp(-d2 / (2 * radius**2))
        channel = maps[0 if click.positive else 1]
        np.maximum(channel, drawn, out=channel)
    return torch.from_numpy(maps)


def as_mask(name: str, mask: Any) -> np.ndarray:
    """``mask`` (an H×W tensor or array of bools or 0/1) as a numpy bool array; ValueError naming ``name`` otherwise."""
    if isinstance(mask, torch.Tensor):
        mask = mask.detach().cpu().numpy()
    if not isinstance(mask, np.ndarray):
        raise ValueError(f"{name} must be an H×W tensor or array of 0/1 (or bools), got {type(mask).__name__}.")
    if mask.ndim != 2 or min(mask.shape) < 1:
        raise ValueError(f"{name} has shape {mask.shape}; pass one H×W mask (e.g. mask[0] for a 1×H×W one).")
    if mask.dtype != bool:
        if mask.dtype.kind not in "iuf" or not np.isin(mask, (0, 1)).all():
            raise ValueError(f"{name} must hold only 0 and 1 (or bools); threshold probabilities first, e.g. {name} > 0.5.")
        mask = mask.astype(bool)
    return mask


def boundary_distance(mask: Any) -> np.ndarray:
    """H×W float64: each pixel of ``mask``'s distance to the nearest pixel outside it (0 outside; the border is outside)."""
    inside = as_mask("mask", mask)
    dist = np.zeros(inside.shape)
    rows, cols = np.nonzero(inside.any(1))[0], np.nonzero(inside.any(0))[0]
    if rows.size:  # only the object's bounding box: the zero ring around it holds every nearest outside pixel
        box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
        dist[box] = ndimage.distance_transform_edt(np.pad(inside[box], 1))[1:-1, 1:-1]
    return dist


def error_distance(pred_mask: Any, true_mask: Any) -> tuple[np.ndarray, np.ndarray]:
    """The false-negative and false-positive regions' boundary distances (two H×W float64 maps, 0 off each region)."""
    pred, true = as_mask("pred_mask", pred_mask), as_mask("true_mask", true_mask)
    if pred.shape != true.shape:
        raise ValueError(f"pred_mask has shape {pred.shape} but true_mask has {true.shape}; pass masks of one image.")
    return boundary_distance(true & ~pred), boundary_distance(pred & ~true)


def first_click(mask: Any) -> Click:
    """The protocol's first click: the object pixel farthest from the object's boundary, positive.

    Ties go to the first such pixel in row-major order (the smallest row, then the smallest column).
    """
    dist = boundary_distance(mask)
    if dist.max() <= 0:
        raise ValueError("mask has no object pixel; a first click needs an object (a mask with some 1s).")
    row, col = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return Click(int(row), int(col), True)


def next_click(pred_mask: Any, true_mask: Any, clicked: Any = ()) -> Click | None:
    """The protocol's next click: the error pixel farthest from its error region's boundary; None without errors.

    False negatives (object pixels predicted as background) and false positives (background predicted as
    object) each get a distance transform; the click goes to the largest distance over both, positive
    when that pixel is a false negative, negative when it is a false positive. Ties go to the first such
    pixel in row-major order (smallest row, then smallest column), whichever error it belongs to. Pixels
    already in ``clicked`` (a list of clicks) are skipped while another error pixel is left, as in RITM.
    """
    fn_dist, fp_dist = error_distance(pred_mask, true_mask)
    dist = fn_dist + fp_dist  # the two regions never overlap
    if dist.max() <= 0:
        return None
    done = as_clicks(clicked, dist.shape)
    if done:
        free = dist.copy()
        free[[c.row for c in done], [c.col for c in done]] = 0.0
        dist = free if free.max() > 0 else dist
    row, col = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return Click(int(row), int(col), bool(fn_dist[row, col] > 0))
