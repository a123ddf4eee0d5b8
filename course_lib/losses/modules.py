"""The losses as ``nn.Module``s (class weights move with ``.to(device)``), and building one by name."""

from __future__ import annotations

import inspect
from typing import Any, Sequence

import torch
import torch.nn as nn

from .functional import bce_loss, combo_terms, cross_entropy_loss, focal_loss, soft_dice_loss
from .inputs import check_ignore, check_reduction

__all__ = ["BCELoss", "CrossEntropyLoss", "DiceLoss", "FocalLoss", "ComboLoss", "LOSSES", "create_loss"]


def _buffer(value: Any) -> torch.Tensor | None:
    return None if value is None else torch.as_tensor(value, dtype=torch.float32)


class BCELoss(nn.Module):
    """Module form of :func:`bce_loss` (``pos_weight`` moves with ``.to(device)``)."""

    def __init__(
        self, pos_weight: float | torch.Tensor | None = None, ignore_index: int | None = None, reduction: str = "mean"
    ):
        super().__init__()
        check_reduction(reduction)
        self.register_buffer("pos_weight", _buffer(pos_weight))
        self.ignore_index, self.reduction = check_ignore(ignore_index), reduction

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return bce_loss(logits, target, self.pos_weight, self.ignore_index, self.reduction)


class CrossEntropyLoss(nn.Module):
    """Module form of :func:`cross_entropy_loss` (class ``weight`` moves with ``.to(device)``)."""

    def __init__(
        self,
        weight: Sequence[float] | torch.Tensor | None = None,
        ignore_index: int | None = None,
        reduction: str = "mean",
    ):
        super().__init__()
        check_reduction(reduction)
        self.register_buffer("weight", _buffer(weight))
        self.ignore_index, self.reduction = check_ignore(ignore_index), reduction

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return cross_entropy_loss(logits, target, self.weight, self.ignore_index, self.reduction)


class DiceLoss(nn.Module):
    """Module form of :func:`soft_dice_loss`."""

    def __init__(
        self, ignore_index: int | None = None, smooth: float = 0.0, eps: float = 1e-7, from_logits: bool = True
    ):
        super().__init__()
        self.ignore_index, self.smooth, self.eps, self.from_logits = (
            check_ignore(ignore_index),
            smooth,
            eps,
            from_logits,
        )

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return soft_dice_loss(logits, target, self.ignore_index, self.smooth, self.eps, self.from_logits)


class FocalLoss(nn.Module):
    """Module form of :func:`focal_loss`."""

    def __init__(
        self,
        gamma: float = 2.0,
        alpha: float | Sequence[float] | torch.Tensor | None = None,
        ignore_index: int | None = None,
        reduction: str = "mean",
    ):
        super().__init__()
        check_reduction(reduction)
        self.gamma, self.ignore_index, self.reduction = gamma, check_ignore(ignore_index), reduction
        self.scalar_alpha = alpha if isinstance(alpha, (int, float)) else None
        self.register_buffer("alpha", None if self.scalar_alpha is not None else _buffer(alpha))

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        alpha = self.scalar_alpha if self.scalar_alpha is not None else self.alpha
        return focal_loss(logits, target, self.gamma, alpha, self.ignore_index, self.reduction)


class ComboLoss(nn.Module):
    """ce_weight · CE (or BCE) + dice_weight · Dice; the last two terms are kept in ``last_terms`` for logging."""

    def __init__(
        self,
        ce_weight: float = 1.0,
        dice_weight: float = 1.0,
        class_weights: Sequence[float] | torch.Tensor | None = None,
        pos_weight: float | torch.Tensor | None = None,
        ignore_index: int | None = None,
        smooth: float = 0.0,
    ):
        super().__init__()
        if ce_weight < 0 or dice_weight < 0:
            raise ValueError(f"ce_weight={ce_weight!r} and dice_weight={dice_weight!r} must be >= 0.")
        self.ce_weight, self.dice_weight, self.smooth = ce_weight, dice_weight, smooth
        self.ignore_index = check_ignore(ignore_index)
        self.register_buffer("class_weights", _buffer(class_weights))
        self.register_buffer("pos_weight", _buffer(pos_weight))
        self.last_terms: dict[str, torch.Tensor] = {}

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        total, ce, dl = combo_terms(
            logits,
            target,
            self.ce_weight,
            self.dice_weight,
            self.class_weights,
            self.pos_weight,
            self.ignore_index,
            self.smooth,
        )
        self.last_terms = {"ce": ce.detach(), "dice": dl.detach()}
        return total


LOSSES: dict[str, type[nn.Module]] = {
    "bce": BCELoss,
    "ce": CrossEntropyLoss,
    "cross_entropy": CrossEntropyLoss,
    "dice": DiceLoss,
    "focal": FocalLoss,
    "combo": ComboLoss,
    "ce_dice": ComboLoss,
}


def create_loss(name: str, **options: Any) -> nn.Module:
    """Build a loss module by name (``"bce"``, ``"ce"``, ``"dice"``, ``"focal"``, ``"combo"``) with its options."""
    key = str(name).strip().lower().replace("-", "_").replace("+", "_")
    if key not in LOSSES:
        raise ValueError(f"name={name!r} is not a known loss; choose one of: {', '.join(sorted(LOSSES))}.")
    cls = LOSSES[key]
    valid = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ValueError(f"{', '.join(unknown)} is not an option of {name!r}; its options are: {', '.join(valid)}.")
    return cls(**options)
