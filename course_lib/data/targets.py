"""Convert between target forms: instance-id maps, semantic maps, boundary maps and detection dicts."""

from __future__ import annotations

import torch

__all__ = [
    "TARGET_TYPES",
    "boxes_from_masks",
    "instances_from_ids",
    "ids_from_instances",
    "semantic_from_ids",
    "boundary_from_ids",
    "target_from_ids",
]

#: The forms an instance dataset can return, chosen with ``load(..., target=...)``.
TARGET_TYPES = ("semantic", "boundary", "instance", "ids")


def boxes_from_masks(masks: torch.Tensor) -> torch.Tensor:
    """Tight ``xyxy`` float32 boxes (pixel-edge coordinates, so a 1-pixel mask is 1x1) of N×H×W masks."""
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
    masks = target["masks"]
    if masks.ndim != 3:
        raise ValueError(f"target['masks'] must be N×H×W, got shape {tuple(masks.shape)}.")
    ids = torch.zeros(masks.shape[1:], dtype=torch.int64, device=masks.device)
    for k in range(masks.shape[0]):
        ids[masks[k].bool()] = k + 1
    return ids


def semantic_from_ids(ids: torch.Tensor) -> torch.Tensor:
    """Binary int64 map: 1 where any instance is, 0 elsewhere."""
    return (ids > 0).to(torch.int64)


def boundary_from_ids(ids: torch.Tensor) -> torch.Tensor:
    """Three-class int64 map: 0 background, 1 instance interior, 2 instance boundary (1 px, 4-neighbourhood)."""
    if ids.ndim != 2:
        raise ValueError(f"ids must be an H×W map of instance ids, got shape {tuple(ids.shape)}.")
    padded = torch.nn.functional.pad(ids[None, None].to(torch.float32), (1, 1, 1, 1), mode="replicate")[0, 0]
    centre = padded[1:-1, 1:-1]
    edge = torch.zeros_like(ids, dtype=torch.bool)
    for dy, dx in ((0, 1), (2, 1), (1, 0), (1, 2)):  # up, down, left, right
        h, w = ids.shape
        edge |= padded[dy : dy + h, dx : dx + w] != centre
    out = (ids > 0).to(torch.int64)
    out[(ids > 0) & edge] = 2
    return out


def target_from_ids(ids: torch.Tensor, target: str) -> torch.Tensor | dict[str, torch.Tensor]:
    """The target form named by ``target`` (one of :data:`TARGET_TYPES`) built from an id map."""
    if target == "semantic":
        return semantic_from_ids(ids)
    if target == "boundary":
        return boundary_from_ids(ids)
    if target == "instance":
        return instances_from_ids(ids)
    if target == "ids":
        return ids.to(torch.int64)
    raise ValueError(f"target={target!r} is not a target type; use one of {', '.join(TARGET_TYPES)}.")
