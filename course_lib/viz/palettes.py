"""The colours of the course's pictures: one palette per dataset, and the one function that colours a label map.

Every picture of a label map in the course goes through :func:`colorize` (``colorize_labels`` is the same
function with :data:`DEFAULT_PALETTE`, whose class 0 is black, for overlays). Palettes are lists of RGB
tuples 0..255 indexed by class; :data:`PALETTES` holds one per dataset, :func:`get_palette` extends one with
generic colours, :func:`instance_colors` gives distinct colours for instance masks.
"""

from __future__ import annotations

import colorsys
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

__all__ = [
    "Color",
    "CAMVID_PALETTE",
    "STREETS_PALETTE",
    "PALETTES",
    "IGNORE_COLOR",
    "DEFAULT_PALETTE",
    "colorize",
    "colorize_labels",
    "dataset_meta",
    "get_palette",
    "instance_colors",
    "to_numpy",
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
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n={n!r} must be an int >= 0 (the number of colours), e.g. n=10.")
    start = (seed * 0.137) % 1.0
    out = []
    for i in range(n):
        hue = (start + i * 0.618033988749895) % 1.0
        r, g, b = colorsys.hsv_to_rgb(hue, 0.75 if i % 2 else 0.95, 1.0 if i % 3 else 0.85)
        out.append((int(r * 255), int(g * 255), int(b * 255)))
    return out


def dataset_meta(dataset: Any) -> dict[str, Any]:
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
    name = name_or_dataset if isinstance(name_or_dataset, str) or name_or_dataset is None else dataset_meta(name_or_dataset)["name"]
    base = list(PALETTES.get(name, [])) if name else []
    if num_classes is None:
        num_classes = len(base) or 20
    if len(base) < num_classes:
        base += [c for c in _tab_palette(num_classes + len(base)) if c not in base][: num_classes - len(base)]
    return base[:num_classes]


def to_numpy(x: Any) -> np.ndarray:
    """A tensor (any device) or array-like as a numpy array."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def colorize(
    label_map: Any,
    palette: Sequence[Color] | str | None = None,
    *,
    ignore_index: int | None = None,
    ignore_color: Color = IGNORE_COLOR,
    name: str = "label_map",
) -> np.ndarray:
    """Turn an H×W map of class indices into an H×W×3 uint8 RGB image (palette: list of RGB or a dataset name).

    ``palette=None`` uses generic colours (see :func:`get_palette`); ``name`` is what error messages call the map.
    """
    labels = to_numpy(label_map)
    if labels.ndim != 2:
        raise ValueError(f"{name} must be H×W, got shape {labels.shape}; pass one map at a time (e.g. target[0]).")
    if np.issubdtype(labels.dtype, np.floating):
        if not np.all(np.isfinite(labels)) or not np.all(labels == np.round(labels)):
            raise ValueError(f"{name} holds non-integer values; pass class indices (e.g. logits.argmax(0)).")
    labels = labels.astype(np.int64)
    if isinstance(palette, str) or palette is None:
        top = int(labels[labels != ignore_index].max(initial=0)) if ignore_index is not None else int(labels.max(initial=0))
        palette = get_palette(palette, max(top + 1, len(PALETTES.get(palette or "", []))))
    table = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
    valid = labels != ignore_index if ignore_index is not None else np.ones(labels.shape, dtype=bool)
    bad = valid & ((labels < 0) | (labels >= len(table)))
    if bad.any():
        raise ValueError(
            f"{name} has values {sorted(set(labels[bad].tolist()))[:5]} outside the palette's {len(table)} colours; "
            f"pass a longer palette or ignore_index=<that value>."
        )
    rgb = table[np.where(valid, labels, 0)]
    rgb[~valid] = ignore_color
    return rgb


#: Generic palette for overlays (tab10, then tab20's light colours); class 0 is black so background reads as nothing.
DEFAULT_PALETTE = np.array(
    [[0, 0, 0], [31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189], [140, 86, 75],
     [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207], [174, 199, 232], [255, 187, 120],
     [152, 223, 138], [255, 152, 150], [197, 176, 213], [196, 156, 148], [247, 182, 210], [199, 199, 199],
     [219, 219, 141], [158, 218, 229]],
    dtype=np.uint8,
)


def colorize_labels(mask: Any, palette: Any = None, ignore_index: int | None = None) -> np.ndarray:
    """:func:`colorize` with :data:`DEFAULT_PALETTE` by default (kept for lessons and overlays); ignored pixels white."""
    return colorize(mask, DEFAULT_PALETTE if palette is None else palette, ignore_index=ignore_index, ignore_color=IGNORE_COLOR, name="mask")
