"""The hand-written architectures do what the lessons say: skips, pooling indices, score fusion."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_lib.models import FCN, DoubleConv, Down, SegNet, UNet, Up, create, match_size
from course_lib.models.fcn import bilinear_kernel


def test_match_size_pads_and_crops_to_the_target():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    assert match_size(x, (5, 7)).shape == (1, 1, 5, 7)
    assert match_size(x, (3, 2)).shape == (1, 1, 3, 2)
    assert match_size(x, (4, 4)) is x
    cropped = match_size(x, (2, 2))
    assert torch.equal(cropped, x[..., 1:3, 1:3])  # centre crop


def test_double_conv_and_down_shapes():
    x = torch.rand(2, 3, 17, 16)
    assert DoubleConv(3, 8)(x).shape == (2, 8, 17, 16)
    assert Down(3, 8)(x).shape == (2, 8, 8, 8)


@pytest.mark.parametrize("mode", ["bilinear", "transpose"])
def test_up_handles_odd_skip_sizes(mode):
    up = Up(16, 8, 8, mode=mode)
    out = up(torch.rand(1, 16, 8, 8), torch.rand(1, 8, 17, 15))
    assert out.shape == (1, 8, 17, 15)


def test_up_without_skip_ignores_the_skip_content():
    torch.manual_seed(0)
    x = torch.rand(1, 16, 8, 8)
    a, b = torch.rand(1, 8, 16, 16), torch.rand(1, 8, 16, 16)
    no_skip, with_skip = Up(16, 0, 8).eval(), Up(16, 8, 8).eval()
    assert torch.equal(no_skip(x, a), no_skip(x, b))
    assert not torch.allclose(with_skip(x, a), with_skip(x, b))


def test_unet_skip_ablation_changes_the_network():
    torch.manual_seed(0)
    full = UNet(3, 2, base_channels=8, depth=3)
    bare = UNet(3, 2, base_channels=8, depth=3, skip=False)
    assert sum(p.numel() for p in bare.parameters()) < sum(p.numel() for p in full.parameters())
    assert all(up.uses_skip for up in full.ups) and not any(up.uses_skip for up in bare.ups)
    # the first decoder conv of the full U-Net sees upsampled + skip channels
    assert full.ups[-1].conv[0][0].in_channels == 8 + 8  # 16 channels upsampled to 8, plus the 8-channel skip
    assert bare.ups[-1].conv[0][0].in_channels == 8


def test_unet_upsampling_modes_use_different_layers():
    bil = UNet(base_channels=8, depth=2, upsampling="bilinear")
    tr = UNet(base_channels=8, depth=2, upsampling="transpose")
    assert any(isinstance(m, nn.Upsample) for m in bil.modules())
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in bil.modules())
    assert any(isinstance(m, nn.ConvTranspose2d) for m in tr.modules())


def test_unet_depth_sets_the_number_of_steps():
    net = UNet(base_channels=4, depth=5)
    assert len(net.downs) == 5 and len(net.ups) == 5
    assert net.downs[-1][1][1][0].out_channels == 4 * 2**5
    assert net.eval()(torch.rand(1, 3, 33, 47)).shape == (1, 2, 33, 47)
    with pytest.raises(ValueError, match="depth"):
        net(torch.rand(1, 3, 31, 64))


def test_segnet_decoder_unpools_with_the_encoder_indices():
    net = SegNet(3, 2, base_channels=4, depth=3).eval()
    assert net.pool.return_indices is True
    assert isinstance(net.unpool, nn.MaxUnpool2d)
    seen = []
    net.unpool.register_forward_hook(lambda m, i, o: seen.append(o))
    with torch.no_grad():
        net(torch.rand(1, 3, 37, 40))
    assert len(seen) == 3
    for out in seen:  # unpooling puts each value back at one position in its 2×2 window: ≤ 1/4 non-zero
        assert (out != 0).float().mean() <= 0.25 + 1e-6


def test_segnet_unpool_restores_positions():
    pool, unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)
    x = torch.rand(1, 1, 6, 6)
    y, idx = pool(x)
    restored = unpool(y, idx, output_size=x.shape[-2:])
    assert torch.equal(restored[restored != 0], x[restored != 0])


def test_fcn_variants_fuse_more_scores():
    v32, v16, v8 = (FCN(variant=v) for v in ("32s", "16s", "8s"))
    assert v32.score16 is None and v32.score8 is None
    assert v16.score16 is not None and v16.score8 is None
    assert v8.score16 is not None and v8.score8 is not None
    for net in (v32, v16, v8):
        assert net(torch.rand(1, 3, 50, 45)).shape == (1, 2, 50, 45)


def test_bilinear_kernel_makes_a_transposed_conv_interpolate():
    up = nn.ConvTranspose2d(1, 1, 4, stride=2, padding=1, bias=False)
    with torch.no_grad():
        up.weight.copy_(bilinear_kernel(1, 4))
    x = torch.rand(1, 1, 6, 6)
    ours = up(x)
    ref = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    assert ours.shape == ref.shape
    assert torch.allclose(ours[..., 1:-1, 1:-1], ref[..., 1:-1, 1:-1], atol=1e-6)  # borders differ by padding


def test_every_hand_written_model_learns_one_step():
    torch.manual_seed(0)
    for name in ("unet", "segnet", "fcn"):
        net = create(name, num_classes=2, base_channels=4)
        x, y = torch.rand(2, 3, 32, 32), torch.randint(0, 2, (2, 32, 32))
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        grads = [p.grad for p in net.parameters() if p.requires_grad]
        assert all(g is not None for g in grads), name
        assert sum(float(g.abs().sum()) for g in grads) > 0
