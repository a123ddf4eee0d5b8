"""Exercise ``suggest-lr``: a learning rate from the curve of an LR range test."""

from __future__ import annotations

import math
import random
from typing import Any, Sequence

from ..core import Case, Mistake, compare
from ..registry import register
from .common import LESSON

__all__ = ["suggest_lr_reference"]


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
    lesson=LESSON,
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
