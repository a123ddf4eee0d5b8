"""Class weights from label maps: pixel counts per class and (square-root) median-frequency weights."""

from __future__ import annotations

from typing import Any

import torch

from ..validation import check_int, check_positive

__all__ = ["class_pixel_counts", "median_frequency_weights"]


def class_pixel_counts(masks: Any, num_classes: int, ignore_index: int | None = None) -> torch.Tensor:
    """Pixels of each class 0..num_classes-1 in integer label maps (float64), ``ignore_index`` pixels left out."""
    masks = torch.as_tensor(masks)
    if masks.is_floating_point() or masks.dtype == torch.bool:
        raise TypeError(f"masks must hold integer class labels, got dtype {masks.dtype}; convert with .long().")
    check_int("num_classes", num_classes)
    labels = masks.reshape(-1)
    if ignore_index is not None:
        labels = labels[labels != ignore_index]
    if labels.numel() == 0:
        raise ValueError("masks have no labelled pixel (all are ignore_index); pass masks with at least one class pixel.")
    low, high = int(labels.min()), int(labels.max())
    if low < 0 or high >= num_classes:
        raise ValueError(f"masks hold label {low if low < 0 else high} outside 0..{num_classes - 1}; "
                         f"pass the right num_classes, or ignore_index for the void label.")
    return torch.bincount(labels.long(), minlength=num_classes).double()


def median_frequency_weights(
    masks: Any, num_classes: int, ignore_index: int | None = None, power: float = 1.0
) -> torch.Tensor:
    """Class weights (median(freq) / freq) ** power from label maps (SegNet's balancing; power=0.5 is gentler).

    ``freq`` is each class's share of the labelled pixels (``ignore_index`` left out); the median is over the
    classes that occur; an absent class gets weight 0 (there is nothing to weight). Returns float32 of length
    ``num_classes``, ready for ``CrossEntropyLoss(weight=...)``.
    """
    check_positive("power", power)  # 1: median frequency; 0.5: its square root
    freq = class_pixel_counts(masks, num_classes, ignore_index)
    freq /= freq.sum()
    present = freq > 0
    weights = torch.zeros_like(freq)
    weights[present] = (torch.quantile(freq[present], 0.5) / freq[present]) ** power
    return weights.float()
