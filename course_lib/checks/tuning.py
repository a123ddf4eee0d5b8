"""Exercises of lesson 07 (hyperparameter optimisation): an LR suggestion from an LR range test, a seeded
log-uniform sampler, a grid of configurations, and the best-so-far curve of a search."""

from __future__ import annotations

import itertools
import math
import random
from typing import Any, Sequence

from .core import Case, compare
from .registry import register

__all__ = ["suggest_lr_reference", "sample_log_uniform_reference", "grid_configs_reference", "best_so_far_reference"]

_LESSON = "07_hyperparameters"


def sample_log_uniform_reference(low: float, high: float, n: int, seed: int) -> list[float]:
    """Reference answer: ``n`` values log-uniform in [low, high] from ``random.Random(seed)``, one ``uniform`` draw each."""
    rng = random.Random(seed)
    return [10 ** rng.uniform(math.log10(low), math.log10(high)) for _ in range(n)]


def grid_configs_reference(options: dict[str, list]) -> list[dict[str, Any]]:
    """Reference answer: every combination of the option lists as a dict, in ``itertools.product`` order."""
    names = list(options)
    return [dict(zip(names, combo)) for combo in itertools.product(*options.values())]


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


def suggest_lr_reference(lrs: Sequence[float], losses: Sequence[float]) -> float:
    """Reference answer: ``lrs[i]`` of the segment i -> i+1 with the most negative slope of loss over log10(lr),
    among the segments that end at or before the lowest loss."""
    lowest = losses.index(min(losses))
    best_i, best_slope = 0, math.inf
    for i in range(max(lowest, 1)):
        slope = (losses[i + 1] - losses[i]) / (math.log10(lrs[i + 1]) - math.log10(lrs[i]))
        if slope < best_slope:
            best_i, best_slope = i, slope
    return lrs[best_i]


# ------------------------------------------------------------------------------------------------ suggest-lr
def _lr_curve(seed: int, n: int) -> tuple[list[float], list[float]]:
    """A noisy LR-range-test curve: a plateau, a descent, a minimum, then divergence."""
    rng = random.Random(seed)
    lo, hi = rng.uniform(-6, -4), rng.uniform(-0.5, 1)
    centre = rng.uniform(lo + 1.5, hi - 1.5)
    lrs = [10 ** (lo + (hi - lo) * i / (n - 1)) for i in range(n)]
    losses = []
    for lr in lrs:
        x = math.log10(lr)
        loss = 0.3 + 0.7 / (1 + math.exp(3 * (x - centre))) + (2 * (x - centre - 1) ** 2 if x > centre + 1 else 0.0)
        losses.append(round(loss + rng.uniform(-0.01, 0.01), 6))
    return lrs, losses


def _check_lr(case: Case, got: Any) -> str | None:
    lrs, losses = case.args
    expected = suggest_lr_reference(lrs, losses)
    reason = compare(expected, got, atol=0.0, rtol=1e-9, path="the suggestion")
    if reason is None:
        return None
    if isinstance(got, (int, float)):
        i_min = losses.index(min(losses))
        if math.isclose(got, lrs[i_min]):
            return (f"{got:.3g} is the LR of the lowest loss; there training is already on the edge of diverging. "
                    f"Suggest the LR of the steepest descent (most negative slope) before the minimum.")
        if got in lrs and lrs.index(got) >= 1 and math.isclose(lrs[lrs.index(got) - 1], expected):
            return "you returned the LR at the end of the steepest segment; return the one at its start, lrs[i]."
        if got in lrs and lrs.index(got) > i_min:
            return "the suggestion lies after the lowest loss; only look at segments before the minimum."
    return reason


@register(
    "suggest-lr",
    lesson=_LESSON,
    title="Suggest a learning rate from an LR range test",
    hint="lowest = losses.index(min(losses)); for i in range(max(lowest, 1)): slope = (losses[i+1] - losses[i]) / "
    "(log10(lrs[i+1]) - log10(lrs[i])); keep the i with the most negative slope; return lrs[i].",
    checker=_check_lr,
)
def _suggest_lr_cases() -> list[Case]:
    cases = [
        Case(([1e-4, 1e-3, 1e-2, 1e-1, 1.0], [1.0, 0.9, 0.5, 0.4, 2.0]),
             description="slopes per decade -0.1, -0.4, -0.1 before the minimum at 1e-1 -> 1e-3 (start of the steepest segment)"),
        Case(([1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0], [2.0, 1.9, 1.2, 1.1, 0.8, 3.0]),
             description="the steepest drop 1e-4 -> 1e-3 is far before the lowest loss at 1e-1 -> 1e-4"),
        Case(([1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0], [1.0, 0.6, 0.3, 2.5, 0.9, 5.0]),
             description="after the lowest loss (1e-2) the loss jumps and drops steeply: ignore that part -> 1e-4"),
        Case(([1e-3, 1e-2, 1e-1, 1.0], [1.0, 0.2, 0.9, 0.1]), hidden=True,
             description="a dip after a bump: the lowest loss is last, steepest segment first -> 1e-3"),
        Case(([1e-4, 1e-3, 1e-2], [0.5, 0.7, 0.9]), hidden=True,
             description="the loss only rises: the minimum is the first point -> look at the first segment -> 1e-4"),
    ]
    for seed, n in ((70, 40), (71, 100), (72, 25)):
        lrs, losses = _lr_curve(seed, n)
        cases.append(Case((lrs, losses), hidden=True, description=f"a noisy LR range test curve of {n} points"))
    return cases


# ------------------------------------------------------------------------------------------------ sample-log-uniform
def _as_floats(got: Any) -> list[float] | str:
    try:
        import numpy as np
        import torch
    except ImportError:  # pragma: no cover
        np = torch = None
    if torch is not None and isinstance(got, torch.Tensor):
        return "the function returned a tensor; return a plain Python list of floats (e.g. [... for _ in range(n)])."
    if np is not None and isinstance(got, np.ndarray):
        got = got.tolist()
    if not isinstance(got, (list, tuple)):
        return f"the function should return a list of floats, but it returned {type(got).__name__}."
    out = []
    for v in got:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return f"the list holds a {type(v).__name__}; every item should be a float."
        out.append(float(v))
    return out


def _check_sampler(case: Case, got: Any) -> str | None:
    low, high, n, seed = case.args
    values = _as_floats(got)
    if isinstance(values, str):
        return values
    if len(values) != n:
        return f"it returned {len(values)} values; expected n={n}."
    outside = [v for v in values if not low * (1 - 1e-9) <= v <= high * (1 + 1e-9)]
    if outside:
        return (f"{len(outside)} value(s) lie outside [{low:g}, {high:g}], e.g. {outside[0]:.4g}; "
                f"did you forget 10 ** (...) around the uniform draw of the exponent?")
    expected = sample_log_uniform_reference(low, high, n, seed)
    if all(math.isclose(v, e, rel_tol=1e-7) for v, e in zip(values, expected)):
        return None
    rng = random.Random(seed)
    linear = [rng.uniform(low, high) for _ in range(n)]
    mid = math.sqrt(low * high)  # the middle of the range on a log scale
    upper = sum(v > mid for v in values) / max(n, 1)
    if all(math.isclose(v, e, rel_tol=1e-7) for v, e in zip(values, linear)) or (n >= 50 and upper > 0.8):
        return (f"{upper:.0%} of your values lie in the upper half of the range on a log scale (log-uniform "
                f"gives about 50%): you sampled uniformly between low and high. Sample the exponent instead: "
                f"10 ** rng.uniform(log10(low), log10(high)).")
    return (f"the values are in range but not the ones random.Random({seed}) gives (first: got {values[0]:.6g}, "
            f"expected {expected[0]:.6g}). Create rng = random.Random(seed) inside the function and call "
            f"rng.uniform once per value: the global `random` module, numpy or torch give other numbers, and an "
            f"unseeded generator gives different numbers every call (not reproducible).")


@register(
    "sample-log-uniform",
    lesson=_LESSON,
    title="A seeded log-uniform sampler for random search",
    hint="rng = random.Random(seed); return [10 ** rng.uniform(math.log10(low), math.log10(high)) for _ in range(n)]. "
    "Draw the exponent uniformly, not the value: then each decade (1e-4..1e-3, 1e-3..1e-2, ...) gets the same share.",
    checker=_check_sampler,
)
def _sample_log_uniform_cases() -> list[Case]:
    return [
        Case((1e-4, 1e-1, 5, 0), description="5 learning rates in [1e-4, 1e-1] with seed 0 (random.Random(0))"),
        Case((1e-5, 1.0, 1000, 1), description="1000 values in [1e-5, 1]: about 20% in each of the 5 decades, not 90% in the top one"),
        Case((1e-3, 1e-2, 3, 7), hidden=True, description="one decade, seed 7"),
        Case((2e-4, 3e-1, 200, 42), hidden=True, description="200 values, seed 42"),
        Case((1e-6, 1e-2, 0, 3), hidden=True, description="n=0 -> an empty list"),
        Case((0.5, 2.0, 50, 11), hidden=True, description="a range around 1, seed 11"),
    ]


# ------------------------------------------------------------------------------------------------ grid-configs
def _check_grid(case: Case, got: Any) -> str | None:
    (options,) = case.args
    expected = grid_configs_reference(options)
    if not isinstance(got, list):
        return f"the function should return a list of dicts, but it returned {type(got).__name__}."
    if got and not all(isinstance(c, dict) for c in got):
        bad = next(c for c in got if not isinstance(c, dict))
        return (f"the list holds a {type(bad).__name__} ({bad!r}); make each configuration a dict "
                f"{{name: value}}, e.g. dict(zip(options.keys(), combo)).")
    if len(got) != len(expected):
        shortest = min(len(v) for v in options.values())
        extra = (" That is the length of the shortest list: zip pairs the lists up; itertools.product gives every combination."
                 if len(got) == shortest and shortest != len(expected) else "")
        return (f"it returned {len(got)} configurations; a full grid over list lengths "
                f"{[len(v) for v in options.values()]} has {len(expected)}.{extra}")
    key = lambda c: repr(sorted(c.items()))  # noqa: E731
    if got != expected and sorted(map(key, got)) == sorted(map(key, expected)):
        return ("the right configurations but in another order: use itertools.product(*options.values()), "
                "so the first option changes slowest and the last fastest.")
    return compare(expected, got, path="configurations")


@register(
    "grid-configs",
    lesson=_LESSON,
    title="Every configuration of a grid",
    hint="names = list(options); return [dict(zip(names, combo)) for combo in itertools.product(*options.values())]",
    checker=_check_grid,
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


# ------------------------------------------------------------------------------------------------ best-so-far
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
    if isinstance(got, list) and direction == "minimize" and got == _running(values, max):
        return "for direction='minimize' the best value is the smallest so far (a loss): keep the running min, not the max."
    if isinstance(got, list) and len(got) == len([v for v in values if v is not None]) != len(values):
        return ("the curve skips the None (pruned) trials; it needs one entry per trial: repeat the previous best "
                "for a None.")
    return reason + f" (values {values!r}, direction={direction!r}, expected {expected!r}, got {got!r})"


@register(
    "best-so-far",
    lesson=_LESSON,
    title="The best-so-far curve of a search",
    hint="Walk through the values keeping `best` (None at first): a None (pruned trial) leaves it unchanged; otherwise "
    "take max(best, v) for 'maximize' or min(best, v) for 'minimize'. Append best after each trial.",
    checker=_check_best,
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


