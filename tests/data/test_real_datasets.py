"""Real-dataset loaders, read through the downloader from the course's shared samples used as a mirror."""

import pytest
import torch

from course_lib import data
from course_lib.data.real import DRIVE

# what the shared samples hold (see shared/data/SOURCES.md): CamVid 367 train + 101 val + 8 test, DRIVE's 20 training images
SAMPLE_COUNTS = {"isbi2012": 30, "camvid": 476, "oxford-pets": 30, "dsb2018": 20, "drive": 20}
REAL = list(SAMPLE_COUNTS)


def check_pair(image, target, info, channels):
    assert image.dtype == torch.float32 and image.ndim == 3 and image.shape[0] == channels
    assert 0.0 <= image.min() and image.max() <= 1.0 and image.std() > 0.01
    assert target.dtype == torch.int64 and target.shape == image.shape[1:]
    values = set(target.unique().tolist())
    allowed = set(range(info.num_classes)) | ({info.ignore_index} if info.ignore_index is not None else set())
    assert values <= allowed, f"unexpected label values {values - allowed}"


@pytest.mark.parametrize("name", REAL)
def test_splits_cover_the_samples_without_overlap(name, mirror_env):
    info = data.DATASETS[name]
    keys = {}
    for split in ("train", "val", "test"):
        ds = data.load(name, split)
        assert len(ds) >= 1 and ds.num_classes == info.num_classes and ds.ignore_index == info.ignore_index
        keys[split] = set(ds.keys)
        check_pair(*ds[0], info, info.channels)
        check_pair(*ds[len(ds) - 1], info, info.channels)
    assert sum(len(k) for k in keys.values()) == SAMPLE_COUNTS[name]
    assert not (keys["train"] & keys["val"] or keys["train"] & keys["test"] or keys["val"] & keys["test"])
    assert len(data.load(name, "all")) == SAMPLE_COUNTS[name]
    assert name in data.cached()


@pytest.mark.parametrize("name", REAL)
def test_resize_on_load_keeps_labels_discrete(name, mirror_env):
    info = data.DATASETS[name]
    ds = data.load(name, "train", size=(96, 128), channels=3)
    image, target = ds[0]
    assert image.shape == (3, 96, 128) and target.shape == (96, 128)
    full = data.load(name, "train")[0][1]
    assert set(target.unique().tolist()) <= set(full.unique().tolist()), "nearest resizing must not invent labels"
    check_pair(image, target, info, 3)


def test_camvid_uses_the_official_split_lists(mirror_env):
    train = data.load("camvid", "train")
    lines = (train.root / "train.txt").read_text().split("\n")
    listed = [line.split()[0].split("/")[-1][:-4] for line in lines if line.strip()]
    assert [k.split("/")[1] for k in train.keys] == listed
    assert (len(train), len(data.load("camvid", "val")), len(data.load("camvid", "test"))) == (367, 101, 8)
    labels = torch.stack([train[i][1] for i in range(4)])
    assert (labels == 11).any() and labels.max() == 11, "void pixels keep label 11 (the ignore index)"


def test_isbi_membranes_are_the_minority_class(mirror_env):
    _, target = data.load("isbi2012", "train")[0]
    share = target.float().mean().item()
    assert 0.12 < share < 0.35, f"membrane share {share:.2f}; SOURCES.md says about 22%"


def test_pets_mapping_options(mirror_env):
    binary = data.load("oxford-pets", "val", cache=True)
    image, target = binary[0]
    assert set(target.unique().tolist()) == {0, 1, 255}
    trimap = data.load("oxford-pets", "val", classes="trimap")
    assert trimap.num_classes == 3 and trimap.ignore_index is None
    t3 = trimap[0][1]
    assert set(t3.unique().tolist()) == {0, 1, 2}
    assert torch.equal(t3 == 2, target == 255) and torch.equal(t3 == 1, target == 1)
    as_pet = data.load("oxford-pets", "val", border="pet")[0][1]
    assert as_pet.max() == 1 and torch.equal(as_pet == 1, (target == 1) | (target == 255))
    with pytest.raises(ValueError, match="border"):
        data.load("oxford-pets", classes="trimap", border="pet")
    assert torch.equal(binary[0][0], image), "cached samples are the same"


def test_dsb_instances_and_semantic_union(mirror_env):
    ds = data.load("dsb2018", "test", target="instance")
    image, target = ds[0]
    _, mask_files = ds.samples[0]
    assert len(target["labels"]) == len(mask_files), "one instance per mask PNG"
    assert target["masks"].dtype == torch.uint8 and target["boxes"].dtype == torch.float32
    assert torch.equal(target["boxes"], data.boxes_from_masks(target["masks"]))
    semantic = data.load("dsb2018", "test")[0][1]
    assert torch.equal(semantic, (target["masks"].sum(0) > 0).long())
    small = data.load("dsb2018", "test", target="instance", size=64)[0][1]
    assert small["masks"].shape[1:] == (64, 64) and 0 < len(small["labels"]) <= len(target["labels"])


def test_drive_field_of_view_is_ignored_or_kept(mirror_env):
    ds = data.load("drive", "train", size=128)
    assert isinstance(ds, DRIVE)
    _, target = ds[0]
    fov = ds.fov_mask(0)
    assert fov.dtype == torch.bool and fov.shape == (128, 128) and 0.5 < fov.float().mean() < 0.9
    assert torch.equal(target == 255, ~fov)
    kept = data.load("drive", "train", size=128, fov="keep")
    assert kept.ignore_index is None and torch.equal(kept[0][1], torch.where(fov, target, 0))
    vessels = (target == 1).sum() / fov.sum()
    assert 0.05 < vessels < 0.2, "vessels are about 9-13% of the field of view"


def test_root_option_reads_a_folder_directly(shared_mirror, empty_cache):
    ds = data.load("isbi2012", "all", root=shared_mirror / "isbi2012_membranes", download=False)
    assert len(ds) == 30 and data.cached() == {}
    with pytest.raises(ValueError, match="root="):
        data.load("isbi2012", root=shared_mirror / "camvid")


def test_transform_is_applied_on_load(mirror_env):
    from course_lib import transforms as T

    ds = data.load("camvid", "val", transform=T.eval_transforms((90, 120), normalize=True))
    image, target = ds[0]
    assert image.shape == (3, 90, 120) and target.shape == (90, 120) and image.min() < 0
