"""Shared fixtures of the exercise-check tests: fresh hint steps, and a learner's first failed try."""

import pytest

from course_lib.checks import EXERCISES, Status, check, reset_hints


@pytest.fixture(autouse=True)
def _fresh_hints():
    """Each test starts (and leaves) every exercise at hint step 1: failed checks advance the steps."""
    reset_hints()
    yield
    reset_hints()


def _first_failure(exercise, func, mistake):
    """Check ``func`` as a learner's first try at ``exercise``: it fails, shows step 1 of the hint (the idea) and no
    later step, and names ``mistake`` (``None``: whether a mistake is named is left to the caller)."""
    reset_hints(exercise)
    result = check(exercise, func)
    reset_hints(exercise)
    hints = EXERCISES[exercise].hints
    assert result.status == Status.FAILED, result.message
    if mistake is not None:
        assert f"mistake:  {mistake}:" in result.message, result.message
    assert "step 1 of 3, the idea" in result.message and hints[0] in result.message, result.message
    assert hints[1] not in result.message and hints[2] not in result.message, result.message
    return result


@pytest.fixture
def first_failure():
    """``first_failure(exercise, func, mistake) -> CheckResult``: see ``_first_failure``."""
    return _first_failure
