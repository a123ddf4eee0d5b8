"""SegNet: an encoder-decoder that upsamples with the encoder's max-pooling indices.

Introduced in lesson 05 (architectures compared). A small version of Badrinarayanan et al. (2017).
"""

from __future__ import annotations

import torch
from torch import nn

from .blocks import ConvBNReLU, OutConv
from ..validation import check_int

__all__ = ["SegNet"]


def _stage(in_channels: int, out_channels: int, convs: int) -> nn.Sequential:
    """``convs`` ConvBNReLU layers; the first changes the channel count."""
    layers = [ConvBNReLU(in_channels, out_channels)]
    layers += [ConvBNReLU(out_channels, out_channels) for _ in range(convs - 1)]
    return nn.Sequential(*layers)


class SegNet(nn.Module):
    """SegNet: each encoder stage ends in ``MaxPool2d(return_indices=True)``; the decoder puts values back
    where the maxima were with ``MaxUnpool2d`` (no skip features are copied, only the positions).

    Channels double per stage from ``base_channels`` (capped at 8·base). Any input size works.
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = 2,
        base_channels: int = 16,
        depth: int = 4,
        convs_per_stage: int = 2,
    ) -> None:
        super().__init__()
        check_int("in_channels", in_channels)
        check_int("num_classes", num_classes)
        check_int("base_channels", base_channels)
        check_int("depth", depth, maximum=6)
        check_int("convs_per_stage", convs_per_stage, maximum=4)
        widths = [base_channels * min(2**i, 8) for i in range(depth)]  # e.g. 16, 32, 64, 128

        self.encoder = nn.ModuleList()
        prev = in_channels
        for w in widths:
            self.encoder.append(_stage(prev, w, convs_per_stage))
            prev = w
        self.pool = nn.MaxPool2d(2, stride=2, return_indices=True)
        self.unpool = nn.MaxUnpool2d(2, stride=2)
        # Decoder stage i mirrors encoder stage i: it ends with the channels that stage i received.
        self.decoder = nn.ModuleList()
        for i in reversed(range(depth)):
            out = widths[i - 1] if i > 0 else widths[0]
            layers = [ConvBNReLU(widths[i], widths[i]) for _ in range(convs_per_stage - 1)]
            self.decoder.append(nn.Sequential(*layers, ConvBNReLU(widths[i], out)))
        self.head = OutConv(widths[0], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = []  # (indices, size before pooling) for every encoder stage
        for stage in self.encoder:
            x = stage(x)
            size = x.shape[-2:]
            x, indices = self.pool(x)
            pooled.append((indices, size))
        for stage in self.decoder:
            indices, size = pooled.pop()
            x = self.unpool(x, indices, output_size=size)  # values go back to where the maxima were
            x = stage(x)
        return self.head(x)
