"""Hyperparameter search on a fixed budget: grid, random and Bayesian (Optuna GP and TPE) search, pruning,
one comparison table and plot, an LR range test, and a tiny segmentation objective to tune.

Introduced in lesson 07.

>>> space = {"lr": log_uniform(1e-3, 0.3), "weight_decay": log_uniform(1e-5, 1e-1)}
>>> objective = segmentation_objective()                      # trains a tiny U-Net, returns val Dice
>>> results = compare_strategies(objective, space, n_trials=8, seed=0)
>>> print(summary_table(results)); plot_search(results)
"""

from __future__ import annotations

import copy
import inspect
import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

import torch
from torch import nn

__all__ = [
    "STRATEGIES",
    "PRUNERS",
    "log_uniform",
    "uniform",
    "integer",
    "choice",
    "grid_values",
    "make_sampler",
    "make_pruner",
    "report",
    "SearchResult",
    "search",
    "compare_strategies",
    "summary_table",
    "best_so_far",
    "param_importances",
    "plot_search",
    "LRFinderResult",
    "suggest_lr",
    "lr_range_test",
    "TrialRun",
    "SegmentationObjective",
    "segmentation_objective",
]

STRATEGIES = ("grid", "random", "gp", "tpe")
PRUNERS = ("none", "median", "halving")
_STRATEGY_NAMES = {"grid": "grid search", "random": "random search", "gp": "Bayesian (GP)", "tpe": "Bayesian (TPE)"}
_COLORS = {"grid": "tab:gray", "random": "tab:orange", "gp": "tab:blue", "tpe": "tab:green"}
_WIDTHS = {"grid": 1.5, "random": 5.0, "gp": 3.0, "tpe": 1.2}  # wide under narrow: tied curves stay visible


# ------------------------------------------------------------------------------------------------ search spaces
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


def _check_space(space: Any) -> dict[str, Any]:
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

    space = _check_space(space)
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


def _check_grid(grid: Mapping[str, Sequence[Any]], space: Mapping[str, Any]) -> dict[str, list[Any]]:
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


# ------------------------------------------------------------------------------------------------ samplers, pruners
def _n_startup(n_trials: int | None) -> int:
    """Random trials before a Bayesian sampler starts modelling: a third of the budget, 2 to 10."""
    return 10 if n_trials is None else max(2, min(10, round(n_trials / 3)))


def make_sampler(strategy: str, space: Mapping[str, Any], seed: int = 0, n_trials: int | None = None,
                 grid: Mapping[str, Sequence[Any]] | None = None, grid_points: int = 3,
                 n_startup_trials: int | None = None) -> Any:
    """The Optuna sampler of a strategy: "grid", "random", "gp" (Gaussian process) or "tpe"; seeded."""
    import optuna

    if strategy not in STRATEGIES:
        raise ValueError(f"strategy={strategy!r} is not known; use one of {', '.join(map(repr, STRATEGIES))}.")
    startup = _n_startup(n_trials) if n_startup_trials is None else n_startup_trials
    if isinstance(startup, bool) or not isinstance(startup, int) or startup < 1:
        raise ValueError(f"n_startup_trials={n_startup_trials!r} must be a positive int or None (automatic).")
    if strategy == "grid":
        values = _check_grid(grid, space) if grid is not None else grid_values(space, grid_points)
        return optuna.samplers.GridSampler(values, seed=seed)
    if strategy == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if strategy == "gp":
        return optuna.samplers.GPSampler(seed=seed, n_startup_trials=startup)
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup, multivariate=True)


def make_pruner(pruner: Any = None, n_startup_trials: int = 2, n_warmup_steps: int = 1) -> Any:
    """An Optuna pruner: None/"none" (never prune), "median" (MedianPruner), "halving" (SuccessiveHalving), or one given."""
    import optuna

    if pruner is None or pruner == "none":
        return optuna.pruners.NopPruner()
    if isinstance(pruner, optuna.pruners.BasePruner):
        return pruner
    if pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=n_startup_trials, n_warmup_steps=n_warmup_steps)
    if pruner == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=2)
    raise ValueError(f"pruner={pruner!r} is not known; use one of {', '.join(map(repr, PRUNERS))} or an optuna pruner.")


def report(trial: Any, value: float, step: int) -> None:
    """Report an intermediate score (e.g. val Dice after ``step`` epochs); raises optuna.TrialPruned if the pruner says so."""
    import optuna

    if trial is None:
        return
    trial.report(float(value), step)
    if trial.should_prune():
        raise optuna.TrialPruned()


# ------------------------------------------------------------------------------------------------ results
@dataclass
class SearchResult:
    """One search: the Optuna study plus the per-trial values, in trial order (None for pruned or failed trials)."""

    strategy: str
    direction: str
    study: Any
    seed: int
    seconds: float
    space: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def trials(self) -> list[Any]:
        """The finished trials (Optuna FrozenTrial objects), in order."""
        from optuna.trial import TrialState

        return [t for t in self.study.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)]

    @property
    def values(self) -> list[float | None]:
        """The objective value of each trial; None for a pruned or failed trial."""
        from optuna.trial import TrialState

        return [t.value if t.state == TrialState.COMPLETE else None for t in self.trials]

    @property
    def params(self) -> list[dict[str, Any]]:
        """The configuration each trial tried."""
        return [dict(t.params) for t in self.trials]

    @property
    def states(self) -> list[str]:
        """"complete", "pruned" or "fail" for each trial."""
        return [t.state.name.lower() for t in self.trials]

    @property
    def n_pruned(self) -> int:
        """How many trials the pruner stopped early."""
        return self.states.count("pruned")

    @property
    def best_so_far(self) -> list[float | None]:
        """The best value found up to and including each trial (the curve searches are compared by)."""
        return best_so_far(self.values, self.direction)

    @property
    def best_value(self) -> float | None:
        """The best value of all trials (None when no trial completed)."""
        curve = self.best_so_far
        return curve[-1] if curve else None

    @property
    def best_trial(self) -> int | None:
        """The number (0-based) of the trial that found the best value."""
        best = self.best_value
        return None if best is None else self.values.index(best)

    @property
    def best_params(self) -> dict[str, Any] | None:
        """The configuration of the best trial."""
        i = self.best_trial
        return None if i is None else self.params[i]

    def table(self) -> str:
        """One line per trial: number, state, value, parameters."""
        lines = [f"{'trial':>5}  {'state':<9}{'value':>8}  params"]
        for i, (state, value, params) in enumerate(zip(self.states, self.values, self.params)):
            v = "-" if value is None else f"{value:.4f}"
            lines.append(f"{i:>5}  {state:<9}{v:>8}  {_fmt_params(params)}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        best = "-" if self.best_value is None else f"{self.best_value:.4f}"
        return (f"SearchResult({self.strategy!r}, {len(self.trials)} trials, {self.n_pruned} pruned, "
                f"best {best} at trial {self.best_trial}, {self.seconds:.1f}s)")


def _fmt_params(params: Mapping[str, Any] | None) -> str:
    if not params:
        return "-"
    return ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())


def best_so_far(values: Sequence[float | None], direction: str = "maximize") -> list[float | None]:
    """Running best of trial values (None entries, i.e. pruned trials, keep the previous best)."""
    if direction not in ("maximize", "minimize"):
        raise ValueError(f"direction={direction!r} must be 'maximize' or 'minimize'.")
    out: list[float | None] = []
    best: float | None = None
    for v in values:
        if v is not None and (best is None or (v > best if direction == "maximize" else v < best)):
            best = float(v)
        out.append(best)
    return out


# ------------------------------------------------------------------------------------------------ search
def _takes_trial(objective: Callable) -> str | None:
    """How ``objective`` takes the Optuna trial: "positional" (2nd argument), "keyword" (trial=...) or None."""
    try:
        sig = inspect.signature(objective)
    except (TypeError, ValueError):
        return None
    params = list(sig.parameters.values())
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in params):
        return "positional"
    if "trial" in sig.parameters or any(p.kind == p.VAR_KEYWORD for p in params):
        return "keyword"
    return None


def _suggest(trial: Any, name: str, dist: Any) -> Any:
    from optuna.distributions import CategoricalDistribution, IntDistribution

    if isinstance(dist, CategoricalDistribution):
        return trial.suggest_categorical(name, dist.choices)
    if isinstance(dist, IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
    return trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)


def search(
    objective: Callable[..., float],
    space: Mapping[str, Any],
    strategy: str = "tpe",
    n_trials: int | None = 20,
    timeout: float | None = None,
    seed: int = 0,
    direction: str = "maximize",
    pruner: Any = None,
    grid: Mapping[str, Sequence[Any]] | None = None,
    grid_points: int = 3,
    n_startup_trials: int | None = None,
    progress: bool = False,
) -> SearchResult:
    """Search ``space`` for the best ``objective(params[, trial])`` with one strategy on a fixed budget.

    * ``strategy``: "grid", "random", "gp" (Bayesian, Gaussian process) or "tpe" (Bayesian, tree-Parzen).
    * budget: ``n_trials`` (deterministic) and/or ``timeout`` seconds (stops after the trial in progress).
    * ``objective(params)`` returns the score; ``objective(params, trial)`` may also call
      :func:`report` after each epoch so that ``pruner`` ("median", "halving") can stop bad trials early.
    * grid: values from ``grid`` or ``grid_values(space, grid_points)``; a grid search stops when it is covered.
    """
    import optuna

    space = _check_space(space)
    if not callable(objective):
        raise ValueError(f"objective={objective!r} must be a function(params) -> float.")
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy={strategy!r} is not known; use one of {', '.join(map(repr, STRATEGIES))}.")
    if direction not in ("maximize", "minimize"):
        raise ValueError(f"direction={direction!r} must be 'maximize' (scores like Dice) or 'minimize' (losses).")
    if n_trials is None and timeout is None:
        raise ValueError("give a budget: n_trials (e.g. 20) and/or timeout (seconds).")
    if n_trials is not None and (isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1):
        raise ValueError(f"n_trials={n_trials!r} must be a positive int or None.")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
        raise ValueError(f"timeout={timeout!r} must be a positive number of seconds or None.")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed={seed!r} must be a non-negative int.")
    sampler = make_sampler(strategy, space, seed, n_trials, grid, grid_points, n_startup_trials)
    with_trial = _takes_trial(objective)

    def run(trial: Any) -> float:
        params = {name: _suggest(trial, name, dist) for name, dist in space.items()}
        if with_trial == "positional":
            value = objective(params, trial)
        elif with_trial == "keyword":
            value = objective(params, trial=trial)
        else:
            value = objective(params)
        value = float(value)
        if progress:
            print(f"  {strategy:<6} trial {trial.number:>2}: {value:.4f}  {_fmt_params(params)}", flush=True)
        return value

    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # quiet: no per-trial log lines, no optional-speedup notes
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study = optuna.create_study(direction=direction, sampler=sampler, pruner=make_pruner(pruner))
            study.optimize(run, n_trials=n_trials, timeout=timeout)
    finally:
        optuna.logging.set_verbosity(verbosity)
    return SearchResult(strategy, direction, study, seed, time.perf_counter() - start, space)


def compare_strategies(
    objective: Callable[..., float],
    space: Mapping[str, Any],
    strategies: Iterable[str] = STRATEGIES,
    n_trials: int = 8,
    seed: int = 0,
    direction: str = "maximize",
    pruner: Any = None,
    grid: Mapping[str, Sequence[Any]] | None = None,
    grid_points: int = 3,
    n_startup_trials: int | None = None,
    progress: bool = True,
) -> dict[str, SearchResult]:
    """Run several strategies on the same objective and the same trial budget; returns {strategy: SearchResult}."""
    strategies = list(strategies)
    unknown = [s for s in strategies if s not in STRATEGIES]
    if not strategies or unknown:
        raise ValueError(f"strategies={strategies!r}: use some of {', '.join(map(repr, STRATEGIES))}.")
    results = {}
    for s in strategies:
        results[s] = search(objective, space, s, n_trials=n_trials, seed=seed, direction=direction, pruner=pruner,
                            grid=grid, grid_points=grid_points, n_startup_trials=n_startup_trials)
        if progress:
            print(f"{_STRATEGY_NAMES[s]:<15} {results[s]!r}", flush=True)
    return results


def summary_table(results: Mapping[str, SearchResult]) -> str:
    """One line per strategy: trials, pruned, best value, the trial that found it, time and best parameters."""
    lines = [f"{'strategy':<16}{'trials':>7}{'pruned':>7}{'best':>8}{'at trial':>9}{'time s':>8}  best parameters"]
    for name, r in results.items():
        best = "-" if r.best_value is None else f"{r.best_value:.4f}"
        at = "-" if r.best_trial is None else str(r.best_trial)
        lines.append(f"{_STRATEGY_NAMES.get(name, name):<16}{len(r.trials):>7}{r.n_pruned:>7}{best:>8}{at:>9}"
                     f"{r.seconds:>8.1f}  {_fmt_params(r.best_params)}")
    return "\n".join(lines)


def param_importances(results: Mapping[str, SearchResult] | SearchResult, seed: int = 0) -> dict[str, float]:
    """How much each parameter explains the score (Optuna's fANOVA), over the completed trials of all results."""
    import optuna
    from optuna.trial import TrialState

    if isinstance(results, SearchResult):
        results = {results.strategy: results}
    if not results:
        raise ValueError("results is empty; pass what search() or compare_strategies() returned.")
    first = next(iter(results.values()))
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        pooled = optuna.create_study(direction=first.direction)
        for r in results.values():
            for t in r.trials:
                if t.state == TrialState.COMPLETE:
                    pooled.add_trial(copy.deepcopy(t))
        if len(pooled.trials) < 2:
            raise ValueError("parameter importances need at least 2 completed trials.")
        evaluator = optuna.importance.FanovaImportanceEvaluator(seed=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return {k: float(v) for k, v in optuna.importance.get_param_importances(pooled, evaluator=evaluator).items()}
    finally:
        optuna.logging.set_verbosity(verbosity)


def plot_search(results: Mapping[str, SearchResult] | SearchResult, param: str | None = None,
                importances: bool = True, figsize: tuple[float, float] = (13, 3.6)) -> Any:
    """One figure for all strategies: best-so-far vs trial, a slice plot (score vs ``param``) and importances."""
    import matplotlib.pyplot as plt
    from optuna.distributions import CategoricalDistribution

    if isinstance(results, SearchResult):
        results = {results.strategy: results}
    if not results:
        raise ValueError("results is empty; pass what search() or compare_strategies() returned.")
    first = next(iter(results.values()))
    names = list(first.space)
    if param is None:
        param = names[0]
    if param not in names:
        raise ValueError(f"param={param!r} is not in the search space; use one of {', '.join(names)}.")
    ncols = 3 if importances else 2
    fig, axes = plt.subplots(1, ncols, figsize=figsize)
    ax = axes[0]
    for name, r in results.items():
        curve = [math.nan if v is None else v for v in r.best_so_far]
        ax.step(range(1, len(curve) + 1), curve, where="post", marker="o", ms=3, color=_COLORS.get(name),
                lw=_WIDTHS.get(name, 1.5), label=_STRATEGY_NAMES.get(name, name))
    ax.set_xlabel("trial")
    ax.set_ylabel("best value so far")
    ax.set_title("best so far (same budget)", fontsize=10)
    ax.legend(fontsize=8)
    ax = axes[1]
    for name, r in results.items():
        xs = [p.get(param) for p in r.params]
        for x, v, t in zip(xs, r.values, r.trials):
            if x is None:
                continue
            if v is None:  # pruned: show its last reported value, hollow
                last = t.intermediate_values[max(t.intermediate_values)] if t.intermediate_values else None
                if last is not None:
                    ax.scatter([x], [last], facecolors="none", edgecolors=_COLORS.get(name), s=22)
                continue
            ax.scatter([x], [v], color=_COLORS.get(name), s=22)
    dist = first.space[param]
    if not isinstance(dist, CategoricalDistribution) and getattr(dist, "log", False):
        ax.set_xscale("log")
    ax.set_xlabel(param)
    ax.set_ylabel("value")
    ax.set_title(f"slice: value vs {param} (hollow = pruned)", fontsize=10)
    if importances:
        ax = axes[2]
        try:
            imp = param_importances(results)
        except (ValueError, RuntimeError) as err:
            ax.text(0.5, 0.5, f"no importances:\n{err}", ha="center", va="center", fontsize=8, wrap=True)
        else:
            keys = list(imp)[::-1]
            ax.barh(keys, [imp[k] for k in keys], color="tab:purple")
            ax.set_xlim(0, 1)
            ax.set_xlabel("importance (fANOVA, all trials)")
        ax.set_title("parameter importances", fontsize=10)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------------------------ LR range test
def suggest_lr(lrs: Sequence[float], losses: Sequence[float]) -> float:
    """The LR at the steepest descent of loss vs log(LR), looking only before the lowest loss (Leslie Smith)."""
    if len(lrs) != len(losses):
        raise ValueError(f"lrs has {len(lrs)} values but losses has {len(losses)}; they must match.")
    if len(lrs) < 2:
        raise ValueError("suggest_lr needs at least 2 points of the LR curve.")
    if any(lr <= 0 for lr in lrs):
        raise ValueError("lrs must all be > 0 (they are plotted on a log scale).")
    lowest = min(range(len(losses)), key=lambda i: losses[i])
    end = max(lowest, 1)
    slopes = [(losses[i + 1] - losses[i]) / (math.log10(lrs[i + 1]) - math.log10(lrs[i])) for i in range(end)]
    steepest = min(range(len(slopes)), key=lambda i: slopes[i])
    return float(lrs[steepest])


@dataclass
class LRFinderResult:
    """What :func:`lr_range_test` measured: learning rates, smoothed and raw losses, and a suggested LR."""

    lrs: list[float]
    losses: list[float]
    raw_losses: list[float]
    suggestion: float
    stopped_early: bool = False

    def plot(self, ax: Any = None) -> Any:
        """Smoothed loss vs learning rate (log scale) with the suggestion marked; returns the Figure."""
        import matplotlib.pyplot as plt

        if ax is None:
            fig, ax = plt.subplots(figsize=(6, 3.2))
        else:
            fig = ax.figure
        ax.plot(self.lrs, self.raw_losses, color="0.75", lw=1, label="loss per step")
        ax.plot(self.lrs, self.losses, color="tab:blue", lw=2, label="smoothed")
        ax.axvline(self.suggestion, color="tab:red", ls="--", label=f"suggestion {self.suggestion:.2g}")
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("training loss")
        hi = max(self.losses[: max(3, len(self.losses) // 10)]) * 1.3
        ax.set_ylim(min(self.losses) * 0.9, hi)
        ax.legend(fontsize=8)
        fig.tight_layout()
        return fig

    def __repr__(self) -> str:
        return (f"LRFinderResult({len(self.lrs)} steps, lr {self.lrs[0]:.1e}..{self.lrs[-1]:.1e}, "
                f"suggestion {self.suggestion:.2e}{', stopped early (loss diverged)' if self.stopped_early else ''})")


def lr_range_test(
    model: nn.Module,
    loader: Iterable,
    loss_fn: Callable | str | None = None,
    start_lr: float = 1e-5,
    end_lr: float = 1.0,
    steps: int = 100,
    optimizer: torch.optim.Optimizer | None = None,
    smoothing: float = 0.9,
    diverge: float = 4.0,
    device: Any = None,
) -> LRFinderResult:
    """Leslie Smith's LR range test: raise the LR exponentially from start_lr to end_lr over ``steps`` batches.

    Records the exponentially smoothed training loss, stops when it exceeds ``diverge`` × its best, suggests
    the LR of the steepest descent, and restores the model (weights, device, mode) and the optimizer's state afterwards.
    """
    from .training import _device, _output, _resolve_loss, _split_batch

    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
    for name, value in (("start_lr", start_lr), ("end_lr", end_lr)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ValueError(f"{name}={value!r} must be a positive number, e.g. 1e-5.")
    if not start_lr < end_lr:
        raise ValueError(f"start_lr={start_lr} must be smaller than end_lr={end_lr}.")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 5:
        raise ValueError(f"steps={steps!r} must be an int >= 5 (a few hundred is typical).")
    if not 0 <= smoothing < 1:
        raise ValueError(f"smoothing={smoothing!r} must be in [0, 1), e.g. 0.9.")
    if not diverge > 1:
        raise ValueError(f"diverge={diverge!r} must be > 1, e.g. 4 (stop when the loss is 4× its best).")
    dev = _device(device)
    home = next(model.parameters(), torch.empty(0)).device  # where the caller keeps the model
    saved_model = {k: v.detach().clone() for k, v in model.state_dict().items()}
    was_training = model.training
    model.to(dev)
    criterion = _resolve_loss(loss_fn, None)
    if optimizer is None:
        optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=start_lr)
    saved_opt = copy.deepcopy(optimizer.state_dict())
    factor = (end_lr / start_lr) ** (1 / (steps - 1))
    lrs: list[float] = []
    raw: list[float] = []
    smooth: list[float] = []
    avg = 0.0
    best = math.inf
    stopped = False
    model.train()
    try:
        batches = iter(loader)
        for step in range(steps):
            lr = start_lr * factor**step
            for group in optimizer.param_groups:
                group["lr"] = lr
            try:
                batch = next(batches)
            except StopIteration:
                batches = iter(loader)
                batch = next(batches)
            images, target = _split_batch(batch)
            loss = criterion(_output(model(images.to(dev))), target.to(dev))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            value = float(loss.detach())
            avg = smoothing * avg + (1 - smoothing) * value
            smoothed = avg / (1 - smoothing ** (step + 1))  # bias correction, as in Adam
            lrs.append(lr)
            raw.append(value)
            smooth.append(smoothed)
            best = min(best, smoothed)
            if not math.isfinite(smoothed) or smoothed > diverge * best:
                stopped = True
                break
    finally:  # put everything back as it was: device, weights, optimizer state, train/eval mode
        model.to(home)
        model.load_state_dict(saved_model)
        optimizer.load_state_dict(saved_opt)  # moves the optimizer's state to the parameters' device
        model.train(was_training)
    if len(lrs) < 2:
        raise ValueError("the loss diverged at once; lower start_lr.")
    return LRFinderResult(lrs, smooth, raw, suggest_lr(lrs, smooth), stopped)


# ------------------------------------------------------------------------------------------------ the lesson's objective
@dataclass
class TrialRun:
    """One training of :class:`SegmentationObjective`: the model, loss per step, val score per epoch, seconds."""

    model: nn.Module
    params: dict[str, Any]
    step_losses: list[float]
    val_scores: list[float]
    seconds: float

    @property
    def score(self) -> float:
        """The validation score after the last epoch (what the objective returns)."""
        return self.val_scores[-1]


def _augment(images: torch.Tensor, masks: torch.Tensor, strength: float, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Random flips and 90° rotations of each image+mask pair, each with probability ``strength``."""
    if strength <= 0:
        return images, masks
    images, masks = images.clone(), masks.clone()
    for i in range(images.shape[0]):
        if float(torch.rand((), generator=g)) < strength:
            k = int(torch.randint(0, 4, (), generator=g))
            flip = bool(torch.randint(0, 2, (), generator=g))
            img, msk = torch.rot90(images[i], k, (-2, -1)), torch.rot90(masks[i], k, (-2, -1))
            if flip:
                img, msk = img.flip(-1), msk.flip(-1)
            images[i], masks[i] = img, msk
    return images, masks


def _tensor_split(dataset: str, split: str, n: int, size: int, seed: int) -> Any:
    """One split of a course dataset held in memory as a TensorDataset (images, int64 masks)."""
    from torch.utils.data import TensorDataset

    from . import data as course_data

    images, masks = course_data.as_tensors(course_data.load(dataset, split, n=n, size=size, seed=seed))
    return TensorDataset(images, masks.long())


class SegmentationObjective:
    """A tiny segmentation training to tune: call it with a dict of hyperparameters, get the val score back.

    Tunable (keys of ``params``): lr, weight_decay, batch_size, epochs, aug (probability of a random
    flip/rotation per image), base_channels. Every call trains from the same seed on the same data, so one
    configuration always gets the same score.
    """

    TUNABLE = ("lr", "weight_decay", "batch_size", "epochs", "aug", "base_channels")

    def __init__(self, dataset: str, n_train: int, n_val: int, n_test: int, size: int, defaults: dict[str, Any],
                 depth: int, loss: str, seed: int, device: Any) -> None:
        from .training import _device

        self.dataset, self.size, self.depth, self.loss, self.seed = dataset, size, depth, loss, seed
        self.device = _device(device)
        self.defaults = dict(defaults)
        self.train_set = _tensor_split(dataset, "train", n_train, size, seed)
        self.val_set = _tensor_split(dataset, "val", n_val, size, seed)
        self._n_test = n_test
        self._test_set: Any = None
        self.in_channels = int(self.train_set.tensors[0].shape[1])
        self.calls = 0

    @property
    def test_set(self) -> Any:
        """The held-out test split (made on first use: touch it once, at the very end)."""
        if self._test_set is None:
            self._test_set = _tensor_split(self.dataset, "test", self._n_test, self.size, self.seed)
        return self._test_set

    def config(self, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The full configuration: the defaults overridden by ``params``."""
        params = dict(params or {})
        unknown = sorted(set(params) - set(self.TUNABLE))
        if unknown:
            raise ValueError(f"unknown hyperparameter(s) {unknown}; this objective tunes {', '.join(self.TUNABLE)}.")
        cfg = {**self.defaults, **params}
        if not cfg["lr"] > 0 or cfg["weight_decay"] < 0 or not 0 <= cfg["aug"] <= 1:
            raise ValueError(f"need lr > 0, weight_decay >= 0 and 0 <= aug <= 1; got {_fmt_params(cfg)}.")
        for key in ("batch_size", "epochs", "base_channels"):
            cfg[key] = int(cfg[key])
            if cfg[key] < 1:
                raise ValueError(f"{key}={cfg[key]} must be a positive int.")
        return cfg

    def train(self, params: Mapping[str, Any] | None = None, trial: Any = None) -> TrialRun:
        """Train one model with ``params`` (reporting the val score per epoch to ``trial`` for pruning)."""
        from torch.utils.data import DataLoader

        from . import models
        from .losses import create_loss
        from .training import evaluate

        cfg = self.config(params)
        start = time.perf_counter()
        torch.manual_seed(self.seed)
        model = models.create("unet", in_channels=self.in_channels, num_classes=2,
                              base_channels=cfg["base_channels"], depth=self.depth).to(self.device)
        optimizer = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
        loss_fn = create_loss(self.loss)
        g = torch.Generator().manual_seed(self.seed)
        loader = DataLoader(self.train_set, batch_size=cfg["batch_size"], shuffle=True, generator=g)
        val_loader = DataLoader(self.val_set, batch_size=256)
        step_losses: list[float] = []
        val_scores: list[float] = []
        self.calls += 1
        for epoch in range(1, cfg["epochs"] + 1):
            model.train()
            for images, masks in loader:
                images, masks = _augment(images, masks, cfg["aug"], g)
                loss = loss_fn(model(images.to(self.device)), masks.to(self.device))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                step_losses.append(float(loss.detach()))
            score = evaluate(model, val_loader, num_classes=2, device=self.device)["fg_dice"]
            val_scores.append(0.0 if math.isnan(score) else float(score))
            report(trial, val_scores[-1], epoch)
        return TrialRun(model, cfg, step_losses, val_scores, time.perf_counter() - start)

    def __call__(self, params: Mapping[str, Any] | None = None, trial: Any = None) -> float:
        """Train with ``params`` and return the validation Dice of the foreground after the last epoch."""
        return self.train(params, trial).score

    def test_score(self, params: Mapping[str, Any] | TrialRun | None = None) -> float:
        """Dice on the held-out test split of a finished :class:`TrialRun`, or of a fresh training with ``params``."""
        from torch.utils.data import DataLoader

        from .training import evaluate

        run = params if isinstance(params, TrialRun) else self.train(params)
        return float(evaluate(run.model, DataLoader(self.test_set, batch_size=256), num_classes=2, device=self.device)["fg_dice"])

    def __repr__(self) -> str:
        return (f"SegmentationObjective({self.dataset!r}, {len(self.train_set)} train / {len(self.val_set)} val images "
                f"of {self.size}×{self.size}, U-Net depth {self.depth}, defaults {_fmt_params(self.defaults)})")


def segmentation_objective(
    dataset: str = "synthetic-nuclei",
    n_train: int = 64,
    n_val: int = 48,
    n_test: int = 200,
    size: int = 32,
    epochs: int = 3,
    batch_size: int = 8,
    lr: float = 1e-2,
    weight_decay: float = 1e-4,
    aug: float = 0.0,
    base_channels: int = 8,
    depth: int = 2,
    loss: str = "combo",
    seed: int = 0,
    device: Any = None,
) -> SegmentationObjective:
    """A ready objective for searches: a small U-Net on a binary synthetic dataset, scored by val foreground Dice.

    The arguments are the fixed settings and the defaults of the tunable ones; a trial overrides some of them.
    With the defaults one trial trains 24 steps of 8 images of 32×32 (under a second on one CPU thread).
    """
    from .data.registry import DATASETS

    if dataset not in DATASETS or DATASETS[dataset].num_classes != 2 or not DATASETS[dataset].synthetic:
        binary = [n for n, d in DATASETS.items() if d.num_classes == 2 and d.synthetic]
        raise ValueError(f"dataset={dataset!r} must be a binary synthetic dataset; use one of {', '.join(binary)}.")
    for name, value in (("n_train", n_train), ("n_val", n_val), ("n_test", n_test), ("size", size), ("depth", depth)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}={value!r} must be a positive int.")
    defaults = dict(lr=lr, weight_decay=weight_decay, batch_size=batch_size, epochs=epochs, aug=aug, base_channels=base_channels)
    objective = SegmentationObjective(dataset, n_train, n_val, n_test, size, defaults, depth, loss, seed, device)
    objective.config()  # validates the defaults
    return objective
