"""Dataset pictures: colorize, palettes, show_samples / show_sample (Agg backend, no display)."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from course_lib import data  # noqa: E402
from course_lib.viz.datasets import (  # noqa: E402
    CAMVID_PALETTE,
    IGNORE_COLOR,
    STREETS_PALETTE,
    colorize,
    get_palette,
    instance_colors,
    show_sample,
    show_samples,
)


def legend_labels(fig):
    return [t.get_text() for legend in fig.legends for t in legend.get_texts()]


def test_colorize_maps_each_class_to_its_palette_colour():
    labels = torch.tensor([[0, 1], [2, 255]])
    rgb = colorize(labels, [(1, 2, 3), (4, 5, 6), (7, 8, 9)], ignore_index=255)
    assert rgb.dtype == np.uint8 and rgb.shape == (2, 2, 3)
    assert rgb[0, 0].tolist() == [1, 2, 3] and rgb[0, 1].tolist() == [4, 5, 6] and rgb[1, 0].tolist() == [7, 8, 9]
    assert tuple(rgb[1, 1]) == IGNORE_COLOR
    assert colorize(np.array([[3, 8]]), "camvid")[0].tolist() == [list(CAMVID_PALETTE[3]), list(CAMVID_PALETTE[8])]


def test_colorize_refuses_bad_label_maps():
    with pytest.raises(ValueError, match="outside the palette"):
        colorize(torch.tensor([[0, 5]]), [(0, 0, 0), (1, 1, 1)])
    with pytest.raises(ValueError, match="H×W"):
        colorize(torch.zeros(2, 4, 4, dtype=torch.long), "camvid")
    with pytest.raises(ValueError, match="non-integer"):
        colorize(torch.tensor([[0.5, 1.0]]), "camvid")


def test_palettes_per_dataset():
    assert get_palette("camvid") == CAMVID_PALETTE and len(CAMVID_PALETTE) == 11
    assert get_palette("synthetic-streets") == STREETS_PALETTE
    assert STREETS_PALETTE[0] == CAMVID_PALETTE[3] and STREETS_PALETTE[6] == CAMVID_PALETTE[8], "road and car keep CamVid colours"
    long = get_palette("synthetic-lesions", 30)
    assert len(long) == 30 and len(set(long)) == 30, "extended palettes stay distinct"
    colours = instance_colors(50)
    assert len(set(colours)) == 50


def test_show_samples_draws_rows_with_a_class_legend():
    ds = data.load("synthetic-streets", "val", n=6)
    fig = show_samples(ds, n=3)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 9
    labels = legend_labels(fig)
    for name in ds.class_names:
        assert name in labels
    image = np.asarray(fig.axes[1].get_images()[0].get_array())
    assert image.shape[:2] == (64, 96)
    fig = show_samples(ds, indices=[5, 0])
    assert [ax.get_ylabel() for ax in fig.axes[::3]] == ["#5", "#0"]


def test_show_samples_colours_instances_distinctly_and_draws_boxes():
    ds = data.load("synthetic-nuclei", "train", n=4, target="instance")
    fig = show_samples(ds, n=2, seed=0)
    _, target = ds[int(fig.axes[0].get_ylabel()[1:])]  # rows are labelled "#<index>"
    picture = np.asarray(fig.axes[1].get_images()[0].get_array()).reshape(-1, 3)
    colours = {tuple(c) for c in picture} - {(0, 0, 0)}
    assert len(colours) == len(target["labels"]), "one colour per instance"
    assert len(fig.axes[2].patches) == len(target["labels"]), "one box per instance"


def test_show_samples_handles_grey_images_ignore_pixels_and_wrappers():
    ds = data.load("synthetic-lesions", "train", n=4)
    fig = show_samples(torch.utils.data.Subset(ds, [1, 2]), n=2)
    assert "lesion" in legend_labels(fig)
    image = torch.rand(3, 16, 16) * 4 - 2  # a normalised image is stretched for display
    labels = torch.randint(0, 2, (16, 16))
    labels[0, :] = 255
    fig = show_sample(image, labels, class_names=("background", "pet"), ignore_index=255, title="one pair")
    assert isinstance(fig, Figure) and "ignore (255)" in legend_labels(fig)
    with pytest.raises(ValueError, match="must match"):
        show_sample(image, labels[:8])
    with pytest.raises(ValueError, match="positions"):
        show_samples(ds, indices=[99])
