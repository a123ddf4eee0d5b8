"""One figure for a search: best value so far per trial, a slice plot, and parameter importances."""

from __future__ import annotations

import math
from typing import Any, Mapping

from .search import STRATEGY_NAMES, SearchResult, param_importances

__all__ = ["STRATEGY_COLORS", "STRATEGY_WIDTHS", "plot_search"]


STRATEGY_COLORS = {"grid": "tab:gray", "random": "tab:orange", "gp": "tab:blue", "tpe": "tab:green"}


STRATEGY_WIDTHS = {"grid": 1.5, "random": 5.0, "gp": 3.0, "tpe": 1.2}  # wide under narrow: tied curves stay visible


def _draw_best_so_far(ax: Any, results: Mapping[str, SearchResult]) -> None:
    """Panel 1: the best value so far against the trial number, one step curve per strategy."""
    for name, r in results.items():
        curve = [math.nan if v is None else v for v in r.best_so_far]
        ax.step(range(1, len(curve) + 1), curve, where="post", marker="o", ms=3, color=STRATEGY_COLORS.get(name),
                lw=STRATEGY_WIDTHS.get(name, 1.5), label=STRATEGY_NAMES.get(name, name))
    ax.set_xlabel("trial")
    ax.set_ylabel("best value so far")
    ax.set_title("best so far (same budget)", fontsize=10)
    ax.legend(fontsize=8)


def _draw_slice(ax: Any, results: Mapping[str, SearchResult], param: str, dist: Any) -> None:
    """Panel 2: each trial's value against ``param`` (pruned trials hollow, at their last reported value)."""
    from optuna.distributions import CategoricalDistribution

    for name, r in results.items():
        for x, v, t in zip([p.get(param) for p in r.params], r.values, r.trials):
            if x is None:
                continue
            if v is None:  # pruned: show its last reported value, hollow
                last = t.intermediate_values[max(t.intermediate_values)] if t.intermediate_values else None
                if last is not None:
                    ax.scatter([x], [last], facecolors="none", edgecolors=STRATEGY_COLORS.get(name), s=22)
                continue
            ax.scatter([x], [v], color=STRATEGY_COLORS.get(name), s=22)
    if not isinstance(dist, CategoricalDistribution) and getattr(dist, "log", False):
        ax.set_xscale("log")
    ax.set_xlabel(param)
    ax.set_ylabel("value")
    ax.set_title(f"slice: value vs {param} (hollow = pruned)", fontsize=10)


def _draw_importances(ax: Any, results: Mapping[str, SearchResult]) -> None:
    """Panel 3: fANOVA parameter importances over all completed trials (or why there are none)."""
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


def plot_search(results: Mapping[str, SearchResult] | SearchResult, param: str | None = None,
                importances: bool = True, figsize: tuple[float, float] = (13, 3.6)) -> Any:
    """One figure for all strategies: best-so-far vs trial, a slice plot (score vs ``param``) and importances.

    Returns the Figure, closed (it shows once as a cell's value; ``display(fig)`` elsewhere).
    """
    import matplotlib.pyplot as plt

    if isinstance(results, SearchResult):
        results = {results.strategy: results}
    if not results:
        raise ValueError("results is empty; pass what search() or compare_strategies() returned.")
    first = next(iter(results.values()))
    names = list(first.space)
    param = names[0] if param is None else param
    if param not in names:
        raise ValueError(f"param={param!r} is not in the search space; use one of {', '.join(names)}.")
    fig, axes = plt.subplots(1, 3 if importances else 2, figsize=figsize)
    _draw_best_so_far(axes[0], results)
    _draw_slice(axes[1], results, param, first.space[param])
    if importances:
        _draw_importances(axes[2], results)
    fig.tight_layout()
    plt.close(fig)
    return fig
