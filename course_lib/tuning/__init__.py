"""Hyperparameter search on a fixed budget: grid, random and Bayesian (Optuna GP and TPE) search, pruning,
one comparison table and plot, an LR range test, and a tiny segmentation objective to tune.

Introduced in lesson 07. Modules: :mod:`.space` (distributions), :mod:`.search` (strategies and results),
:mod:`.plots`, :mod:`.lr_finder` (LR range test on the training engine), :mod:`.objective`.

>>> space = {"lr": log_uniform(1e-3, 0.3), "weight_decay": log_uniform(1e-5, 1e-1)}
>>> objective = segmentation_objective()                      # trains a tiny U-Net, returns val Dice
>>> results = compare_strategies(objective, space, n_trials=8, seed=0)
>>> print(summary_table(results)); plot_search(results)
"""

from .lr_finder import LRFinder, LRFinderResult, lr_range_test, suggest_lr
from .objective import SegmentationObjective, TrialLog, TrialRun, segmentation_objective
from .plots import plot_search
from .search import (PRUNERS, STRATEGIES, SearchResult, best_so_far, compare_strategies, make_pruner, make_sampler,
                     param_importances, report, search, summary_table)
from .space import choice, grid_values, integer, log_uniform, uniform

__all__ = [
    "STRATEGIES", "PRUNERS", "log_uniform", "uniform", "integer", "choice", "grid_values", "make_sampler",
    "make_pruner", "report", "SearchResult", "search", "compare_strategies", "summary_table", "best_so_far",
    "param_importances", "plot_search", "LRFinderResult", "LRFinder", "suggest_lr", "lr_range_test", "TrialRun",
    "TrialLog", "SegmentationObjective", "segmentation_objective",
]
