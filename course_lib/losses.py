"""Segmentation losses: BCE, cross-entropy, soft Dice, focal and CE + Dice, as functions and nn.Modules.

Introduced in lesson 03, used by every training lesson (``create_loss("combo")`` etc.).

Shapes (the same everywhere)
----------------------------
* binary: ``logits`` N×1×H×W or N×H×W (one raw score per pixel), ``target`` N×H×W with 0/1 (or soft values in
  [0, 1]); sigmoid inside.
* multi-class: ``logits`` N×C×H×W (C >= 2, raw scores), ``target`` N×H×W integer class ids; softmax inside.
* ``ignore_index``: target pixels with this value do not contribute (their loss and gradient are 0). If every
  pixel is ignored, a ``"mean"`` loss is 0 (PyTorch's own cross-entropy would give NaN).

Conventions compared with the references (tested in ``tests/test_losses.py``)
---------------------------------------------------------------------------
* :func:`bce_loss` = ``nn.BCEWithLogitsLoss(pos_weight=...)``; :func:`cross_entropy_loss` =
  ``nn.CrossEntropyLoss(weight=..., ignore_index=...)`` (weighted mean: divided by the summed weights).
* :func:`soft_dice_loss`: per class, counts summed over the whole batch,
  Dice = (2·Σp·t + smooth) / max(Σp + Σt + smooth, eps); loss = mean over classes of (1 − Dice), where a class
  with no target pixel in the batch contributes 0 (but still counts in the mean). Binary mode scores the
  foreground only. This is smp's ``DiceLoss`` (mode "binary"/"multiclass"): identical for ``smooth=0``; smp 0.6
  writes its smoothing on half the cardinality, so our ``smooth=2*s, eps=2*e`` equals smp's ``smooth=s, eps=e``.
* :func:`focal_loss`: binary = ``(1 − p_t)^gamma · BCE``, with ``alpha`` weighting positives by alpha and
  negatives by 1 − alpha; equals smp ``FocalLoss("binary")`` and ``torchvision.ops.sigmoid_focal_loss``.
  Multi-class = softmax focal loss ``−alpha[t] · (1 − p_t)^gamma · log p_t`` averaged over pixels (gamma=0 and no
  alpha gives cross-entropy). smp's multiclass FocalLoss differs: it sums one-vs-rest *sigmoid* focal losses.
"""

from __future__ import annotations

import inspect
from typing import Any, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = [
    "bce_loss",
    "cross_entropy_loss",
    "soft_dice_loss",
    "focal_loss",
    "combined_loss",
    "BCELoss",
    "CrossEntropyLoss",
    "DiceLoss",
    "FocalLoss",
    "ComboLoss",
    "LOSSES",
    "create_loss",
    "class_pixel_counts",
    "median_frequency_weights",
]

_REDUCTIONS = ("mean", "sum", "none")
_SHAPE_HELP = (
    "binary: logits N×1×H×W (or N×H×W) with target N×H×W; C classes: logits N×C×H×W with target N×H×W class ids"
)


# ------------------------------------------------------------------------------------------------ input checks
def _check_logits(logits: Any) -> torch.Tensor:
    if not isinstance(logits, torch.Tensor):
        raise TypeError(f"logits must be a torch.Tensor (the model output), got {type(logits).__name__}.")
    if not logits.is_floating_point():
        raise ValueError(
            f"logits has dtype {logits.dtype}; pass the model's raw float scores (before sigmoid/softmax)."
        )
    if logits.ndim < 2:
        raise ValueError(f"logits has shape {tuple(logits.shape)}; expected a batch ({_SHAPE_HELP}).")
    return logits


def _check_target(target: Any, logits: torch.Tensor) -> torch.Tensor:
    if not isinstance(target, torch.Tensor):
        raise TypeError(f"target must be a torch.Tensor, got {type(target).__name__}.")
    if target.device != logits.device:
        raise ValueError(
            f"target is on {target.device} but logits is on {logits.device}; move target with target.to(logits.device)."
        )
    return target


def _check_ignore(ignore_index: Any) -> int | None:
    if ignore_index is None:
        return None
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, int):
        raise ValueError(f"ignore_index={ignore_index!r} must be an int label value (e.g. 255) or None.")
    return ignore_index


def _check_reduction(reduction: str, allowed: Sequence[str] = _REDUCTIONS) -> None:
    if reduction not in allowed:
        raise ValueError(f"reduction={reduction!r} is not supported; use one of {', '.join(map(repr, allowed))}.")


def _layout(logits: torch.Tensor, target: torch.Tensor) -> str:
    """'binary' (one score per pixel, same shape as target after squeezing) or 'multiclass'."""
    if logits.ndim == target.ndim + 1 and logits.shape[0] == target.shape[0] and logits.shape[2:] == target.shape[1:]:
        return "binary" if logits.shape[1] == 1 else "multiclass"
    if logits.shape == target.shape:
        return "binary"
    raise ValueError(
        f"logits has shape {tuple(logits.shape)} but target has shape {tuple(target.shape)}; {_SHAPE_HELP}."
    )


def _binary_inputs(logits: Any, target: Any, ignore_index: int | None, fn: str) -> tuple[torch.Tensor, torch.Tensor]:
    logits = _check_logits(logits)
    target = _check_target(target, logits)
    if _layout(logits, target) != "binary":
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


def _class_inputs(logits: Any, target: Any, ignore_index: int | None, fn: str) -> tuple[torch.Tensor, torch.Tensor]:
    logits = _check_logits(logits)
    target = _check_target(target, logits)
    if _layout(logits, target) != "multiclass":
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


def _as_weight(value: Any, name: str, logits: torch.Tensor, length: int | None = None) -> torch.Tensor | None:
    if value is None:
        return None
    w = torch.as_tensor(value, dtype=logits.dtype, device=logits.device)
    if length is not None and (w.ndim != 1 or w.shape[0] != length):
        raise ValueError(f"{name} has shape {tuple(w.shape)}; give one value per class ({length} values).")
    if bool((w < 0).any()):
        raise ValueError(f"{name} holds negative values; weights must be >= 0.")
    return w


def _reduce(loss: torch.Tensor, keep: torch.Tensor | None, reduction: str) -> torch.Tensor:
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


# ------------------------------------------------------------------------------------------------ functions
def bce_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    pos_weight: float | torch.Tensor | None = None,
    ignore_index: int | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    """Binary cross-entropy on raw logits (sigmoid inside); ``pos_weight`` > 1 makes missed foreground cost more."""
    _check_reduction(reduction)
    ignore_index = _check_ignore(ignore_index)
    logits, target = _binary_inputs(logits, target, ignore_index, "bce_loss")
    pw = _as_weight(pos_weight, "pos_weight", logits)
    keep = None if ignore_index is None else target != ignore_index
    t = target.to(logits.dtype) if keep is None else torch.where(keep, target, 0).to(logits.dtype)
    loss = F.binary_cross_entropy_with_logits(logits, t, pos_weight=pw, reduction="none")
    return _reduce(loss, keep, reduction)


def cross_entropy_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    weight: Sequence[float] | torch.Tensor | None = None,
    ignore_index: int | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    """Multi-class cross-entropy (softmax inside) with optional class ``weight`` and ``ignore_index``."""
    _check_reduction(reduction)
    ignore_index = _check_ignore(ignore_index)
    logits, target = _class_inputs(logits, target, ignore_index, "cross_entropy_loss")
    w = _as_weight(weight, "weight", logits, logits.shape[1])
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
    _check_reduction(reduction, ("mean", "none"))
    ignore_index = _check_ignore(ignore_index)
    if smooth < 0 or eps <= 0:
        raise ValueError(f"smooth={smooth!r} must be >= 0 and eps={eps!r} > 0 (e.g. smooth=1.0, eps=1e-7).")
    logits = _check_logits(logits)
    target = _check_target(target, logits)
    n = logits.shape[0]
    if _layout(logits, target) == "binary":
        logits, target = _binary_inputs(logits, target, ignore_index, "soft_dice_loss")
        probs = F.logsigmoid(logits).exp() if from_logits else logits
        probs = probs.reshape(n, 1, -1)
        t = target.reshape(n, 1, -1)
        if ignore_index is not None:
            keep = t != ignore_index
            probs, t = probs * keep, torch.where(keep, t, 0)
        t = t.to(probs.dtype)
    else:
        logits, target = _class_inputs(logits, target, ignore_index, "soft_dice_loss")
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
    _check_reduction(reduction)
    ignore_index = _check_ignore(ignore_index)
    if gamma < 0:
        raise ValueError(f"gamma={gamma!r} must be >= 0 (0 gives plain cross-entropy, 2 is usual).")
    logits = _check_logits(logits)
    target = _check_target(target, logits)
    if _layout(logits, target) == "binary":
        logits, target = _binary_inputs(logits, target, ignore_index, "focal_loss")
        keep = None if ignore_index is None else target != ignore_index
        t = (target if keep is None else torch.where(keep, target, 0)).to(logits.dtype)
        logpt = F.binary_cross_entropy_with_logits(logits, t, reduction="none")
        loss = (1.0 - torch.exp(-logpt)).pow(gamma) * logpt
        if alpha is not None:
            if not isinstance(alpha, (int, float)) or not 0 <= alpha <= 1:
                raise ValueError(f"alpha={alpha!r}: for binary focal loss give one float in [0, 1] (e.g. 0.25).")
            loss = loss * (alpha * t + (1 - alpha) * (1 - t))
        return _reduce(loss, keep, reduction)
    logits, target = _class_inputs(logits, target, ignore_index, "focal_loss")
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
        loss = loss * _as_weight(alpha, "alpha", logits, logits.shape[1])[t]
    return _reduce(loss, keep, reduction)


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
    return _combo_terms(logits, target, ce_weight, dice_weight, class_weights, pos_weight, ignore_index, smooth)[0]


def _combo_terms(logits, target, ce_weight, dice_weight, class_weights, pos_weight, ignore_index, smooth):
    if ce_weight < 0 or dice_weight < 0:
        raise ValueError(f"ce_weight={ce_weight!r} and dice_weight={dice_weight!r} must be >= 0.")
    logits = _check_logits(logits)
    target = _check_target(target, logits)
    if _layout(logits, target) == "binary":
        if class_weights is not None:
            raise ValueError("class_weights is for multi-class logits; for one channel use pos_weight.")
        ce = bce_loss(logits, target, pos_weight=pos_weight, ignore_index=ignore_index)
    else:
        if pos_weight is not None:
            raise ValueError("pos_weight is for binary (one-channel) logits; for several classes use class_weights.")
        ce = cross_entropy_loss(logits, target, weight=class_weights, ignore_index=ignore_index)
    dl = soft_dice_loss(logits, target, ignore_index=ignore_index, smooth=smooth)
    return ce_weight * ce + dice_weight * dl, ce, dl


# ------------------------------------------------------------------------------------------------ modules
def _buffer(value: Any) -> torch.Tensor | None:
    return None if value is None else torch.as_tensor(value, dtype=torch.float32)


class BCELoss(nn.Module):
    """Module form of :func:`bce_loss` (``pos_weight`` moves with ``.to(device)``)."""

    def __init__(
        self, pos_weight: float | torch.Tensor | None = None, ignore_index: int | None = None, reduction: str = "mean"
    ):
        super().__init__()
        _check_reduction(reduction)
        self.register_buffer("pos_weight", _buffer(pos_weight))
        self.ignore_index, self.reduction = _check_ignore(ignore_index), reduction

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
        _check_reduction(reduction)
        self.register_buffer("weight", _buffer(weight))
        self.ignore_index, self.reduction = _check_ignore(ignore_index), reduction

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return cross_entropy_loss(logits, target, self.weight, self.ignore_index, self.reduction)


class DiceLoss(nn.Module):
    """Module form of :func:`soft_dice_loss`."""

    def __init__(
        self, ignore_index: int | None = None, smooth: float = 0.0, eps: float = 1e-7, from_logits: bool = True
    ):
        super().__init__()
        self.ignore_index, self.smooth, self.eps, self.from_logits = (
            _check_ignore(ignore_index),
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
        _check_reduction(reduction)
        self.gamma, self.ignore_index, self.reduction = gamma, _check_ignore(ignore_index), reduction
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
        self.ignore_index = _check_ignore(ignore_index)
        self.register_buffer("class_weights", _buffer(class_weights))
        self.register_buffer("pos_weight", _buffer(pos_weight))
        self.last_terms: dict[str, torch.Tensor] = {}

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        total, ce, dl = _combo_terms(
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


def class_pixel_counts(masks: Any, num_classes: int, ignore_index: int | None = None) -> torch.Tensor:
    """Pixels of each class 0..num_classes-1 in integer label maps (float64), ``ignore_index`` pixels left out."""
    masks = torch.as_tensor(masks)
    if masks.is_floating_point() or masks.dtype == torch.bool:
        raise TypeError(f"masks must hold integer class labels, got dtype {masks.dtype}; convert with .long().")
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes={num_classes!r} must be a positive int, e.g. 11.")
    labels = masks.reshape(-1)
    if ignore_index is not None:
        labels = labels[labels != ignore_index]
    if labels.numel() == 0:
        raise ValueError("masks have no labelled pixel (all are ignore_index); pass masks with at least one class pixel.")
    low, high = int(labels.min()), int(labels.max())
    if low < 0 or high >= num_classes:
        raise ValueError(f"masks hold label {low if low < 0 else high} outside 0..{num_classes - 1}; "
                         f"pass the right num_classes, or ignore_index for the void label.")
    return torch.bincount(labels.long(), minlength=num_classes).double()


def median_frequency_weights(
    masks: Any, num_classes: int, ignore_index: int | None = None, power: float = 1.0
) -> torch.Tensor:
    """Class weights (median(freq) / freq) ** power from label maps (SegNet's balancing; power=0.5 is gentler).

    ``freq`` is each class's share of the labelled pixels (``ignore_index`` left out); the median is over the
    classes that occur; an absent class gets weight 0 (there is nothing to weight). Returns float32 of length
    ``num_classes``, ready for ``CrossEntropyLoss(weight=...)``.
    """
    if isinstance(power, bool) or not isinstance(power, (int, float)) or power <= 0:
        raise ValueError(f"power={power!r} must be a positive number: 1 (median frequency) or 0.5 (its square root).")
    freq = class_pixel_counts(masks, num_classes, ignore_index)
    freq /= freq.sum()
    present = freq > 0
    weights = torch.zeros_like(freq)
    weights[present] = (torch.quantile(freq[present], 0.5) / freq[present]) ** power
    return weights.float()
