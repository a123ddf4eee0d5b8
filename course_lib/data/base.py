"""The Dataset class every course dataset shares: decoding, resizing, caching, target forms and transforms."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from ..validation import check_choice, check_fraction, check_int
from .targets import TARGET_TYPES, target_from_ids

__all__ = ["SegmentationDataset", "as_tensors", "parse_size", "seeded_split", "SPLITS"]

#: The split names every dataset accepts ("all" = every sample, no split).
SPLITS = ("train", "val", "test", "all")


def parse_size(size: Any, name: str = "size") -> tuple[int, int] | None:
    """Return ``(H, W)`` from an int (square) or a pair, or None; bad values raise ValueError."""
    if size is None:
        return None
    if isinstance(size, bool):
        raise ValueError(f"{name}={size!r} must be an int or a (height, width) pair, e.g. {name}=64 or {name}=(64, 96).")
    if isinstance(size, int):
        size = (size, size)
    if (
        not isinstance(size, Sequence)
        or len(size) != 2
        or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in size)
    ):
        raise ValueError(f"{name}={size!r} must be an int or a (height, width) pair, e.g. {name}=64 or {name}=(64, 96).")
    h, w = int(size[0]), int(size[1])
    if h < 8 or w < 8 or h > 4096 or w > 4096:
        raise ValueError(f"{name}={size!r} is out of range; use sides between 8 and 4096 pixels.")
    return h, w


def as_tensors(dataset: Any, n: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``n`` (default: all) image/target pairs of ``dataset`` stacked into two tensors (images N×C×H×W, targets N×H×W)."""
    count = check_int("n", len(dataset) if n is None else n, maximum=len(dataset))
    pairs = [dataset[i] for i in range(count)]
    if not isinstance(pairs[0][1], torch.Tensor):
        raise TypeError("as_tensors needs tensor targets (semantic, boundary or ids), not detection dicts; "
                        "load the dataset with target='semantic' or collect the dicts in a list.")
    return torch.stack([p[0] for p in pairs]), torch.stack([p[1] for p in pairs])


def seeded_split(
    keys: Sequence[str], split: str, *, val_fraction: float, test_fraction: float, seed: int
) -> list[str]:
    """Deterministic train/val/test split of ``keys``: sorted, shuffled with ``seed``, then cut by the fractions."""
    check_fraction("val_fraction", val_fraction, high_open=True)
    check_fraction("test_fraction", test_fraction, high_open=True)
    if val_fraction + test_fraction >= 1.0:
        raise ValueError(f"val_fraction + test_fraction = {val_fraction + test_fraction} leaves nothing to train on; keep it below 1.")
    keys = sorted(keys)
    if split == "all":
        return keys
    order = np.random.default_rng(seed).permutation(len(keys))
    shuffled = [keys[i] for i in order]
    n = len(keys)
    n_test = int(round(n * test_fraction))
    n_val = int(round(n * val_fraction))
    if n >= 3:  # keep every split non-empty when there is anything to split
        n_test = max(n_test, 1 if test_fraction > 0 else 0)
        n_val = max(n_val, 1 if val_fraction > 0 else 0)
    parts = {
        "test": shuffled[:n_test],
        "val": shuffled[n_test : n_test + n_val],
        "train": shuffled[n_test + n_val :],
    }
    return sorted(parts[split])


def _to_channels(image: torch.Tensor, channels: int | None) -> torch.Tensor:
    """Convert a C×H×W image to 1 (luma) or 3 (repeated grey) channels; None keeps it."""
    c = image.shape[0]
    if channels is None or channels == c:
        return image
    if channels == 1 and c == 3:
        weights = torch.tensor([0.299, 0.587, 0.114], dtype=torch.float32).view(3, 1, 1)
        return (image.to(torch.float32) * weights).sum(0, keepdim=True).round().clamp(0, 255).to(image.dtype)
    if channels == 3 and c == 1:
        return image.expand(3, -1, -1).clone()
    raise ValueError(f"channels={channels!r} cannot be made from a {c}-channel image; use 1, 3 or None.")


class SegmentationDataset(Dataset):
    """A map-style dataset of ``(image, target)`` pairs; subclasses implement :meth:`_read`.

    ``image`` is float32 C×H×W in [0, 1]. ``target`` is an int64 H×W label map, or for
    ``target="instance"`` a dict with ``boxes`` (float32 N×4 xyxy), ``labels`` (int64 N) and
    ``masks`` (uint8 N×H×W).
    """

    #: subclasses whose ``_read`` returns instance-id maps set this to True
    has_instances: bool = False

    def __init__(
        self,
        *,
        name: str,
        split: str,
        num_classes: int,
        class_names: Sequence[str],
        ignore_index: int | None,
        target: str = "semantic",
        size: tuple[int, int] | None = None,
        channels: int | None = None,
        transform: Callable | None = None,
        cache: bool = False,
    ) -> None:
        check_choice("split", split, SPLITS)
        if self.has_instances:
            check_choice("target", target, TARGET_TYPES)
        elif target != "semantic":
            raise ValueError(f"target={target!r}: dataset {name!r} has only semantic label maps; use target='semantic'.")
        if channels is not None:
            check_choice("channels", channels, (1, 3))
        if transform is not None and not callable(transform):
            raise TypeError(f"transform={transform!r} must be callable as transform(image, target) -> (image, target).")
        if not isinstance(cache, bool):
            raise ValueError(f"cache={cache!r} must be True or False.")
        self.name = name
        self.split = split
        self.target_type = target
        self.size = size
        self.channels = channels
        self.transform = transform
        self.cache = cache
        self._cache: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        if self.has_instances and target == "boundary":
            num_classes, class_names = 3, (class_names[0], "interior", "boundary")
        self.num_classes = int(num_classes)
        self.class_names = tuple(class_names)
        self.ignore_index = ignore_index

    # --- to implement -------------------------------------------------------------------------
    def __len__(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def _read(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:  # pragma: no cover - abstract
        """Return (uint8 C×H×W image, integer H×W label map or instance-id map) at native size."""
        raise NotImplementedError

    # --- shared machinery ----------------------------------------------------------------------
    def _check_index(self, index: int) -> int:
        n = len(self)
        if not isinstance(index, (int, np.integer)) or isinstance(index, bool):
            raise TypeError(f"index={index!r} must be an int.")
        index = int(index)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"index {index} is out of range for {self.name!r} split {self.split!r} with {n} samples.")
        return index

    def raw(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The uint8 image and integer label/id map at ``index``, resized, before target conversion and transform."""
        index = self._check_index(index)
        if index in self._cache:
            return self._cache[index]
        image, labels = self._read(index)
        image = _to_channels(image, self.channels)
        if self.size is not None and tuple(image.shape[-2:]) != self.size:
            from torchvision.transforms.v2 import InterpolationMode
            from torchvision.transforms.v2 import functional as F

            image = F.resize(image, list(self.size), interpolation=InterpolationMode.BILINEAR, antialias=True)
            labels = F.resize(labels[None], list(self.size), interpolation=InterpolationMode.NEAREST_EXACT)[0]
        if self.cache:
            self._cache[index] = (image, labels)
        return image, labels

    def __getitem__(self, index: int) -> tuple[torch.Tensor, Any]:
        image_u8, labels = self.raw(index)
        image = image_u8.to(torch.float32) / 255.0
        if self.has_instances:
            target = target_from_ids(labels, self.target_type)
        else:
            target = labels.to(torch.int64)
        if self.transform is not None:
            image, target = self.transform(image, target)
        return image, target

    def __repr__(self) -> str:
        size = "native" if self.size is None else f"{self.size[0]}x{self.size[1]}"
        return (
            f"{type(self).__name__}(name={self.name!r}, split={self.split!r}, n={len(self)}, size={size}, "
            f"target={self.target_type!r}, num_classes={self.num_classes})"
        )
