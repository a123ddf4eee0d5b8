"""Model utilities: parameter counts, speed, a summary table, freezing and per-part learning rates."""

from __future__ import annotations

import copy
import statistics
import time
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import torch
from torch import nn

from ..validation import check_int

__all__ = [
    "count_parameters",
    "measure_speed",
    "summary",
    "ModelSummary",
    "freeze",
    "unfreeze",
    "param_groups",
]


def _check_module(model: Any, name: str = "model") -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {type(model).__name__}.")
    return model


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters of ``model`` (only those with ``requires_grad`` if ``trainable_only``)."""
    _check_module(model)
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def freeze(module: nn.Module) -> nn.Module:
    """Stop training ``module``: set ``requires_grad=False`` on all its parameters; returns it."""
    for p in _check_module(module, "module").parameters():
        p.requires_grad_(False)
    return module


def unfreeze(module: nn.Module) -> nn.Module:
    """Train ``module`` again: set ``requires_grad=True`` on all its parameters; returns it."""
    for p in _check_module(module, "module").parameters():
        p.requires_grad_(True)
    return module


def param_groups(
    model: nn.Module, encoder_lr: float, decoder_lr: float, encoder: nn.Module | None = None
) -> list[dict[str, Any]]:
    """Optimizer parameter groups for discriminative learning rates: encoder at ``encoder_lr``, the rest at ``decoder_lr``.

    The encoder is ``model.encoder`` unless given. Frozen parameters are kept in the groups, so
    unfreezing later needs no new optimizer. Use: ``torch.optim.AdamW(param_groups(model, 1e-4, 1e-3))``.
    """
    _check_module(model)
    for name, lr in (("encoder_lr", encoder_lr), ("decoder_lr", decoder_lr)):
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr >= 0:
            raise ValueError(f"{name}={lr!r} must be a learning rate >= 0, e.g. {name}=1e-3.")
    if encoder is None:
        encoder = getattr(model, "encoder", None)
        if not isinstance(encoder, nn.Module):
            raise ValueError("model has no .encoder module; pass encoder=<the part to train at encoder_lr>.")
    enc_ids = {id(p) for p in encoder.parameters()}
    all_params = list(model.parameters())
    if not enc_ids <= {id(p) for p in all_params}:
        raise ValueError("encoder is not a part of model; pass a submodule of model as encoder=.")
    enc = [p for p in all_params if id(p) in enc_ids]
    rest = [p for p in all_params if id(p) not in enc_ids]
    return [
        {"params": enc, "lr": float(encoder_lr), "name": "encoder"},
        {"params": rest, "lr": float(decoder_lr), "name": "decoder"},
    ]


def _input_shape(input_size: Sequence[int], batch_size: int | None) -> tuple[int, int, int, int]:
    size = tuple(int(s) for s in input_size)
    if len(size) == 2:
        size = (1, 3) + size
    elif len(size) == 3:
        size = (1,) + size
    if len(size) != 4 or min(size) < 1:
        raise ValueError(f"input_size={input_size!r} must be (H, W), (C, H, W) or (N, C, H, W) with positive sizes.")
    if batch_size is not None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size={batch_size!r} must be a positive int.")
        size = (batch_size,) + size[1:]
    return size  # type: ignore[return-value]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def _inference_times(model: nn.Module, x: torch.Tensor, device: torch.device, repeats: int, warmup: int) -> list[float]:
    """Seconds of each timed forward pass (after ``warmup``); the model goes back to its device and mode."""
    was_training = model.training
    first = next(iter(model.parameters()), None)
    original_device = first.device if first is not None else device
    net = model.eval().to(device)
    times: list[float] = []
    try:
        with torch.inference_mode():
            for i in range(warmup + repeats):
                _sync(device)
                t0 = time.perf_counter()
                net(x)
                _sync(device)
                if i >= warmup:
                    times.append(time.perf_counter() - t0)
    finally:
        model.to(original_device).train(was_training)
    return times


def _train_times(model: nn.Module, x: torch.Tensor, device: torch.device, repeats: int, warmup: int) -> list[float]:
    """Seconds of each timed training step of a copy of ``model`` (the course's training engine, SGD, default loss)."""
    from ..training import Learner, SegmentationStep, StepTimer
    from ..training.steps import default_loss, model_output

    net = copy.deepcopy(model).to(device).train()
    with torch.no_grad():
        channels = int(model_output(net(x)).shape[1])
    target = torch.randint(0, max(channels, 2), (x.shape[0],) + tuple(x.shape[2:]), device=device)
    opt = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=1e-6)
    timer = StepTimer()
    batches = [(x, target)] * (warmup + repeats)
    Learner(net, batches, opt, SegmentationStep(default_loss()), callbacks=[timer], device=device).fit(1)
    return timer.times[warmup:]


def measure_speed(
    model: nn.Module,
    input_size: Sequence[int] = (1, 3, 64, 64),
    batch_size: int | None = None,
    repeats: int = 10,
    device: Any = None,
    mode: str = "inference",
    warmup: int = 2,
) -> float:
    """Images per second of ``model`` on random input: median over ``repeats`` timed batches.

    ``mode="inference"`` times forward passes under ``torch.inference_mode()``; ``mode="train"`` times
    full training steps (forward, cross-entropy, backward, SGD step) of the course's training engine on a copy,
    so ``model`` is unchanged.
    """
    from ..runtime import resolve_device

    _check_module(model)
    if mode not in ("inference", "train"):
        raise ValueError(f"mode={mode!r} must be 'inference' or 'train'.")
    check_int("repeats", repeats)
    shape = _input_shape(input_size, batch_size)
    device = resolve_device(device)
    x = torch.rand(shape, device=device)
    timed = _inference_times if mode == "inference" else _train_times
    times = timed(model, x, device, repeats, warmup)
    return shape[0] / statistics.median(times)


@dataclass
class ModelSummary:
    """What :func:`summary` returns: one row per top-level part, printed as a table."""

    name: str
    rows: list[tuple[str, str, int, int, str]]
    total: int
    trainable: int

    def __str__(self) -> str:
        head = ("part", "type", "params", "trainable", "output shape")
        table = [head] + [(r[0], r[1], f"{r[2]:,}", f"{r[3]:,}", r[4]) for r in self.rows]
        widths = [max(len(row[i]) for row in table) for i in range(5)]
        lines = [self.name]
        for k, row in enumerate(table):
            lines.append("  ".join(cell.ljust(w) if i < 2 or i == 4 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))).rstrip())
            if k == 0:
                lines.append("  ".join("-" * w for w in widths))
        lines.append(f"total: {self.total:,} parameters ({self.trainable:,} trainable, {self.total * 4 / 2**20:.1f} MiB as float32)")
        return "\n".join(lines)

    __repr__ = __str__


def _shape_of(out: Any) -> str:
    if isinstance(out, torch.Tensor):
        return "×".join(map(str, out.shape))
    if isinstance(out, (list, tuple)):
        return "[" + ", ".join(_shape_of(o) for o in out[:5]) + (", ..." if len(out) > 5 else "") + "]"
    if isinstance(out, dict):
        return "{" + ", ".join(f"{k}: {_shape_of(v)}" for k, v in list(out.items())[:5]) + "}"
    return type(out).__name__


def summary(model: nn.Module, input_size: Sequence[int] | None = None) -> ModelSummary:
    """A small table of ``model``'s top-level parts: type, parameters, trainable, and output shapes if ``input_size``."""
    _check_module(model)
    children: Iterable[tuple[str, nn.Module]] = list(model.named_children())
    shapes: dict[str, str] = {}
    if input_size is not None:
        shape = _input_shape(input_size, None)
        def record(name: str):
            def hook(module: nn.Module, args: Any, out: Any) -> None:
                shapes.setdefault(name, _shape_of(out))  # first call only; returning None keeps the output

            return hook

        hooks = [module.register_forward_hook(record(name)) for name, module in children]
        was_training = model.training
        try:
            device = next(model.parameters()).device
            with torch.inference_mode():
                model.eval()(torch.rand(shape, device=device))
        finally:
            for h in hooks:
                h.remove()
            model.train(was_training)
    rows = [
        (name, type(m).__name__, count_parameters(m), count_parameters(m, trainable_only=True), shapes.get(name, ""))
        for name, m in children
    ]
    return ModelSummary(type(model).__name__, rows, count_parameters(model), count_parameters(model, trainable_only=True))
