"""Property-based tests of :mod:`course_lib.losses`: every loss is finite and non-negative on random logits, and
no random logits beat a large-margin prediction of the true labels (the loss is minimal at the perfect prediction).
"""

from __future__ import annotations

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from course_lib.losses import bce_loss, combined_loss, cross_entropy_loss, focal_loss, soft_dice_loss

SETTINGS = settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
MARGIN = 30.0  # logits of ±30: sigmoid/softmax within 1e-13 of the one-hot target
IGNORE = 255


@st.composite
def problems(draw: st.DrawFn, binary: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int | None]:
    """(random logits, target, perfect logits, ignore_index) of a small batch; float64 logits in [-10, 10]."""
    n, h, w = draw(st.integers(1, 2)), draw(st.integers(1, 5)), draw(st.integers(1, 5))
    c = 1 if binary else draw(st.integers(2, 4))
    seed = draw(st.integers(0, 2**31 - 1))
    g = torch.Generator().manual_seed(seed)
    target = torch.randint(0, 2 if binary else c, (n, h, w), generator=g)
    ignore = draw(st.sampled_from([None, IGNORE]))
    if ignore is not None:
        target = torch.where(torch.rand(n, h, w, generator=g) < 0.2, ignore, target)
    logits = (torch.rand(n, c, h, w, generator=g, dtype=torch.float64) * 2 - 1) * draw(st.sampled_from([0.1, 3, 10]))
    valid = torch.where(target == IGNORE, 0, target)
    if binary:
        perfect = (valid.unsqueeze(1).double() * 2 - 1) * MARGIN
    else:
        perfect = torch.nn.functional.one_hot(valid, c).permute(0, 3, 1, 2).double() * MARGIN
    return logits, target, perfect, ignore


def _losses(binary: bool) -> dict:
    """name -> loss(logits, target, ignore_index) for the binary or the multi-class layout."""
    common = {
        "dice": lambda x, t, ig: soft_dice_loss(x, t, ignore_index=ig),
        "focal": lambda x, t, ig: focal_loss(x, t, ignore_index=ig),
        "focal_alpha": lambda x, t, ig: focal_loss(x, t, gamma=1.0, alpha=0.25 if binary else [1.0] * x.shape[1], ignore_index=ig),
        "combo": lambda x, t, ig: combined_loss(x, t, ignore_index=ig),
    }
    if binary:
        return {"bce": lambda x, t, ig: bce_loss(x, t, ignore_index=ig),
                "bce_pos_weight": lambda x, t, ig: bce_loss(x, t, pos_weight=3.0, ignore_index=ig), **common}
    return {"ce": lambda x, t, ig: cross_entropy_loss(x, t, ignore_index=ig),
            "ce_weighted": lambda x, t, ig: cross_entropy_loss(x, t, weight=[0.5 + k for k in range(x.shape[1])], ignore_index=ig),
            **common}


def _check(problem, binary: bool) -> None:
    """Finite, non-negative, and perfect <= random for every loss of the layout."""
    logits, target, perfect, ignore = problem
    for name, loss in _losses(binary).items():
        random_loss = loss(logits, target, ignore)
        best = loss(perfect, target, ignore)
        for value in (random_loss, best):
            assert value.ndim == 0 and torch.isfinite(value), name
            assert float(value) >= 0.0, name
        assert float(best) <= float(random_loss) + 1e-9, name
        assert float(best) <= 1e-6, name  # the perfect prediction is (numerically) the minimum 0


@SETTINGS
@given(problems(binary=True))
def test_binary_losses_finite_non_negative_minimal_at_truth(problem):
    _check(problem, binary=True)


@SETTINGS
@given(problems(binary=False))
def test_multiclass_losses_finite_non_negative_minimal_at_truth(problem):
    _check(problem, binary=False)


@SETTINGS
@given(problems(binary=False))
def test_losses_are_finite_for_float32_extreme_logits(problem):
    logits, target, _, ignore = problem
    extreme = (logits.float().sign() * 1e4).requires_grad_(True)  # saturated softmax must not give inf/NaN
    for name, loss in _losses(binary=False).items():
        value = loss(extreme, target, ignore)
        assert torch.isfinite(value.detach()) and float(value.detach()) >= 0.0, name
        (grad,) = torch.autograd.grad(value, extreme, allow_unused=True)
        assert grad is None or bool(torch.isfinite(grad).all()), name
