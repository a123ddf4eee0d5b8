"""The input checks the losses share: logits, targets, ignore_index, reduction, class weights, and reducing."""

from __future__ import annotations

from typing import Any, Sequence

import torch

__all__ = [
    "REDUCTIONS",
    "SHAPE_HELP",
    "check_logits",
    "check_target",
    "check_ignore",
    "check_reduction",
    "layout",
    "binary_inputs",
    "class_inputs",
    "as_weight",
    "reduce_loss",
]


REDUCTIONS = ("mean", "sum", "none")
SHAPE_HELP = (
    "binary: logits N×1×H×W (or N×H×W) with target N×H×W; C classes: logits N×C×H×W with target N×H×W class ids"
)


def check_logits(logits: Any) -> torch.Tensor:
    """The model's raw float scores, with a batch dimension; TypeError or ValueError that says how to fix them."""
    if not isinstance(logits, torch.Tensor):
        raise TypeError(f"logits must be a torch.Tensor (the model output), got {type(logits).__name__}.")
    if not logits.is_floating_point():
        raise ValueError(
            f"logits has dtype {logits.dtype}; pass the model's raw float scores (before sigmoid/softmax)."
        )
    if logits.ndim < 2:
        raise ValueError(f"logits has shape {tuple(logits.shape)}; expected a batch ({SHAPE_HELP}).")
    return logits


def check_target(target: Any, logits: torch.Tensor) -> torch.Tensor:
    """A tensor target on the same device as ``logits``."""
    if not isinstance(target, torch.Tensor):
        raise TypeError(f"target must be a torch.Tensor, got {type(target).__name__}.")
    if target.device != logits.device:
        raise ValueError(
            f"target is on {target.device} but logits is on {logits.device}; move target with target.to(logits.device)."
        )
    return target


def check_ignore(ignore_index: Any) -> int | None:
    """``ignore_index`` as an int label value, or None."""
    if ignore_index is None:
        return None
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, int):
        raise ValueError(f"ignore_index={ignore_index!r} must be an int label value (e.g. 255) or None.")
    return ignore_index


def check_reduction(reduction: str, allowed: Sequence[str] = REDUCTIONS) -> None:
    """ValueError unless ``reduction`` is one of ``allowed``."""
    if reduction not in allowed:
        raise ValueError(f"reduction={reduction!r} is not supported; use one of {', '.join(map(repr, allowed))}.")


def layout(logits: torch.Tensor, target: torch.Tensor) -> str:
    """'binary' (one score per pixel, same shape as target after squeezing) or 'multiclass'."""
    if logits.ndim == target.ndim + 1 and logits.shape[0] == target.shape[0] and logits.shape[2:] == target.shape[1:]:
        return "binary" if logits.shape[1] == 1 else "multiclass"
    if logits.shape == target.shape:
        return "binary"
    raise ValueError(
        f"logits has shape {tuple(logits.shape)} but target has shape {tuple(target.shape)}; {SHAPE_HELP}."
    )


def binary_inputs(logits: Any, target: Any, ignore_index: int | None, fn: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Checked binary inputs for ``fn``: N×H×W logits and a 0/1 (or soft) target; ignored values allowed."""
    logits = check_logits(logits)
    target = check_target(target, logits)
    if layout(logits, target) != "binary":
        raise ValueError(
            f"{fn} needs one logit per pixel but logits has shape {tuple(logits.shape)} ({logits.shape[1]} channels); "
            f"for several classes use cross_entropy_loss / a multi-class loss."
        )
    if logits.ndim == target.ndim + 1:
        logits = logits[:, 0]
    if target.is_complex():
        raise ValueError(f"target has dtype {target.dtype}; pass 0/1 masks.")
    if target.numel():
        lo, hi = (float(v) for v in torch.stack([target.min().double(), target.max().double()]).tolist())
        if lo != lo or hi != hi:  # NaN
            raise ValueError("target holds NaN; binary targets must be 0/1 (or soft values in [0, 1]).")
        if lo < 0 or hi > 1:
            bad = (target < 0) | (target > 1)
            if ignore_index is not None:
                bad &= target != ignore_index
            if bool(bad.any()):
                value = target[bad].flatten()[0].item()
                hint = (
                    f"pass ignore_index={value!r} if it marks pixels to skip"
                    if ignore_index is None
                    else "check the mask values"
                )
                raise ValueError(
                    f"target holds {value!r}; binary targets must be 0/1 (or soft values in [0, 1]); {hint}."
                )
    return logits, target


def class_inputs(logits: Any, target: Any, ignore_index: int | None, fn: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Checked multi-class inputs for ``fn``: N×C×H×W logits and int64 class ids in 0..C-1 (or ``ignore_index``)."""
    logits = check_logits(logits)
    target = check_target(target, logits)
    if layout(logits, target) != "multiclass":
        raise ValueError(
            f"{fn} needs logits N×C×H×W with C >= 2 and target N×H×W, got logits {tuple(logits.shape)} and target "
            f"{tuple(target.shape)}; for one channel (binary) use bce_loss."
        )
    if target.is_floating_point() or target.is_complex() or target.dtype == torch.bool:
        raise ValueError(
            f"target has dtype {target.dtype}; pass integer class ids (target.long()), not one-hot or float masks."
        )
    c = logits.shape[1]
    if target.numel():
        lo, hi = torch.stack(list(torch.aminmax(target))).tolist()
        if lo < 0 or hi >= c:
            t64 = target.long()
            bad = (t64 < 0) | (t64 >= c)
            if ignore_index is not None:
                bad &= t64 != ignore_index
            if bool(bad.any()):
                value = int(t64[bad][0])
                raise ValueError(
                    f"target holds class id {value} but logits has {c} channels (ids 0..{c - 1}); "
                    f"pass ignore_index={value} if it marks pixels to skip, or give the model more output channels."
                )
    return logits, target.long()


def as_weight(value: Any, name: str, logits: torch.Tensor, length: int | None = None) -> torch.Tensor | None:
    """Non-negative weights as a tensor like ``logits`` (``length`` values if given), or None."""
    if value is None:
        return None
    w = torch.as_tensor(value, dtype=logits.dtype, device=logits.device)
    if length is not None and (w.ndim != 1 or w.shape[0] != length):
        raise ValueError(f"{name} has shape {tuple(w.shape)}; give one value per class ({length} values).")
    if not bool((w >= 0).all()):
        raise ValueError(f"{name} holds negative or NaN values; weights must be >= 0.")
    return w


def reduce_loss(loss: torch.Tensor, keep: torch.Tensor | None, reduction: str) -> torch.Tensor:
    """Reduce per-pixel ``loss``; pixels with keep=False count as absent ('none' shows them as 0)."""
    if keep is not None:
        loss = torch.where(keep, loss, torch.zeros_like(loss))
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if keep is None:
        return loss.mean()
    return loss.sum() / keep.sum().clamp_min(1)
