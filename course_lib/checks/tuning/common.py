"""What the exercises of lesson 07 share: the lesson they belong to."""

from __future__ import annotations

__all__ = ["LESSON"]


LESSON = "07_hyperparameters"
