"""Exercise ``self-attention``: the heart of self-attention by hand, ``self_attention(q, k, v)`` = softmax(Q·Kᵀ/√d)·V."""

from __future__ import annotations

import math

import torch

from ...attention import scaled_dot_product_attention
from ..core import Case, Mistake, compare
from ..registry import register
from .common import LESSON

__all__ = ["self_attention_reference"]


def self_attention_reference(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Reference answer: the N×L_q×d_v output of attention for N×L_q×d queries, N×L_k×d keys, N×L_k×d_v values."""
    output, _weights = scaled_dot_product_attention(q, k, v)
    return output


def _no_scaling(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Mistake: softmax(Q·Kᵀ)·V, the scores not divided by √d."""
    return torch.softmax(q @ k.transpose(-2, -1), dim=-1) @ v


def _divided_by_d(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Mistake: the scores divided by d instead of √d."""
    return torch.softmax(q @ k.transpose(-2, -1) / q.shape[-1], dim=-1) @ v


def _softmax_over_queries(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Mistake: the softmax normalises over the queries (dim 1) instead of over the keys (the last dim)."""
    return torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=1) @ v


def _no_transpose(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Mistake: Q·K instead of Q·Kᵀ (a shape error unless L_k equals d)."""
    return torch.softmax(q @ k / math.sqrt(q.shape[-1]), dim=-1) @ v


def _queries_as_keys(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Mistake: the queries are compared with themselves, Q·Qᵀ, instead of with the keys."""
    return torch.softmax(q @ q.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1) @ v


def _weights_returned(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Mistake: the attention weights (N×L_q×L_k) are returned instead of the output."""
    return torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1)


def _naive_softmax(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Mistake: a softmax written as exp(s) / sum(exp(s)), which overflows to inf/inf = NaN for large scores."""
    scores = (q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])).exp()
    return scores / scores.sum(dim=-1, keepdim=True) @ v


def _output_and_weights(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mistake: a pair (output, weights), like course_lib.attention's function, instead of the output alone."""
    return scaled_dot_product_attention(q, k, v)


def _softmax_over_a_wrong_dim(case: Case, got: object, reason: str) -> bool:
    """Detector: the result equals attention with the softmax over dim 0 (the batch) or dim 1 (the queries)."""
    if not isinstance(got, torch.Tensor):
        return False
    q, k, v = case.args
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    for dim in (0, 1):
        wrong = torch.softmax(scores, dim=dim) @ v
        if compare(case.expected, wrong, case.atol, case.rtol) is not None and compare(wrong, got, case.atol, case.rtol) is None:
            return True
    return False


_SELF_ATTENTION_MISTAKES = (
    Mistake("returned (output, weights)", _output_and_weights,
            "this exercise asks for the output only: return weights @ v, not a pair.",
            detect=lambda case, got, reason: isinstance(got, tuple)),
    Mistake("returned the weights", _weights_returned,
            "the softmax gives the attention weights (N×L_q×L_k); the output is those weights times the values: "
            "weights @ v, N×L_q×d_v."),
    Mistake("softmax over the wrong dimension", _softmax_over_queries,
            "each query's weights must sum to 1 over the keys, the last dimension of the N×L_q×L_k scores: "
            "softmax(dim=-1). Over dim 1 (the queries) or dim 0 (the images) it normalises the wrong numbers.",
            detect=_softmax_over_a_wrong_dim),
    Mistake("no 1/√d scaling", _no_scaling,
            "divide the scores by √d (d = q.shape[-1]) before the softmax: dot products of d features grow with d, "
            "and without the scaling the softmax becomes almost one-hot."),
    Mistake("divided by d instead of √d", _divided_by_d,
            "the scale is the square root of d: math.sqrt(q.shape[-1]). Dividing by d flattens the weights too much."),
    Mistake("K not transposed", _no_transpose,
            "q @ k multiplies N×L_q×d by N×L_k×d; the scores need k.transpose(-2, -1) (N×d×L_k), so that each query "
            "meets each key: N×L_q×L_k."),
    Mistake("queries used as keys", _queries_as_keys,
            "the scores compare each query with each key: q @ k.transpose(-2, -1), not q with q. (In self-attention "
            "q, k and v come from the same tokens, but through different weights.)"),
    Mistake("softmax by hand overflows", _naive_softmax,
            "exp of a large score is inf in float32 (above about 88), and inf / inf is NaN. torch.softmax subtracts "
            "each row's maximum first, which changes nothing mathematically and never overflows."),
)


def _random_qkv(g: torch.Generator, n: int, l_q: int, l_k: int, d: int, d_v: int, scale: float = 1.0):
    q = torch.randn(n, l_q, d, generator=g) * scale
    k = torch.randn(n, l_k, d, generator=g) * scale
    return q, k, torch.randn(n, l_k, d_v, generator=g)


def _case(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, description: str, hidden: bool = True) -> Case:
    return Case((q, k, v), expected=self_attention_reference(q, k, v), description=description, hidden=hidden, atol=1e-5)


@register(
    "self-attention",
    lesson=LESSON,
    title="Scaled dot-product attention by hand",
    hints=(
        "Every query is compared with every key by a dot product, which gives one score per pair of query and key. "
        "The scores are divided by the square root of the number of features d, so that they do not grow with d. "
        "A softmax over the keys turns the scores of each query into weights that sum to 1, and the output of a "
        "query is the weighted average of the values. Only the output is returned.",
        "Turn the N×L_k×d keys into N×d×L_k with `k.transpose(-2, -1)`, so that `q @` it gives N×L_q×L_k scores. "
        "Divide by `math.sqrt(d)` where `d = q.shape[-1]`. Normalise with `torch.softmax(..., dim=-1)`: the keys "
        "are the last dimension, and torch's softmax subtracts the maximum first, so large scores cannot overflow. "
        "Multiply the weights by `v` and return that.",
        "`scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])` / `weights = torch.softmax(scores, dim=-1)` / "
        "`return weights @ v`",
    ),
    mistakes=_SELF_ATTENTION_MISTAKES,
)
def _self_attention_cases() -> list[Case]:
    q = torch.tensor([[[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]]])
    k = torch.tensor([[[1.0, 0.0], [1.0, 1.0]]])
    v = torch.tensor([[[10.0, 0.0], [0.0, 10.0]]])
    g = torch.Generator().manual_seed(11)
    cases = [
        _case(q, k, v, "1 batch, 3 queries, 2 keys, d=2: q=[[1,0],[0,2],[1,1]], k=[[1,0],[1,1]], v=[[10,0],[0,10]]",
              hidden=False),
        _case(*_random_qkv(g, 2, 3, 5, 4, 2), "random: N=2, L_q=3 queries, L_k=5 keys, d=4, values of 2 features",
              hidden=False),
    ]
    for n, l_q, l_k, d, d_v, text in [
        (3, 6, 6, 6, 6, "N=3, L_q = L_k = d = 6 (d is not a perfect square)"),
        (4, 2, 9, 7, 3, "N=4, 2 queries, 9 keys, d=7, 3 value features"),
        (2, 1, 4, 5, 4, "one query per image: N=2, L_q=1, L_k=4, d=5"),
        (2, 3, 1, 4, 2, "one key: every query takes its value (N=2, L_q=3, d=4)"),
        (1, 8, 8, 1, 1, "d=1: the scale √1 is 1"),
    ]:
        cases.append(_case(*_random_qkv(g, n, l_q, l_k, d, d_v), f"random: {text}"))
    cases.append(_case(*_random_qkv(g, 2, 4, 6, 8, 3, scale=12.0),
                       "large scores (q and k ×12, scores in the hundreds): exp(score) overflows float32"))
    return cases
