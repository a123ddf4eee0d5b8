import math
import os
import warnings

import numpy as np
import pytest
import torch
from torch import nn

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

from course_lib import models  # noqa: E402
from course_lib.deploy import (  # noqa: E402
    OnnxSegmenter,
    benchmark,
    compare_outputs,
    export_onnx,
    onnx_input_shape,
    quantize_dynamic_onnx,
)


class Plain(nn.Module):
    """A fully convolutional toy segmenter with nothing size-dependent in its forward."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Dropout(0.5),
                                  nn.Conv2d(8, 5, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class SizeToInt(Plain):
    """The same, but its forward turns the height into a Python int: no dynamic height and width then."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = int(x.shape[-2])
        return self.body(x)[..., :h, :]


def _logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return model(x)


def _close(model: nn.Module, segmenter: OnnxSegmenter, x: torch.Tensor) -> dict:
    report = compare_outputs(_logits(model, x), segmenter(x))
    assert report["max_abs_diff"] < 1e-4 and report["argmax_agreement"] > 0.999, report
    return report


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    torch.manual_seed(0)
    model = models.create("unet", in_channels=3, num_classes=4, base_channels=4, depth=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # by default the size is fixed, quietly
        return model, export_onnx(model, tmp_path_factory.mktemp("onnx") / "unet.onnx", input_shape=(1, 3, 32, 48))


@pytest.fixture(scope="module", params=[(180, 240), (192, 256)], ids=["240x180", "256x192"])
def effnet(request, tmp_path_factory):
    torch.manual_seed(0)
    model = models.create("effnet-unet", in_channels=3, num_classes=11, encoder_weights=None)
    h, w = request.param
    path = export_onnx(model, tmp_path_factory.mktemp("onnx") / "effnet.onnx", input_shape=(1, 3, h, w))
    return model, path, (h, w)


# ---- export and run --------------------------------------------------------------------------------
def test_small_unet_matches_torch_with_a_dynamic_batch(small):
    model, path = small
    segmenter = OnnxSegmenter(path, threads=1)
    assert segmenter.input_name == "images" and segmenter.providers == ["CPUExecutionProvider"]
    assert onnx_input_shape(path) == ("batch", 3, 32, 48)
    for n in (1, 3):
        logits = segmenter(torch.rand(n, 3, 32, 48))
        assert isinstance(logits, torch.Tensor) and logits.shape == (n, 4, 32, 48) and logits.dtype == torch.float32
    _close(model, segmenter, torch.rand(2, 3, 32, 48))
    array = np.random.default_rng(0).random((1, 3, 32, 48), dtype=np.float32)  # numpy in, torch out
    assert compare_outputs(_logits(model, torch.from_numpy(array)), segmenter(array))["max_abs_diff"] < 1e-4


def test_dynamic_height_and_width_work_when_the_model_allows(tmp_path):
    torch.manual_seed(1)
    model = Plain()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback warning
        path = export_onnx(model, tmp_path / "plain.onnx", input_shape=(1, 3, 24, 40), dynamic_hw=True)
    assert onnx_input_shape(path) == ("batch", 3, "height", "width")
    segmenter = OnnxSegmenter(path)
    for shape in [(1, 3, 24, 40), (2, 3, 37, 51), (1, 3, 96, 64)]:
        _close(model, segmenter, torch.rand(shape))


def test_a_size_fixing_model_falls_back_with_a_clear_warning(tmp_path):
    model = SizeToInt()
    with pytest.warns(UserWarning, match=r"fixed the height.*Exported for 24×40 images only"):
        path = export_onnx(model, tmp_path / "fixed.onnx", input_shape=(1, 3, 24, 40), dynamic_hw=True)
    assert onnx_input_shape(path) == ("batch", 3, 24, 40)
    segmenter = OnnxSegmenter(path)
    _close(model, segmenter, torch.rand(3, 3, 24, 40))  # the batch is still dynamic
    with pytest.raises(ValueError, match="height 32, but fixed.onnx was exported for 24"):
        segmenter(torch.rand(1, 3, 32, 40))


def test_effnet_unet_matches_torch(effnet):
    """The capstone's model, 11 CamVid classes, at 240×180 (CamVid's size) and at 256×192 (a multiple of 32)."""
    model, path, (h, w) = effnet
    assert onnx_input_shape(path) == ("batch", 3, h, w)
    segmenter = OnnxSegmenter(path)
    for n in (1, 2):
        _close(model, segmenter, torch.rand(n, 3, h, w))
    with pytest.raises(ValueError, match="resize or pad the images"):
        segmenter(torch.rand(1, 3, 2 * h, 2 * w))


def test_export_restores_every_module_mode_writes_atomically_and_keeps_the_old_file_on_error(tmp_path):
    model = models.create("unet", in_channels=3, num_classes=2, base_channels=4, depth=1)
    model.train()
    model.inc.eval()  # a part frozen in eval mode stays so
    before = {name: m.training for name, m in model.named_modules()}
    path = export_onnx(model, tmp_path / "sub" / "model.onnx", input_shape=(1, 3, 16, 16))
    assert {name: m.training for name, m in model.named_modules()} == before
    assert os.listdir(tmp_path / "sub") == ["model.onnx"] and path == tmp_path / "sub" / "model.onnx"
    model.eval()
    export_onnx(model, path, input_shape=(1, 3, 8, 8))  # replaces the file
    assert not model.training and os.listdir(tmp_path / "sub") == ["model.onnx"]
    assert onnx_input_shape(path) == ("batch", 3, 8, 8)
    before = path.read_bytes()

    class Broken(Plain):
        def forward(self, x):
            return self.body(x).sum(dim=(2, 3))  # N×C: not a segmentation output

    with pytest.raises(ValueError, match="logits N×classes×H×W"):
        export_onnx(Broken(), path, input_shape=(1, 3, 8, 8))
    assert path.read_bytes() == before and os.listdir(tmp_path / "sub") == ["model.onnx"]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"path": "model.pt"}, ValueError, "must end in '.onnx'"),
        ({"path": 3}, TypeError, "file path"),
        ({"input_shape": (3, 32, 32)}, ValueError, "four positive ints"),
        ({"input_shape": (1, 3, 0, 32)}, ValueError, "four positive ints"),
        ({"example": torch.rand(3, 16, 16)}, ValueError, "N×C×H×W"),
        ({"example": torch.zeros(1, 3, 16, 16, dtype=torch.long)}, ValueError, "float"),
        ({"example": np.zeros((1, 3, 16, 16))}, TypeError, "torch.Tensor"),
        ({"dynamic_hw": "yes"}, TypeError, "True or False"),
        ({"opset": 7}, ValueError, "opset"),
    ],
)
def test_export_rejects_bad_arguments(tmp_path, kwargs, error, match):
    args = {"path": tmp_path / "m.onnx", **kwargs}
    with pytest.raises(error, match=match):
        export_onnx(Plain(), **args)


def test_export_rejects_a_folder_and_a_non_model(tmp_path):
    folder = tmp_path / "dir.onnx"
    folder.mkdir()
    with pytest.raises(ValueError, match="is a folder"):
        export_onnx(Plain(), folder)
    with pytest.raises(TypeError, match="torch.nn.Module"):
        export_onnx(lambda x: x, tmp_path / "m.onnx")


def test_segmenter_rejects_bad_files_and_images(small, tmp_path):
    _, path = small
    with pytest.raises(FileNotFoundError, match="export one first"):
        OnnxSegmenter(tmp_path / "missing.onnx")
    with pytest.raises(ValueError, match="threads"):
        OnnxSegmenter(path, threads=0)
    segmenter = OnnxSegmenter(path)
    with pytest.raises(ValueError, match=r"images\[None\]"):
        segmenter(torch.rand(3, 32, 48))
    with pytest.raises(TypeError, match="float images"):
        segmenter(torch.zeros(1, 3, 32, 48, dtype=torch.uint8))
    with pytest.raises(ValueError, match="channels 1"):
        segmenter(torch.rand(1, 1, 32, 48))
    with pytest.raises(TypeError, match="torch.Tensor or numpy array"):
        segmenter([[0.0]])
    assert "threads=" in repr(segmenter) and segmenter.threads == torch.get_num_threads()


# ---- comparing -------------------------------------------------------------------------------------
def test_compare_outputs_reports_differences_and_label_agreement():
    a = torch.zeros(1, 2, 2, 2)
    a[:, 0] = 1.0
    b = a.clone()
    b[0, 1, 0, 0] = 1.5  # one pixel changes its label, by 1.5
    report = compare_outputs(a, b.numpy())
    assert report == {"max_abs_diff": 1.5, "mean_abs_diff": 1.5 / 8, "argmax_agreement": 0.75}
    assert compare_outputs(a, a)["argmax_agreement"] == 1.0
    with pytest.raises(ValueError, match="same shape"):
        compare_outputs(a, a[:, :1])
    with pytest.raises(ValueError, match="NaN"):
        compare_outputs(a, torch.full_like(a, math.nan))
    with pytest.raises(ValueError, match="N×C×H×W"):
        compare_outputs(a[0], a[0])


# ---- timing ----------------------------------------------------------------------------------------
def test_benchmark_times_torch_and_onnx_alike(small):
    model, path = small
    model.train()
    images = torch.rand(4, 3, 32, 48)
    for fn in (model, OnnxSegmenter(path, threads=1)):
        result = benchmark(fn, images, warmup=1, repeats=5, batch_size=2)
        assert set(result) == {"latency_ms_median", "latency_ms_p90", "images_per_second", "batch_size", "repeats", "threads"}
        assert 0 < result["latency_ms_median"] <= result["latency_ms_p90"] < 10_000
        assert result["images_per_second"] == pytest.approx(2 / (result["latency_ms_median"] / 1000))
        assert result["batch_size"] == 2 and result["repeats"] == 5
    assert result["threads"] == 1
    assert benchmark(model, images, repeats=1)["threads"] == torch.get_num_threads()
    assert model.training  # put back in train mode


def test_benchmark_rejects_bad_arguments(small):
    model = small[0]
    images = torch.rand(2, 3, 32, 48)
    with pytest.raises(ValueError, match="fewer than batch_size=4"):
        benchmark(model, images, batch_size=4)
    with pytest.raises(ValueError, match="repeats"):
        benchmark(model, images, repeats=0)
    with pytest.raises(ValueError, match="warmup"):
        benchmark(model, images, warmup=-1)
    with pytest.raises(TypeError, match="callable"):
        benchmark("model", images)
    with pytest.raises(ValueError, match="N×C×H×W"):
        benchmark(model, images[0])


# ---- quantising ------------------------------------------------------------------------------------
def test_quantize_dynamic_onnx_writes_a_runnable_int8_copy(small, tmp_path):
    model, path = small
    dst = quantize_dynamic_onnx(path, tmp_path / "q" / "unet.int8.onnx")
    assert dst.is_file() and os.listdir(dst.parent) == ["unet.int8.onnx"]
    x = torch.rand(2, 3, 32, 48)
    report = compare_outputs(_logits(model, x), OnnxSegmenter(dst)(x))
    assert report["max_abs_diff"] < 1.0 and report["argmax_agreement"] > 0.5, report  # close, not equal
    with pytest.raises(ValueError, match="is src"):
        quantize_dynamic_onnx(path, path)
    with pytest.raises(FileNotFoundError):
        quantize_dynamic_onnx(tmp_path / "none.onnx", tmp_path / "out.onnx")
