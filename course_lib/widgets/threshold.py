"""A threshold explorer: slide the threshold of a probability map and watch the mask, IoU, Dice and accuracy move.

Introduced in lesson 03. The mask is ``probabilities > threshold`` (computed in float64); the numbers
shown come from :mod:`course_lib.metrics` (IoU and Dice with ``average="binary"``: both empty -> 1.0;
pixel accuracy with ``average="micro"``). The curves of those scores over all thresholds are computed
at once by counting (sorted probabilities and ``searchsorted``) and agree with the metrics exactly.
The first view is drawn when the explorer is made, so a notebook run headless still shows a picture.
"""

from __future__ import annotations

import io
from typing import Any, Sequence

import numpy as np

from ..validation import check_fraction
from .arrays import as_numpy

__all__ = ["threshold_metrics", "threshold_curves", "ThresholdExplorer", "threshold_explorer"]

_SCORES = ("iou", "dice", "pixel_accuracy")
_LABELS = {"iou": "IoU", "dice": "Dice", "pixel_accuracy": "pixel accuracy"}
_COLOURS = {"iou": "tab:blue", "dice": "tab:orange", "pixel_accuracy": "tab:green"}
# error-map colours: true negative, true positive, false positive, false negative, ignored
_ERROR_RGB = np.array([[0.12, 0.12, 0.12], [0.95, 0.95, 0.95], [0.89, 0.10, 0.11], [0.12, 0.47, 0.95],
                       [0.55, 0.55, 0.55]])


# ------------------------------------------------------------------------------------------------ inputs
def _probabilities(probabilities: Any) -> np.ndarray:
    p = as_numpy(probabilities, "probabilities")
    if p.dtype.kind not in "fiub":
        raise ValueError(f"probabilities has dtype {p.dtype}; pass float probabilities in [0, 1].")
    p = p.astype(np.float64)
    if p.size and not np.all(np.isfinite(p)):
        raise ValueError("probabilities contains NaN or inf; pass finite probabilities in [0, 1].")
    if p.size and (p.min() < 0 or p.max() > 1):
        raise ValueError(
            f"probabilities holds values in [{p.min():.3g}, {p.max():.3g}], outside [0, 1]; these look like logits: "
            f"apply torch.sigmoid (binary) or logits.softmax(dim=0) (classes) first."
        )
    return p


def _check_ignore(ignore_index: Any) -> int | None:
    if ignore_index is None:
        return None
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer)):
        raise ValueError(f"ignore_index={ignore_index!r} must be an int label value (e.g. 255) or None.")
    return int(ignore_index)


def _binary_inputs(probabilities: Any, target: Any, ignore_index: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(probabilities float64, target bool, keep bool) for a binary problem, validated."""
    ignore_index = _check_ignore(ignore_index)
    p = _probabilities(probabilities)
    t = as_numpy(target, "target")
    if t.dtype.kind == "f" or t.dtype.kind not in "iub":
        raise ValueError(f"target has dtype {t.dtype}; pass an integer (or bool) 0/1 mask.")
    if p.shape != t.shape:
        raise ValueError(f"probabilities has shape {p.shape} but target has shape {t.shape}; they must match.")
    if ignore_index in (0, 1):
        raise ValueError(f"ignore_index={ignore_index} is a class of a binary target (0/1); mark skipped pixels "
                         f"with another value such as 255.")
    t = t.astype(np.int64)
    keep = np.ones(t.shape, dtype=bool) if ignore_index is None else t != ignore_index
    bad = keep & (t != 0) & (t != 1)
    if bad.any():
        value = int(t[bad].flat[0])
        raise ValueError(f"target holds {value}; a binary target must be 0/1 (pass ignore_index={value} if it marks "
                         f"pixels to skip, or C×H×W probabilities with class ids for several classes).")
    return p, t == 1, keep


def threshold_metrics(probabilities: Any, target: Any, threshold: float = 0.5,
                      ignore_index: int | None = None) -> dict[str, float]:
    """IoU, Dice and pixel accuracy of ``probabilities > threshold`` against a 0/1 ``target``, from course_lib.metrics."""
    from .. import metrics

    p, t, keep = _binary_inputs(probabilities, target, ignore_index)
    pred = (p > float(threshold)).astype(np.int64)
    labels = np.where(keep, t.astype(np.int64), -1)  # -1 = skipped, whatever value marked it
    return {
        "iou": float(metrics.iou(pred, labels, 2, ignore_index=-1, average="binary")),
        "dice": float(metrics.dice(pred, labels, 2, ignore_index=-1, average="binary")),
        "pixel_accuracy": float(metrics.pixel_accuracy(pred, labels, 2, ignore_index=-1, average="micro")),
    }


def _curves(p: np.ndarray, t: np.ndarray, keep: np.ndarray, thresholds: np.ndarray) -> dict[str, np.ndarray]:
    fg = np.sort(p[keep & t])
    bg = np.sort(p[keep & ~t])
    tp = (fg.size - np.searchsorted(fg, thresholds, side="right")).astype(np.float64)  # count of p > threshold
    fp = (bg.size - np.searchsorted(bg, thresholds, side="right")).astype(np.float64)
    fn, tn = fg.size - tp, bg.size - fp
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(tp + fp + fn > 0, tp / (tp + fp + fn), 1.0)
        dice = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 1.0)
        accuracy = (tp + tn) / (fg.size + bg.size) if fg.size + bg.size else np.full(thresholds.shape, np.nan)
    return {"threshold": thresholds, "iou": iou, "dice": dice, "pixel_accuracy": accuracy}


def _thresholds(thresholds: Any) -> np.ndarray:
    if thresholds is None:
        return np.round(np.linspace(0.0, 1.0, 101), 10)
    th = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    if th.size == 0 or not np.all(np.isfinite(th)):
        raise ValueError("thresholds must be a non-empty sequence of finite numbers, e.g. np.linspace(0, 1, 101).")
    return th


def threshold_curves(probabilities: Any, target: Any, thresholds: Sequence[float] | np.ndarray | None = None,
                     ignore_index: int | None = None) -> dict[str, np.ndarray]:
    """IoU, Dice and pixel accuracy of ``probabilities > t`` for every ``t`` (default 0, 0.01, ..., 1), all at once.

    Returns a dict of float64 arrays: ``threshold``, ``iou``, ``dice``, ``pixel_accuracy`` (the same values as
    :func:`threshold_metrics` at each threshold).
    """
    p, t, keep = _binary_inputs(probabilities, target, ignore_index)
    return _curves(p, t, keep, _thresholds(thresholds))


# ------------------------------------------------------------------------------------------------ explorer
def _class_maps(probs: np.ndarray, class_names: Sequence[str] | None) -> tuple[bool, np.ndarray, list[int], list[str]]:
    """(binary?, K×H×W probabilities, the class label of each map, its name) from H×W or C×H×W probabilities."""
    if probs.ndim == 2:
        names = list(class_names) if class_names is not None else ["foreground"]
        if len(names) == 2:  # (background, foreground) names are fine too
            names = names[1:]
        binary, probs, labels = True, probs[None], [1]
    elif probs.ndim == 3:
        labels = list(range(probs.shape[0]))
        names = list(class_names) if class_names is not None else [f"class {c}" for c in labels]
        binary = False
    else:
        raise ValueError(f"probabilities has shape {probs.shape}; pass H×W (binary) or C×H×W (one map per class).")
    if len(names) != len(labels):
        raise ValueError(f"class_names has {len(names)} names for {len(labels)} probability map(s); "
                         f"give one name per class.")
    return binary, probs, labels, names


def _check_target_values(tgt: np.ndarray, keep: np.ndarray, binary: bool, labels: list[int]) -> None:
    """Raise if a kept target pixel is not 0/1 (binary) or not one of the class labels."""
    valid = set(range(2)) if binary else set(labels)
    bad = keep & ~np.isin(tgt, list(valid))
    if bad.any():
        value = int(tgt[bad].flat[0])
        kind = "0/1" if binary else f"class ids 0..{len(labels) - 1}"
        raise ValueError(f"target holds {value} but must hold {kind}; pass ignore_index={value} if it marks "
                         f"pixels to skip.")


def _display_image(image: Any, shape: tuple[int, ...]) -> np.ndarray | None:
    """``image`` as H×W×3 floats for display (None stays None); its H×W must be ``shape``."""
    if image is None:
        return None
    from ..viz import to_numpy_image

    image = to_numpy_image(image)
    if image.shape[:2] != shape:
        raise ValueError(f"image is {image.shape[:2]} but target is {shape}; they must match.")
    return image


class ThresholdExplorer:
    """Slide the threshold of a probability map (and pick a class) to see the mask, its errors and its scores.

    ``probabilities``: H×W foreground probabilities with a 0/1 ``target``, or C×H×W class probabilities
    (e.g. a softmax) with a class-id ``target`` — then ``class_selector`` picks the class scored one-vs-rest.
    Set ``threshold.value`` or ``class_selector.value`` from Python or with the controls; ``mask``,
    ``scores`` and ``curves`` always hold what is drawn.
    """

    def __init__(self, probabilities: Any, target: Any, image: Any = None, threshold: float = 0.5,
                 class_names: Sequence[str] | None = None, ignore_index: int | None = None,
                 figsize: tuple[float, float] = (13, 3.3)) -> None:
        self.ignore_index = _check_ignore(ignore_index)
        probs = _probabilities(probabilities)
        tgt = as_numpy(target, "target")
        if tgt.dtype.kind not in "iub":
            raise ValueError(f"target has dtype {tgt.dtype}; pass integer class labels (0/1 for a binary map).")
        tgt = tgt.astype(np.int64)
        if probs.ndim == 2 and self.ignore_index in (0, 1):
            raise ValueError(f"ignore_index={self.ignore_index} is a class of a binary target (0/1); mark skipped "
                             f"pixels with another value such as 255.")
        self.binary, probs, labels, names = _class_maps(probs, class_names)
        if tgt.shape != probs.shape[1:]:
            raise ValueError(f"target has shape {tgt.shape} but the probability maps are {probs.shape[1:]}; "
                             f"they must match.")
        keep = np.ones(tgt.shape, dtype=bool) if self.ignore_index is None else tgt != self.ignore_index
        _check_target_values(tgt, keep, self.binary, labels)
        check_fraction("threshold", threshold)
        self.image = _display_image(image, tgt.shape)
        self.probabilities = probs  # float64 K×H×W (K = 1 for a binary map)
        self.target = tgt
        self.keep = keep
        self.class_labels = labels
        self.class_names = names
        self.figsize = figsize
        self._build_controls(float(threshold))
        self.mask: np.ndarray = np.zeros(tgt.shape, dtype=bool)
        self.scores: dict[str, float] = {}
        self.curves: dict[str, np.ndarray] = {}
        self.png: bytes = b""  # the last picture drawn (PNG bytes)
        self.draw_count = 0
        self._figure = None
        self._curves_for: int | None = None
        self.threshold.observe(self._on_change, names="value")
        self.class_selector.observe(self._on_change, names="value")
        self.update()

    def _build_controls(self, threshold: float) -> None:
        """The threshold slider, the class dropdown (hidden for a binary map), the score line and the picture."""
        import ipywidgets as w

        labels, names = self.class_labels, self.class_names
        choices = [(n, k) for k, (n, lab) in enumerate(zip(names, labels)) if lab != self.ignore_index]
        if not choices:
            raise ValueError("every class is the ignore_index; nothing is left to score.")
        self.threshold = w.FloatSlider(value=threshold, min=0.0, max=1.0, step=0.01, description="threshold",
                                       readout_format=".2f", continuous_update=False)
        self.class_selector = w.Dropdown(options=choices, value=choices[-1][1] if self.binary else choices[0][1],
                                         description="class", disabled=self.binary)
        if self.binary:
            self.class_selector.layout.display = "none"
        self.info = w.HTML()
        self.output = w.Output()
        self.widget = w.VBox([w.HBox([self.threshold, self.class_selector]), self.info, self.output])

    # ---- state -----------------------------------------------------------------------------------
    @property
    def class_index(self) -> int:
        """Index of the probability map being explored (0 for a binary map)."""
        return int(self.class_selector.value)

    @property
    def class_target(self) -> np.ndarray:
        """The 0/1 target of the selected class (ignored pixels are -1)."""
        t = self.target == self.class_labels[self.class_index]
        return np.where(self.keep, t.astype(np.int64), -1)

    @property
    def best_threshold(self) -> float:
        """The threshold (of the curve's grid) with the highest IoU for the selected class."""
        return float(self.curves["threshold"][int(np.argmax(self.curves["iou"]))])

    def _on_change(self, change: dict) -> None:
        self.update()

    # ---- compute and draw ------------------------------------------------------------------------
    def update(self) -> dict[str, float]:
        """Recompute mask, scores (and curves if the class changed), redraw, and return the scores."""
        k, thr = self.class_index, float(self.threshold.value)
        probs, target = self.probabilities[k], self.class_target
        if self._curves_for != k:
            self.curves = threshold_curves(probs, target, ignore_index=-1)
            self._curves_for = k
        self.mask = probs > thr
        self.scores = threshold_metrics(probs, target, thr, ignore_index=-1)
        s = self.scores
        fg = int((target == 1).sum())
        self.info.value = (
            f"<b>{self.class_names[k]}</b>, threshold {thr:.2f}: IoU <b>{s['iou']:.3f}</b> · "
            f"Dice <b>{s['dice']:.3f}</b> · pixel accuracy <b>{s['pixel_accuracy']:.2%}</b> · "
            f"predicted {int((self.mask & self.keep).sum())} px, true {fg} px · "
            f"best IoU {self.curves['iou'].max():.3f} at {self.best_threshold:.2f}"
        )
        self._draw()
        return self.scores

    def _error_map(self) -> np.ndarray:
        t = self.class_target == 1
        code = np.zeros(self.mask.shape, dtype=np.int64)  # true negative
        code[self.mask & t] = 1
        code[self.mask & ~t] = 2
        code[~self.mask & t] = 3
        code[~self.keep] = 4
        return _ERROR_RGB[code]

    def _new_figure(self) -> None:
        from matplotlib.figure import Figure

        panels = 3 + (self.image is not None)
        fig = Figure(figsize=self.figsize)  # a fixed layout: redraws stay quick
        axes = list(fig.subplots(1, panels, width_ratios=[1] * (panels - 1) + [1.5]))
        fig.subplots_adjust(left=0.01, right=0.98, bottom=0.16, top=0.88, wspace=0.15)
        for ax in axes[:-1]:
            ax.set_xticks([]), ax.set_yticks([])
        if self.image is not None:
            axes[0].imshow(self.image)
            axes[0].set_title("image (true outline)", fontsize=10)
        self._prob_ax, self._err_ax, self._curve_ax = axes[-3], axes[-2], axes[-1]
        self._prob_im = self._prob_ax.imshow(self.probabilities[0], cmap="magma", vmin=0, vmax=1)
        self._err_im = self._err_ax.imshow(self._error_map(), interpolation="nearest")
        self._err_ax.set_title("mask vs target: TP white, FP red, FN blue", fontsize=10)
        ax = self._curve_ax
        self._lines = {name: ax.plot([], [], color=_COLOURS[name], label=_LABELS[name])[0] for name in _SCORES}
        self._dots = {name: ax.plot([], [], "o", color=_COLOURS[name])[0] for name in _SCORES}
        self._vline = ax.axvline(0.5, color="black", lw=1, ls="--")
        ax.set_xlim(0, 1), ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("threshold"), ax.grid(alpha=0.3)
        ax.legend(loc="lower center", fontsize=8)
        self._outline_axes = [axes[0], self._prob_ax] if self.image is not None else [self._prob_ax]
        self._outlines: list = []
        self._figure = fig

    def _draw(self) -> None:
        from IPython.display import Image, display

        if self._figure is None:
            self._new_figure()
        k, thr = self.class_index, float(self.threshold.value)
        if getattr(self, "_drawn_class", None) != k:  # class-dependent artists
            self._prob_im.set_data(self.probabilities[k])
            self._prob_ax.set_title(f"P({self.class_names[k]})", fontsize=10)
            for outline in self._outlines:
                outline.remove()
            t = (self.class_target == 1).astype(float)
            self._outlines = [ax.contour(t, levels=[0.5], colors="cyan", linewidths=0.8) for ax in self._outline_axes
                              if t.min() < 0.5 < t.max()]
            for name in _SCORES:
                self._lines[name].set_data(self.curves["threshold"], self.curves[name])
            self._drawn_class = k
        self._err_im.set_data(self._error_map())
        self._vline.set_xdata([thr, thr])
        for name in _SCORES:
            self._dots[name].set_data([thr], [self.scores[name]])
        self._curve_ax.set_title(f"scores vs threshold (now {thr:.2f}: IoU {self.scores['iou']:.2f})", fontsize=10)
        buffer = io.BytesIO()
        self._figure.savefig(buffer, format="png", dpi=72)
        self.png = buffer.getvalue()
        self.draw_count += 1
        with self.output:
            self.output.clear_output(wait=True)
            display(Image(data=self.png, format="png"))

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def threshold_explorer(probabilities: Any, target: Any, image: Any = None, threshold: float = 0.5,
                       class_names: Sequence[str] | None = None, ignore_index: int | None = None) -> ThresholdExplorer:
    """A :class:`ThresholdExplorer` for a probability map and its target; it shows itself as a notebook cell's result."""
    return ThresholdExplorer(probabilities, target, image=image, threshold=threshold, class_names=class_names,
                             ignore_index=ignore_index)
