"""Argument checks shared by the whole library: each raises a clear error that names the argument and the fix.

One home for the checks that were written again in many modules. Every function returns the checked value,
so a caller can write ``epochs = check_int("epochs", epochs)``. Wrong values and wrong types both raise
ValueError (the message says what is expected), so callers and learners catch one kind of error.
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any, Sequence

__all__ = ["check_choice", "check_int", "check_positive", "check_fraction", "check_optional"]


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``; otherwise raise a ValueError listing them."""
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not valid; use one of {', '.join(map(repr, choices))}.")
    return value


def check_int(name: str, value: Any, minimum: int = 1, maximum: int | None = None, allow_none: bool = False) -> Any:
    """Return ``value`` as an int if it is an int in [minimum, maximum] (or None when allowed); else raise."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, Integral):
        word = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        raise ValueError(f"{name}={value!r} must be {word}, e.g. {name}={max(minimum, 1)}.")
    if value < minimum:
        word = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        raise ValueError(f"{name}={value!r} must be {word}, e.g. {name}={max(minimum, 1)}.")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name}={value!r} is too large; use at most {maximum}.")
    return int(value)


def check_positive(name: str, value: Any, allow_none: bool = False, integer: bool = False) -> Any:
    """Return ``value`` if it is a finite number > 0 (an int when ``integer``; None when allowed); else raise."""
    if value is None and allow_none:
        return None
    if integer:
        return check_int(name, value, minimum=1)
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name}={value!r} must be a positive number, e.g. {name}=1.0.")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name}={value!r} must be a positive number, e.g. {name}=1.0.")
    return value


def check_fraction(name: str, value: Any, low_open: bool = False, high_open: bool = False) -> float:
    """Return ``value`` if it is a number in [0, 1] (ends excluded when ``low_open``/``high_open``); else raise."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name}={value!r} must be a number between 0 and 1, e.g. {name}=0.5.")
    bad_low = value <= 0 if low_open else value < 0
    bad_high = value >= 1 if high_open else value > 1
    if math.isnan(value) or bad_low or bad_high:
        ends = f"{'(' if low_open else '['}0, 1{')' if high_open else ']'}"
        raise ValueError(f"{name}={value!r} must be in {ends}, e.g. {name}=0.5.")
    return float(value)


def check_optional(check: Any, name: str, value: Any, *args: Any, **kwargs: Any) -> Any:
    """``check(name, value, ...)`` unless ``value`` is None (then None): for optional arguments."""
    return None if value is None else check(name, value, *args, **kwargs)
