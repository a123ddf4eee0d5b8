"""Exercises of lesson 04 (U-Net from scratch): the DoubleConv block, joining a skip connection, binary Dice."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .. import metrics
from .core import Case, Mistake
from .registry import register

__all__ = ["double_conv_reference", "join_skip_reference", "dice_score_reference"]


def double_conv_reference(in_channels: int, out_channels: int) -> nn.Module:
    """Reference answer: (3×3 conv with padding 1 → BatchNorm → ReLU) twice; keeps height and width."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def join_skip_reference(x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
    """Reference answer: upsample ``x`` ×2 (nearest), zero-pad it to ``skip``'s H×W, then concatenate ``[skip, x]``."""
    x = F.interpolate(x, scale_factor=2, mode="nearest")
    dh, dw = skip.shape[-2] - x.shape[-2], skip.shape[-1] - x.shape[-1]
    x = F.pad(x, [dw // 2, dw - dw // 2, dh // 2, dh - dh // 2])
    return torch.cat([skip, x], dim=1)


def dice_score_reference(pred: torch.Tensor, target: torch.Tensor, empty: float = 1.0) -> float:
    """Reference answer: Dice 2|P∩T| / (|P| + |T|) of binary masks via ``metrics.dice``; ``empty`` if both are empty."""
    p, t = pred.bool(), target.bool()
    if not bool((p | t).any()):
        return float(empty)
    return float(metrics.dice(p, t, num_classes=2, average="binary"))


# ------------------------------------------------------------------------------------------------ double-conv
def _check_double_conv(case: Case, got: Any) -> str | None:
    in_ch, out_ch = case.args
    if not isinstance(got, nn.Module):
        return f"double_conv should return a torch.nn.Module (e.g. nn.Sequential(...)), but it returned {type(got).__name__}."
    convs = [m for m in got.modules() if isinstance(m, nn.Conv2d)]
    if len(convs) != 2:
        return f"the block has {len(convs)} nn.Conv2d layer(s); a DoubleConv has exactly 2."
    if convs[0].in_channels != in_ch or convs[0].out_channels != out_ch:
        return (f"the first conv maps {convs[0].in_channels} -> {convs[0].out_channels} channels; "
                f"expected {in_ch} -> {out_ch}.")
    if convs[1].in_channels != out_ch or convs[1].out_channels != out_ch:
        return (f"the second conv maps {convs[1].in_channels} -> {convs[1].out_channels} channels; "
                f"expected {out_ch} -> {out_ch}.")
    for i, conv in enumerate(convs, start=1):
        if tuple(conv.kernel_size) != (3, 3):
            return f"conv {i} has kernel_size {tuple(conv.kernel_size)}; U-Net uses 3×3 kernels."
    if not any(isinstance(m, nn.BatchNorm2d) for m in got.modules()):
        return "the block has no nn.BatchNorm2d; put one after each convolution (it makes training much faster)."
    g = torch.Generator().manual_seed(in_ch * 100 + out_ch)
    h, w = 13, 10
    x = torch.randn(2, in_ch, h, w, generator=g)
    got.train()
    with torch.no_grad():
        out = got(x)
    if not isinstance(out, torch.Tensor):
        return f"calling the block returned {type(out).__name__}, not a tensor."
    if tuple(out.shape) != (2, out_ch, h, w):
        return (f"on an input of shape {tuple(x.shape)} the block returns shape {tuple(out.shape)}, expected "
                f"{(2, out_ch, h, w)}; did you forget padding=1 (each unpadded 3×3 conv loses 2 pixels)?")
    if bool((out < 0).any()):
        return "the output has negative values: end the block with a ReLU (conv → BN → ReLU, twice)."
    return None


def _dc_no_padding(in_channels: int, out_channels: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3), nn.BatchNorm2d(out_channels), nn.ReLU(),
                         nn.Conv2d(out_channels, out_channels, 3), nn.BatchNorm2d(out_channels), nn.ReLU())


def _dc_single_conv(in_channels: int, out_channels: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.BatchNorm2d(out_channels), nn.ReLU())


def _dc_in_channels_twice(in_channels: int, out_channels: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.BatchNorm2d(out_channels), nn.ReLU(),
                         nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.BatchNorm2d(out_channels), nn.ReLU())


def _dc_no_final_relu(in_channels: int, out_channels: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.BatchNorm2d(out_channels), nn.ReLU(),
                         nn.Conv2d(out_channels, out_channels, 3, padding=1), nn.BatchNorm2d(out_channels))


def _dc_no_batchnorm(in_channels: int, out_channels: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(out_channels, out_channels, 3, padding=1), nn.ReLU())


def _dc_no_return(in_channels: int, out_channels: int) -> None:
    nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.BatchNorm2d(out_channels), nn.ReLU(),
                  nn.Conv2d(out_channels, out_channels, 3, padding=1), nn.BatchNorm2d(out_channels), nn.ReLU())


def _convs(got: Any) -> list[nn.Conv2d]:
    return [m for m in got.modules() if isinstance(m, nn.Conv2d)] if isinstance(got, nn.Module) else []


_DOUBLE_CONV_MISTAKES = (
    Mistake("forgot to return the block", _dc_no_return,
            "the function builds the layers but returns None: return the block you built, so that the U-Net can "
            "use it as a layer.", detect=lambda case, got, reason: got is None),
    Mistake("a single convolution", _dc_single_conv,
            "a DoubleConv has two 3×3 conv → BatchNorm → ReLU stages; two stacked 3×3 convolutions see a 5×5 "
            "neighbourhood with an extra non-linearity in between.",
            detect=lambda case, got, reason: len(_convs(got)) == 1),
    Mistake("second conv takes in_channels", _dc_in_channels_twice,
            "the second convolution reads the output of the first, which has out_channels channels, so it maps "
            "out_channels -> out_channels.",
            detect=lambda case, got, reason: len(_convs(got)) == 2
            and _convs(got)[1].in_channels != _convs(got)[0].out_channels),
    Mistake("no padding", _dc_no_padding,
            "an unpadded 3×3 convolution loses one pixel on each side (2 rows and 2 columns); with padding of 1 "
            "the block keeps H and W, so the decoder's maps line up with the skip connections.",
            detect=lambda case, got, reason: any(tuple(c.padding) == (0, 0) for c in _convs(got))),
    Mistake("no BatchNorm", _dc_no_batchnorm,
            "put an nn.BatchNorm2d after each convolution (before its ReLU): it keeps activations in a good "
            "range and makes training much faster.",
            detect=lambda case, got, reason: isinstance(got, nn.Module)
            and not any(isinstance(m, nn.BatchNorm2d) for m in got.modules())),
    Mistake("block does not end with ReLU", _dc_no_final_relu,
            "each of the two stages is conv → BatchNorm → ReLU, so the block ends with a ReLU and its output "
            "is never negative; check the last layer and the order of the layers in each stage.",
            detect=lambda case, got, reason: "negative values" in reason),
)


@register(
    "double-conv",
    lesson="04_unet",
    title="Build the DoubleConv block",
    hints=(
        "A DoubleConv block is the same stage twice in a row: a 3×3 convolution, then batch normalisation, then a "
        "ReLU. The first stage turns in_channels into out_channels, the second keeps out_channels; padding of one "
        "pixel on every side keeps the height and width unchanged.",
        "Put six layers into nn.Sequential and return it: nn.Conv2d(..., kernel_size 3, padding=1), "
        "nn.BatchNorm2d(out_channels), nn.ReLU(), and again. The second nn.Conv2d reads out_channels, not "
        "in_channels.",
        "nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.BatchNorm2d(out_channels), nn.ReLU(), "
        "then the same with out_channels -> out_channels). padding=1 keeps H and W.",
    ),
    mistakes=_DOUBLE_CONV_MISTAKES,
    checker=_check_double_conv,
)
def _double_conv_cases() -> list[Case]:
    return [
        Case((1, 8), description="double_conv(1, 8) on a 2×1×13×10 input: 2 convs 3×3, BatchNorm, ReLU, output 2×8×13×10"),
        Case((8, 16), description="double_conv(8, 16): output 2×16×13×10 (height and width kept)"),
        Case((3, 3), hidden=True, description="double_conv(3, 3)"),
        Case((16, 4), hidden=True, description="double_conv(16, 4) (fewer output channels than input)"),
        Case((5, 7), hidden=True, description="double_conv(5, 7)"),
    ]


# ------------------------------------------------------------------------------------------------ join-skip
def _join_cases(seed: int, shapes: list[tuple[int, int, int, int, int]], hidden: bool) -> list[Case]:
    g = torch.Generator().manual_seed(seed)
    out = []
    for n, c_x, c_s, h, w in shapes:
        x = torch.randn(n, c_x, h // 2, w // 2, generator=g)
        skip = torch.randn(n, c_s, h, w, generator=g)
        out.append(Case((x, skip), expected=join_skip_reference(x, skip), hidden=hidden,
                        description=f"x {tuple(x.shape)}, skip {tuple(skip.shape)} -> {tuple(join_skip_reference(x, skip).shape)}"))
    return out


def _js_wrong_order(x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
    x = F.interpolate(x, scale_factor=2, mode="nearest")
    dh, dw = skip.shape[-2] - x.shape[-2], skip.shape[-1] - x.shape[-1]
    x = F.pad(x, [dw // 2, dw - dw // 2, dh // 2, dh - dh // 2])
    return torch.cat([x, skip], dim=1)


def _js_bilinear(x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
    x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    dh, dw = skip.shape[-2] - x.shape[-2], skip.shape[-1] - x.shape[-1]
    x = F.pad(x, [dw // 2, dw - dw // 2, dh // 2, dh - dh // 2])
    return torch.cat([skip, x], dim=1)


def _js_pad_wrong_side(x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
    x = F.interpolate(x, scale_factor=2, mode="nearest")
    dh, dw = skip.shape[-2] - x.shape[-2], skip.shape[-1] - x.shape[-1]
    x = F.pad(x, [dw - dw // 2, dw // 2, dh - dh // 2, dh // 2])  # the odd extra row/column on top/left
    return torch.cat([skip, x], dim=1)


def _js_resized(x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
    x = F.interpolate(x, size=tuple(skip.shape[-2:]), mode="nearest")
    return torch.cat([skip, x], dim=1)


def _js_crop_skip(x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
    x = F.interpolate(x, scale_factor=2, mode="nearest")
    top, left = (skip.shape[-2] - x.shape[-2]) // 2, (skip.shape[-1] - x.shape[-1]) // 2
    skip = skip[..., top:top + x.shape[-2], left:left + x.shape[-1]]
    return torch.cat([skip, x], dim=1)


def _js_added(x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
    x = F.interpolate(x, scale_factor=2, mode="nearest")
    dh, dw = skip.shape[-2] - x.shape[-2], skip.shape[-1] - x.shape[-1]
    return skip + F.pad(x, [dw // 2, dw - dw // 2, dh // 2, dh - dh // 2])


_JOIN_SKIP_MISTAKES = (
    Mistake("upsampled x before the skip", _js_wrong_order,
            "the values are right but the channels are in the wrong order: the skip's channels come first, then "
            "the upsampled ones, so that the next convolution's weights meet the channels they expect."),
    Mistake("bilinear upsampling", _js_bilinear,
            "this exercise upsamples by nearest neighbour (each value copied into a 2×2 block); bilinear blends "
            "neighbours and gives other numbers."),
    Mistake("resized to the skip size", _js_resized,
            "stretching x to the skip's odd size moves every row and column a little; double it first, then add "
            "the missing row or column as zeros."),
    Mistake("padded on the wrong side", _js_pad_wrong_side,
            "when the gap is odd, the extra zero row goes at the bottom and the extra zero column at the right "
            "(half the gap, rounded down, on top and left; the rest on bottom and right)."),
    Mistake("skip cropped instead of x padded", _js_crop_skip,
            "the original U-Net cropped the skip, but here x is padded up to the skip's size so that no border "
            "pixel of the skip is lost; the output has the skip's height and width."),
    Mistake("added instead of concatenated", _js_added,
            "U-Net stacks the two maps along the channel dimension (the channels add up); adding them is what "
            "FPN or LinkNet do, and it needs equal channel counts."),
)


@register(
    "join-skip",
    lesson="04_unet",
    title="Join a skip connection in the decoder",
    hints=(
        "Bring x up to the skip's size, then stack the two maps along the channels, skip first. Doubling x by "
        "copying each value is not always enough: when the skip has an odd height or width one row or column is "
        "missing, so add zeros around x (the extra one at the bottom or right) rather than stretching it.",
        "F.interpolate(x, scale_factor=2, mode='nearest') doubles H and W; the gaps are the skip's last two sizes "
        "minus x's; F.pad takes [left, right, top, bottom] for the last two dimensions; torch.cat joins along "
        "dim=1.",
        "x = F.interpolate(x, scale_factor=2, mode='nearest'); dh, dw = skip.shape[-2] - x.shape[-2], "
        "skip.shape[-1] - x.shape[-1]; x = F.pad(x, [dw // 2, dw - dw // 2, dh // 2, dh - dh // 2]); "
        "return torch.cat([skip, x], dim=1)  (skip first, along the channel dimension 1).",
    ),
    mistakes=_JOIN_SKIP_MISTAKES,
)
def _join_skip_cases() -> list[Case]:
    cases = _join_cases(400, [(1, 2, 2, 8, 8)], hidden=False)
    cases[0].description = "even size: x 1×2×4×4, skip 1×2×8×8 -> 1×4×8×8 (skip channels first)"
    odd = _join_cases(401, [(2, 4, 3, 9, 7)], hidden=False)
    odd[0].description = "odd size: x 2×4×4×3, skip 2×3×9×7 -> upsampled x is 8×6, pad 1 row and 1 column -> 2×7×9×7"
    hidden = _join_cases(402, [(1, 1, 1, 2, 2), (3, 8, 4, 16, 12), (2, 6, 6, 11, 11), (1, 5, 2, 15, 6)], hidden=True)
    return cases + odd + hidden


# ------------------------------------------------------------------------------------------------ dice-score
def _mask_pairs(seed: int, count: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(count):
        h, w = (int(v) for v in torch.randint(3, 20, (2,), generator=g))
        p = float(torch.rand(1, generator=g)) * 0.6
        out.append((torch.rand(h, w, generator=g) < p, torch.rand(h, w, generator=g) < p))
    return out


def _ds_iou(pred: torch.Tensor, target: torch.Tensor, empty: float = 1.0) -> float:
    p, t = pred.bool(), target.bool()
    union = int((p | t).sum())
    return float(empty) if union == 0 else int((p & t).sum()) / union


def _ds_no_empty_case(pred: torch.Tensor, target: torch.Tensor, empty: float = 1.0) -> float:
    p, t = pred.bool(), target.bool()
    return (2 * (p & t).sum() / (p.sum() + t.sum())).item()  # 0 / 0 gives NaN for two empty masks


def _ds_empty_ignored(pred: torch.Tensor, target: torch.Tensor, empty: float = 1.0) -> float:
    p, t = pred.bool(), target.bool()
    total = int(p.sum()) + int(t.sum())
    return 1.0 if total == 0 else 2.0 * int((p & t).sum()) / total


def _ds_background_counted(pred: torch.Tensor, target: torch.Tensor, empty: float = 1.0) -> float:
    p, t = pred.bool(), target.bool()
    total = int(p.sum()) + int(t.sum())
    return float(empty) if total == 0 else 2.0 * int((p == t).sum()) / total


def _ds_tensor(pred: torch.Tensor, target: torch.Tensor, empty: float = 1.0) -> torch.Tensor:
    p, t = pred.bool(), target.bool()
    total = p.sum() + t.sum()
    return torch.tensor(float(empty)) if total == 0 else 2 * (p & t).sum() / total


_DICE_SCORE_MISTAKES = (
    Mistake("IoU instead of Dice", _ds_iou,
            "that is the IoU, overlap / union; Dice weighs the overlap twice against the two mask sizes, so it is "
            "higher than IoU for every partial overlap (Dice = 2·IoU / (1 + IoU))."),
    Mistake("both-empty case not handled", _ds_no_empty_case,
            "two empty masks give 0 / 0, which is NaN in torch (and ZeroDivisionError in Python); check the total "
            "first and return the empty argument: finding no lesion where there is none is a perfect answer."),
    Mistake("empty argument ignored", _ds_empty_ignored,
            "for two empty masks return the value the caller passed as empty, not a fixed 1.0; some papers "
            "count that case as 0 or leave it out."),
    Mistake("background counted as overlap", _ds_background_counted,
            "pred == target is also True where both masks are background; the overlap is the pixels that are "
            "True in both masks (logical and)."),
    Mistake("a tensor, not a float", _ds_tensor,
            "the value may be right, but the exercise asks for a plain Python float: use .item() or int() on "
            "the counts.", detect=lambda case, got, reason: isinstance(got, torch.Tensor)),
)


@register(
    "dice-score",
    lesson="04_unet",
    title="Dice score of two binary masks",
    hints=(
        "Dice is twice the number of pixels that are in both masks, divided by the number of pixels in the "
        "prediction plus the number in the target. When both masks are empty that is 0 / 0: the model rightly "
        "found nothing, so give back the value passed as empty. The result is a plain Python number.",
        "Turn both masks into booleans with .bool(); the overlap is a logical and (&), not ==, which also counts "
        "background; count with .sum() and int(); test whether the total is 0 before dividing.",
        "Dice = 2·|pred AND target| / (|pred| + |target|); count True pixels with .sum(). When both masks are "
        "empty the denominator is 0: return `empty` (the model correctly found no lesion). Return a Python float.",
    ),
    mistakes=_DICE_SCORE_MISTAKES,
)
def _dice_score_cases() -> list[Case]:
    a = torch.tensor([[1, 1, 0], [0, 1, 0]], dtype=torch.bool)
    b = torch.tensor([[1, 0, 0], [0, 1, 1]], dtype=torch.bool)
    none = torch.zeros(2, 3, dtype=torch.bool)
    cases = [
        Case((a, b), expected=dice_score_reference(a, b), description="3 and 3 True pixels, 2 shared -> 2·2/6 = 0.667"),
        Case((none, none), expected=1.0, description="both masks empty (no lesion, none predicted) -> empty=1.0"),
        Case((none, b), expected=0.0, description="nothing predicted but a lesion is there -> 0.0"),
        Case((none, none), {"empty": 0.0}, expected=0.0, hidden=True, description="both empty with empty=0.0 -> 0.0"),
        Case((a.long(), b.long()), expected=dice_score_reference(a, b), hidden=True, description="int64 0/1 masks instead of bool"),
        Case((a, a), expected=1.0, hidden=True, description="identical masks -> 1.0"),
    ]
    for p, t in _mask_pairs(seed=500, count=4):
        cases.append(Case((p, t), expected=dice_score_reference(p, t), hidden=True, description=f"random {tuple(p.shape)} masks"))
    return cases
