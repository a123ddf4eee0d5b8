"""Exercise ``encoder-decoder-groups``: two optimizer groups, encoder and the rest."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..core import Case, Mistake
from ..registry import register
from .toy import toy_segmenter

__all__ = ["encoder_decoder_groups_reference"]


def encoder_decoder_groups_reference(model: nn.Module, encoder_lr: float, decoder_lr: float) -> list[dict[str, Any]]:
    """Reference answer: [{"params": encoder's, "lr": encoder_lr}, {"params": all the others, "lr": decoder_lr}]."""
    encoder_ids = {id(p) for p in model.encoder.parameters()}
    encoder = [p for p in model.parameters() if id(p) in encoder_ids]
    rest = [p for p in model.parameters() if id(p) not in encoder_ids]
    return [{"params": encoder, "lr": encoder_lr}, {"params": rest, "lr": decoder_lr}]


def _fingerprint(p: torch.Tensor) -> tuple:
    return tuple(p.shape), round(float(p.detach().flatten()[0]), 3)


def _group_names(case: Case, got: Any) -> tuple[list[str], list[str], set[str], set[str]] | None:
    """The parameter names in the learner's two groups (matched by value: the function ran on a copy of the
    model), the encoder's names and all names; None if the groups are not two dicts of parameters."""
    model = case.args[0]
    try:
        params = [list(g["params"]) for g in got]
    except Exception:
        return None
    if len(params) != 2 or not all(isinstance(p, torch.nn.Parameter) for ps in params for p in ps):
        return None
    names = {_fingerprint(p): n for n, p in model.named_parameters()}
    enc = {names[_fingerprint(p)] for p in model.encoder.parameters()}
    first = [names.get(_fingerprint(p), "?") for p in params[0]]
    second = [names.get(_fingerprint(p), "?") for p in params[1]]
    return first, second, enc, set(names.values())


def _check_groups(case: Case, got: Any) -> str | None:
    model, encoder_lr, decoder_lr = case.args
    if not isinstance(got, (list, tuple)) or len(got) != 2 or not all(isinstance(g, dict) for g in got):
        return "return a list of two dicts: [{'params': [...], 'lr': encoder_lr}, {'params': [...], 'lr': decoder_lr}]."
    for i, group in enumerate(got):
        if "params" not in group or "lr" not in group:
            return f"group {i} has keys {sorted(group)}; each group needs 'params' and 'lr'."
    lrs = [float(g["lr"]) for g in got]
    if lrs != [encoder_lr, decoder_lr]:
        return f"the groups' lr are {lrs}; expected [encoder_lr, decoder_lr] = {[encoder_lr, decoder_lr]}."
    split = _group_names(case, got)
    if split is None:
        return "'params' must hold the parameters themselves (from .parameters()), not modules or names."
    first, second, enc_ids, all_ids = split
    if "?" in first + second:
        return "some parameters in the groups do not belong to the model given; use model.encoder / model.parameters()."
    if set(first) & set(second):
        return "some parameters are in both groups (the optimizer refuses that)."
    if set(first) != enc_ids:
        return "the first group must hold exactly the parameters of model.encoder."
    missing = all_ids - enc_ids - set(second)
    if missing:
        return f"parameters {sorted(missing)[:3]} are in no group, so they would never train."
    if len(second) != len(set(second)):
        return "a parameter appears twice in the second group; list each parameter once."
    return None


def _groups_swapped(model: nn.Module, encoder_lr: float, decoder_lr: float) -> list[dict[str, Any]]:
    return encoder_decoder_groups_reference(model, decoder_lr, encoder_lr)


def _groups_without_head(model: nn.Module, encoder_lr: float, decoder_lr: float) -> list[dict[str, Any]]:
    return [{"params": list(model.encoder.parameters()), "lr": encoder_lr},
            {"params": list(model.decoder.parameters()), "lr": decoder_lr}]


def _groups_everything_second(model: nn.Module, encoder_lr: float, decoder_lr: float) -> list[dict[str, Any]]:
    return [{"params": list(model.encoder.parameters()), "lr": encoder_lr},
            {"params": list(model.parameters()), "lr": decoder_lr}]


def _groups_trainable_only(model: nn.Module, encoder_lr: float, decoder_lr: float) -> list[dict[str, Any]]:
    return [{"params": [p for p in g["params"] if p.requires_grad], "lr": g["lr"]}
            for g in encoder_decoder_groups_reference(model, encoder_lr, decoder_lr)]


def _lrs_swapped(case: Case, got: Any) -> bool:
    _, encoder_lr, decoder_lr = case.args
    try:
        return encoder_lr != decoder_lr and [float(g["lr"]) for g in got] == [decoder_lr, encoder_lr]
    except Exception:
        return False


def _head_missing(case: Case, got: Any) -> bool:
    split = _group_names(case, got)
    if split is None:
        return False
    first, second, enc, everything = split
    missing = everything - enc - set(second)
    return bool(missing) and all(n.startswith("head.") for n in missing)


def _encoder_in_second(case: Case, got: Any) -> bool:
    split = _group_names(case, got)
    return split is not None and bool(split[2]) and split[2] <= set(split[1])


def _frozen_left_out(case: Case, got: Any) -> bool:
    split = _group_names(case, got)
    if split is None:
        return False
    frozen = {n for n, p in case.args[0].named_parameters() if not p.requires_grad}
    first, second, enc, everything = split
    return bool(frozen) and set(first) == enc - frozen and not frozen & set(first + second)


_GROUPS_MISTAKES = (
    Mistake(
        "learning rates swapped",
        _groups_swapped,
        "the pretrained encoder got the large learning rate and the new decoder the small one. The encoder "
        "already knows useful features and should only be nudged (the small encoder_lr); the decoder starts "
        "from scratch and needs the larger decoder_lr.",
        detect=lambda case, got, reason: _lrs_swapped(case, got),
    ),
    Mistake(
        "the head left out",
        _groups_without_head,
        "the second group holds only model.decoder, so the head (the last 1×1 conv) is in no group and would "
        "never train. The second group is everything that is not the encoder: decoder AND head.",
        detect=lambda case, got, reason: _head_missing(case, got),
    ),
    Mistake(
        "the encoder in both groups",
        _groups_everything_second,
        "model.parameters() includes the encoder's parameters too, so they ended up in both groups, which the "
        "optimizer refuses. Leave out of the second group every parameter that is already in the first.",
        detect=lambda case, got, reason: _encoder_in_second(case, got),
    ),
    Mistake(
        "frozen parameters left out",
        _groups_trainable_only,
        "the frozen encoder's parameters were filtered out by requires_grad. They still belong in the first "
        "group: the optimizer skips parameters without gradients, and when you unfreeze the encoder later they "
        "train at encoder_lr without building a new optimizer.",
        detect=lambda case, got, reason: _frozen_left_out(case, got),
    ),
)


@register(
    "encoder-decoder-groups",
    lesson="08_transfer",
    title="Discriminative learning rates: two parameter groups",
    hints=(
        "An optimizer accepts groups of parameters, each with its own learning rate. Make two: the pretrained "
        "encoder's parameters with the small encoder learning rate, and every other parameter of the model "
        "(decoder and head) with the larger decoder one. Each parameter goes into exactly one group, frozen or not.",
        "Each group is a dict with the keys `'params'` (a list of parameters) and `'lr'`. Put the `id(p)` of every "
        "parameter in `model.encoder.parameters()` into a set, then split `model.parameters()` by whether its id "
        "is in that set; do not filter on `requires_grad`.",
        "`encoder_ids = {id(p) for p in model.encoder.parameters()}`; "
        "`rest = [p for p in model.parameters() if id(p) not in encoder_ids]`; "
        "`return [{\"params\": encoder, \"lr\": encoder_lr}, {\"params\": rest, \"lr\": decoder_lr}]`",
    ),
    checker=_check_groups,
    mistakes=_GROUPS_MISTAKES,
)
def _groups_cases() -> list[Case]:
    return [
        Case((toy_segmenter(0), 1e-4, 1e-3), description="toy segmenter, encoder_lr=1e-4, decoder_lr=1e-3: the head belongs to the second group"),
        Case((toy_segmenter(1, frozen=("encoder",)), 1e-5, 3e-3), description="a frozen encoder still gets its group (ready for unfreezing)"),
        Case((toy_segmenter(2, width=6), 0.0, 1e-2), hidden=True, description="encoder_lr=0"),
        Case((toy_segmenter(3, width=3), 2e-4, 2e-4), hidden=True, description="the same lr for both groups"),
        Case((toy_segmenter(4, width=5), 1e-4, 5e-3), hidden=True, description="width 5"),
    ]
