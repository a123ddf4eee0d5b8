"""Read check verdicts back from notebook output (used by the notebook tests and the grader)."""

from __future__ import annotations

import re

from .core import Status

__all__ = ["parse_verdicts", "cell_problems", "EXPECTED_FAILURE_TAG"]

EXPECTED_FAILURE_TAG = "expected-check-failure"  # a cell that shows on purpose what a failing check looks like
_VERDICT = re.compile(r"^\S+ (PASSED|FAILED|NOT DONE|NOT CHECKED) \[([^\]]+)\]", re.MULTILINE)
_STATUS = {"PASSED": Status.PASSED, "FAILED": Status.FAILED, "NOT DONE": Status.NOT_DONE, "NOT CHECKED": Status.ERROR}


def parse_verdicts(text: str) -> list[tuple[str, str]]:
    """Every (exercise id, status) a check printed in ``text``, in order."""
    return [(m.group(2), _STATUS[m.group(1)]) for m in _VERDICT.finditer(text)]


def cell_problems(source: str, tags: list[str], text: str, error_names: list[str], learner: bool) -> list[str]:
    """What is wrong with one executed cell of a solution (learner=False) or learner notebook (learner=True)."""
    problems = []
    verdicts = parse_verdicts(text)
    calls_check = re.search(r"\bcheck\(", source) is not None
    if EXPECTED_FAILURE_TAG in tags:
        if not any(s == Status.FAILED for _, s in verdicts):
            problems.append("this cell demonstrates a failing check, but no FAILED verdict was printed.")
        return problems
    wanted = Status.NOT_DONE if learner else Status.PASSED
    for exercise, status in verdicts:
        if status != wanted:
            problems.append(f"check [{exercise}] said {status!r}; in a {'learner' if learner else 'solution'} notebook it must say {wanted!r}.")
    if calls_check and not verdicts:
        problems.append("this cell calls check(...) but printed no verdict.")
    for name in error_names:
        if not learner or name != "NotImplementedError":
            problems.append(f"the cell raised {name}; only a learner's unfinished exercise may raise, and only NotImplementedError.")
    if learner and "exercise" in tags and "raises-exception" in tags and "NotImplementedError" not in error_names:
        problems.append("this unfinished exercise cell should raise NotImplementedError but did not.")
    return problems
