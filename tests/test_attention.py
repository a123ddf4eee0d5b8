"""Attention by hand (``course_lib.attention``) agrees with PyTorch's own attention and convolution."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_lib import attention as A


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


def _qkv(seed: int, shape_q=(2, 5, 6), shape_k=(2, 7, 6), d_v: int = 3):
    g = torch.Generator().manual_seed(seed)
    q, k = torch.randn(*shape_q, generator=g), torch.randn(*shape_k, generator=g)
    v = torch.randn(*shape_k[:-1], d_v, generator=g)
    return q, k, v


# ---- tokens from images -------------------------------------------------------------------------
def test_patchify_cuts_patches_row_by_row_channel_first():
    x = torch.arange(2 * 4 * 6, dtype=torch.float32).reshape(1, 2, 4, 6)
    tokens = A.patchify(x, 2)
    assert tokens.shape == (1, 6, 2 * 2 * 2)  # (4/2)·(6/2) patches of 2 channels × 2 × 2 pixels
    assert torch.equal(tokens[0, 0], torch.cat([x[0, 0, :2, :2].flatten(), x[0, 1, :2, :2].flatten()]))
    assert torch.equal(tokens[0, 1], torch.cat([x[0, 0, :2, 2:4].flatten(), x[0, 1, :2, 2:4].flatten()]))
    assert torch.equal(tokens[0, 3], torch.cat([x[0, 0, 2:4, :2].flatten(), x[0, 1, 2:4, :2].flatten()]))


def test_patch_embed_is_a_linear_map_of_the_patches_and_a_strided_conv():
    g = torch.Generator().manual_seed(0)
    images = torch.rand(3, 3, 12, 8, generator=g)
    conv = nn.Conv2d(3, 10, kernel_size=4, stride=4)
    tokens = A.patch_embed(images, conv.weight, conv.bias)
    assert tokens.shape == (3, 6, 10)
    by_hand = A.patchify(images, 4) @ conv.weight.flatten(1).T + conv.bias
    assert torch.allclose(tokens, by_hand, atol=1e-5)
    assert torch.allclose(tokens, A.map_to_tokens(conv(images)), atol=1e-6)


def test_map_and_tokens_round_trip():
    x = torch.rand(2, 5, 3, 7)
    tokens = A.map_to_tokens(x)
    assert tokens.shape == (2, 21, 5)
    assert torch.equal(tokens[1, 7 + 2], x[1, :, 1, 2])  # row 1, column 2 is token 1·7 + 2
    assert torch.equal(A.tokens_to_map(tokens, 3, 7), x)


@pytest.mark.parametrize("call, needle", [
    (lambda: A.patchify(torch.rand(1, 3, 10, 8), 4), "patch=4"),
    (lambda: A.patchify(torch.rand(3, 8, 8), 4), "images"),
    (lambda: A.patchify(torch.rand(1, 3, 8, 8), 0), "patch"),
    (lambda: A.patch_embed(torch.rand(1, 3, 8, 8), torch.rand(4, 3, 2, 3)), "weight"),
    (lambda: A.tokens_to_map(torch.rand(1, 10, 4), 3, 3), "height"),
    (lambda: A.split_heads(torch.rand(1, 4, 6), 4), "heads=4"),
    (lambda: A.scaled_dot_product_attention(torch.rand(2, 3, 4), torch.rand(2, 5, 3), torch.rand(2, 5, 3)), "same d"),
    (lambda: A.scaled_dot_product_attention(torch.rand(2, 3, 4), torch.rand(2, 5, 4), torch.rand(2, 6, 4)), "one value"),
    (lambda: A.scaled_dot_product_attention([[1.0]], torch.rand(1, 1), torch.rand(1, 1)), "q must"),
    (lambda: A.multi_head_self_attention(torch.rand(1, 4, 6), torch.rand(5, 6), torch.rand(6, 6), torch.rand(6, 6)), "w_q"),
    (lambda: A.sinusoidal_positions(4, 5), "even"),
])
def test_bad_input_names_the_argument(call, needle):
    with pytest.raises(ValueError, match=needle):
        call()


# ---- scaled dot-product attention ---------------------------------------------------------------
@pytest.mark.parametrize("seed, shape_q, shape_k, d_v", [
    (0, (2, 5, 6), (2, 7, 6), 3),       # L_q != L_k, d_v != d
    (1, (1, 1, 9), (1, 4, 9), 9),       # one query
    (2, (3, 2, 4, 8), (3, 2, 6, 8), 5),  # batch × heads × L × d
])
def test_attention_matches_torch(seed, shape_q, shape_k, d_v):
    q, k, v = _qkv(seed, shape_q, shape_k, d_v)
    out, weights = A.scaled_dot_product_attention(q, k, v)
    assert out.shape == (*shape_q[:-1], d_v) and weights.shape == (*shape_q[:-1], shape_k[-2])
    assert torch.allclose(out, F.scaled_dot_product_attention(q, k, v), atol=1e-5)
    assert torch.allclose(weights.sum(-1), torch.ones(weights.shape[:-1]))
    assert torch.allclose(weights, torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(shape_q[-1]), -1))


def test_attention_masks_match_torch_and_large_scores_do_not_overflow():
    q, k, v = _qkv(3)
    causal = torch.ones(5, 7, dtype=torch.bool).tril()
    out, weights = A.scaled_dot_product_attention(q, k, v, mask=causal)
    assert torch.allclose(out, F.scaled_dot_product_attention(q, k, v, attn_mask=causal), atol=1e-5)
    assert torch.all(weights[..., ~causal] == 0)
    bias = torch.randn(5, 7)
    out, _ = A.scaled_dot_product_attention(q, k, v, mask=bias)
    assert torch.allclose(out, F.scaled_dot_product_attention(q, k, v, attn_mask=bias), atol=1e-5)
    big_out, big_weights = A.scaled_dot_product_attention(q * 1000, k * 1000, v)
    assert torch.isfinite(big_out).all() and torch.isfinite(big_weights).all()


def test_attention_picks_the_matching_key():
    keys = torch.eye(4)[None] * 10  # four very different keys
    values = torch.arange(4.0).reshape(1, 4, 1)
    out, weights = A.scaled_dot_product_attention(keys[:, [2, 0]], keys, values)
    assert torch.allclose(out.flatten(), torch.tensor([2.0, 0.0]), atol=1e-3)
    assert weights[0, 0].argmax() == 2 and weights[0, 1].argmax() == 0


# ---- self-attention and heads -------------------------------------------------------------------
def test_heads_split_and_merge():
    x = torch.rand(2, 5, 12)
    heads = A.split_heads(x, 3)
    assert heads.shape == (2, 3, 5, 4)
    assert torch.equal(heads[:, 1], x[..., 4:8])
    assert torch.equal(A.merge_heads(heads), x)


@pytest.mark.parametrize("heads", [1, 2, 4])
def test_self_attention_matches_nn_multihead_attention(heads):
    torch.manual_seed(heads)
    dim = 8
    mha = nn.MultiheadAttention(dim, heads, bias=False, batch_first=True)
    x = torch.rand(3, 6, dim)
    w_q, w_k, w_v = (w.T for w in mha.in_proj_weight.detach().chunk(3))  # nn.Linear stores W, we use x @ W.T
    out, weights = A.multi_head_self_attention(x, w_q, w_k, w_v, heads=heads)
    want, want_weights = mha(x, x, x, average_attn_weights=False)
    assert weights.shape == (3, heads, 6, 6)
    assert torch.allclose(mha.out_proj(out), want, atol=1e-5)
    assert torch.allclose(weights, want_weights, atol=1e-5)


def test_self_attention_ignores_order_without_positions():
    torch.manual_seed(0)
    x, w = torch.rand(1, 5, 4), torch.rand(4, 4)
    order = torch.tensor([3, 1, 4, 0, 2])
    out, _ = A.multi_head_self_attention(x, w, w, w)
    shuffled, _ = A.multi_head_self_attention(x[:, order], w, w, w)
    assert torch.allclose(shuffled, out[:, order], atol=1e-6)  # shuffling the tokens only shuffles the outputs
    positions = A.sinusoidal_positions(5, 4)
    with_pos, _ = A.multi_head_self_attention(x + positions, w, w, w)
    shuffled_pos, _ = A.multi_head_self_attention(x[:, order] + positions, w, w, w)
    assert not torch.allclose(shuffled_pos, with_pos[:, order], atol=1e-4)


def test_sinusoidal_positions():
    code = A.sinusoidal_positions(50, 16)
    assert code.shape == (50, 16) and code.abs().max() <= 1
    assert torch.allclose(code[0], torch.tensor([0.0, 1.0] * 8))
    assert torch.allclose(code[7, 0], torch.tensor(math.sin(7.0)))
    assert len({tuple(row.round(decimals=4).tolist()) for row in code}) == 50  # every position has its own code


def test_attention_scores_count_shrinks_with_the_reduction():
    assert A.attention_scores_count(48, 64, stride=4) == 192 * 192
    assert A.attention_scores_count(48, 64, stride=4, reduction=4) == 192 * 12
    assert A.attention_scores_count(50, 70, stride=4, reduction=4) == (13 * 18) * (4 * 5)
    assert A.attention_scores_count(512, 512, stride=4, reduction=8) * 64 == A.attention_scores_count(512, 512, stride=4)
