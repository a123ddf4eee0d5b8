"""Exercises of the medical capstone (retinal vessels): where sliding windows start, Dice, sensitivity and
specificity inside the field of view, and choosing the threshold with the best Dice.

One module per exercise; importing this package registers them in the lesson's order.
"""

from __future__ import annotations

from .tile_starts import tile_starts_reference
from .masked_scores import masked_scores_reference
from .pick_threshold import pick_threshold_reference

__all__ = ["tile_starts_reference", "masked_scores_reference", "pick_threshold_reference"]



