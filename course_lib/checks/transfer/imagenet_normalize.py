"""Exercise ``imagenet-normalize``: standardise RGB images with the ImageNet statistics."""

from __future__ import annotations

from typing import Any

import torch

from ...transforms import IMAGENET_MEAN, IMAGENET_STD  # the ImageNet channel statistics (R, G, B)
from ..core import Case, Mistake
from ..registry import register

__all__ = ["imagenet_normalize_reference"]


def imagenet_normalize_reference(images: torch.Tensor) -> torch.Tensor:
    """Reference answer: ``(images - mean) / std`` per RGB channel, for 3×H×W or N×3×H×W images in [0, 1]."""
    shape = (3, 1, 1)
    mean = torch.tensor(IMAGENET_MEAN, dtype=images.dtype, device=images.device).view(shape)
    std = torch.tensor(IMAGENET_STD, dtype=images.dtype, device=images.device).view(shape)
    return (images - mean) / std


def _close_to(wrong):
    """``detect`` for a normalisation mistake: the learner's tensor has ``wrong``'s values (any float dtype)."""
    def detect(case: Case, got: Any, reason: str) -> bool:
        want = wrong(*case.args)
        return (isinstance(got, torch.Tensor) and tuple(got.shape) == tuple(want.shape)
                and not torch.allclose(want.double(), case.expected.double(), atol=1e-5)
                and torch.allclose(got.detach().double().cpu(), want.double(), atol=1e-4))
    return detect


def _normalize_half(images: torch.Tensor) -> torch.Tensor:
    return (images - 0.5) / 0.5


def _normalize_last_axis(images: torch.Tensor) -> torch.Tensor:
    return (images - torch.tensor(IMAGENET_MEAN)) / torch.tensor(IMAGENET_STD)


def _normalize_times_255(images: torch.Tensor) -> torch.Tensor:
    return imagenet_normalize_reference(images * 255)


def _normalize_bgr(images: torch.Tensor) -> torch.Tensor:
    return imagenet_normalize_reference(images.flip(-3)).flip(-3)


_NORMALIZE_MISTAKES = (
    Mistake(
        "statistics along the width",
        _normalize_last_axis,
        "a tensor of 3 statistics lines up with the LAST axis, the width, so each column got a channel's "
        "statistics (and a width other than 3 raises an error). Shape them 3×1×1 so they apply per channel.",
        detect=_close_to(_normalize_last_axis),
    ),
    Mistake(
        "0.5 instead of ImageNet's statistics",
        _normalize_half,
        "that is (x − 0.5) / 0.5, which maps [0, 1] to [−1, 1]. A pretrained encoder expects exactly the "
        "standardisation it was trained with: ImageNet's mean and std, different for each channel.",
        detect=_close_to(_normalize_half),
    ),
    Mistake(
        "scaled to 0-255 first",
        _normalize_times_255,
        "the images are already in [0, 1], and the ImageNet statistics are given for that range; multiplying by "
        "255 first makes every value hundreds of times too large.",
        detect=_close_to(_normalize_times_255),
    ),
    Mistake(
        "channels in BGR order",
        _normalize_bgr,
        "the statistics were used in reverse channel order (BGR, as OpenCV reads images); the mean and std are "
        "given for R, G, B in that order, and the images are RGB.",
        detect=_close_to(_normalize_bgr),
    ),
)


@register(
    "imagenet-normalize",
    lesson="08_transfer",
    title="ImageNet normalisation",
    hints=(
        "A pretrained encoder expects its input standardised like ImageNet: from each colour channel subtract "
        "that channel's mean, then divide by that channel's standard deviation (R, G, B in this order). Shape "
        "the three statistics so they line up with the channel axis, the third from the end; then the same "
        "code works for one image and for a batch.",
        "`torch.tensor(IMAGENET_MEAN)` has shape (3,), which would line up with the last axis (the width); "
        "`.view(3, 1, 1)` makes it 3×1×1, which broadcasts per channel over 3×H×W and N×3×H×W alike. The "
        "images are already in [0, 1]: no 255.",
        "`mean = torch.tensor(IMAGENET_MEAN, dtype=images.dtype).view(3, 1, 1)`, `std` likewise; "
        "`return (images - mean) / std`",
    ),
    mistakes=_NORMALIZE_MISTAKES,
)
def _normalize_cases() -> list[Case]:
    g = torch.Generator().manual_seed(800)
    cases = []
    for shape, hidden, description in [
        ((3, 2, 3), False, "a 3×2×3 image: channel c becomes (x - mean[c]) / std[c] (per channel, not per column)"),
        ((2, 3, 4, 5), False, "a batch 2×3×4×5: the same statistics for every image"),
        ((3, 3, 3), True, "a 3×3×3 image (width 3: per channel, not per column)"),
        ((1, 3, 7, 3), True, "a batch of one 3×7×3 image"),
        ((4, 3, 1, 1), True, "single-pixel images"),
    ]:
        x = torch.rand(shape, generator=g)
        cases.append(Case((x,), expected=imagenet_normalize_reference(x), hidden=hidden, description=description))
    grey = torch.full((3, 2, 2), 0.5)
    cases.append(Case((grey,), expected=imagenet_normalize_reference(grey), hidden=True, description="a uniform grey image"))
    return cases
