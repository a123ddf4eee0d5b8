"""Quick figures of a label map (lesson 00): how much of it is foreground, how many pixels each class has."""

from __future__ import annotations

from typing import Any

import torch

from .validation import check_int

__all__ = ["foreground_fraction", "class_pixel_counts"]


def _label_map(label_map: Any) -> torch.Tensor:
    """``label_map`` as an integer tensor; ValueError for float or bool input."""
    labels = torch.as_tensor(label_map)
    if labels.is_floating_point() or labels.dtype == torch.bool or labels.is_complex():
        raise ValueError(f"label_map must hold integer class labels, got dtype {labels.dtype}; convert with .long().")
    if labels.numel() == 0:
        raise ValueError("label_map is empty; pass a label map with at least one pixel.")
    return labels


def foreground_fraction(label_map: Any, background: int = 0) -> float:
    """The share of pixels whose label is not ``background`` (a float in [0, 1])."""
    labels = _label_map(label_map)
    background = check_int("background", background, minimum=0)
    return (labels != background).float().mean().item()


def class_pixel_counts(label_map: Any, num_classes: int) -> torch.Tensor:
    """The pixel count of each class 0..num_classes-1 as int64 (``losses.class_pixel_counts`` gives float64 and can skip void)."""
    from .losses import class_pixel_counts as float_counts

    return float_counts(_label_map(label_map), check_int("num_classes", num_classes)).long()
