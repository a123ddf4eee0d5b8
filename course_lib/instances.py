"""Instance segmentation helpers: instances from semantic or boundary maps, Mask R-CNN predictions, drawings.

Introduced in lesson 06 (instance segmentation). An *id map* is an H×W int64 tensor with 0 for background
and 1..K for the K instances; *detections* are dicts with ``masks`` (K×H×W bool), ``scores`` (K) and
``labels`` (K), the form :func:`course_lib.metrics.mask_average_precision` reads; *instance targets* are the
dicts a detection model trains on (``boxes`` N×4, ``labels`` N, ``masks`` N×H×W uint8).

This module is the one home of the conversions between id maps and per-instance masks or dicts
(``course_lib.data`` re-exports :func:`instances_from_ids`, :func:`ids_from_instances` and
:func:`boxes_from_masks` for its datasets).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from .runtime import resolve_device
from .validation import check_fraction, check_int

__all__ = [
    "boxes_from_masks",
    "instances_from_ids",
    "ids_from_instances",
    "connected_components",
    "instances_from_boundary",
    "split_touching",
    "ids_from_masks",
    "detections_from_ids",
    "predict_instances",
    "instance_overlay",
]


# ------------------------------------------------------------------------------------- conversions
def boxes_from_masks(masks: torch.Tensor) -> torch.Tensor:
    """Tight ``xyxy`` float32 boxes (pixel-edge coordinates, so a 1-pixel mask is 1x1) of N×H×W masks."""
    if not isinstance(masks, torch.Tensor):
        raise TypeError(f"masks must be an N×H×W torch.Tensor, got {type(masks).__name__}.")
    if masks.ndim != 3:
        raise ValueError(f"masks must be N×H×W, got shape {tuple(masks.shape)}; stack one mask per instance.")
    n = masks.shape[0]
    if n == 0:
        return torch.zeros((0, 4), dtype=torch.float32, device=masks.device)
    filled = masks.bool()
    rows = filled.any(dim=2)  # N×H: which rows hold the instance
    cols = filled.any(dim=1)  # N×W
    h, w = masks.shape[1:]
    row_idx = torch.arange(h, device=masks.device)
    col_idx = torch.arange(w, device=masks.device)
    y0 = torch.where(rows, row_idx, h).amin(dim=1)
    y1 = torch.where(rows, row_idx, -1).amax(dim=1) + 1
    x0 = torch.where(cols, col_idx, w).amin(dim=1)
    x1 = torch.where(cols, col_idx, -1).amax(dim=1) + 1
    boxes = torch.stack([x0, y0, x1, y1], dim=1).to(torch.float32)
    empty = ~rows.any(dim=1)
    boxes[empty] = 0.0
    return boxes


def instances_from_ids(ids: torch.Tensor, label: int = 1) -> dict[str, torch.Tensor]:
    """Detection dict (boxes float32 N×4 xyxy, labels int64 N, masks uint8 N×H×W) from an H×W id map (0 = none)."""
    if ids.ndim != 2:
        raise ValueError(f"ids must be an H×W map of instance ids, got shape {tuple(ids.shape)}.")
    present = torch.unique(ids)
    present = present[present > 0]
    masks = (ids.unsqueeze(0) == present.view(-1, 1, 1)).to(torch.uint8)
    return {
        "boxes": boxes_from_masks(masks),
        "labels": torch.full((len(present),), label, dtype=torch.int64, device=ids.device),
        "masks": masks,
    }


def ids_from_instances(target: dict[str, torch.Tensor]) -> torch.Tensor:
    """H×W int64 id map (1..N in order, 0 = none; later masks win overlaps) from a detection dict."""
    masks = target.get("masks") if isinstance(target, dict) else None
    if not isinstance(masks, torch.Tensor):
        raise ValueError("target must be a detection dict with 'masks' (an N×H×W tensor), e.g. from instances_from_ids.")
    if masks.ndim != 3:
        raise ValueError(f"target['masks'] must be N×H×W, got shape {tuple(masks.shape)}.")
    return ids_from_masks(masks.bool())


def _mask2d(mask: Any, name: str) -> tuple[np.ndarray, torch.device]:
    """A 2-D bool numpy array (and the input's device) from a 0/1 or bool tensor/array."""
    device = mask.device if isinstance(mask, torch.Tensor) else torch.device("cpu")
    arr = mask.detach().cpu().numpy() if isinstance(mask, torch.Tensor) else np.asarray(mask)
    if arr.ndim != 2:
        raise ValueError(f"{name} has shape {tuple(arr.shape)}; pass one H×W mask (index a batch first, e.g. {name}[0]).")
    if arr.dtype != bool:
        if not np.issubdtype(arr.dtype, np.number) or (arr.size and not np.isin(arr, (0, 1)).all()):
            raise ValueError(f"{name} must be binary (bool or 0/1); threshold probabilities or compare class ids first.")
        arr = arr.astype(bool)
    return arr, device


def _labels2d(labels: Any, name: str) -> tuple[np.ndarray, torch.device]:
    """A 2-D int64 numpy array (and the input's device) from an integer tensor/array."""
    device = labels.device if isinstance(labels, torch.Tensor) else torch.device("cpu")
    arr = labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    if arr.ndim != 2:
        raise ValueError(f"{name} has shape {tuple(arr.shape)}; pass one H×W map (index a batch first, e.g. {name}[0]).")
    if not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool):
        raise ValueError(f"{name} has dtype {arr.dtype}; pass integer class ids (argmax the logits first).")
    return arr.astype(np.int64), device


def _drop_small(ids: np.ndarray, min_size: int) -> np.ndarray:
    """Remove instances smaller than ``min_size`` pixels and renumber the rest 1..K in order."""
    if ids.max(initial=0) == 0:
        return ids
    area = np.bincount(ids.ravel())
    keep = area >= min_size
    keep[0] = False
    lut = np.cumsum(keep) * keep
    return lut[ids]


def connected_components(mask: Any, connectivity: int = 4, min_size: int = 1) -> torch.Tensor:
    """H×W int64 id map of the connected components of a binary mask (4- or 8-connectivity, small ones dropped)."""
    from scipy import ndimage

    arr, device = _mask2d(mask, "mask")
    if connectivity not in (4, 8):
        raise ValueError(f"connectivity={connectivity!r} must be 4 (edges touch) or 8 (corners touch too).")
    structure = ndimage.generate_binary_structure(2, 1 if connectivity == 4 else 2)
    ids, _ = ndimage.label(arr, structure=structure)
    ids = _drop_small(ids.astype(np.int64), check_int("min_size", min_size))
    return torch.from_numpy(ids).to(device)


def instances_from_boundary(labels: Any, interior: int = 1, boundary: int = 2, min_size: int = 1) -> torch.Tensor:
    """Id map from a background/interior/boundary class map: interiors are the seeds, grown over the boundary pixels."""
    from skimage.segmentation import watershed

    arr, device = _labels2d(labels, "labels")
    min_size = check_int("min_size", min_size)
    if interior == boundary:
        raise ValueError(f"interior={interior} and boundary={boundary} must be different class ids.")
    seeds = connected_components(torch.from_numpy(arr == interior), connectivity=4).numpy()
    foreground = (arr == interior) | (arr == boundary)
    if seeds.max(initial=0) == 0:
        return torch.zeros(arr.shape, dtype=torch.int64, device=device)
    # every foreground pixel joins the seed it reaches first; boundary-only blobs without a seed stay background
    grown = watershed(np.zeros(arr.shape, dtype=np.float32), markers=seeds, mask=foreground)
    ids = _drop_small(grown.astype(np.int64), min_size)
    return torch.from_numpy(ids).to(device)


def split_touching(mask: Any, min_distance: int = 3, min_size: int = 1) -> torch.Tensor:
    """Id map that splits touching blobs of a binary mask: distance-transform peaks as seeds, then watershed."""
    from scipy import ndimage
    from skimage.feature import peak_local_max
    from skimage.segmentation import watershed

    arr, device = _mask2d(mask, "mask")
    check_int("min_distance", min_distance)  # pixels between two seeds
    min_size = check_int("min_size", min_size)
    if not arr.any():
        return torch.zeros(arr.shape, dtype=torch.int64, device=device)
    distance = ndimage.gaussian_filter(ndimage.distance_transform_edt(arr), sigma=1.0)
    blobs, _ = ndimage.label(arr)
    peaks = peak_local_max(distance, min_distance=min_distance, labels=blobs, exclude_border=False)
    markers = np.zeros(arr.shape, dtype=np.int64)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    ids = watershed(-distance, markers=markers, mask=arr)
    ids = _drop_small(ids.astype(np.int64), min_size)
    return torch.from_numpy(ids).to(device)


def ids_from_masks(masks: Any, scores: Any = None, threshold: float = 0.5) -> torch.Tensor:
    """H×W int64 id map (mask k -> id k+1) from K×H×W masks; where masks overlap the higher score wins."""
    t = masks if isinstance(masks, torch.Tensor) else torch.as_tensor(np.asarray(masks))
    if t.ndim == 4 and t.shape[1] == 1:
        t = t[:, 0]
    if t.ndim != 3:
        raise ValueError(f"masks has shape {tuple(t.shape)}; pass K×H×W (or K×1×H×W, as Mask R-CNN gives).")
    check_fraction("threshold", threshold, low_open=True, high_open=True)  # for probability masks
    binary = t > threshold if t.is_floating_point() else t.bool()
    k = t.shape[0]
    if scores is None:
        order = torch.arange(k)
    else:
        s = torch.as_tensor(scores).detach().reshape(-1).cpu()
        if s.numel() != k:
            raise ValueError(f"scores has {s.numel()} values for {k} masks; give one score per mask.")
        order = torch.argsort(s, stable=True)  # lowest first, so the highest score is painted last
    ids = torch.zeros(t.shape[1:], dtype=torch.int64, device=t.device)
    for i in order.tolist():
        ids[binary[i]] = i + 1
    return ids


def detections_from_ids(ids: Any, probs: Any = None) -> dict[str, torch.Tensor]:
    """Detections (masks K×H×W bool, scores K, labels K of 1) from an id map; score = mean ``probs`` inside each."""
    from .metrics import masks_from_instance_ids

    masks = masks_from_instance_ids(ids)
    k = masks.shape[0]
    if probs is None:
        scores = torch.ones(k, dtype=torch.float32, device=masks.device)
    else:
        p = torch.as_tensor(probs).to(masks.device)
        if tuple(p.shape) != tuple(masks.shape[1:]):
            raise ValueError(f"probs has shape {tuple(p.shape)} but ids is {tuple(masks.shape[1:])}; pass one H×W probability map.")
        area = masks.flatten(1).sum(1).clamp_min(1)
        scores = (masks.flatten(1).float() * p.reshape(1, -1).float()).sum(1) / area
    return {"masks": masks, "scores": scores.float(), "labels": torch.ones(k, dtype=torch.int64, device=masks.device)}


@torch.no_grad()
def predict_instances(
    model: nn.Module,
    images: Any,
    batch_size: int = 8,
    score_threshold: float = 0.0,
    mask_threshold: float = 0.5,
    device: Any = None,
) -> list[dict[str, torch.Tensor]]:
    """Run a torchvision detection model (e.g. Mask R-CNN) in eval mode; one detections dict per image, on CPU."""
    if isinstance(images, torch.Tensor):
        if images.ndim == 3:
            images = images[None]
        if images.ndim != 4:
            raise ValueError(f"images has shape {tuple(images.shape)}; pass N×C×H×W, C×H×W or a list of C×H×W tensors.")
        images = list(images)
    if not isinstance(images, Sequence) or not all(isinstance(x, torch.Tensor) and x.ndim == 3 for x in images):
        raise ValueError("images must be a tensor N×C×H×W or a list of C×H×W tensors.")
    check_int("batch_size", batch_size)
    check_fraction("score_threshold", score_threshold, high_open=True)
    check_fraction("mask_threshold", mask_threshold, low_open=True, high_open=True)
    dev = resolve_device(device)
    was_training = model.training
    model.to(dev).eval()
    out: list[dict[str, torch.Tensor]] = []
    try:
        for start in range(0, len(images), batch_size):
            batch = [x.to(dev) for x in images[start : start + batch_size]]
            for o in model(batch):
                keep = o["scores"] >= score_threshold
                out.append({
                    "masks": (o["masks"][keep][:, 0] > mask_threshold).cpu(),
                    "scores": o["scores"][keep].cpu(),
                    "labels": o["labels"][keep].cpu(),
                    "boxes": o["boxes"][keep].cpu(),
                })
    finally:
        model.train(was_training)
    return out


def instance_overlay(image: Any, ids: Any, alpha: float = 0.45, outline: bool = True) -> np.ndarray:
    """H×W×3 float image with every instance of an id map in its own colour (and a 1-pixel outline)."""
    from .viz import instance_colors, to_numpy_image

    check_fraction("alpha", alpha)  # 0 invisible, 1 opaque
    img = to_numpy_image(image)
    lab, _ = _labels2d(ids, "ids")
    if lab.shape != img.shape[:2]:
        raise ValueError(f"ids is {lab.shape} but image is {img.shape[:2]}; they must have the same H×W.")
    n = int(lab.max(initial=0))
    palette = np.array([(0, 0, 0)] + instance_colors(n), dtype=np.float32) / 255.0
    colours = palette[np.clip(lab, 0, n)]
    inside = (lab > 0)[..., None]
    out = img * (1 - alpha * inside) + colours * alpha * inside
    if outline:
        p = np.pad(lab, 1, mode="edge")
        edge = (lab > 0) & ((p[:-2, 1:-1] != lab) | (p[2:, 1:-1] != lab) | (p[1:-1, :-2] != lab) | (p[1:-1, 2:] != lab))
        out[edge] = colours[edge]
    return out.astype(np.float32)
