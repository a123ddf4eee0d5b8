"""Exercises of lesson 00 (welcome): label maps, binary masks and foreground fractions."""

from __future__ import annotations

import torch

from .core import Case
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


@register(
    "label-to-masks",
    lesson="00_welcome",
    title="Turn a label map into one binary mask per class",
    hint="Compare the label map with each class index; broadcasting `label_map[None] == torch.arange(C)[:, None, None]` "
    "gives a C×H×W bool tensor. Classes that never occur still get a (all-False) channel.",
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
    hint="Count the pixels that are not background and divide by the number of pixels; "
    "`(label_map != background).float().mean().item()` returns a Python float.",
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
    hint="`torch.bincount` counts how often each value occurs in a 1-D tensor; flatten the map first and pass "
    "`minlength=num_classes` so absent classes get a 0.",
)
def _class_pixel_counts_cases() -> list[Case]:
    cases = [
        Case((_TINY, 3), expected=class_pixel_counts_reference(_TINY, 3), description="2×3 map, num_classes=3 -> [3, 2, 1]"),
        Case((_TINY, 5), expected=class_pixel_counts_reference(_TINY, 5), description="num_classes=5: classes 3 and 4 get 0"),
    ]
    for lm, c in _random_label_maps(seed=300, count=4):
        cases.append(Case((lm, c), expected=class_pixel_counts_reference(lm, c), hidden=True, description=f"random {tuple(lm.shape)} map, num_classes={c}"))
    return cases
