"""Checkpoints: safe round trips (weights_only=True), rebuilding from the recorded spec, ready-made ones."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course_lib.models import checkpoint_info, create, list_checkpoints, load_checkpoint, pretrained_checkpoint, save_checkpoint


def _same_output(a, b, shape=(1, 3, 40, 40)):
    x = torch.rand(shape)
    with torch.inference_mode():
        return torch.equal(a.eval()(x), b.eval()(x))


def test_round_trip_rebuilds_the_model(tmp_path):
    torch.manual_seed(0)
    model = create("unet", num_classes=3, base_channels=4, depth=2, skip=False)
    path = save_checkpoint(model, tmp_path / "unet.pt", epoch=3, miou=np.float32(0.5), classes=["a", "b", "c"])
    raw = torch.load(path, weights_only=True)  # a plain safe load works
    assert raw["spec"]["options"] == {"base_channels": 4, "depth": 2, "skip": False}
    loaded = load_checkpoint(path)
    assert loaded.course_spec == model.course_spec
    assert loaded.checkpoint_meta == {"epoch": 3, "miou": 0.5, "classes": ["a", "b", "c"]}
    assert _same_output(model, loaded)
    assert not loaded.training


def test_load_into_a_given_model_and_bare_state_dicts(tmp_path):
    model = create("segnet", base_channels=4, depth=2)
    torch.save(model.state_dict(), tmp_path / "bare.pt")
    other = create("segnet", base_channels=4, depth=2)
    assert load_checkpoint(tmp_path / "bare.pt", model=other) is other
    assert _same_output(model, other)
    with pytest.raises(ValueError, match="does not record"):
        load_checkpoint(tmp_path / "bare.pt")
    with pytest.raises(ValueError, match="do not fit"):
        load_checkpoint(tmp_path / "bare.pt", model=create("segnet", base_channels=8, depth=2))


def test_effnet_and_smp_rebuild_without_pretrained_downloads(tmp_path, monkeypatch):
    from course_lib.models import pretrained

    model = create("effnet-unet", num_classes=2, freeze_encoder=True)
    path = save_checkpoint(model, tmp_path / "effnet")
    assert path.suffix == ".pt"

    def no_weights():
        raise AssertionError("rebuilding from a checkpoint must not read the ImageNet file")

    monkeypatch.setattr(pretrained, "_imagenet_state_dict", no_weights)
    loaded = load_checkpoint(path)
    assert _same_output(model, loaded, (1, 3, 64, 64))
    assert loaded.course_spec["options"] == {"freeze_encoder": True}
    smp_model = create("fpn", num_classes=2, encoder_weights=None)
    loaded = load_checkpoint(save_checkpoint(smp_model, tmp_path / "fpn.pt"))
    assert _same_output(smp_model, loaded, (1, 3, 64, 64))


def test_unsafe_meta_is_refused(tmp_path):
    model = create("unet", base_channels=4, depth=2)
    with pytest.raises(ValueError, match="meta"):
        save_checkpoint(model, tmp_path / "x.pt", callback=lambda: 1)
    assert not (tmp_path / "x.pt").exists()
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind


def test_a_pickled_object_is_not_loaded(tmp_path):
    import datetime

    torch.save({"format": "x", "obj": datetime.date(2024, 1, 1)}, tmp_path / "evil.pt")  # any non-tensor class
    with pytest.raises(ValueError, match="weights_only"):
        load_checkpoint(tmp_path / "evil.pt")
    with pytest.raises(FileNotFoundError, match="No checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")


def test_checkpoint_info_without_building(tmp_path):
    path = save_checkpoint(create("fcn", base_channels=4), tmp_path / "f.pt", note="hi")
    info = checkpoint_info(path)
    assert info["spec"]["name"] == "fcn" and info["meta"] == {"note": "hi"}


def test_pretrained_checkpoint_from_the_checkpoint_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CHECKPOINT_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError) as err:
        pretrained_checkpoint("unet-nuclei")
    msg = str(err.value)
    assert "unet-nuclei" in msg and "save_checkpoint" in msg and "COURSE_CHECKPOINT_DIR" in msg
    model = create("unet", base_channels=4, depth=2)
    save_checkpoint(model, tmp_path / "unet-nuclei.pt", dice=0.8)
    assert list_checkpoints() == ["unet-nuclei"]
    ready = pretrained_checkpoint("unet-nuclei")
    assert ready.checkpoint_meta["dice"] == 0.8
    assert _same_output(model, ready)
    with pytest.raises(ValueError, match="name"):
        pretrained_checkpoint("../secrets")


def test_half_precision_checkpoints_are_half_the_size_and_load_into_float32(tmp_path):
    torch.manual_seed(0)
    model = create("unet", in_channels=1, num_classes=2, base_channels=8, depth=2).eval()
    full = save_checkpoint(model, tmp_path / "full.pt")
    half = save_checkpoint(model, tmp_path / "half.pt", half=True)
    assert half.stat().st_size < 0.6 * full.stat().st_size
    loaded = load_checkpoint(half)
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    x = torch.rand(1, 1, 32, 32)
    with torch.no_grad():
        assert torch.allclose(loaded(x), model(x), atol=1e-2)
    with pytest.raises(ValueError, match="half"):
        save_checkpoint(model, tmp_path / "bad.pt", half="yes")
