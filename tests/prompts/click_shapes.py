"""Hand-made id maps for the click tests: discs of known centres and radius."""

from __future__ import annotations

import torch


def disks(shape, centres, radius=3.5) -> torch.Tensor:
    """An H×W id map with disc k (1, 2, ...) of ``radius`` around the k-th (row, col) centre."""
    rows = torch.arange(shape[0]).view(-1, 1)
    cols = torch.arange(shape[1]).view(1, -1)
    ids = torch.zeros(shape, dtype=torch.int64)
    for k, (r, c) in enumerate(centres, start=1):
        ids[(rows - r) ** 2 + (cols - c) ** 2 <= radius**2] = k
    return ids
