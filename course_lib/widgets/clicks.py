"""A click-to-segment widget: click on an image and watch the predicted mask follow your clicks.

Introduced in lesson 11 (beyond CNNs: promptable segmentation). A left click adds a positive point
(the object is here), a right click — or a left click with Shift, or with the "negative clicks" toggle
on — adds a negative point (not here). After each click the widget calls ``segment(image, clicks)``,
any callable that returns H×W probabilities for a list of ``(row, col, positive)`` clicks (a promptable
model wrapped for clicks, or a classical region grower), and redraws: the image upscaled by an integer factor
(nearest neighbour), the mask ``probabilities > threshold`` in orange, the true outline in cyan, and
the clicks as green (positive) and red (negative) dots. With a ``truth`` mask the status line shows the
IoU of :func:`course_lib.widgets.threshold.threshold_metrics` after every click.

Mouse events come from ipyevents on an ``ipywidgets.Image``. A click's position is mapped by its
fraction of the picture's on-screen size (``row = int(relativeY / boundingRectHeight × H)``), so the
mapping holds however the browser scales the picture. Everything a click does goes through the public
:meth:`ClickSegmentWidget.add_click`, so the same path can be driven from Python (that is how it is
tested). The first view is drawn when the widget is made, so a notebook run headless still shows a
picture. A change on which ``segment`` fails (it raises, or returns the wrong shape) is not applied:
the error is shown in the status line and kept in ``error``, and the widget goes on working.
"""

from __future__ import annotations

import html
import io
from typing import Any, Callable, Sequence

import numpy as np

from ..validation import check_fraction, check_int
from .arrays import as_numpy
from .threshold import threshold_metrics

__all__ = ["Click", "click_position", "render_clicks", "ClickSegmentWidget", "click_segment_widget"]

#: One click: (row, col, positive) in image pixels; positive=False marks "not the object".
Click = tuple[int, int, bool]

_MASK_RGB = np.array([255, 140, 0], dtype=np.float64)  # predicted mask: orange fill and outline
_TRUTH_RGB = np.array([0, 230, 255], dtype=np.uint8)  # true outline: cyan
_DOT_RGB = {True: (40, 200, 60), False: (230, 40, 40)}  # positive green, negative red
_MAX_SCALE = 32


# ------------------------------------------------------------------------------------------------ inputs
def _check_image(image: Any) -> np.ndarray:
    """The C×H×W image (1 or 3 channels, floats in [0, 1]) as an H×W×3 uint8 picture."""
    arr = as_numpy(image, "image")
    if arr.ndim != 3 or arr.shape[0] not in (1, 3) or min(arr.shape[1:]) < 1:
        hint = " (a grey H×W image: pass image[None])" if arr.ndim == 2 else ""
        raise ValueError(f"image has shape {arr.shape}; pass a C×H×W image with 1 or 3 channels{hint}.")
    if arr.dtype.kind != "f":
        raise ValueError(f"image has dtype {arr.dtype}; pass floats in [0, 1] (e.g. uint8 pixels / 255).")
    if not np.all(np.isfinite(arr)) or arr.min() < 0 or arr.max() > 1:
        raise ValueError("image holds values outside [0, 1] (or NaN); pass floats in [0, 1], e.g. as load(...) gives.")
    rgb = np.repeat(arr, 3, axis=0) if arr.shape[0] == 1 else arr
    return np.round(rgb.transpose(1, 2, 0) * 255).astype(np.uint8)


def _check_truth(truth: Any, shape: tuple[int, int]) -> np.ndarray | None:
    """The optional 0/1 ``truth`` mask as int64, checked against the image's H×W."""
    if truth is None:
        return None
    t = as_numpy(truth, "truth")
    if t.shape != shape:
        raise ValueError(f"truth has shape {t.shape} but the image is {shape}; pass the H×W 0/1 mask of this image.")
    if t.dtype.kind not in "fiub" or not np.isin(t, (0, 1)).all():
        raise ValueError("truth must hold only 0 and 1 (background, object); e.g. pass (mask == label).")
    return t.astype(np.int64)


def _check_probabilities(p: Any, shape: tuple[int, int]) -> np.ndarray:
    """What ``segment`` returned, as float64 H×W probabilities; anything else raises with the fix."""
    try:
        arr = as_numpy(p, "segment(image, clicks)").astype(np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"segment returned {type(p).__name__}; it must return H×W probabilities ({err})") from None
    if arr.shape != shape:
        raise ValueError(f"segment returned probabilities of shape {arr.shape}; it must return H×W = {shape} "
                         f"probabilities for the image (drop batch and channel axes, e.g. p[0, 0]).")
    if not np.all(np.isfinite(arr)) or arr.min() < 0 or arr.max() > 1:
        raise ValueError("segment returned values outside [0, 1] (or NaN); return probabilities, "
                         "e.g. torch.sigmoid(logits).")
    return arr


def _check_index(name: str, value: Any) -> int:
    """A click's row or column as an int (any integer type; not bool or float)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name}={value!r} must be an int pixel index, e.g. {name}=10.")
    return int(value)


# ------------------------------------------------------------------------------------------------ drawing
def click_position(event: dict, shape: tuple[int, int], scale: int = 1) -> tuple[int, int] | None:
    """The (row, col) image pixel under a mouse event from ipyevents, or None if it lies outside the image.

    Uses the event's ``relativeX``/``relativeY`` as fractions of the picture's on-screen size
    (``boundingRectWidth``/``boundingRectHeight``; without them, the natural size ``shape × scale``).
    """
    h, w = shape
    try:
        x, y = float(event["relativeX"]), float(event["relativeY"])
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"event has no relativeX/relativeY position: {sorted(event)[:12]}; pass an ipyevents mouse "
                         f"event dict.") from None
    width = float(event.get("boundingRectWidth") or w * scale)
    height = float(event.get("boundingRectHeight") or h * scale)
    if not (0 <= x <= width and 0 <= y <= height):
        return None
    # relativeX is rounded by the browser: the far edge (x == width) still belongs to the last pixel
    return min(int(y / height * h), h - 1), min(int(x / width * w), w - 1)


def _outline(mask: np.ndarray, inside: bool = True) -> np.ndarray:
    """Pixels on the edge of ``mask``: its own edge pixels (``inside``) or the ones just outside it."""
    region = mask if inside else ~mask
    padded = np.pad(region, 1, mode="edge")
    core = padded[1:-1, 1:-1] & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    return region & ~core


def render_clicks(rgb: np.ndarray, mask: np.ndarray, clicks: Sequence[Click], scale: int,
                  truth: np.ndarray | None = None) -> np.ndarray:
    """The (H·scale)×(W·scale)×3 uint8 picture: image, orange mask and outline, cyan true outline, click dots."""
    from PIL import Image, ImageDraw

    big = np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1).astype(np.float64)
    big_mask = np.repeat(np.repeat(mask.astype(bool), scale, axis=0), scale, axis=1)
    big[big_mask] = 0.6 * big[big_mask] + 0.4 * _MASK_RGB
    big = big.round().astype(np.uint8)
    big[_outline(big_mask)] = _MASK_RGB.astype(np.uint8)
    if truth is not None:
        big_truth = np.repeat(np.repeat(truth.astype(bool), scale, axis=0), scale, axis=1)
        big[_outline(big_truth, inside=False)] = _TRUTH_RGB
    picture = Image.fromarray(big)
    draw = ImageDraw.Draw(picture)
    radius = max(4.0, 0.8 * scale)
    for row, col, positive in clicks:
        cy, cx = (row + 0.5) * scale, (col + 0.5) * scale
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=_DOT_RGB[bool(positive)],
                     outline=(255, 255, 255), width=max(1, int(radius // 3)))
    return np.asarray(picture)


def _default_scale(shape: tuple[int, int]) -> int:
    """The largest integer upscaling that keeps the picture's long side at most 512 px (1 to 8)."""
    return max(1, min(8, 512 // max(shape)))


# ------------------------------------------------------------------------------------------------ widget
class ClickSegmentWidget:
    """Click on an image to add positive/negative points; the mask from ``segment(image, clicks)`` updates at once.

    ``image``: C×H×W floats in [0, 1] (1 or 3 channels), passed unchanged to ``segment``; ``segment``: a
    callable returning H×W probabilities for a list of ``(row, col, positive)`` clicks; ``truth``: an
    optional H×W 0/1 mask, to score the IoU after each click. Call :meth:`add_click`, :meth:`undo` or
    :meth:`reset` from Python or click the picture and the buttons; ``clicks``, ``probabilities``, ``mask``
    and ``scores`` always hold what is drawn.
    """

    def __init__(self, image: Any, segment: Callable[[Any, list[Click]], Any], truth: Any = None,
                 threshold: float = 0.5, scale: int | None = None) -> None:
        if not callable(segment):
            raise TypeError(f"segment must be a callable segment(image, clicks) -> H×W probabilities, got "
                            f"{type(segment).__name__}; e.g. def segment(image, clicks): return probabilities.")
        self._rgb = _check_image(image)
        self.image = image
        self.shape: tuple[int, int] = self._rgb.shape[:2]
        self.truth = _check_truth(truth, self.shape)
        self.threshold = check_fraction("threshold", threshold)
        self.scale = _default_scale(self.shape) if scale is None else check_int("scale", scale, maximum=_MAX_SCALE)
        self.segment = segment
        self.clicks: list[Click] = []
        self.probabilities = np.zeros(self.shape, dtype=np.float64)
        self.mask = np.zeros(self.shape, dtype=bool)
        self.scores: dict[str, Any] = {}
        self.error: Exception | None = None  # what segment raised on the last change, if it failed
        self.message = ""
        self.png: bytes = b""  # the last picture drawn (PNG bytes)
        self.draw_count = 0
        self._build_controls()
        self._connect_mouse()
        self.update()

    def _build_controls(self) -> None:
        """The negative-clicks toggle, the undo and reset buttons, the picture and the status line."""
        import ipywidgets as w

        width = self.shape[1] * self.scale
        self.picture = w.Image(format="png", layout=w.Layout(width=f"{width}px", max_width="100%",
                                                             height="auto", object_fit="fill"))
        self.negative = w.ToggleButton(value=False, description="negative clicks", icon="minus-circle",
                                       tooltip="on: a left click adds a negative point (right click always does)")
        self.undo_button = w.Button(description="undo last click", icon="undo")
        self.reset_button = w.Button(description="reset", icon="trash")
        self.info = w.HTML()
        self.undo_button.on_click(lambda _: self.undo())
        self.reset_button.on_click(lambda _: self.reset())
        # the status line goes below the picture: its length varies, and the picture must not move between clicks
        self.widget = w.VBox([w.HBox([self.negative, self.undo_button, self.reset_button]), self.picture, self.info])

    def _connect_mouse(self) -> None:
        """Listen to left clicks and right clicks (context menu suppressed) on the picture with ipyevents."""
        try:
            from ipyevents import Event
        except ImportError:  # pragma: no cover - ipyevents is a dependency; the Python API still works
            self.events = None
            self.message = "ipyevents is not installed, so clicks on the picture do nothing: pip install ipyevents"
            return
        self.events = Event(source=self.picture, watched_events=["click", "contextmenu"],
                            prevent_default_action=True)
        self.events.on_dom_event(self.on_mouse_event)

    # ---- events ----------------------------------------------------------------------------------
    def on_mouse_event(self, event: dict) -> dict[str, Any] | None:
        """Turn an ipyevents mouse event into a click (left: positive; right, Shift or toggle: negative); the scores."""
        kind = event.get("type")
        if kind not in ("click", "contextmenu") or (kind == "click" and event.get("button", 0) != 0):
            return None
        try:
            where = click_position(event, self.shape, self.scale)
        except ValueError as err:
            return self._fail(err, "the click was not understood")
        if where is None:
            self.message = "that click was outside the image; it was ignored"
            return self._show()
        positive = kind == "click" and not event.get("shiftKey") and not self.negative.value
        return self.add_click(*where, positive=positive)

    # ---- state -----------------------------------------------------------------------------------
    def add_click(self, row: int, col: int, positive: bool = True) -> dict[str, Any]:
        """Add a click at image pixel (row, col), run ``segment`` and redraw; returns the scores."""
        row, col = _check_index("row", row), _check_index("col", col)
        if not isinstance(positive, (bool, np.bool_)):
            raise ValueError(f"positive={positive!r} must be True (object) or False (background).")
        h, w = self.shape
        if not (0 <= row < h and 0 <= col < w):
            self.message = f"the click ({row}, {col}) is outside the {h}×{w} image; it was ignored"
            return self._show()
        kind = "positive" if positive else "negative"
        return self._apply([*self.clicks, (row, col, bool(positive))], f"{kind} click at ({row}, {col})")

    def undo(self) -> dict[str, Any]:
        """Remove the last click, recompute and redraw; returns the scores."""
        if not self.clicks:
            self.message = "nothing to undo"
            return self._show()
        return self._apply(self.clicks[:-1], "undid the last click")

    def reset(self) -> dict[str, Any]:
        """Remove every click (the mask becomes empty) and redraw; returns the scores."""
        return self._apply([], "reset: no clicks")

    def update(self) -> dict[str, Any]:
        """Recompute the mask for the current clicks (e.g. after changing ``threshold``), redraw, return the scores."""
        return self._apply(list(self.clicks), self.message)

    def _apply(self, clicks: list[Click], message: str) -> dict[str, Any]:
        """Segment with ``clicks`` and keep the result, or keep the old state and show what went wrong."""
        try:
            probabilities = self._segment(clicks)
        except Exception as err:  # the learner's segmenter may fail in any way: show it, keep going
            return self._fail(err, f"{message}: not applied")
        self.clicks, self.probabilities, self.error, self.message = clicks, probabilities, None, message
        self.mask = probabilities > self.threshold
        return self._show()

    def _segment(self, clicks: list[Click]) -> np.ndarray:
        """H×W probabilities for ``clicks``: all zeros without clicks (``segment`` is not called)."""
        if not clicks:
            return np.zeros(self.shape, dtype=np.float64)
        return _check_probabilities(self.segment(self.image, list(clicks)), self.shape)

    def _fail(self, err: Exception, what: str) -> dict[str, Any]:
        """Keep ``err``, report it in the status line and redraw the unchanged state."""
        self.error = err
        self.message = f"{what} — {type(err).__name__}: {err}"
        return self._show()

    # ---- compute and draw ------------------------------------------------------------------------
    def _score(self) -> dict[str, Any]:
        """The number of clicks and (with a truth mask) the IoU of the current mask."""
        iou = None
        if self.truth is not None:
            iou = threshold_metrics(self.probabilities, self.truth, self.threshold)["iou"]
        return {"clicks": len(self.clicks), "iou": iou}

    def _show(self) -> dict[str, Any]:
        """Rescore, write the status line, redraw the picture; returns the scores."""
        self.scores = s = self._score()
        positive = sum(1 for c in self.clicks if c[2])
        parts = [f"<b>{s['clicks']}</b> click{'s' if s['clicks'] != 1 else ''} "
                 f"({positive} positive, {s['clicks'] - positive} negative)",
                 f"mask {int(self.mask.sum())} px"]
        if s["iou"] is not None:
            parts.append(f"IoU <b>{s['iou']:.3f}</b>")
        line = " · ".join(parts)
        if self.message:
            colour = "#b00020" if self.error is not None else "#555"
            line += f"<br><span style='color:{colour}'>{html.escape(self.message)}</span>"
        hint = "left click: positive point · right click (or Shift, or the toggle): negative point"
        self.info.value = f"{line}<br><small>{hint}</small>"
        self._draw()
        return dict(s)

    def _draw(self) -> None:
        """Render the picture to PNG bytes and put them into the image widget."""
        from PIL import Image

        picture = render_clicks(self._rgb, self.mask, self.clicks, self.scale, self.truth)
        buffer = io.BytesIO()
        Image.fromarray(picture).save(buffer, format="png")
        self.png = buffer.getvalue()
        self.picture.value = self.png
        self.draw_count += 1

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def click_segment_widget(image: Any, segment: Callable[[Any, list[Click]], Any], truth: Any = None,
                         threshold: float = 0.5, scale: int | None = None) -> ClickSegmentWidget:
    """A :class:`ClickSegmentWidget` for ``image`` and a click segmenter; it shows itself as a cell's result."""
    return ClickSegmentWidget(image, segment, truth=truth, threshold=threshold, scale=scale)
