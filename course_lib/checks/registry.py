"""The exercise registry: every auto-checked exercise of the course, by id."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

from .core import Case, CheckResult, run_cases

__all__ = ["Exercise", "EXERCISES", "register", "check", "exercises_for"]

# Modules (inside course_lib.checks) that define exercises; each registers its own on import.
_EXERCISE_MODULES = ["welcome", "cnn", "data", "metrics", "unet", "architectures", "transfer", "instances", "tuning", "medical", "driving"]


@dataclass(frozen=True)
class Exercise:
    """An auto-checked exercise: where it lives, what it checks, and how to help."""

    id: str
    lesson: str
    title: str
    make_cases: Callable[[], list[Case]]
    hint: str = ""
    checker: Callable[[Case, Any], str | None] | None = None
    function: str = ""  # the name the learner's function has in the notebook (default: id with "_" for "-")

    @property
    def function_name(self) -> str:
        """The learner's function name the grader looks up in a finished notebook."""
        return self.function or self.id.replace("-", "_")

    @property
    def reference(self) -> Callable:
        """The course's answer: ``<function_name>_reference`` in the module that registered the exercise."""
        module = importlib.import_module(self.make_cases.__module__)
        try:
            return getattr(module, f"{self.function_name}_reference")
        except AttributeError:
            raise ValueError(f"exercise {self.id!r} has no {self.function_name}_reference in {module.__name__}; add one.") from None


EXERCISES: dict[str, Exercise] = {}


def register(id: str, lesson: str, title: str, hint: str = "", checker=None, function: str = ""):
    """Decorator: register a function that returns an exercise's cases under ``id``."""

    def wrap(make_cases: Callable[[], list[Case]]):
        if id in EXERCISES and EXERCISES[id].make_cases.__qualname__ != make_cases.__qualname__:
            raise ValueError(f"exercise id {id!r} is registered twice; pick a unique id.")
        EXERCISES[id] = Exercise(id, lesson, title, make_cases, hint, checker, function)
        return make_cases

    return wrap


def _load_all() -> None:
    for name in _EXERCISE_MODULES:
        importlib.import_module(f"{__package__}.{name}")


def exercises_for(lesson: str | None = None) -> list[Exercise]:
    """All registered exercises, or those of one lesson (e.g. ``"00_welcome"``), in registration order."""
    _load_all()
    return [e for e in EXERCISES.values() if lesson is None or e.lesson == lesson]


def check(exercise: str, func: Callable) -> CheckResult:
    """Check the learner's ``func`` for ``exercise`` on visible and hidden cases and print the verdict."""
    _load_all()
    if exercise not in EXERCISES:
        valid = ", ".join(sorted(EXERCISES))
        raise ValueError(f"exercise={exercise!r} is not a known exercise id; valid ids: {valid}.")
    ex = EXERCISES[exercise]
    return run_cases(ex.id, func, ex.make_cases(), hint=ex.hint, checker=ex.checker)
