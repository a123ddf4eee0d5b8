"""Training samples for a promptable model: one object per sample, the image plus two maps of simulated clicks.

:class:`ClickDataset` wraps an instance dataset (``data.load("synthetic-nuclei", split, target="instance")``
or ``target="ids"``) and lists every object of every image. Sample ``i`` is the image with two more
channels (positive and negative clicks, :func:`~course_lib.prompts.clicks.click_maps`) and the object's
0/1 mask. Its clicks imitate a user correcting a model (:func:`simulate_clicks`): a first positive click
inside the object, then up to ``max_extra_clicks`` corrections of a plausibly wrong mask (grown, shrunk,
cut, shifted, or leaking into a touching neighbour), each one where that mask is most wrong, after which
the clicked error is taken as fixed. Every sample's clicks come from its own seeded generator, so the
dataset gives the same samples in any order, with any number of workers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from scipy import ndimage

from ..metrics.instance import masks_from_instance_ids
from ..validation import check_choice, check_int, check_positive
from .clicks import CLICK_DEFAULTS, CLICK_ENCODINGS, Click, as_mask, boundary_distance, click_maps, error_distance

__all__ = ["instance_masks", "simulate_clicks", "ClickDataset"]

_PERTURBATIONS = ("leak", "grow", "shrink", "cut", "shift")


def instance_masks(target: Any) -> torch.Tensor:
    """The N×H×W bool masks of an instance target: a dict with ``masks``, or an H×W id map (0 = background)."""
    if isinstance(target, dict) and isinstance(target.get("masks"), torch.Tensor) and target["masks"].ndim == 3:
        return target["masks"].bool()
    if isinstance(target, torch.Tensor) and target.ndim == 2 and not target.is_floating_point():
        return masks_from_instance_ids(target)
    raise ValueError("instances must give (image, target) pairs with an instance target: a dict with 'masks' or an "
                     "H×W id map; load them with target='instance' (or target='ids').")


def _interior_click(rng: np.random.Generator, mask: np.ndarray) -> Click:
    """A positive click drawn uniformly among the object pixels at least half the deepest depth inside it."""
    dist = boundary_distance(mask)
    rows, cols = np.nonzero(dist >= 0.5 * dist.max())
    pick = int(rng.integers(len(rows)))
    return Click(int(rows[pick]), int(cols[pick]), True)


def _touching(mask: np.ndarray, others: np.ndarray) -> np.ndarray:
    """The pixels of the other objects whose object touches ``mask`` (within 2 pixels)."""
    near = ndimage.binary_dilation(mask, iterations=2) & others
    if not near.any():
        return np.zeros_like(mask)
    labels, _ = ndimage.label(others)
    return np.isin(labels, np.unique(labels[near])) & others


def _perturbed(rng: np.random.Generator, mask: np.ndarray, others: np.ndarray) -> np.ndarray:
    """A plausibly wrong prediction of ``mask``: grown, shrunk, cut by a line, shifted, or leaking into a neighbour."""
    kind = _PERTURBATIONS[int(rng.integers(len(_PERTURBATIONS)))]
    steps = int(rng.integers(1, 4))
    if kind == "leak" and (leak := _touching(mask, others)).any():
        return mask | leak
    if kind in ("leak", "grow"):
        return ndimage.binary_dilation(mask, iterations=steps)
    if kind == "shrink":
        return ndimage.binary_erosion(mask, iterations=min(steps, 2))
    if kind == "cut":
        rows, cols = np.nonzero(mask)
        angle = rng.uniform(0, 2 * np.pi)
        side = (np.arange(mask.shape[0])[:, None] - rows.mean()) * np.cos(angle) \
            + (np.arange(mask.shape[1])[None, :] - cols.mean()) * np.sin(angle)
        return mask & (side < rng.uniform(-2, 2))
    dr, dc = rng.integers(-3, 4, size=2)
    return np.roll(mask, (int(dr), int(dc)), axis=(0, 1))


def _sampled_correction(rng: np.random.Generator, pred: np.ndarray, mask: np.ndarray, clicked: list[Click]) -> Click | None:
    """A corrective click drawn among the error pixels at least half the largest error depth (None without errors)."""
    fn_dist, fp_dist = error_distance(pred, mask)
    dist = fn_dist + fp_dist
    for c in clicked:
        dist[c.row, c.col] = 0.0
    if dist.max() <= 0:
        return None
    rows, cols = np.nonzero(dist >= 0.5 * dist.max())
    pick = int(rng.integers(len(rows)))
    row, col = int(rows[pick]), int(cols[pick])
    return Click(row, col, bool(fn_dist[row, col] > 0))


def _fixed(pred: np.ndarray, mask: np.ndarray, click: Click) -> np.ndarray:
    """``pred`` with the connected error region under ``click`` corrected (what a good model does after it)."""
    error = (mask & ~pred) if click.positive else (pred & ~mask)
    labels, _ = ndimage.label(error)
    region = labels == labels[click.row, click.col]
    out = pred.copy()
    out[region] = mask[region]
    return out


def simulate_clicks(mask: Any, others: Any = None, rng: np.random.Generator | int = 0,
                    max_extra_clicks: int = CLICK_DEFAULTS["max_extra_clicks"]) -> list[Click]:
    """Clicks a user might have made on object ``mask``: one positive click inside, then 0..max_extra_clicks corrections.

    The corrections fix a perturbed copy of ``mask`` (``others``: the other objects' pixels, which a
    prediction may leak into), each placed among the deepest pixels of the remaining error.
    """
    mask = as_mask("mask", mask)
    if not mask.any():
        raise ValueError("mask has no object pixel; simulate clicks on a mask with some 1s.")
    others = np.zeros_like(mask) if others is None else as_mask("others", others) & ~mask
    check_int("max_extra_clicks", max_extra_clicks, minimum=0)
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    clicks = [_interior_click(rng, mask)]
    extra = int(rng.integers(0, max_extra_clicks + 1))
    pred = _perturbed(rng, mask, others) if extra else mask
    for _ in range(extra):
        click = _sampled_correction(rng, pred, mask, clicks)
        if click is None:
            break
        clicks.append(click)
        pred = _fixed(pred, mask, click)
    return clicks


def _crop_size(crop: Any) -> tuple[int, int] | None:
    """``crop`` (None, a side, or (h, w)) as None or a checked (h, w) of ints >= 8."""
    if crop is None:
        return None
    pair = tuple(crop) if isinstance(crop, (tuple, list)) else (crop, crop)
    if len(pair) != 2:
        raise ValueError(f"crop={crop!r} must be a side or (h, w), e.g. crop=32 or crop=(32, 32); or None for whole images.")
    return check_int("crop", pair[0], minimum=8), check_int("crop", pair[1], minimum=8)


class ClickDataset(torch.utils.data.Dataset):
    """(image + positive and negative click maps, object mask) samples: one object of an instance dataset each.

    * ``instances``: a dataset of ``(image, target)`` with instance targets (``target="instance"`` or ``"ids"``).
    * ``seed``: the clicks of sample ``i`` come from a generator seeded with ``(seed, i)``.
    * ``repeats``: each object appears this many times, each time with other clicks (``len`` = objects × repeats).
    * ``max_extra_clicks``, ``radius``, ``encoding``: see :func:`simulate_clicks` and ``click_maps``.
    * ``min_area``: objects smaller than this many pixels (slivers cut by the border) are left out.
    * ``crop``: (h, w) or a side: each sample is a window of that size around its object (faster training), or None.
    """

    def __init__(self, instances: Any, *, seed: int = 0, repeats: int = 1,
                 max_extra_clicks: int = CLICK_DEFAULTS["max_extra_clicks"], radius: float = CLICK_DEFAULTS["radius"],
                 encoding: str = CLICK_DEFAULTS["encoding"], min_area: int = CLICK_DEFAULTS["min_area"],
                 crop: int | tuple[int, int] | None = None) -> None:
        self.seed = check_int("seed", seed, minimum=0)
        self.repeats = check_int("repeats", repeats)
        self.max_extra_clicks = check_int("max_extra_clicks", max_extra_clicks, minimum=0)
        self.radius = check_positive("radius", radius)
        self.encoding = check_choice("encoding", encoding, CLICK_ENCODINGS)
        self.min_area = check_int("min_area", min_area)
        self.crop = _crop_size(crop)
        self.images: list[torch.Tensor] = []
        self.masks: list[torch.Tensor] = []
        self.objects: list[tuple[int, int]] = []  # (image index, object index) of every object kept
        for i in range(len(instances)):
            image, target = instances[i]
            masks = instance_masks(target)
            self.images.append(image)
            self.masks.append(masks)
            self.objects += [(i, k) for k in range(masks.shape[0]) if int(masks[k].sum()) >= self.min_area]
        if not self.objects:
            raise ValueError(f"instances holds no object of at least min_area={self.min_area} pixels; pass more "
                             f"images or a smaller min_area.")

    @property
    def num_objects(self) -> int:
        """How many objects the dataset holds (each appears ``repeats`` times)."""
        return len(self.objects)

    def __len__(self) -> int:
        return len(self.objects) * self.repeats

    def object(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Object ``index`` (0 <= index < num_objects) without clicks: its whole image and its H×W bool mask."""
        image_index, k = self.objects[check_int("index", index, minimum=0, maximum=self.num_objects - 1)]
        return self.images[image_index], self.masks[image_index][k]

    def _window(self, rng: np.random.Generator, mask: np.ndarray) -> tuple[slice, slice]:
        """The crop window around the object (jittered by up to a quarter of its side), inside the image."""
        h, w = mask.shape
        if self.crop is None:
            return slice(0, h), slice(0, w)
        rows, cols = np.nonzero(mask)
        out = []
        for centre, size, want in ((rows.mean(), h, self.crop[0]), (cols.mean(), w, self.crop[1])):
            side = min(want, size)
            start = int(round(centre - side / 2 + rng.uniform(-side / 4, side / 4)))
            start = min(max(start, 0), size - side)
            out.append(slice(start, start + side))
        return out[0], out[1]

    def sample(self, index: int) -> tuple[torch.Tensor, torch.Tensor, list[Click]]:
        """Sample ``index`` as (image, 0/1 int64 mask, clicks), before the clicks are drawn as maps."""
        check_int("index", index, minimum=0, maximum=len(self) - 1)
        image_index, k = self.objects[index % len(self.objects)]
        masks = self.masks[image_index].numpy()
        rng = np.random.default_rng([self.seed, index])
        rows, cols = self._window(rng, masks[k])
        mask = masks[k][rows, cols]
        others = np.delete(masks, k, axis=0).any(0)[rows, cols] if masks.shape[0] > 1 else np.zeros_like(mask)
        clicks = simulate_clicks(mask, others, rng, self.max_extra_clicks)
        image = self.images[image_index][:, rows, cols]
        return image, torch.from_numpy(mask.astype(np.int64)), clicks

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, mask, clicks = self.sample(index)
        maps = click_maps(clicks, tuple(mask.shape), self.radius, self.encoding)
        return torch.cat([image, maps]), mask

    def __repr__(self) -> str:
        return (f"ClickDataset({self.num_objects} objects in {len(self.images)} images, repeats={self.repeats}, "
                f"max_extra_clicks={self.max_extra_clicks}, radius={self.radius}, encoding={self.encoding!r}, "
                f"crop={self.crop})")
