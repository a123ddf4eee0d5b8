"""SegFormer, the course's small version (Xie et al., 2021): a hierarchical transformer encoder, an all-MLP decoder.

Introduced in lesson 11 (beyond CNNs). Written from scratch, one idea per class:

* ``OverlapPatchEmbed``: a strided convolution cuts *overlapping* patches (kernel 2s−1 for stride s) and turns
  each into a token; each stage halves the resolution again (strides 4, 8, 16, 32 of the input);
* ``EfficientSelfAttention``: multi-head self-attention whose keys and values come from the feature map shrunk
  R× per side by a strided convolution (spatial reduction), so the attention matrix has L × L/R² entries;
* ``MixFFN``: the transformer's MLP with a depthwise 3×3 convolution inside; the padding of that convolution
  tells tokens where they are, so no position code is needed and any image size works;
* ``MixTransformerEncoder``: the stages, each a patch embedding, a few blocks (attention + Mix-FFN, each with a
  LayerNorm before it and a residual around it) and a final LayerNorm;
* ``AllMLPDecoder``: a per-pixel linear map (1×1 convolution) brings every stage to one width, everything is
  upsampled to the first stage's 1/4 resolution, concatenated, fused, classified, and resized to the input.

``"mini-segformer"`` in :func:`course_lib.models.create` builds :class:`MiniSegFormer`. The factory's
``"segformer"`` is different: smp's SegFormer decoder on an smp encoder (a CNN unless you pick ``mit_b0``…).
What is left out for size: pretrained ImageNet weights, stochastic depth and dropout.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..attention import map_to_tokens, merge_heads, scaled_dot_product_attention, split_heads, tokens_to_map
from ..validation import check_int

__all__ = [
    "OverlapPatchEmbed",
    "EfficientSelfAttention",
    "MixFFN",
    "TransformerBlock",
    "EncoderStage",
    "MixTransformerEncoder",
    "AllMLPDecoder",
    "MiniSegFormer",
]


class OverlapPatchEmbed(nn.Module):
    """Overlapping patches to tokens: a conv with kernel 2·stride−1 and ``stride``, then LayerNorm; returns (tokens, H, W)."""

    def __init__(self, in_channels: int, width: int, stride: int) -> None:
        super().__init__()
        kernel = 2 * stride - 1  # 7 for stride 4, 3 for stride 2: neighbouring patches overlap
        self.proj = nn.Conv2d(in_channels, width, kernel, stride=stride, padding=kernel // 2)
        self.norm = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, int, int]:
        x = self.proj(x)
        height, width = x.shape[-2:]
        return self.norm(map_to_tokens(x)), height, width


class EfficientSelfAttention(nn.Module):
    """Multi-head self-attention; keys and values come from the map shrunk ``reduction``× per side (1: plain attention).

    Set ``keep_weights = True`` to keep the last attention weights (N×heads×L×L/R²) in ``.weights``.
    """

    def __init__(self, width: int, heads: int, reduction: int) -> None:
        super().__init__()
        self.heads, self.reduction = heads, reduction
        self.q = nn.Linear(width, width)
        self.kv = nn.Linear(width, 2 * width)
        self.reduce = nn.Conv2d(width, width, reduction, stride=reduction) if reduction > 1 else None
        self.norm = nn.LayerNorm(width) if reduction > 1 else None
        self.proj = nn.Linear(width, width)
        self.keep_weights = False
        self.weights: torch.Tensor | None = None

    def reduced(self, x: torch.Tensor, height: int, width: int) -> torch.Tensor:
        """The tokens keys and values are made from: the H×W map padded to a multiple of R, then shrunk R× per side."""
        if self.reduce is None:
            return x
        r = self.reduction
        feature_map = F.pad(tokens_to_map(x, height, width), (0, -width % r, 0, -height % r))
        return self.norm(map_to_tokens(self.reduce(feature_map)))

    def forward(self, x: torch.Tensor, height: int, width: int) -> torch.Tensor:
        q = split_heads(self.q(x), self.heads)  # every token asks a query ...
        k, v = self.kv(self.reduced(x, height, width)).chunk(2, dim=-1)  # ... of fewer keys and values
        out, weights = scaled_dot_product_attention(q, split_heads(k, self.heads), split_heads(v, self.heads))
        self.weights = weights.detach() if self.keep_weights else None
        return self.proj(merge_heads(out))


class MixFFN(nn.Module):
    """Linear → depthwise 3×3 conv → GELU → Linear: the conv mixes neighbours and stands in for a position code."""

    def __init__(self, width: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(width, hidden)
        self.dwconv = nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden)  # one 3×3 filter per channel
        self.fc2 = nn.Linear(hidden, width)

    def forward(self, x: torch.Tensor, height: int, width: int) -> torch.Tensor:
        x = self.fc1(x)
        x = map_to_tokens(self.dwconv(tokens_to_map(x, height, width)))
        return self.fc2(F.gelu(x))


class TransformerBlock(nn.Module):
    """x + attention(LayerNorm(x)), then x + Mix-FFN(LayerNorm(x)): a pre-norm transformer block."""

    def __init__(self, width: int, heads: int, reduction: int, mlp_ratio: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(width)
        self.attention = EfficientSelfAttention(width, heads, reduction)
        self.norm2 = nn.LayerNorm(width)
        self.ffn = MixFFN(width, width * mlp_ratio)

    def forward(self, x: torch.Tensor, height: int, width: int) -> torch.Tensor:
        x = x + self.attention(self.norm1(x), height, width)
        return x + self.ffn(self.norm2(x), height, width)


class EncoderStage(nn.Module):
    """One encoder stage: overlapping patch embedding, ``depth`` transformer blocks, LayerNorm; a map in, a map out."""

    def __init__(self, in_channels: int, width: int, stride: int, depth: int, heads: int, reduction: int,
                 mlp_ratio: int) -> None:
        super().__init__()
        self.embed = OverlapPatchEmbed(in_channels, width, stride)
        self.blocks = nn.ModuleList(TransformerBlock(width, heads, reduction, mlp_ratio) for _ in range(depth))
        self.norm = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens, height, width = self.embed(x)
        for block in self.blocks:
            tokens = block(tokens, height, width)
        return tokens_to_map(self.norm(tokens), height, width)


class MixTransformerEncoder(nn.Module):
    """The hierarchical encoder: stage i sees the input at stride first_stride·2^i; returns every stage's map."""

    def __init__(self, in_channels: int, widths: Sequence[int], depths: Sequence[int], heads: Sequence[int],
                 reductions: Sequence[int], mlp_ratio: int, first_stride: int) -> None:
        super().__init__()
        strides = [first_stride] + [2] * (len(widths) - 1)
        inputs = [in_channels, *widths[:-1]]
        self.stages = nn.ModuleList(
            EncoderStage(i, w, s, d, h, r, mlp_ratio)
            for i, w, s, d, h, r in zip(inputs, widths, strides, depths, heads, reductions)
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        return features


class AllMLPDecoder(nn.Module):
    """Each stage to ``channels`` by a 1×1 conv, all upsampled to the first stage's size, concatenated, fused, classified."""

    def __init__(self, in_widths: Sequence[int], channels: int, num_classes: int) -> None:
        super().__init__()
        self.project = nn.ModuleList(nn.Conv2d(w, channels, 1) for w in in_widths)  # a Linear layer per pixel
        self.fuse = nn.Sequential(nn.Conv2d(len(in_widths) * channels, channels, 1, bias=False),
                                  nn.BatchNorm2d(channels), nn.ReLU(inplace=True))
        self.classify = nn.Conv2d(channels, num_classes, 1)

    def forward(self, features: Sequence[torch.Tensor], size: Sequence[int]) -> torch.Tensor:
        fine = features[0].shape[-2:]  # the first stage's grid (1/4 of the input for SegFormer's stride 4)
        maps = [F.interpolate(project(f), size=fine, mode="bilinear", align_corners=False)
                for project, f in zip(self.project, features)]
        logits = self.classify(self.fuse(torch.cat(maps[::-1], dim=1)))  # coarsest first, as in the paper
        return F.interpolate(logits, size=tuple(size), mode="bilinear", align_corners=False)


def _check_stages(widths: Any, depths: Any, heads: Any, reductions: Any) -> tuple[tuple[int, ...], ...]:
    """The four per-stage settings as tuples of positive ints of one length, each width divisible by its heads."""
    settings = {"widths": widths, "depths": depths, "heads": heads, "reductions": reductions}
    checked = {}
    for name, values in settings.items():
        if not isinstance(values, (list, tuple)) or not values:
            raise ValueError(f"{name}={values!r} must be a tuple with one int per stage, e.g. {name}=(1, 1, 1, 1).")
        checked[name] = tuple(check_int(f"{name}[{i}]", v) for i, v in enumerate(values))
    stages = len(checked["widths"])
    for name, values in checked.items():
        if len(values) != stages:
            raise ValueError(f"{name} has {len(values)} entries but widths has {stages}; give one per stage.")
    for i, (w, h) in enumerate(zip(checked["widths"], checked["heads"])):
        if w % h:
            raise ValueError(f"heads[{i}]={h} must divide widths[{i}]={w}; each head gets widths/heads features.")
    return checked["widths"], checked["depths"], checked["heads"], checked["reductions"]


class MiniSegFormer(nn.Module):
    """A small SegFormer: Mix Transformer encoder (efficient attention, Mix-FFN) and all-MLP decoder, from scratch.

    Per stage: ``widths`` (features per token), ``depths`` (blocks), ``heads`` (attention heads) and
    ``reductions`` (R: keys and values come from the map shrunk R× per side). ``first_stride`` is the first
    patch embedding's stride (SegFormer: 4; 2 keeps more detail of small images); later stages halve the
    resolution. Reductions, heads and MLP ratio follow SegFormer-B0; widths and decoder are smaller. Any input
    size works: convolutions need no multiple of 32, and the spatial reduction pads its map to a multiple of R.
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = 2,
        widths: Sequence[int] = (16, 32, 64, 128),
        depths: Sequence[int] = (1, 1, 1, 1),
        heads: Sequence[int] = (1, 1, 2, 4),
        reductions: Sequence[int] = (8, 4, 2, 1),
        mlp_ratio: int = 2,
        decoder_channels: int = 32,
        first_stride: int = 4,
    ) -> None:
        super().__init__()
        check_int("in_channels", in_channels)
        check_int("num_classes", num_classes)
        widths, depths, heads, reductions = _check_stages(widths, depths, heads, reductions)
        check_int("mlp_ratio", mlp_ratio)
        check_int("decoder_channels", decoder_channels)
        check_int("first_stride", first_stride)
        self.encoder = MixTransformerEncoder(in_channels, widths, depths, heads, reductions, mlp_ratio, first_stride)
        self.decoder = AllMLPDecoder(widths, decoder_channels, num_classes)

    def attention_layers(self) -> list[EfficientSelfAttention]:
        """Every attention layer, first stage first (set ``keep_weights`` on one to look at its weights)."""
        return [m for m in self.modules() if isinstance(m, EfficientSelfAttention)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x), x.shape[-2:])
