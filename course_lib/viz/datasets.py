"""Look at segmentation data: colour-coded label maps with a legend, and instances in distinct colours.

The functions return a matplotlib Figure that is already closed with pyplot: in a notebook the
figure shows once when the call is the last line of a cell (``fig = show_samples(ds)`` shows nothing
until you write ``fig``), and nothing piles up in memory.
"""

from __future__ import annotations

import colorsys
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

__all__ = [
    "CAMVID_PALETTE",
    "STREETS_PALETTE",
    "PALETTES",
    "IGNORE_COLOR",
    "get_palette",
    "colorize",
    "instance_colors",
    "show_sample",
    "show_samples",
]

Color = tuple[int, int, int]

#: The standard CamVid (SegNet) colours of the 11 classes, in class-index order.
CAMVID_PALETTE: list[Color] = [
    (128, 128, 128),  # sky
    (128, 0, 0),  # building
    (192, 192, 128),  # pole
    (128, 64, 128),  # road
    (60, 40, 222),  # sidewalk (pavement)
    (128, 128, 0),  # tree
    (192, 128, 128),  # sign/symbol
    (64, 64, 128),  # fence
    (64, 0, 128),  # car
    (64, 64, 0),  # pedestrian
    (0, 128, 192),  # bicyclist
]

#: synthetic-streets classes in CamVid colours (lane marking uses CamVid's road-marking orange).
STREETS_PALETTE: list[Color] = [
    (128, 64, 128),  # road
    (60, 40, 222),  # sidewalk
    (255, 69, 0),  # lane marking
    (128, 0, 0),  # building
    (128, 128, 0),  # vegetation
    (128, 128, 128),  # sky
    (64, 0, 128),  # car
    (64, 64, 0),  # pedestrian
    (192, 192, 128),  # pole/sign
]

_NUCLEI: list[Color] = [(0, 0, 0), (0, 200, 255), (255, 80, 80)]  # background, nucleus/interior, boundary

#: Palette per dataset name (index = class).
PALETTES: dict[str, list[Color]] = {
    "camvid": CAMVID_PALETTE,
    "synthetic-streets": STREETS_PALETTE,
    "synthetic-nuclei": _NUCLEI,
    "dsb2018": _NUCLEI,
    "synthetic-lesions": [(0, 0, 0), (230, 40, 40)],
    "isbi2012": [(0, 0, 0), (255, 220, 0)],
    "oxford-pets": [(0, 0, 0), (255, 140, 0), (190, 190, 190)],  # background, pet, border (trimap mode)
    "drive": [(0, 0, 0), (255, 60, 60)],
}

#: Colour of ignored pixels (CamVid keeps its standard black for void).
IGNORE_COLOR: Color = (255, 255, 255)


def _tab_palette(n: int) -> list[Color]:
    """A generic palette of ``n`` distinguishable colours (matplotlib's tab20, then evenly spaced hues)."""
    from matplotlib import colormaps

    tab = [tuple(int(round(255 * c)) for c in colormaps["tab20"](i)[:3]) for i in range(20)]
    return (tab + instance_colors(max(0, n - 20)))[:n]


def instance_colors(n: int, seed: int = 0) -> list[Color]:
    """``n`` bright, distinct colours (golden-ratio steps around the hue circle), for instance masks."""
    start = (seed * 0.137) % 1.0
    out = []
    for i in range(n):
        hue = (start + i * 0.618033988749895) % 1.0
        r, g, b = colorsys.hsv_to_rgb(hue, 0.75 if i % 2 else 0.95, 1.0 if i % 3 else 0.85)
        out.append((int(r * 255), int(g * 255), int(b * 255)))
    return out


def _dataset_meta(dataset: Any) -> dict[str, Any]:
    """name, class_names, ignore_index of a course dataset (looking through Subset-like wrappers)."""
    inner = dataset
    for _ in range(5):
        if hasattr(inner, "class_names") or not hasattr(inner, "dataset"):
            break
        inner = inner.dataset
    meta = {
        "name": getattr(inner, "name", None),
        "class_names": getattr(inner, "class_names", None),
        "ignore_index": getattr(inner, "ignore_index", None),
    }
    if meta["class_names"] is None and meta["name"]:
        from ..data.registry import DATASETS

        info = DATASETS.get(meta["name"])
        if info is not None:
            meta.update(class_names=info.class_names, ignore_index=info.ignore_index)
    return meta


def get_palette(name_or_dataset: Any = None, num_classes: int | None = None) -> list[Color]:
    """The palette for a dataset (by name or object), extended with generic colours to ``num_classes``."""
    name = name_or_dataset if isinstance(name_or_dataset, str) or name_or_dataset is None else _dataset_meta(name_or_dataset)["name"]
    base = list(PALETTES.get(name, [])) if name else []
    if num_classes is None:
        num_classes = len(base) or 20
    if len(base) < num_classes:
        base += [c for c in _tab_palette(num_classes + len(base)) if c not in base][: num_classes - len(base)]
    return base[:num_classes]


def _to_numpy(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def colorize(
    label_map: Any,
    palette: Sequence[Color] | str | None = None,
    *,
    ignore_index: int | None = None,
    ignore_color: Color = IGNORE_COLOR,
) -> np.ndarray:
    """Turn an H×W map of class indices into an H×W×3 uint8 RGB image (palette: list of RGB or a dataset name)."""
    labels = _to_numpy(label_map)
    if labels.ndim != 2:
        raise ValueError(f"label_map must be H×W, got shape {labels.shape}; pass one map at a time (e.g. target[0]).")
    if np.issubdtype(labels.dtype, np.floating):
        if not np.all(np.isfinite(labels)) or not np.all(labels == np.round(labels)):
            raise ValueError("label_map holds non-integer values; pass class indices (e.g. logits.argmax(0)).")
    labels = labels.astype(np.int64)
    if isinstance(palette, str) or palette is None:
        top = int(labels[labels != ignore_index].max(initial=0)) if ignore_index is not None else int(labels.max(initial=0))
        palette = get_palette(palette, max(top + 1, len(PALETTES.get(palette or "", []))))
    table = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
    valid = labels != ignore_index if ignore_index is not None else np.ones(labels.shape, dtype=bool)
    bad = valid & ((labels < 0) | (labels >= len(table)))
    if bad.any():
        raise ValueError(
            f"label_map has values {sorted(set(labels[bad].tolist()))[:5]} outside the palette's {len(table)} colours; "
            f"pass a longer palette or ignore_index=<that value>."
        )
    rgb = table[np.where(valid, labels, 0)]
    rgb[~valid] = ignore_color
    return rgb


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
    masks = _to_numpy(target["masks"]).astype(bool)
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
):
    """Show one (image, target) pair: image, colour-coded target, and the overlay; returns the Figure."""
    import matplotlib.pyplot as plt

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
        labels = _to_numpy(target)
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
        for box, c in zip(_to_numpy(target["boxes"]), instance_colors(len(target["boxes"]))):
            x0, y0, x1, y1 = box.tolist()
            axes[2].add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, lw=0.8, edgecolor=np.array(c) / 255))
    return legend


def _legend(fig, entries: dict[str, Any]) -> None:
    from matplotlib.patches import Patch

    if entries:
        handles = [Patch(facecolor=np.array(c) / 255.0, edgecolor="0.3", label=name) for name, c in entries.items()]
        fig.legend(handles=handles, loc="center right", fontsize=8, frameon=False)


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
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"n={n!r} must be a positive int, e.g. n=4.")
        n = min(n, total)
        indices = np.random.default_rng(seed).choice(total, n, replace=False).tolist() if seed is not None else list(range(n))
    indices = [int(i) for i in indices]
    if not indices or any(not -total <= i < total for i in indices):
        raise ValueError(f"indices={indices!r} must be a non-empty list of positions in 0..{total - 1}.")
    meta = _dataset_meta(dataset)
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
