"""Property-based tests of :mod:`course_lib.transforms`: joint transforms keep image and target aligned, and never
invent label values.

The trick: the image is built from the mask (every channel = the label as a float), so after any joint transform
the image still says which label each pixel should have. Exact transforms (flips, 90° rotations, crops with
padding) must give ``image == mask`` everywhere; resampling ones (resize, rotation, zoom) blend neighbouring
pixels in the image (bilinear) but not in the mask (nearest), so there the check is made wherever the mask is
uniform over a 5×5 neighbourhood (the image is then that label exactly). Labels are 0..K with K <= 5 and the fill
label of pixels entering from outside is 255, which the image shows as 0 (its fill).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from course_lib.instances import ids_from_instances, instances_from_ids
from course_lib.transforms import (ColorJitter, Compose, GaussianBlur, GaussianNoise, RandomAffine, RandomCrop,
                                   RandomHorizontalFlip, RandomRotate90, RandomRotation, RandomScale,
                                   RandomVerticalFlip, Resize, train_transforms)

SETTINGS = settings(max_examples=20, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
FILL = 255


@st.composite
def blocky_masks(draw: st.DrawFn, channels: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """(image C×H×W float = the mask, mask H×W int64): a coarse random grid of labels 0..5 blown up into blocks."""
    gh, gw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    block_h, block_w = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    cells = draw(st.lists(st.integers(0, 5), min_size=gh * gw, max_size=gh * gw))
    mask = torch.tensor(cells, dtype=torch.int64).reshape(gh, gw)
    mask = mask.repeat_interleave(block_h, 0).repeat_interleave(block_w, 1)
    return mask.float().expand(channels, -1, -1).clone(), mask


def exact_transforms(h: int, w: int) -> st.SearchStrategy:
    """Transforms that move pixels without resampling."""
    return st.one_of(
        st.builds(RandomHorizontalFlip, p=st.sampled_from([0.0, 0.5, 1.0])),
        st.builds(RandomVerticalFlip, p=st.sampled_from([0.0, 0.5, 1.0])),
        st.builds(RandomRotate90, p=st.just(1.0)),
        st.builds(RandomCrop, size=st.tuples(st.integers(1, h + 3), st.integers(1, w + 3)), fill_label=st.just(FILL)),
    )


def resampling_transforms() -> st.SearchStrategy:
    """Transforms that resample the image (bilinear) and the mask (nearest)."""
    return st.one_of(
        st.builds(Resize, size=st.tuples(st.integers(4, 40), st.integers(4, 40))),
        st.builds(RandomRotation, degrees=st.sampled_from([5.0, 30.0, 90.0, 180.0]), fill_label=st.just(FILL)),
        st.builds(RandomScale, scale=st.sampled_from([(0.8, 1.25), (0.5, 0.5), (1.5, 2.0)]), fill_label=st.just(FILL)),
        st.builds(RandomAffine, degrees=st.sampled_from([10.0, 45.0]), scale=st.just((0.8, 1.25)), fill_label=st.just(FILL)),
    )


def _expected_image(mask: torch.Tensor) -> torch.Tensor:
    """The image a mask should come with: the label as a float, 0 where the fill label entered."""
    return torch.where(mask == FILL, 0, mask).float()


def _uniform(mask: torch.Tensor, radius: int = 2) -> torch.Tensor:
    """Bool H×W: True where the mask has one value over the whole (2r+1)² neighbourhood, inside the map.

    ``radius`` grows with the magnification, so that the neighbourhood covers the bilinear (and antialiasing)
    support of the image pixel in the source.
    """
    m = mask.double()[None, None]
    k = 2 * radius + 1
    hi = F.max_pool2d(m, k, stride=1, padding=radius)[0, 0]
    lo = -F.max_pool2d(-m, k, stride=1, padding=radius)[0, 0]
    inside = torch.zeros_like(mask, dtype=torch.bool)
    inside[radius : mask.shape[0] - radius, radius : mask.shape[1] - radius] = True
    return (hi == lo) & inside


def _zoom(transform, shape: tuple[int, int]) -> float:
    """The largest magnification of ``transform``: one source pixel spans this many output pixels."""
    if isinstance(transform, Resize):
        return max(transform.size[0] / shape[0], transform.size[1] / shape[1], 1.0)
    return max(getattr(transform, "scale", (1.0, 1.0))[1], 1.0)


def _run(transform, image: torch.Tensor, target, seed: int):
    """Apply ``transform`` under a fixed torch seed (the transforms draw from torch's global generator)."""
    torch.manual_seed(seed)
    return transform(image, target)


@SETTINGS
@given(blocky_masks(channels=3), st.data(), st.integers(0, 2**31 - 1))
def test_exact_transforms_keep_image_and_mask_equal(pair, data, seed):
    image, mask = pair
    t = data.draw(st.lists(exact_transforms(*mask.shape), min_size=1, max_size=3).map(Compose))
    out_image, out_mask = _run(t, image, mask, seed)
    assert out_mask.dtype == mask.dtype and out_image.shape[-2:] == out_mask.shape
    for channel in out_image:
        assert torch.equal(channel, _expected_image(out_mask))
    assert set(out_mask.unique().tolist()) <= set(mask.unique().tolist()) | {FILL}


@SETTINGS
@given(blocky_masks(), st.data(), st.integers(0, 2**31 - 1))
def test_exact_transforms_keep_instance_masks_aligned(pair, data, seed):
    image, ids = pair  # the blocks are the instances (0 = background)
    t = data.draw(st.lists(exact_transforms(*ids.shape), min_size=1, max_size=3).map(Compose))
    out_image, out_target = _run(t, image, instances_from_ids(ids), seed)
    moved_ids = out_image[0].round().long()
    renumbered = torch.zeros_like(moved_ids)
    for k, v in enumerate(torch.unique(moved_ids[moved_ids > 0]).tolist(), start=1):
        renumbered[moved_ids == v] = k
    assert torch.equal(ids_from_instances(out_target), renumbered)
    assert out_target["boxes"].shape == (out_target["masks"].shape[0], 4)
    assert len(out_target["labels"]) == out_target["masks"].shape[0]


@SETTINGS
@given(blocky_masks(), resampling_transforms(), st.integers(0, 2**31 - 1))
def test_resampling_transforms_keep_image_and_mask_aligned(pair, transform, seed):
    image, mask = pair
    out_image, out_mask = _run(transform, image, mask, seed)
    assert out_image.shape[-2:] == out_mask.shape and out_mask.dtype == mask.dtype
    assert set(out_mask.unique().tolist()) <= set(mask.unique().tolist()) | {FILL}
    where = _uniform(out_mask, radius=2 + math.ceil(2 * _zoom(transform, mask.shape)))
    torch.testing.assert_close(out_image[0][where], _expected_image(out_mask)[where], atol=1e-4, rtol=0)


@SETTINGS
@given(blocky_masks(channels=3), st.sampled_from(["light", "medium", "strong"]), st.integers(0, 2**31 - 1))
def test_train_pipelines_never_invent_labels(pair, strength, seed):
    image, mask = pair
    out_image, out_mask = _run(train_transforms(size=24, strength=strength, ignore_index=FILL), image / 5, mask, seed)
    assert out_image.shape == (3, 24, 24) and out_mask.shape == (24, 24)
    assert set(out_mask.unique().tolist()) <= set(mask.unique().tolist()) | {FILL}


@SETTINGS
@given(
    blocky_masks(channels=3),
    st.sampled_from([ColorJitter(0.4, 0.4, 0.4, 0.1), GaussianNoise(0.1), GaussianBlur((0.1, 2.0), p=1.0)]),
    st.integers(0, 2**31 - 1),
)
def test_photometric_transforms_leave_the_target_alone(pair, transform, seed):
    image, mask = pair
    out_image, out_mask = _run(transform, image / 5, mask, seed)
    assert torch.equal(out_mask, mask)
    assert out_image.shape == image.shape and bool(((out_image >= -1e-6) & (out_image <= 1 + 1e-6)).all())
