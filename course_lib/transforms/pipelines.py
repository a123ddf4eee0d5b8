"""Ready-made training and evaluation pipelines, and batching instance targets."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from .composition import Compose
from .geometric import RandomAffine, RandomHorizontalFlip, RandomVerticalFlip, Resize
from .photometric import ColorJitter, GaussianBlur, GaussianNoise, Normalize

__all__ = ["STRENGTHS", "train_transforms", "eval_transforms", "collate_instances"]


STRENGTHS = {
    # flip, scale range, rotation degrees, colour jitter, noise sigma, blur probability
    "none": (0.0, None, 0, 0.0, 0.0, 0.0),
    "light": (0.5, (0.9, 1.1), 5, 0.1, 0.0, 0.0),
    "medium": (0.5, (0.75, 1.25), 10, 0.2, 0.02, 0.0),
    "strong": (0.5, (0.6, 1.4), 20, 0.3, 0.04, 0.3),
}


def train_transforms(
    size: int | Sequence[int] | None = None,
    strength: str = "medium",
    *,
    ignore_index: int | None = None,
    normalize: bool | tuple[Sequence[float], Sequence[float]] = False,
    vertical_flip: bool = False,
) -> Compose:
    """Augmentation for training: resize, flip, one random rotate-and-zoom, colour jitter, noise (blur when strong).

    ``strength`` is one of 'none', 'light', 'medium', 'strong'. Pixels that enter from outside the
    image get ``ignore_index`` in label maps (or 0 if None). ``normalize=True`` adds ImageNet
    statistics; pass ``(mean, std)`` for your own.
    """
    if strength not in STRENGTHS:
        raise ValueError(f"strength={strength!r} is not known; use one of {', '.join(STRENGTHS)}.")
    flip, scale, degrees, jitter, noise, blur = STRENGTHS[strength]
    fill = 0 if ignore_index is None else int(ignore_index)
    steps: list[Callable] = []
    if size is not None:
        steps.append(Resize(size))
    if flip:
        steps.append(RandomHorizontalFlip(flip))
        if vertical_flip:
            steps.append(RandomVerticalFlip(flip))
    if scale or degrees:  # one warp, so label maps are resampled only once
        steps.append(RandomAffine(degrees, scale or (1.0, 1.0), fill_label=fill))
    if jitter:
        steps.append(ColorJitter(jitter, jitter, jitter, 0.0))
    if noise:
        steps.append(GaussianNoise(noise))
    if blur:
        steps.append(GaussianBlur((0.1, 1.0), p=blur))
    steps += _normalize_step(normalize)
    return Compose(steps)


def eval_transforms(
    size: int | Sequence[int] | None = None, *, normalize: bool | tuple[Sequence[float], Sequence[float]] = False
) -> Compose:
    """The deterministic counterpart of :func:`train_transforms`: resize (and normalise)."""
    steps: list[Callable] = [] if size is None else [Resize(size)]
    return Compose(steps + _normalize_step(normalize))


def _normalize_step(normalize: bool | tuple) -> list[Callable]:
    """The Normalize step that ``normalize`` asks for: ImageNet's (True), none (False), or a (mean, std) pair."""
    if normalize is True:
        return [Normalize()]
    if normalize is False or normalize is None:
        return []
    if isinstance(normalize, tuple) and len(normalize) == 2:
        return [Normalize(*normalize)]
    raise ValueError(f"normalize={normalize!r} must be True, False or a (mean, std) pair.")


def collate_instances(batch: Sequence[tuple[torch.Tensor, dict]]) -> tuple[list[torch.Tensor], list[dict]]:
    """DataLoader ``collate_fn`` for detection targets: a list of images and a list of target dicts."""
    images, targets = [], []
    for item in batch:
        if not (isinstance(item, (tuple, list)) and len(item) == 2):
            raise ValueError("collate_instances expects (image, target) pairs, as datasets from load() return.")
        images.append(item[0])
        targets.append(item[1])
    return images, targets
