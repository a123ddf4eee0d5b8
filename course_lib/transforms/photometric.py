"""Photometric transforms (the image only): colour jitter, noise, blur, and normalisation with its statistics."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from ..validation import check_fraction
from .base import IMAGENET_MEAN, IMAGENET_STD, PairTransform, Target

__all__ = ["ColorJitter", "GaussianNoise", "GaussianBlur", "Normalize", "denormalize", "compute_stats"]


class ColorJitter(PairTransform):
    """Randomly change brightness, contrast, saturation and hue of the image (saturation/hue: RGB only)."""

    def __init__(self, brightness: float = 0.2, contrast: float = 0.2, saturation: float = 0.2, hue: float = 0.0) -> None:
        for name, value, top in (("brightness", brightness, 1.0), ("contrast", contrast, 1.0), ("saturation", saturation, 1.0), ("hue", hue, 0.5)):
            if not isinstance(value, (int, float)) or not 0 <= value <= top:
                raise ValueError(f"{name}={value!r} must be a number in [0, {top}], e.g. {name}=0.2.")
        self.brightness, self.contrast, self.saturation, self.hue = brightness, contrast, saturation, hue

    def apply(self, image: torch.Tensor, target: Target) -> tuple[torch.Tensor, Target]:
        from torchvision.transforms import v2

        colour = image.shape[0] == 3
        jitter = v2.ColorJitter(
            brightness=self.brightness or None,
            contrast=self.contrast or None,
            saturation=(self.saturation or None) if colour else None,
            hue=(self.hue or None) if colour else None,
        )
        return jitter(image).clamp(0, 1), target


class GaussianNoise(PairTransform):
    """Add Gaussian noise with a random standard deviation in [0, sigma] to the image, then clip to [0, 1]."""

    def __init__(self, sigma: float = 0.03) -> None:
        check_fraction("sigma", sigma)  # e.g. 0.03
        self.sigma = sigma

    def apply(self, image: torch.Tensor, target: Target) -> tuple[torch.Tensor, Target]:
        std = float(torch.rand(1)) * self.sigma
        return (image + std * torch.randn_like(image)).clamp(0, 1), target


class GaussianBlur(PairTransform):
    """Blur the image with a Gaussian of random sigma in ``sigma`` (applied with probability ``p``)."""

    def __init__(self, sigma: tuple[float, float] = (0.1, 1.5), p: float = 0.5) -> None:
        if not (isinstance(sigma, Sequence) and len(sigma) == 2 and 0 < sigma[0] <= sigma[1]):
            raise ValueError(f"sigma={sigma!r} must be a (low, high) pair with 0 < low <= high, e.g. (0.1, 1.5).")
        check_fraction("p", p)
        self.sigma, self.p = tuple(sigma), p

    def apply(self, image: torch.Tensor, target: Target) -> tuple[torch.Tensor, Target]:
        from torchvision.transforms.v2 import functional as F

        if torch.rand(1).item() >= self.p:
            return image, target
        s = float(torch.empty(1).uniform_(*self.sigma))
        k = min(2 * math.ceil(3 * s) + 1, 2 * min(image.shape[-2:]) - 1)  # reflect padding needs k // 2 < H, W
        return F.gaussian_blur(image, kernel_size=[k, k], sigma=[s, s]), target


class Normalize(PairTransform):
    """Standardise each channel: ``(image - mean) / std`` (ImageNet statistics by default)."""

    def __init__(self, mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD) -> None:
        if len(mean) != len(std) or any(s <= 0 for s in std):
            raise ValueError(f"mean={tuple(mean)} and std={tuple(std)} must have one positive std per mean value.")
        self.mean, self.std = tuple(float(m) for m in mean), tuple(float(s) for s in std)

    def apply(self, image: torch.Tensor, target: Target) -> tuple[torch.Tensor, Target]:
        if image.shape[0] != len(self.mean):
            raise ValueError(
                f"Normalize has {len(self.mean)} channel statistics but the image has {image.shape[0]} channels; "
                f"use compute_stats(dataset) for this data, or load(..., channels={len(self.mean)})."
            )
        mean = torch.tensor(self.mean, dtype=image.dtype, device=image.device).view(-1, 1, 1)
        std = torch.tensor(self.std, dtype=image.dtype, device=image.device).view(-1, 1, 1)
        return (image - mean) / std, target


def denormalize(image: torch.Tensor, mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD) -> torch.Tensor:
    """Undo :class:`Normalize` (C×H×W or B×C×H×W), e.g. to show a normalised image."""
    shape = (-1, 1, 1) if image.ndim == 3 else (1, -1, 1, 1)
    channels = image.shape[-3] if image.ndim in (3, 4) else None
    for name, values in (("mean", mean), ("std", std)):
        if channels is None or len(values) not in (1, channels):
            raise ValueError(f"{name} has {len(values)} values for an image of shape {tuple(image.shape)}; give one per channel.")
    m = torch.tensor(tuple(mean), dtype=image.dtype, device=image.device).view(shape)
    s = torch.tensor(tuple(std), dtype=image.dtype, device=image.device).view(shape)
    return image * s + m


def compute_stats(dataset: Any, max_samples: int | None = 200) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel (mean, std) of the images of a dataset (the first ``max_samples``), for :class:`Normalize`."""
    n = len(dataset)
    if n == 0:
        raise ValueError("dataset is empty; compute_stats needs at least one image.")
    count = min(n, max_samples) if max_samples else n
    total = total_sq = None
    pixels = 0
    for i in range(count):
        image = dataset[i][0].to(torch.float64)
        flat = image.flatten(1)
        total = flat.sum(1) if total is None else total + flat.sum(1)
        total_sq = (flat**2).sum(1) if total_sq is None else total_sq + (flat**2).sum(1)
        pixels += flat.shape[1]
    mean = total / pixels
    std = (total_sq / pixels - mean**2).clamp(min=0).sqrt()
    return tuple(mean.tolist()), tuple(std.tolist())
