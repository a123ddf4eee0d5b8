"""The seeded synthetic Dataset: images drawn lazily, a chunk at a time, from per-chunk seeds.

Every image is drawn with vectorised torch code, a chunk of images at a time, from a seed derived
from ``(dataset name, split, seed, chunk)``. So the same arguments give the same pixels, the splits
never share an image, and the first ``k`` images of a split do not depend on ``n``.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from ...validation import check_choice, check_fraction, check_int
from ..base import SegmentationDataset, parse_size
from ..photos import PHOTO_CLASSES, render_photo_composites
from .lesions import LESION_CLASSES, render_lesions
from .nuclei import NUCLEI_CLASSES, render_nuclei
from .streets import STREET_CLASSES, render_streets

__all__ = ["SYNTHETIC_DEFAULT_N", "CHUNK", "SyntheticSpec", "SYNTHETIC_SPECS", "chunk_seed", "single_threaded", "SyntheticDataset"]

#: Images per split when ``n`` is not given.
SYNTHETIC_DEFAULT_N = {"train": 1000, "val": 200, "test": 200}
#: Images drawn at a time (each chunk has its own seed).
CHUNK = 32
_SPLIT_CODES = {"train": 0, "val": 1, "test": 2}
_MAX_N = 1_000_000


@dataclass(frozen=True)
class SyntheticSpec:
    """How to draw one synthetic dataset: its renderer, default (H, W), channels, instance ids?, class names."""

    render: Callable[..., tuple[torch.Tensor, torch.Tensor]]
    default_size: tuple[int, int]
    native_channels: int
    has_instances: bool
    class_names: tuple[str, ...]


SYNTHETIC_SPECS = {
    "synthetic-streets": SyntheticSpec(render_streets, (64, 96), 3, False, STREET_CLASSES),
    "synthetic-nuclei": SyntheticSpec(render_nuclei, (64, 64), 1, True, NUCLEI_CLASSES),
    "synthetic-lesions": SyntheticSpec(render_lesions, (64, 64), 1, False, LESION_CLASSES),
    "photo-composites": SyntheticSpec(render_photo_composites, (64, 64), 3, False, PHOTO_CLASSES),
}


@contextmanager
def single_threaded() -> Iterator[None]:
    """Run torch ops on one thread: drawing uses many small ops, which extra threads only slow down."""
    before = torch.get_num_threads()
    if before == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def chunk_seed(name: str, split: str, seed: int, chunk: int) -> int:
    """A 63-bit seed for one chunk, mixed from the dataset name, split, user seed and chunk number."""
    entropy = [seed, zlib.crc32(name.encode()), _SPLIT_CODES[split], chunk]
    return int(np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def _check_split(name: str, split: str) -> str:
    """``split`` if it is one of train/val/test; 'all' and anything else raise a ValueError."""
    check_choice("split", split, ("train", "val", "test", "all"))
    if split == "all":
        raise ValueError(f"split='all' is not available for {name!r}: synthetic splits are separate; use 'train', 'val' or 'test'.")
    return split


def _render_options(name: str, empty_fraction: float | None) -> dict[str, float]:
    """Extra keyword arguments for the renderer (only synthetic-lesions has one: ``empty_fraction``)."""
    if empty_fraction is None:
        return {}
    if name != "synthetic-lesions":
        raise ValueError(f"empty_fraction is an option of 'synthetic-lesions' only, not of {name!r}.")
    return {"empty_fraction": check_fraction("empty_fraction", empty_fraction)}


def _default_workers() -> int:
    """Threads for :meth:`SyntheticDataset.generate_all`: the usable CPUs, at most 2."""
    return min(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


class SyntheticDataset(SegmentationDataset):
    """A seeded procedural dataset; images are drawn lazily, 32 at a time, and kept in memory.

    With DataLoader workers, call :meth:`generate_all` first: workers then share the drawn images
    instead of each drawing them again every epoch.
    """

    def __init__(
        self,
        name: str,
        split: str = "train",
        *,
        n: int | None = None,
        size: int | tuple[int, int] | None = None,
        seed: int = 0,
        target: str = "semantic",
        channels: int | None = None,
        transform: Callable | None = None,
        empty_fraction: float | None = None,
    ) -> None:
        spec = SYNTHETIC_SPECS[check_choice("name", name, tuple(SYNTHETIC_SPECS))]
        self.has_instances = spec.has_instances
        _check_split(name, split)
        n = check_int("n", SYNTHETIC_DEFAULT_N[split] if n is None else n, maximum=_MAX_N)
        seed = check_int("seed", seed, minimum=0)
        self._render_kwargs = _render_options(name, empty_fraction)
        size_hw = parse_size(size) or spec.default_size
        super().__init__(
            name=name, split=split, num_classes=len(spec.class_names), class_names=spec.class_names,
            ignore_index=None, target=target, size=None,  # drawn at the requested size, never resized
            channels=channels, transform=transform,
        )
        self.image_size = size_hw
        self.n = n
        self.seed = seed
        self._spec = spec
        self._chunks: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def __len__(self) -> int:
        return self.n

    def _chunk(self, c: int) -> tuple[torch.Tensor, torch.Tensor]:
        if c not in self._chunks:
            g = torch.Generator().manual_seed(chunk_seed(self.name, self.split, self.seed, c))
            h, w = self.image_size
            with single_threaded():
                self._chunks[c] = self._spec.render(g, CHUNK, h, w, **self._render_kwargs)
        return self._chunks[c]

    def _read(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        images, labels = self._chunk(index // CHUNK)
        return images[index % CHUNK], labels[index % CHUNK]

    def generate_all(self, workers: int | None = None) -> "SyntheticDataset":
        """Draw every image now rather than on first access (in ``workers`` threads, default: up to 2); returns self."""
        todo = [c for c in range((self.n + CHUNK - 1) // CHUNK) if c not in self._chunks]
        workers = check_int("workers", _default_workers() if workers is None else workers)
        with single_threaded():  # torch ops release the GIL, so chunks are drawn in parallel threads
            if workers == 1 or len(todo) < 2:
                for c in todo:
                    self._chunk(c)
            else:
                with ThreadPoolExecutor(max_workers=workers) as pool:
                    list(pool.map(self._chunk, todo))
        return self

    def __repr__(self) -> str:
        h, w = self.image_size
        return (
            f"SyntheticDataset(name={self.name!r}, split={self.split!r}, n={self.n}, size=({h}, {w}), "
            f"seed={self.seed}, target={self.target_type!r}, num_classes={self.num_classes})"
        )
