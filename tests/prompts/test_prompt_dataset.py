"""Training samples with simulated clicks (``course_lib.prompts.dataset``): one object per sample, seeded."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course_lib import data, prompts
from click_shapes import disks


@pytest.fixture(scope="module")
def nuclei():
    return data.load("synthetic-nuclei", "train", n=6, size=48, seed=3, target="instance")


def test_instance_masks_from_a_dict_or_an_id_map():
    ids = disks((16, 16), [(4, 4), (11, 11)])
    masks = prompts.instance_masks(ids)
    assert masks.shape == (2, 16, 16) and masks.dtype == torch.bool and (masks[0] == (ids == 1)).all()
    assert torch.equal(prompts.instance_masks({"masks": masks.to(torch.uint8)}), masks)
    assert prompts.instance_masks(torch.zeros(4, 4, dtype=torch.int64)).shape == (0, 4, 4)
    with pytest.raises(ValueError, match="target='instance'"):
        prompts.instance_masks(torch.zeros(4, 4))  # a float map is not an id map


def test_every_object_becomes_a_sample_of_image_plus_two_click_maps(nuclei):
    ds = prompts.ClickDataset(nuclei, repeats=2)
    total = sum(int((prompts.instance_masks(nuclei[i][1]).flatten(1).sum(1) >= 10).sum()) for i in range(len(nuclei)))
    assert ds.num_objects == total and len(ds) == 2 * total
    x, mask = ds[0]
    assert x.shape == (3, 48, 48) and x.dtype == torch.float32 and mask.dtype == torch.int64
    assert set(mask.unique().tolist()) == {0, 1} and torch.equal(x[:1], nuclei[0][0])
    image, object_mask = ds.object(0)
    assert torch.equal(object_mask.long(), mask) and torch.equal(image, nuclei[0][0])
    assert "objects in 6 images" in repr(ds)


def test_clicks_look_like_a_user_correcting_a_mask(nuclei):
    ds = prompts.ClickDataset(nuclei, max_extra_clicks=4)
    counts = []
    for i in range(len(ds)):
        _, mask, clicks = ds.sample(i)
        assert clicks[0].positive and mask[clicks[0].row, clicks[0].col] == 1
        for c in clicks:  # a positive click is on the object, a negative one off it
            assert bool(mask[c.row, c.col]) == c.positive
        counts.append(len(clicks))
    assert min(counts) == 1 and max(counts) <= 5 and len(set(counts)) >= 3


def test_the_maps_show_the_samples_clicks(nuclei):
    ds = prompts.ClickDataset(nuclei, radius=1.0)
    x, _ = ds[3]
    _, _, clicks = ds.sample(3)
    assert torch.equal(x[1:], prompts.click_maps(clicks, (48, 48), radius=1.0))


def test_samples_are_reproducible_in_any_order_and_change_with_the_seed(nuclei):
    a, b = prompts.ClickDataset(nuclei, seed=5), prompts.ClickDataset(nuclei, seed=5)
    late = [b[i] for i in (7, 2)]
    for got, i in zip(late, (7, 2)):
        assert torch.equal(got[0], a[i][0]) and torch.equal(got[1], a[i][1])
    other = prompts.ClickDataset(nuclei, seed=6)
    assert any(a.sample(i)[2] != other.sample(i)[2] for i in range(10))
    repeated = prompts.ClickDataset(nuclei, seed=5, repeats=2)
    n = repeated.num_objects
    assert any(repeated.sample(i)[2] != repeated.sample(i + n)[2] for i in range(10)), "a repeat draws new clicks"


def test_a_crop_keeps_a_window_around_the_object(nuclei):
    ds = prompts.ClickDataset(nuclei, crop=24)
    for i in range(0, len(ds), 5):
        x, mask = ds[i]
        assert x.shape == (3, 24, 24) and mask.shape == (24, 24) and mask.sum() > 0
    assert prompts.ClickDataset(nuclei, crop=(16, 32))[0][0].shape == (3, 16, 32)


def test_simulated_clicks_are_seeded_and_start_inside_the_object():
    ids = disks((20, 20), [(8, 8), (8, 14)])
    mask, others = ids == 1, ids == 2
    first = prompts.simulate_clicks(mask, others, rng=np.random.default_rng(1))
    assert first == prompts.simulate_clicks(mask, others, rng=1)
    assert mask[first[0].row, first[0].col] and first[0].positive
    assert prompts.simulate_clicks(mask, max_extra_clicks=0, rng=2) == prompts.simulate_clicks(mask, max_extra_clicks=0, rng=2)
    assert len(prompts.simulate_clicks(mask, max_extra_clicks=0, rng=2)) == 1
    with pytest.raises(ValueError, match="mask has no object pixel"):
        prompts.simulate_clicks(torch.zeros(5, 5, dtype=torch.bool))


@pytest.mark.parametrize("kwargs, argument", [({"repeats": 0}, "repeats"), ({"encoding": "square"}, "encoding"),
                                              ({"crop": 4}, "crop"), ({"crop": (8, 8, 8)}, "crop"),
                                              ({"radius": -1.0}, "radius"), ({"max_extra_clicks": -1}, "max_extra_clicks"),
                                              ({"min_area": 10_000}, "min_area"), ({"seed": -1}, "seed")])
def test_bad_dataset_settings_name_the_argument(kwargs, argument):
    pairs = [(torch.rand(1, 16, 16), disks((16, 16), [(5, 5)]))]
    with pytest.raises(ValueError, match=argument):
        prompts.ClickDataset(pairs, **kwargs)


def test_an_out_of_range_index_is_refused(nuclei):
    ds = prompts.ClickDataset(nuclei)
    with pytest.raises(ValueError, match="index"):
        ds.sample(len(ds))
    with pytest.raises(ValueError, match="index"):
        ds.object(ds.num_objects)
