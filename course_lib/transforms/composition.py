"""Chaining transforms, and running torchvision v2 transforms on (image, target) pairs."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from .base import PairTransform, Target, finish_instances

__all__ = ["Compose", "V2"]


class Compose(PairTransform):
    """Apply transforms one after another; torchvision v2 transforms are accepted too (wrapped in :class:`V2`)."""

    def __init__(self, transforms: Sequence[Callable]) -> None:
        steps = []
        for t in transforms:
            if not callable(t):
                raise TypeError(f"Compose got {t!r}, which is not callable; pass transforms like RandomHorizontalFlip().")
            steps.append(V2(t) if _is_v2(t) else t)
        self.transforms = steps

    def apply(self, image: torch.Tensor, target: Target) -> tuple[torch.Tensor, Target]:
        for t in self.transforms:
            image, target = t(image, target)
        return image, target

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])"


def _is_v2(t: object) -> bool:
    """Whether ``t`` is a torchvision v2 transform (which takes the image and mask as tv_tensors)."""
    from torchvision.transforms import v2

    return isinstance(t, v2.Transform)


class V2(PairTransform):
    """Run any ``torchvision.transforms.v2`` transform jointly on the image and its label map or masks."""

    def __init__(self, transform: Callable) -> None:
        self.transform = transform

    def apply(self, image: torch.Tensor, target: Target) -> tuple[torch.Tensor, Target]:
        from torchvision import tv_tensors

        img = tv_tensors.Image(image)
        if target is None:
            return self.transform(img).as_subclass(torch.Tensor), None
        if isinstance(target, dict):
            out_img, masks = self.transform(img, tv_tensors.Mask(target["masks"]))
            return out_img.as_subclass(torch.Tensor), finish_instances(target, masks.as_subclass(torch.Tensor))
        out_img, mask = self.transform(img, tv_tensors.Mask(target))
        return out_img.as_subclass(torch.Tensor), mask.as_subclass(torch.Tensor)
