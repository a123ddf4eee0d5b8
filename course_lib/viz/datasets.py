"""Look at segmentation data: colour-coded label maps with a legend, and instances in distinct colours.

The pictures follow the figure convention of :mod:`course_lib.viz`. The palettes and :func:`colorize` live in
:mod:`course_lib.viz.palettes` and are re-exported here, where lesson 02 first imports them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ..validation import check_int
from .palettes import (CAMVID_PALETTE, IGNORE_COLOR, PALETTES, STREETS_PALETTE, Color, colorize, dataset_meta,
                       get_palette, instance_colors, to_numpy)

__all__ = [
    "show_sample",
    "show_samples",
    # re-exported from course_lib.viz.palettes
    "CAMVID_PALETTE",
    "STREETS_PALETTE",
    "PALETTES",
    "IGNORE_COLOR",
    "colorize",
    "dataset_meta",
    "get_palette",
    "instance_colors",
]


def _image_rgb(image: Any, mean: Sequence[float] | None = None, std: Sequence[float] | None = None) -> np.ndarray:
    """A C×H×W image as H×W×3 floats in [0, 1] for imshow (undoing normalisation if asked or needed)."""
    x = image.detach().cpu().to(torch.float32) if isinstance(image, torch.Tensor) else torch.as_tensor(np.asarray(image), dtype=torch.float32)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or x.shape[0] not in (1, 3):
        raise ValueError(f"image must be C×H×W with 1 or 3 channels, got shape {tuple(x.shape)}.")
    if mean is not None and std is not None:
        x = x * torch.tensor(std).view(-1, 1, 1) + torch.tensor(mean).view(-1, 1, 1)
    elif x.min() < 0 or x.max() > 1:  # e.g. a normalised image: stretch for display
        x = (x - x.min()) / (x.max() - x.min()).clamp(min=1e-8)
    x = x.clamp(0, 1)
    if x.shape[0] == 1:
        x = x.expand(3, -1, -1)
    return x.permute(1, 2, 0).numpy()


def _instance_rgb(target: dict, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Colour every instance mask in its own colour; returns (rgb, covered)."""
    masks = to_numpy(target["masks"]).astype(bool)
    rgb = np.zeros((*shape, 3), dtype=np.uint8)
    covered = masks.any(0) if len(masks) else np.zeros(shape, dtype=bool)
    for mask, colour in zip(masks, instance_colors(len(masks))):
        rgb[mask] = colour
    return rgb, covered


def show_sample(
    image: Any,
    target: Any,
    *,
    class_names: Sequence[str] | None = None,
    palette: Sequence[Color] | str | None = None,
    ignore_index: int | None = None,
    alpha: float = 0.5,
    title: str | None = None,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    ax: Any = None,
):
    """Show one (image, target) pair: image, colour-coded target, and the overlay; returns the Figure.

    ``ax``: three Axes in a row to draw into (e.g. ``axes[i]`` of ``plt.subplots(n, 3)``); then their figure is
    returned and left open. Without it a new figure is made, returned and closed (it shows once, as a cell's value).
    """
    import matplotlib.pyplot as plt

    if ax is not None:
        row = list(np.ravel(ax))
        if len(row) != 3:
            raise ValueError(f"ax must be three Axes in a row (image, target, overlay), got {len(row)}.")
        handles = _draw_row(row, image, target, class_names, palette, ignore_index, alpha, mean, std)
        if title:
            row[1].set_title(title)
        _legend(row[2], handles)
        return row[0].figure
    fig, axes = plt.subplots(1, 3, figsize=(9, 3.2), squeeze=False)
    handles = _draw_row(axes[0], image, target, class_names, palette, ignore_index, alpha, mean, std)
    if title:
        fig.suptitle(title)
    _legend(fig, handles)
    fig.tight_layout(rect=(0, 0, 0.8 if handles else 1, 1))
    plt.close(fig)
    return fig


def _draw_row(axes, image, target, class_names, palette, ignore_index, alpha, mean, std) -> dict[str, Any]:
    """Draw image | target | overlay into three axes; returns legend entries {label: colour}."""
    from matplotlib.patches import Rectangle

    rgb = _image_rgb(image, mean, std)
    h, w = rgb.shape[:2]
    if isinstance(target, dict):
        colour, covered = _instance_rgb(target, (h, w))
        n = len(target["masks"])
        legend = {}
        target_title = f"{n} instances"
    else:
        labels = to_numpy(target)
        if labels.shape != (h, w):
            raise ValueError(f"target is {labels.shape} but the image is {(h, w)}; they must match.")
        n_classes = len(class_names) if class_names else int(labels[labels != ignore_index].max(initial=0)) + 1
        if palette is None or isinstance(palette, str):
            palette = get_palette(palette, n_classes)
        colour = colorize(labels, palette, ignore_index=ignore_index, ignore_color=(0, 0, 0) if palette == CAMVID_PALETTE else IGNORE_COLOR)
        covered = np.ones((h, w), dtype=bool) if ignore_index is None else labels != ignore_index
        present = sorted(set(np.unique(labels).tolist()) - {ignore_index})
        names = list(class_names) if class_names else [str(i) for i in range(n_classes)]
        legend = {names[i] if i < len(names) else str(i): palette[i] for i in range(len(names))}
        if ignore_index is not None and (labels == ignore_index).any():
            legend[f"ignore ({ignore_index})"] = (0, 0, 0) if palette == CAMVID_PALETTE else IGNORE_COLOR
        target_title = f"{len(present)} classes present"
    covered = covered & colour.any(-1)  # black (background) is not painted over the image
    overlay = rgb.copy()
    blend = covered[..., None] * alpha
    overlay = overlay * (1 - blend) + (colour / 255.0) * blend
    for ax, picture, name in zip(axes, (rgb, colour, overlay), ("image", target_title, "overlay")):
        ax.imshow(picture, interpolation="nearest")
        ax.set_title(name, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    if isinstance(target, dict) and "boxes" in target:
        for box, c in zip(to_numpy(target["boxes"]), instance_colors(len(target["boxes"]))):
            x0, y0, x1, y1 = box.tolist()
            axes[2].add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, lw=0.8, edgecolor=np.array(c) / 255))
    return legend


def _legend(where: Any, entries: dict[str, Any]) -> None:
    """A class legend right of a Figure (or, given an Axes, right of that Axes)."""
    from matplotlib.axes import Axes
    from matplotlib.patches import Patch

    if entries:
        handles = [Patch(facecolor=np.array(c) / 255.0, edgecolor="0.3", label=name) for name, c in entries.items()]
        place = dict(loc="upper left", bbox_to_anchor=(1.02, 1.0)) if isinstance(where, Axes) else dict(loc="center right")
        where.legend(handles=handles, fontsize=8, frameon=False, **place)


def show_samples(
    dataset: Any,
    n: int = 4,
    *,
    indices: Sequence[int] | None = None,
    seed: int | None = None,
    alpha: float = 0.5,
    palette: Sequence[Color] | str | None = None,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    title: str | None = None,
):
    """Show ``n`` samples of a dataset, one per row: image, colour-coded target, overlay; with a class legend.

    Samples are the first ``n`` unless ``indices`` are given or ``seed`` picks them at random.
    Instance targets are drawn in distinct colours with their boxes. Returns the Figure.
    """
    import matplotlib.pyplot as plt

    total = len(dataset)
    if total == 0:
        raise ValueError("dataset is empty; there is nothing to show.")
    if indices is None:
        check_int("n", n)
        n = min(n, total)
        indices = np.random.default_rng(seed).choice(total, n, replace=False).tolist() if seed is not None else list(range(n))
    indices = [int(i) for i in indices]
    if not indices or any(not -total <= i < total for i in indices):
        raise ValueError(f"indices={indices!r} must be a non-empty list of positions in 0..{total - 1}.")
    meta = dataset_meta(dataset)
    if palette is None:
        palette = meta["name"]
    if isinstance(palette, str) or palette is None:
        palette = get_palette(palette, len(meta["class_names"]) if meta["class_names"] else None)
    fig, axes = plt.subplots(len(indices), 3, figsize=(9, 2.9 * len(indices)), squeeze=False)
    legend: dict[str, Any] = {}
    for row, index in zip(axes, indices):
        image, target = dataset[index]
        legend.update(_draw_row(row, image, target, meta["class_names"], palette, meta["ignore_index"], alpha, mean, std))
        row[0].set_ylabel(f"#{index}", fontsize=9)
    fig.suptitle(title or f"{meta['name'] or type(dataset).__name__}", fontsize=11)
    _legend(fig, legend)
    fig.tight_layout(rect=(0, 0, 0.8 if legend else 1, 0.97))
    plt.close(fig)
    return fig
