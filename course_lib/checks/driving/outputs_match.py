"""Exercise ``outputs-match``: do the ONNX Runtime logits match PyTorch's (values within atol, same labels)?"""

from __future__ import annotations

from typing import Any, Callable

import torch

from ..core import Case, Mistake, compare
from ..registry import register
from .common import LESSON

__all__ = ["outputs_match_reference"]


def outputs_match_reference(torch_logits: torch.Tensor, onnx_logits: torch.Tensor, atol: float) -> bool:
    """Reference answer: True when max |torch − onnx| <= atol and the argmax labels (class dim 1) agree at every pixel."""
    a, b = torch.as_tensor(torch_logits), torch.as_tensor(onnx_logits)
    if a.shape != b.shape:
        raise ValueError(f"torch_logits {tuple(a.shape)} and onnx_logits {tuple(b.shape)} must have the same N×C×H×W shape.")
    max_diff = float((a.double() - b.double()).abs().max())
    return max_diff <= atol and torch.equal(a.argmax(1), b.argmax(1))


def _outputs_facts(case: Case) -> tuple[float, float, int]:
    """(largest and mean absolute difference, pixels whose argmax label differs) of a case's two outputs."""
    a, b, _ = case.args
    diff = (a.double() - b.double()).abs()
    return float(diff.max()), float(diff.mean()), int((a.argmax(1) != b.argmax(1)).sum())


def _outputs_match_checker(case: Case, got: Any) -> str | None:
    if isinstance(got, torch.Tensor) and got.numel() == 1:
        return "result is a one-element tensor; return a plain bool with bool(...) or .item()."
    reason = compare(case.expected, got, case.atol, case.rtol)
    if reason is None:
        return None
    atol = case.args[2]
    max_diff, mean_diff, disagree = _outputs_facts(case)
    if case.expected:
        if max_diff == 0:
            return f"{reason} The two outputs are identical here, value for value."
        if max_diff == atol:
            return f"{reason} The largest difference is exactly atol={atol:g}, and every argmax label agrees."
        return (f"{reason} The outputs differ only by float rounding (largest difference {max_diff:.2g} <= "
                f"atol={atol:g}) and every argmax label agrees.")
    if disagree == 0 and mean_diff > atol:
        return f"{reason} The argmax labels agree everywhere, but the logits differ by up to {max_diff:.2g} > atol={atol:g}."
    if disagree == 0:
        return (f"{reason} The mean difference is tiny ({mean_diff:.2g}) and the argmax labels agree, but a value "
                f"differs by {max_diff:.2g} > atol={atol:g}.")
    if max_diff <= atol:
        return (f"{reason} Every value is within atol (largest difference {max_diff:.2g}), but the argmax label "
                f"differs at {disagree} pixel(s), where two classes nearly tie.")
    return reason


def _when(fact: Callable[[bool, float, float, int, float], bool]) -> Callable[[Case, Any, str], bool]:
    """Detector: a plain bool answer was wrong on a case with ``fact(expected, max, mean, disagree, atol)``."""
    def detect(case: Case, got: Any, reason: str) -> bool:
        return (isinstance(got, bool) or type(got).__name__ == "bool_") and fact(case.expected, *_outputs_facts(case), case.args[2])
    return detect


def _match_exactly(torch_logits: torch.Tensor, onnx_logits: torch.Tensor, atol: float) -> bool:
    return bool((torch_logits == onnx_logits).all())


def _match_labels_only(torch_logits: torch.Tensor, onnx_logits: torch.Tensor, atol: float) -> bool:
    return torch.equal(torch_logits.argmax(1), onnx_logits.argmax(1))


def _match_mean_difference(torch_logits: torch.Tensor, onnx_logits: torch.Tensor, atol: float) -> bool:
    close = float((torch_logits - onnx_logits).abs().mean()) <= atol
    return close and torch.equal(torch_logits.argmax(1), onnx_logits.argmax(1))


def _match_values_only(torch_logits: torch.Tensor, onnx_logits: torch.Tensor, atol: float) -> bool:
    return float((torch_logits - onnx_logits).abs().max()) <= atol


def _match_strictly(torch_logits: torch.Tensor, onnx_logits: torch.Tensor, atol: float) -> bool:
    close = float((torch_logits - onnx_logits).abs().max()) < atol
    return close and torch.equal(torch_logits.argmax(1), onnx_logits.argmax(1))


_OUTPUTS_MATCH_MISTAKES = (
    Mistake("< instead of <=", _match_strictly,
            "'within atol' includes the limit: a difference of exactly atol still matches.",
            detect=_when(lambda expected, mx, mean, disagree, atol: expected and mx == atol)),
    Mistake("exact equality", _match_exactly,
            "exact equality (==, torch.equal on the logits) fails on tiny differences: two runtimes add in a "
            "different order, so float32 results differ in the last digits. Compare the largest absolute difference "
            "with atol instead.",
            detect=_when(lambda expected, mx, mean, disagree, atol: expected and 0 < mx < atol)),
    Mistake("only the argmax compared", _match_labels_only,
            "the same labels do not mean the same model: the logits must also be within atol, or a real bug that "
            "shifts every value goes unnoticed.",
            detect=_when(lambda expected, mx, mean, disagree, atol: not expected and disagree == 0 and mean > atol)),
    Mistake("only the mean difference", _match_mean_difference,
            "a mean hides one bad value among thousands of good ones; use the LARGEST absolute difference.",
            detect=_when(lambda expected, mx, mean, disagree, atol: not expected and disagree == 0 and mean <= atol)),
    Mistake("only the values compared", _match_values_only,
            "close logits can still pick another class where two classes nearly tie: also compare the argmax over "
            "the class dimension at every pixel.",
            detect=_when(lambda expected, mx, mean, disagree, atol: not expected and disagree > 0 and mx <= atol)),
)


def _logits(g: torch.Generator, n: int, c: int, h: int, w: int) -> torch.Tensor:
    """N×C×H×W float32 logits in about [-3, 4] whose top class leads by at least 0.5 at every pixel."""
    x = torch.rand(n, c, h, w, generator=g) * 3 - 3
    top = torch.randint(0, c, (n, 1, h, w), generator=g)
    return x.scatter(1, top, 0.5 + torch.rand(n, 1, h, w, generator=g) * 3.5)


def _match_cases(g: torch.Generator, shape: tuple[int, int, int, int], atol: float, hidden: bool) -> list[Case]:
    """Five cases on one shape: rounding noise, a uniform offset, one bad value, a near-tie flip, an exact copy."""
    a = _logits(g, *shape)
    noise = a + (torch.rand(shape, generator=g) * 2 - 1) * atol * 0.05
    offset = a + 3 * atol
    one_bad = a.clone()
    one_bad[0, int(a[0, :, 0, 0].argmax()), 0, 0] += 10 * atol  # raising the top class keeps every argmax
    tie_a, tie_b = a.clone(), a.clone()
    first = int(a[0, :, 1, 1].argmax())
    other = (first + 1) % shape[1]
    tie_a[0, other, 1, 1] = a[0, first, 1, 1] - atol * 0.1  # classes `first` and `other` nearly tie ...
    tie_b[0, other, 1, 1] = a[0, first, 1, 1] + atol * 0.1  # ... and the other runtime picks `other`
    n, c, h, w = shape
    where = f"{n}×{c}×{h}×{w} logits, atol={atol:g}"
    return [
        Case((a, noise, atol), expected=True, hidden=hidden,
             description=f"{where}: the second output differs only by float rounding (< atol) -> True"),
        Case((a, offset, atol), expected=False, hidden=hidden,
             description=f"{where}: every logit is off by 3·atol, yet every argmax label agrees -> False"),
        Case((a, one_bad, atol), expected=False, hidden=hidden,
             description=f"{where}: one logit is off by 10·atol (the mean difference is tiny, every argmax label agrees) -> False"),
        Case((tie_a, tie_b, atol), expected=False, hidden=hidden,
             description=f"{where}: all values within atol, but at one pixel two classes nearly tie and the argmax flips -> False"),
        Case((a, a.clone(), atol), expected=True, hidden=True, description=f"{where}: an exact copy -> True"),
    ]


@register(
    "outputs-match",
    lesson=LESSON,
    title="Do the ONNX Runtime logits match PyTorch's?",
    hints=(
        "Two runtimes compute in a different order, so their floats differ in the last digits: 'the same' means "
        "close enough, judged by the largest difference over all values (one bad value is enough to fail), which "
        "may be at most the tolerance, the limit included. Close logits can still pick another class where two "
        "classes nearly tie, so the predicted labels must also agree at every pixel. Both must hold.",
        "Subtract the two outputs, take .abs() and then .max() (not .mean()), and compare that with atol using <=. "
        "For the labels, take .argmax over the class dimension, dim=1, of both and compare the two label maps with "
        "torch.equal. Return a plain bool, not a tensor.",
        "close = float((torch_logits.double() - onnx_logits.double()).abs().max()) <= atol; "
        "return close and torch.equal(torch_logits.argmax(1), onnx_logits.argmax(1))",
    ),
    checker=_outputs_match_checker,
    mistakes=_OUTPUTS_MATCH_MISTAKES,
)
def _outputs_match_cases() -> list[Case]:
    g = torch.Generator().manual_seed(1002)
    cases = _match_cases(g, (1, 11, 6, 8), 1e-4, hidden=False)
    cases += _match_cases(g, (2, 4, 5, 5), 1e-3, hidden=True)
    a = torch.tensor([2.0, 0.0, -1.0]).view(1, 3, 1, 1).repeat(1, 1, 3, 3)
    edge = a.clone()
    edge[0, 1, 2, 2] = 0.5  # exactly atol apart, the argmax stays class 0
    cases.append(Case((a, edge, 0.5), expected=True, hidden=True,
                      description="1×3×3×3 logits, one value exactly atol=0.5 apart: 'within atol' includes the limit -> True"))
    return cases
