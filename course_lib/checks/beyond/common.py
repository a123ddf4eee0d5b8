"""What the exercises of lesson 11 share: the lesson they belong to."""

from __future__ import annotations

__all__ = ["LESSON"]


LESSON = "11_beyond_cnns"
