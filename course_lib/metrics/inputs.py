"""Turning metric arguments into tensors and checking them: shared by every module of :mod:`course_lib.metrics`.

Each check raises an error that names the argument and says how to fix the call (e.g. ``logits.argmax(dim=1)``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..validation import check_int

__all__ = [
    "to_tensor",
    "label_tensor",
    "check_num_classes",
    "check_ignore_index",
    "check_labels",
    "float_dtype",
]

_NUMPY_TORCH_INT = (np.bool_, np.uint8, np.int8, np.int16, np.int32, np.int64)


def to_tensor(x: Any, name: str) -> torch.Tensor:
    """Return ``x`` as a tensor (numpy arrays and nested lists are converted)."""
    if isinstance(x, torch.Tensor):
        return x
    if isinstance(x, np.ndarray):
        if x.dtype.kind in "iub" and x.dtype.type not in _NUMPY_TORCH_INT:
            x = x.astype(np.int64)
        if x.dtype.kind not in "iubf":
            raise ValueError(f"{name} is a numpy array of dtype {x.dtype}; pass integer class labels.")
        return torch.from_numpy(np.ascontiguousarray(x))
    if isinstance(x, (list, tuple)):
        return torch.as_tensor(np.asarray(x))
    raise TypeError(f"{name} must be a torch.Tensor or numpy array, got {type(x).__name__}.")


def label_tensor(x: Any, name: str) -> torch.Tensor:
    """Integer label tensor of ``x`` (bool is viewed as uint8); float or complex input raises a ValueError."""
    t = to_tensor(x, name)
    if t.dtype == torch.bool:
        return t.view(torch.uint8)
    if t.is_floating_point() or t.is_complex():
        raise ValueError(
            f"{name} has dtype {t.dtype} but must hold integer class labels; turn scores into labels first, "
            f"e.g. {name}=logits.argmax(dim=1) (multi-class) or (probs > 0.5).long() (binary)."
        )
    return t


def check_num_classes(num_classes: Any) -> int:
    """``num_classes`` as an int if it is a positive int (the number of classes, e.g. 2 for binary)."""
    return check_int("num_classes", num_classes)


def check_ignore_index(ignore_index: Any) -> int | None:
    """``ignore_index`` as an int label value (any sign, e.g. 255 or -1), or None."""
    if ignore_index is None:
        return None
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer)):
        raise ValueError(f"ignore_index={ignore_index!r} must be an int label value (e.g. 255) or None.")
    return int(ignore_index)


def _range_problem(x: torch.Tensor, name: str, num_classes: int, keep: torch.Tensor | None) -> None:
    """Raise a ValueError describing the out-of-range labels of ``x`` (only called when some exist)."""
    x64 = x.reshape(-1).long()
    bad = (x64 < 0) | (x64 >= num_classes)
    if keep is not None:
        bad &= keep.reshape(-1)
    n_bad = int(bad.sum())
    if n_bad == 0:
        return
    value = int(x64[bad][0])
    if value < 0:
        fix = (
            f"labels must be class ids 0..{num_classes - 1}; if {value} marks pixels to skip pass ignore_index={value}"
        )
    else:
        fix = (
            f"labels must be class ids 0..{num_classes - 1}; raise num_classes above the largest label, "
            f"or pass ignore_index={value} if it marks pixels to skip (e.g. 255 = void)"
        )
    raise ValueError(f"{name} holds the value {value} at {n_bad} pixel(s): {fix}.")


def _check_same_layout(pred: torch.Tensor, target: torch.Tensor) -> None:
    """Raise a ValueError unless ``pred`` and ``target`` have one shape and one device."""
    if pred.shape != target.shape:
        raise ValueError(
            f"pred has shape {tuple(pred.shape)} but target has shape {tuple(target.shape)}; they must match "
            f"(labels per pixel; for logits N×C×H×W use pred=logits.argmax(dim=1))."
        )
    if pred.device != target.device:
        raise ValueError(f"pred is on {pred.device} but target is on {target.device}; move both to one device.")


def check_labels(
    pred: Any, target: Any, num_classes: int, ignore_index: int | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate and return (pred, target) as integer tensors of the same shape and device."""
    pred = label_tensor(pred, "pred")
    target = label_tensor(target, "target")
    _check_same_layout(pred, target)
    if pred.numel() == 0:
        return pred, target
    lims = torch.stack([*torch.aminmax(pred), *torch.aminmax(target)]).tolist()
    p_ok = lims[0] >= 0 and lims[1] < num_classes
    t_ok = lims[2] >= 0 and lims[3] < num_classes
    if not t_ok:
        if ignore_index is None:
            _range_problem(target, "target", num_classes, None)
        else:
            _range_problem(target, "target", num_classes, target != ignore_index)
    if not p_ok:
        keep = None if ignore_index is None else target != ignore_index
        _range_problem(pred, "pred", num_classes, keep)
    return pred, target


def float_dtype(device: torch.device) -> torch.dtype:
    """The float dtype scores are computed in: float64, or float32 on Apple's MPS (which has no float64)."""
    return torch.float32 if device.type == "mps" else torch.float64
