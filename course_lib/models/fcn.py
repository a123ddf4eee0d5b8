"""FCN: a fully convolutional network that fuses class scores from several depths (FCN-32s/16s/8s).

Introduced in lesson 05 (architectures compared). A small version of Long, Shelhamer & Darrell (2015):
a VGG-like backbone, 1×1 "score" layers, learnable ×2 upsampling (transposed convs initialised to
bilinear) and a final bilinear resize to the input size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import ConvBNReLU, match_size
from ..validation import check_choice, check_int

__all__ = ["FCN", "bilinear_kernel", "FCN_VARIANTS"]

FCN_VARIANTS = ("32s", "16s", "8s")


def bilinear_kernel(channels: int, kernel_size: int) -> torch.Tensor:
    """Weights (channels×channels×k×k) that make a transposed convolution do bilinear upsampling."""
    factor = (kernel_size + 1) // 2
    center = factor - 1 if kernel_size % 2 == 1 else factor - 0.5
    og = torch.arange(kernel_size, dtype=torch.float32)
    filt_1d = 1 - (og - center).abs() / factor
    filt = filt_1d[:, None] * filt_1d[None, :]
    weight = torch.zeros(channels, channels, kernel_size, kernel_size)
    weight[range(channels), range(channels)] = filt
    return weight


def _upsample2x(channels: int) -> nn.ConvTranspose2d:
    """A ×2 transposed convolution initialised to bilinear interpolation (learnable)."""
    up = nn.ConvTranspose2d(channels, channels, kernel_size=4, stride=2, padding=1, bias=False)
    with torch.no_grad():
        up.weight.copy_(bilinear_kernel(channels, 4))
    return up


class FCN(nn.Module):
    """FCN-``variant``: backbone of five conv+pool stages (strides 2..32), score layers, skip fusion.

    ``variant="32s"`` upsamples the stride-32 scores only; ``"16s"`` first adds the stride-16 scores;
    ``"8s"`` also adds the stride-8 scores (sharper boundaries).
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = 2,
        base_channels: int = 16,
        variant: str = "8s",
    ) -> None:
        super().__init__()
        check_int("in_channels", in_channels)
        check_int("num_classes", num_classes)
        check_int("base_channels", base_channels)
        check_choice("variant", variant, FCN_VARIANTS)
        self.variant = variant
        widths = [base_channels * m for m in (1, 2, 4, 8, 8)]
        stages, prev = [], in_channels
        for i, w in enumerate(widths):
            convs = [ConvBNReLU(prev, w)] + ([ConvBNReLU(w, w)] if i >= 2 else [])
            stages.append(nn.Sequential(*convs, nn.MaxPool2d(2, ceil_mode=True)))
            prev = w
        self.stages = nn.ModuleList(stages)  # outputs at strides 2, 4, 8, 16, 32
        head = widths[-1] * 2
        # "fc6"/"fc7" of the classifier, as convolutions
        self.classifier = nn.Sequential(ConvBNReLU(widths[-1], head), nn.Conv2d(head, head, 1), nn.ReLU(inplace=True))
        self.score32 = nn.Conv2d(head, num_classes, 1)
        self.score16 = nn.Conv2d(widths[3], num_classes, 1) if variant in ("16s", "8s") else None
        self.score8 = nn.Conv2d(widths[2], num_classes, 1) if variant == "8s" else None
        self.up32 = _upsample2x(num_classes) if self.score16 is not None else None
        self.up16 = _upsample2x(num_classes) if self.score8 is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        scores = self.score32(self.classifier(feats[4]))  # stride 32
        if self.score16 is not None:
            skip = self.score16(feats[3])
            scores = match_size(self.up32(scores), skip.shape[-2:]) + skip  # stride 16
        if self.score8 is not None:
            skip = self.score8(feats[2])
            scores = match_size(self.up16(scores), skip.shape[-2:]) + skip  # stride 8
        return F.interpolate(scores, size=size, mode="bilinear", align_corners=False)
