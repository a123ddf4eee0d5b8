"""An augmentation explorer: flip, rotate, zoom, crop and recolour an image and its mask with sliders.

Introduced in lesson 02. Geometric settings move image and mask together (torchvision v2 on
``tv_tensors.Image`` and ``tv_tensors.Mask``: bilinear for the image, nearest for the mask, so the
mask keeps its labels); brightness and contrast change the image only. The first view is drawn when
the explorer is made, so a notebook run headless still shows a picture.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import torch

__all__ = ["augment_pair", "AugmentationExplorer", "augmentation_explorer"]


def _check_pair(image: Any, mask: Any) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(image, torch.Tensor) or image.ndim != 3 or not image.is_floating_point():
        raise ValueError("image must be a float C×H×W tensor in [0, 1] (as load(...) returns); "
                         f"got {type(image).__name__} {tuple(getattr(image, 'shape', ()))}.")
    if not isinstance(mask, torch.Tensor) or mask.ndim != 2 or mask.is_floating_point():
        raise ValueError("mask must be an integer H×W label map (as load(...) returns); "
                         f"got {type(mask).__name__} {tuple(getattr(mask, 'shape', ()))}.")
    if tuple(mask.shape) != tuple(image.shape[-2:]):
        raise ValueError(f"mask is {tuple(mask.shape)} but the image is {tuple(image.shape[-2:])}; they must match.")
    return image, mask


def augment_pair(
    image: torch.Tensor,
    mask: torch.Tensor,
    *,
    hflip: bool = False,
    angle: float = 0.0,
    scale: float = 1.0,
    crop: float = 1.0,
    crop_top: float = 0.5,
    crop_left: float = 0.5,
    brightness: float = 1.0,
    contrast: float = 1.0,
    fill_label: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Apply one fixed augmentation to a (C×H×W float image, H×W label map) pair and return the new pair.

    Order: flip, rotate by ``angle`` degrees and zoom by ``scale`` about the centre (one warp), crop a
    window of ``crop`` × the size whose position is ``crop_top``/``crop_left`` in [0, 1] (0 = top/left
    edge, 1 = bottom/right edge), then brightness and contrast factors (1 = unchanged) on the image only.
    """
    from torchvision import tv_tensors
    from torchvision.transforms.v2 import InterpolationMode
    from torchvision.transforms.v2 import functional as F

    image, mask = _check_pair(image, mask)
    for name, value, lo, hi in (("scale", scale, 0.05, 20.0), ("crop", crop, 0.05, 1.0), ("crop_top", crop_top, 0.0, 1.0),
                                ("crop_left", crop_left, 0.0, 1.0), ("brightness", brightness, 0.0, 10.0),
                                ("contrast", contrast, 0.0, 10.0)):
        if not isinstance(value, (int, float)) or not lo <= value <= hi:
            raise ValueError(f"{name}={value!r} must be a number in [{lo}, {hi}].")
    img, msk = tv_tensors.Image(image), tv_tensors.Mask(mask)
    if hflip:
        img, msk = F.horizontal_flip(img), F.horizontal_flip(msk)
    if angle or scale != 1.0:
        common = dict(angle=float(angle), translate=[0, 0], scale=float(scale), shear=[0.0, 0.0])
        img = F.affine(img, **common, interpolation=InterpolationMode.BILINEAR, fill=0.0)
        msk = F.affine(msk, **common, interpolation=InterpolationMode.NEAREST, fill=fill_label)
    if crop < 1.0:
        h, w = mask.shape
        ch, cw = max(1, round(h * crop)), max(1, round(w * crop))
        top, left = round((h - ch) * crop_top), round((w - cw) * crop_left)
        img, msk = F.crop(img, top, left, ch, cw), F.crop(msk, top, left, ch, cw)
    out = img.as_subclass(torch.Tensor)
    if brightness != 1.0:
        out = F.adjust_brightness(out, brightness)
    if contrast != 1.0:
        out = F.adjust_contrast(out, contrast) if out.shape[0] in (1, 3) else out
    return out.clamp(0, 1), msk.as_subclass(torch.Tensor)


_NEUTRAL = {"hflip": False, "angle": 0.0, "scale": 1.0, "crop": 1.0, "crop_top": 0.5, "crop_left": 0.5,
            "brightness": 1.0, "contrast": 1.0}


class AugmentationExplorer:
    """Sliders for flip, rotation, zoom, crop, brightness and contrast; shows the pair before and after.

    Set ``hflip.value``, ``angle.value``, ``scale.value``, ``crop.value``, ``crop_top.value``,
    ``crop_left.value``, ``brightness.value`` or ``contrast.value`` from Python or with the controls;
    ``image`` and ``mask`` always hold what is drawn.
    """

    def __init__(self, image: torch.Tensor, mask: torch.Tensor, *, class_names: tuple[str, ...] | None = None,
                 palette: Any = None, ignore_index: int | None = None, fill_label: int = 0,
                 figsize: tuple[float, float] = (11, 3.4)) -> None:
        import ipywidgets as w

        self.original_image, self.original_mask = _check_pair(image, mask)
        self.class_names = tuple(class_names) if class_names else None
        self.palette, self.ignore_index, self.fill_label, self.figsize = palette, ignore_index, fill_label, figsize
        style = {"description_width": "80px"}
        self.hflip = w.Checkbox(value=False, description="flip left-right", style=style)
        self.angle = w.FloatSlider(value=0.0, min=-45.0, max=45.0, step=1.0, description="rotate (°)", style=style)
        self.scale = w.FloatSlider(value=1.0, min=0.5, max=2.0, step=0.05, description="zoom", style=style)
        self.crop = w.FloatSlider(value=1.0, min=0.3, max=1.0, step=0.05, description="crop size", style=style)
        self.crop_top = w.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05, description="crop top", style=style)
        self.crop_left = w.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05, description="crop left", style=style)
        self.brightness = w.FloatSlider(value=1.0, min=0.3, max=2.0, step=0.05, description="brightness", style=style)
        self.contrast = w.FloatSlider(value=1.0, min=0.3, max=2.0, step=0.05, description="contrast", style=style)
        self.info = w.HTML()
        self.output = w.Output()
        self.controls = [self.hflip, self.angle, self.scale, self.crop, self.crop_top, self.crop_left,
                         self.brightness, self.contrast]
        self.widget = w.HBox([w.VBox([*self.controls, self.info]), self.output])
        self.image, self.mask = self.original_image, self.original_mask
        self.png: bytes = b""
        self.draw_count = 0
        self._figure = None
        for control in self.controls:
            control.observe(self._on_change, names="value")
        self.update()

    @property
    def settings(self) -> dict[str, Any]:
        """The current slider values as keyword arguments of :func:`augment_pair`."""
        return {"hflip": bool(self.hflip.value), "angle": float(self.angle.value), "scale": float(self.scale.value),
                "crop": float(self.crop.value), "crop_top": float(self.crop_top.value),
                "crop_left": float(self.crop_left.value), "brightness": float(self.brightness.value),
                "contrast": float(self.contrast.value)}

    def reset(self) -> None:
        """Put every control back to 'no change' and redraw once."""
        self._quiet = True
        try:
            for name, value in _NEUTRAL.items():
                getattr(self, name).value = value
        finally:
            self._quiet = False
        self.update()

    _quiet = False

    def _on_change(self, change: dict) -> None:
        if not self._quiet:
            self.update()

    def update(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Apply the current settings to the original pair, redraw, and return (image, mask)."""
        self.image, self.mask = augment_pair(self.original_image, self.original_mask, fill_label=self.fill_label, **self.settings)
        labels = sorted(self.mask.unique().tolist())
        self.info.value = (f"output {self.mask.shape[0]}×{self.mask.shape[1]}<br>labels in mask: {labels}<br>"
                           f"image range {float(self.image.min()):.2f}..{float(self.image.max()):.2f}")
        self._draw()
        return self.image, self.mask

    def _draw(self) -> None:
        from IPython.display import Image, display
        from matplotlib.figure import Figure

        from ..viz.palettes import colorize, get_palette

        n = len(self.class_names) if self.class_names else int(self.original_mask.max()) + 1
        palette = self.palette if self.palette is not None and not isinstance(self.palette, str) else get_palette(self.palette, n)

        def blend(image: torch.Tensor, mask: torch.Tensor) -> np.ndarray:
            from ..viz import to_numpy_image

            rgb = to_numpy_image(image)
            colour = colorize(mask, palette, ignore_index=self.ignore_index).astype(np.float32) / 255.0
            return 0.5 * rgb + 0.5 * colour

        fig = Figure(figsize=self.figsize)
        axes = fig.subplots(1, 3)
        fig.subplots_adjust(left=0.01, right=0.99, bottom=0.03, top=0.88, wspace=0.05)
        from ..viz import to_numpy_image

        pictures = [(blend(self.original_image, self.original_mask), "original + mask"),
                    (to_numpy_image(self.image), "augmented image"),
                    (blend(self.image, self.mask), "augmented image + mask")]
        for ax, (picture, title) in zip(axes, pictures):
            ax.imshow(picture, interpolation="nearest")
            ax.set_title(title, fontsize=10)
            ax.set_xticks([]), ax.set_yticks([])
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=72)
        self.png = buffer.getvalue()
        self.draw_count += 1
        with self.output:
            self.output.clear_output(wait=True)
            display(Image(data=self.png, format="png"))

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def augmentation_explorer(dataset_or_pair: Any, index: int = 0, **kwargs: Any) -> AugmentationExplorer:
    """An :class:`AugmentationExplorer` for sample ``index`` of a dataset, or for an ``(image, mask)`` pair."""
    if isinstance(dataset_or_pair, (tuple, list)) and len(dataset_or_pair) == 2 and isinstance(dataset_or_pair[0], torch.Tensor):
        image, mask = dataset_or_pair
    elif hasattr(dataset_or_pair, "__getitem__") and hasattr(dataset_or_pair, "__len__"):
        if not isinstance(index, int) or not -len(dataset_or_pair) <= index < len(dataset_or_pair):
            raise ValueError(f"index={index!r} must be a position in 0..{len(dataset_or_pair) - 1}.")
        image, mask = dataset_or_pair[index]
        if isinstance(mask, dict):
            raise ValueError("the dataset gives instance targets; load it with target='semantic' for the explorer.")
        from ..viz.palettes import dataset_meta

        meta = dataset_meta(dataset_or_pair)
        kwargs.setdefault("class_names", meta["class_names"])
        kwargs.setdefault("ignore_index", meta["ignore_index"])
        kwargs.setdefault("palette", meta["name"])
    else:
        raise ValueError("dataset_or_pair must be a dataset from load(...) or an (image, mask) pair of tensors.")
    return AugmentationExplorer(image, mask, **kwargs)
