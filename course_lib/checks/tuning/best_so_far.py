"""Exercise ``best-so-far``: the running best of a search, pruned trials skipped."""

from __future__ import annotations

from typing import Any, Sequence

from ..core import Case, Mistake, compare
from ..registry import register
from .common import LESSON

__all__ = ["best_so_far_reference"]


def best_so_far_reference(values: Sequence[float | None], direction: str = "maximize") -> list[float | None]:
    """Reference answer: the running best (max or min) of ``values``; None entries keep the previous best."""
    curve: list[float | None] = []
    for v in values:
        prev = curve[-1] if curve else None
        if v is None:
            curve.append(prev)
        elif prev is None:
            curve.append(v)
        else:
            curve.append(max(prev, v) if direction == "maximize" else min(prev, v))
    return curve


def _running(values: Sequence[float | None], fn: Any) -> list[float | None]:
    out: list[float | None] = []
    for v in values:
        prev = out[-1] if out else None
        out.append(prev if v is None else v if prev is None else fn(prev, v))
    return out


def _check_best(case: Case, got: Any) -> str | None:
    values = case.args[0]
    direction = case.kwargs.get("direction", case.args[1] if len(case.args) > 1 else "maximize")
    expected = best_so_far_reference(values, direction)
    reason = compare(expected, got, path="the curve")
    if reason is None:
        return None
    return reason + f" (values {values!r}, direction={direction!r}, expected {expected!r}, got {got!r})"


def _always_max(values: Sequence[float | None], direction: str = "maximize") -> list[float | None]:
    return _running(values, max)


def _skips_pruned(values: Sequence[float | None], direction: str = "maximize") -> list[float | None]:
    return best_so_far_reference([v for v in values if v is not None], direction)


def _starts_at_zero(values: Sequence[float | None], direction: str = "maximize") -> list[float | None]:
    best, curve = 0.0, []
    for v in values:
        if v is not None:
            best = max(best, v) if direction == "maximize" else min(best, v)
        curve.append(best)
    return curve


def _skipped(case: Case, got: Any) -> bool:
    values = case.args[0]
    kept = len([v for v in values if v is not None])
    return isinstance(got, list) and len(got) == kept != len(values)


_BEST_SO_FAR_MISTAKES = (
    Mistake(
        "the direction ignored",
        _always_max,
        "for direction='minimize' the best value is the SMALLEST so far (a loss, say), but your curve kept the "
        "largest.",
    ),
    Mistake(
        "pruned trials left out",
        _skips_pruned,
        "the curve skips the pruned (None) trials, so it is shorter than the list of trials and its points no "
        "longer line up with the trial numbers. Give every trial an entry: a pruned one repeats the previous best.",
        detect=lambda case, got, reason: _skipped(case, got),
    ),
    Mistake(
        "the best started at 0",
        _starts_at_zero,
        "the running best started at 0 instead of at the first real value: a minimize curve of positive losses "
        "then never leaves 0, and negative scores never show. Before the first trial there is no best yet (None); "
        "the first value is the best so far as it is.",
    ),
)


@register(
    "best-so-far",
    lesson=LESSON,
    title="The best-so-far curve of a search",
    hints=(
        "Walk through the trials in order and remember the best value seen so far; after each trial write that "
        "best down, so the curve has one entry per trial. Best means largest when maximizing (a Dice) and "
        "smallest when minimizing (a loss). A pruned trial (None) changes nothing, and before the first real "
        "value there is no best yet.",
        "Start with `best = None` (not 0). For each value: a None leaves `best` alone; otherwise take the value "
        "if `best` is still None, else `max(best, v)` or `min(best, v)` depending on `direction`. Append `best` "
        "on every trial, pruned or not.",
        "`curve, best = [], None`; `for v in values:` "
        "`if v is not None and (best is None or (v > best if direction == \"maximize\" else v < best)): best = v`; "
        "`curve.append(best)`; `return curve`",
    ),
    checker=_check_best,
    mistakes=_BEST_SO_FAR_MISTAKES,
)
def _best_so_far_cases() -> list[Case]:
    return [
        Case(([0.5, 0.7, 0.6, 0.8],), description="Dice values, maximize -> [0.5, 0.7, 0.7, 0.8]"),
        Case(([0.9, 0.4, 0.6, 0.3], "minimize"), description="loss values, direction='minimize' -> [0.9, 0.4, 0.4, 0.3]"),
        Case(([0.2, None, 0.5, None],), description="None = a pruned trial keeps the previous best -> [0.2, 0.2, 0.5, 0.5]"),
        Case(([None, None, 0.1],), hidden=True, description="leading pruned trials -> [None, None, 0.1]"),
        Case(([],), hidden=True, description="no trials -> []"),
        Case(([3.0, None, 1.0, 2.0, 0.5],), {"direction": "minimize"}, hidden=True, description="minimize with a pruned trial"),
        Case(([0.1, 0.1, 0.1],), hidden=True, description="ties"),
        Case(([-1.0, -3.0, -0.5, -2.0],), hidden=True, description="negative values, maximize"),
    ]
