"""Exercises of lesson 07 (hyperparameter optimisation): an LR suggestion from an LR range test, a seeded
log-uniform sampler, a grid of configurations, and the best-so-far curve of a search."""

from __future__ import annotations

import itertools
import math
import random
from typing import Any, Sequence

from .core import Case, Mistake, compare
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
    return compare(expected, got, atol=0.0, rtol=1e-9, path="the suggestion")


def _lr_of_lowest_loss(lrs: Sequence[float], losses: Sequence[float]) -> float:
    return lrs[losses.index(min(losses))]


def _lr_at_segment_end(lrs: Sequence[float], losses: Sequence[float]) -> float:
    return lrs[lrs.index(suggest_lr_reference(lrs, losses)) + 1]


def _steepest_anywhere(lrs: Sequence[float], losses: Sequence[float]) -> float:
    slopes = [(losses[i + 1] - losses[i]) / (math.log10(lrs[i + 1]) - math.log10(lrs[i])) for i in range(len(lrs) - 1)]
    return lrs[slopes.index(min(slopes))]


def _steepest_per_unit_lr(lrs: Sequence[float], losses: Sequence[float]) -> float:
    lowest = losses.index(min(losses))
    slopes = [(losses[i + 1] - losses[i]) / (lrs[i + 1] - lrs[i]) for i in range(max(lowest, 1))]
    return lrs[slopes.index(min(slopes))]


def _after_the_minimum(case: Case, got: Any) -> bool:
    lrs, losses = case.args
    return (isinstance(got, (int, float)) and not isinstance(got, bool) and got in lrs
            and lrs.index(got) > losses.index(min(losses)))


_SUGGEST_LR_MISTAKES = (
    Mistake(
        "the LR of the lowest loss",
        _lr_of_lowest_loss,
        "that is the learning rate where the loss is lowest; there training is already on the edge of "
        "diverging. Suggest the learning rate where the loss FALLS fastest, before the minimum.",
    ),
    Mistake(
        "the end of the steepest segment",
        _lr_at_segment_end,
        "you found the steepest segment but returned the learning rate at its end; return the one at its "
        "start, the last learning rate known to be safe.",
    ),
    Mistake(
        "looked past the minimum",
        _steepest_anywhere,
        "your suggestion lies after the lowest loss, where training diverges and the loss jumps around: steep "
        "drops there are noise. Only look at the segments before the lowest loss.",
        detect=lambda case, got, reason: _after_the_minimum(case, got),
    ),
    Mistake(
        "slope per unit of LR, not per decade",
        _steepest_per_unit_lr,
        "the slope was divided by the change of the learning rate itself. The points are spaced evenly on a log "
        "scale, so the tiny first steps make the smallest learning rates look steepest; divide by the change of "
        "log10(lr) instead.",
    ),
)


@register(
    "suggest-lr",
    lesson=_LESSON,
    title="Suggest a learning rate from an LR range test",
    hints=(
        "A good learning rate is where the loss falls fastest, not where it is lowest (by then training is "
        "about to blow up). Look only at the part of the curve before the lowest loss, measure how steeply the "
        "loss drops between neighbouring points with the learning rate on a log scale, and return the learning "
        "rate at the start of the steepest drop.",
        "Find the position of the lowest loss with `losses.index(min(losses))`; for each segment i -> i+1 "
        "before it, the slope is the change of loss divided by the change of `math.log10(lr)`. Keep the i with "
        "the most negative slope and return `lrs[i]`, the segment's start. If the minimum is the first point, "
        "still look at the first segment.",
        "`lowest = losses.index(min(losses))`; `for i in range(max(lowest, 1)):` "
        "`slope = (losses[i + 1] - losses[i]) / (math.log10(lrs[i + 1]) - math.log10(lrs[i]))`; keep the i with "
        "the smallest slope; `return lrs[best_i]`",
    ),
    checker=_check_lr,
    mistakes=_SUGGEST_LR_MISTAKES,
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
        return f"{len(outside)} value(s) lie outside [{low:g}, {high:g}], e.g. {outside[0]:.4g}."
    expected = sample_log_uniform_reference(low, high, n, seed)
    if all(math.isclose(v, e, rel_tol=1e-7) for v, e in zip(values, expected)):
        return None
    upper = _upper_share(values, low, high)
    skew = (f" {upper:.0%} of them lie in the upper half of the range on a log scale; log-uniform values put "
            f"about 50% there." if n >= 20 and upper > 0.8 else "")
    return (f"the values are in [{low:g}, {high:g}] but not the ones expected for seed {seed} (first: got "
            f"{values[0]:.6g}, expected {expected[0]:.6g}).{skew}")


def _upper_share(values: Sequence[float], low: float, high: float) -> float:
    """The share of ``values`` above the middle of [low, high] on a log scale (about 0.5 for log-uniform)."""
    mid = math.sqrt(low * high)
    return sum(v > mid for v in values) / max(len(values), 1)


def _sample_linear(low: float, high: float, n: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [rng.uniform(low, high) for _ in range(n)]


def _sampled_linearly(case: Case, got: Any) -> bool:
    low, high, n, seed = case.args
    values = _as_floats(got)
    if isinstance(values, str) or len(values) != n:
        return False
    same = all(math.isclose(v, e, rel_tol=1e-7) for v, e in zip(values, _sample_linear(low, high, n, seed)))
    return same or (n >= 50 and _upper_share(values, low, high) > 0.8)


def _sample_exponents(low: float, high: float, n: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [rng.uniform(math.log10(low), math.log10(high)) for _ in range(n)]


def _only_exponents(case: Case, got: Any) -> bool:
    low, high, n, _ = case.args
    values = _as_floats(got)
    if isinstance(values, str) or not values or len(values) != n:
        return False
    return any(all(lo - 1e-9 <= v <= hi + 1e-9 for v in values) and not all(low <= v <= high for v in values)
               for lo, hi in ((math.log10(low), math.log10(high)), (math.log(low), math.log(high))))


def _sample_unseeded(low: float, high: float, n: int, seed: int) -> list[float]:
    return [10 ** random.uniform(math.log10(low), math.log10(high)) for _ in range(n)]


_SAMPLE_LOG_UNIFORM_MISTAKES = (
    Mistake(
        "the value drawn uniformly, not its exponent",
        _sample_linear,
        "you drew the value uniformly between low and high, so about 90% of the values land in the top decade "
        "and small learning rates are hardly ever tried (the upper half of the range on a log scale should get "
        "about 50%). Draw the exponent uniformly instead, and raise 10 to it.",
        detect=lambda case, got, reason: _sampled_linearly(case, got),
    ),
    Mistake(
        "the exponent, not the value",
        _sample_exponents,
        "these are the exponents themselves (negative numbers for learning rates below 1): the last step, "
        "raising 10 (or e, if you used natural logs) to each exponent, is missing.",
        detect=lambda case, got, reason: _only_exponents(case, got),
    ),
    Mistake(
        "not drawn from random.Random(seed)",
        _sample_unseeded,
        "the values look log-uniform but are not the ones a generator made from the seed gives. Create that "
        "generator inside the function and draw from it once per value: the global random module, numpy or "
        "torch give other numbers, and an unseeded generator gives different numbers on every call, so a "
        "search could not be repeated.",
        detect=lambda case, got, reason: "not the ones expected" in reason and not _sampled_linearly(case, got),
    ),
)


@register(
    "sample-log-uniform",
    lesson=_LESSON,
    title="A seeded log-uniform sampler for random search",
    hints=(
        "Learning rates are spread over several powers of ten, so draw the exponent, not the value: pick a "
        "power uniformly between the powers of low and high, then turn it back into a number. Then each decade "
        "gets the same share of the values. Make your own random generator from the seed, inside the function, "
        "so that the same seed always gives the same values.",
        "Use `random.Random(seed)` (not the global `random` functions, numpy or torch) and call its `uniform` "
        "once per value, between `math.log10(low)` and `math.log10(high)`; raise 10 to each draw and return the "
        "n values as a list.",
        "`rng = random.Random(seed)`; "
        "`return [10 ** rng.uniform(math.log10(low), math.log10(high)) for _ in range(n)]`",
    ),
    checker=_check_sampler,
    mistakes=_SAMPLE_LOG_UNIFORM_MISTAKES,
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
    lesson=_LESSON,
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
    lesson=_LESSON,
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


