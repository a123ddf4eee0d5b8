"""Search spaces: distributions for each hyperparameter, the values a grid tries, and suggesting a value in a trial."""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

__all__ = ["log_uniform", "uniform", "integer", "choice", "grid_values", "check_space", "check_grid", "suggest"]


def _check_range(name: str, low: Any, high: Any, log: bool) -> None:
    for arg, value in (("low", low), ("high", high)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{name}: {arg}={value!r} must be a finite number.")
    if not low < high:
        raise ValueError(f"{name}: low={low!r} must be smaller than high={high!r}.")
    if log and low <= 0:
        raise ValueError(f"{name}: low={low!r} must be > 0 on a log scale (e.g. 1e-5), or use uniform(...).")


def log_uniform(low: float, high: float) -> Any:
    """A float searched on a log scale (learning rate, weight decay): an Optuna FloatDistribution(log=True)."""
    from optuna.distributions import FloatDistribution

    _check_range("log_uniform", low, high, log=True)
    return FloatDistribution(float(low), float(high), log=True)


def uniform(low: float, high: float) -> Any:
    """A float searched on a linear scale (augmentation strength, dropout): an Optuna FloatDistribution."""
    from optuna.distributions import FloatDistribution

    _check_range("uniform", low, high, log=False)
    return FloatDistribution(float(low), float(high))


def integer(low: int, high: int, log: bool = False) -> Any:
    """An integer from low to high inclusive (epochs, channels): an Optuna IntDistribution."""
    from optuna.distributions import IntDistribution

    for arg, value in (("low", low), ("high", high)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"integer: {arg}={value!r} must be an int.")
    _check_range("integer", low, high, log=log)
    return IntDistribution(low, high, log=log)


def choice(*values: Any) -> Any:
    """One of a few values (batch size, loss name): an Optuna CategoricalDistribution."""
    from optuna.distributions import CategoricalDistribution

    if len(values) == 1 and isinstance(values[0], (list, tuple)):
        values = tuple(values[0])
    if not values:
        raise ValueError("choice() needs at least one value, e.g. choice(8, 16, 32).")
    return CategoricalDistribution(list(values))


def check_space(space: Any) -> dict[str, Any]:
    from optuna.distributions import BaseDistribution

    if not isinstance(space, Mapping) or not space:
        raise ValueError(
            f"space={space!r} must be a non-empty dict of name -> distribution, e.g. "
            "{'lr': log_uniform(1e-4, 1e-1), 'batch_size': choice(8, 16)}."
        )
    for name, dist in space.items():
        if not isinstance(name, str):
            raise ValueError(f"space keys must be parameter names (str), got {name!r}.")
        if not isinstance(dist, BaseDistribution):
            raise ValueError(
                f"space[{name!r}]={dist!r} is not a distribution; use log_uniform(low, high), uniform(low, high), "
                "integer(low, high) or choice(...)."
            )
    return dict(space)


def grid_values(space: Mapping[str, Any], points: int = 3) -> dict[str, list[Any]]:
    """The values a grid search tries: ``points`` log- or linearly spaced values per float/int, every choice."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    space = check_space(space)
    if isinstance(points, bool) or not isinstance(points, int) or points < 2:
        raise ValueError(f"points={points!r} must be an int >= 2 (values per numeric parameter).")
    grid: dict[str, list[Any]] = {}
    for name, d in space.items():
        if isinstance(d, CategoricalDistribution):
            grid[name] = list(d.choices)
            continue
        lo, hi = float(d.low), float(d.high)
        if d.log:
            vals = [math.exp(math.log(lo) + (math.log(hi) - math.log(lo)) * i / (points - 1)) for i in range(points)]
        else:
            vals = [lo + (hi - lo) * i / (points - 1) for i in range(points)]
        if isinstance(d, IntDistribution):
            grid[name] = sorted({int(round(v)) for v in vals})
        elif isinstance(d, FloatDistribution):
            grid[name] = [float(f"{v:.6g}") for v in vals]
            grid[name][0], grid[name][-1] = lo, hi
    return grid


def check_grid(grid: Mapping[str, Sequence[Any]], space: Mapping[str, Any]) -> dict[str, list[Any]]:
    from optuna.distributions import CategoricalDistribution

    if set(grid) != set(space):
        raise ValueError(f"grid has parameters {sorted(grid)} but space has {sorted(space)}; give values for each.")
    out = {}
    for name, values in grid.items():
        values = list(values)
        if not values:
            raise ValueError(f"grid[{name!r}] is empty; give at least one value.")
        dist = space[name]
        for v in values:
            inside = v in dist.choices if isinstance(dist, CategoricalDistribution) else (
                isinstance(v, (int, float)) and not isinstance(v, bool) and dist.low <= v <= dist.high)
            if not inside:
                raise ValueError(f"grid[{name!r}] holds {v!r}, which is outside space[{name!r}]={dist!r}.")
        out[name] = values
    return out


def suggest(trial: Any, name: str, dist: Any) -> Any:
    from optuna.distributions import CategoricalDistribution, IntDistribution

    if isinstance(dist, CategoricalDistribution):
        return trial.suggest_categorical(name, dist.choices)
    if isinstance(dist, IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
    return trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)

