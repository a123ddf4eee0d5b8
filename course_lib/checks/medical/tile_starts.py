"""Exercise ``tile-starts``: where the sliding windows of tiled inference start."""

from __future__ import annotations

import numbers
from typing import Any

from ..core import Case, Mistake, describe
from ..registry import register
from .common import LESSON, said

__all__ = ["tile_starts_reference"]


def tile_starts_reference(length: int, tile: int, overlap: int) -> list[int]:
    """Reference answer: a start every ``tile - overlap`` pixels below ``length - tile``, then ``length - tile``."""
    if length <= tile:
        return [0]
    return list(range(0, length - tile, tile - overlap)) + [length - tile]


def _tile_starts_problem(length: int, tile: int, overlap: int, got: Any) -> str | None:
    """What is wrong with ``got`` as window starts, as a fact with numbers (the mistakes say why), or None."""
    if isinstance(got, range):
        return "the function returned a range object; turn it into a list (list(...)) and add the final start."
    if not isinstance(got, (list, tuple)) or not all(
        isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in got
    ):
        return "the function should return a list of ints (the window starts)."
    starts = [int(s) for s in got]
    expected = tile_starts_reference(length, tile, overlap)
    if length <= tile:
        return None if starts == [0] else (
            f"the image ({length} pixels) fits in one tile of {tile}, so a single window at 0 covers it (padded up "
            f"to the tile later); got {starts}."
        )
    if not starts:
        return f"the list is empty; expected window starts such as {expected}."
    if starts != sorted(set(starts)):
        return f"the starts {starts} should increase from left to right, each once."
    if starts[0] != 0:
        return f"the first window starts at {starts[0]}, so pixels 0..{starts[0] - 1} are never predicted; start at 0."
    if starts[-1] + tile > length:
        return (
            f"the window at {starts[-1]} runs past the end ({starts[-1]} + {tile} > {length}): the last start can be "
            f"at most length - tile = {length - tile}."
        )
    if starts[-1] + tile < length:
        return (
            f"the last window covers {starts[-1]}..{starts[-1] + tile - 1}, so the last {length - starts[-1] - tile} "
            f"pixel(s) are never predicted: a gap at the end. A window flush with the end starts at "
            f"length - tile = {length - tile}."
        )
    stride = tile - overlap
    steps = [b - a for a, b in zip(starts, starts[1:])]
    if overlap != stride and steps[:-1] and all(step == overlap for step in steps[:-1]):
        return (
            f"consecutive windows start {overlap} pixel(s) apart, the overlap; windows of {tile} that share "
            f"{overlap} pixel(s) start tile - overlap = {stride} pixels apart."
        )
    gaps = [a + tile - b for a, b in zip(starts, starts[1:])]
    if min(gaps) < overlap:
        i = gaps.index(min(gaps))
        return (
            f"the windows at {starts[i]} and {starts[i + 1]} share only {max(gaps[i], 0)} pixel(s); neighbours must "
            f"share at least overlap = {overlap}."
        )
    if len(starts) > len(expected):
        return (
            f"{len(starts)} windows cover the {length} pixels, but {len(expected)} are enough (e.g. {expected}); "
            f"every extra window costs a model call."
        )
    return None  # another valid placement with as few windows (e.g. evenly spread starts) is also right


def _check_tile_starts(case: Case, got: Any) -> str | None:
    length, tile, overlap = case.args
    problem = _tile_starts_problem(length, tile, overlap, got)
    if problem is None:
        return None
    expected = tile_starts_reference(length, tile, overlap)
    return f"{problem} (length={length}, tile={tile}, overlap={overlap}: expected e.g. {expected}, got {describe(got)})"


# Typical wrong answers: each makes exactly one mistake and is recognised by its phrase in the checker's reason.
def _starts_without_one_tile_case(length: int, tile: int, overlap: int) -> list[int]:
    return list(range(0, length - tile, tile - overlap)) + [length - tile]


def _starts_past_the_end(length: int, tile: int, overlap: int) -> list[int]:
    return list(range(0, length, tile - overlap))


def _starts_without_a_flush_end(length: int, tile: int, overlap: int) -> list[int]:
    return list(range(0, length - tile + 1, tile - overlap)) if length > tile else [0]


def _starts_stepping_by_the_overlap(length: int, tile: int, overlap: int) -> list[int]:
    return [0] if length <= tile else list(range(0, length - tile, overlap)) + [length - tile]


def _starts_first_and_last_only(length: int, tile: int, overlap: int) -> list[int]:
    return [0] if length <= tile else [0, length - tile]


def _starts_with_small_steps(length: int, tile: int, overlap: int) -> list[int]:
    step = max(tile - overlap - 1, 1)
    return [0] if length <= tile else list(range(0, length - tile, step)) + [length - tile]


_TILE_STARTS_MISTAKES = (
    Mistake("one-tile image not handled", _starts_without_one_tile_case,
            "when the image is no longer than a tile, length - tile is 0 or negative, so the regular steps give "
            "no start, or a negative one. Handle that case first: one window at 0 is all it needs.",
            detect=said("fits in one tile")),
    Mistake("last window runs past the end", _starts_past_the_end,
            "stepping on until you reach length lets the last window start where it no longer fits in the image. "
            "Stop the regular steps before length - tile and make length - tile itself the last start.",
            detect=said("runs past the end")),
    Mistake("no window flush with the end", _starts_without_a_flush_end,
            "regular steps of tile - overlap seldom land exactly on the end of the image, so the last pixels get "
            "no window. Always add one more window that ends at the last pixel, even if it overlaps its "
            "neighbour more.",
            detect=said("a gap at the end")),
    Mistake("stepped by the overlap", _starts_stepping_by_the_overlap,
            "the overlap is how many pixels two neighbours share, not how far apart they start; stepping by it "
            "makes far more windows than needed (or none overlapping when it is 0). The step is what is left of a "
            "tile after the shared part.",
            detect=said("apart, the overlap")),
    Mistake("windows too far apart", _starts_first_and_last_only,
            "the first and the last window alone (or too long steps) leave neighbours that share less than the "
            "overlap, or pixels no window covers. Step through the image by tile - overlap at most.",
            detect=said("share only")),
    Mistake("more windows than needed", _starts_with_small_steps,
            "steps shorter than tile - overlap make neighbours share more than they must, so there are more "
            "windows, and every window is one more model call. Step by exactly tile - overlap.",
            detect=said("are enough")),
)


@register(
    "tile-starts",
    lesson=LESSON,
    title="Where the sliding windows start",
    hints=(
        "Neighbouring windows start a fixed distance apart, chosen so that each pair shares exactly the overlap; "
        "and the last window must end exactly at the image's last pixel, even if it then overlaps its neighbour "
        "more, or the last pixels are never predicted. An image no longer than one tile needs a single window.",
        "The distance between starts is tile - overlap. range(0, stop, step) lists 0, step, 2·step, … below stop: "
        "stop the regular steps before length - tile, then append length - tile itself as the last start. Handle "
        "length <= tile first, and return a list, not a range.",
        "if length <= tile: return [0]; otherwise "
        "return list(range(0, length - tile, tile - overlap)) + [length - tile]",
    ),
    checker=_check_tile_starts,
    mistakes=_TILE_STARTS_MISTAKES,
)
def _tile_starts_cases() -> list[Case]:
    def case(length: int, tile: int, overlap: int, hidden: bool, description: str = "") -> Case:
        expected = tile_starts_reference(length, tile, overlap)
        return Case((length, tile, overlap), expected=expected, hidden=hidden,
                    description=description or f"tile_starts({length}, {tile}, {overlap}) -> {expected}")

    return [
        case(10, 4, 1, False, "tile_starts(10, 4, 1): windows 0-3, 3-6, 6-9 -> [0, 3, 6] (stride 3, each pair shares 1 pixel)"),
        case(565, 256, 64, False, "tile_starts(565, 256, 64): a DRIVE image's width -> [0, 192, 309] (the last window "
             "moved back to end at pixel 564)"),
        case(200, 256, 32, False, "tile_starts(200, 256, 32): the image fits in one tile -> [0]"),
        case(584, 256, 64, True),
        case(12, 4, 0, True, "tile_starts(12, 4, 0): no overlap and an exact fit -> [0, 4, 8]"),
        case(10, 4, 0, True),
        case(256, 256, 64, True, "the image is exactly one tile -> [0]"),
        case(257, 256, 64, True, "one pixel more than a tile -> [0, 1]"),
        case(100, 10, 9, True, "overlap = tile - 1: stride 1"),
        case(1000, 128, 32, True),
        case(96, 32, 8, True),
    ]
