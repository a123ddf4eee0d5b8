"""Self-checking exercises: ``check("exercise-id", your_function)`` prints a kind, precise verdict.

A check runs your function on visible and hidden cases, compares with the expected answer
(shape, dtype, values), and explains any difference with a hint. It never raises because your
answer is wrong or unfinished; it raises only when it is used wrongly (an unknown exercise id).
"""

from .core import Case, CheckResult, Status, compare, describe, run_cases
from .registry import EXERCISES, Exercise, check, exercises_for, register
from .verdicts import EXPECTED_FAILURE_TAG, cell_problems, parse_verdicts

__all__ = [
    "Case",
    "CheckResult",
    "EXERCISES",
    "EXPECTED_FAILURE_TAG",
    "Exercise",
    "Status",
    "cell_problems",
    "check",
    "compare",
    "describe",
    "exercises_for",
    "parse_verdicts",
    "register",
    "run_cases",
]
