import io

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import ndimage

from course_lib import widgets
from course_lib.widgets.clicks import ClickSegmentWidget, click_position, click_segment_widget, render_clicks

from click_fixtures import A_CENTRE, A_RADIUS, B_CENTRE, B_RADIUS, H, W, region_segmenter, two_discs

IMAGE, DISC_A, DISC_B = two_discs()
TRUTH = DISC_A.astype(np.int64)  # the object to segment: disc A only


class Counting:
    """A segmenter that records its calls (what it was given) and can be told to fail or return something else."""

    def __init__(self, returns=region_segmenter, raises: Exception | None = None):
        self.calls: list[tuple[object, list]] = []
        self.returns, self.raises = returns, raises

    def __call__(self, image, clicks):
        self.calls.append((image, clicks))
        if self.raises is not None:
            raise self.raises
        return self.returns(image, clicks) if callable(self.returns) else self.returns


def iou(mask: np.ndarray, truth: np.ndarray) -> float:
    return float((mask & truth).sum() / (mask | truth).sum())


def decode(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def event(kind: str = "click", x: float = 0.0, y: float = 0.0, width: float | None = None, height: float | None = None,
          **extra) -> dict:
    """A mouse event as ipyevents sends it for an Image (the fields the widget reads and a few it does not)."""
    e = {"type": kind, "button": 0 if kind == "click" else 2, "buttons": 0, "altKey": False, "ctrlKey": False,
         "metaKey": False, "shiftKey": False, "relativeX": x, "relativeY": y, "clientX": x + 100, "clientY": y + 50,
         "timeStamp": 1234.5, "target": {"tagName": "IMG", "id": "", "className": "widget-image"}}
    if width is not None:
        e.update(boundingRectWidth=width, boundingRectHeight=height, boundingRectLeft=100, boundingRectTop=50,
                 dataX=x, dataY=y, arrayX=x, arrayY=y)
    return {**e, **extra}


def centre_event(widget: ClickSegmentWidget, row: int, col: int, kind: str = "click", shown_width: float | None = None,
                 **extra) -> dict:
    """An event at the centre of pixel (row, col) on a picture shown ``shown_width`` px wide (natural: W·scale)."""
    width = shown_width if shown_width is not None else W * widget.scale
    height = width * H / W
    return event(kind, (col + 0.5) / W * width, (row + 0.5) / H * height, width, height, **extra)


@pytest.fixture
def widget():
    return ClickSegmentWidget(torch.tensor(IMAGE, dtype=torch.float32), region_segmenter, truth=TRUTH)


# ------------------------------------------------------------------------------------------------ the basics
def test_first_view_is_drawn_with_no_clicks_and_no_segment_call():
    seg = Counting()
    w = ClickSegmentWidget(IMAGE, seg, truth=TRUTH)
    assert seg.calls == [] and w.clicks == [] and not w.mask.any() and not w.probabilities.any()
    assert w.scores == {"clicks": 0, "iou": 0.0}
    assert w.draw_count == 1 and w.png.startswith(b"\x89PNG") and w.picture.value == w.png
    assert w.scale == 8 and decode(w.png).shape == (H * 8, W * 8, 3)  # the default: long side <= 512 px
    assert "0</b> clicks" in w.info.value and "IoU <b>0.000</b>" in w.info.value
    assert w.events.watched_events == ["click", "contextmenu"] and w.events.prevent_default_action


def test_exported_from_the_widgets_package():
    assert widgets.ClickSegmentWidget is ClickSegmentWidget and widgets.click_segment_widget is click_segment_widget
    assert {"ClickSegmentWidget", "click_segment_widget"} <= set(widgets.__all__)
    w = click_segment_widget(IMAGE, region_segmenter, scale=2)
    assert isinstance(w, ClickSegmentWidget) and w.scores == {"clicks": 0, "iou": None}
    assert decode(w.png).shape == (2 * H, 2 * W, 3)


def test_clicks_raise_the_iou_and_undo_reset_go_back(widget):
    first = widget.add_click(*A_CENTRE)
    assert widget.clicks == [(*A_CENTRE, True)]
    assert np.array_equal(widget.mask, DISC_A | DISC_B)  # one click: the whole bright region, both discs
    assert first == widget.scores and first["clicks"] == 1
    assert first["iou"] == pytest.approx(iou(DISC_A | DISC_B, DISC_A)) and 0.4 < first["iou"] < 0.7
    second = widget.add_click(*B_CENTRE, positive=False)  # "not this one"
    assert np.array_equal(widget.mask, DISC_A) and second == {"clicks": 2, "iou": 1.0}
    assert "2</b> clicks (1 positive, 1 negative)" in widget.info.value and "IoU <b>1.000</b>" in widget.info.value
    assert widget.undo() == first and widget.clicks == [(*A_CENTRE, True)]
    assert widget.reset() == {"clicks": 0, "iou": 0.0} and widget.clicks == [] and not widget.mask.any()
    assert widget.undo() == {"clicks": 0, "iou": 0.0} and "nothing to undo" in widget.info.value


def test_every_change_redraws_once_and_changes_the_picture(widget):
    pngs, counts = [widget.png], [widget.draw_count]
    for action in (lambda: widget.add_click(*A_CENTRE), lambda: widget.add_click(5, 5, positive=False),
                   widget.undo, widget.reset):
        action()
        pngs.append(widget.png)
        counts.append(widget.draw_count)
    assert counts == list(range(counts[0], counts[0] + 5))
    assert len(set(pngs[:3])) == 3 and pngs[3] == pngs[1] and pngs[4] == pngs[0]  # undo, reset: the views before
    assert widget.picture.value == widget.png


def test_picture_shows_mask_truth_and_dots():
    s = 4
    w = ClickSegmentWidget(IMAGE, region_segmenter, truth=TRUTH, scale=s)
    w.add_click(*A_CENTRE)
    w.add_click(5, 5, positive=False)
    pic = decode(w.png)
    assert np.array_equal(pic, render_clicks(w._rgb, w.mask, w.clicks, s, w.truth))
    assert tuple(pic[A_CENTRE[0] * s + s // 2, A_CENTRE[1] * s + s // 2]) == (40, 200, 60)  # positive: green dot
    assert tuple(pic[5 * s + s // 2, 5 * s + s // 2]) == (230, 40, 40)  # negative: red dot
    assert np.all(pic == (0, 230, 255), axis=-1).sum() > 50  # the true outline (cyan)
    inside_b = pic[B_CENTRE[0] * s, B_CENTRE[1] * s].astype(int)  # mask pixel: orange tint over grey
    assert inside_b[0] > inside_b[2] + 40
    assert tuple(pic[2, 2]) == tuple(w._rgb[0, 0])  # background pixel: the image itself


def test_segment_gets_the_image_object_and_a_copy_of_the_clicks():
    seg = Counting()
    image = torch.tensor(IMAGE, dtype=torch.float32)
    w = ClickSegmentWidget(image, seg)
    w.add_click(*A_CENTRE)
    w.add_click(np.int64(3), np.int64(4), positive=np.bool_(False))
    assert [c[0] is image for c in seg.calls] == [True, True]
    assert seg.calls[-1][1] == [(*A_CENTRE, True), (3, 4, False)] and seg.calls[-1][1] is not w.clicks
    assert all(type(v) in (int, bool) for click in w.clicks for v in click)


def test_threshold_decides_the_mask():
    soft = np.tile(np.linspace(0, 1, W), (H, 1))
    w = ClickSegmentWidget(IMAGE, lambda image, clicks: soft, threshold=0.25)
    w.add_click(0, 0)
    assert np.array_equal(w.mask, soft > 0.25)
    w.threshold = 0.75
    w.update()
    assert np.array_equal(w.mask, soft > 0.75) and len(w.clicks) == 1


def test_outside_clicks_are_ignored_with_a_message(widget):
    widget.add_click(*A_CENTRE)
    before = widget.png
    for row, col in ((-1, 3), (H, 3), (3, W), (3, -5)):
        assert widget.add_click(row, col)["clicks"] == 1
        assert "outside" in widget.info.value and len(widget.clicks) == 1
    assert widget.png == before


# ------------------------------------------------------------------------------------------------ the browser's path
def test_click_position_maps_by_the_shown_size():
    assert click_position(event(x=0, y=0, width=100, height=50), (10, 20)) == (0, 0)
    assert click_position(event(x=99.9, y=49.9, width=100, height=50), (10, 20)) == (9, 19)
    assert click_position(event(x=100, y=50, width=100, height=50), (10, 20)) == (9, 19)  # a rounded far edge
    assert click_position(event(x=27, y=12, width=100, height=50), (10, 20)) == (2, 5)
    assert click_position(event(x=27, y=12), (10, 20), scale=5) == (2, 5)  # no bounding rect: natural size
    assert click_position(event(x=101, y=12, width=100, height=50), (10, 20)) is None
    assert click_position(event(x=-1, y=12, width=100, height=50), (10, 20)) is None
    with pytest.raises(ValueError, match="relativeX"):
        click_position({"type": "click"}, (10, 20))


@pytest.mark.parametrize("shown_width", [None, W * 8, W * 3.3, 700.0])
def test_left_then_right_click_events_on_a_scaled_picture(widget, shown_width):
    first = widget.on_mouse_event(centre_event(widget, *A_CENTRE, shown_width=shown_width))
    assert widget.clicks == [(*A_CENTRE, True)] and first["clicks"] == 1
    second = widget.on_mouse_event(centre_event(widget, *B_CENTRE, kind="contextmenu", shown_width=shown_width))
    assert widget.clicks[-1] == (*B_CENTRE, False) and second == {"clicks": 2, "iou": 1.0}


def test_events_through_ipyevents_dispatch(widget):
    # what ipyevents does with a browser message: Event._handle_mouse_msg(widget, content, buffers)
    widget.events._handle_mouse_msg(widget.events, centre_event(widget, *A_CENTRE), [])
    widget.events._handle_mouse_msg(widget.events, centre_event(widget, *B_CENTRE, kind="contextmenu"), [])
    assert widget.clicks == [(*A_CENTRE, True), (*B_CENTRE, False)] and widget.scores["iou"] == 1.0


def test_negative_toggle_and_shift_make_a_left_click_negative(widget):
    widget.add_click(*A_CENTRE)
    widget.negative.value = True
    widget.on_mouse_event(centre_event(widget, *B_CENTRE))
    assert widget.clicks[-1] == (*B_CENTRE, False)
    widget.negative.value = False
    widget.on_mouse_event(centre_event(widget, 30, 30, shiftKey=True))
    assert widget.clicks[-1] == (30, 30, False)
    widget.on_mouse_event(centre_event(widget, 31, 31))
    assert widget.clicks[-1] == (31, 31, True)


def test_other_events_and_outside_events_change_nothing(widget):
    widget.add_click(*A_CENTRE)
    before, count = widget.png, widget.draw_count
    assert widget.on_mouse_event(centre_event(widget, 5, 5, button=1)) is None  # a middle click
    assert widget.on_mouse_event(event("mousemove", 10, 10, 100, 50)) is None
    assert widget.draw_count == count
    out = widget.on_mouse_event(event("click", x=W * 8 + 3, y=10, width=W * 8, height=H * 8))
    assert out["clicks"] == 1 and "outside the image" in widget.info.value and widget.png == before
    broken = widget.on_mouse_event({"type": "click", "button": 0})
    assert broken["clicks"] == 1 and isinstance(widget.error, ValueError) and "not understood" in widget.info.value


def test_buttons_undo_and_reset(widget):
    widget.add_click(*A_CENTRE)
    widget.add_click(*B_CENTRE, positive=False)
    widget.undo_button.click()
    assert widget.clicks == [(*A_CENTRE, True)]
    widget.reset_button.click()
    assert widget.clicks == [] and not widget.mask.any()


# ------------------------------------------------------------------------------------------------ failures
def test_a_failing_segment_is_shown_and_the_widget_goes_on():
    seg = Counting()
    w = ClickSegmentWidget(IMAGE, seg, truth=TRUTH)
    w.add_click(*A_CENTRE)
    good_mask, good_png = w.mask.copy(), w.png
    seg.raises = RuntimeError("CUDA out of memory (pretend)")
    scores = w.add_click(*B_CENTRE, positive=False)
    assert scores["clicks"] == 1 and w.clicks == [(*A_CENTRE, True)] and np.array_equal(w.mask, good_mask)
    assert isinstance(w.error, RuntimeError)
    assert "RuntimeError: CUDA out of memory (pretend)" in w.info.value and "not applied" in w.info.value
    assert w.png == good_png
    seg.raises = None
    assert w.add_click(*B_CENTRE, positive=False) == {"clicks": 2, "iou": 1.0}
    assert w.error is None and "Error" not in w.info.value
    seg.raises = RuntimeError("again")
    assert w.undo()["clicks"] == 2 and isinstance(w.error, RuntimeError)  # undo to 1 click calls segment: not applied
    assert w.reset()["clicks"] == 0 and w.error is None  # no clicks: no segment call, nothing can fail


def test_error_text_is_escaped():
    w = ClickSegmentWidget(IMAGE, Counting(raises=ValueError("<script>alert(1)</script>")))
    w.add_click(1, 1)
    assert "<script>" not in w.info.value and "&lt;script&gt;" in w.info.value


@pytest.mark.parametrize("returned, error, words", [
    (np.zeros((H, W + 1)), ValueError, "shape (40, 57)"),
    (np.zeros((1, 1, H, W)), ValueError, "drop batch and channel axes"),
    (np.full((H, W), 3.0), ValueError, "torch.sigmoid"),
    (np.full((H, W), np.nan), ValueError, "outside [0, 1]"),
    (None, TypeError, "segment returned NoneType"),
])
def test_wrong_probabilities_from_segment_are_reported(returned, error, words):
    w = ClickSegmentWidget(IMAGE, Counting(returns=returned))
    w.add_click(*A_CENTRE)
    assert w.clicks == [] and isinstance(w.error, error) and words in str(w.error)
    assert type(w.error).__name__ in w.info.value


def test_probabilities_as_tensor_or_bool_are_fine():
    w = ClickSegmentWidget(IMAGE, lambda image, clicks: torch.from_numpy(DISC_A), truth=TRUTH)
    assert w.add_click(*A_CENTRE) == {"clicks": 1, "iou": 1.0} and w.probabilities.dtype == np.float64


@pytest.mark.parametrize("kwargs, error, words", [
    ({"image": IMAGE[0]}, ValueError, "image[None]"),
    ({"image": np.zeros((2, H, W))}, ValueError, "1 or 3 channels"),
    ({"image": (IMAGE * 255).astype(np.uint8)}, ValueError, "/ 255"),
    ({"image": IMAGE * 2}, ValueError, "outside [0, 1]"),
    ({"image": "photo.png"}, TypeError, "image must be a torch.Tensor"),
    ({"segment": "sam"}, TypeError, "segment must be a callable"),
    ({"truth": TRUTH[:-1]}, ValueError, "truth has shape (39, 56)"),
    ({"truth": TRUTH * 2}, ValueError, "only 0 and 1"),
    ({"threshold": 1.5}, ValueError, "threshold=1.5"),
    ({"scale": 0}, ValueError, "scale=0"),
    ({"scale": 2.5}, ValueError, "scale=2.5"),
])
def test_bad_inputs_name_the_argument(kwargs, error, words):
    args = {"image": IMAGE, "segment": region_segmenter, **kwargs}
    with pytest.raises(error) as info:
        ClickSegmentWidget(**args)
    assert words in str(info.value)


def test_bad_clicks_name_the_argument(widget):
    with pytest.raises(ValueError, match="row=1.5"):
        widget.add_click(1.5, 3)
    with pytest.raises(ValueError, match="col=True"):
        widget.add_click(1, True)
    with pytest.raises(ValueError, match="positive='yes'"):
        widget.add_click(1, 3, positive="yes")
    assert widget.clicks == []
