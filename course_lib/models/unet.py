"""The course's own U-Net: encoder, decoder and skip connections, small enough to train on a laptop CPU.

Introduced in lesson 04 (U-Net from scratch).
"""

from __future__ import annotations

import torch
from torch import nn

from .blocks import UPSAMPLING_MODES, DoubleConv, Down, OutConv, Up
from ..validation import check_choice, check_int

__all__ = ["UNet"]


class UNet(nn.Module):
    """U-Net: DoubleConv encoder with ``depth`` down-steps, a mirrored decoder, skip connections, 1×1 head.

    Channels double at every down-step: ``base_channels, 2·base, 4·base, ...``. Any input size works
    (odd sizes are handled in :class:`Up`); the output has the input's height and width.
    ``skip=False`` builds the same network without skip connections (for the ablation in lesson 04).
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = 2,
        base_channels: int = 16,
        depth: int = 4,
        skip: bool = True,
        upsampling: str = "bilinear",
    ) -> None:
        super().__init__()
        check_int("in_channels", in_channels)
        check_int("num_classes", num_classes)
        check_int("base_channels", base_channels)
        check_int("depth", depth, maximum=6)
        check_choice("upsampling", upsampling, UPSAMPLING_MODES)
        if not isinstance(skip, bool):
            raise TypeError(f"skip={skip!r} must be True or False.")
        self.depth, self.skip = depth, skip
        widths = [base_channels * 2**i for i in range(depth + 1)]  # e.g. 16, 32, 64, 128, 256

        self.inc = DoubleConv(in_channels, widths[0])
        self.downs = nn.ModuleList(Down(widths[i], widths[i + 1]) for i in range(depth))
        self.ups = nn.ModuleList(
            Up(widths[i + 1], widths[i] if skip else 0, widths[i], mode=upsampling) for i in reversed(range(depth))
        )
        self.head = OutConv(widths[0], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if min(x.shape[-2:]) < 2**self.depth:
            raise ValueError(
                f"input of size {tuple(x.shape[-2:])} is too small for depth={self.depth}: each side needs at least "
                f"{2**self.depth} pixels; use a larger input or a smaller depth."
            )
        features = [self.inc(x)]  # encoder outputs, full resolution first
        for down in self.downs:
            features.append(down(features[-1]))
        x = features.pop()  # the bottleneck
        for up in self.ups:
            x = up(x, features.pop())  # deepest skip first
        return self.head(x)
