"""Deploying a segmentation model: export it to ONNX, run it with ONNX Runtime, check it agrees, time it, shrink it.

Introduced in the autonomous-driving capstone. ``export_onnx`` uses PyTorch's ``torch.export``-based exporter
(``torch.onnx.export(..., dynamo=True)``, which needs ``onnx`` and ``onnxscript``); the TorchScript exporter it
replaces is deprecated. The batch dimension is always dynamic; height and width are fixed to the example's size
unless asked for (``dynamic_hw=True``), and then only where the model allows it (otherwise a warning says so).

``OnnxSegmenter`` runs the exported file with ONNX Runtime on the CPU and is called like the torch model:
images N×3×H×W float32 in, logits N×C×H×W out (a torch tensor). ``compare_outputs`` and ``benchmark`` work on
both, so the two can be checked and timed side by side.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn

from .validation import check_int

__all__ = [
    "DEFAULT_OPSET",
    "INPUT_NAME",
    "OUTPUT_NAME",
    "OnnxSegmenter",
    "benchmark",
    "compare_outputs",
    "export_onnx",
    "onnx_input_shape",
    "quantize_dynamic_onnx",
]

DEFAULT_OPSET = 18
INPUT_NAME = "images"
OUTPUT_NAME = "logits"
_SUFFIX = ".onnx"


# ----------------------------------------------------------------------------------------------------- helpers
def _check_out_path(path: Any, name: str = "path") -> Path:
    """``path`` as a Path ending in .onnx that is not a folder; its parent folder is created."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a file path (str or Path), got {type(path).__name__}.")
    path = Path(path)
    if path.suffix != _SUFFIX:
        raise ValueError(f"{name}={str(path)!r} must end in {_SUFFIX!r}, e.g. 'model{_SUFFIX}'.")
    if path.is_dir():
        raise ValueError(f"{name}={str(path)!r} is a folder; give a file name inside it, e.g. {str(path / 'model.onnx')!r}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _check_in_path(path: Any, name: str = "path") -> Path:
    """``path`` as a Path to an existing .onnx file."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a file path (str or Path), got {type(path).__name__}.")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{name}={str(path)!r}: no such file; export one first with export_onnx(model, {str(path)!r}).")
    return path


def _write_atomically(path: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then move it into place (never a half file)."""
    fd, tmp = tempfile.mkstemp(prefix=path.stem + ".", suffix=".tmp" + _SUFFIX, dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _images_array(images: Any, name: str = "images") -> np.ndarray:
    """``images`` (torch tensor or numpy array, N×C×H×W) as a contiguous float32 numpy array."""
    if isinstance(images, torch.Tensor):
        images = images.detach().cpu().numpy()
    if not isinstance(images, np.ndarray):
        raise TypeError(f"{name} must be a torch.Tensor or numpy array N×C×H×W, got {type(images).__name__}.")
    if images.ndim != 4:
        hint = " (add the batch axis with images[None])" if images.ndim == 3 else ""
        raise ValueError(f"{name} has shape {images.shape}; expected N×C×H×W{hint}.")
    if images.dtype.kind != "f":
        raise TypeError(f"{name} has dtype {images.dtype}; pass float images scaled to [0, 1] (e.g. x.float() / 255).")
    return np.ascontiguousarray(images, dtype=np.float32)


def _module_modes(model: nn.Module) -> dict[nn.Module, bool]:
    return {m: m.training for m in model.modules()}


def _restore_modes(modes: dict[nn.Module, bool]) -> None:
    for module, training in modes.items():
        module.training = training


# ----------------------------------------------------------------------------------------------------- export
def _example_input(model: nn.Module, example: Any, input_shape: Sequence[int]) -> torch.Tensor:
    """The tensor to export with: ``example`` checked, or random [0, 1] images of ``input_shape``."""
    if example is None:
        shape = tuple(input_shape) if isinstance(input_shape, (tuple, list, torch.Size)) else ()
        if len(shape) != 4 or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0 for s in shape):
            raise ValueError(f"input_shape={input_shape!r} must be four positive ints N, C, H, W, e.g. (1, 3, 192, 256).")
        example = torch.rand(shape, generator=torch.Generator().manual_seed(0))
    if not isinstance(example, torch.Tensor):
        raise TypeError(f"example must be a torch.Tensor N×C×H×W (or None to use input_shape), got {type(example).__name__}.")
    if example.ndim != 4 or not example.is_floating_point():
        raise ValueError(
            f"example must be a float N×C×H×W tensor, got shape {tuple(example.shape)} and dtype {example.dtype}."
        )
    first = next(iter(model.parameters()), None)
    return example.detach().to(first.device if first is not None else example.device, torch.float32)


def _run_exporter(model: nn.Module, example: torch.Tensor, tmp: Path, dynamic_hw: bool, opset: int) -> None:
    """One torch.export-based ONNX export of ``model`` to ``tmp`` (weights inside the file), quietly."""
    dims: dict[int, Any] = {0: torch.export.Dim("batch", min=1, max=4096)}
    if dynamic_hw:
        dims[2] = torch.export.Dim("height", min=8, max=8192)
        dims[3] = torch.export.Dim("width", min=8, max=8192)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):  # the exporter narrates each step
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (example,),
            str(tmp),
            dynamo=True,
            dynamic_shapes=(dims,),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            opset_version=opset,
            external_data=False,
            verbose=False,
        )


def _hw_problem(model: nn.Module, example: torch.Tensor, tmp: Path) -> str | None:
    """None when the file at ``tmp`` has a dynamic height and width that work at a second size, else why not."""
    fixed = [name for name, dim in zip(("height", "width"), onnx_input_shape(tmp)[2:]) if isinstance(dim, int)]
    if fixed:
        return (f"the exporter fixed the {' and '.join(fixed)}, because the model's forward turns a size into a "
                f"Python number (an int(...) or an `if` on a size)")
    c, h, w = example.shape[1:]
    probe = torch.rand(1, c, h + 32, w + 32, generator=torch.Generator().manual_seed(1)).to(example.device)
    try:
        with torch.no_grad():
            expected = model(probe)
        close = compare_outputs(expected, OnnxSegmenter(tmp)(probe))
    except Exception as err:  # ONNX Runtime refuses the other size, or the model does
        return f"the file fails at {h + 32}×{w + 32} ({type(err).__name__}: {str(err).splitlines()[0][:120]})"
    if close["max_abs_diff"] > 1e-3 or close["argmax_agreement"] < 0.999:
        return f"the file's logits differ from the model's at {h + 32}×{w + 32} (by up to {close['max_abs_diff']:.2g})"
    return None


def onnx_input_shape(path: str | os.PathLike) -> tuple[int | str, ...]:
    """The input shape stored in an ONNX file: ints for fixed sizes, names (e.g. 'batch', 'height') for dynamic ones."""
    import onnx

    graph = onnx.load(str(_check_in_path(path)), load_external_data=False).graph
    dims = graph.input[0].type.tensor_type.shape.dim
    return tuple(d.dim_param if d.dim_param else int(d.dim_value) for d in dims)


def _export_to(tmp: Path, model: nn.Module, x: torch.Tensor, dynamic_hw: bool, opset: int) -> None:
    """Export ``model`` traced on ``x`` to ``tmp``; when dynamic height and width fail, warn and export fixed."""
    problem = None
    try:
        _run_exporter(model, x, tmp, dynamic_hw, opset)
        if dynamic_hw:
            problem = _hw_problem(model, x, tmp)
    except Exception as err:
        if not dynamic_hw:
            raise
        problem = f"the exporter failed ({type(err).__name__}: {str(err).splitlines()[0][:200]})"
    if problem:
        warnings.warn(
            f"export_onnx: no dynamic height and width for this model: {problem}. Exported for "
            f"{x.shape[2]}×{x.shape[3]} images only (the batch stays dynamic): resize or pad inputs to that size.",
            stacklevel=5,
        )
        _run_exporter(model, x, tmp, False, opset)
    if isinstance(onnx_input_shape(tmp)[0], int):
        warnings.warn(f"export_onnx: the model's forward fixed the batch size at {x.shape[0]}; feed that many "
                      f"images at a time.", stacklevel=5)


def export_onnx(
    model: nn.Module,
    path: str | os.PathLike,
    example: torch.Tensor | None = None,
    *,
    input_shape: Sequence[int] = (1, 3, 192, 256),
    dynamic_hw: bool = False,
    opset: int = DEFAULT_OPSET,
) -> Path:
    """Export ``model`` (images N×C×H×W -> logits) to one ONNX file at ``path``, batch dynamic; returns the path.

    ``example`` (or random images of ``input_shape``) is what the exporter traces with; the file then takes
    images of that height and width. ``dynamic_hw=True`` asks for any height and width: the file is checked at a
    second size, and if the model cannot be exported that way (its forward turns a size into a Python number),
    the export falls back to the example's size and warns; ``onnx_input_shape(path)`` shows what was stored.
    It is off by default because torch.export can take many minutes on models that compute with sizes (the
    EfficientNet encoder's TensorFlow-style "same" padding). The model is exported in eval mode and gets its
    train/eval state back; the file is written atomically.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
    if not isinstance(dynamic_hw, bool):
        raise TypeError(f"dynamic_hw={dynamic_hw!r} must be True or False.")
    opset = check_int("opset", opset, minimum=13)
    x = _example_input(model, example, input_shape)
    path = _check_out_path(path)
    if x.shape[0] == 1:  # torch.export treats a size-1 dimension as fixed: trace the batch with two images
        x = torch.cat([x, x.flip(-1)])
    modes = _module_modes(model)
    model.eval()
    try:
        with torch.no_grad():
            out = model(x)
        if not isinstance(out, torch.Tensor) or out.ndim != 4 or out.shape[0] != x.shape[0]:
            got = f"shape {tuple(out.shape)}" if isinstance(out, torch.Tensor) else type(out).__name__
            raise ValueError(
                f"model must map images N×C×H×W to logits N×classes×H×W; for {tuple(x.shape)} it returned {got}."
            )
        return _write_atomically(path, lambda tmp: _export_to(tmp, model, x, dynamic_hw, opset))
    finally:
        _restore_modes(modes)


# ----------------------------------------------------------------------------------------------------- running
class OnnxSegmenter:
    """An exported segmentation model run by ONNX Runtime on the CPU; call it like the torch model.

    ``threads`` sets ONNX Runtime's intra-op threads; None uses ``torch.get_num_threads()`` so that a
    comparison with the torch model is fair. Calling it with images N×3×H×W (torch or numpy, float) returns
    the logits as a torch tensor.
    """

    def __init__(self, path: str | os.PathLike, threads: int | None = None) -> None:
        import onnxruntime as ort

        self.path = _check_in_path(path)
        self.threads = torch.get_num_threads() if threads is None else check_int("threads", threads)
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only
        self.session = ort.InferenceSession(str(self.path), sess_options=options, providers=["CPUExecutionProvider"])
        first = self.session.get_inputs()[0]
        self.input_name: str = first.name
        self.input_shape: tuple[int | str, ...] = tuple(d if isinstance(d, int) else str(d) for d in first.shape)

    @property
    def providers(self) -> list[str]:
        """The ONNX Runtime execution providers in use (here: ['CPUExecutionProvider'])."""
        return list(self.session.get_providers())

    def _check_shape(self, array: np.ndarray) -> None:
        for axis, (want, got) in enumerate(zip(self.input_shape, array.shape)):
            if isinstance(want, int) and want != got:
                what = ("channels", "height", "width")[axis - 1] if axis else "batch size"
                raise ValueError(
                    f"images have {what} {got}, but {self.path.name} was exported for {want} (input shape "
                    f"{self.input_shape}); resize or pad the images to that size, or export the model again for this one."
                )

    def __call__(self, images: torch.Tensor | np.ndarray) -> torch.Tensor:
        """Logits N×C×H×W (torch.float32) for float images N×C×H×W."""
        array = _images_array(images)
        self._check_shape(array)
        logits = self.session.run(None, {self.input_name: array})[0]
        return torch.from_numpy(np.asarray(logits))

    def __repr__(self) -> str:
        return f"OnnxSegmenter({str(self.path)!r}, threads={self.threads}, input {self.input_name} {self.input_shape})"


# ----------------------------------------------------------------------------------------------------- checking
def _logits_tensor(x: Any, name: str) -> torch.Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor or numpy array of logits N×C×H×W, got {type(x).__name__}.")
    if x.ndim != 4 or not x.is_floating_point():
        raise ValueError(f"{name} must be float logits N×C×H×W, got shape {tuple(x.shape)} and dtype {x.dtype}.")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} holds NaN or inf values; the model (or its export) is broken before any comparison.")
    return x.detach().cpu().double()


def compare_outputs(torch_logits: Any, onnx_logits: Any) -> dict[str, float]:
    """How close two models' logits are: max and mean absolute difference, and the share of pixels with the same argmax."""
    a, b = _logits_tensor(torch_logits, "torch_logits"), _logits_tensor(onnx_logits, "onnx_logits")
    if a.shape != b.shape:
        raise ValueError(
            f"torch_logits {tuple(a.shape)} and onnx_logits {tuple(b.shape)} must have the same shape; "
            f"run both on the same images."
        )
    diff = (a - b).abs()
    return {
        "max_abs_diff": float(diff.max()),
        "mean_abs_diff": float(diff.mean()),
        "argmax_agreement": float((a.argmax(1) == b.argmax(1)).double().mean()),
    }


# ----------------------------------------------------------------------------------------------------- timing
def benchmark(
    fn: Callable[[Any], Any],
    images: torch.Tensor | np.ndarray,
    warmup: int = 2,
    repeats: int = 10,
    batch_size: int = 1,
) -> dict[str, float | int]:
    """Time ``fn`` (a torch model or an OnnxSegmenter) on batches of ``images``: latency per batch and images per second.

    A torch model runs in eval mode under ``torch.inference_mode()`` and gets its train/eval state back. The
    result also records the batch size, the number of timed runs and the threads used (``fn.threads`` for an
    OnnxSegmenter, ``torch.get_num_threads()`` for torch).
    """
    if not callable(fn):
        raise TypeError(f"fn must be a model or callable taking images, got {type(fn).__name__}.")
    warmup = check_int("warmup", warmup, minimum=0)
    repeats = check_int("repeats", repeats)
    batch_size = check_int("batch_size", batch_size)
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(_images_array(images))
    _images_array(images[:1] if isinstance(images, torch.Tensor) else images)  # type and shape check
    if images.shape[0] < batch_size:
        raise ValueError(
            f"images holds {images.shape[0]} image(s), fewer than batch_size={batch_size}; "
            f"pass more images or a smaller batch."
        )
    batches = [images[i : i + batch_size] for i in range(0, images.shape[0] - batch_size + 1, batch_size)]
    is_module = isinstance(fn, nn.Module)
    if is_module:
        first = next(iter(fn.parameters()), None)
        device = first.device if first is not None else torch.device("cpu")
        batches = [b.to(device) for b in batches]
        modes = _module_modes(fn)
        fn.eval()
    times: list[float] = []
    try:
        with torch.inference_mode():
            for i in range(warmup + repeats):
                batch = batches[i % len(batches)]
                start = time.perf_counter()
                fn(batch)
                if is_module and device.type == "cuda":
                    torch.cuda.synchronize(device)
                elapsed = time.perf_counter() - start
                if i >= warmup:
                    times.append(elapsed)
    finally:
        if is_module:
            _restore_modes(modes)
    median = float(np.median(times))
    return {
        "latency_ms_median": 1000 * median,
        "latency_ms_p90": 1000 * float(np.percentile(times, 90)),
        "images_per_second": batch_size / median if median > 0 else math.inf,
        "batch_size": batch_size,
        "repeats": repeats,
        "threads": int(getattr(fn, "threads", torch.get_num_threads())),
    }


# ----------------------------------------------------------------------------------------------------- quantising
class _DropPreprocessAdvice(logging.Filter):
    """Hide the quantiser's advice to pre-process first (the docstring of quantize_dynamic_onnx covers it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()


def quantize_dynamic_onnx(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
    """Write an INT8-weight copy of the ONNX model ``src`` to ``dst`` (ONNX Runtime dynamic quantisation); returns dst.

    The file is about 4× smaller and its logits stay close to the float model's, but it is not faster on a plain
    CPU: dynamic quantisation turns each convolution into ``ConvInteger``, which ONNX Runtime does not optimise
    (measured here: several times slower than float32). For CNN speed use static quantisation with calibration
    images (``onnxruntime.quantization.quantize_static``); this function is the optional, size-only step.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    src = _check_in_path(src, "src")
    dst = _check_out_path(dst, "dst")
    if dst.resolve() == src.resolve():
        raise ValueError(f"dst={str(dst)!r} is src; write the quantised model to a new file, e.g. 'model.int8.onnx'.")

    def write(tmp: Path) -> None:
        quiet = _DropPreprocessAdvice()
        logging.getLogger().addFilter(quiet)
        try:
            quantize_dynamic(str(src), str(tmp), weight_type=QuantType.QInt8)
        finally:
            logging.getLogger().removeFilter(quiet)

    return _write_atomically(dst, write)
