"""Exercises of lesson 04 (U-Net from scratch): the DoubleConv block, joining a skip connection, binary Dice."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .core import Case
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
    """Reference answer: Dice 2|P∩T| / (|P| + |T|) of two binary masks; ``empty`` when both masks are empty."""
    p, t = pred.bool(), target.bool()
    total = int(p.sum()) + int(t.sum())
    if total == 0:
        return float(empty)
    return 2.0 * int((p & t).sum()) / total


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


@register(
    "double-conv",
    lesson="04_unet",
    title="Build the DoubleConv block",
    hint="nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.BatchNorm2d(out_channels), nn.ReLU(), "
    "then the same with out_channels -> out_channels). padding=1 keeps H and W.",
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


@register(
    "join-skip",
    lesson="04_unet",
    title="Join a skip connection in the decoder",
    hint="x = F.interpolate(x, scale_factor=2, mode='nearest'); dh, dw = skip.shape[-2] - x.shape[-2], "
    "skip.shape[-1] - x.shape[-1]; x = F.pad(x, [dw // 2, dw - dw // 2, dh // 2, dh - dh // 2]); "
    "return torch.cat([skip, x], dim=1)  (skip first, along the channel dimension 1).",
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


@register(
    "dice-score",
    lesson="04_unet",
    title="Dice score of two binary masks",
    hint="Dice = 2·|pred AND target| / (|pred| + |target|); count True pixels with .sum(). When both masks are "
    "empty the denominator is 0: return `empty` (the model correctly found no lesion). Return a Python float.",
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
