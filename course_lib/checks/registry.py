"""The exercise registry: every auto-checked exercise of the course, by id."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

from .core import Case, CheckResult, Mistake, Status, run_cases

__all__ = ["Exercise", "EXERCISES", "HINT_LEVELS", "register", "check", "exercises_for", "hint", "reset_hints"]

HINT_LEVELS = ("the idea", "a nudge", "the code")  # what each step of a hint gives away

# Modules (inside course_lib.checks) that define exercises; each registers its own on import.
_EXERCISE_MODULES = ["welcome", "cnn", "data", "metrics", "unet", "architectures", "transfer", "instances", "tuning", "medical", "driving", "frameworks", "training", "beyond"]


@dataclass(frozen=True)
class Exercise:
    """An auto-checked exercise: where it lives, what it checks, and how to help."""

    id: str
    lesson: str
    title: str
    make_cases: Callable[[], list[Case]]
    hints: tuple[str, ...] = ()  # one per HINT_LEVELS entry: the idea, a nudge, the code
    checker: Callable[[Case, Any], str | None] | None = None
    function: str = ""  # the name the learner's function has in the notebook (default: id with "_" for "-")
    mistakes: tuple[Mistake, ...] = ()

    @property
    def hint(self) -> str:
        """The first hint step (the idea), the one a first failed check shows."""
        return self.hints[0] if self.hints else ""

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


def register(id: str, lesson: str, title: str, hints: tuple[str, ...] = (), checker=None, function: str = "",
             mistakes: tuple[Mistake, ...] = ()):
    """Decorator: register a function that returns an exercise's cases under ``id``."""
    if len(hints) != len(HINT_LEVELS) or not all(isinstance(h, str) and h.strip() for h in hints):
        raise ValueError(f"exercise {id!r}: hints= needs {len(HINT_LEVELS)} non-empty strings, one per step "
                         f"{HINT_LEVELS}; got {len(hints)}.")
    if not all(isinstance(m, Mistake) for m in mistakes):
        raise ValueError(f"exercise {id!r}: mistakes= must hold checks.Mistake objects.")

    def wrap(make_cases: Callable[[], list[Case]]):
        if id in EXERCISES and EXERCISES[id].make_cases.__qualname__ != make_cases.__qualname__:
            raise ValueError(f"exercise id {id!r} is registered twice; pick a unique id.")
        EXERCISES[id] = Exercise(id, lesson, title, make_cases, tuple(hints), checker, function, tuple(mistakes))
        return make_cases

    return wrap


def _load_all() -> None:
    for name in _EXERCISE_MODULES:
        importlib.import_module(f"{__package__}.{name}")


def exercises_for(lesson: str | None = None) -> list[Exercise]:
    """All registered exercises, or those of one lesson (e.g. ``"00_welcome"``), in registration order."""
    _load_all()
    return [e for e in EXERCISES.values() if lesson is None or e.lesson == lesson]


_FAILED_TRIES: dict[str, int] = {}  # exercise id -> failed checks so far in this kernel


def _exercise(exercise: str) -> Exercise:
    _load_all()
    if exercise not in EXERCISES:
        valid = ", ".join(sorted(EXERCISES))
        raise ValueError(f"exercise={exercise!r} is not a known exercise id; valid ids: {valid}.")
    return EXERCISES[exercise]


def _hint_text(ex: Exercise, level: int) -> str:
    text = f"step {level} of {len(HINT_LEVELS)}, {HINT_LEVELS[level - 1]}: {ex.hints[level - 1]}"
    if level < len(HINT_LEVELS):
        text += (f"\n             Still stuck? Check again after your next change for step {level + 1} "
                 f"({HINT_LEVELS[level]}), or run checks.hint({ex.id!r}).")
    return text


def check(exercise: str, func: Callable) -> CheckResult:
    """Check the learner's ``func`` for ``exercise`` on visible and hidden cases and print the verdict.

    A failed check shows the next step of the hint: the idea first, then a nudge, then the code.
    """
    ex = _exercise(exercise)
    level = min(_FAILED_TRIES.get(ex.id, 0) + 1, len(HINT_LEVELS))
    result = run_cases(ex.id, func, ex.make_cases(), hint=_hint_text(ex, level), checker=ex.checker, mistakes=ex.mistakes)
    if result.status == Status.FAILED:
        _FAILED_TRIES[ex.id] = _FAILED_TRIES.get(ex.id, 0) + 1
    return result


def hint(exercise: str, level: int | None = None) -> None:
    """Print the next step of an exercise's hint (or step ``level``: 1 the idea, 2 a nudge, 3 the code)."""
    ex = _exercise(exercise)
    if level is None:
        _FAILED_TRIES[ex.id] = _FAILED_TRIES.get(ex.id, 0) + 1
        level = min(_FAILED_TRIES[ex.id], len(HINT_LEVELS))
    elif not (isinstance(level, int) and 1 <= level <= len(HINT_LEVELS)):
        raise ValueError(f"level={level!r}: use 1 ({HINT_LEVELS[0]}), 2 ({HINT_LEVELS[1]}) or 3 ({HINT_LEVELS[2]}), or leave it out for the next step.")
    print(f"💡 [{ex.id}] {_hint_text(ex, level)}")


def reset_hints(exercise: str | None = None) -> None:
    """Start the hint steps again from the idea (for one exercise, or all)."""
    if exercise is None:
        _FAILED_TRIES.clear()
    else:
        _FAILED_TRIES.pop(_exercise(exercise).id, None)
