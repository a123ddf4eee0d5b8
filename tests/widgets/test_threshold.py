import matplotlib

matplotlib.use("Agg")
import numpy as np
import pytest
import torch

from course_lib import metrics, widgets
from course_lib.widgets.threshold import ThresholdExplorer, threshold_curves, threshold_metrics

RNG = np.random.default_rng(0)
H, W = 24, 30


def _binary_case():
    target = np.zeros((H, W), dtype=np.int64)
    target[6:14, 8:20] = 1
    logits = 4 * (target - 0.5) + RNG.normal(scale=1.5, size=(H, W))
    probs = 1 / (1 + np.exp(-logits))
    probs[0, :4] = [0.25, 0.5, 0.75, 0.3]  # values that sit exactly on slider steps: mask is p > threshold
    return probs, target


PROBS, TARGET = _binary_case()
IMAGE = RNG.random((H, W))


def course_scores(probs, target, threshold, ignore_index=None):
    """What course_lib.metrics says about the thresholded map (the definition the widget must follow)."""
    pred = torch.from_numpy(np.asarray(probs, dtype=np.float64) > threshold).long()
    target = torch.as_tensor(target)
    return {
        "iou": float(metrics.iou(pred, target, 2, ignore_index=ignore_index, average="binary")),
        "dice": float(metrics.dice(pred, target, 2, ignore_index=ignore_index, average="binary")),
        "pixel_accuracy": float(metrics.pixel_accuracy(pred, target, 2, ignore_index=ignore_index, average="micro")),
    }


@pytest.fixture(scope="module")
def explorer():
    return ThresholdExplorer(PROBS, TARGET, image=IMAGE)


def test_first_view_is_drawn_at_half(explorer):
    assert explorer.draw_count >= 1 and explorer.png.startswith(b"\x89PNG")
    assert explorer.threshold.value == 0.5 and explorer.binary
    assert np.array_equal(explorer.mask, PROBS > 0.5)
    assert explorer.scores == pytest.approx(course_scores(PROBS, TARGET, 0.5), abs=1e-12)
    assert "IoU" in explorer.info.value and f"{explorer.scores['iou']:.3f}" in explorer.info.value


@pytest.mark.parametrize("value", [0.0, 0.01, 0.25, 0.3, 0.5, 0.62, 0.75, 0.99, 1.0])
def test_slider_values_give_course_lib_metrics(explorer, value):
    explorer.threshold.value = value
    assert np.array_equal(explorer.mask, PROBS > value)
    assert explorer.scores == pytest.approx(course_scores(PROBS, TARGET, value), abs=1e-12)


def test_each_slider_move_redraws_once(explorer):
    explorer.threshold.value = 0.4
    before = explorer.draw_count
    explorer.threshold.value = 0.45
    assert explorer.draw_count == before + 1
    explorer.threshold.value = 0.45  # same value: no change event, no redraw
    assert explorer.draw_count == before + 1


def test_extreme_thresholds_follow_the_conventions():
    ex = ThresholdExplorer(PROBS, TARGET, threshold=1.0)
    assert not ex.mask.any() and ex.scores["iou"] == 0.0 and ex.scores["dice"] == 0.0
    assert ex.scores["pixel_accuracy"] == pytest.approx(1 - TARGET.mean())
    ex.threshold.value = 0.0  # every pixel with p > 0 is foreground
    assert ex.mask.all() and ex.scores["iou"] == pytest.approx(TARGET.mean())
    empty = ThresholdExplorer(PROBS * 0.4, np.zeros_like(TARGET))  # nothing to find and nothing found -> 1.0
    assert empty.scores == {"iou": 1.0, "dice": 1.0, "pixel_accuracy": 1.0}


def test_curves_equal_metrics_at_every_threshold(explorer):
    curves = explorer.curves
    assert np.allclose(curves["threshold"], np.linspace(0, 1, 101))
    for i in range(0, 101, 7):
        thr = float(curves["threshold"][i])
        expected = course_scores(PROBS, TARGET, thr)
        for name in ("iou", "dice", "pixel_accuracy"):
            assert curves[name][i] == pytest.approx(expected[name], abs=1e-12), (name, thr)
    assert explorer.best_threshold == pytest.approx(float(curves["threshold"][np.argmax(curves["iou"])]))
    assert np.all(curves["dice"] >= curves["iou"] - 1e-12)  # Dice >= IoU, always


def test_curves_on_ties_and_custom_grid():
    probs = np.array([[0.2, 0.2, 0.5], [0.5, 0.8, 0.8]])
    target = np.array([[0, 1, 0], [1, 1, 0]])
    grid = [0.0, 0.2, 0.35, 0.5, 0.8, 1.0]
    curves = threshold_curves(probs, target, thresholds=grid)
    for i, thr in enumerate(grid):
        assert threshold_metrics(probs, target, thr) == pytest.approx(course_scores(probs, target, thr), abs=1e-12)
        for name in ("iou", "dice", "pixel_accuracy"):
            assert curves[name][i] == pytest.approx(course_scores(probs, target, thr)[name], abs=1e-12), (name, thr)
    assert curves["iou"].tolist() == pytest.approx([3 / 6, 2 / 5, 2 / 5, 1 / 4, 0.0, 0.0])


def test_ignored_pixels_are_skipped():
    target = TARGET.copy()
    target[:, :3] = 255  # a void band
    ex = ThresholdExplorer(PROBS, target, ignore_index=255, threshold=0.3)
    assert ex.scores == pytest.approx(course_scores(PROBS, target, 0.3, ignore_index=255), abs=1e-12)
    i = int(round(0.3 * 100))
    assert ex.curves["pixel_accuracy"][i] == pytest.approx(ex.scores["pixel_accuracy"], abs=1e-12)
    # the void pixels change nothing, whatever is predicted there
    other = PROBS.copy()
    other[:, :3] = 1 - other[:, :3]
    assert threshold_metrics(other, target, 0.3, ignore_index=255) == pytest.approx(ex.scores, abs=1e-12)


def test_class_selector_scores_one_class_against_the_rest():
    g = torch.Generator().manual_seed(1)
    target = torch.randint(0, 3, (H, W), generator=g)
    target[:2] = 255
    logits = 3 * torch.nn.functional.one_hot(target.clamp(max=2), 3).permute(2, 0, 1).float()
    probs = (logits + torch.randn(3, H, W, generator=g) * 1.5).softmax(0)
    ex = widgets.threshold_explorer(probs, target, class_names=["road", "car", "sky"], ignore_index=255, threshold=0.4)
    assert not ex.binary and [o[0] for o in ex.class_selector.options] == ["road", "car", "sky"]
    assert ex.class_selector.value == 0
    for c in (1, 2, 0):
        before = ex.draw_count
        ex.class_selector.value = c
        assert ex.draw_count == before + 1  # one redraw per change
        binary_target = torch.where(target == 255, 255, (target == c).long())
        p = probs[c].double().numpy()
        assert np.array_equal(ex.mask, p > 0.4)
        assert ex.scores == pytest.approx(course_scores(p, binary_target, 0.4, ignore_index=255), abs=1e-12)
        assert ex.curves["iou"][40] == pytest.approx(ex.scores["iou"], abs=1e-12)
        assert "road car sky".split()[c] in ex.info.value


def test_float32_tensors_are_thresholded_in_float64():
    probs32 = torch.tensor(PROBS, dtype=torch.float32)
    ex = ThresholdExplorer(probs32, torch.from_numpy(TARGET), threshold=0.3)
    assert np.array_equal(ex.mask, probs32.double().numpy() > 0.3)


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="logits"):
        ThresholdExplorer(PROBS * 4 - 2, TARGET)
    with pytest.raises(ValueError, match="shape"):
        ThresholdExplorer(PROBS, TARGET[:, :-1])
    with pytest.raises(ValueError, match="ignore_index=7"):
        ThresholdExplorer(PROBS, np.where(TARGET == 1, 7, 0))
    with pytest.raises(ValueError, match="ignore_index=1"):
        ThresholdExplorer(PROBS, TARGET, ignore_index=1)
    with pytest.raises(ValueError, match="threshold"):
        ThresholdExplorer(PROBS, TARGET, threshold=1.5)
    with pytest.raises(ValueError, match="class_names"):
        ThresholdExplorer(np.stack([PROBS, 1 - PROBS]), TARGET, class_names=["a", "b", "c"])
    with pytest.raises(ValueError, match="target"):
        threshold_metrics(PROBS, TARGET.astype(float))
    with pytest.raises(ValueError, match="thresholds"):
        threshold_curves(PROBS, TARGET, thresholds=[])
