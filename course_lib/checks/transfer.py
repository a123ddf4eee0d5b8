"""Exercises of lesson 08 (transfer learning): freeze an encoder, count trainable parameters,
discriminative learning rates, and ImageNet normalisation."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .core import Case, Mistake
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
        Case((_toy(0),), description="a toy segmenter (encoder, decoder, head): every encoder parameter frozen, the rest still trainable"),
        Case((_toy(1, width=6),), description="a wider toy segmenter: the weights themselves are unchanged"),
        Case((_toy(2, frozen=("head",)),), hidden=True, description="the head was already frozen: leave it frozen"),
        Case((_toy(3, frozen=("encoder",)),), hidden=True, description="an encoder that is already frozen stays frozen"),
        Case((_toy(4, width=2),), hidden=True, description="a very narrow toy segmenter"),
    ]


# ------------------------------------------------------------------------------------------------ count-trainable
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
        Case((_toy(0),), description="a toy segmenter with nothing frozen: every parameter value counts"),
        Case((_toy(0, frozen=("encoder",)),), description="the same model with its encoder frozen: only decoder + head count"),
        Case((_toy(5, frozen=("encoder", "decoder", "head")),), hidden=True, description="everything frozen -> 0"),
        Case((_toy(6, width=8, frozen=("decoder",)),), hidden=True, description="decoder frozen, width 8"),
        Case((_toy(7, tied=True),), hidden=True, description="a convolution shared by encoder and decoder counts once"),
    ]


# ------------------------------------------------------------------------------------------------ encoder-decoder-groups
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
        Case((_toy(0), 1e-4, 1e-3), description="toy segmenter, encoder_lr=1e-4, decoder_lr=1e-3: the head belongs to the second group"),
        Case((_toy(1, frozen=("encoder",)), 1e-5, 3e-3), description="a frozen encoder still gets its group (ready for unfreezing)"),
        Case((_toy(2, width=6), 0.0, 1e-2), hidden=True, description="encoder_lr=0"),
        Case((_toy(3, width=3), 2e-4, 2e-4), hidden=True, description="the same lr for both groups"),
        Case((_toy(4, width=5), 1e-4, 5e-3), hidden=True, description="width 5"),
    ]


# ------------------------------------------------------------------------------------------------ imagenet-normalize
def _close_to(wrong):
    """``detect`` for a normalisation mistake: the learner's tensor has ``wrong``'s values (any float dtype)."""
    def detect(case: Case, got: Any, reason: str) -> bool:
        want = wrong(*case.args)
        return (isinstance(got, torch.Tensor) and tuple(got.shape) == tuple(want.shape)
                and not torch.allclose(want.double(), case.expected.double(), atol=1e-5)
                and torch.allclose(got.detach().double().cpu(), want.double(), atol=1e-4))
    return detect


def _normalize_half(images: torch.Tensor) -> torch.Tensor:
    return (images - 0.5) / 0.5


def _normalize_last_axis(images: torch.Tensor) -> torch.Tensor:
    return (images - torch.tensor(IMAGENET_MEAN)) / torch.tensor(IMAGENET_STD)


def _normalize_times_255(images: torch.Tensor) -> torch.Tensor:
    return imagenet_normalize_reference(images * 255)


def _normalize_bgr(images: torch.Tensor) -> torch.Tensor:
    return imagenet_normalize_reference(images.flip(-3)).flip(-3)


_NORMALIZE_MISTAKES = (
    Mistake(
        "statistics along the width",
        _normalize_last_axis,
        "a tensor of 3 statistics lines up with the LAST axis, the width, so each column got a channel's "
        "statistics (and a width other than 3 raises an error). Shape them 3×1×1 so they apply per channel.",
        detect=_close_to(_normalize_last_axis),
    ),
    Mistake(
        "0.5 instead of ImageNet's statistics",
        _normalize_half,
        "that is (x − 0.5) / 0.5, which maps [0, 1] to [−1, 1]. A pretrained encoder expects exactly the "
        "standardisation it was trained with: ImageNet's mean and std, different for each channel.",
        detect=_close_to(_normalize_half),
    ),
    Mistake(
        "scaled to 0-255 first",
        _normalize_times_255,
        "the images are already in [0, 1], and the ImageNet statistics are given for that range; multiplying by "
        "255 first makes every value hundreds of times too large.",
        detect=_close_to(_normalize_times_255),
    ),
    Mistake(
        "channels in BGR order",
        _normalize_bgr,
        "the statistics were used in reverse channel order (BGR, as OpenCV reads images); the mean and std are "
        "given for R, G, B in that order, and the images are RGB.",
        detect=_close_to(_normalize_bgr),
    ),
)


@register(
    "imagenet-normalize",
    lesson="08_transfer",
    title="ImageNet normalisation",
    hints=(
        "A pretrained encoder expects its input standardised like ImageNet: from each colour channel subtract "
        "that channel's mean, then divide by that channel's standard deviation (R, G, B in this order). Shape "
        "the three statistics so they line up with the channel axis, the third from the end; then the same "
        "code works for one image and for a batch.",
        "`torch.tensor(IMAGENET_MEAN)` has shape (3,), which would line up with the last axis (the width); "
        "`.view(3, 1, 1)` makes it 3×1×1, which broadcasts per channel over 3×H×W and N×3×H×W alike. The "
        "images are already in [0, 1]: no 255.",
        "`mean = torch.tensor(IMAGENET_MEAN, dtype=images.dtype).view(3, 1, 1)`, `std` likewise; "
        "`return (images - mean) / std`",
    ),
    mistakes=_NORMALIZE_MISTAKES,
)
def _normalize_cases() -> list[Case]:
    g = torch.Generator().manual_seed(800)
    cases = []
    for shape, hidden, description in [
        ((3, 2, 3), False, "a 3×2×3 image: channel c becomes (x - mean[c]) / std[c] (per channel, not per column)"),
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
