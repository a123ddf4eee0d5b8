"""Exercise ``soft-dice-loss``: the soft Dice loss of a binary batch, a 0-dim tensor for autograd."""

from __future__ import annotations

from typing import Any

import torch

from ..core import Case, Mistake, compare
from ..registry import register
from .common import LESSON

__all__ = ["soft_dice_loss_reference"]


def soft_dice_loss_reference(probs: torch.Tensor, target: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
    """Reference answer: 1 − (2·Σp·t + smooth) / (Σp + Σt + smooth), sums over the whole batch (a 0-dim tensor).

    Both empty (no target pixel, all probabilities 0) gives Dice 1, loss 0, thanks to ``smooth``.
    """
    t = target.to(probs.dtype)
    intersection = (probs * t).sum()
    return 1 - (2 * intersection + smooth) / (probs.sum() + t.sum() + smooth)


def _soft_dice_checker(case: Case, got: Any) -> str | None:
    probs, target = case.args
    if isinstance(got, (float, int)) and not isinstance(got, bool):
        return (f"result is a Python number ({got!r}); return the 0-dim tensor itself (no .item()) so that "
                f"loss.backward() can compute gradients.")
    if not isinstance(got, torch.Tensor):
        return f"result should be a torch.Tensor (a 0-dim loss), but it is a {type(got).__name__}."
    if got.ndim != 0:
        return (f"result has shape {tuple(got.shape)}; a loss is one number for the whole batch: sum over all "
                f"pixels of all images, then return a 0-dim tensor.")
    if not got.is_floating_point():
        return f"result has dtype {got.dtype}; a loss must be a float tensor."
    if probs.requires_grad and not got.requires_grad:
        return ("result does not depend on probs for autograd (requires_grad is False): did you threshold the "
                "probabilities, call .item()/.detach(), or go through NumPy? Keep every step in torch.")
    return compare(case.expected, got.to(case.expected.dtype), case.atol, case.rtol)


def _loss_like(wrong):
    """Recognise a soft-Dice mistake by the value of the loss (whatever the checker found first)."""
    def detect(case: Case, got: Any, reason: str) -> bool:
        if not (isinstance(got, torch.Tensor) and got.ndim == 0 and got.is_floating_point()):
            return False
        value = torch.as_tensor(wrong(*case.args, **case.kwargs)).detach().to(case.expected.dtype)
        if compare(case.expected, value, case.atol, case.rtol) is None:
            return False
        return compare(value, got.detach().to(case.expected.dtype), case.atol, case.rtol) is None
    return detect


def _soft_dice_score(probs, target, smooth=1.0):
    t = target.to(probs.dtype)
    return (2 * (probs * t).sum() + smooth) / (probs.sum() + t.sum() + smooth)


def _soft_dice_thresholded(probs, target, smooth=1.0):
    return soft_dice_loss_reference((probs > 0.5).to(probs.dtype), target, smooth)


def _soft_dice_per_image(probs, target, smooth=1.0):
    return torch.stack([soft_dice_loss_reference(p, t, smooth) for p, t in zip(probs, target)]).mean()


def _soft_dice_squared(probs, target, smooth=1.0):
    t = target.to(probs.dtype)
    return 1 - (2 * (probs * t).sum() + smooth) / ((probs * probs).sum() + (t * t).sum() + smooth)


def _soft_dice_no_smooth_top(probs, target, smooth=1.0):
    t = target.to(probs.dtype)
    return 1 - 2 * (probs * t).sum() / (probs.sum() + t.sum() + smooth)


def _soft_dice_no_smooth_bottom(probs, target, smooth=1.0):
    t = target.to(probs.dtype)
    return 1 - (2 * (probs * t).sum() + smooth) / (probs.sum() + t.sum())


def _soft_dice_fixed_smooth(probs, target, smooth=1.0):
    return soft_dice_loss_reference(probs, target, 1.0)


def _soft_dice_item(probs, target, smooth=1.0):
    return soft_dice_loss_reference(probs, target, smooth).item()


def _soft_dice_per_pixel(probs, target, smooth=1.0):
    t = target.to(probs.dtype)
    return 1 - (2 * probs * t + smooth) / (probs + t + smooth)


_SOFT_DICE_MISTAKES = (
    Mistake("Dice score, not loss", _soft_dice_score,
            "that is the Dice score, where higher is better; a loss must get lower as the prediction gets better, "
            "so return 1 minus the score.", detect=_loss_like(_soft_dice_score)),
    Mistake("thresholded probabilities", _soft_dice_thresholded,
            "the soft Dice uses the probabilities as they are (0.3 counts as 0.3): thresholding gives no gradient, "
            "so the network could not learn from this loss.", detect=_loss_like(_soft_dice_thresholded)),
    Mistake("one loss per image, averaged", _soft_dice_per_image,
            "this exercise sums the overlap and the sizes over the whole batch first, then takes one Dice; a "
            "mean of per-image losses weighs a small object as much as a big one.",
            detect=_loss_like(_soft_dice_per_image)),
    Mistake("squared sums", _soft_dice_squared,
            "that is the squared variant of V-Net (sum of p² + sum of t²); use the plain sums of probabilities "
            "and of target here.", detect=_loss_like(_soft_dice_squared)),
    Mistake("smooth missing from the numerator", _soft_dice_no_smooth_top,
            "add smooth to the numerator too: with it on both sides two empty masks give Dice 1 (loss 0), not 0.",
            detect=_loss_like(_soft_dice_no_smooth_top)),
    Mistake("smooth missing from the denominator", _soft_dice_no_smooth_bottom,
            "add smooth to the denominator too: it keeps the fraction at most 1 and avoids 0 / 0 on empty masks.",
            detect=_loss_like(_soft_dice_no_smooth_bottom)),
    Mistake("a fixed smooth of 1", _soft_dice_fixed_smooth,
            "use the smooth argument the caller passes, not the constant 1.", detect=_loss_like(_soft_dice_fixed_smooth)),
    Mistake("a Python number, not a tensor", _soft_dice_item,
            "calling .item() (or float()) cuts the loss off from autograd: loss.backward() needs the 0-dim tensor.",
            detect=lambda case, got, reason: isinstance(got, (float, int)) and not isinstance(got, bool)),
    Mistake("no sum: one loss per pixel", _soft_dice_per_pixel,
            "the formula was applied pixel by pixel; sum the overlap and the sizes over all pixels first, then "
            "build one Dice for the whole batch.",
            detect=lambda case, got, reason: isinstance(got, torch.Tensor) and got.ndim > 0),
)


@register(
    "soft-dice-loss",
    lesson=LESSON,
    title="Soft Dice loss for binary segmentation",
    hints=(
        "Soft Dice uses the probabilities as they are, without a threshold: the overlap is the sum of probability "
        "times target over every pixel of every image, and Dice is twice the overlap plus smooth, over the sum of "
        "the probabilities plus the sum of the target plus smooth. The loss is 1 minus Dice, one number for the "
        "whole batch, and it must stay a tensor so that gradients can flow.",
        "Convert the target with target.to(probs.dtype); sum with .sum() over everything (no dim=); put smooth in "
        "both the numerator and the denominator; never call .item(), .detach() or compare with 0.5.",
        "Make target float; intersection = (probs * target).sum(); dice = (2 * intersection + smooth) / "
        "(probs.sum() + target.sum() + smooth); return 1 - dice (a tensor, no .item(), no thresholding).",
    ),
    mistakes=_SOFT_DICE_MISTAKES,
    checker=_soft_dice_checker,
)
def _soft_dice_loss_cases() -> list[Case]:
    target = torch.tensor([[[0, 1, 1], [0, 1, 0]]])
    probs = torch.tensor([[[0.1, 0.8, 0.6], [0.2, 0.9, 0.4]]], requires_grad=True)
    perfect = target.float()
    cases = [
        Case((probs, target), expected=soft_dice_loss_reference(probs.detach(), target),
             description="one 2×3 image, 3 foreground pixels, soft probabilities (with requires_grad=True)"),
        Case((perfect, target), expected=soft_dice_loss_reference(perfect, target),
             description="probabilities equal to the target: Dice 1, loss 0"),
        Case((probs.detach(), target), {"smooth": 0.0}, expected=soft_dice_loss_reference(probs.detach(), target, 0.0),
             description="the first case with smooth=0.0"),
    ]
    g = torch.Generator().manual_seed(505)
    for shape, fg in [((2, 8, 8), 0.3), ((4, 16, 12), 0.05), ((1, 5, 7), 0.5)]:
        t = (torch.rand(shape, generator=g) < fg).long()
        p = torch.rand(shape, generator=g).requires_grad_(True)
        cases.append(Case((p, t), expected=soft_dice_loss_reference(p.detach(), t), hidden=True,
                          description=f"random batch {shape}, about {fg:.0%} foreground"))
    t = (torch.rand(3, 10, 10, generator=g) < 0.2).long()
    p = torch.rand(3, 10, 10, generator=g, dtype=torch.float64)
    cases.append(Case((p, t), {"smooth": 0.5}, expected=soft_dice_loss_reference(p, t, 0.5), hidden=True,
                      description="float64 probabilities, smooth=0.5"))
    empty = torch.zeros(2, 6, 6, dtype=torch.int64)
    cases += [
        Case((torch.zeros(2, 6, 6), empty), expected=soft_dice_loss_reference(torch.zeros(2, 6, 6), empty),
             hidden=True, description="empty target and all probabilities 0: both empty -> Dice 1, loss 0 (smooth)"),
        Case((torch.full((2, 6, 6), 0.1), empty), expected=soft_dice_loss_reference(torch.full((2, 6, 6), 0.1), empty),
             hidden=True, description="empty target but probabilities 0.1: the loss is above 0"),
        Case((torch.zeros(1, 4, 4), torch.ones(1, 4, 4, dtype=torch.int64)),
             expected=soft_dice_loss_reference(torch.zeros(1, 4, 4), torch.ones(1, 4, 4, dtype=torch.int64)),
             hidden=True, description="all foreground, predicted all 0: loss close to 1"),
    ]
    return cases
