"""Transfer learning (lesson 08): ImageNet features pay on few images, and smp's ImageNet weights fail clearly offline."""

from __future__ import annotations

import socket
import time

import pytest
import torch
from torch.utils.data import DataLoader, RandomSampler

from course_lib import data, models, runtime, training
from course_lib.models import WeightsUnavailableError

# the recipe of lesson 08, section 7 (64×64 photo composites, 8 training images, 30 steps of 4, seed 0)
SIZE, N_TRAIN, N_TEST, STEPS, BATCH = 64, 8, 64, 30, 4


def _train_and_test(recipe: str) -> float:
    runtime.seed_everything(0)
    if recipe == "scratch":
        model = models.create("effnet-unet", num_classes=2, encoder_weights=None, encoder_bn_momentum=0.1)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    else:
        model = models.create("effnet-unet", num_classes=2, encoder_bn_momentum=0.1)
        optimizer = torch.optim.AdamW(models.param_groups(model, encoder_lr=1e-4, decoder_lr=1e-3))
    train_set = data.load("photo-composites", "train", n=N_TRAIN, size=SIZE, seed=0)
    sampler = RandomSampler(train_set, replacement=True, num_samples=STEPS * BATCH, generator=torch.Generator().manual_seed(0))
    training.fit(model, DataLoader(train_set, batch_size=BATCH, sampler=sampler), epochs=1, optimizer=optimizer,
                 seed=0, progress=False, live_plot=False)
    test_set = data.load("photo-composites", "test", n=N_TEST, size=SIZE, seed=0)
    return training.evaluate(model, DataLoader(test_set, batch_size=N_TEST))["fg_dice"]


def test_pretrained_segmenter_beats_the_same_architecture_from_scratch_at_the_smallest_data_size():
    """SLOW-ISH (about 20 s on a quiet core, 40 s on a loaded one): two 30-step trainings of effnet-unet on CPU.

    Measured (one thread, deterministic, identical on repeated runs): fine-tuned ImageNet encoder 0.522 test Dice,
    same network from scratch 0.332. The floors leave room for other CPUs' floating-point differences.
    """
    pretrained_dice = _train_and_test("pretrained")
    scratch_dice = _train_and_test("scratch")
    assert pretrained_dice >= 0.42, pretrained_dice
    assert pretrained_dice >= scratch_dice + 0.10, (pretrained_dice, scratch_dice)


@pytest.fixture
def no_network(monkeypatch):
    """Every outgoing connection fails at once, like a laptop without internet."""

    def refuse(*args, **kwargs):
        raise OSError("network disabled in tests")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_smp_imagenet_weights_offline_raise_the_course_error(no_network, monkeypatch, tmp_path):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))  # an empty cache: the weights are not there
    start = time.perf_counter()
    with pytest.raises(WeightsUnavailableError) as err:
        models.create("smp-unet", encoder_name="resnet18", encoder_weights="imagenet")
    assert time.perf_counter() - start < 10  # fails fast, no retries
    message = str(err.value)
    assert "no network" in message and "encoder_weights=None" in message and "effnet-unet" in message


def test_offline_imagenet_segmenter_needs_no_network(no_network):
    model = models.create("effnet-unet", num_classes=2)
    sd = torch.load(models.pretrained.weights_file(), weights_only=True)
    assert torch.equal(model.encoder.stem[0].weight, sd["_conv_stem.weight"])


def test_encoder_bn_momentum_option():
    import torch.nn as nn

    default = models.create("effnet-unet", encoder_weights=None)
    assert {round(m.momentum, 4) for m in default.encoder.modules() if isinstance(m, nn.BatchNorm2d)} == {0.01}
    fast = models.create("effnet-unet", encoder_weights=None, encoder_bn_momentum=0.1)
    assert {m.momentum for m in fast.encoder.modules() if isinstance(m, nn.BatchNorm2d)} == {0.1}
    for bad in (0, 1.5, "0.1", True):
        with pytest.raises(ValueError, match="encoder_bn_momentum"):
            models.create("effnet-unet", encoder_weights=None, encoder_bn_momentum=bad)
