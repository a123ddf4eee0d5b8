"""Exercises of lesson 00 (welcome): label maps, binary masks and foreground fractions."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from .core import Case, Mistake
from .registry import register

__all__ = ["label_to_masks_reference", "foreground_fraction_reference", "class_pixel_counts_reference"]


def label_to_masks_reference(label_map: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Reference answer: a ``num_classes×H×W`` bool tensor, channel c True where the label is c."""
    return label_map.unsqueeze(0) == torch.arange(num_classes).view(-1, 1, 1)


def foreground_fraction_reference(label_map: torch.Tensor, background: int = 0) -> float:
    """Reference answer: the fraction of pixels whose label is not ``background``, as a float."""
    return (label_map != background).float().mean().item()


def class_pixel_counts_reference(label_map: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Reference answer: an int64 tensor of length ``num_classes`` with the pixel count of each class."""
    return torch.bincount(label_map.flatten(), minlength=num_classes)


def _random_label_maps(seed: int, count: int) -> list[tuple[torch.Tensor, int]]:
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(count):
        num_classes = int(torch.randint(2, 7, (1,), generator=g))
        h, w = (int(v) for v in torch.randint(3, 17, (2,), generator=g))
        used = int(torch.randint(1, num_classes + 1, (1,), generator=g))  # some classes may be absent
        out.append((torch.randint(0, used, (h, w), generator=g), num_classes))
    return out


_TINY = torch.tensor([[0, 0, 1], [2, 1, 0]])


def _is_bool_version(case: Case, got: Any) -> bool:
    """The right masks, but as 0/1 numbers instead of True/False."""
    return (isinstance(got, torch.Tensor) and got.dtype != torch.bool and tuple(got.shape) == tuple(case.expected.shape)
            and torch.equal(got != 0, case.expected))


def _is_channels_last(case: Case, got: Any) -> bool:
    """An H×W×C result (what F.one_hot gives) where C×H×W was wanted."""
    label_map, num_classes = case.args
    channels_last = tuple(label_map.shape) + (num_classes,)
    return (isinstance(got, torch.Tensor) and tuple(got.shape) == channels_last
            and channels_last != tuple(case.expected.shape))


_LABEL_TO_MASKS_MISTAKES = (
    Mistake(
        "only the classes that occur",
        lambda label_map, num_classes: torch.stack([label_map == c for c in label_map.unique()]),
        "you made one channel per class found in this map, so a map without class 3 gets no channel 3 and the "
        "channels no longer line up with the class numbers. Channel c must always be class c, for every c below "
        "num_classes; an absent class gets an all-False channel.",
    ),
    Mistake(
        "numbers instead of True/False",
        lambda label_map, num_classes: (label_map.unsqueeze(0) == torch.arange(num_classes).view(-1, 1, 1)).long(),
        "your masks are right, but hold 0/1 numbers; a binary mask is a bool tensor. The comparison already "
        "gives True/False, so do not convert it afterwards.",
        detect=lambda case, got, reason: _is_bool_version(case, got),
    ),
    Mistake(
        "class axis last",
        lambda label_map, num_classes: F.one_hot(label_map, num_classes).bool(),
        "your result is H×W×C, with the classes on the last axis (what F.one_hot gives). PyTorch puts channels "
        "first, C×H×W, so that result[c] is the mask of class c.",
        detect=lambda case, got, reason: _is_channels_last(case, got),
    ),
)


@register(
    "label-to-masks",
    lesson="00_welcome",
    title="Turn a label map into one binary mask per class",
    hints=(
        "Channel c answers one yes/no question for every pixel: is its label c? Ask it for each class from 0 to "
        "num_classes − 1, also for classes that do not occur in this map (their channel is all False), and stack "
        "the answers along a new first axis.",
        "No loop needed: `torch.arange(num_classes)` holds all class indices. Reshape it to C×1×1 and give the map a "
        "leading axis (1×H×W, e.g. with `unsqueeze`); then one `==` between them broadcasts to C×H×W, already bool.",
        "`return label_map.unsqueeze(0) == torch.arange(num_classes).view(-1, 1, 1)` — a C×H×W bool tensor; "
        "classes that never occur get an all-False channel.",
    ),
    mistakes=_LABEL_TO_MASKS_MISTAKES,
)
def _label_to_masks_cases() -> list[Case]:
    cases = [
        Case((_TINY, 3), expected=label_to_masks_reference(_TINY, 3), description="2×3 label map with classes 0, 1, 2; num_classes=3"),
        Case((_TINY, 4), expected=label_to_masks_reference(_TINY, 4), description="same map with num_classes=4 (class 3 absent: its mask is all False)"),
    ]
    for lm, c in _random_label_maps(seed=100, count=4):
        cases.append(Case((lm, c), expected=label_to_masks_reference(lm, c), hidden=True, description=f"random {tuple(lm.shape)} map, num_classes={c}"))
    return cases


@register(
    "foreground-fraction",
    lesson="00_welcome",
    title="Fraction of foreground pixels",
    hints=(
        "The fraction is the number of pixels whose label is not the background label, divided by the number of "
        "all pixels. Use the background label you are given (it is not always 0), and hand back a plain Python "
        "number, not a tensor.",
        "Comparing the map with `background` gives a True/False mask of the foreground. The mean of that mask is "
        "the fraction, but `.mean()` needs floats (`.float()` first), and `.item()` turns a one-element tensor into "
        "a Python float.",
        "`return (label_map != background).float().mean().item()`",
    ),
    mistakes=(
        Mistake(
            "background always 0",
            lambda label_map, background=0: (label_map != 0).float().mean().item(),
            "you compared with 0 instead of the background argument; when background=1, label 0 is foreground too.",
        ),
        Mistake(
            "a tensor instead of a float",
            lambda label_map, background=0: (label_map != background).float().mean(),
            "your number is right but still a one-element tensor; the exercise asks for a Python float, which "
            "prints, formats and compares like any number.",
        ),
        Mistake(
            "background counted",
            lambda label_map, background=0: (label_map == background).float().mean().item(),
            "that is the fraction of BACKGROUND pixels (one minus the answer): count the pixels whose label is "
            "not the background.",
        ),
        Mistake(
            "a count, not a fraction",
            lambda label_map, background=0: (label_map != background).sum().item(),
            "that is how many foreground pixels there are; a fraction divides that by the number of all pixels, "
            "so it lies between 0 and 1.",
        ),
    ),
)
def _foreground_fraction_cases() -> list[Case]:
    cases = [
        Case((_TINY,), expected=foreground_fraction_reference(_TINY), description="2×3 map with 3 background pixels -> 0.5"),
        Case((torch.zeros(4, 4, dtype=torch.int64),), expected=0.0, description="an all-background 4×4 map -> 0.0"),
        Case((_TINY,), {"background": 1}, expected=foreground_fraction_reference(_TINY, 1), description="background=1 (not 0)"),
    ]
    for lm, _ in _random_label_maps(seed=200, count=4):
        cases.append(Case((lm,), expected=foreground_fraction_reference(lm), hidden=True, description=f"random {tuple(lm.shape)} map"))
    return cases


@register(
    "class-pixel-counts",
    lesson="00_welcome",
    title="Pixels per class",
    hints=(
        "For every class index from 0 to num_classes − 1, count the pixels that carry that label. The answer has "
        "exactly num_classes entries in class order, with 0 for a class that never appears — also for one in the "
        "middle, and for those above the largest label in the map.",
        "`torch.bincount` counts how often each value occurs in a 1-D tensor of non-negative integers: flatten "
        "the H×W map first, and use its `minlength` argument so that classes above the largest label present "
        "still get a 0.",
        "`return torch.bincount(label_map.flatten(), minlength=num_classes)`",
    ),
    mistakes=(  # order matters: on the num_classes=5 case both of the first two give [3, 2, 1]
        Mistake(
            "classes above the largest label missing",
            lambda label_map, num_classes: torch.bincount(label_map.flatten()),
            "bincount stops at the largest label it sees, so classes above it (absent from this map) get no "
            "entry; the result must always have num_classes entries.",
        ),
        Mistake(
            "only the classes that occur",
            lambda label_map, num_classes: torch.unique(label_map, return_counts=True)[1],
            "you counted only the labels that occur, so an absent class has no entry and the classes after it "
            "slide one place to the left: entry c must be the count of class c, even when it is 0.",
        ),
        Mistake(
            "a list instead of a tensor",
            lambda label_map, num_classes: [int((label_map == c).sum()) for c in range(num_classes)],
            "you returned a Python list; the exercise asks for an int64 tensor, which the rest of the lesson "
            "(and torch) can compute with.",
            detect=lambda case, got, reason: isinstance(got, (list, tuple)),
        ),
    ),
)
def _class_pixel_counts_cases() -> list[Case]:
    gap = torch.tensor([[0, 0, 2], [2, 2, 0]])
    cases = [
        Case((_TINY, 3), expected=class_pixel_counts_reference(_TINY, 3), description="2×3 map, num_classes=3 -> [3, 2, 1]"),
        Case((gap, 3), expected=class_pixel_counts_reference(gap, 3), description="a map without class 1, num_classes=3 -> [3, 0, 3]"),
        Case((_TINY, 5), expected=class_pixel_counts_reference(_TINY, 5), description="num_classes=5: classes 3 and 4 get 0"),
    ]
    for lm, c in _random_label_maps(seed=300, count=4):
        cases.append(Case((lm, c), expected=class_pixel_counts_reference(lm, c), hidden=True, description=f"random {tuple(lm.shape)} map, num_classes={c}"))
    return cases
