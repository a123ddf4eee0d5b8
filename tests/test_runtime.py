import pytest
import torch

from course_lib import runtime


def test_pick_device_auto_and_cpu(monkeypatch):
    monkeypatch.delenv(runtime.DEVICE_ENV, raising=False)
    auto = runtime.pick_device()
    assert auto.type == ("cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu")
    assert runtime.pick_device("cpu") == torch.device("cpu")


def test_environment_override(monkeypatch):
    monkeypatch.setenv(runtime.DEVICE_ENV, "cpu")
    assert runtime.pick_device() == torch.device("cpu")
    monkeypatch.setenv(runtime.DEVICE_ENV, "tpu")
    with pytest.raises(ValueError, match="COURSE_DEVICE"):
        runtime.pick_device()


@pytest.mark.skipif(torch.cuda.is_available(), reason="machine has a GPU")
def test_asking_for_missing_cuda_is_a_clear_error():
    with pytest.raises(ValueError, match="no CUDA GPU"):
        runtime.pick_device("cuda")


def test_seed_reproduces():
    runtime.seed_everything(3)
    a = torch.rand(4)
    runtime.seed_everything(3)
    assert torch.equal(a, torch.rand(4))
    runtime.seed_everything(4)
    assert not torch.equal(a, torch.rand(4))
    with pytest.raises(ValueError, match="seed"):
        runtime.seed_everything(-1)


def test_threads_and_setup(capsys):
    before = torch.get_num_threads()
    try:
        assert runtime.set_threads(1) == 1 and torch.get_num_threads() == 1
        with pytest.raises(ValueError, match="threads"):
            runtime.set_threads(0)
        info = runtime.setup(seed=1, device="cpu", threads=1)
        assert info.seed == 1 and info.device == torch.device("cpu")
        assert "course_lib ready: device=cpu" in capsys.readouterr().out
    finally:
        torch.set_num_threads(before)
