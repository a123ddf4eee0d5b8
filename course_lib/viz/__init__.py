"""Pictures of images, masks and predictions (matplotlib)."""

from .masks import DEFAULT_PALETTE, colorize_labels, overlay, show_grid, to_numpy_image

__all__ = ["DEFAULT_PALETTE", "colorize_labels", "overlay", "show_grid", "to_numpy_image"]
