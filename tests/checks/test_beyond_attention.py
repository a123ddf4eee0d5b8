"""The ``self-attention`` exercise: the reference is torch's attention, right answers pass, typical mistakes are named."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from course_lib import attention
from course_lib.checks import EXERCISES, Status, check, run_cases
from course_lib.checks.beyond.common import LESSON
from course_lib.checks.beyond.self_attention import _naive_softmax, _self_attention_cases, self_attention_reference

MISTAKES = [m.name for m in EXERCISES["self-attention"].mistakes]


@pytest.mark.parametrize("seed", range(3))
def test_the_reference_is_torchs_attention(seed):
    g = torch.Generator().manual_seed(seed)
    q, k, v = torch.randn(2, 4, 6, generator=g), torch.randn(2, 7, 6, generator=g), torch.randn(2, 7, 3, generator=g)
    out = self_attention_reference(q, k, v)
    assert out.shape == (2, 4, 3)
    assert torch.allclose(out, F.scaled_dot_product_attention(q, k, v), atol=1e-6)
    assert torch.equal(out, attention.scaled_dot_product_attention(q, k, v)[0])


def test_the_exercise_has_visible_and_hidden_cases_that_cover_the_traps():
    ex = EXERCISES["self-attention"]
    assert ex.lesson == LESSON and ex.function_name == "self_attention"
    cases = _self_attention_cases()
    assert sum(not c.hidden for c in cases) >= 2 and sum(c.hidden for c in cases) >= 5
    assert all(c.description for c in cases)
    shapes = [(c.args[0].shape, c.args[1].shape) for c in cases]
    assert any(q[0] > 1 for q, _ in shapes), "a batched case"
    assert any(q[1] != k[1] for q, k in shapes), "a case with L_q != L_k"
    assert any(math.isqrt(q[2]) ** 2 != q[2] for q, _ in shapes), "a case whose d is not a perfect square"
    overflowing = [c for c in cases if not torch.isfinite(_naive_softmax(*c.args)).all()]
    assert overflowing and all(torch.isfinite(c.expected).all() for c in overflowing), "a case where a naive exp overflows"


@pytest.mark.parametrize("answer", [
    self_attention_reference,
    lambda q, k, v: F.scaled_dot_product_attention(q, k, v),
    lambda q, k, v: torch.softmax((q / math.sqrt(q.shape[-1])) @ k.transpose(1, 2), dim=2) @ v,
    lambda q, k, v: (torch.softmax(q.double() @ k.double().mT / q.shape[-1] ** 0.5, -1) @ v.double()).float(),
    lambda q, k, v: torch.einsum("nqk,nkd->nqd", torch.softmax(torch.einsum("nqd,nkd->nqk", q, k) * q.shape[-1] ** -0.5, -1), v),
], ids=["reference", "torch", "q-scaled-first", "float64", "einsum"])
def test_right_answers_pass(answer):
    assert check("self-attention", answer).status == Status.PASSED


@pytest.mark.parametrize("name", MISTAKES)
def test_each_typical_mistake_is_named_on_a_first_try(name, first_failure):
    mistake = next(m for m in EXERCISES["self-attention"].mistakes if m.name == name)
    first_failure("self-attention", mistake.wrong, name)


def test_softmax_over_the_batch_is_also_a_wrong_dimension(first_failure):
    def over_batch(q, k, v):
        return torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=0) @ v

    first_failure("self-attention", over_batch, "softmax over the wrong dimension")


def test_forgetting_the_transpose_is_named_as_wrong_values_or_as_a_shape_error(first_failure):
    def no_transpose(q, k, v):  # case 1 has L_k == d, so q @ k runs there and gives wrong values
        return torch.softmax(q @ k / math.sqrt(q.shape[-1]), dim=-1) @ v

    result = first_failure("self-attention", no_transpose, "K not transposed")
    assert "case 1 of" in result.message
    cases = _self_attention_cases()
    with pytest.raises(RuntimeError):
        no_transpose(*cases[1].args)  # the second visible case has L_k != d: a shape error
    rest = [c for c in cases if c is not cases[0]]
    mistake = next(m for m in EXERCISES["self-attention"].mistakes if m.name == "K not transposed")
    result = run_cases("self-attention", no_transpose, rest, mistakes=[mistake])
    assert "raised RuntimeError" in result.message and "mistake:  K not transposed:" in result.message


def test_an_unfinished_answer_is_not_done():
    def self_attention(q, k, v):
        raise NotImplementedError()

    result = check("self-attention", self_attention)
    assert result.status == Status.NOT_DONE and "NotImplementedError" in result.message
