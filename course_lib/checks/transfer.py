"""Exercises of lesson 08 (transfer learning): freeze an encoder, count trainable parameters,
discriminative learning rates, and ImageNet normalisation."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .core import Case, compare
from ..transforms import IMAGENET_MEAN, IMAGENET_STD  # the ImageNet channel statistics (R, G, B)
from .registry import register

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "ToySegmenter",
    "freeze_encoder_reference",
    "count_trainable_reference",
    "encoder_decoder_groups_reference",
    "imagenet_normalize_reference",
]



class ToySegmenter(nn.Module):
    """A tiny encoder-decoder with ``.encoder``, ``.decoder`` and ``.head`` (for checking exercises quickly)."""

    def __init__(self, width: int = 4, tied: bool = False) -> None:
        super().__init__()
        conv = nn.Conv2d(width, width, 3, padding=1)
        self.encoder = nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(), conv)
        self.decoder = nn.Sequential(conv if tied else nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU())
        self.head = nn.Conv2d(width, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.decoder(self.encoder(x)))


def _toy(seed: int, width: int = 4, tied: bool = False, frozen: tuple[str, ...] = ()) -> ToySegmenter:
    torch.manual_seed(seed)
    model = ToySegmenter(width, tied)
    with torch.no_grad():  # a distinct offset per parameter, so a checker can tell copies apart by value
        for k, p in enumerate(model.parameters()):
            p.add_(10.0 * (k + 1))
    for name in frozen:
        for p in getattr(model, name).parameters():
            p.requires_grad_(False)
    return model


def freeze_encoder_reference(model: nn.Module) -> nn.Module:
    """Reference answer: ``requires_grad=False`` on every parameter of ``model.encoder``; returns ``model``."""
    for p in model.encoder.parameters():
        p.requires_grad_(False)
    return model


def count_trainable_reference(model: nn.Module) -> int:
    """Reference answer: the number of parameter values (``numel``) that require gradients, each counted once."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def encoder_decoder_groups_reference(model: nn.Module, encoder_lr: float, decoder_lr: float) -> list[dict[str, Any]]:
    """Reference answer: [{"params": encoder's, "lr": encoder_lr}, {"params": all the others, "lr": decoder_lr}]."""
    encoder_ids = {id(p) for p in model.encoder.parameters()}
    encoder = [p for p in model.parameters() if id(p) in encoder_ids]
    rest = [p for p in model.parameters() if id(p) not in encoder_ids]
    return [{"params": encoder, "lr": encoder_lr}, {"params": rest, "lr": decoder_lr}]


def imagenet_normalize_reference(images: torch.Tensor) -> torch.Tensor:
    """Reference answer: ``(images - mean) / std`` per RGB channel, for 3×H×W or N×3×H×W images in [0, 1]."""
    shape = (3, 1, 1)
    mean = torch.tensor(IMAGENET_MEAN, dtype=images.dtype, device=images.device).view(shape)
    std = torch.tensor(IMAGENET_STD, dtype=images.dtype, device=images.device).view(shape)
    return (images - mean) / std


# ------------------------------------------------------------------------------------------------ freeze-encoder
def _check_freeze_encoder(case: Case, got: Any) -> str | None:
    original = case.args[0]
    if got is None:
        return "freeze_encoder returned None; return the model (after freezing its encoder) so it can be used in one line."
    if not isinstance(got, nn.Module) or not hasattr(got, "encoder"):
        return f"freeze_encoder should return the model it was given, but it returned {type(got).__name__}."
    enc_ids = {id(p) for p in got.encoder.parameters()}
    still = [n for n, p in got.encoder.named_parameters() if p.requires_grad]
    if still:
        hint = ""
        if getattr(got.encoder, "requires_grad", None) is False:
            hint = (" Setting `model.encoder.requires_grad = False` only creates a new attribute on the module; set it "
                    "on every parameter: `for p in model.encoder.parameters(): p.requires_grad_(False)`.")
        return f"encoder parameters {still[:3]} still have requires_grad=True.{hint}"
    before = {n: p.requires_grad for n, p in original.named_parameters()}
    changed = [n for n, p in got.named_parameters() if id(p) not in enc_ids and p.requires_grad != before.get(n)]
    if changed:
        return (f"parameters outside the encoder changed their requires_grad ({changed[:3]}); freeze only "
                f"model.encoder and leave the decoder and head as they were.")
    got_state, old_state = got.state_dict(), original.state_dict()
    for name, value in old_state.items():
        if name not in got_state or not torch.equal(got_state[name], value):
            return f"the value of {name!r} changed; freezing must not change any weight (no re-initialising, no training)."
    return None


@register(
    "freeze-encoder",
    lesson="08_transfer",
    title="Freeze the encoder",
    hint="Loop over model.encoder.parameters() and call p.requires_grad_(False) (or use "
    "model.encoder.requires_grad_(False) — with the underscore and parentheses); then return model.",
    checker=_check_freeze_encoder,
)
def _freeze_encoder_cases() -> list[Case]:
    return [
        Case((_toy(0),), description="a toy segmenter (encoder, decoder, head): every encoder parameter frozen, the rest still trainable"),
        Case((_toy(1, width=6),), description="a wider toy segmenter: the weights themselves are unchanged"),
        Case((_toy(2, frozen=("head",)),), hidden=True, description="the head was already frozen: leave it frozen"),
        Case((_toy(3, frozen=("encoder",)),), hidden=True, description="an encoder that is already frozen stays frozen"),
        Case((_toy(4, width=2),), hidden=True, description="a very narrow toy segmenter"),
    ]


# ------------------------------------------------------------------------------------------------ count-trainable
def _check_count(case: Case, got: Any) -> str | None:
    model = case.args[0]
    expected = count_trainable_reference(model)
    if isinstance(got, torch.Tensor) and got.numel() == 1:
        got = got.item()
    if isinstance(got, bool) or not isinstance(got, int):
        return f"count_trainable should return a Python int, got {type(got).__name__}."
    if got == expected:
        return None
    total = sum(p.numel() for p in model.parameters())
    tensors = sum(1 for p in model.parameters() if p.requires_grad)
    per_part = sum(p.numel() for part in model.children() for p in part.parameters() if p.requires_grad)
    if got == total and total != expected:
        return f"got {got}, which is *all* parameters; count only those with p.requires_grad (expected {expected})."
    if got == tensors:
        return f"got {got}, the number of parameter *tensors*; count their values with p.numel() (expected {expected})."
    if got == per_part and per_part != expected:
        return (f"got {got}, expected {expected}: a parameter shared by two layers was counted twice; "
                f"model.parameters() lists every parameter once (adding up the parts does not).")
    return f"got {got}, expected {expected} trainable parameter values."


@register(
    "count-trainable",
    lesson="08_transfer",
    title="Count the trainable parameters",
    hint="sum(p.numel() for p in model.parameters() if p.requires_grad) — numel() counts the values in a tensor.",
    checker=_check_count,
)
def _count_cases() -> list[Case]:
    return [
        Case((_toy(0),), description="a toy segmenter with nothing frozen: every parameter value counts"),
        Case((_toy(0, frozen=("encoder",)),), description="the same model with its encoder frozen: only decoder + head count"),
        Case((_toy(5, frozen=("encoder", "decoder", "head")),), hidden=True, description="everything frozen -> 0"),
        Case((_toy(6, width=8, frozen=("decoder",)),), hidden=True, description="decoder frozen, width 8"),
        Case((_toy(7, tied=True),), hidden=True, description="a convolution shared by encoder and decoder counts once"),
    ]


# ------------------------------------------------------------------------------------------------ encoder-decoder-groups
def _fingerprint(p: torch.Tensor) -> tuple:
    return tuple(p.shape), round(float(p.detach().flatten()[0]), 3)


def _check_groups(case: Case, got: Any) -> str | None:
    model, encoder_lr, decoder_lr = case.args
    if not isinstance(got, (list, tuple)) or len(got) != 2 or not all(isinstance(g, dict) for g in got):
        return "return a list of two dicts: [{'params': [...], 'lr': encoder_lr}, {'params': [...], 'lr': decoder_lr}]."
    for i, group in enumerate(got):
        if "params" not in group or "lr" not in group:
            return f"group {i} has keys {sorted(group)}; each group needs 'params' and 'lr'."
    lrs = [float(g["lr"]) for g in got]
    if lrs == [decoder_lr, encoder_lr] and encoder_lr != decoder_lr:
        return "the learning rates are swapped: the pretrained encoder gets the *small* encoder_lr, the new decoder the large one."
    if lrs != [encoder_lr, decoder_lr]:
        return f"the groups' lr are {lrs}; expected [encoder_lr, decoder_lr] = {[encoder_lr, decoder_lr]}."
    params = [list(g["params"]) for g in got]
    if not all(isinstance(p, torch.nn.Parameter) for ps in params for p in ps):
        return "'params' must hold the parameters themselves (from .parameters()), not modules or names."
    # the function ran on a copy of ``model``: match its parameters to the original's by value
    names = {_fingerprint(p): n for n, p in model.named_parameters()}
    enc_ids = {names[_fingerprint(p)] for p in model.encoder.parameters()}
    all_ids = set(names.values())
    first = [names.get(_fingerprint(p), "?") for p in params[0]]
    second = [names.get(_fingerprint(p), "?") for p in params[1]]
    if "?" in first + second:
        return "some parameters in the groups do not belong to the model given; use model.encoder / model.parameters()."
    if set(first) & set(second):
        return "some parameters are in both groups (the optimizer refuses that); put the encoder's in the first group only."
    if set(first) != enc_ids:
        return "the first group must hold exactly the parameters of model.encoder."
    missing = all_ids - enc_ids - set(second)
    if missing:
        return (f"parameters {sorted(missing)[:3]} are in no group, so they would never train; the second group needs every "
                f"parameter that is not in the encoder (decoder *and* head).")
    if len(second) != len(set(second)):
        return "a parameter appears twice in the second group; list each parameter once."
    return None


@register(
    "encoder-decoder-groups",
    lesson="08_transfer",
    title="Discriminative learning rates: two parameter groups",
    hint="enc = set(id(p) for p in model.encoder.parameters()); first group: the encoder's parameters with lr=encoder_lr; "
    "second group: [p for p in model.parameters() if id(p) not in enc] with lr=decoder_lr.",
    checker=_check_groups,
)
def _groups_cases() -> list[Case]:
    return [
        Case((_toy(0), 1e-4, 1e-3), description="toy segmenter, encoder_lr=1e-4, decoder_lr=1e-3: the head belongs to the second group"),
        Case((_toy(1, frozen=("encoder",)), 1e-5, 3e-3), description="a frozen encoder still gets its group (ready for unfreezing)"),
        Case((_toy(2, width=6), 0.0, 1e-2), hidden=True, description="encoder_lr=0"),
        Case((_toy(3, width=3), 2e-4, 2e-4), hidden=True, description="the same lr for both groups"),
        Case((_toy(4, width=5), 1e-4, 5e-3), hidden=True, description="width 5"),
    ]


# ------------------------------------------------------------------------------------------------ imagenet-normalize
def _check_normalize_input(case: Case, got: Any) -> str | None:
    reason = compare(case.expected, got, case.atol, case.rtol)
    if reason is None:
        return None
    images = case.args[0]
    if isinstance(got, torch.Tensor) and got.shape == images.shape:
        # typical mistakes, recognised by their results
        wrong_axis = (images - torch.tensor(IMAGENET_MEAN)) / torch.tensor(IMAGENET_STD) if images.shape[-1] == 3 else None
        if wrong_axis is not None and torch.allclose(got, wrong_axis, atol=1e-5):
            return "the statistics were applied along the last axis (width); view them as 3×1×1 so they apply per channel."
        if torch.allclose(got, (images - 0.5) / 0.5, atol=1e-5):
            return "that is (x - 0.5) / 0.5; this exercise asks for ImageNet's per-channel mean and std."
        if torch.allclose(got, (images * 255 - torch.tensor(IMAGENET_MEAN).view(3, 1, 1)) / torch.tensor(IMAGENET_STD).view(3, 1, 1), atol=1e-3):
            return "the images are already in [0, 1]; do not multiply by 255 (the ImageNet statistics are for [0, 1])."
        flipped = imagenet_normalize_reference(images.flip(-3)).flip(-3)
        if torch.allclose(got, flipped, atol=1e-5):
            return "the channel order is reversed (BGR): mean and std are given for R, G, B in that order."
    return reason


@register(
    "imagenet-normalize",
    lesson="08_transfer",
    title="ImageNet normalisation",
    hint="mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1), std likewise; return (images - mean) / std. The 3×1×1 "
    "shape broadcasts per channel for 3×H×W and for N×3×H×W images.",
    checker=_check_normalize_input,
)
def _normalize_cases() -> list[Case]:
    g = torch.Generator().manual_seed(800)
    cases = []
    for shape, hidden, description in [
        ((3, 2, 2), False, "a 3×2×2 image: channel c becomes (x - mean[c]) / std[c]"),
        ((2, 3, 4, 5), False, "a batch 2×3×4×5: the same statistics for every image"),
        ((3, 3, 3), True, "a 3×3×3 image (width 3: per channel, not per column)"),
        ((1, 3, 7, 3), True, "a batch of one 3×7×3 image"),
        ((4, 3, 1, 1), True, "single-pixel images"),
    ]:
        x = torch.rand(shape, generator=g)
        cases.append(Case((x,), expected=imagenet_normalize_reference(x), hidden=hidden, description=description))
    grey = torch.full((3, 2, 2), 0.5)
    cases.append(Case((grey,), expected=imagenet_normalize_reference(grey), hidden=True, description="a uniform grey image"))
    return cases
