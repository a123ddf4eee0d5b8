"""The offline ImageNet EfficientNet-Lite0: real predictions, multi-scale features, and the effnet-unet."""

from __future__ import annotations

import pytest
import torch
from skimage import data

from course_lib.models import count_parameters, create, freeze, param_groups, pretrained, unfreeze

CAT_CLASSES = range(281, 286)  # tabby, tiger cat, Persian, Siamese, Egyptian cat
COFFEE_CLASSES = {967, 968, 504}  # espresso, cup, coffee mug


@pytest.fixture(scope="module")
def classifier():
    return pretrained.efficientnet_lite0()


def test_imagenet_classes_are_the_1000_names():
    names = pretrained.imagenet_classes()
    assert len(names) == 1000
    assert names[281] == "tabby" and names[967] == "espresso"


def test_preprocess_shape_and_range():
    x = pretrained.preprocess(data.chelsea())
    assert x.shape == (1, 3, 224, 224)
    assert -1.0 <= float(x.min()) < -0.5 and 0.5 < float(x.max()) <= 1.01
    same = pretrained.preprocess(torch.from_numpy(data.chelsea()).permute(2, 0, 1))
    assert torch.allclose(x, same)
    with pytest.raises(ValueError, match="H×W×3"):
        pretrained.preprocess(data.chelsea()[..., :2])
    with pytest.raises(ValueError, match="divide by 255"):
        pretrained.preprocess(torch.rand(3, 50, 50) * 255)


def test_chelsea_is_a_cat(classifier):
    top = pretrained.classify(classifier, data.chelsea(), topk=3)
    assert top[0][0] in CAT_CLASSES, top
    assert sum(p for i, _, p in top if i in CAT_CLASSES) > 0.5


def test_coffee_is_espresso_or_a_cup(classifier):
    top = pretrained.classify(classifier, data.coffee(), topk=1)
    assert top[0][0] in COFFEE_CLASSES, top
    assert top[0][2] > 0.5


def test_random_weights_do_not_know_cats():
    torch.manual_seed(0)
    top = pretrained.classify(pretrained.efficientnet_lite0(pretrained=False), data.chelsea(), topk=1)
    assert top[0][2] < 0.05  # an untrained net is not confident: the test above really tests the weights


def test_new_head_for_other_class_counts():
    net = pretrained.efficientnet_lite0(num_classes=10)
    ref = pretrained.efficientnet_lite0()
    assert net._fc.out_features == 10
    assert torch.equal(net._conv_stem.weight, ref._conv_stem.weight)


@pytest.mark.parametrize("size", [64, 65, 90])
def test_encoder_features_at_strides_2_to_32(size):
    enc = pretrained.EfficientNetLite0Encoder().eval()
    with torch.inference_mode():
        feats = enc(torch.rand(1, 3, size, size))
    assert [f.shape[1] for f in feats] == list(enc.out_channels)
    assert [f.shape[-1] for f in feats] == [-(-size // s) for s in enc.strides]  # ceil(size / stride)


def test_encoder_uses_the_imagenet_weights():
    enc = pretrained.EfficientNetLite0Encoder()
    sd = torch.load(pretrained.weights_file(), weights_only=True)
    assert torch.equal(enc.stem[0].weight, sd["_conv_stem.weight"])
    assert torch.equal(enc.blocks[15]._project_conv.weight, sd["_blocks.15._project_conv.weight"])


def test_effnet_unet_freeze_trains_only_the_decoder():
    model = create("effnet-unet", num_classes=3, freeze_encoder=True)
    total, trainable = count_parameters(model), count_parameters(model, trainable_only=True)
    enc = count_parameters(model.encoder)
    assert trainable == total - enc and trainable > 0
    model.train()
    assert not model.encoder.training and model.decoder.training  # frozen BatchNorm statistics stay fixed
    unfreeze(model.encoder)
    model.train()
    assert model.encoder.training and count_parameters(model, trainable_only=True) == total


def test_effnet_unet_frozen_encoder_does_not_change_in_training():
    torch.manual_seed(0)
    model = create("effnet-unet", num_classes=2, freeze_encoder=True)
    before = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    x, y = torch.rand(2, 3, 64, 64), torch.randint(0, 2, (2, 64, 64))
    torch.nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
    after = model.encoder.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # weights and BN running stats


def test_effnet_unet_without_pretrained_weights_differs():
    a = create("effnet-unet", encoder_weights=None)
    b = create("effnet-unet")
    assert not torch.equal(a.encoder.stem[0].weight, b.encoder.stem[0].weight)
    assert create("effnet-unet", in_channels=1).encoder.stem[0].weight.shape[1] == 1


def test_param_groups_split_encoder_and_decoder():
    model = create("effnet-unet")
    groups = param_groups(model, encoder_lr=1e-4, decoder_lr=1e-3)
    assert [g["lr"] for g in groups] == [1e-4, 1e-3]
    enc_ids = {id(p) for p in model.encoder.parameters()}
    assert {id(p) for p in groups[0]["params"]} == enc_ids
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))
    torch.optim.AdamW(groups)  # usable as is
    with pytest.raises(ValueError, match="encoder"):
        param_groups(create("unet"), 1e-4, 1e-3)
    with pytest.raises(ValueError, match="encoder_lr"):
        param_groups(model, -1, 1e-3)
    unet = create("unet", base_channels=4, depth=2)
    groups = param_groups(unet, 1e-4, 1e-3, encoder=unet.inc)
    assert {id(p) for p in groups[0]["params"]} == {id(p) for p in unet.inc.parameters()}
    with pytest.raises(ValueError, match="not a part"):
        param_groups(unet, 1e-4, 1e-3, encoder=create("unet").inc)


def test_freeze_and_unfreeze_return_the_module():
    net = create("unet", base_channels=4, depth=2)
    assert freeze(net) is net and count_parameters(net, trainable_only=True) == 0
    assert unfreeze(net) is net and count_parameters(net, trainable_only=True) == count_parameters(net)


@pytest.mark.parametrize("size", [(180, 240), (37, 53), (584, 565)])
def test_effnet_unet_pads_internally_and_returns_logits_at_the_input_size(size):
    model = create("effnet-unet", in_channels=3, num_classes=3, encoder_weights=None, pad_multiple=32).eval()
    with torch.no_grad():
        out = model(torch.rand(1, 3, *size))
    assert out.shape == (1, 3, *size)


def test_effnet_unet_padding_is_invisible_for_sizes_already_a_multiple():
    torch.manual_seed(0)
    plain = create("effnet-unet", in_channels=3, num_classes=2, encoder_weights=None).eval()
    padded = create("effnet-unet", in_channels=3, num_classes=2, encoder_weights=None, pad_multiple=32).eval()
    padded.load_state_dict(plain.state_dict())
    x = torch.rand(2, 3, 64, 96)
    with torch.no_grad():
        assert torch.allclose(plain(x), padded(x), atol=1e-6)


def test_effnet_unet_full_resolution_skip_sees_single_pixel_detail():
    model = create("effnet-unet", in_channels=3, num_classes=2, encoder_weights=None, full_res_skip=8)
    assert model.full_res is not None and model.decoder[-1].uses_skip
    assert create("effnet-unet", in_channels=3, num_classes=2, encoder_weights=None).full_res is None
    x = torch.rand(1, 3, 64, 64, requires_grad=True)
    model.eval()(x)[0, 1, 31, 31].backward()
    assert x.grad.abs().sum() > 0


def test_effnet_unet_frozen_blocks_freeze_the_stem_and_first_blocks_and_their_batchnorm():
    model = create("effnet-unet", in_channels=3, num_classes=2, encoder_weights=None, frozen_blocks=3)
    frozen = [model.encoder.stem, *list(model.encoder.blocks)[:3]]
    assert not any(p.requires_grad for m in frozen for p in m.parameters())
    assert all(p.requires_grad for p in model.encoder.blocks[3].parameters())
    model.train()
    assert all(not m.training for m in frozen) and model.encoder.blocks[3].training and model.decoder.training
    before = model.encoder.stem[1].running_mean.clone()
    model(torch.rand(2, 3, 64, 64))
    assert torch.equal(before, model.encoder.stem[1].running_mean), "frozen BatchNorm statistics must not move"
    assert len(model.state_dict()) == len(create("effnet-unet", in_channels=3, num_classes=2, encoder_weights=None).state_dict())


@pytest.mark.parametrize("options, message", [
    ({"pad_multiple": 0}, "pad_multiple"),
    ({"full_res_skip": -1}, "full_res_skip"),
    ({"frozen_blocks": 99}, "frozen_blocks"),
    ({"frozen_blocks": True}, "frozen_blocks"),
])
def test_effnet_unet_bad_options_name_the_argument(options, message):
    with pytest.raises(ValueError, match=message):
        create("effnet-unet", in_channels=3, num_classes=2, encoder_weights=None, **options)
