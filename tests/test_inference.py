"""Tests of course_lib.inference: window placement, blend weights, padding and whole-image prediction."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_lib.inference import (
    BLEND_MODES,
    blend_weights,
    FLIPS,
    crop_padding,
    flip_average_predict,
    pad_to_multiple,
    sliding_window_predict,
    tile_starts,
    whole_image_predict,
)


# ------------------------------------------------------------------------------------------------- tile_starts
COMBOS = [
    (length, tile, overlap)
    for length, tile in itertools.product([1, 5, 31, 32, 33, 64, 100, 257, 565, 584], [1, 4, 16, 32, 64, 256])
    for overlap in sorted({0, 1, tile // 4, tile // 2, tile - 1})
    if overlap < tile
]


@pytest.mark.parametrize("length, tile, overlap", COMBOS)
def test_tile_starts_cover_exactly_with_enough_overlap_and_a_flush_end(length, tile, overlap):
    starts = tile_starts(length, tile, overlap)
    assert starts[0] == 0 and starts == sorted(set(starts))
    if length <= tile:
        assert starts == [0]
        return
    assert starts[-1] + tile == length  # flush with the end: nothing left over, nothing past it
    covered = torch.zeros(length, dtype=torch.bool)
    for s in starts:
        assert 0 <= s and s + tile <= length
        covered[s : s + tile] = True
    assert bool(covered.all())
    for a, b in zip(starts, starts[1:]):
        assert a + tile - b >= overlap  # neighbours share at least `overlap` pixels
    stride = tile - overlap
    assert len(starts) == -(-(length - tile) // stride) + 1  # no more windows than needed


def test_tile_starts_examples():
    assert tile_starts(10, 4, 1) == [0, 3, 6]
    assert tile_starts(12, 4, 0) == [0, 4, 8]
    assert tile_starts(565, 256, 64) == [0, 192, 309]
    assert tile_starts(584, 256, 64) == [0, 192, 328]
    assert tile_starts(200, 256, 32) == [0]
    assert tile_starts(257, 256, 0) == [0, 1]


@pytest.mark.parametrize(
    "args, words",
    [
        ((0, 4, 1), "length=0"),
        ((10, 0, 0), "tile=0"),
        ((10, 4, 4), "overlap=4"),
        ((10, 4, -1), "overlap=-1"),
        ((10.0, 4, 1), "length=10.0"),
        ((10, 4, True), "overlap=True"),
    ],
)
def test_tile_starts_rejects_bad_arguments(args, words):
    with pytest.raises(ValueError, match=words):
        tile_starts(*args)


# ------------------------------------------------------------------------------------------------- blend_weights
@pytest.mark.parametrize("mode", BLEND_MODES)
@pytest.mark.parametrize("tile", [1, 2, 7, 64])
def test_blend_weights_are_positive_symmetric_and_peak_at_one(mode, tile):
    w = blend_weights(tile, mode=mode)
    assert w.shape == (tile, tile) and w.dtype == torch.float32
    assert bool((w > 0).all()) and w.max().item() == pytest.approx(1.0)
    assert torch.equal(w, w.T) and torch.equal(w, w.flip(0)) and torch.equal(w, w.flip(1))


def test_blend_weight_shapes_of_each_mode():
    assert torch.equal(blend_weights(8, 2, "constant"), torch.ones(8, 8))
    assert torch.equal(blend_weights(8, 0, "linear"), torch.ones(8, 8))  # no overlap, nothing to blend
    lin = blend_weights(8, 2, "linear")
    assert lin[0].tolist() == pytest.approx([1 / 9, 2 / 9, 1 / 3, 1 / 3, 1 / 3, 1 / 3, 2 / 9, 1 / 9])
    assert lin[2:6, 2:6].eq(1).all()
    g = blend_weights(64, mode="gaussian")
    assert g[31, 31] > g[31, 16] > g[31, 0] and g.min().item() == pytest.approx(1e-3)


def test_blend_weights_reject_bad_arguments():
    with pytest.raises(ValueError, match="mode='cosine'"):
        blend_weights(8, mode="cosine")
    with pytest.raises(ValueError, match="overlap=8"):
        blend_weights(8, 8, "linear")
    with pytest.raises(ValueError, match="tile=0"):
        blend_weights(0)


# ------------------------------------------------------------------------------------------------- padding
@pytest.mark.parametrize("shape", [(7, 9), (3, 30, 33), (2, 3, 32, 31), (1, 1, 5, 64)])
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular", "constant"])
def test_pad_to_multiple_then_crop_restores_the_input(shape, mode):
    x = torch.randn(shape)
    padded, pads = pad_to_multiple(x, 32, mode=mode)
    h, w = shape[-2:]
    assert padded.shape[:-2] == x.shape[:-2]
    assert padded.shape[-2] % 32 == 0 and padded.shape[-1] % 32 == 0
    assert padded.shape[-2] - h < 32 and padded.shape[-1] - w < 32
    top, bottom, left, right = pads
    assert top + bottom == padded.shape[-2] - h and left + right == padded.shape[-1] - w
    assert 0 <= bottom - top <= 1 and 0 <= right - left <= 1
    assert torch.equal(crop_padding(padded, pads), x)


def test_padding_modes_match_torch_where_torch_can_pad():
    x = torch.randn(2, 3, 20, 27)
    for mode in ("reflect", "replicate", "circular"):
        padded, (t, b, l, r) = pad_to_multiple(x, 16, mode=mode)
        assert torch.equal(padded, F.pad(x, (l, r, t, b), mode=mode)), mode
    padded, (t, b, l, r) = pad_to_multiple(x, 16, mode="constant", value=-1.0)
    assert torch.equal(padded, F.pad(x, (l, r, t, b), value=-1.0))


def test_reflect_padding_larger_than_the_image_keeps_mirroring_and_works_on_integers():
    row = torch.tensor([[0, 1, 2]])
    padded, pads = pad_to_multiple(row, 11)
    assert pads == (5, 5, 4, 4)
    assert padded[5].tolist() == [0, 1, 2, 1, 0, 1, 2, 1, 0, 1, 2]  # mirror, mirror again, …
    assert padded.dtype == torch.int64 and bool((padded == padded[5]).all())  # one row: every row is that row
    assert pad_to_multiple(torch.ones(4, 4, dtype=torch.bool), 8)[0].all()


def test_nothing_to_pad_returns_the_input():
    x = torch.randn(1, 2, 64, 32)
    padded, pads = pad_to_multiple(x, 32)
    assert pads == (0, 0, 0, 0) and padded is x


def test_padding_rejects_bad_arguments():
    with pytest.raises(ValueError, match="multiple=0"):
        pad_to_multiple(torch.zeros(4, 4), 0)
    with pytest.raises(ValueError, match="mode='wrap'"):
        pad_to_multiple(torch.zeros(4, 4), 8, mode="wrap")
    with pytest.raises(TypeError, match="torch.Tensor"):
        pad_to_multiple([[0.0]], 8)
    with pytest.raises(ValueError, match="at least two axes"):
        pad_to_multiple(torch.zeros(4), 8)
    with pytest.raises(ValueError, match="remove more"):
        crop_padding(torch.zeros(4, 4), (3, 2, 0, 0))
    with pytest.raises(ValueError, match="four non-negative ints"):
        crop_padding(torch.zeros(4, 4), (1, 1))


# ------------------------------------------------------------------------------------------------- prediction
def _pointwise_model(seed: int = 0, in_ch: int = 3, out_ch: int = 2) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(in_ch, 8, 1), nn.ReLU(), nn.Dropout(0.5), nn.Conv2d(8, out_ch, 1))


def _conv_model(seed: int = 0) -> nn.Module:
    """Three 3×3 convolutions: translation-equivariant, a 7×7 receptive field (3 pixels each side)."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 1, 3, padding=1)
    )


@pytest.mark.parametrize("blend", BLEND_MODES)
@pytest.mark.parametrize("size", [(70, 53), (20, 30), (32, 32), (33, 95)])
def test_pointwise_model_sliding_window_equals_whole_image(blend, size):
    model = _pointwise_model()
    images = torch.rand(2, 3, *size)
    whole = whole_image_predict(model, images, multiple=8)
    slid = sliding_window_predict(model, images, tile=32, overlap=12, batch_size=3, blend=blend)
    assert slid.shape == (2, 2, *size) and slid.dtype == torch.float32
    torch.testing.assert_close(slid, whole, atol=1e-5, rtol=0)
    torch.testing.assert_close(whole, model.eval()(images), atol=1e-5, rtol=0)


def test_conv_model_sliding_window_is_close_to_whole_image_away_from_the_border():
    model = _conv_model()
    images = torch.rand(2, 3, 96, 80, generator=torch.Generator().manual_seed(1))
    whole = whole_image_predict(model, images, multiple=1)
    torch.testing.assert_close(whole, model(images))  # multiple=1: no padding, the plain forward pass
    inner = (slice(None), slice(None), slice(3, -3), slice(3, -3))  # the image border is padded differently
    scale = whole[inner].abs().mean()
    errors = {}
    for blend in BLEND_MODES:
        slid = sliding_window_predict(model, images, tile=32, overlap=16, blend=blend)
        errors[blend] = ((slid - whole)[inner].abs().mean() / scale).item()
    # mean relative error: about 0.001 (gaussian), 0.01 (linear), 0.05 (constant): trusting window centres
    # more than their zero-padded edges helps
    assert errors["gaussian"] < 0.01 and errors["linear"] < 0.03 and errors["constant"] < 0.1, errors
    assert errors["gaussian"] < errors["linear"] < errors["constant"], errors


def test_single_image_in_gives_single_logits_out_and_numbers_match_the_batch():
    model = _conv_model()
    images = torch.rand(2, 3, 40, 50)
    batch = sliding_window_predict(model, images, tile=32, overlap=8)
    one = sliding_window_predict(model, images[1], tile=32, overlap=8)
    assert one.shape == (1, 40, 50)
    torch.testing.assert_close(one, batch[1])
    assert whole_image_predict(model, images[0]).shape == (1, 40, 50)


def test_prediction_uses_eval_mode_no_grad_and_restores_the_train_state():
    model = _pointwise_model()
    model.train()
    model[2].eval()  # a submodule deliberately left in eval mode stays so
    images = torch.rand(1, 3, 40, 40, requires_grad=True)
    out1 = sliding_window_predict(model, images, tile=16, overlap=4)
    out2 = sliding_window_predict(model, images, tile=16, overlap=4)
    assert torch.equal(out1, out2)  # dropout was off
    assert not out1.requires_grad and images.grad is None
    assert model.training and model[0].training and not model[2].training
    whole_image_predict(model, images)
    assert model.training and not model[2].training


def test_batch_norm_statistics_are_not_updated():
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4))
    before = model[1].running_mean.clone()
    sliding_window_predict(model.train(), torch.rand(1, 3, 50, 50) + 5, tile=32, overlap=8)
    assert torch.equal(model[1].running_mean, before) and model.training


def test_prediction_runs_on_the_models_device_and_returns_on_the_images_device():
    model = _pointwise_model()
    out = sliding_window_predict(model, torch.rand(1, 3, 20, 20), tile=16, overlap=4, device="cpu")
    assert out.device.type == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_model_gives_the_cpu_answer():
    model = _conv_model()
    images = torch.rand(2, 3, 70, 45)
    cpu = sliding_window_predict(model, images, tile=32, overlap=8)
    gpu = sliding_window_predict(model, images, tile=32, overlap=8, device="cuda")
    assert gpu.device.type == "cpu" and next(model.parameters()).device.type == "cuda"
    torch.testing.assert_close(gpu, cpu, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(whole_image_predict(model, images.cuda()).cpu(), whole_image_predict(model.cpu(), images), atol=1e-4, rtol=1e-4)


def test_prediction_rejects_bad_input():
    model = _pointwise_model()
    x = torch.rand(1, 3, 40, 40)
    with pytest.raises(TypeError, match="torch.nn.Module"):
        sliding_window_predict(lambda t: t, x)
    with pytest.raises(TypeError, match="torch.Tensor"):
        sliding_window_predict(model, x.numpy())
    with pytest.raises(ValueError, match="dtype torch.uint8"):
        sliding_window_predict(model, (x * 255).to(torch.uint8))
    with pytest.raises(ValueError, match=r"images\[None\]"):
        sliding_window_predict(model, x[0, 0])
    with pytest.raises(ValueError, match="overlap=32"):
        sliding_window_predict(model, x, tile=32, overlap=32)
    with pytest.raises(ValueError, match="batch_size=0"):
        sliding_window_predict(model, x, batch_size=0)
    with pytest.raises(ValueError, match="blend='mean'"):
        sliding_window_predict(model, x, blend="mean")
    with pytest.raises(ValueError, match="multiple=0"):
        whole_image_predict(model, x, multiple=0)
    shrinking = nn.Conv2d(3, 1, 3)  # no padding: the output is 2 pixels smaller
    with pytest.raises(ValueError, match="height and width"):
        sliding_window_predict(shrinking, x, tile=16, overlap=4)

    class Dict(nn.Module):
        def forward(self, t):
            return {"out": t}

    with pytest.raises(TypeError, match="returned dict"):
        whole_image_predict(Dict(), x)


# ------------------------------------------------------------------------------------------------- flip averaging
def test_flip_average_of_one_view_is_the_plain_prediction_and_flips_are_undone():
    model = _conv_model()
    images = torch.rand(3, 3, 21, 34, generator=torch.Generator().manual_seed(2))
    plain = model(images)
    torch.testing.assert_close(flip_average_predict(model, images, flips=("none",), batch_size=2), plain)
    mirrored = torch.flip(model(torch.flip(images, (-1,))), (-1,))  # the mirror image's prediction, flipped back
    torch.testing.assert_close(flip_average_predict(model, images, flips=("hflip",)), mirrored)
    torch.testing.assert_close(flip_average_predict(model, images), (plain + mirrored) / 2)
    four = flip_average_predict(model, images, flips=tuple(FLIPS), batch_size=1)
    upside = torch.flip(model(torch.flip(images, (-2, -1))), (-2, -1))
    vertical = torch.flip(model(torch.flip(images, (-2,))), (-2,))
    torch.testing.assert_close(four, (plain + mirrored + vertical + upside) / 4)


def test_flip_average_is_exactly_mirror_symmetric_and_keeps_single_images():
    model = _conv_model()
    image = torch.rand(3, 30, 40, generator=torch.Generator().manual_seed(3))
    both = flip_average_predict(model, image)
    assert both.shape == (1, 30, 40)
    # averaging over {image, mirror} makes the prediction of the mirrored image the mirror of the prediction
    torch.testing.assert_close(flip_average_predict(model, image.flip(-1)), both.flip(-1))
    assert not torch.allclose(model(image[None])[0].flip(-1), model(image.flip(-1)[None])[0])  # the model alone is not


def test_flip_average_uses_eval_mode_and_rejects_bad_flips():
    model = _pointwise_model().train()
    x = torch.rand(2, 3, 16, 16)
    assert torch.equal(flip_average_predict(model, x), flip_average_predict(model, x))  # dropout off
    assert model.training
    with pytest.raises(ValueError, match="flips='hflip'"):
        flip_average_predict(model, x, flips="hflip")
    with pytest.raises(ValueError, match="rot90"):
        flip_average_predict(model, x, flips=("none", "rot90"))
    with pytest.raises(ValueError, match="batch_size=0"):
        flip_average_predict(model, x, batch_size=0)
