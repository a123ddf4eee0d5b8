"""Searching a space on a fixed budget with Optuna: grid, random, Bayesian (GP, TPE), pruning, and the results."""

from __future__ import annotations

import copy
import inspect
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

from .space import check_grid, check_space, grid_values, suggest

__all__ = ["STRATEGIES", "PRUNERS", "STRATEGY_NAMES", "make_sampler", "make_pruner", "report", "SearchResult", "format_params", "best_so_far", "search", "compare_strategies", "summary_table", "param_importances"]


STRATEGIES = ("grid", "random", "gp", "tpe")


PRUNERS = ("none", "median", "halving")


STRATEGY_NAMES = {"grid": "grid search", "random": "random search", "gp": "Bayesian (GP)", "tpe": "Bayesian (TPE)"}


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
        values = check_grid(grid, space) if grid is not None else grid_values(space, grid_points)
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
            lines.append(f"{i:>5}  {state:<9}{v:>8}  {format_params(params)}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        best = "-" if self.best_value is None else f"{self.best_value:.4f}"
        return (f"SearchResult({self.strategy!r}, {len(self.trials)} trials, {self.n_pruned} pruned, "
                f"best {best} at trial {self.best_trial}, {self.seconds:.1f}s)")


def format_params(params: Mapping[str, Any] | None) -> str:
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


def _check_search(objective: Any, strategy: Any, direction: Any, n_trials: Any, timeout: Any, seed: Any) -> None:
    """Errors that name the argument for each bad setting of :func:`search`."""
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

    space = check_space(space)
    _check_search(objective, strategy, direction, n_trials, timeout, seed)
    sampler = make_sampler(strategy, space, seed, n_trials, grid, grid_points, n_startup_trials)
    with_trial = _takes_trial(objective)

    def run(trial: Any) -> float:
        params = {name: suggest(trial, name, dist) for name, dist in space.items()}
        if with_trial == "positional":
            value = objective(params, trial)
        elif with_trial == "keyword":
            value = objective(params, trial=trial)
        else:
            value = objective(params)
        value = float(value)
        if progress:
            print(f"  {strategy:<6} trial {trial.number:>2}: {value:.4f}  {format_params(params)}", flush=True)
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
            print(f"{STRATEGY_NAMES[s]:<15} {results[s]!r}", flush=True)
    return results


def summary_table(results: Mapping[str, SearchResult]) -> str:
    """One line per strategy: trials, pruned, best value, the trial that found it, time and best parameters."""
    lines = [f"{'strategy':<16}{'trials':>7}{'pruned':>7}{'best':>8}{'at trial':>9}{'time s':>8}  best parameters"]
    for name, r in results.items():
        best = "-" if r.best_value is None else f"{r.best_value:.4f}"
        at = "-" if r.best_trial is None else str(r.best_trial)
        lines.append(f"{STRATEGY_NAMES.get(name, name):<16}{len(r.trials):>7}{r.n_pruned:>7}{best:>8}{at:>9}"
                     f"{r.seconds:>8.1f}  {format_params(r.best_params)}")
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

