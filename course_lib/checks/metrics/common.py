"""What the exercises of lesson 03 share: the lesson they belong to."""

from __future__ import annotations

__all__ = ["LESSON"]


LESSON = "03_metrics_losses"
