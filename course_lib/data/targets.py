"""Convert between target forms: instance-id maps, semantic maps, boundary maps and detection dicts.

The conversions between id maps and per-instance masks/dicts live in :mod:`course_lib.instances`;
``boxes_from_masks``, ``instances_from_ids`` and ``ids_from_instances`` are re-exported here.
"""

from __future__ import annotations

import torch

from ..instances import boxes_from_masks, ids_from_instances, instances_from_ids

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
