"""Exercise ``count-trainable``: count the parameter values that require gradients."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..core import Case, Mistake
from ..registry import register
from .toy import toy_segmenter

__all__ = ["count_trainable_reference"]


def count_trainable_reference(model: nn.Module) -> int:
    """Reference answer: the number of parameter values (``numel``) that require gradients, each counted once."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _as_count(got: Any) -> int | None:
    """The learner's count as a Python int (a one-element tensor is accepted too), or None."""
    if isinstance(got, torch.Tensor) and got.numel() == 1:
        got = got.item()
    return None if isinstance(got, bool) or not isinstance(got, int) else got


def _check_count(case: Case, got: Any) -> str | None:
    model = case.args[0]
    expected = count_trainable_reference(model)
    count = _as_count(got)
    if count is None:
        return f"count_trainable should return a Python int, got {type(got).__name__}."
    if count == expected:
        return None
    return f"got {count}, expected {expected} trainable parameter values."


def _count_all(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _count_tensors(model: nn.Module) -> int:
    return sum(1 for p in model.parameters() if p.requires_grad)


def _count_per_part(model: nn.Module) -> int:
    return sum(p.numel() for part in model.children() for p in part.parameters() if p.requires_grad)


def _same_count(wrong):
    """``detect`` for a count mistake: the learner's number is ``wrong``'s, and that is not the right one."""
    def detect(case: Case, got: Any, reason: str) -> bool:
        model = case.args[0]
        w = wrong(model)
        return w != count_trainable_reference(model) and _as_count(got) == w
    return detect


_COUNT_TRAINABLE_MISTAKES = (
    Mistake(
        "frozen parameters counted",
        _count_all,
        "that is ALL parameter values, the frozen ones included; count only those that will train (their "
        "requires_grad flag is True).",
        detect=_same_count(_count_all),
    ),
    Mistake(
        "tensors counted, not values",
        _count_tensors,
        "that is the number of trainable parameter TENSORS (a conv's weight and its bias are two); count the "
        "values inside each, which numel() gives.",
        detect=_same_count(_count_tensors),
    ),
    Mistake(
        "a shared layer counted twice",
        _count_per_part,
        "a layer shared by the encoder and the decoder was counted once in each part. model.parameters() lists "
        "every parameter once; adding up the parts does not.",
        detect=_same_count(_count_per_part),
    ),
)


@register(
    "count-trainable",
    lesson="08_transfer",
    title="Count the trainable parameters",
    hints=(
        "Add up how many numbers the trainable weights hold: go over the model's parameters once, skip the "
        "frozen ones, and for each count the values it holds, not just the tensor itself. Going over the whole "
        "model once also counts a layer shared by two parts only once.",
        "`model.parameters()` lists each parameter once; `p.requires_grad` says whether it trains and "
        "`p.numel()` how many values it holds. Add them up with `sum` over a generator; the result is a Python int.",
        "`return sum(p.numel() for p in model.parameters() if p.requires_grad)`",
    ),
    checker=_check_count,
    mistakes=_COUNT_TRAINABLE_MISTAKES,
)
def _count_cases() -> list[Case]:
    return [
        Case((toy_segmenter(0),), description="a toy segmenter with nothing frozen: every parameter value counts"),
        Case((toy_segmenter(0, frozen=("encoder",)),), description="the same model with its encoder frozen: only decoder + head count"),
        Case((toy_segmenter(5, frozen=("encoder", "decoder", "head")),), hidden=True, description="everything frozen -> 0"),
        Case((toy_segmenter(6, width=8, frozen=("decoder",)),), hidden=True, description="decoder frozen, width 8"),
        Case((toy_segmenter(7, tied=True),), hidden=True, description="a convolution shared by encoder and decoder counts once"),
    ]
