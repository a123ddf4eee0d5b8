"""The losses as functions: BCE, cross-entropy, soft Dice, focal, and CE + Dice."""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F

from .inputs import (as_weight, binary_inputs, check_ignore, check_logits, check_reduction, check_target, class_inputs,
                     layout, reduce_loss)

__all__ = ["bce_loss", "cross_entropy_loss", "soft_dice_loss", "focal_loss", "combined_loss", "combo_terms"]


def bce_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    pos_weight: float | torch.Tensor | None = None,
    ignore_index: int | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    """Binary cross-entropy on raw logits (sigmoid inside); ``pos_weight`` > 1 makes missed foreground cost more."""
    check_reduction(reduction)
    ignore_index = check_ignore(ignore_index)
    logits, target = binary_inputs(logits, target, ignore_index, "bce_loss")
    pw = as_weight(pos_weight, "pos_weight", logits)
    keep = None if ignore_index is None else target != ignore_index
    t = target.to(logits.dtype) if keep is None else torch.where(keep, target, 0).to(logits.dtype)
    loss = F.binary_cross_entropy_with_logits(logits, t, pos_weight=pw, reduction="none")
    return reduce_loss(loss, keep, reduction)


def cross_entropy_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    weight: Sequence[float] | torch.Tensor | None = None,
    ignore_index: int | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    """Multi-class cross-entropy (softmax inside) with optional class ``weight`` and ``ignore_index``."""
    check_reduction(reduction)
    ignore_index = check_ignore(ignore_index)
    logits, target = class_inputs(logits, target, ignore_index, "cross_entropy_loss")
    w = as_weight(weight, "weight", logits, logits.shape[1])
    torch_ignore = -100 if ignore_index is None else ignore_index
    if reduction != "mean" or ignore_index is None:
        return F.cross_entropy(logits, target, weight=w, ignore_index=torch_ignore, reduction=reduction)
    total = F.cross_entropy(logits, target, weight=w, ignore_index=torch_ignore, reduction="sum")
    keep = target != ignore_index
    if w is None:
        denom = keep.sum().to(logits.dtype)
    else:
        denom = torch.where(keep, w[target.clamp(0, logits.shape[1] - 1)], 0).sum()
    return torch.where(denom > 0, total / denom.clamp_min(torch.finfo(logits.dtype).tiny), total * 0)


def soft_dice_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    ignore_index: int | None = None,
    smooth: float = 0.0,
    eps: float = 1e-7,
    from_logits: bool = True,
    reduction: str = "mean",
) -> torch.Tensor:
    """1 − soft Dice per class over the batch, averaged over classes; classes absent from target add 0 (as smp).

    Binary (1 channel, sigmoid) scores the foreground; multi-class (C channels, softmax) scores every class.
    ``from_logits=False`` takes probabilities instead. ``reduction="none"`` returns the per-class losses.
    """
    check_reduction(reduction, ("mean", "none"))
    ignore_index = check_ignore(ignore_index)
    if smooth < 0 or eps <= 0:
        raise ValueError(f"smooth={smooth!r} must be >= 0 and eps={eps!r} > 0 (e.g. smooth=1.0, eps=1e-7).")
    logits = check_logits(logits)
    target = check_target(target, logits)
    n = logits.shape[0]
    if layout(logits, target) == "binary":
        logits, target = binary_inputs(logits, target, ignore_index, "soft_dice_loss")
        probs = F.logsigmoid(logits).exp() if from_logits else logits
        probs = probs.reshape(n, 1, -1)
        t = target.reshape(n, 1, -1)
        if ignore_index is not None:
            keep = t != ignore_index
            probs, t = probs * keep, torch.where(keep, t, 0)
        t = t.to(probs.dtype)
    else:
        logits, target = class_inputs(logits, target, ignore_index, "soft_dice_loss")
        c = logits.shape[1]
        probs = logits.log_softmax(dim=1).exp() if from_logits else logits
        probs = probs.reshape(n, c, -1)
        t = target.reshape(n, -1)
        if ignore_index is not None:
            keep = t != ignore_index
            probs = probs * keep.unsqueeze(1)
            t = torch.where(keep, t, 0)
            onehot = F.one_hot(t, c).permute(0, 2, 1) * keep.unsqueeze(1)
        else:
            onehot = F.one_hot(t, c).permute(0, 2, 1)
        t = onehot.to(probs.dtype)
    inter = (probs * t).sum((0, 2))
    cardinality = probs.sum((0, 2)) + t.sum((0, 2))
    dice_score = (2 * inter + smooth) / (cardinality + smooth).clamp_min(eps)
    loss = (1.0 - dice_score) * (t.sum((0, 2)) > 0).to(probs.dtype)
    return loss if reduction == "none" else loss.mean()


def focal_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    gamma: float = 2.0,
    alpha: float | Sequence[float] | torch.Tensor | None = None,
    ignore_index: int | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    """Focal loss: cross-entropy scaled by (1 − p_t)^gamma so easy pixels count less (binary or multi-class).

    ``alpha``: binary -> a float in [0, 1] weighting positives (negatives get 1 − alpha); multi-class -> one
    weight per class. Averaged over the (non-ignored) pixels.
    """
    check_reduction(reduction)
    ignore_index = check_ignore(ignore_index)
    if not gamma >= 0:  # also catches NaN
        raise ValueError(f"gamma={gamma!r} must be >= 0 (0 gives plain cross-entropy, 2 is usual).")
    logits = check_logits(logits)
    target = check_target(target, logits)
    if layout(logits, target) == "binary":
        logits, target = binary_inputs(logits, target, ignore_index, "focal_loss")
        keep = None if ignore_index is None else target != ignore_index
        t = (target if keep is None else torch.where(keep, target, 0)).to(logits.dtype)
        logpt = F.binary_cross_entropy_with_logits(logits, t, reduction="none")
        loss = (1.0 - torch.exp(-logpt)).pow(gamma) * logpt
        if alpha is not None:
            if not isinstance(alpha, (int, float)) or not 0 <= alpha <= 1:
                raise ValueError(f"alpha={alpha!r}: for binary focal loss give one float in [0, 1] (e.g. 0.25).")
            loss = loss * (alpha * t + (1 - alpha) * (1 - t))
        return reduce_loss(loss, keep, reduction)
    logits, target = class_inputs(logits, target, ignore_index, "focal_loss")
    keep = None if ignore_index is None else target != ignore_index
    t = target if keep is None else torch.where(keep, target, 0)
    logpt = logits.log_softmax(dim=1).gather(1, t.unsqueeze(1)).squeeze(1)
    loss = -((1.0 - logpt.exp()).pow(gamma)) * logpt
    if alpha is not None:
        if isinstance(alpha, (int, float)):
            raise ValueError(
                f"alpha={alpha!r}: for {logits.shape[1]} classes give one weight per class, "
                f"e.g. alpha=[1.0] * {logits.shape[1]}."
            )
        loss = loss * as_weight(alpha, "alpha", logits, logits.shape[1])[t]
    return reduce_loss(loss, keep, reduction)


def combined_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    ce_weight: float = 1.0,
    dice_weight: float = 1.0,
    class_weights: Sequence[float] | torch.Tensor | None = None,
    pos_weight: float | torch.Tensor | None = None,
    ignore_index: int | None = None,
    smooth: float = 0.0,
) -> torch.Tensor:
    """ce_weight · cross-entropy (BCE for one channel) + dice_weight · soft Dice loss."""
    return combo_terms(logits, target, ce_weight, dice_weight, class_weights, pos_weight, ignore_index, smooth)[0]


def combo_terms(
    logits: torch.Tensor,
    target: torch.Tensor,
    ce_weight: float,
    dice_weight: float,
    class_weights: Sequence[float] | torch.Tensor | None,
    pos_weight: float | torch.Tensor | None,
    ignore_index: int | None,
    smooth: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(total, CE or BCE term, Dice term) of the CE + Dice loss; the total is ``ce_weight·ce + dice_weight·dice``."""
    if ce_weight < 0 or dice_weight < 0:
        raise ValueError(f"ce_weight={ce_weight!r} and dice_weight={dice_weight!r} must be >= 0.")
    logits = check_logits(logits)
    target = check_target(target, logits)
    if layout(logits, target) == "binary":
        if class_weights is not None:
            raise ValueError("class_weights is for multi-class logits; for one channel use pos_weight.")
        ce = bce_loss(logits, target, pos_weight=pos_weight, ignore_index=ignore_index)
    else:
        if pos_weight is not None:
            raise ValueError("pos_weight is for binary (one-channel) logits; for several classes use class_weights.")
        ce = cross_entropy_loss(logits, target, weight=class_weights, ignore_index=ignore_index)
    dl = soft_dice_loss(logits, target, ignore_index=ignore_index, smooth=smooth)
    return ce_weight * ce + dice_weight * dl, ce, dl
