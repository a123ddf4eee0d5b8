"""Saving and loading model checkpoints safely (``torch.load(..., weights_only=True)``), and ready-made ones.

A checkpoint is a dict: the ``state_dict``, how the model was built (``spec``: name, channels, classes,
options, filled in by :func:`create`) and free-form ``meta`` (metrics, epoch, notes).
"""

from __future__ import annotations

import numbers
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = [
    "CHECKPOINT_FORMAT",
    "save_checkpoint",
    "load_checkpoint",
    "checkpoint_info",
    "pretrained_checkpoint",
    "list_checkpoints",
]

CHECKPOINT_FORMAT = "course_lib.checkpoint/1"
_SUFFIX = ".pt"


def _clean(value: Any, where: str) -> Any:
    """``value`` as plain Python/tensor data that ``weights_only=True`` can load; ValueError naming ``where`` otherwise."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value.copy())
    if isinstance(value, (list, tuple)):
        items = [_clean(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if isinstance(value, tuple) else items
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, (str, int)):
                raise ValueError(f"{where} has a key {k!r} of type {type(k).__name__}; use str keys.")
            out[k] = _clean(v, f"{where}[{k!r}]")
        return out
    if isinstance(value, (Path, torch.device, torch.dtype)):
        return str(value)
    raise ValueError(
        f"{where}={value!r} ({type(value).__name__}) cannot go into a safe checkpoint; "
        f"use numbers, strings, lists, dicts or tensors."
    )


def save_checkpoint(model: nn.Module, path: str | os.PathLike, *, half: bool = False, **meta: Any) -> Path:
    """Save ``model``'s weights, how it was built and ``meta`` (e.g. ``epoch=3, miou=0.71``) to ``path``; returns it.

    The file is written atomically (a half-written checkpoint never replaces a good one). ``half=True`` stores
    floating-point weights as float16 (half the size); loading casts them back to the model's own dtype.
    """
    if not isinstance(half, bool):
        raise ValueError(f"half={half!r} must be True or False.")
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
    path = Path(path)
    if path.suffix == "":
        path = path.with_suffix(_SUFFIX)
    spec = getattr(model, "course_spec", None)
    payload = {
        "format": CHECKPOINT_FORMAT,
        "state_dict": {k: _stored(v, half) for k, v in model.state_dict().items()},
        "spec": _clean(spec, "model.course_spec") if spec is not None else None,
        "meta": _clean(meta, "meta"),
        "torch_version": str(torch.__version__),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _stored(value: torch.Tensor, half: bool) -> torch.Tensor:
    """A CPU copy of one state_dict entry, as float16 when ``half`` and it is float32."""
    value = value.detach().cpu()
    return value.half() if half and value.dtype == torch.float32 else value.clone().contiguous()


def _read(path: str | os.PathLike, map_location: Any = "cpu") -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No checkpoint at {path}; check the path (save one with save_checkpoint(model, path)).")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # unpickling errors come in several types
        raise ValueError(
            f"{path} could not be loaded safely (weights_only=True): {err}. Only load checkpoints you trust "
            f"and that were written with save_checkpoint or torch.save(model.state_dict())."
        ) from err
    if isinstance(payload, dict) and payload.get("format") == CHECKPOINT_FORMAT:
        return payload
    if isinstance(payload, dict) and payload and all(isinstance(v, torch.Tensor) for v in payload.values()):
        return {"format": None, "state_dict": payload, "spec": None, "meta": {}}  # a bare state_dict
    raise ValueError(f"{path} is neither a course checkpoint nor a state_dict.")


def checkpoint_info(path: str | os.PathLike) -> dict[str, Any]:
    """How the checkpoint's model was built (``spec``) and its ``meta``, without building the model."""
    payload = _read(path)
    n = sum(v.numel() for k, v in payload["state_dict"].items() if v.is_floating_point())
    return {"spec": payload["spec"], "meta": payload["meta"], "tensor_values": n, "torch_version": payload.get("torch_version")}


def _rebuild(spec: dict[str, Any]) -> nn.Module:
    """Build the model described by ``spec`` without fetching pretrained weights (the state_dict replaces them)."""
    from .factory import create

    options = dict(spec.get("options") or {})
    if spec["name"] == "effnet-unet" or "encoder_weights" in options or spec["name"] in _smp_names():
        options["encoder_weights"] = None
    model = create(spec["name"], spec["in_channels"], spec["num_classes"], **options)
    model.course_spec = {**spec, "options": dict(spec.get("options") or {})}
    return model


def _smp_names() -> tuple[str, ...]:
    from .smp_models import SMP_ARCHITECTURES

    return tuple(SMP_ARCHITECTURES)


def load_checkpoint(
    path: str | os.PathLike, model: nn.Module | None = None, map_location: Any = "cpu", strict: bool = True
) -> nn.Module:
    """Load a checkpoint into ``model`` (or rebuild the model from the recorded spec if None); returns it in eval mode.

    Uses ``torch.load(..., weights_only=True)``: no code in the file is run. The checkpoint's ``meta`` is
    available afterwards as ``model.checkpoint_meta``.
    """
    payload = _read(path, map_location)
    if model is None:
        if not payload["spec"]:
            raise ValueError(
                f"{path} does not record how to build its model; pass model=create(name, ...) built like the saved one."
            )
        model = _rebuild(payload["spec"])
    elif not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module or None, got {type(model).__name__}.")
    try:
        model.load_state_dict(payload["state_dict"], strict=strict)
    except RuntimeError as err:
        raise ValueError(
            f"The weights in {path} do not fit this model (saved spec: {payload['spec']}). "
            f"Build the model with the same name and options, or pass model=None to rebuild it.\n{err}"
        ) from err
    model.checkpoint_meta = payload["meta"]
    return model.eval()


def list_checkpoints() -> list[str]:
    """Names of the ready-made checkpoints in ``config.checkpoint_dir()``."""
    from ..config import checkpoint_dir

    folder = checkpoint_dir()
    return sorted(p.stem for p in folder.glob(f"*{_SUFFIX}")) if folder.is_dir() else []


def pretrained_checkpoint(name: str, map_location: Any = "cpu") -> nn.Module:
    """A ready trained model: loads ``config.checkpoint_dir()/<name>.pt`` (lets a slow machine skip a training run)."""
    from ..config import CHECKPOINT_DIR_ENV, checkpoint_dir

    if not isinstance(name, str) or not name or "/" in name or "\\" in name:
        raise ValueError(f"name={name!r} must be a checkpoint name like 'unet-nuclei' (no folders, no suffix).")
    stem = name[: -len(_SUFFIX)] if name.endswith(_SUFFIX) else name
    path = checkpoint_dir() / f"{stem}{_SUFFIX}"
    if not path.is_file():
        have = list_checkpoints()
        raise FileNotFoundError(
            f"No ready-made checkpoint {stem!r}: {path} does not exist "
            f"(available: {', '.join(have) if have else 'none'}). Make it by running that lesson's training and "
            f"save_checkpoint(model, {str(path)!r}), or run the course's checkpoint script (see the instructor guide), "
            f"or point ${CHECKPOINT_DIR_ENV} at a folder that has it."
        )
    return load_checkpoint(path, map_location=map_location)
