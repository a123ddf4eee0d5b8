"""Random draws for hyperparameter searches by hand (lesson 07); ``course_lib.tuning`` runs full searches with Optuna."""

from __future__ import annotations

import math
import random

from .validation import check_int, check_positive

__all__ = ["sample_log_uniform"]


def sample_log_uniform(low: float, high: float, n: int, seed: int = 0) -> list[float]:
    """``n`` values log-uniform in [low, high]: ``10 ** uniform(log10 low, log10 high)`` from ``random.Random(seed)``."""
    low, high = check_positive("low", low), check_positive("high", high)
    if not low < high:
        raise ValueError(f"low={low!r} must be smaller than high={high!r}, e.g. low=1e-5, high=1.0.")
    n, seed = check_int("n", n), check_int("seed", seed, minimum=0)
    rng = random.Random(seed)
    return [10 ** rng.uniform(math.log10(low), math.log10(high)) for _ in range(n)]
