"""Building blocks of the course's hand-written networks: DoubleConv, Down, Up and friends.

Introduced in lesson 04 (U-Net from scratch) and reused by SegNet/FCN in lesson 05.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ConvBNReLU", "DoubleConv", "Down", "Up", "OutConv", "match_size", "UPSAMPLING_MODES"]

UPSAMPLING_MODES = ("bilinear", "transpose")


def match_size(x: torch.Tensor, size: tuple[int, int] | torch.Size) -> torch.Tensor:
    """Zero-pad or centre-crop ``x`` (N×C×H×W) to spatial ``size`` (H, W); fixes odd-size mismatches."""
    if len(size) != 2:
        raise ValueError(f"size={tuple(size)!r} must be a spatial size (H, W), e.g. x.shape[-2:] of the other tensor.")
    th, tw = int(size[0]), int(size[1])
    h, w = x.shape[-2:]
    if (h, w) == (th, tw):
        return x
    dh, dw = th - h, tw - w
    # F.pad takes (left, right, top, bottom); negative amounts crop.
    return F.pad(x, [dw // 2, dw - dw // 2, dh // 2, dh - dh // 2])


class ConvBNReLU(nn.Sequential):
    """3×3 convolution (padding keeps the size) → BatchNorm → ReLU."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, dilation: int = 1) -> None:
        padding = dilation * (kernel_size - 1) // 2
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, padding=padding, dilation=dilation, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


class DoubleConv(nn.Sequential):
    """The U-Net unit: (3×3 conv → BatchNorm → ReLU) twice; keeps height and width."""

    def __init__(self, in_channels: int, out_channels: int, mid_channels: int | None = None) -> None:
        mid = out_channels if mid_channels is None else mid_channels
        super().__init__(ConvBNReLU(in_channels, mid), ConvBNReLU(mid, out_channels))


class Down(nn.Sequential):
    """Encoder step: 2×2 max-pool (halves H and W) then DoubleConv."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(nn.MaxPool2d(2), DoubleConv(in_channels, out_channels))


class Up(nn.Module):
    """Decoder step: upsample ×2, match the skip's size, concatenate the skip (if used), then DoubleConv.

    ``mode="bilinear"`` upsamples by interpolation then a 1×1 conv halves the channels;
    ``mode="transpose"`` uses a learnable 2×2 transposed convolution (stride 2) that halves them.
    With ``skip_channels=0`` the block ignores the skip tensor's content and only borrows its size
    (that is the "U-Net without skip connections" ablation).
    """

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int, mode: str = "bilinear") -> None:
        super().__init__()
        if mode not in UPSAMPLING_MODES:
            raise ValueError(f"mode={mode!r} is not an upsampling mode; use one of {UPSAMPLING_MODES}.")
        up_channels = max(in_channels // 2, 1)
        if mode == "bilinear":
            self.up = nn.Sequential(
                nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                nn.Conv2d(in_channels, up_channels, kernel_size=1),
            )
        else:
            self.up = nn.ConvTranspose2d(in_channels, up_channels, kernel_size=2, stride=2)
        self.uses_skip = skip_channels > 0
        self.conv = DoubleConv(up_channels + skip_channels, out_channels)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = self.up(x)
        x = match_size(x, skip.shape[-2:])  # odd input sizes: pad/crop by one pixel
        if self.uses_skip:
            x = torch.cat([skip, x], dim=1)
        return self.conv(x)


class OutConv(nn.Conv2d):
    """The final 1×1 convolution: one output channel (logit) per class."""

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__(in_channels, num_classes, kernel_size=1)
