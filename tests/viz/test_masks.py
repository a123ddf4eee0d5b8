import matplotlib

matplotlib.use("Agg")
import numpy as np
import pytest
import torch

from course_lib import viz


def test_to_numpy_image_accepts_common_layouts():
    chw = torch.rand(3, 5, 7)
    assert viz.to_numpy_image(chw).shape == (5, 7, 3)
    assert viz.to_numpy_image(np.zeros((5, 7), np.uint8)).shape == (5, 7, 3)
    assert viz.to_numpy_image(np.full((5, 7, 3), 255, np.uint8)).max() == 1.0
    with pytest.raises(ValueError, match="channels"):
        viz.to_numpy_image(np.zeros((5, 7, 9)))


def test_colorize_and_ignore():
    mask = torch.tensor([[0, 1], [2, 11]])
    rgb = viz.colorize_labels(mask, ignore_index=11)
    assert rgb.shape == (2, 2, 3) and rgb.dtype == np.uint8
    assert (rgb[0, 0] == 0).all() and (rgb[1, 1] == 255).all()
    assert not np.array_equal(rgb[0, 1], rgb[1, 0])
    with pytest.raises(ValueError, match="palette"):
        viz.colorize_labels(torch.tensor([[99]]))
    with pytest.raises(ValueError, match="integer"):
        viz.colorize_labels(torch.rand(2, 2))


def test_overlay_leaves_background_untouched():
    image = torch.full((3, 4, 4), 0.5)
    mask = torch.zeros(4, 4, dtype=torch.int64)
    mask[0, 0] = 1
    out = viz.overlay(image, mask, alpha=1.0)
    assert np.allclose(out[1:, :], 0.5)
    assert np.allclose(out[0, 0], viz.DEFAULT_PALETTE[1] / 255)
    with pytest.raises(ValueError, match="resize"):
        viz.overlay(image, torch.zeros(3, 3, dtype=torch.int64))
    with pytest.raises(ValueError, match="alpha"):
        viz.overlay(image, mask, alpha=2)


def test_show_grid_lays_out_pairs():
    images = [torch.rand(3, 8, 8) for _ in range(3)]
    masks = [torch.randint(0, 3, (8, 8)) for _ in range(3)]
    fig = viz.show_grid(images, masks, titles=["a", "b", "c"], ncols=2)
    assert len(fig.axes) == 8  # 2 rows × (2 pairs × 2 panels)
    fig = viz.show_grid(images, masks, overlay_masks=True)
    assert len([a for a in fig.axes if a.images]) == 3
    with pytest.raises(ValueError, match="one mask per image"):
        viz.show_grid(images, masks[:2])
