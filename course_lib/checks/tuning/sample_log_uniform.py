"""Exercise ``sample-log-uniform``: seeded log-uniform samples of a learning rate."""

from __future__ import annotations

import math
import random
from typing import Any, Sequence

from ..core import Case, Mistake
from ..registry import register
from .common import LESSON

__all__ = ["sample_log_uniform_reference"]


def sample_log_uniform_reference(low: float, high: float, n: int, seed: int) -> list[float]:
    """Reference answer: ``n`` values log-uniform in [low, high] from ``random.Random(seed)``, one ``uniform`` draw each."""
    rng = random.Random(seed)
    return [10 ** rng.uniform(math.log10(low), math.log10(high)) for _ in range(n)]


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
    lesson=LESSON,
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
