"""Clicks as prompts (``course_lib.prompts.clicks``): checked triples, click maps, and the protocol's first and next click."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage

from course_lib import prompts
from course_lib.prompts import Click


def _box(shape, rows, cols):
    mask = torch.zeros(shape, dtype=torch.bool)
    mask[rows[0]:rows[1], cols[0]:cols[1]] = True
    return mask


# ---- triples and maps -----------------------------------------------------------------------------------
def test_plain_triples_become_clicks_and_numpy_values_are_accepted():
    clicks = prompts.as_clicks([(1, 2, True), [np.int64(3), 4, np.bool_(False)]], (5, 5))
    assert clicks == [Click(1, 2, True), Click(3, 4, False)]
    assert all(type(c.row) is int and type(c.positive) is bool for c in clicks)
    assert Click(1, 2, True) == (1, 2, True)


@pytest.mark.parametrize("bad", [(1.0, 2, True), (1, 2), (1, 2, 1), (True, 2, True), "12T"])
def test_a_malformed_click_is_refused_with_the_form_to_use(bad):
    with pytest.raises(ValueError, match="clicks"):
        prompts.as_clicks([bad] if not isinstance(bad, str) else bad)


def test_a_click_outside_the_image_is_refused():
    with pytest.raises(ValueError, match=r"outside the 4×6 image"):
        prompts.click_maps([(4, 0, True)], (4, 6))


def test_disk_maps_put_positive_and_negative_clicks_in_their_own_channels():
    maps = prompts.click_maps([(2, 2, True), (6, 7, False), (2, 3, True)], (9, 10), radius=2.0)
    assert maps.shape == (2, 9, 10) and maps.dtype == torch.float32
    assert set(maps.unique().tolist()) == {0.0, 1.0}
    single = prompts.click_maps([(4, 4, True)], (9, 9), radius=2.0)
    assert int(single[0].sum()) == 13 and int(single[1].sum()) == 0  # the 13 pixels within distance 2
    assert maps[1, 6, 7] == 1 and maps[0, 6, 7] == 0 and int(maps[1].sum()) == 13
    assert int(maps[0].sum()) == 13 + 5  # two overlapping disks, one pixel apart: their union


def test_gaussian_maps_peak_at_the_click_and_stay_in_0_1():
    maps = prompts.click_maps([(3, 3, False)], (8, 8), radius=1.5, encoding="gaussian")
    assert maps[1, 3, 3] == 1 and maps[0].sum() == 0
    assert 0 < float(maps[1].min()) and float(maps[1].max()) <= 1
    assert maps[1, 3, 4] == pytest.approx(np.exp(-1 / (2 * 1.5**2)))


def test_no_click_gives_empty_maps():
    assert prompts.click_maps([], (3, 4)).abs().sum() == 0


@pytest.mark.parametrize("kwargs, argument", [({"radius": 0}, "radius"), ({"encoding": "square"}, "encoding"),
                                              ({"shape": (4,)}, "shape"), ({"shape": (0, 4)}, "shape")])
def test_bad_map_settings_name_the_argument(kwargs, argument):
    call = {"clicks": [(0, 0, True)], "shape": (4, 4), **kwargs}
    with pytest.raises(ValueError, match=argument):
        prompts.click_maps(**call)


# ---- distances ------------------------------------------------------------------------------------------
def test_the_image_border_counts_as_a_boundary():
    dist = prompts.boundary_distance(torch.ones(5, 5, dtype=torch.bool))
    assert dist[2, 2] == 3 and dist[0, 0] == 1 and dist[0, 2] == 1


@pytest.mark.parametrize("seed", range(5))
def test_boundary_distance_is_the_euclidean_distance_to_the_nearest_outside_pixel(seed):
    rng = np.random.default_rng(seed)
    mask = ndimage.binary_dilation(rng.random((11, 13)) < 0.08, iterations=2)
    dist = prompts.boundary_distance(mask)
    outside = [(r, c) for r in range(-1, 12) for c in range(-1, 14) if not (0 <= r < 11 and 0 <= c < 13) or not mask[r, c]]
    outside = np.array(outside)
    for r, c in zip(*np.nonzero(mask)):
        assert dist[r, c] == pytest.approx(np.sqrt(((outside - (r, c)) ** 2).sum(1)).min())
    assert (dist[~mask] == 0).all()


def test_masks_must_be_binary_and_of_one_size():
    with pytest.raises(ValueError, match="true_mask must hold only 0 and 1"):
        prompts.next_click(torch.zeros(4, 4), torch.full((4, 4), 0.7))
    with pytest.raises(ValueError, match="pred_mask has shape"):
        prompts.next_click(torch.zeros(4, 5), torch.zeros(4, 4))
    with pytest.raises(ValueError, match="pred_mask has shape"):
        prompts.next_click(torch.zeros(1, 4, 4), torch.zeros(4, 4))
    with pytest.raises(ValueError, match="mask must be"):
        prompts.first_click([[0, 1], [1, 1]])


# ---- first and next click -------------------------------------------------------------------------------
def test_first_click_is_the_deepest_object_pixel_and_positive():
    mask = _box((10, 12), (2, 7), (1, 10))  # 5×9: the middle row is row 4, deepest along cols 3..7
    assert prompts.first_click(mask) == Click(4, 3, True)  # ties: the first in row-major order
    blob = torch.zeros(9, 9, dtype=torch.bool)
    blob[1:8, 1:8] = True
    assert prompts.first_click(blob) == (4, 4, True)


def test_first_click_needs_an_object():
    with pytest.raises(ValueError, match="mask has no object pixel"):
        prompts.first_click(torch.zeros(4, 4, dtype=torch.bool))


def test_next_click_is_positive_in_a_missed_part():
    true = _box((12, 12), (2, 10), (2, 10))
    pred = _box((12, 12), (2, 10), (2, 5))  # the right part (cols 5..9, 5 wide) is missed
    assert prompts.next_click(pred, true) == Click(4, 7, True)


def test_next_click_is_negative_in_the_deeper_false_positive():
    true = _box((14, 14), (1, 5), (1, 5))
    pred = true | _box((14, 14), (6, 13), (6, 13))  # a 7×7 false positive, and the object found
    pred[1, 1] = False  # a one-pixel miss
    assert prompts.next_click(pred, true) == Click(9, 9, False)


def test_no_error_gives_no_click():
    mask = _box((6, 6), (1, 4), (1, 4))
    assert prompts.next_click(mask, mask.clone()) is None
    assert prompts.next_click(np.zeros((3, 3)), np.zeros((3, 3), dtype=np.int64)) is None


def test_a_tie_between_a_miss_and_a_false_positive_goes_to_the_first_pixel_in_row_major_order():
    true = _box((10, 10), (1, 4), (1, 4))
    pred = _box((10, 10), (6, 9), (6, 9))  # both 3×3, both depth 2 at their centres
    assert prompts.next_click(pred, true) == Click(2, 2, True)
    assert prompts.next_click(true, pred) == Click(2, 2, False)


def test_pixels_already_clicked_are_skipped_while_other_error_pixels_are_left():
    true = _box((7, 7), (2, 5), (2, 5))
    empty = torch.zeros(7, 7, dtype=torch.bool)
    assert prompts.next_click(empty, true) == (3, 3, True)
    assert prompts.next_click(empty, true, clicked=[(3, 3, True)]) == (2, 2, True)
    single = _box((7, 7), (3, 4), (3, 4))
    assert prompts.next_click(empty, single, clicked=[(3, 3, True)]) == (3, 3, True)  # nothing else left


@pytest.mark.parametrize("seed", range(6))
def test_next_click_lands_on_a_deepest_error_pixel_with_the_sign_of_its_error(seed):
    rng = np.random.default_rng(seed)
    true = ndimage.binary_dilation(rng.random((16, 16)) < 0.05, iterations=2)
    pred = ndimage.binary_dilation(rng.random((16, 16)) < 0.05, iterations=2)
    click = prompts.next_click(pred, true)
    fn, fp = prompts.error_distance(pred, true)
    assert fn[click.row, click.col] + fp[click.row, click.col] == (fn + fp).max() > 0
    assert click.positive == bool(true[click.row, click.col]) == (fn[click.row, click.col] > 0)
