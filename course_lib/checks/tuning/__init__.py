"""Exercises of lesson 07 (hyperparameter optimisation): an LR suggestion from an LR range test, a seeded
log-uniform sampler, a grid of configurations, and the best-so-far curve of a search.

One module per exercise; importing this package registers them in the lesson's order.
"""

from __future__ import annotations

from .suggest_lr import suggest_lr_reference
from .sample_log_uniform import sample_log_uniform_reference
from .grid_configs import grid_configs_reference
from .best_so_far import best_so_far_reference

__all__ = ["suggest_lr_reference", "sample_log_uniform_reference", "grid_configs_reference", "best_so_far_reference"]



