"""Exercises of lesson 11 (beyond CNNs): self-attention by hand, the next simulated click, panoptic quality of one class.

One module per exercise; importing this package registers the exercises in the lesson's order. The reference
answers delegate to ``course_lib.attention``, ``course_lib.prompts`` and ``course_lib.metrics``, which the lesson
goes on with after each exercise.
"""

from __future__ import annotations

from .self_attention import self_attention_reference
from .next_click import next_click_reference
from .panoptic_quality import segment_quality_reference

__all__ = ["self_attention_reference", "next_click_reference", "segment_quality_reference"]
