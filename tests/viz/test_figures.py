"""The figure convention of course_lib.viz: a figure-making function returns its Figure closed, except with ax=."""

import inspect

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from course_lib import data, viz  # noqa: E402

IMAGES = [torch.rand(3, 8, 8) for _ in range(3)]
MASKS = [torch.randint(0, 3, (8, 8)) for _ in range(3)]

# every public function of course_lib.viz that makes a figure, with a call that makes one
FIGURE_CALLS = {
    "show_grid": lambda **kw: viz.show_grid(IMAGES, MASKS, **kw),
    "show_sample": lambda **kw: viz.show_sample(IMAGES[0], MASKS[0], **kw),
    "show_samples": lambda **kw: viz.show_samples(data.load("synthetic-streets", "train", n=2), n=2, **kw),
}
# every other public callable: they return arrays or values, never a figure
NO_FIGURE = {"colorize", "colorize_labels", "dataset_meta", "get_palette", "instance_colors", "overlay", "to_numpy_image"}


def test_every_public_function_is_classified():
    public = {name for name in viz.__all__ if callable(getattr(viz, name)) and not inspect.isclass(getattr(viz, name))}
    assert public == set(FIGURE_CALLS) | NO_FIGURE, "add new viz functions to FIGURE_CALLS or NO_FIGURE"


@pytest.mark.parametrize("name", sorted(FIGURE_CALLS))
def test_figure_functions_return_a_closed_figure(name):
    plt.close("all")
    fig = FIGURE_CALLS[name]()
    assert isinstance(fig, Figure), f"{name} must return its Figure"
    assert fig.number not in plt.get_fignums(), f"{name} left its figure open; it would show twice in a notebook"
    assert not plt.get_fignums(), f"{name} left a figure open"


@pytest.mark.parametrize("name", sorted(n for n in FIGURE_CALLS if "ax" in inspect.signature(getattr(viz, n)).parameters))
def test_figure_functions_draw_into_given_axes_and_leave_them_open(name):
    plt.close("all")
    fig, axes = plt.subplots(1, 3)
    try:
        out = FIGURE_CALLS[name](ax=axes)
        assert out is fig, f"{name}(ax=...) must return ax.figure"
        assert fig.number in plt.get_fignums(), f"{name}(ax=...) must not close the caller's figure"
        assert any(a.images for a in axes), f"{name}(ax=...) must draw into the given axes"
    finally:
        plt.close(fig)


def test_some_function_takes_ax():
    assert any("ax" in inspect.signature(getattr(viz, n)).parameters for n in FIGURE_CALLS)
