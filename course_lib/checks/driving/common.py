"""What the driving exercises share: the CamVid-11 conventions and a detector of named mistakes."""

from __future__ import annotations

import copy
from typing import Any, Callable

import torch

from ..core import Case, compare

__all__ = ["LESSON", "NUM_CLASSES", "VOID", "CAMVID_SHARES", "same_as", "as_float32"]


LESSON = "10_capstone_driving"
NUM_CLASSES = 11
VOID = 11
# Rough CamVid-11 pixel shares (sky, building, pole, road, sidewalk, tree, sign, fence, car, pedestrian,
# bicyclist), then void: real data is this imbalanced, so the cases are too.
CAMVID_SHARES = (0.15, 0.22, 0.01, 0.27, 0.07, 0.10, 0.01, 0.02, 0.04, 0.007, 0.005, 0.08)


def same_as(wrong: Callable, part: Callable[[Any], Any] = lambda r: r,
            cast: Callable[[Any], Any] = lambda r: r) -> Callable[[Case, Any, str], bool]:
    """A mistake's detector: ``part`` of the learner's result equals ``part`` of ``wrong``'s, where the right answer
    differs; ``cast`` first (e.g. float64 weights to float32, which the checker accepts)."""
    def detect(case: Case, got: Any, reason: str) -> bool:
        made = part(wrong(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs)))
        right, mine = part(case.expected), part(cast(got))
        return compare(right, made, case.atol, case.rtol) is not None and compare(made, mine, case.atol, case.rtol) is None
    return detect


def as_float32(got: Any) -> Any:
    """A floating-point tensor as float32 (the checkers accept float64 with the right numbers); anything else as is."""
    return got.float() if isinstance(got, torch.Tensor) and got.is_floating_point() else got
