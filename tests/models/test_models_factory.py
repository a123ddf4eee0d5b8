"""create(): every name builds, keeps the input size (odd and even), and bad names/options fail clearly."""

from __future__ import annotations

import pytest
import torch

from course_lib import models
from course_lib.models import create, list_models, model_options

SEMANTIC = list_models("semantic")
SIZES = [(64, 64), (72, 72), (65, 71)]


def test_list_models_has_the_course_models():
    names = list_models()
    for wanted in ["unet", "segnet", "fcn", "smp-unet", "deeplabv3plus", "fpn", "maskrcnn", "effnet-unet"]:
        assert wanted in names
    assert list_models("instance") == ["maskrcnn"]
    assert "maskrcnn" not in SEMANTIC


def test_unknown_name_lists_the_valid_names():
    with pytest.raises(ValueError) as err:
        create("unett")
    msg = str(err.value)
    assert "'unett'" in msg
    for name in list_models():
        assert name in msg


@pytest.mark.parametrize("name", ["unet", "segnet", "fcn", "maskrcnn", "smp-unet", "effnet-unet"])
def test_unknown_option_names_valid_options(name):
    with pytest.raises(ValueError) as err:
        create(name, base_chanels=8)
    msg = str(err.value)
    assert "base_chanels" in msg and "valid options" in msg


@pytest.mark.parametrize(
    "name, options, needle",
    [
        ("unet", {"depth": 0}, "depth"),
        ("unet", {"upsampling": "nearest"}, "upsampling"),
        ("unet", {"skip": "yes"}, "skip"),
        ("segnet", {"base_channels": 2.5}, "base_channels"),
        ("fcn", {"variant": "4s"}, "variant"),
        ("smp-unet", {"encoder_name": "resnet-18"}, "encoder_name"),
        ("smp-unet", {"encoder_weights": "imagenett"}, "encoder_weights"),
        ("maskrcnn", {"anchor_sizes": (8, 16)}, "anchor_sizes"),
        ("effnet-unet", {"decoder_channels": (8, 8)}, "decoder_channels"),
    ],
)
def test_bad_option_values_are_explained(name, options, needle):
    with pytest.raises((ValueError, TypeError), match=needle):
        create(name, **options)


def test_bad_channel_counts():
    with pytest.raises(ValueError, match="num_classes"):
        create("unet", num_classes=0)
    with pytest.raises(ValueError, match="in_channels"):
        create("unet", in_channels=True)
    with pytest.raises(ValueError, match="background"):
        create("maskrcnn", num_classes=1)


@pytest.mark.parametrize("name", SEMANTIC)
def test_semantic_models_keep_the_input_size(name):
    torch.manual_seed(0)
    model = create(name, in_channels=3, num_classes=3).eval()
    with torch.inference_mode():
        for h, w in SIZES:
            out = model(torch.rand(1, 3, h, w))
            assert out.shape == (1, 3, h, w), f"{name} at {h}×{w}"
            assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", ["unet", "segnet", "fcn", "smp-unet", "effnet-unet"])
def test_one_input_channel_and_binary_output(name):
    model = create(name, in_channels=1, num_classes=1).eval()
    with torch.inference_mode():
        assert model(torch.rand(2, 1, 64, 64)).shape == (2, 1, 64, 64)


def test_maskrcnn_predicts_masks_at_the_input_size():
    torch.manual_seed(0)
    model = create("maskrcnn", num_classes=3).eval()
    with torch.inference_mode():
        outs = model([torch.rand(3, h, w) for h, w in SIZES])
    for out, (h, w) in zip(outs, SIZES):
        assert set(out) >= {"boxes", "labels", "scores", "masks"}
        assert out["masks"].shape[1:] == (1, h, w)
        assert out["boxes"].shape[1] == 4
        assert len(out["labels"]) <= 50


def test_create_records_how_the_model_was_built():
    model = create("unet", in_channels=1, num_classes=4, base_channels=8, depth=3)
    assert model.course_spec == {"name": "unet", "in_channels": 1, "num_classes": 4, "options": {"base_channels": 8, "depth": 3}}
    assert create("UNet").course_spec["name"] == "unet"  # names are case-insensitive


def test_model_options_show_defaults():
    opts = model_options("unet")
    assert opts["base_channels"] == 16 and opts["depth"] == 4 and opts["skip"] is True
    assert model_options("smp-unet")["encoder_name"] == "resnet18"
    assert model_options("smp-unet")["encoder_weights"] is None
    assert "freeze_encoder" in model_options("effnet-unet")


def test_default_models_are_small():
    # the course trains on a 2-core CPU: the hand-written models stay around a million parameters
    assert models.count_parameters(create("unet")) < 2_500_000
    assert models.count_parameters(create("segnet")) < 1_000_000
    assert models.count_parameters(create("fcn")) < 1_500_000
    assert 1_000_000 < models.count_parameters(create("maskrcnn")) < 1_600_000
