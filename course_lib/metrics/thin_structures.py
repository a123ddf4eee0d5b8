"""Scores for thin structures such as retinal vessels: centreline Dice (clDice), the width of the structure at each
pixel and recall grouped by that width.

Inputs follow the conventions of :mod:`course_lib.metrics.binary` (target 0/1 with 255 = not scored, predictions
bool/0-1 or probabilities ``> threshold``, an optional bool ``mask`` of scored pixels); one H×W image or N×H×W.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple, Sequence

import numpy as np
import torch

from .binary import binary_prediction, binary_target, nan_ratio, scored_pixels

__all__ = ["cldice", "vessel_width_map", "WidthRecall", "recall_by_width"]


class WidthRecall(NamedTuple):
    """Recall of foreground pixels per width bin: bin i holds widths in [edges[i], edges[i+1])."""

    edges: torch.Tensor
    recall: torch.Tensor
    pixels: torch.Tensor


def _image_target(target: Any) -> torch.Tensor:
    """Binary target of one H×W image or an N×H×W batch."""
    t = binary_target(target)
    if t.ndim not in (2, 3):
        raise ValueError(f"target has shape {tuple(t.shape)}; pass one H×W mask or a batch N×H×W.")
    return t


def _binary_batch(pred: Any, target: Any, mask: Any, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pred, foreground, scored) as bool N×H×W numpy arrays."""
    t = _image_target(target)
    p = binary_prediction(pred, threshold, "pred", t.shape)
    keep = scored_pixels(t, mask)
    arrays = [a.cpu().numpy() for a in (p, t == 1, keep)]
    return tuple(a[None] if a.ndim == 2 else a for a in arrays)  # type: ignore[return-value]


def cldice(pred: Any, target: Any, mask: Any = None, threshold: float = 0.5) -> float:
    """Centreline Dice (clDice, Shit et al. 2021): how well the skeletons of thin structures are covered.

    Both masks are cut to the scored pixels and skeletonised (``skimage.morphology.skeletonize``);
    topology precision = share of the predicted skeleton inside the target, topology sensitivity = share of
    the target skeleton inside the prediction, clDice = their harmonic mean. Counts are pooled over the
    batch; NaN when a skeleton is empty. A thick prediction of a thin vessel scores a low Dice but clDice 1.
    """
    from skimage.morphology import skeletonize

    p, fg, keep = _binary_batch(pred, target, mask, threshold)
    counts = np.zeros(4, dtype=np.int64)  # skel(P) in T, |skel(P)|, skel(T) in P, |skel(T)|
    for pi, ti, ki in zip(p, fg, keep):
        pi, ti = pi & ki, ti & ki
        sp, st = skeletonize(pi), skeletonize(ti)
        counts += [np.count_nonzero(sp & ti), np.count_nonzero(sp), np.count_nonzero(st & pi), np.count_nonzero(st)]
    tprec, tsens = nan_ratio(int(counts[0]), int(counts[1])), nan_ratio(int(counts[2]), int(counts[3]))
    if math.isnan(tprec) or math.isnan(tsens):
        return math.nan
    return 0.0 if tprec + tsens == 0 else 2 * tprec * tsens / (tprec + tsens)


def _width_map(foreground: np.ndarray) -> np.ndarray:
    """Width (2·depth − 1 at the nearest skeleton pixel) at each foreground pixel of one bool H×W mask, else 0."""
    from scipy.ndimage import distance_transform_edt
    from skimage.morphology import skeletonize

    out = np.zeros(foreground.shape, dtype=np.float64)
    skeleton = skeletonize(foreground)
    if not skeleton.any():
        return out
    depth = distance_transform_edt(foreground)
    rows, cols = distance_transform_edt(~skeleton, return_distances=False, return_indices=True)
    out[foreground] = (2 * depth[rows, cols] - 1)[foreground]
    return out


def vessel_width_map(target: Any) -> torch.Tensor:
    """Estimated width in pixels of the structure at each foreground pixel of an H×W (or N×H×W) mask; 0 elsewhere.

    Each pixel takes the width at its nearest centreline (skeleton) pixel, 2·d − 1, where d is that pixel's
    Euclidean distance to the background (``scipy.ndimage.distance_transform_edt``). Exact for straight bars
    of odd width (a 1-pixel line gives 1, a 5-pixel bar 5); one less for even widths; rougher at ends and forks.
    """
    fg = (_image_target(target) == 1).cpu().numpy()
    batch = fg[None] if fg.ndim == 2 else fg
    out = np.zeros(batch.shape, dtype=np.float64)
    for i, f in enumerate(batch):
        out[i] = _width_map(f)
    result = torch.from_numpy(out)
    return result[0] if fg.ndim == 2 else result


def _check_bins(bins: Sequence[float]) -> np.ndarray:
    """float64 bin edges if ``bins`` holds at least two increasing edges."""
    edges = np.asarray(bins, dtype=np.float64)
    if edges.ndim != 1 or edges.size < 2 or np.isnan(edges).any() or not (np.diff(edges) > 0).all():
        raise ValueError(f"bins={bins!r} must be at least two increasing edges, e.g. (0, 2, 4, 6, math.inf).")
    return edges


def recall_by_width(
    pred: Any,
    target: Any,
    mask: Any = None,
    bins: Sequence[float] = (0, 2, 4, 6, math.inf),
    threshold: float = 0.5,
) -> WidthRecall:
    """Recall of the target's foreground pixels grouped by the width of their vessel (:func:`vessel_width_map`).

    ``bins`` are increasing edges; bin i counts widths in [bins[i], bins[i+1]) (widths outside all bins are
    left out). Returns ``WidthRecall(edges, recall, pixels)``: recall per bin (NaN for an empty bin) and the
    number of scored foreground pixels in it. Shows whether a model misses the thin capillaries.
    """
    edges = _check_bins(bins)
    p, fg, keep = _binary_batch(pred, target, mask, threshold)
    widths = vessel_width_map(torch.from_numpy(fg.astype(np.uint8))).numpy()
    scored = fg & keep
    which = np.searchsorted(edges, widths[scored], side="right") - 1
    inside = (which >= 0) & (which < edges.size - 1)
    n_bins = edges.size - 1
    pixels = np.bincount(which[inside], minlength=n_bins)
    hits = np.bincount(which[inside], weights=p[scored][inside].astype(np.float64), minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(pixels > 0, hits / np.maximum(pixels, 1), np.nan)
    return WidthRecall(torch.from_numpy(edges), torch.from_numpy(recall), torch.from_numpy(pixels.astype(np.int64)))
