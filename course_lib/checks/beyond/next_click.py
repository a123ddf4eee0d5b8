"""Exercise ``next-click``: where the standard protocol's simulated user clicks next.

The learner writes ``next_click(pred_mask, true_mask) -> (row, col, positive)`` (or None without an error):
the error pixel farthest from the boundary of its error region, over the false negatives and the false
positives (the image border counts as a boundary), positive on a false negative, negative on a false
positive. The reference is the library's :func:`course_lib.prompts.next_click`. Any pixel with the largest
distance passes (ties are common); the checker then only asks that its sign fits the error under it.
"""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np
import torch
from scipy import ndimage

from ...prompts import boundary_distance, error_distance, next_click
from ..core import Case, Mistake, describe
from ..registry import register
from .common import LESSON

__all__ = ["next_click_reference"]


def next_click_reference(pred_mask: torch.Tensor, true_mask: torch.Tensor) -> tuple[int, int, bool] | None:
    """Reference answer: (row, col, positive) of the error pixel farthest from its error's boundary; None without error."""
    return next_click(pred_mask, true_mask)


# ---- the checker: any farthest error pixel, with the sign of the error under it ------------------------------
def _maps(case: Case) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The case's false-negative and false-positive distance maps and their sum."""
    fn, fp = error_distance(*case.args)
    return fn, fp, fn + fp


def _click(got: Any) -> tuple[int, int, bool] | None:
    """``got`` as (row, col, positive) when it is a triple of two whole numbers and a bool, else None."""
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        return None
    row, col, positive = got
    whole = all(isinstance(v, (Integral, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in (row, col))
    if not whole or not isinstance(positive, (bool, np.bool_)):
        return None
    return int(row), int(col), bool(positive)


def _check_next_click(case: Case, got: Any) -> str | None:
    """None when ``got`` is a farthest error pixel with the right sign (or None when there is no error)."""
    fn, _, dist = _maps(case)
    if dist.max() == 0:
        return None if got is None else f"the prediction is right everywhere, so there is nothing to click: return None, not {describe(got)}."
    if got is None:
        return "the prediction has errors, but the result is None; return the click (row, col, positive)."
    click = _click(got)
    if click is None:
        return (f"the result should be a tuple (row, col, positive) of two Python ints and a bool, but it is "
                f"{describe(got)}; use int(...) and bool(...) on tensor or array values.")
    row, col, positive = click
    h, w = dist.shape
    if not (0 <= row < h and 0 <= col < w):
        return f"the click ({row}, {col}) is outside the {h}×{w} mask."
    best = np.unravel_index(int(np.argmax(dist)), dist.shape)
    where = f"the farthest error pixel, e.g. ({best[0]}, {best[1]}), is {dist.max():.4g} px from its region's boundary"
    if dist[row, col] == 0:
        return f"the click ({row}, {col}) is not on an error pixel (pred_mask and true_mask agree there); {where}."
    if dist[row, col] < dist.max() - 1e-9:
        return f"the click ({row}, {col}) is only {dist[row, col]:.4g} px from its error region's boundary; {where}."
    if positive != bool(fn[row, col] > 0):
        kind = "negative (the object was missed there)" if fn[row, col] > 0 else "positive (background marked as object)"
        return f"({row}, {col}) is a false {kind}, so the click should be positive={not positive}."
    return None


# ---- typical mistakes ------------------------------------------------------------------------------------
def _unpadded(mask: np.ndarray) -> np.ndarray:
    """The distance transform without a ring of background around the image: the border is not an edge."""
    return ndimage.distance_transform_edt(mask) if mask.any() else np.zeros(mask.shape)


def _as_numpy(pred_mask: Any, true_mask: Any) -> tuple[np.ndarray, np.ndarray]:
    pred, true = np.asarray(pred_mask, dtype=bool), np.asarray(true_mask, dtype=bool)
    return true & ~pred, pred & ~true


def _largest_region_click(pred_mask: Any, true_mask: Any) -> tuple[int, int, bool] | None:
    """Mistake: the centre of the error region with the most pixels, not the one reaching farthest from its edge."""
    best: tuple[int, int, bool] | None = None
    size = 0
    for error, positive in zip(_as_numpy(pred_mask, true_mask), (True, False)):
        labels, count = ndimage.label(error)
        for k in range(1, count + 1):
            region = labels == k
            if region.sum() > size:
                dist = boundary_distance(region)
                row, col = np.unravel_index(int(np.argmax(dist)), dist.shape)
                best, size = (int(row), int(col), positive), int(region.sum())
    return best


def _sign_swapped_click(pred_mask: Any, true_mask: Any) -> tuple[int, int, bool] | None:
    """Mistake: the right pixel, but positive on a false positive and negative on a false negative."""
    click = next_click(pred_mask, true_mask)
    return None if click is None else (click.row, click.col, not click.positive)


def _edge_click(pred_mask: Any, true_mask: Any) -> tuple[int, int, bool] | None:
    """Mistake: the first error pixel found (row by row), which sits on the error's edge."""
    fn, fp = _as_numpy(pred_mask, true_mask)
    rows, cols = np.nonzero(fn | fp)
    return None if rows.size == 0 else (int(rows[0]), int(cols[0]), bool(fn[rows[0], cols[0]]))


def _false_negatives_only_click(pred_mask: Any, true_mask: Any) -> tuple[int, int, bool] | None:
    """Mistake: only the missed object pixels are looked at, never the background marked as object."""
    fn, _ = _as_numpy(pred_mask, true_mask)
    dist = boundary_distance(fn)
    if dist.max() == 0:
        return None
    row, col = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return int(row), int(col), True


def _rows_and_cols_swapped_click(pred_mask: Any, true_mask: Any) -> tuple[int, int, bool] | None:
    """Mistake: (col, row) returned instead of (row, col), e.g. from x, y thinking."""
    click = next_click(pred_mask, true_mask)
    return None if click is None else (click.col, click.row, click.positive)


def _border_not_an_edge_click(pred_mask: Any, true_mask: Any) -> tuple[int, int, bool] | None:
    """Mistake: the distance transform run without padding, so an error along the image border looks deep."""
    fn, fp = _as_numpy(pred_mask, true_mask)
    dist = _unpadded(fn) + _unpadded(fp)
    if dist.max() == 0:
        return None
    row, col = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return int(row), int(col), bool(fn[row, col])


def _swapped_rows_and_cols(case: Case, got: Any, reason: str) -> bool:
    click = _click(got)
    return click is not None and _check_next_click(case, (click[1], click[0], click[2])) is None


def _swapped_sign(case: Case, got: Any, reason: str) -> bool:
    click = _click(got)
    return click is not None and _check_next_click(case, (click[0], click[1], not click[2])) is None


def _only_false_negatives(case: Case, got: Any, reason: str) -> bool:
    click = _click(got)
    fn, fp, _ = _maps(case)
    return click is not None and _at_max_of(fn, click) and fp.max() > fn.max()


def _at_max_of(dist: np.ndarray, click: tuple[int, int, bool]) -> bool:
    """Whether ``click`` is on a pixel where ``dist`` is largest (and above 0)."""
    row, col, _ = click
    h, w = dist.shape
    return 0 <= row < h and 0 <= col < w and 0 < dist[row, col] >= dist.max() - 1e-9


def _border_ignored(case: Case, got: Any, reason: str) -> bool:
    click = _click(got)
    fn, fp = _as_numpy(*case.args)
    return click is not None and _at_max_of(_unpadded(fn) + _unpadded(fp), click)


def _largest_region(case: Case, got: Any, reason: str) -> bool:
    click = _click(got)
    return click is not None and click == _largest_region_click(*case.args)


def _on_the_edge(case: Case, got: Any, reason: str) -> bool:
    click = _click(got)
    _, _, dist = _maps(case)
    h, w = dist.shape
    return click is not None and 0 <= click[0] < h and 0 <= click[1] < w and dist[click[0], click[1]] == 1 < dist.max()


_NEXT_CLICK_MISTAKES = (
    Mistake("row and col swapped", _rows_and_cols_swapped_click,
            "the right pixel, but as (col, row): numpy and torch index masks as [row, col], and the click is "
            "(row, col, positive); np.unravel_index(i, mask.shape) gives (row, col) in that order.",
            detect=_swapped_rows_and_cols),
    Mistake("positive and negative swapped", _sign_swapped_click,
            "the right pixel, but the wrong sign: a false negative is object the prediction missed, so the user "
            "says 'this is object' with a positive click; a false positive gets a negative click.",
            detect=_swapped_sign),
    Mistake("only false negatives looked at", _false_negatives_only_click,
            "the prediction can also be wrong the other way: background marked as object (false positives, "
            "pred_mask & ~true_mask). Measure both kinds of error and click the deeper one.",
            detect=_only_false_negatives),
    Mistake("image border not counted as a boundary", _border_not_an_edge_click,
            "distance_transform_edt measures the distance to the nearest 0 inside the array, so an error along "
            "the image border looks deeper than it is. Pad the error mask with a ring of 0s (np.pad(m, 1)) and "
            "crop the distances back ([1:-1, 1:-1]), so the border counts as an edge.",
            detect=_border_ignored),
    Mistake("largest error region by area", _largest_region_click,
            "a big but thin error (a sliver along the edge) is easy to fix later; the protocol clicks where the "
            "error is deepest: the pixel farthest from its error region's boundary, over all error pixels.",
            detect=_largest_region),
    Mistake("clicked on the error's edge", _edge_click,
            "the first error pixel found sits on the edge of its region, where a user would never click: take "
            "the distance transform of each error mask and click where the distance is largest.",
            detect=_on_the_edge),
)


# ---- the cases -------------------------------------------------------------------------------------------
def _disk(shape: tuple[int, int], centre: tuple[float, float], radius: float) -> torch.Tensor:
    rows = torch.arange(shape[0]).view(-1, 1).float()
    cols = torch.arange(shape[1]).view(1, -1).float()
    return (rows - centre[0]) ** 2 + (cols - centre[1]) ** 2 <= radius**2


def _box(shape: tuple[int, int], rows: tuple[int, int], cols: tuple[int, int]) -> torch.Tensor:
    mask = torch.zeros(shape, dtype=torch.bool)
    mask[rows[0]:rows[1], cols[0]:cols[1]] = True
    return mask


def _ellipse(g: torch.Generator, shape: tuple[int, int]) -> torch.Tensor:
    """A random ellipse well inside ``shape`` (seeded by ``g``)."""
    r = torch.rand(5, generator=g).tolist()
    cy, cx = shape[0] * (0.35 + 0.3 * r[0]), shape[1] * (0.35 + 0.3 * r[1])
    a, b, angle = 3 + 4 * r[2], 3 + 3 * r[3], r[4] * np.pi
    rows = torch.arange(shape[0]).view(-1, 1).float() - cy
    cols = torch.arange(shape[1]).view(1, -1).float() - cx
    u = rows * np.cos(angle) + cols * np.sin(angle)
    v = -rows * np.sin(angle) + cols * np.cos(angle)
    return (u / a) ** 2 + (v / b) ** 2 <= 1


def _case(pred: torch.Tensor, true: torch.Tensor, description: str, hidden: bool = False) -> Case:
    """A case whose expected value is the reference click (any farthest error pixel with its sign passes)."""
    return Case((pred, true), expected=next_click(pred, true), description=description, hidden=hidden)


def _hand_made_cases() -> list[Case]:
    """Small masks, each built to tell one typical mistake from the right answer."""
    nucleus = _disk((14, 20), (6.0, 7.5), 4.5)
    upper = nucleus & (torch.arange(14) < 7).view(-1, 1)
    neighbour = _disk((14, 20), (6.0, 14.0), 3.5) & ~nucleus
    leak = (nucleus & (torch.arange(20) >= 4).view(1, -1)) | neighbour
    two_misses = _box((16, 28), (2, 5), (3, 23)) | _box((16, 28), (9, 14), (20, 25))
    empty = torch.zeros(14, 20, dtype=torch.bool)
    return [
        _case(upper, nucleus, "a 14×20 nucleus whose lower part (rows 7 and below) the prediction missed: a positive "
                              "click there"),
        _case(leak, nucleus, "the prediction misses the nucleus's left edge but leaks into the touching neighbour on "
                             "the right: the leak is the deeper error, so a negative click in it"),
        _case(nucleus.clone(), nucleus, "a perfect prediction: no error, so None"),
        _case(_box((16, 16), (8, 14), (8, 14)), _box((16, 16), (0, 4), (2, 9)),
              "a 4×7 miss along the top border (the border counts as a boundary: depth 2) and a 6×6 false positive "
              "inside (depth 3): a negative click in the false positive", hidden=True),
        _case(torch.zeros(16, 28, dtype=torch.bool), two_misses,
              "two missed parts: a 3×20 sliver (60 pixels, depth 2) and a 5×5 square (25 pixels, depth 3): the "
              "deeper square gets the click", hidden=True),
        _case(nucleus, empty, "no object at all, but the prediction marks a disk: a negative click in its middle", hidden=True),
        _case(empty, nucleus, "an empty prediction: the first click, positive, in the middle of the object", hidden=True),
    ]


@register(
    "next-click",
    lesson=LESSON,
    title="The next simulated click: where the prediction is most wrong",
    hints=(
        "There are two kinds of error: false negatives (object pixels the prediction missed) and false positives "
        "(background it marked as object). The simulated user clicks in the middle of the worst mistake: for each "
        "kind, measure how far every error pixel is from the edge of its error region (a distance transform, in "
        "which the image border counts as an edge too), then click the pixel with the largest distance over both "
        "kinds. The click is positive on a false negative and negative on a false positive; with no error at all "
        "there is nothing to click, so the answer is None.",
        "Work in numpy: fn = true & ~pred and fp = pred & ~true (bool arrays, e.g. mask.numpy().astype(bool)). "
        "scipy.ndimage.distance_transform_edt(m) gives every True pixel its distance to the nearest False pixel; "
        "run it on np.pad(m, 1) and crop the result back with [1:-1, 1:-1] so the border is an edge. Add the two "
        "maps (the regions never overlap), find the largest value with np.argmax and turn it into (row, col) with "
        "np.unravel_index; positive is whether fn is True there.",
        "def dist(m): return ndimage.distance_transform_edt(np.pad(m, 1))[1:-1, 1:-1]; then "
        "pred, true = pred_mask.numpy().astype(bool), true_mask.numpy().astype(bool); fn, fp = true & ~pred, "
        "pred & ~true; d = dist(fn) + dist(fp); if d.max() == 0: return None; "
        "row, col = np.unravel_index(int(np.argmax(d)), d.shape); return int(row), int(col), bool(fn[row, col]).",
    ),
    checker=_check_next_click,
    mistakes=_NEXT_CLICK_MISTAKES,
)
def _next_click_cases() -> list[Case]:
    cases = _hand_made_cases()
    g = torch.Generator().manual_seed(11)
    for number, extra in enumerate(("a false blob", "a missed blob", "nothing else")):
        true = _ellipse(g, (24, 24))
        shift = torch.randint(-2, 3, (2,), generator=g).tolist()
        pred = torch.roll(true, shifts=(shift[0], shift[1] or 1), dims=(0, 1))
        blob = _disk((24, 24), tuple(float(v) for v in torch.randint(6, 18, (2,), generator=g)), 2.5)
        pred = pred | blob if number == 0 else pred & ~blob if number == 1 else pred
        cases.append(_case(pred, true, f"a random ellipse, predicted shifted by {shift} with {extra}", hidden=True))
    return cases
