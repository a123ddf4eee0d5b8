"""Show masks: colour a label map, overlay it on an image, lay image/mask pairs out in a grid."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .palettes import DEFAULT_PALETTE, colorize_labels

__all__ = ["to_numpy_image", "overlay", "show_grid", "DEFAULT_PALETTE", "colorize_labels"]  # the last two: from .palettes

def to_numpy_image(image) -> np.ndarray:
    """An image as an H×W×3 float array in [0, 1], from a C×H×W tensor, H×W×C array or H×W grey map."""
    try:
        import torch

        if isinstance(image, torch.Tensor):
            image = image.detach().cpu().numpy()
            if image.ndim == 3 and image.shape[0] in (1, 3, 4):
                image = np.moveaxis(image, 0, -1)
    except ImportError:  # pragma: no cover
        pass
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3 or arr.shape[-1] not in (1, 3, 4):
        raise ValueError(f"image has shape {arr.shape}; expected H×W, H×W×C or C×H×W with 1, 3 or 4 channels.")
    if arr.dtype == np.uint8:
        arr = arr.astype(np.float32) / 255.0
    arr = arr.astype(np.float32)[..., :3]
    if arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    return np.clip(arr, 0.0, 1.0)


def _labels(mask) -> np.ndarray:
    try:
        import torch

        if isinstance(mask, torch.Tensor):
            mask = mask.detach().cpu().numpy()
    except ImportError:  # pragma: no cover
        pass
    arr = np.asarray(mask)
    if arr.ndim != 2:
        raise ValueError(f"mask has shape {arr.shape}; expected an H×W label map (use .squeeze() or argmax over classes first).")
    if arr.dtype == bool:
        arr = arr.astype(np.int64)
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"mask has dtype {arr.dtype}; expected integer class labels (threshold or argmax predictions first).")
    return arr


def overlay(image, mask, alpha: float = 0.5, palette: np.ndarray | None = None, ignore_index: int | None = None) -> np.ndarray:
    """Blend a coloured label map over an image (label 0 stays see-through); returns H×W×3 floats."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha={alpha} must be between 0 (mask invisible) and 1 (mask opaque).")
    img = to_numpy_image(image)
    labels = _labels(mask)
    if labels.shape != img.shape[:2]:
        raise ValueError(f"mask is {labels.shape} but image is {img.shape[:2]}; resize one of them (nearest for masks).")
    colours = colorize_labels(labels, palette, ignore_index).astype(np.float32) / 255.0
    weight = alpha * (labels != 0)[..., None]
    return img * (1 - weight) + colours * weight


def show_grid(images: Sequence, masks: Sequence | None = None, titles: Sequence[str] | None = None,
              ncols: int = 4, size: float = 2.2, alpha: float = 0.5, palette=None, overlay_masks: bool = False):
    """Plot images (and their masks beside or over them) in a grid; returns the Figure (closed: it shows once)."""
    import matplotlib.pyplot as plt

    n = len(images)
    if n == 0:
        raise ValueError("images is empty; pass at least one image.")
    if masks is not None and len(masks) != n:
        raise ValueError(f"got {n} images but {len(masks)} masks; pass one mask per image.")
    per_item = 1 if masks is None or overlay_masks else 2
    cols = max(1, min(ncols, n)) * per_item
    rows = -(-n * per_item // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i in range(n):
        slot = i * per_item
        ax = axes.flat[slot]
        if masks is not None and overlay_masks:
            ax.imshow(overlay(images[i], masks[i], alpha=alpha, palette=palette))
        else:
            ax.imshow(to_numpy_image(images[i]))
        if titles is not None:
            ax.set_title(titles[i], fontsize=9)
        if per_item == 2:
            axes.flat[slot + 1].imshow(colorize_labels(masks[i], palette), interpolation="nearest")
            axes.flat[slot + 1].set_title("mask", fontsize=9)
    fig.tight_layout()
    plt.close(fig)
    return fig
