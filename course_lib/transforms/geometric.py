"""Geometric transforms: resize, flip, rotate, zoom and crop the image and its target together."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..validation import check_fraction, check_int
from .base import PairTransform, Target, fill_for, joint, size_pair

__all__ = [
    "Resize",
    "RandomHorizontalFlip",
    "RandomVerticalFlip",
    "RandomRotate90",
    "RandomRotation",
    "RandomScale",
    "RandomAffine",
    "RandomCrop",
]


class Resize(PairTransform):
    """Resize to ``size`` (int = square, or (H, W)): bilinear with antialiasing for the image, nearest for labels."""

    def __init__(self, size: int | Sequence[int]) -> None:
        self.size = size_pair(size)

    def apply(self, image: torch.Tensor, target: Target) -> tuple[torch.Tensor, Target]:
        from torchvision.transforms.v2 import InterpolationMode
        from torchvision.transforms.v2 import functional as F

        def resize(x: torch.Tensor, is_label: bool) -> torch.Tensor:
            if tuple(x.shape[-2:]) == self.size:
                return x
            if is_label:  # nearest keeps label values; "exact" puts sample points at pixel centres like bilinear
                y = F.resize(x.unsqueeze(0) if x.ndim == 2 else x, list(self.size), interpolation=InterpolationMode.NEAREST_EXACT)
                return y[0] if x.ndim == 2 else y
            return F.resize(x, list(self.size), interpolation=InterpolationMode.BILINEAR, antialias=True)

        return joint(resize, image, target)


class RandomHorizontalFlip(PairTransform):
    """Mirror image and target left-right with probability ``p``."""

    axis = -1  # the tensor axis mirrored

    def __init__(self, p: float = 0.5) -> None:
        check_fraction("p", p)
        self.p = p

    def apply(self, image: torch.Tensor, target: Target) -> tuple[torch.Tensor, Target]:
        if torch.rand(1).item() >= self.p:
            return image, target
        return joint(lambda x, _: torch.flip(x, dims=[self.axis]), image, target)


class RandomVerticalFlip(RandomHorizontalFlip):
    """Mirror image and target top-bottom with probability ``p`` (fine for microscopy, not for street scenes)."""

    axis = -2


class RandomRotate90(PairTransform):
    """Rotate image and target by a random multiple of 90° (exact: no resampling); square inputs keep their size."""

    def __init__(self, p: float = 0.75) -> None:
        check_fraction("p", p)
        self.p = p

    def apply(self, image: torch.Tensor, target: Target) -> tuple[torch.Tensor, Target]:
        if float(torch.rand(1)) >= self.p:
            return image, target
        k = int(torch.randint(1, 4, (1,)))
        return joint(lambda x, _: torch.rot90(x, k, dims=(-2, -1)), image, target)


class _RandomAffine(PairTransform):
    """One random rotation-and-zoom warp applied to image and target (labels: nearest, image: bilinear)."""

    def __init__(self, degrees: float, scale: tuple[float, float] | None, fill_label: int) -> None:
        check_int("fill_label", fill_label, minimum=0)  # the label of pixels that enter from outside (0 or the ignore index)
        self.fill_label = fill_label
        self._degrees, self._scale = degrees, scale

    def apply(self, image: torch.Tensor, target: Target) -> tuple[torch.Tensor, Target]:
        from torchvision.transforms.v2 import InterpolationMode
        from torchvision.transforms.v2 import functional as F

        angle = float(torch.empty(1).uniform_(-self._degrees, self._degrees)) if self._degrees else 0.0
        scale = float(torch.empty(1).uniform_(*self._scale)) if self._scale else 1.0
        instance = isinstance(target, dict)

        def warp(x: torch.Tensor, is_label: bool) -> torch.Tensor:
            mode = InterpolationMode.NEAREST if is_label else InterpolationMode.BILINEAR
            fill = fill_for(is_label, instance, self.fill_label)
            batch = x.unsqueeze(0) if x.ndim == 2 else x
            out = F.affine(batch, angle=angle, translate=[0, 0], scale=scale, shear=[0.0, 0.0], interpolation=mode, fill=[fill])
            return out[0] if x.ndim == 2 else out

        return joint(warp, image, target)


class RandomRotation(_RandomAffine):
    """Rotate image and target by a random angle in [-degrees, degrees] about the centre."""

    def __init__(self, degrees: float = 10.0, fill_label: int = 0) -> None:
        if not isinstance(degrees, (int, float)) or not 0 <= degrees <= 180:
            raise ValueError(f"degrees={degrees!r} must be a number in [0, 180], e.g. degrees=10.")
        super().__init__(float(degrees), None, fill_label)
        self.degrees = degrees


class RandomScale(_RandomAffine):
    """Zoom image and target by a random factor in ``scale`` about the centre, keeping the size."""

    def __init__(self, scale: tuple[float, float] = (0.8, 1.25), fill_label: int = 0) -> None:
        if not (isinstance(scale, Sequence) and len(scale) == 2 and 0 < scale[0] <= scale[1]):
            raise ValueError(f"scale={scale!r} must be a (low, high) pair with 0 < low <= high, e.g. scale=(0.8, 1.25).")
        super().__init__(0.0, (float(scale[0]), float(scale[1])), fill_label)
        self.scale = tuple(scale)


class RandomAffine(_RandomAffine):
    """Rotate by up to ``degrees`` and zoom by a factor in ``scale`` in ONE warp (labels are resampled once)."""

    def __init__(self, degrees: float = 10.0, scale: tuple[float, float] = (0.8, 1.25), fill_label: int = 0) -> None:
        if not isinstance(degrees, (int, float)) or not 0 <= degrees <= 180:
            raise ValueError(f"degrees={degrees!r} must be a number in [0, 180], e.g. degrees=10.")
        if not (isinstance(scale, Sequence) and len(scale) == 2 and 0 < scale[0] <= scale[1]):
            raise ValueError(f"scale={scale!r} must be a (low, high) pair with 0 < low <= high, e.g. scale=(0.8, 1.25).")
        super().__init__(float(degrees), (float(scale[0]), float(scale[1])), fill_label)
        self.degrees, self.scale = degrees, tuple(scale)


class RandomCrop(PairTransform):
    """Cut a random ``size`` window from image and target (padding first if the image is smaller)."""

    def __init__(self, size: int | Sequence[int], fill_label: int = 0) -> None:
        self.size = size_pair(size)
        check_int("fill_label", fill_label, minimum=0)  # 0 or the ignore index
        self.fill_label = fill_label

    def apply(self, image: torch.Tensor, target: Target) -> tuple[torch.Tensor, Target]:
        h, w = image.shape[-2:]
        th, tw = self.size
        pad_h, pad_w = max(th - h, 0), max(tw - w, 0)
        instance = isinstance(target, dict)
        if pad_h or pad_w:  # pad right/bottom so the window fits
            def pad(x: torch.Tensor, is_label: bool) -> torch.Tensor:
                return torch.nn.functional.pad(x, (0, pad_w, 0, pad_h), value=fill_for(is_label, instance, self.fill_label))

            image, target = joint(pad, image, target)
            h, w = h + pad_h, w + pad_w
        top = int(torch.randint(0, h - th + 1, (1,)))
        left = int(torch.randint(0, w - tw + 1, (1,)))
        return joint(lambda x, _: x[..., top : top + th, left : left + tw], image, target)
