"""Parameter counts, speed measurement and the summary table."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from course_lib.models import count_parameters, create, measure_speed, summary


def test_count_parameters_by_hand():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    assert count_parameters(net) == 3 * 4 * 9 + 4 + 4 + 4
    net[0].weight.requires_grad_(False)
    assert count_parameters(net, trainable_only=True) == 4 + 4 + 4
    with pytest.raises(TypeError, match="nn.Module"):
        count_parameters("unet")


def test_measure_speed_inference_and_train():
    net = create("unet", base_channels=4, depth=2)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    ips = measure_speed(net, input_size=(32, 32), batch_size=4, repeats=2, device="cpu")
    assert ips > 0
    ips_train = measure_speed(net, input_size=(1, 3, 32, 32), batch_size=4, repeats=2, device="cpu", mode="train")
    assert 0 < ips_train
    after = net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # the model itself was not trained
    assert net.training  # mode restored


def test_measure_speed_rejects_bad_arguments():
    net = create("unet", base_channels=4, depth=2)
    with pytest.raises(ValueError, match="input_size"):
        measure_speed(net, input_size=(32,))
    with pytest.raises(ValueError, match="mode"):
        measure_speed(net, mode="fast")
    with pytest.raises(ValueError, match="repeats"):
        measure_speed(net, repeats=0)


def test_summary_table():
    net = create("unet", base_channels=4, depth=2)
    s = summary(net, input_size=(1, 3, 32, 32))
    text = str(s)
    assert s.total == count_parameters(net)
    assert "inc" in text and "downs" in text and "head" in text
    assert "1×2×32×32" in text  # output shape of the head
    assert f"{count_parameters(net):,}" in text
    assert repr(s) == text
