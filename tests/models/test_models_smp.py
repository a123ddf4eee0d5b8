"""smp models: any input size via padding, clear errors, and pretrained weights only from the cache when offline."""

from __future__ import annotations

import json
import time

import pytest
import torch

from course_lib.models import WeightsUnavailableError, create, smp_models


def test_padding_wrapper_keeps_smp_results_on_divisible_sizes():
    torch.manual_seed(0)
    model = create("smp-unet", num_classes=2).eval()
    import segmentation_models_pytorch as smp

    assert isinstance(model, smp.Unet)
    x = torch.rand(1, 3, 64, 64)
    with torch.inference_mode():
        ours = model(x)
        plain = smp.Unet.forward(model, x)  # smp's own forward, no padding needed at 64
    assert torch.equal(ours, plain)


def test_odd_sizes_are_padded_not_rejected():
    model = create("deeplabv3plus", num_classes=4).eval()
    with torch.inference_mode():
        assert model(torch.rand(1, 3, 50, 77)).shape == (1, 4, 50, 77)
    import segmentation_models_pytorch as smp

    with pytest.raises(RuntimeError, match="divisible"):  # what smp alone would do
        smp.DeepLabV3Plus.forward(model, torch.rand(1, 3, 50, 77))


def test_smp_options_pass_through():
    model = create("smp-unet", num_classes=1, encoder_depth=3, decoder_channels=(32, 16, 8))
    assert model.encoder.output_stride == 8
    assert model.segmentation_head[0].in_channels == 8


def _fake_cached_resnet18(cache, encoder):
    """Write a Hugging Face cache entry for smp-hub/resnet18.imagenet holding ``encoder``'s weights."""
    from safetensors.torch import save_file
    import segmentation_models_pytorch as smp

    settings = smp.encoders.encoders["resnet18"]["pretrained_settings"]["imagenet"]
    repo = cache / ("models--" + settings["repo_id"].replace("/", "--"))
    snap = repo / "snapshots" / settings["revision"]
    snap.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(settings["revision"])
    (snap / "config.json").write_text(json.dumps({"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}))
    save_file({k: v.contiguous() for k, v in encoder.state_dict().items()}, str(snap / "model.safetensors"))


def test_imagenet_weights_offline_and_not_cached_fail_fast_with_a_hint(monkeypatch, tmp_path):
    from huggingface_hub import constants

    monkeypatch.setattr(smp_models, "hub_reachable", lambda timeout=2.0: False)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    start = time.perf_counter()
    with pytest.raises(WeightsUnavailableError) as err:
        create("smp-unet", encoder_weights="imagenet")
    assert time.perf_counter() - start < 10  # no network retries
    msg = str(err.value)
    assert "network" in msg and "effnet-unet" in msg and "encoder_weights=None" in msg


def test_imagenet_weights_are_used_from_the_cache_when_offline(monkeypatch, tmp_path):
    from huggingface_hub import constants

    torch.manual_seed(1)
    source = create("smp-unet")  # its random encoder plays the part of the ImageNet weights
    _fake_cached_resnet18(tmp_path, source.encoder)
    monkeypatch.setattr(smp_models, "hub_reachable", lambda timeout=2.0: False)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    offline_before = constants.HF_HUB_OFFLINE
    torch.manual_seed(2)
    model = create("smp-unet", encoder_weights="imagenet")
    w = "layer1.0.conv1.weight"
    assert torch.equal(model.encoder.state_dict()[w], source.encoder.state_dict()[w])
    assert constants.HF_HUB_OFFLINE == offline_before  # offline mode was only switched on while building


def test_hub_reachable_respects_offline_mode(monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert smp_models.hub_reachable() is False
