"""The machinery behind every exercise check: run cases, compare, explain, never crash the kernel."""

from __future__ import annotations

import copy
import math
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

__all__ = [
    "Case",
    "CheckResult",
    "Mistake",
    "Status",
    "compare",
    "describe",
    "run_cases",
]


class Status:
    """The four verdicts a check can give (the strings are what the grader reads)."""

    PASSED = "passed"
    FAILED = "failed"
    NOT_DONE = "not done"
    ERROR = "error"


_ICONS = {Status.PASSED: "✅", Status.FAILED: "❌", Status.NOT_DONE: "⏳", Status.ERROR: "💥"}


@dataclass
class Case:
    """One test case: the arguments to call with, the expected result, and what it is about."""

    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    expected: Any = None
    description: str = ""
    hidden: bool = False
    atol: float = 1e-6
    rtol: float = 1e-5


@dataclass(frozen=True)
class Mistake:
    """A typical wrong answer, recognised by name: ``wrong`` makes the mistake with the exercise's signature.

    By default a failed case is this mistake when the learner's result equals ``wrong``'s result on the
    same arguments (and that differs from the right answer), or when both raise the same error. Where
    results cannot be compared (a model, a changed argument), ``detect(case, got, reason)`` decides
    instead; ``reason`` is the failure sentence and ``got`` the exception when the learner's code raised.
    """

    name: str
    wrong: Callable
    explanation: str
    detect: Callable[[Case, Any, str], bool] | None = None

    def recognise(self, case: Case, got: Any, reason: str) -> bool:
        """True when the learner's failed result on ``case`` looks like this mistake."""
        try:
            if self.detect is not None:
                return bool(self.detect(case, got, reason))
            wrong = self.wrong(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
            if case.expected is not None and compare(case.expected, wrong, case.atol, case.rtol) is None:
                return False  # this case cannot tell the mistake from the right answer
            return compare(wrong, got, case.atol, case.rtol) is None
        except Exception:  # a mistake that cannot even be evaluated here is not this one
            return False

    def recognise_error(self, case: Case, error: BaseException, reason: str) -> bool:
        """True when the learner's code raised on ``case`` the way this mistake does."""
        if self.detect is not None:
            try:
                return bool(self.detect(case, error, reason))
            except Exception:
                return False
        try:
            self.wrong(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
        except Exception as own:
            return type(own) is type(error) and str(own) == str(error)
        return False


@dataclass
class CheckResult:
    """The verdict of one check; shows itself as a short report in a notebook."""

    exercise: str
    status: str
    passed: int
    total: int
    message: str

    @property
    def ok(self) -> bool:
        """True when every case passed."""
        return self.status == Status.PASSED

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return self.message

    def _ipython_display_(self) -> None:
        """Show nothing more in a notebook: the check printed its report when it ran."""


def describe(value: Any, max_items: int = 6) -> str:
    """A one-line description of a value: type, shape, dtype, range and a few entries."""
    try:
        import numpy as np
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        np = torch = None
    if torch is not None and isinstance(value, torch.Tensor):
        return _describe_array("tensor", tuple(value.shape), str(value.dtype).replace("torch.", "torch."), value.detach().cpu().numpy(), max_items)
    if np is not None and isinstance(value, np.ndarray):
        return _describe_array("ndarray", value.shape, f"numpy.{value.dtype}", value, max_items)
    if isinstance(value, float):
        return f"float {value:.6g}"
    if isinstance(value, bool):
        return f"bool {value}"
    if isinstance(value, int):
        return f"int {value}"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(describe(v, max_items=3) for v in list(value)[:4])
        more = ", ..." if len(value) > 4 else ""
        return f"{type(value).__name__} of {len(value)}: [{inner}{more}]"
    if isinstance(value, dict):
        inner = ", ".join(f"{k!r}: {describe(v, max_items=3)}" for k, v in list(value.items())[:4])
        return f"dict {{{inner}}}"
    if value is None:
        return "None"
    text = repr(value)
    return f"{type(value).__name__} {text[:80]}"


def _describe_array(kind: str, shape: tuple, dtype: str, arr, max_items: int) -> str:
    import numpy as np

    flat = np.asarray(arr).reshape(-1)
    shape_text = "×".join(str(s) for s in shape) if shape else "scalar"
    text = f"{kind} shape {shape_text}, dtype {dtype}"
    if flat.size == 0:
        return text + ", empty"
    if flat.dtype == bool:
        text += f", {int(flat.sum())} True of {flat.size}"
    elif np.issubdtype(flat.dtype, np.number):
        finite = flat[np.isfinite(flat)] if np.issubdtype(flat.dtype, np.floating) else flat
        if finite.size:
            text += f", min {finite.min():.4g}, max {finite.max():.4g}"
        if finite.size < flat.size:
            text += f", {flat.size - finite.size} NaN/inf"
    shown = ", ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in flat[:max_items].tolist())
    return text + f", values [{shown}{', ...' if flat.size > max_items else ''}]"


def compare(expected: Any, got: Any, atol: float = 1e-6, rtol: float = 1e-5, path: str = "result") -> str | None:
    """Compare two results; None when they match, otherwise a sentence saying how they differ."""
    import numpy as np
    import torch

    if isinstance(expected, (torch.Tensor, np.ndarray)):
        return _compare_arrays(expected, got, atol, rtol, path)
    if isinstance(expected, bool):
        if not isinstance(got, (bool, np.bool_)):
            return f"{path} should be a bool (True/False), but it is a {type(got).__name__}."
        return None if bool(got) == expected else f"{path} is {got}, expected {expected}."
    if isinstance(expected, (int, float)):
        return _compare_numbers(expected, got, atol, rtol, path)
    if isinstance(expected, (list, tuple)):
        if not isinstance(got, (list, tuple)):
            return f"{path} should be a {type(expected).__name__}, but it is a {type(got).__name__}."
        if len(got) != len(expected):
            return f"{path} has {len(got)} items, expected {len(expected)}."
        reasons = (compare(e, g, atol, rtol, f"{path}[{i}]") for i, (e, g) in enumerate(zip(expected, got)))
        return next((r for r in reasons if r), None)
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return f"{path} should be a dict, but it is a {type(got).__name__}."
        if set(got) != set(expected):
            return f"{path} has keys {sorted(map(str, got))}, expected {sorted(map(str, expected))}."
        reasons = (compare(expected[k], got[k], atol, rtol, f"{path}[{k!r}]") for k in expected)
        return next((r for r in reasons if r), None)
    return None if got == expected else f"{path} is {got!r}, expected {expected!r}."


def _compare_arrays(expected: Any, got: Any, atol: float, rtol: float, path: str) -> str | None:
    """:func:`compare` for a tensor or numpy array: type, shape, dtype, then the values (floats within tolerance)."""
    import numpy as np
    import torch

    kind = "torch.Tensor" if isinstance(expected, torch.Tensor) else "numpy.ndarray"
    if not isinstance(got, type(expected)):
        return f"{path} should be a {kind}, but it is a {type(got).__name__}."
    if tuple(got.shape) != tuple(expected.shape):
        return f"{path} has shape {tuple(got.shape)}, expected {tuple(expected.shape)}."
    if got.dtype != expected.dtype:
        return f"{path} has dtype {got.dtype}, expected {expected.dtype}."
    e = expected.detach().cpu().numpy() if isinstance(expected, torch.Tensor) else expected
    g = got.detach().cpu().numpy() if isinstance(got, torch.Tensor) else got
    same = np.isclose(g, e, atol=atol, rtol=rtol, equal_nan=True) if e.dtype.kind in "fc" else g == e
    if np.all(same):
        return None
    bad = np.argwhere(~np.asarray(same))
    first = tuple(int(i) for i in bad[0]) if bad.size else ()
    return (
        f"{path} has the right shape and dtype but {len(bad)} of {e.size} values differ; "
        f"first at index {first}: got {g[first].item()!r}, expected {e[first].item()!r}."
    )


def _compare_numbers(expected: int | float, got: Any, atol: float, rtol: float, path: str) -> str | None:
    """:func:`compare` for a Python number: a plain number is wanted, whole if ``expected`` is an int."""
    import numpy as np
    import torch

    if isinstance(got, torch.Tensor) and got.numel() == 1:
        return f"{path} is a one-element tensor; return a plain Python number with .item()."
    if not isinstance(got, (int, float, np.integer, np.floating)) or isinstance(got, bool):
        return f"{path} should be a number, but it is a {type(got).__name__}."
    if isinstance(expected, float) and math.isnan(expected):
        return None if math.isnan(float(got)) else f"{path} is {got}, expected NaN."
    if isinstance(expected, int) and not float(got).is_integer():
        return f"{path} is {got}, expected the whole number {expected}."
    if math.isclose(float(got), float(expected), abs_tol=atol, rel_tol=rtol):
        return None
    return f"{path} is {got!r}, expected {expected!r}."


def _learner_frame(exc: BaseException) -> str:
    """The last traceback line from the learner's own code (a notebook cell), if any."""
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if "course_lib" not in f.filename.replace("\\", "/")]
    if not own:
        return ""
    f = own[-1]
    return f" (in {f.name}, line {f.lineno}: {f.line.strip() if f.line else ''})"


def run_cases(
    exercise: str,
    func: Callable,
    cases: Sequence[Case],
    hint: str = "",
    checker: Callable[[Case, Any], str | None] | None = None,
    mistakes: Sequence[Mistake] = (),
) -> CheckResult:
    """Run ``func`` on every case and build the verdict; never raises because of the learner's code."""
    title = f"[{exercise}]"
    if not callable(func):
        msg = (
            f"{_ICONS[Status.ERROR]} NOT CHECKED {title}: expected a function, got {describe(func)}.\n"
            f"   Pass the function itself, without calling it: check(..., my_function), not my_function()."
        )
        return _show(CheckResult(exercise, Status.ERROR, 0, len(cases), msg))
    visible = sum(not c.hidden for c in cases)
    for number, case in enumerate(cases, start=1):
        where = "hidden" if case.hidden else "visible"
        try:
            got = func(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
        except NotImplementedError:
            msg = (
                f"{_ICONS[Status.NOT_DONE]} NOT DONE {title}: `{getattr(func, '__name__', 'your function')}` "
                f"still raises NotImplementedError.\n"
                f"   Replace the `# YOUR CODE HERE` line and `raise NotImplementedError()` with your code, "
                f"run that cell, then run this check again."
            )
            return _show(CheckResult(exercise, Status.NOT_DONE, 0, len(cases), msg))
        except Exception as exc:  # the learner's code failed: explain, do not crash
            reason = f"{type(exc).__name__}: {exc}"
            named = next((m for m in mistakes if m.recognise_error(case, exc, reason)), None)
            msg = (
                f"{_ICONS[Status.FAILED]} FAILED {title}: case {number} of {len(cases)} ({where}) raised "
                f"{reason}{_learner_frame(exc)}\n"
                f"   case:     {case.description or _describe_call(case)}\n"
                + (f"   mistake:  {named.name}: {named.explanation}\n" if named else "")
                + (f"   hint:     {hint}\n" if hint else "")
            ).rstrip()
            return _show(CheckResult(exercise, Status.FAILED, number - 1, len(cases), msg))
        reason = checker(case, got) if checker else compare(case.expected, got, case.atol, case.rtol)
        if reason:
            lines = [
                f"{_ICONS[Status.FAILED]} FAILED {title}: case {number} of {len(cases)} ({where}).",
                f"   tested:   {case.description or _describe_call(case)}",
                f"   problem:  {reason}",
            ]
            if checker is None:
                lines += [f"   expected: {describe(case.expected)}", f"   got:      {describe(got)}"]
            named = next((m for m in mistakes if m.recognise(case, got, reason)), None)
            if named is not None:
                lines.append(f"   mistake:  {named.name}: {named.explanation}")
            if hint:
                lines.append(f"   hint:     {hint}")
            return _show(CheckResult(exercise, Status.FAILED, number - 1, len(cases), "\n".join(lines)))
    msg = (
        f"{_ICONS[Status.PASSED]} PASSED {title}: all {len(cases)} cases "
        f"({visible} visible, {len(cases) - visible} hidden)."
    )
    return _show(CheckResult(exercise, Status.PASSED, len(cases), len(cases), msg))


def _describe_call(case: Case) -> str:
    parts = [describe(a, max_items=4) for a in case.args] + [f"{k}={describe(v, 4)}" for k, v in case.kwargs.items()]
    return "called with " + "; ".join(parts)


def _show(result: CheckResult) -> CheckResult:
    print(result.message)
    return result
