"""Joint transforms: masks stay aligned with images, labels stay integer, instance boxes follow their masks."""

import pytest
import torch
from torch.utils.data import DataLoader

from course_lib import data
from course_lib import transforms as T
from course_lib.recipes import train_augmentation
from course_lib.data.targets import boxes_from_masks


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


FILL = 255
GEOMETRIC = [
    T.RandomHorizontalFlip(p=1.0),
    T.RandomVerticalFlip(p=1.0),
    T.RandomRotation(30, fill_label=FILL),
    T.RandomScale((0.6, 1.5), fill_label=FILL),
    T.RandomAffine(25, (0.7, 1.4), fill_label=FILL),
    T.RandomCrop((40, 56), fill_label=FILL),
    T.RandomCrop((80, 80), fill_label=FILL),  # larger than the image: pads
    T.Resize((48, 40)),
    T.RandomRotate90(p=1.0),
    T.train_transforms(None, "strong", ignore_index=FILL, vertical_flip=True),
    train_augmentation({"scale": (0.75, 1.5), "crop": (48, 48), "hflip": 0.5, "vflip": 0.5, "rot90": 0.75, "jitter": 0.2}, FILL),
]
H = W = 64
BAND = 16  # the label map is a 4×4 grid of 16-pixel bands


def ramp_pair():
    """An image whose channels 0 and 1 hold each pixel's x and y position (/64), and a label map of position bands.

    Bilinear resampling reproduces a linear ramp exactly, so after any geometric transform the
    image still tells where each output pixel came from, and the label must be that place's band.
    """
    y = (torch.arange(H) + 0.5) / H
    x = (torch.arange(W) + 0.5) / W
    image = torch.stack([x.expand(H, W), y[:, None].expand(H, W), torch.full((H, W), 0.5)])
    labels = (x * W // BAND).long().expand(H, W) + (y * H // BAND).long()[:, None] * (W // BAND)
    return image, labels


def misaligned(image, labels, tol=0.05, margin=2):
    """Pixels whose label band does not contain the source position read from the image (beyond ``tol`` px).

    Pixels next to the image border or to filled-in (out of image) pixels are skipped: there the
    bilinear image mixes in the fill value.
    """
    near_fill = torch.nn.functional.max_pool2d((labels == FILL).float()[None, None], 2 * margin + 1, 1, margin)[0, 0] > 0
    valid = ~near_fill
    valid[:margin] = valid[-margin:] = False
    valid[:, :margin] = valid[:, -margin:] = False
    px, py = image[0] * W, image[1] * H
    bx, by = labels % (W // BAND), labels // (W // BAND)
    bad = (px < bx * BAND - tol) | (px > (bx + 1) * BAND + tol) | (py < by * BAND - tol) | (py > (by + 1) * BAND + tol)
    return int((bad & valid).sum()), int(valid.sum())


def coded_pair(seed=0, classes=5, size=(64, 64), block=8):
    """A label map of 8×8 blocks, and an image whose three channels all equal label / (classes - 1)."""
    g = torch.Generator().manual_seed(seed)
    blocks = torch.randint(0, classes, (size[0] // block, size[1] // block), generator=g)
    labels = blocks.repeat_interleave(block, 0).repeat_interleave(block, 1)
    image = (labels.float() / (classes - 1)).expand(3, -1, -1).clone()
    return image, labels


def agreement(image, labels, classes=5):
    """Share of labelled pixels whose image value decodes to their label."""
    decoded = (image[0] * (classes - 1)).round().long()
    valid = labels != FILL
    return (decoded[valid] == labels[valid]).float().mean().item()


def photometric_free(t):
    return T.Compose([s for s in t.transforms if not isinstance(s, (T.ColorJitter, T.GaussianNoise, T.GaussianBlur))]) if isinstance(t, T.Compose) else t


@pytest.mark.parametrize("transform", GEOMETRIC, ids=lambda t: type(t).__name__)
def test_geometric_transforms_keep_image_and_mask_aligned_to_a_fraction_of_a_pixel(transform):
    transform = photometric_free(transform)
    image, labels = ramp_pair()
    for seed in range(10):
        torch.manual_seed(seed)
        out_image, out_labels = transform(image, labels)
        assert out_labels.dtype == torch.int64 and out_image.dtype == torch.float32
        assert out_image.shape[-2:] == out_labels.shape
        assert set(out_labels.unique().tolist()) <= set(labels.unique().tolist()) | {FILL}, "no new label values"
        bad, checked = misaligned(out_image, out_labels)
        assert checked > 500 and bad == 0, f"seed {seed}: {bad} of {checked} pixels misaligned"


def test_the_alignment_check_catches_one_pixel_shifts_and_unshared_randomness():
    image, labels = ramp_pair()
    assert misaligned(image, torch.roll(labels, 1, dims=-1))[0] > 100
    torch.manual_seed(0)
    rotated_image, _ = T.RandomRotation(30)(image, labels)
    torch.manual_seed(1)
    _, rotated_labels = T.RandomRotation(30)(image, labels)
    assert misaligned(rotated_image, rotated_labels)[0] > 100


def test_instances_follow_their_masks_and_vanished_ones_are_dropped():
    ds = data.load("synthetic-nuclei", "train", n=16, target="instance")
    pipeline = photometric_free(T.train_transforms(None, "strong"))
    crop = T.RandomCrop(24)
    dropped = 0
    for i in range(16):
        torch.manual_seed(i)
        image, target = ds[i]
        for t in (pipeline, crop):
            out_image, out = t(image, target)
            n = len(out["labels"])
            assert out["masks"].shape == (n, *out_image.shape[-2:]) and out["masks"].dtype == torch.uint8
            assert out["labels"].dtype == torch.int64 and out["boxes"].dtype == torch.float32
            assert torch.all(out["masks"].flatten(1).sum(1) > 0), "empty instances are removed"
            assert torch.equal(out["boxes"], boxes_from_masks(out["masks"])), "boxes are the masks' extents"
            assert set(out["masks"].unique().tolist()) <= {0, 1}
            dropped += len(target["labels"]) - n
    assert dropped > 0, "a 24 px crop of a 64 px image must lose some nuclei"


def test_an_empty_instance_target_survives_geometric_transforms():
    empty = {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64), "masks": torch.zeros(0, 32, 32, dtype=torch.uint8)}
    image, out = T.Compose([T.RandomRotation(20), T.Resize(16), T.RandomCrop(8)])(torch.rand(1, 32, 32), empty)
    assert image.shape == (1, 8, 8) and out["masks"].shape == (0, 8, 8) and out["boxes"].shape == (0, 4)


def test_resize_uses_nearest_for_labels_and_is_exact_at_integer_factors():
    image, labels = coded_pair(3)
    small_image, small = T.Resize(16)(image, labels)
    assert small.shape == (16, 16) and small_image.shape == (3, 16, 16)
    assert torch.equal(small, labels[2::4, 2::4]), "nearest-exact samples the pixel nearest each output centre"


def test_photometric_transforms_change_only_the_image():
    image, labels = coded_pair(4)
    image = image * 0.8 + 0.1
    torch.manual_seed(0)
    for t in (T.ColorJitter(0.4, 0.4, 0.4, 0.1), T.GaussianNoise(0.1), T.GaussianBlur((1.0, 2.0), p=1.0)):
        out_image, out_labels = t(image, labels)
        assert out_labels is labels
        assert out_image.shape == image.shape and not torch.equal(out_image, image)
        assert 0 <= out_image.min() and out_image.max() <= 1
    grey, _ = T.ColorJitter(0.3, 0.3, 0.3, 0.1)(torch.rand(1, 8, 8), None)  # saturation/hue skipped for grey
    assert grey.shape == (1, 8, 8)


def test_normalize_compute_stats_and_denormalize():
    ds = data.load("synthetic-streets", "val", n=20)
    mean, std = T.compute_stats(ds)
    images = torch.stack([ds[i][0] for i in range(20)])
    assert torch.allclose(torch.tensor(mean, dtype=torch.float64), images.mean((0, 2, 3)).double(), atol=1e-5)
    assert torch.allclose(torch.tensor(std, dtype=torch.float64), images.std((0, 2, 3), unbiased=False).double(), atol=1e-4)
    normed = torch.stack([T.Normalize(mean, std)(img, None)[0] for img in images])
    assert torch.allclose(normed.mean((0, 2, 3)), torch.zeros(3), atol=1e-4)
    assert torch.allclose(normed.std((0, 2, 3), unbiased=False), torch.ones(3), atol=1e-3)
    assert torch.allclose(T.denormalize(normed, mean, std), images, atol=1e-5)
    with pytest.raises(ValueError, match="channels"):
        T.Normalize()(torch.rand(1, 8, 8), None)


def test_presets_and_bad_arguments():
    image, labels = coded_pair(5)
    out_image, out_labels = T.eval_transforms(32, normalize=True)(image, labels)
    assert out_image.shape == (3, 32, 32) and out_labels.shape == (32, 32) and out_image.min() < 0
    for strength in T.STRENGTHS:
        assert T.train_transforms((32, 48), strength)(image, labels)[0].shape == (3, 32, 48)
    with pytest.raises(ValueError, match="strength"):
        T.train_transforms(32, "extreme")
    with pytest.raises(ValueError, match="float C×H×W"):
        T.RandomHorizontalFlip()(labels, labels)
    with pytest.raises(ValueError, match="must match|resize them together"):
        T.RandomHorizontalFlip()(image, labels[:10])
    with pytest.raises(ValueError, match="integer H×W"):
        T.RandomHorizontalFlip()(image, labels.float())
    with pytest.raises(ValueError, match="p="):
        T.RandomHorizontalFlip(p=2)
    with pytest.raises(TypeError, match="not callable"):
        T.Compose([3])


def test_torchvision_v2_transforms_plug_in_jointly():
    from torchvision.transforms import v2

    image, labels = ramp_pair()
    from torchvision import tv_tensors

    affine = v2.RandomAffine(degrees=15, interpolation=v2.InterpolationMode.BILINEAR, fill={tv_tensors.Image: 0.0, tv_tensors.Mask: FILL})
    pipeline = T.Compose([v2.RandomHorizontalFlip(p=1.0), affine])
    for seed in range(5):
        torch.manual_seed(seed)
        out_image, out_labels = pipeline(image, labels)
        assert out_labels.dtype == torch.int64 and misaligned(out_image, out_labels)[0] == 0


def test_transforms_plug_into_load_and_collate_instances_batches_dicts():
    ds = data.load("synthetic-nuclei", "train", n=8, target="instance", transform=T.train_transforms(48, "light"))
    images, targets = next(iter(DataLoader(ds, batch_size=4, collate_fn=T.collate_instances)))
    assert len(images) == len(targets) == 4 and images[0].shape == (1, 48, 48)
    assert all(set(t) == {"boxes", "labels", "masks"} for t in targets)
    semantic = data.load("synthetic-streets", "train", n=8, transform=T.train_transforms(32, "medium"))
    batch_images, batch_labels = next(iter(DataLoader(semantic, batch_size=8)))
    assert batch_images.shape == (8, 3, 32, 32) and batch_labels.dtype == torch.int64


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_transforms_run_on_cuda():
    image, labels = coded_pair(7)
    out_image, out_labels = T.train_transforms(32, "strong", ignore_index=FILL)(image.cuda(), labels.cuda())
    assert out_image.is_cuda and out_labels.is_cuda
