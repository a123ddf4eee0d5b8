"""Pictures of images, masks and predictions (matplotlib).

Figure convention (the same in :mod:`course_lib.widgets` and the library's ``.plot()`` methods): a function that
makes a matplotlib figure returns that ``Figure`` and closes it with ``plt.close(fig)``, so in a notebook it shows
exactly once, as the value of a cell's last line; no trailing ``;`` is needed, and ``fig = show_grid(...)`` shows
nothing until ``fig`` is the last line. To show one from the middle of a cell, wrap it: ``display(show_grid(...))``.
When the caller passes ``ax=`` (Axes of a figure the caller made), the function draws there, returns ``ax.figure``
and leaves it open: the caller's figure is the caller's to show. The widgets draw on pyplot-free figures that they
render into the widget themselves, so they never leave a figure open either.

Colours: :mod:`course_lib.viz.palettes` holds every palette and the one colouring function, :func:`colorize`.
"""

from .datasets import dataset_meta, show_sample, show_samples
from .masks import overlay, show_grid, to_numpy_image
from .palettes import (CAMVID_PALETTE, DEFAULT_PALETTE, IGNORE_COLOR, PALETTES, STREETS_PALETTE, colorize,
                       colorize_labels, get_palette, instance_colors)

__all__ = [
    "CAMVID_PALETTE", "DEFAULT_PALETTE", "IGNORE_COLOR", "PALETTES", "STREETS_PALETTE",
    "colorize", "colorize_labels", "dataset_meta", "get_palette", "instance_colors", "overlay",
    "show_grid", "show_sample", "show_samples", "to_numpy_image",
]

