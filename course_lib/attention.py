"""Attention from scratch: images as tokens, scaled dot-product attention, self-attention with heads.

Every function here is written out so that a learner can print it and follow it on a tiny example.
Shapes use N (batch), L (tokens), C (channels) and d (features per token):

* ``patchify`` cuts an image into p×p patches, one token each; ``patch_embed`` projects each patch with a
  convolution whose kernel and stride are both p (the same linear map, done in one call);
* ``map_to_tokens`` / ``tokens_to_map`` turn a feature map into a sequence of tokens and back;
* ``scaled_dot_product_attention`` is softmax(QKᵀ/√d)·V, returning the output and the attention weights;
* ``multi_head_self_attention`` builds Q, K and V from the same tokens, optionally with several heads;
* ``sinusoidal_positions`` is the position code of the original Transformer (attention alone is blind to order);
* ``attention_scores_count`` counts the entries of the attention matrix, the reason transformers for images
  shrink K and V (SegFormer's spatial reduction).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .validation import check_int

__all__ = [
    "patchify",
    "patch_embed",
    "map_to_tokens",
    "tokens_to_map",
    "scaled_dot_product_attention",
    "split_heads",
    "merge_heads",
    "multi_head_self_attention",
    "sinusoidal_positions",
    "attention_scores_count",
]


def _check_tensor(name: str, value: object, ndim: int, shape_text: str) -> torch.Tensor:
    """Return ``value`` if it is a floating-point tensor with ``ndim`` dimensions; else raise a ValueError."""
    if not isinstance(value, torch.Tensor) or value.ndim != ndim or not value.is_floating_point():
        got = f"a {value.ndim}-D {value.dtype} tensor" if isinstance(value, torch.Tensor) else type(value).__name__
        raise ValueError(f"{name} must be a float tensor of shape {shape_text}, got {got}; e.g. torch.rand{_example_shape(shape_text)}.")
    return value


def _example_shape(shape_text: str) -> str:
    """A small example shape for an error message, e.g. 'N×L×d' -> '(2, 5, 4)'."""
    sizes = {"N": 2, "C": 3, "H": 8, "W": 8, "L": 5, "d": 4, "D": 4}
    return "(" + ", ".join(str(sizes.get(part, 4)) for part in shape_text.split("×")) + ")"


def patchify(images: torch.Tensor, patch: int) -> torch.Tensor:
    """Cut N×C×H×W images into p×p patches: N×L×(C·p·p) tokens, L = (H/p)·(W/p), row by row."""
    images = _check_tensor("images", images, 4, "N×C×H×W")
    patch = check_int("patch", patch)
    n, c, h, w = images.shape
    if h % patch or w % patch:
        raise ValueError(f"patch={patch} must divide the image size {h}×{w}; pad or resize the images first.")
    x = images.reshape(n, c, h // patch, patch, w // patch, patch)  # split each axis into (patch index, pixel in patch)
    x = x.permute(0, 2, 4, 1, 3, 5)  # N, rows of patches, columns of patches, C, p, p
    return x.reshape(n, (h // patch) * (w // patch), c * patch * patch)


def patch_embed(images: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """Embed p×p patches with a D×C×p×p ``weight`` (a convolution with stride p): N×L×D tokens.

    The same as ``patchify(images, p) @ weight.flatten(1).T + bias``: a convolution whose stride equals its
    kernel size sees each patch exactly once and applies one linear map to it.
    """
    weight = _check_tensor("weight", weight, 4, "D×C×p×p")
    if weight.shape[-1] != weight.shape[-2]:
        raise ValueError(f"weight has shape {tuple(weight.shape)}; its last two sizes are the patch size and must be equal.")
    patch = weight.shape[-1]
    patchify(images, patch)  # the same checks: 4-D images, a patch size that divides H and W
    return map_to_tokens(F.conv2d(images, weight, bias, stride=patch))


def map_to_tokens(x: torch.Tensor) -> torch.Tensor:
    """An N×C×H×W feature map as N×(H·W)×C tokens: one token per pixel, row by row."""
    x = _check_tensor("x", x, 4, "N×C×H×W")
    return x.flatten(2).transpose(1, 2)


def tokens_to_map(tokens: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """N×(H·W)×C tokens as an N×C×H×W feature map (the inverse of :func:`map_to_tokens`)."""
    tokens = _check_tensor("tokens", tokens, 3, "N×L×C")
    height, width = check_int("height", height), check_int("width", width)
    if tokens.shape[1] != height * width:
        raise ValueError(f"tokens has L={tokens.shape[1]} tokens, but height×width = {height}×{width} = "
                         f"{height * width}; pass the size of the map the tokens came from.")
    return tokens.transpose(1, 2).reshape(tokens.shape[0], tokens.shape[2], height, width)


def scaled_dot_product_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(Q·Kᵀ/√d)·V for …×L_q×d queries, …×L_k×d keys, …×L_k×d_v values: (output, weights).

    ``weights`` (…×L_q×L_k) says how much each query takes from each key; every row sums to 1.
    ``mask`` (broadcastable to …×L_q×L_k): a bool tensor, True where a query may look at a key, or a float
    tensor added to the scores. Softmax subtracts each row's maximum first, so large scores do not overflow.
    """
    for name, t in (("q", q), ("k", k), ("v", v)):
        if not isinstance(t, torch.Tensor) or t.ndim < 2 or not t.is_floating_point():
            raise ValueError(f"{name} must be a float tensor of shape …×L×d (e.g. N×L×d), got {type(t).__name__}"
                             f"{'' if not isinstance(t, torch.Tensor) else f' of shape {tuple(t.shape)}'}.")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"q has d={q.shape[-1]} features but k has {k.shape[-1]}; queries and keys need the same d.")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"k has {k.shape[-2]} tokens but v has {v.shape[-2]}; every key needs one value.")
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # …×L_q×L_k: one score per (query, key) pair
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask
    weights = scores.softmax(dim=-1)  # over the keys: each query's weights sum to 1
    return weights @ v, weights


def split_heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    """N×L×D tokens as N×heads×L×(D/heads): each head gets its own slice of the features."""
    x = _check_tensor("x", x, 3, "N×L×D")
    heads = check_int("heads", heads)
    n, length, dim = x.shape
    if dim % heads:
        raise ValueError(f"heads={heads} must divide the {dim} features of each token; e.g. heads=1.")
    return x.reshape(n, length, heads, dim // heads).transpose(1, 2)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """N×heads×L×d back to N×L×(heads·d): the heads' outputs side by side (the inverse of :func:`split_heads`)."""
    x = _check_tensor("x", x, 4, "N×heads×L×d")
    n, heads, length, dim = x.shape
    return x.transpose(1, 2).reshape(n, length, heads * dim)


def multi_head_self_attention(
    x: torch.Tensor, w_q: torch.Tensor, w_k: torch.Tensor, w_v: torch.Tensor, heads: int = 1
) -> tuple[torch.Tensor, torch.Tensor]:
    """Self-attention of N×L×D tokens with D×D' projections (Q = x·w_q, …): N×L×D' output, N×heads×L×L weights.

    Queries, keys and values all come from the same tokens, so every token can look at every other one.
    With ``heads`` > 1 the D' features are split into independent heads, each with its own weights.
    """
    x = _check_tensor("x", x, 3, "N×L×D")
    for name, w in (("w_q", w_q), ("w_k", w_k), ("w_v", w_v)):
        w = _check_tensor(name, w, 2, "D×D")
        if w.shape[0] != x.shape[-1]:
            raise ValueError(f"{name} has {w.shape[0]} rows but each token has {x.shape[-1]} features; use a "
                             f"{x.shape[-1]}×D' matrix.")
    q, k, v = (split_heads(x @ w, heads) for w in (w_q, w_k, w_v))
    out, weights = scaled_dot_product_attention(q, k, v)
    return merge_heads(out), weights


def sinusoidal_positions(length: int, dim: int) -> torch.Tensor:
    """The Transformer's L×dim position code: sines and cosines of the position at dim/2 frequencies."""
    length, dim = check_int("length", length), check_int("dim", dim)
    if dim % 2:
        raise ValueError(f"dim={dim} must be even (one sine and one cosine per frequency); e.g. dim={dim + 1}.")
    position = torch.arange(length, dtype=torch.float32)[:, None]
    frequency = torch.exp(-math.log(10000.0) * torch.arange(0, dim, 2, dtype=torch.float32) / dim)
    code = torch.zeros(length, dim)
    code[:, 0::2] = torch.sin(position * frequency)
    code[:, 1::2] = torch.cos(position * frequency)
    return code


def attention_scores_count(height: int, width: int, stride: int = 1, reduction: int = 1) -> int:
    """Entries of one head's attention matrix for an H×W image seen at ``stride``, K/V shrunk ``reduction``× per side."""
    height, width = check_int("height", height), check_int("width", width)
    stride, reduction = check_int("stride", stride), check_int("reduction", reduction)
    rows, cols = math.ceil(height / stride), math.ceil(width / stride)
    queries = rows * cols
    keys = math.ceil(rows / reduction) * math.ceil(cols / reduction)
    return queries * keys
