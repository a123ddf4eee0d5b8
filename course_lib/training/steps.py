"""What one training step computes, for each kind of model: the only part that differs between tasks.

A step function takes ``(model, batch, device)`` and returns a :class:`Step` (the loss to backpropagate,
how many images it covered, and named loss parts to log). The loop in :mod:`course_lib.training.engine`
does the rest (zero_grad, backward, optimizer step, callbacks).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping, NamedTuple

import torch
from torch import nn

__all__ = [
    "Step", "SegmentationStep", "detection_step", "split_batch", "model_output", "to_labels",
    "resolve_loss", "default_loss", "explain_loss_error",
]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class Step(NamedTuple):
    """One step's result: the loss to backpropagate, the images it covered, and loss parts to log."""

    loss: torch.Tensor
    count: int = 1
    parts: Mapping[str, torch.Tensor] = {}


def split_batch(batch: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(images, targets) from a loader batch: a tuple/list ``(images, targets, ...)`` or a dict."""
    if isinstance(batch, Mapping):
        image = next((batch[k] for k in ("image", "images", "x") if k in batch), None)
        target = next((batch[k] for k in ("mask", "masks", "target", "targets", "y") if k in batch), None)
        if image is None:
            raise ValueError(f"a batch dict needs an 'image' key (it has {sorted(batch)}).")
        return image, target
    if isinstance(batch, (tuple, list)) and batch:
        return batch[0], (batch[1] if len(batch) >= 2 else None)
    if isinstance(batch, torch.Tensor):
        return batch, None
    raise ValueError(
        f"a loader batch of type {type(batch).__name__} is not understood; yield (images, masks) tuples "
        f"or dicts with 'image' and 'mask'."
    )


def model_output(out: Any) -> torch.Tensor:
    """The segmentation logits of a model's output (smp aux heads return (masks, labels); dicts use 'out')."""
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, (tuple, list)) and out and isinstance(out[0], torch.Tensor):
        return out[0]
    if isinstance(out, Mapping) and isinstance(out.get("out"), torch.Tensor):
        return out["out"]
    raise TypeError(f"the model returned {type(out).__name__}; fit/evaluate need a logits tensor N×K×H×W.")


def to_labels(logits: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """Class ids N×H×W from logits: argmax over K channels, or sigmoid > threshold for one channel."""
    if logits.shape[1] == 1:
        return (logits[:, 0] > math.log(threshold / (1 - threshold))).long()
    return logits.argmax(dim=1)


def default_loss(ignore_index: int | None = None) -> LossFn:
    """Cross-entropy for N×K×H×W logits, binary cross-entropy for N×1×H×W (both from course_lib.losses)."""
    from ..losses import bce_loss, cross_entropy_loss

    def loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if logits.shape[1] == 1:
            return bce_loss(logits, target, ignore_index=ignore_index)
        return cross_entropy_loss(logits, target, ignore_index=ignore_index)

    loss.__name__ = "cross_entropy (BCE for one output channel)"
    return loss


def _bce_for_masks(bce: nn.BCEWithLogitsLoss) -> LossFn:
    """``nn.BCEWithLogitsLoss`` that also accepts N×H×W integer masks for N×1×H×W logits."""

    def adapted(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if target.shape != logits.shape and target.numel() == logits.numel():
            target = target.reshape(logits.shape)
        return bce(logits, target.to(logits.dtype))

    return adapted


def resolve_loss(loss_fn: Any, ignore_index: int | None = None) -> LossFn:
    """A loss callable from ``loss_fn``: None = :func:`default_loss`, a name = ``losses.create_loss``, or a callable."""
    if loss_fn is None:
        return default_loss(ignore_index)
    if isinstance(loss_fn, str):
        from ..losses import create_loss

        return create_loss(loss_fn)
    if not callable(loss_fn):
        raise TypeError(f"loss_fn={loss_fn!r} must be a callable loss(logits, target), a loss name like 'ce', or None.")
    if isinstance(loss_fn, nn.BCEWithLogitsLoss):
        return _bce_for_masks(loss_fn)
    return loss_fn


def explain_loss_error(logits: torch.Tensor, target: torch.Tensor, err: Exception) -> Exception:
    """A clearer error for the usual reasons a loss fails: size mismatch or labels outside 0..K-1."""
    if logits.shape[-2:] != target.shape[-2:]:
        return ValueError(
            f"the model's output is {tuple(logits.shape)} but the masks are {tuple(target.shape)}: their H×W must "
            f"match; resize the masks (nearest) or check the model keeps the input size."
        )
    if isinstance(err, ValueError) and "logits" in str(err):
        return err  # course_lib.losses already explains itself
    if not target.is_floating_point() and target.numel():
        lo, hi = int(target.min()), int(target.max())
        k = max(int(logits.shape[1]), 2)
        if lo < 0 or hi >= k:
            return ValueError(
                f"the masks hold labels {lo}..{hi} but the model has {logits.shape[1]} output channel(s) "
                f"(labels 0..{k - 1}); set num_classes when creating the model, or pass ignore_index={hi} "
                f"if {hi} marks pixels to skip."
            )
    return err


class SegmentationStep:
    """The segmentation step: images through the model, ``loss_fn(logits, masks)``; counts the images."""

    def __init__(self, loss_fn: LossFn) -> None:
        self.loss_fn = loss_fn

    def __call__(self, model: nn.Module, batch: Any, device: torch.device) -> Step:
        images, target = split_batch(batch)
        if target is None:
            raise ValueError("the training loader yields no targets; yield (images, masks) pairs.")
        images = images.to(device, non_blocking=True)
        target = target.to(device, non_blocking=True)
        logits = model_output(model(images))
        try:
            loss = self.loss_fn(logits, target)
        except (RuntimeError, IndexError, ValueError) as err:
            raise explain_loss_error(logits, target, err) from err
        return Step(loss, int(images.shape[0]))


def detection_step(model: nn.Module, batch: Any, device: torch.device) -> Step:
    """The torchvision detection step: the model returns a dict of losses in train mode; their sum is the loss."""
    if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
        raise ValueError("a detection batch must be (images, targets): a list of C×H×W tensors and a list of dicts "
                         "with 'boxes', 'labels' (and 'masks'); use collate_fn=lambda b: tuple(zip(*b)).")
    images = [img.to(device, non_blocking=True) for img in batch[0]]
    targets = [{k: (v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v) for k, v in t.items()}
               for t in batch[1]]
    losses = model(images, targets)
    if not isinstance(losses, Mapping):
        raise TypeError("the model did not return a dict of losses; is it a torchvision detection model in train mode?")
    loss = sum(losses.values())
    if not torch.isfinite(loss):
        raise FloatingPointError(f"the detection loss became {float(loss)}; lower lr or keep grad_clip on.")
    return Step(loss, 1, losses)
