"""The course's small SegFormer ("mini-segformer"): shapes, options, efficient attention, gradients, checkpoints."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from course_lib import attention
from course_lib.models import MiniSegFormer, count_parameters, create, load_checkpoint, model_options, save_checkpoint
from course_lib.models.segformer import EfficientSelfAttention, MixFFN, OverlapPatchEmbed

TINY = dict(widths=(8, 16, 16, 32), heads=(1, 2, 2, 4), decoder_channels=16)


@pytest.mark.parametrize("size", [(48, 64), (50, 70), (32, 32), (17, 23), (8, 8), (3, 5)])
def test_output_has_the_input_size(size):
    model = create("mini-segformer", in_channels=3, num_classes=9, **TINY).eval()
    with torch.inference_mode():
        out = model(torch.rand(2, 3, *size))
    assert out.shape == (2, 9, *size) and torch.isfinite(out).all()


def test_stages_shrink_the_map_by_4_8_16_32():
    model = MiniSegFormer(3, 5, **TINY).eval()
    with torch.inference_mode():
        features = model.encoder(torch.rand(1, 3, 48, 64))
    assert [tuple(f.shape[1:]) for f in features] == [(8, 12, 16), (16, 6, 8), (16, 3, 4), (32, 2, 2)]
    with torch.inference_mode():
        features = MiniSegFormer(3, 5, **TINY, first_stride=2).eval().encoder(torch.rand(1, 3, 48, 64))
    assert features[0].shape[-2:] == (24, 32)


def test_factory_options_and_their_defaults():
    options = model_options("mini-segformer")
    assert options["widths"] == (16, 32, 64, 128) and options["reductions"] == (8, 4, 2, 1) and options["first_stride"] == 4
    assert set(options) == {"widths", "depths", "heads", "reductions", "mlp_ratio", "decoder_channels", "first_stride"}
    model = create("mini-segformer", in_channels=1, num_classes=4, depths=(2, 1, 1, 1), mlp_ratio=4)
    assert isinstance(model, MiniSegFormer)
    assert len(model.encoder.stages[0].blocks) == 2 and model.encoder.stages[0].embed.proj.in_channels == 1
    assert model.encoder.stages[1].blocks[0].ffn.fc1.out_features == 32 * 4
    assert model.course_spec["options"] == {"depths": (2, 1, 1, 1), "mlp_ratio": 4}
    three = create("mini-segformer", widths=(8, 16, 32), depths=(1, 1, 1), heads=(1, 1, 2), reductions=(2, 1, 1))
    assert len(three.encoder.stages) == 3 and three(torch.rand(1, 3, 20, 28)).shape == (1, 2, 20, 28)
    assert count_parameters(create("mini-segformer", num_classes=9)) < 500_000


def test_the_smp_segformer_is_a_different_model():
    assert "encoder_name" in model_options("segformer")
    assert not isinstance(create("segformer", num_classes=3, encoder_name="resnet18", encoder_weights=None), MiniSegFormer)


@pytest.mark.parametrize("options, needle", [
    ({"widths": (16, 32)}, "widths has 2"),
    ({"heads": (1, 3, 2, 4)}, r"heads\[1\]=3"),
    ({"reductions": (4, 0, 1, 1)}, r"reductions\[1\]"),
    ({"depths": 2}, "depths"),
    ({"first_stride": 0}, "first_stride"),
    ({"decoder_channels": 2.5}, "decoder_channels"),
    ({"patch_size": 4}, "valid options"),
])
def test_bad_options_are_explained(options, needle):
    with pytest.raises(ValueError, match=needle):
        create("mini-segformer", **options)


# ---- the parts --------------------------------------------------------------------------------------
def test_overlapping_patch_embedding():
    embed = OverlapPatchEmbed(3, 8, stride=4)
    assert embed.proj.kernel_size == (7, 7) and embed.proj.stride == (4, 4)  # a 7×7 window every 4 pixels: overlap
    tokens, h, w = embed(torch.rand(2, 3, 50, 70))
    assert (h, w) == (13, 18) and tokens.shape == (2, 13 * 18, 8)


@pytest.mark.parametrize("reduction, size, keys", [(1, (12, 16), 192), (4, (12, 16), 12), (4, (13, 18), 20), (8, (3, 5), 1)])
def test_spatial_reduction_shrinks_keys_and_values(reduction, size, keys):
    torch.manual_seed(0)
    layer = EfficientSelfAttention(8, heads=2, reduction=reduction)
    layer.keep_weights = True
    h, w = size
    x = torch.rand(2, h * w, 8)
    assert layer.reduced(x, h, w).shape == (2, keys, 8)
    assert layer(x, h, w).shape == x.shape
    assert layer.weights.shape == (2, 2, h * w, keys)  # every query looks at only `keys` keys
    assert torch.allclose(layer.weights.sum(-1), torch.ones(2, 2, h * w))
    layer.keep_weights = False
    layer(x, h, w)
    assert layer.weights is None


def test_attention_without_reduction_is_multi_head_self_attention():
    torch.manual_seed(0)
    layer = EfficientSelfAttention(8, heads=2, reduction=1)
    mha = nn.MultiheadAttention(8, 2, batch_first=True)
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([layer.q.weight, layer.kv.weight]))
        mha.in_proj_bias.copy_(torch.cat([layer.q.bias, layer.kv.bias]))
        mha.out_proj.weight.copy_(layer.proj.weight)
        mha.out_proj.bias.copy_(layer.proj.bias)
    x = torch.rand(3, 12, 8)
    assert torch.allclose(layer(x, 3, 4), mha(x, x, x)[0], atol=1e-5)


def test_mix_ffn_sees_neighbours_so_positions_matter():
    torch.manual_seed(0)
    ffn = MixFFN(4, 8)
    x = torch.rand(1, 12, 4)
    out = ffn(x, 3, 4)
    order = torch.randperm(12)
    assert not torch.allclose(ffn(x[:, order], 3, 4), out[:, order], atol=1e-5)  # unlike attention alone


def test_gradients_reach_every_parameter():
    torch.manual_seed(0)
    model = create("mini-segformer", num_classes=4, **TINY)
    loss = nn.functional.cross_entropy(model(torch.rand(2, 3, 24, 40)), torch.randint(0, 4, (2, 24, 40)))
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing, missing


def test_attention_layers_and_the_course_attention_function():
    model = MiniSegFormer(3, 2, **TINY)
    layers = model.attention_layers()
    assert len(layers) == 4 and [a.reduction for a in layers] == [8, 4, 2, 1]
    from course_lib.models import segformer

    assert segformer.scaled_dot_product_attention is attention.scaled_dot_product_attention


def test_checkpoint_round_trip(tmp_path):
    torch.manual_seed(0)
    model = create("mini-segformer", num_classes=3, **TINY)
    path = save_checkpoint(model, tmp_path / "segformer.pt", miou=0.4)
    loaded = load_checkpoint(path)
    assert isinstance(loaded, MiniSegFormer) and loaded.course_spec == model.course_spec
    x = torch.rand(2, 3, 30, 44)
    with torch.inference_mode():
        assert torch.equal(model.eval()(x), loaded(x))
