"""Simple-rule baselines that a trained model must beat: the best global intensity threshold.

Introduced in lesson 04 (lesions) and used again in lesson 08 (photo composites) and in the dataset tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from . import metrics

__all__ = ["ThresholdRule", "best_threshold"]

_LEVELS = 256


@dataclass(frozen=True)
class ThresholdRule:
    """"Foreground where grey > threshold" (or < threshold when ``above`` is False), with its Dice where it was chosen."""

    threshold: float
    above: bool
    train_dice: float

    def predict(self, grey: torch.Tensor) -> torch.Tensor:
        """The rule's binary mask for a grey image (or a batch of them)."""
        return grey > self.threshold if self.above else grey < self.threshold

    def dice(self, grey: torch.Tensor, masks: torch.Tensor) -> float:
        """Pooled foreground Dice of the rule on ``grey`` vs ``masks`` (non-zero = foreground; 1.0 if both empty)."""
        return float(metrics.dice(self.predict(grey), masks != 0, num_classes=2, average="binary"))

    def __str__(self) -> str:
        """The rule in words, e.g. ``pixel < 0.412``."""
        return f"pixel {'>' if self.above else '<'} {self.threshold:.3f}"


def _check_inputs(grey: torch.Tensor, masks: torch.Tensor) -> None:
    """Raise unless ``grey`` is a float tensor in [0, 1] and ``masks`` has its shape."""
    if not isinstance(grey, torch.Tensor) or not grey.is_floating_point():
        raise TypeError(f"grey must be a float tensor of intensities in [0, 1], got {getattr(grey, 'dtype', type(grey))}; "
                        "pass e.g. images[:, 0] or images.mean(1).")
    if not isinstance(masks, torch.Tensor) or masks.shape != grey.shape:
        raise ValueError(f"masks {tuple(getattr(masks, 'shape', ()))} must have the shape of grey {tuple(grey.shape)} "
                         "(drop the channel axis of the images: images[:, 0]).")
    if grey.numel() and (grey.min() < 0 or grey.max() > 1):
        raise ValueError(f"grey must lie in [0, 1] (got {grey.min().item():.3g}..{grey.max().item():.3g}); rescale it first.")


def best_threshold(grey: torch.Tensor, masks: torch.Tensor) -> ThresholdRule:
    """The global threshold and direction with the best pooled Dice on ``grey`` (values in [0, 1]) vs ``masks``.

    Every one of 256 grey levels is tried in both directions at once (one histogram per class), so the search
    is exact for 8-bit images and fast on thousands of them.
    """
    _check_inputs(grey, masks)
    levels = (grey.detach().cpu() * (_LEVELS - 1)).round().long().flatten()
    truth = (masks.detach().cpu() != 0).flatten()
    pos = torch.bincount(levels[truth], minlength=_LEVELS).double()
    neg = torch.bincount(levels[~truth], minlength=_LEVELS).double()
    best = ThresholdRule(threshold=0.5, above=True, train_dice=-1.0)
    for above in (True, False):
        # predicted foreground = levels >= k (above) or <= k (below), for every cut k at once
        tp = pos.flip(0).cumsum(0).flip(0) if above else pos.cumsum(0)
        fp = neg.flip(0).cumsum(0).flip(0) if above else neg.cumsum(0)
        scores = 2 * tp / (tp + fp + pos.sum()).clamp(min=1)
        k = int(scores.argmax())
        t = (k - 0.5) / (_LEVELS - 1) if above else (k + 0.5) / (_LEVELS - 1)
        if scores[k].item() > best.train_dice:
            best = ThresholdRule(threshold=t, above=above, train_dice=scores[k].item())
    return best
