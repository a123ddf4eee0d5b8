"""The toy encoder-decoder that the transfer-learning exercises are checked on."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ToySegmenter", "toy_segmenter"]


class ToySegmenter(nn.Module):
    """A tiny encoder-decoder with ``.encoder``, ``.decoder`` and ``.head`` (for checking exercises quickly)."""

    def __init__(self, width: int = 4, tied: bool = False) -> None:
        super().__init__()
        conv = nn.Conv2d(width, width, 3, padding=1)
        self.encoder = nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(), conv)
        self.decoder = nn.Sequential(conv if tied else nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU())
        self.head = nn.Conv2d(width, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.decoder(self.encoder(x)))


def toy_segmenter(seed: int, width: int = 4, tied: bool = False, frozen: tuple[str, ...] = ()) -> ToySegmenter:
    """A seeded ToySegmenter whose parameters differ by value, with the parts named in ``frozen`` frozen."""
    torch.manual_seed(seed)
    model = ToySegmenter(width, tied)
    with torch.no_grad():  # a distinct offset per parameter, so a checker can tell copies apart by value
        for k, p in enumerate(model.parameters()):
            p.add_(10.0 * (k + 1))
    for name in frozen:
        for p in getattr(model, name).parameters():
            p.requires_grad_(False)
    return model
