"""Small argument checks shared by the model builders (clear ValueError/TypeError messages)."""

from __future__ import annotations

from typing import Any, Sequence

__all__ = ["check_positive_int", "check_choice"]


def check_positive_int(name: str, value: Any, maximum: int | None = None) -> int:
    """Return ``value`` if it is an int ≥ 1 (and ≤ ``maximum``); otherwise raise a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}={value!r} must be a positive int, e.g. {name}=2.")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name}={value!r} is too large for this course's small models; use at most {maximum}.")
    return value


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``; otherwise raise a ValueError listing them."""
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not valid; use one of {', '.join(map(repr, choices))}.")
    return value
