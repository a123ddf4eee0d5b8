"""Exercise ``pixel-accuracy``: the share of right pixels, ignored pixels skipped."""

from __future__ import annotations

import math

import torch

from ..core import Case, Mistake
from ..registry import register
from .common import LESSON

__all__ = ["pixel_accuracy_reference"]


def pixel_accuracy_reference(pred: torch.Tensor, target: torch.Tensor, ignore_index: int | None = None) -> float:
    """Reference answer: the share of scored pixels whose label is right (a float); NaN if every pixel is ignored."""
    keep = torch.ones_like(target, dtype=torch.bool) if ignore_index is None else target != ignore_index
    scored = int(keep.sum())
    if scored == 0:
        return math.nan
    return int(((pred == target) & keep).sum()) / scored


def _macro_accuracy(pred: torch.Tensor, target: torch.Tensor, ignore_index: int | None = None) -> float:
    """Mistake: the mean per-class accuracy (macro) instead of the pixel accuracy."""
    keep = torch.ones_like(target, dtype=torch.bool) if ignore_index is None else target != ignore_index
    scores = [float(((pred == c) & (target == c) & keep).sum() / ((target == c) & keep).sum())
              for c in target[keep].unique().tolist()]
    return sum(scores) / len(scores) if scores else math.nan


def _accuracy_counting_ignored(pred: torch.Tensor, target: torch.Tensor, ignore_index: int | None = None) -> float:
    """Mistake: the ignored pixels stay in the count (as wrong pixels)."""
    return (pred == target).float().mean().item()


def _accuracy_zero_when_nothing_scored(pred: torch.Tensor, target: torch.Tensor, ignore_index: int | None = None) -> float:
    """Mistake: 0.0 instead of NaN when every pixel is ignored (a guard against dividing by zero)."""
    keep = torch.ones_like(target, dtype=torch.bool) if ignore_index is None else target != ignore_index
    if int(keep.sum()) == 0:
        return 0.0
    return int(((pred == target) & keep).sum()) / int(keep.sum())


def _accuracy_as_tensor(pred: torch.Tensor, target: torch.Tensor, ignore_index: int | None = None) -> torch.Tensor:
    """Mistake: the right value, but a 0-dim tensor instead of a Python float."""
    keep = torch.ones_like(target, dtype=torch.bool) if ignore_index is None else target != ignore_index
    return ((pred == target) & keep).sum() / keep.sum()


_PIXEL_ACCURACY_MISTAKES = (
    Mistake("mean per-class accuracy", _macro_accuracy,
            "that is the mean of the per-class accuracies (macro, metrics.mean_class_accuracy); pixel accuracy "
            "counts every scored pixel once: correct pixels / scored pixels, so big classes weigh more."),
    Mistake("0 instead of NaN when nothing is scored", _accuracy_zero_when_nothing_scored,
            "when every target pixel is ignored there is nothing to score: 0 / 0 is undefined, so the answer is "
            "NaN, not 0.0 (a 0.0 would pull an average down). Dividing tensors gives NaN by itself."),
    Mistake("ignored pixels counted", _accuracy_counting_ignored,
            "pixels whose target is ignore_index must not count at all, neither as right nor as wrong: leave them "
            "out of the total as well as out of the correct pixels."),
    Mistake("a tensor, not a float", _accuracy_as_tensor,
            "the value may be right, but the exercise asks for a plain Python float: turn the 0-dim tensor into "
            "a number with .item().",
            detect=lambda case, got, reason: isinstance(got, torch.Tensor)),
)


_PRED = torch.tensor([[0, 0, 1, 1],
                      [0, 1, 1, 2],
                      [0, 0, 2, 2]])
_TARGET = torch.tensor([[0, 0, 1, 1],
                        [0, 0, 1, 1],
                        [0, 2, 2, 2]])


def _random_labels(g: torch.Generator, shape: tuple[int, ...], num_classes: int, p_right: float = 0.7):
    target = torch.randint(0, num_classes, shape, generator=g)
    noise = torch.randint(0, num_classes, shape, generator=g)
    pred = torch.where(torch.rand(shape, generator=g) < p_right, target, noise)
    return pred, target


@register(
    "pixel-accuracy",
    lesson=LESSON,
    title="Pixel accuracy, skipping ignored pixels",
    hints=(
        "Pixel accuracy is the number of correctly labelled pixels divided by the number of scored pixels. A pixel "
        "whose target is the ignore label is not scored at all: it is neither right nor wrong, and it is not in the "
        "total either. If no pixel is left to score, the answer is NaN (0 / 0).",
        "Build a boolean mask keep that is target != ignore_index, or all True when ignore_index is None "
        "(torch.ones_like(target, dtype=torch.bool)). Count with .sum() and divide the two tensors, not Python "
        "ints: torch gives NaN for 0 / 0 where Python raises ZeroDivisionError. Return a float with .item().",
        "keep = target != ignore_index (all True when ignore_index is None); accuracy = "
        "(((pred == target) & keep).sum() / keep.sum()).item(): divide the tensors first (0 / 0 gives NaN "
        "there, not an error), then turn the result into a Python float.",
    ),
    mistakes=_PIXEL_ACCURACY_MISTAKES,
)
def _pixel_accuracy_cases() -> list[Case]:
    target_void = _TARGET.clone()
    target_void[0, 0] = target_void[1, 1] = 255  # two pixels nobody could label (one predicted right, one wrong)
    cases = [
        Case((_PRED, _TARGET), expected=pixel_accuracy_reference(_PRED, _TARGET),
             description="3×4 label maps, 9 of 12 pixels right -> 0.75"),
        Case((_PRED, target_void), {"ignore_index": 255}, expected=pixel_accuracy_reference(_PRED, target_void, 255),
             description="the same with target[0, 0] and target[1, 1] set to 255 and ignore_index=255: 10 scored, 8 right -> 0.8"),
    ]
    g = torch.Generator().manual_seed(303)
    for shape, c in [((16, 16), 2), ((2, 9, 13), 5), ((31, 7), 3)]:
        pred, target = _random_labels(g, shape, c)
        cases.append(Case((pred, target), expected=pixel_accuracy_reference(pred, target), hidden=True,
                          description=f"random {shape} labels with {c} classes"))
    for shape, c, ignore in [((12, 12), 3, 255), ((3, 8, 8), 4, -1)]:
        pred, target = _random_labels(g, shape, c)
        target = torch.where(torch.rand(shape, generator=g) < 0.2, torch.full_like(target, ignore), target)
        cases.append(Case((pred, target), {"ignore_index": ignore},
                          expected=pixel_accuracy_reference(pred, target, ignore), hidden=True,
                          description=f"random {shape} labels, about 20% of target pixels = ignore_index={ignore}"))
    pred, target = _random_labels(g, (10, 6), 3)
    cases.append(Case((pred, target), {"ignore_index": 2}, expected=pixel_accuracy_reference(pred, target, 2),
                      hidden=True, description="ignore_index=2 is also a class id: every pixel of class 2 is skipped"))
    zeros = torch.zeros(8, 8, dtype=torch.int64)
    cases.append(Case((zeros, zeros), expected=1.0, hidden=True,
                      description="all background, predicted all background: every pixel is right -> 1.0"))
    all_void = torch.full((4, 4), 255)
    cases.append(Case((zeros[:4, :4], all_void), {"ignore_index": 255}, expected=math.nan, hidden=True,
                      description="every target pixel is ignored: nothing to score -> NaN (0 / 0 in torch gives NaN)"))
    return cases
