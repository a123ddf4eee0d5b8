import matplotlib

matplotlib.use("Agg")
import pytest
import torch

from course_lib import data, widgets
from course_lib.widgets.augment import AugmentationExplorer, augment_pair

K = 5  # classes


def coded_pair(h=40, w=56):
    """A label map of big blocks and an image whose every pixel encodes its label (grey value label / (K-1))."""
    g = torch.Generator().manual_seed(0)
    mask = torch.randint(0, K, (h // 8, w // 8), generator=g).repeat_interleave(8, 0).repeat_interleave(8, 1)
    image = (mask.float() / (K - 1)).expand(3, -1, -1).clone()
    return image, mask


def agreement(image, mask):
    """Fraction of pixels where the label read back from the image equals the mask."""
    return (torch.round(image[0] * (K - 1)).long() == mask).float().mean().item()


@pytest.fixture
def explorer():
    image, mask = coded_pair()
    return AugmentationExplorer(image, mask)


def test_first_view_is_drawn_and_unchanged(explorer):
    assert explorer.draw_count == 1 and explorer.png.startswith(b"\x89PNG")
    assert torch.equal(explorer.mask, explorer.original_mask)
    assert torch.allclose(explorer.image, explorer.original_image)
    assert "40×56" in explorer.info.value


@pytest.mark.parametrize("settings", [
    {"hflip": True},
    {"angle": 30.0},
    {"angle": -17.0, "scale": 1.4},
    {"scale": 0.6},
    {"crop": 0.5, "crop_top": 0.0, "crop_left": 1.0},
    {"hflip": True, "angle": 12.0, "scale": 1.2, "crop": 0.7, "crop_top": 0.3, "crop_left": 0.8},
])
def test_geometric_settings_keep_mask_aligned(explorer, settings):
    before = explorer.draw_count
    for name, value in settings.items():
        getattr(explorer, name).value = value
    assert explorer.draw_count == before + len(settings)  # one redraw per change
    image, mask = explorer.image, explorer.mask
    assert image.shape[-2:] == mask.shape and mask.dtype == torch.int64
    assert set(mask.unique().tolist()) <= set(range(K))  # nearest: no invented labels
    assert agreement(image, mask) > 0.9  # only block borders (bilinear blends in the image) may differ
    if "crop" in settings:
        assert mask.shape == (round(40 * settings["crop"]), round(56 * settings["crop"]))


def test_alignment_test_can_fail():
    image, mask = coded_pair()
    flipped_image, _ = augment_pair(image, mask, hflip=True)
    assert agreement(flipped_image, mask) < 0.6  # an image moved without its mask is caught


def test_flip_is_exact_and_crop_position_follows_sliders():
    image, mask = coded_pair()
    img, msk = augment_pair(image, mask, hflip=True)
    assert torch.equal(msk, mask.flip(-1)) and torch.equal(img, image.flip(-1))
    _, top_left = augment_pair(image, mask, crop=0.5, crop_top=0.0, crop_left=0.0)
    _, bottom_right = augment_pair(image, mask, crop=0.5, crop_top=1.0, crop_left=1.0)
    assert torch.equal(top_left, mask[:20, :28]) and torch.equal(bottom_right, mask[20:, 28:])


def test_photometric_changes_leave_mask_unchanged(explorer):
    explorer.angle.value = 20.0
    mask_before = explorer.mask.clone()
    image_before = explorer.image.clone()
    explorer.brightness.value = 1.6
    explorer.contrast.value = 0.5
    assert torch.equal(explorer.mask, mask_before)
    assert not torch.allclose(explorer.image, image_before)
    explorer.reset()
    assert torch.equal(explorer.mask, explorer.original_mask) and explorer.settings["brightness"] == 1.0


def test_brightness_scales_pixels():
    image = torch.full((3, 8, 8), 0.4)
    mask = torch.zeros(8, 8, dtype=torch.int64)
    brighter, _ = augment_pair(image, mask, brightness=1.5)
    assert torch.allclose(brighter, torch.full_like(image, 0.6))


def test_factory_takes_a_dataset_or_a_pair():
    ds = data.load("synthetic-streets", "train", n=2, size=(32, 48), seed=0)
    ex = widgets.augmentation_explorer(ds, index=1)
    assert isinstance(ex, widgets.AugmentationExplorer)
    assert ex.class_names == ds.class_names and torch.equal(ex.original_mask, ds[1][1])
    ex.angle.value = 25.0
    assert set(ex.mask.unique().tolist()) <= set(ds[1][1].unique().tolist()) | {0}
    pair = widgets.augmentation_explorer(coded_pair())
    assert pair.draw_count == 1


def test_bad_input_names_the_argument():
    image, mask = coded_pair()
    with pytest.raises(ValueError, match="mask"):
        AugmentationExplorer(image, mask.float())
    with pytest.raises(ValueError, match="must match"):
        AugmentationExplorer(image, mask[:-1])
    with pytest.raises(ValueError, match="crop"):
        augment_pair(image, mask, crop=0.0)
    with pytest.raises(ValueError, match="dataset_or_pair"):
        widgets.augmentation_explorer(42)
