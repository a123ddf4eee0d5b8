"""Exercise ``grid-configs``: every combination of the option lists, in order."""

from __future__ import annotations

import itertools
from typing import Any

from ..core import Case, Mistake, compare
from ..registry import register
from .common import LESSON

__all__ = ["grid_configs_reference"]


def grid_configs_reference(options: dict[str, list]) -> list[dict[str, Any]]:
    """Reference answer: every combination of the option lists as a dict, in ``itertools.product`` order."""
    names = list(options)
    return [dict(zip(names, combo)) for combo in itertools.product(*options.values())]


def _check_grid(case: Case, got: Any) -> str | None:
    (options,) = case.args
    expected = grid_configs_reference(options)
    if not isinstance(got, list):
        return f"the function should return a list of dicts, but it returned {type(got).__name__}."
    if got and not all(isinstance(c, dict) for c in got):
        bad = next(c for c in got if not isinstance(c, dict))
        return f"the list holds a {type(bad).__name__} ({bad!r}); each configuration should be a dict {{name: value}}."
    if len(got) != len(expected):
        return (f"it returned {len(got)} configurations; a full grid over list lengths "
                f"{[len(v) for v in options.values()]} has {len(expected)}.")
    if got != expected and _same_configs(got, expected):
        return "the right configurations, but in another order."
    return compare(expected, got, path="configurations")


def _same_configs(got: list, expected: list) -> bool:
    key = lambda c: repr(sorted(c.items()))  # noqa: E731
    return sorted(map(key, got)) == sorted(map(key, expected))


def _grid_zipped(options: dict[str, list]) -> list[dict[str, Any]]:
    return [dict(zip(options, combo)) for combo in zip(*options.values())]


def _grid_reversed(options: dict[str, list]) -> list[dict[str, Any]]:
    names = list(options)[::-1]
    return [dict(zip(names, combo)) for combo in itertools.product(*[options[k] for k in names])]


def _zipped(case: Case, got: Any) -> bool:
    (options,) = case.args
    shortest, full = min(len(v) for v in options.values()), len(grid_configs_reference(options))
    return isinstance(got, list) and len(got) == shortest != full


def _reordered(case: Case, got: Any) -> bool:
    expected = grid_configs_reference(case.args[0])
    return (isinstance(got, list) and all(isinstance(c, dict) for c in got) and len(got) == len(expected)
            and got != expected and _same_configs(got, expected))


_GRID_CONFIGS_MISTAKES = (
    Mistake(
        "zip instead of every combination",
        _grid_zipped,
        "zip pairs the lists up position by position (first with first, second with second) and stops at the "
        "shortest list; a grid needs every value of one option with every value of the others.",
        detect=lambda case, got, reason: _zipped(case, got),
    ),
    Mistake(
        "tuples without the names",
        lambda options: list(itertools.product(*options.values())),
        "each combination came out as a bare tuple of values, so nobody can tell which value is the lr and "
        "which the batch size. Pair the option names with the values in a dict.",
        detect=lambda case, got, reason: isinstance(got, list) and any(isinstance(c, (tuple, list)) for c in got),
    ),
    Mistake(
        "combinations in another order",
        _grid_reversed,
        "the configurations are all there but in another order: the first option must change slowest and the "
        "last fastest, the order itertools.product gives. Do not sort or reverse the options or their values.",
        detect=lambda case, got, reason: _reordered(case, got),
    ),
)


@register(
    "grid-configs",
    lesson=LESSON,
    title="Every configuration of a grid",
    hints=(
        "A grid tries every combination: each value of the first option with each value of the second, and so "
        "on (Python's itertools module builds these combinations for you). Turn each combination into a "
        "dictionary from option names to values, keeping the order in which the combinations come.",
        "`itertools.product(list_1, list_2, ...)` yields one tuple per combination, the first list changing "
        "slowest: unpack the value lists into it with `*`. Pair each tuple with the option names via `zip` and "
        "`dict`; do not zip the value lists with each other.",
        "`names = list(options)`; "
        "`return [dict(zip(names, combo)) for combo in itertools.product(*options.values())]`",
    ),
    checker=_check_grid,
    mistakes=_GRID_CONFIGS_MISTAKES,
)
def _grid_configs_cases() -> list[Case]:
    return [
        Case(({"lr": [0.1, 0.01], "batch_size": [8, 16, 32]},),
             description="{'lr': [0.1, 0.01], 'batch_size': [8, 16, 32]} -> 6 dicts, lr changes slowest"),
        Case(({"lr": [1e-3, 1e-2, 1e-1]},), description="one option -> 3 dicts with one key each"),
        Case(({"a": [1, 2], "b": ["x"], "c": [True, False]},), hidden=True, description="three options, one with a single value"),
        Case(({"lr": [1e-3, 3e-3, 1e-2, 3e-2], "wd": [0.0, 1e-4, 1e-2]},), hidden=True, description="4 × 3 grid"),
        Case(({"epochs": [5], "batch_size": [8]},), hidden=True, description="a single configuration"),
        Case(({"x": [3, 2, 1], "y": [9, 8]},), hidden=True, description="values in their given order, not sorted"),
    ]
