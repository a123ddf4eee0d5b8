"""A convolution-kernel explorer: pick or edit a 3×3 kernel and see the photo's feature map beside it.

Introduced in lesson 01. The numbers come from ``torch.nn.functional.conv2d`` (so what you see is
exactly what a convolution layer computes: a cross-correlation, no kernel flip), the picture from
matplotlib, rendered to PNG and shown in an ``ipywidgets.Image``. The first view is drawn when the
explorer is made, so a notebook run headless still holds a picture (in its widget state).

Why an ``Image`` widget and not an ``Output`` widget: capturing a figure into an ``Output`` widget
made nbclient (the engine behind ``nbconvert --execute`` and the course's grader) wait for the
cell's full timeout before going on; an ``Image`` widget has no such capture step.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from ..validation import check_int

__all__ = ["PRESET_KERNELS", "as_gray_image", "apply_kernel", "KernelExplorer", "kernel_explorer"]

#: Classic 3×3 kernels, by name (float64 arrays; copy before changing them).
PRESET_KERNELS: dict[str, np.ndarray] = {
    "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=np.float64),
    "box blur": np.full((3, 3), 1 / 9, dtype=np.float64),
    "gaussian blur": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=np.float64) / 16,
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float64),
    "sobel x": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64),
    "sobel y": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=np.float64),
    "laplacian": np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float64),
    "emboss": np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], dtype=np.float64),
}
CUSTOM = "custom"
_LUMA = np.array([0.2125, 0.7154, 0.0721])  # the weights skimage.color.rgb2gray uses


def as_gray_image(image: Any = None, max_side: int | None = 256) -> np.ndarray:
    """A grey float64 H×W image in [0, 1] from a photo (H×W, H×W×C, C×H×W; uint8 or float); None gives the camera photo."""
    from ..viz import to_numpy_image

    if image is None:
        from skimage import data as skdata

        image = skdata.camera()
    try:
        rgb = to_numpy_image(image)
    except ValueError as err:
        raise ValueError(f"image: {err} Pass a grey H×W or colour H×W×3 photo.") from None
    if min(rgb.shape[:2]) < 3:
        raise ValueError(f"image has shape {np.shape(image)}; it must be at least 3×3 pixels for a 3×3 kernel.")
    gray = (rgb.astype(np.float64) @ _LUMA).astype(np.float64)
    if max_side is not None:
        check_int("max_side", max_side, minimum=3)  # None keeps the full size
        side = max(gray.shape)
        if side > max_side:
            from skimage.transform import resize

            scale = max_side / side
            shape = (max(3, round(gray.shape[0] * scale)), max(3, round(gray.shape[1] * scale)))
            gray = resize(gray, shape, anti_aliasing=True)
    return np.ascontiguousarray(gray, dtype=np.float64)


def _as_kernel(kernel: Any) -> np.ndarray:
    try:
        import torch

        if isinstance(kernel, torch.Tensor):
            kernel = kernel.detach().cpu().numpy()
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    arr = np.asarray(kernel, dtype=np.float64)
    if arr.ndim != 2 or min(arr.shape) < 1:
        raise ValueError(f"kernel has shape {arr.shape}; expected a 2-D kernel such as a 3×3 array.")
    if not np.all(np.isfinite(arr)):
        raise ValueError("kernel contains NaN or inf; use finite numbers.")
    return arr


def apply_kernel(image: Any, kernel: Any, stride: int = 1, padding: int = 0) -> np.ndarray:
    """The feature map of a grey H×W image under one 2-D kernel, computed by ``F.conv2d`` (float64, zero padding)."""
    import torch
    import torch.nn.functional as F

    img = np.asarray(image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else image, dtype=np.float64)
    if img.ndim != 2:
        raise ValueError(f"image has shape {img.shape}; expected a grey H×W image (use as_gray_image first).")
    k = _as_kernel(kernel)
    stride, padding = check_int("stride", stride), check_int("padding", padding, minimum=0)
    out_h = (img.shape[0] + 2 * padding - k.shape[0]) // stride + 1
    out_w = (img.shape[1] + 2 * padding - k.shape[1]) // stride + 1
    if out_h < 1 or out_w < 1:
        raise ValueError(
            f"a {k.shape[0]}×{k.shape[1]} kernel does not fit the {img.shape[0]}×{img.shape[1]} image with "
            f"padding={padding}; use a larger image or more padding."
        )
    x = torch.from_numpy(np.ascontiguousarray(img))[None, None]
    w = torch.from_numpy(np.ascontiguousarray(k))[None, None]
    return F.conv2d(x, w, stride=int(stride), padding=int(padding))[0, 0].numpy()


def _kernel_name(kernel: np.ndarray) -> str:
    for name, preset in PRESET_KERNELS.items():
        if preset.shape == kernel.shape and np.allclose(preset, kernel, atol=1e-9):
            return name
    return CUSTOM


class KernelExplorer:
    """Pick a preset or type a 3×3 kernel, choose stride and padding, and see image and feature map side by side.

    Set ``preset.value``, the nine ``entries`` (row by row), ``stride.value`` or ``padding.value`` from
    Python or with the controls; ``feature_map`` always holds what is drawn.
    """

    def __init__(self, image: Any = None, preset: str = "sobel x", stride: int = 1, padding: int = 1,
                 max_side: int | None = 256, figsize: tuple[float, float] = (11, 3.6)) -> None:
        import ipywidgets as w

        if preset not in PRESET_KERNELS:
            raise ValueError(f"preset={preset!r} is not a preset kernel; choose one of {', '.join(PRESET_KERNELS)}.")
        self.image = as_gray_image(image, max_side=max_side)
        self.figsize = figsize
        self.preset = w.Dropdown(options=[*PRESET_KERNELS, CUSTOM], value=preset, description="kernel")
        self.entries = [w.FloatText(value=0.0, step=0.5, layout=w.Layout(width="70px")) for _ in range(9)]
        self.stride = w.IntSlider(value=stride, min=1, max=4, description="stride")
        self.padding = w.IntSlider(value=padding, min=0, max=3, description="padding")
        self.info = w.HTML()
        self.picture = w.Image(format="png", layout=w.Layout(flex="1 1 auto", min_width="0", max_width="100%", object_fit="contain"))
        grid = w.GridBox(self.entries, layout=w.Layout(grid_template_columns="repeat(3, 74px)"))
        controls = w.VBox([self.preset, w.HTML("3×3 kernel (edit to make your own):"), grid, self.stride, self.padding, self.info],
                          layout=w.Layout(flex="0 0 auto", min_width="300px"))  # the picture must not squeeze the controls
        self.widget = w.HBox([controls, self.picture])
        self.feature_map: np.ndarray = np.zeros((0, 0))
        self.png: bytes = b""  # the last picture drawn (PNG bytes)
        self.draw_count = 0
        self._syncing = False
        self._figure = None
        self._set_entries(PRESET_KERNELS[preset])
        self.preset.observe(self._on_preset, names="value")
        for entry in self.entries:
            entry.observe(self._on_entry, names="value")
        self.stride.observe(self._on_change, names="value")
        self.padding.observe(self._on_change, names="value")
        self.update()

    # ---- state -----------------------------------------------------------------------------------
    @property
    def kernel(self) -> np.ndarray:
        """The 3×3 kernel the nine entries hold (float64)."""
        return np.array([e.value for e in self.entries], dtype=np.float64).reshape(3, 3)

    def set_kernel(self, kernel: Any) -> np.ndarray:
        """Put a 3×3 kernel into the entries (the preset follows: its name, or 'custom'); returns the feature map."""
        k = _as_kernel(kernel)
        if k.shape != (3, 3):
            raise ValueError(f"kernel has shape {k.shape}; the explorer edits 3×3 kernels.")
        self._set_entries(k)
        self._syncing = True
        try:
            self.preset.value = _kernel_name(k)
        finally:
            self._syncing = False
        return self.update()

    def _set_entries(self, kernel: np.ndarray) -> None:
        self._syncing = True
        try:
            for entry, value in zip(self.entries, kernel.reshape(-1)):
                entry.value = float(value)
        finally:
            self._syncing = False

    # ---- events ----------------------------------------------------------------------------------
    def _on_preset(self, change: dict) -> None:
        if self._syncing or change["new"] == CUSTOM:
            return
        self._set_entries(PRESET_KERNELS[change["new"]])
        self.update()

    def _on_entry(self, change: dict) -> None:
        if self._syncing:
            return
        self._syncing = True
        try:
            self.preset.value = _kernel_name(self.kernel)
        finally:
            self._syncing = False
        self.update()

    def _on_change(self, change: dict) -> None:
        self.update()

    # ---- compute and draw ------------------------------------------------------------------------
    def update(self) -> np.ndarray:
        """Recompute the feature map with the current kernel, stride and padding, redraw, and return it."""
        k, s, p = self.kernel, int(self.stride.value), int(self.padding.value)
        self.feature_map = apply_kernel(self.image, k, stride=s, padding=p)
        (h, w_), (oh, ow) = self.image.shape, self.feature_map.shape
        self.info.value = (
            f"input {h}×{w_} → feature map {oh}×{ow}<br>"
            f"out = ⌊(n + 2p − k) / s⌋ + 1 = ⌊({h} + {2 * p} − 3) / {s}⌋ + 1 = {oh}<br>"
            f"kernel sum = {k.sum():.3g}"
        )
        self._draw()
        return self.feature_map

    def _draw(self) -> None:
        from matplotlib.figure import Figure

        k, fmap = self.kernel, self.feature_map
        if self._figure is None:
            fig = Figure(figsize=self.figsize)  # a fixed layout: redraws stay quick
            axes = fig.subplots(1, 3, width_ratios=[4, 4, 1.6])
            fig.subplots_adjust(left=0.01, right=0.99, bottom=0.03, top=0.9, wspace=0.12)
            axes[0].imshow(self.image, cmap="gray", vmin=0, vmax=1)
            self._fmap_im = axes[1].imshow(fmap, cmap="gray")
            self._kernel_im = axes[2].imshow(k, cmap="RdBu_r")
            fig.colorbar(self._fmap_im, ax=axes[1], shrink=0.8)
            for ax in axes:
                ax.set_xticks([]), ax.set_yticks([])
            self._figure, self._axes = fig, axes
        fig, axes = self._figure, self._axes
        axes[0].set_title(f"image {self.image.shape[0]}×{self.image.shape[1]}", fontsize=10)
        total = float(k.sum())
        if abs(total) < 1e-9:  # an edge detector: signed output around 0
            lim = float(np.abs(fmap).max()) or 1.0
            self._fmap_im.set_cmap("RdBu_r"), self._fmap_im.set_clim(-lim, lim)
        elif abs(total - 1) < 1e-9:  # keeps brightness: same scale as the image
            self._fmap_im.set_cmap("gray"), self._fmap_im.set_clim(0, 1)
        else:
            lo, hi = float(fmap.min()), float(fmap.max())
            self._fmap_im.set_cmap("gray"), self._fmap_im.set_clim(lo, hi if hi > lo else lo + 1)
        self._fmap_im.set_data(fmap)
        self._fmap_im.set_extent((-0.5, fmap.shape[1] - 0.5, fmap.shape[0] - 0.5, -0.5))
        name = self.preset.value
        axes[1].set_title(f"feature map {fmap.shape[0]}×{fmap.shape[1]} ({name}, stride {self.stride.value}, "
                          f"padding {self.padding.value})", fontsize=10)
        lim = float(np.abs(k).max()) or 1.0
        self._kernel_im.set_data(k)
        self._kernel_im.set_clim(-lim, lim)
        for text in list(axes[2].texts):
            text.remove()
        for (i, j), value in np.ndenumerate(k):
            colour = "white" if abs(value) > 0.6 * lim else "black"
            axes[2].text(j, i, f"{value:.3g}", ha="center", va="center", fontsize=8, color=colour)
        axes[2].set_title("kernel", fontsize=10)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=72)
        self.png = buffer.getvalue()
        self.picture.value = self.png
        self.draw_count += 1

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def kernel_explorer(image: Any = None, preset: str = "sobel x", stride: int = 1, padding: int = 1,
                    max_side: int | None = 256) -> KernelExplorer:
    """A :class:`KernelExplorer` for ``image`` (default: the camera photo); it shows itself as a notebook cell's result."""
    return KernelExplorer(image, preset=preset, stride=stride, padding=padding, max_side=max_side)
