"""The catalogue: DATASETS, load() argument checking, describe(), list_datasets(), the registry file."""

import json

import pytest
import torch

from course_lib import data
from course_lib.config import repo_root
from course_lib.data.registry import DOWNLOADS, registry_dict

NAMES = {"synthetic-streets", "synthetic-nuclei", "synthetic-lesions", "photo-composites", "isbi2012", "camvid", "oxford-pets", "dsb2018", "drive"}


def test_every_dataset_is_registered_with_consistent_info():
    assert set(data.DATASETS) == NAMES
    for name, info in data.DATASETS.items():
        assert info.name == name
        assert info.kind in ("semantic", "instance")
        assert len(info.class_names) == info.num_classes >= 2
        assert info.description and len(info.description.splitlines()) == 1
        assert info.ignore_index is None or info.ignore_index >= info.num_classes
        assert "transform" in info.options and "size" in info.options
        if info.kind == "instance":
            assert "instance" in info.targets and "target" in info.options
        if info.synthetic:
            assert info.default_size is not None and name not in DOWNLOADS
        else:
            assert info.folder and info.homepage and info.source and info.licence and info.citation
            assert DOWNLOADS[name], f"{name} has no download source"
            assert all(d.url.startswith("https://") for d in DOWNLOADS[name])


def test_camvid_ignores_void_and_pets_border():
    assert data.DATASETS["camvid"].ignore_index == 11 and data.DATASETS["camvid"].num_classes == 11
    assert data.DATASETS["oxford-pets"].ignore_index == 255
    assert data.DATASETS["drive"].ignore_index == 255


def test_unknown_name_lists_the_valid_names():
    with pytest.raises(ValueError) as err:
        data.load("cityscapes")
    for name in NAMES:
        assert name in str(err.value)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"split": "training"}, ["split", "'train'"]),
        ({"colour": True}, ["colour", "options", "seed"]),
        ({"n": 0}, ["n=0"]),
        ({"n": 2.5}, ["n=2.5"]),
        ({"seed": -1}, ["seed"]),
        ({"size": (64,)}, ["size"]),
        ({"size": 4}, ["size", "out of range"]),
        ({"channels": 2}, ["channels"]),
        ({"split": "all"}, ["split='all'", "synthetic"]),
    ],
)
def test_bad_arguments_give_clear_errors(kwargs, words):
    with pytest.raises(ValueError) as err:
        data.load("synthetic-streets", **kwargs)
    for word in words:
        assert word in str(err.value)


def test_target_option_is_checked_per_dataset():
    with pytest.raises(ValueError, match="target"):
        data.load("synthetic-nuclei", target="panoptic")
    with pytest.raises(ValueError, match="unknown option"):
        data.load("synthetic-streets", target="instance")
    with pytest.raises(ValueError, match="empty_fraction"):
        data.load("synthetic-lesions", empty_fraction=1.5)


def test_list_datasets_filters():
    assert set(data.list_datasets()) == NAMES
    assert set(data.list_datasets(kind="instance")) == {"synthetic-nuclei", "dsb2018"}
    assert set(data.list_datasets(synthetic=True)) == {"synthetic-streets", "synthetic-nuclei", "synthetic-lesions", "photo-composites"}
    with pytest.raises(ValueError, match="kind"):
        data.list_datasets(kind="panoptic")


def test_describe_prints_a_table_and_details(capsys, empty_cache):
    data.describe()
    table = capsys.readouterr().out
    for name in NAMES:
        assert name in table
    assert "not cached" in table and "generated" in table
    data.describe("camvid")
    details = capsys.readouterr().out
    assert "CC BY-NC 4.0" in details and "ignore_index: 11" in details and "sky" in details
    with pytest.raises(ValueError, match="valid names"):
        data.describe("nope")


def test_cached_is_empty_in_an_empty_cache(empty_cache):
    assert data.cached() == {}


def test_registry_json_matches_the_code():
    path = repo_root() / "datasets" / "registry.json"
    assert path.is_file(), "datasets/registry.json is missing: run python -m course_lib.data write-registry"
    on_disk = json.loads(path.read_text(encoding="utf-8"))
    assert on_disk == json.loads(json.dumps(registry_dict())), "datasets/registry.json is stale: run python -m course_lib.data write-registry"
    assert on_disk["datasets"]["oxford-pets"]["licence"] == "CC BY-SA 4.0"


def test_command_line_describe_and_cached(capsys, empty_cache):
    from course_lib.data.__main__ import main

    assert main(["describe"]) == 0
    assert "synthetic-streets" in capsys.readouterr().out
    assert main(["cached"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["fetch", "isbi2012"]) == 1  # offline, no mirror: the instructions go to stderr
    assert "COURSE_DATA_MIRROR" in capsys.readouterr().err


def test_as_tensors_stacks_pairs_and_rejects_detection_targets():
    images, masks = data.as_tensors(data.load("synthetic-lesions", "val", n=6), 4)
    assert images.shape == (4, 1, 64, 64) and masks.shape == (4, 64, 64)
    assert torch.equal(masks[2], data.load("synthetic-lesions", "val", n=6)[2][1])
    with pytest.raises(ValueError, match="n="):
        data.as_tensors(data.load("synthetic-lesions", "val", n=6), 7)
    with pytest.raises(TypeError, match="target='semantic'"):
        data.as_tensors(data.load("synthetic-nuclei", "val", n=2, target="instance"))


def test_capstone_datasets_name_real_datasets():
    assert set(data.CAPSTONE_DATASETS) == {"09_capstone_medical", "10_capstone_driving"}
    assert data.CAPSTONE_DATASETS["09_capstone_medical"] == data.LessonData(required=("drive",), optional=("isbi2012",))
    assert data.CAPSTONE_DATASETS["10_capstone_driving"].required == ("camvid",)
    for wanted in data.CAPSTONE_DATASETS.values():
        for name in wanted.required + wanted.optional:
            assert name in data.DATASETS and not data.DATASETS[name].synthetic
