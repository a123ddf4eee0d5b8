"""Exercise ``freeze-encoder``: freeze every parameter of ``model.encoder``."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..core import Case, Mistake
from ..registry import register
from .toy import toy_segmenter

__all__ = ["freeze_encoder_reference"]


def freeze_encoder_reference(model: nn.Module) -> nn.Module:
    """Reference answer: ``requires_grad=False`` on every parameter of ``model.encoder``; returns ``model``."""
    for p in model.encoder.parameters():
        p.requires_grad_(False)
    return model


def _check_freeze_encoder(case: Case, got: Any) -> str | None:
    original = case.args[0]
    if got is None:
        return "freeze_encoder returned None; it should return the model (after freezing its encoder)."
    if not isinstance(got, nn.Module) or not hasattr(got, "encoder"):
        return f"freeze_encoder should return the model it was given, but it returned {type(got).__name__}."
    enc_ids = {id(p) for p in got.encoder.parameters()}
    still = [n for n, p in got.encoder.named_parameters() if p.requires_grad]
    if still:
        return f"encoder parameters {still[:3]} still have requires_grad=True."
    before = {n: p.requires_grad for n, p in original.named_parameters()}
    changed = [n for n, p in got.named_parameters() if id(p) not in enc_ids and p.requires_grad != before.get(n)]
    if changed:
        return (f"parameters outside the encoder changed their requires_grad ({changed[:3]}); the decoder and head "
                f"should stay as they were.")
    got_state, old_state = got.state_dict(), original.state_dict()
    for name, value in old_state.items():
        if name not in got_state or not torch.equal(got_state[name], value):
            return f"the value of {name!r} changed; freezing must not change any weight (no re-initialising, no training)."
    return None


def _freeze_by_attribute(model: nn.Module) -> nn.Module:
    model.encoder.requires_grad = False  # a new plain attribute on the module: no parameter changes
    return model


def _freeze_by_eval(model: nn.Module) -> nn.Module:
    model.encoder.eval()  # BatchNorm uses its running statistics, but every weight still gets gradients
    return model


def _freeze_everything(model: nn.Module) -> nn.Module:
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def _freeze_without_return(model: nn.Module) -> None:
    for p in model.encoder.parameters():
        p.requires_grad_(False)


def _set_an_attribute(case: Case, got: Any) -> bool:
    return (isinstance(got, nn.Module) and hasattr(got, "encoder")
            and any(getattr(m, "requires_grad", None) is False for m in got.encoder.modules())
            and any(p.requires_grad for p in got.encoder.parameters()))


def _switched_to_eval(case: Case, got: Any) -> bool:
    return (isinstance(got, nn.Module) and hasattr(got, "encoder") and not got.encoder.training
            and any(p.requires_grad for p in got.encoder.parameters()))


def _froze_outside_encoder(case: Case, got: Any) -> bool:
    if not isinstance(got, nn.Module) or not hasattr(got, "encoder"):
        return False
    enc_ids = {id(p) for p in got.encoder.parameters()}
    before = {n: p.requires_grad for n, p in case.args[0].named_parameters()}
    return any(before.get(n) and not p.requires_grad for n, p in got.named_parameters() if id(p) not in enc_ids)


_FREEZE_ENCODER_MISTAKES = (
    Mistake(
        "an attribute on the module, not the parameters",
        _freeze_by_attribute,
        "assigning requires_grad = False to a module only creates a new, unused attribute on it; PyTorch reads "
        "the flag on each parameter tensor, so the encoder still trains. Set it on every parameter of the "
        "encoder (the in-place method with the underscore does that).",
        detect=lambda case, got, reason: _set_an_attribute(case, got),
    ),
    Mistake(
        "eval() instead of freezing",
        _freeze_by_eval,
        "eval() switches BatchNorm and dropout to their inference behaviour, but it does not stop gradients: "
        "every encoder weight would still be updated by the optimizer. Freezing is a flag on the parameters "
        "(requires_grad), not a mode of the module.",
        detect=lambda case, got, reason: _switched_to_eval(case, got),
    ),
    Mistake(
        "the whole model frozen",
        _freeze_everything,
        "you froze the decoder and head too, so nothing would learn at all. Only the pretrained encoder is "
        "frozen; the new decoder and head must stay trainable: go over the encoder's parameters only.",
        detect=lambda case, got, reason: _froze_outside_encoder(case, got),
    ),
    Mistake(
        "no return",
        _freeze_without_return,
        "the freezing itself may be right, but the function ends without returning the model, so it gives None; "
        "return the model so that it can be used in one line, e.g. model = freeze_encoder(model).",
        detect=lambda case, got, reason: got is None,
    ),
)


@register(
    "freeze-encoder",
    lesson="08_transfer",
    title="Freeze the encoder",
    hints=(
        "Freezing tells PyTorch not to compute gradients for the encoder's weights, so the optimizer leaves them "
        "alone. That switch lives on each parameter tensor, not on the module: visit every parameter of the "
        "encoder and switch it off. Leave the decoder and the head trainable, and hand the model back.",
        "Loop over `model.encoder.parameters()`; each parameter has a `requires_grad` flag, which the in-place "
        "method `requires_grad_` (with the underscore) sets. Neither assigning `model.encoder.requires_grad` nor "
        "calling `.eval()` freezes anything. End with `return model`.",
        "`for p in model.encoder.parameters(): p.requires_grad_(False)`, then `return model` "
        "(or in one line: `model.encoder.requires_grad_(False)`).",
    ),
    checker=_check_freeze_encoder,
    mistakes=_FREEZE_ENCODER_MISTAKES,
)
def _freeze_encoder_cases() -> list[Case]:
    return [
        Case((toy_segmenter(0),), description="a toy segmenter (encoder, decoder, head): every encoder parameter frozen, the rest still trainable"),
        Case((toy_segmenter(1, width=6),), description="a wider toy segmenter: the weights themselves are unchanged"),
        Case((toy_segmenter(2, frozen=("head",)),), hidden=True, description="the head was already frozen: leave it frozen"),
        Case((toy_segmenter(3, frozen=("encoder",)),), hidden=True, description="an encoder that is already frozen stays frozen"),
        Case((toy_segmenter(4, width=2),), hidden=True, description="a very narrow toy segmenter"),
    ]
