"""Pictures of images, masks and predictions (matplotlib)."""

from .datasets import (CAMVID_PALETTE, IGNORE_COLOR, PALETTES, STREETS_PALETTE, colorize, get_palette,
                       instance_colors, show_sample, show_samples)
from .masks import DEFAULT_PALETTE, colorize_labels, overlay, show_grid, to_numpy_image

__all__ = [
    "CAMVID_PALETTE", "DEFAULT_PALETTE", "IGNORE_COLOR", "PALETTES", "STREETS_PALETTE",
    "colorize", "colorize_labels", "get_palette", "instance_colors", "overlay",
    "show_grid", "show_sample", "show_samples", "to_numpy_image",
]
