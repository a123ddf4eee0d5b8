"""What every pair transform shares: checking an (image, target) pair, and moving image and target together."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "Target",
    "PairTransform",
    "check_pair",
    "finish_instances",
    "joint",
    "fill_for",
    "size_pair",
]


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

Target = Any  # torch.Tensor (H×W) | dict[str, torch.Tensor] | None


def check_pair(image: torch.Tensor, target: Target) -> None:
    """ValueError unless ``image`` is float C×H×W and ``target`` a label map, instance dict or None of its size."""
    if not isinstance(image, torch.Tensor) or image.ndim != 3 or not image.is_floating_point():
        got = f"{type(image).__name__} of shape {tuple(image.shape)} and dtype {image.dtype}" if isinstance(image, torch.Tensor) else type(image).__name__
        raise ValueError(f"image must be a float C×H×W tensor (e.g. from load(...)); got {got}.")
    size = tuple(image.shape[-2:])
    if target is None:
        return
    if isinstance(target, dict):
        masks = target.get("masks")
        if not isinstance(masks, torch.Tensor) or masks.ndim != 3:
            raise ValueError("an instance target must be a dict with 'masks' of shape N×H×W (and 'labels', 'boxes').")
        if tuple(masks.shape[-2:]) != size:
            raise ValueError(f"target['masks'] is {tuple(masks.shape[-2:])} but the image is {size}; they must match.")
        return
    if not isinstance(target, torch.Tensor) or target.ndim != 2 or target.is_floating_point():
        got = f"shape {tuple(target.shape)}, dtype {target.dtype}" if isinstance(target, torch.Tensor) else type(target).__name__
        raise ValueError(f"target must be an integer H×W label map, an instance dict or None; got {got}.")
    if tuple(target.shape) != size:
        raise ValueError(f"target is {tuple(target.shape)} but the image is {size}; resize them together (e.g. Resize).")


def finish_instances(target: dict[str, torch.Tensor], masks: torch.Tensor) -> dict[str, torch.Tensor]:
    """Put moved masks back into an instance dict: drop empty ones, recompute boxes from the masks."""
    from ..instances import boxes_from_masks

    keep = (masks.flatten(1) != 0).any(1)
    n = masks.shape[0]
    out = {}
    for key, value in target.items():
        if key == "masks":
            continue
        if isinstance(value, torch.Tensor) and value.ndim >= 1 and value.shape[0] == n:
            value = value[keep]
        out[key] = value
    out["masks"] = masks[keep]
    out["boxes"] = boxes_from_masks(out["masks"])
    return out


def joint(fn: Callable[[torch.Tensor, bool], torch.Tensor], image: torch.Tensor, target: Target) -> tuple[torch.Tensor, Target]:
    """Apply ``fn(tensor, is_label)`` to the image and to the target's label map or masks."""
    new_image = fn(image, False)
    if target is None:
        return new_image, None
    if isinstance(target, dict):
        masks = target["masks"]
        if masks.shape[0] == 0:  # no instances: move a blank mask only to learn the new size
            masks = fn(torch.zeros((1, *masks.shape[1:]), dtype=masks.dtype, device=masks.device), True)[:0]
        else:
            masks = fn(masks, True)
        return new_image, finish_instances(target, masks)
    return new_image, fn(target, True)


class PairTransform:
    """Base class: checks the pair, then calls :meth:`apply`."""

    def __call__(self, image: torch.Tensor, target: Target = None) -> tuple[torch.Tensor, Target]:
        check_pair(image, target)
        return self.apply(image, target)

    def apply(self, image: torch.Tensor, target: Target) -> tuple[torch.Tensor, Target]:  # pragma: no cover
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


def fill_for(is_label: bool, instance: bool, fill_label: int) -> float | int:
    """The value of pixels that enter from outside: 0 for images and instance masks, ``fill_label`` for label maps."""
    if not is_label:
        return 0.0
    return 0 if instance else fill_label


def size_pair(size: int | Sequence[int], name: str = "size") -> tuple[int, int]:
    """``size`` as (height, width): an int means a square."""
    if isinstance(size, int) and not isinstance(size, bool) and size > 0:
        return size, size
    if isinstance(size, Sequence) and len(size) == 2 and all(isinstance(s, int) and s > 0 for s in size):
        return int(size[0]), int(size[1])
    raise ValueError(f"{name}={size!r} must be a positive int or a (height, width) pair, e.g. {name}=(64, 96).")
