"""Self-checking exercises: ``check("exercise-id", your_function)`` prints a kind, precise verdict.

A check runs your function on visible and hidden cases, compares with the expected answer
(shape, dtype, values), and explains any difference with a hint. It never raises because your
answer is wrong or unfinished; it raises only when it is used wrongly (an unknown exercise id).
A failed check names the typical mistake it recognises and shows the next step of the hint: the
idea first, then a nudge, then the code; ``hint("exercise-id")`` shows the next step on request.
"""

from .core import Case, CheckResult, Mistake, Status, compare, describe, run_cases
from .registry import EXERCISES, HINT_LEVELS, Exercise, check, exercises_for, hint, register, reset_hints
from .verdicts import EXPECTED_FAILURE_TAG, cell_problems, parse_verdicts

__all__ = [
    "Case",
    "CheckResult",
    "EXERCISES",
    "EXPECTED_FAILURE_TAG",
    "Exercise",
    "HINT_LEVELS",
    "Mistake",
    "Status",
    "cell_problems",
    "check",
    "compare",
    "describe",
    "exercises_for",
    "hint",
    "parse_verdicts",
    "register",
    "reset_hints",
    "run_cases",
]
