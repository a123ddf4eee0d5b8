"""Official test parts: DSB2018's stage1_test/ and DRIVE's test/ become the test split when the training part is there too."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from course_lib import data
from course_lib.data.base import seeded_split

SPLITS = ("train", "val", "test")


def fake_dsb(root: Path, stage: str, ids: list[str]) -> list[str]:
    """Tiny DSB2018 samples (an 8x8 RGB image and one nucleus mask each) under ``root/stage``; returns the ids."""
    for sample_id in ids:
        sample = root / stage / sample_id
        (sample / "images").mkdir(parents=True)
        (sample / "masks").mkdir()
        Image.fromarray(np.full((8, 8, 3), 90, np.uint8)).save(sample / "images" / f"{sample_id}.png")
        mask = np.zeros((8, 8), np.uint8)
        mask[2:5, 3:6] = 255
        Image.fromarray(mask).save(sample / "masks" / "m1.png")
    return ids


def load_dsb(root: Path, split: str, **options) -> list[str]:
    """The sample ids of one split read straight from ``root`` (no cache, no download)."""
    return data.load("dsb2018", split, root=root, download=False, **options).keys


def test_dsb_with_both_stages_tests_on_stage1_test(tmp_path):
    train_ids = fake_dsb(tmp_path, "stage1_train", [f"tr{i:02d}" for i in range(10)])
    test_ids = fake_dsb(tmp_path, "stage1_test", ["te0", "te1", "te2"])
    keys = {split: load_dsb(tmp_path, split) for split in SPLITS}
    assert keys["test"] == test_ids, "test is exactly stage1_test/"
    assert sorted(keys["train"] + keys["val"]) == train_ids and not set(keys["train"]) & set(keys["val"])
    assert len(keys["val"]) == 2, "val_fraction=0.15 of 10 stage1_train samples"
    assert keys["val"] == seeded_split(train_ids, "val", val_fraction=0.15, test_fraction=0.0, seed=0)
    assert load_dsb(tmp_path, "test", test_fraction=0.4) == test_ids, "test_fraction does not apply then"
    assert len(load_dsb(tmp_path, "val", val_fraction=0.3)) == 3
    assert len({tuple(load_dsb(tmp_path, "val", split_seed=s)) for s in range(5)}) > 1, "split_seed reshuffles train/val"
    assert sorted(load_dsb(tmp_path, "all")) == sorted(train_ids + test_ids)
    image, target = data.load("dsb2018", "test", root=tmp_path, download=False)[0]
    assert image.shape == (3, 8, 8) and int(target.sum()) == 9


@pytest.mark.parametrize("stage", ["stage1_test", "stage1_train"])
def test_dsb_with_one_stage_keeps_the_seeded_three_way_split(tmp_path, stage):
    ids = fake_dsb(tmp_path, stage, [f"s{i:02d}" for i in range(20)])
    keys = {split: load_dsb(tmp_path, split) for split in SPLITS}
    for split in SPLITS:
        assert keys[split] == seeded_split(ids, split, val_fraction=0.15, test_fraction=0.15, seed=0)
    assert sorted(sum(keys.values(), [])) == ids and [len(keys[s]) for s in SPLITS] == [14, 3, 3]


def test_drive_with_a_test_folder_tests_on_it(tmp_path):
    for part, numbers in (("training", range(21, 31)), ("test", range(1, 4))):
        for sub in ("images", "1st_manual"):
            (tmp_path / part / sub).mkdir(parents=True)
        for n in numbers:
            (tmp_path / part / "images" / f"{n:02d}_{part}.tif").touch()  # listing the split reads no pixels
            (tmp_path / part / "1st_manual" / f"{n:02d}_manual1.gif").touch()
    split = {s: data.load("drive", s, root=tmp_path, download=False).keys for s in SPLITS}
    assert split["test"] == ["test/01", "test/02", "test/03"]
    assert sorted(split["train"] + split["val"]) == [f"training/{n}" for n in range(21, 31)] and len(split["val"]) == 2
