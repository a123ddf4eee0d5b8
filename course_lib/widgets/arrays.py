"""What the widgets share for their inputs: any tensor or array as a numpy array, with an error naming the argument."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["as_numpy"]


def as_numpy(x: Any, name: str) -> np.ndarray:
    """``x`` (torch tensor, numpy array or nested list) as a numpy array; other types raise TypeError naming ``name``."""
    try:
        import torch

        if isinstance(x, torch.Tensor):
            return x.detach().cpu().numpy()
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    if isinstance(x, (np.ndarray, list, tuple)):
        return np.asarray(x)
    raise TypeError(f"{name} must be a torch.Tensor or numpy array, got {type(x).__name__}.")
