"""One line per headline figure, so the benchmark (``make bench``) and tests can read lesson results.

A lesson prints ``QUALITY name = value`` with :func:`report_quality`; :func:`parse_quality` reads such lines
back. The floors each promised figure must reach (``tests/quality_floors.toml``) are maintainer-side, in
:mod:`course_tools.quality`.
"""

from __future__ import annotations

import re

__all__ = ["report_quality", "parse_quality"]

_LINE = re.compile(r"^QUALITY (?P<name>[\w.\-]+) = (?P<value>-?[0-9.]+(?:e-?\d+)?|nan)", re.MULTILINE)


def report_quality(name: str, value: float, note: str = "") -> float:
    """Print ``QUALITY name = value`` (a held-out score the lesson promises); returns ``value``."""
    if not re.fullmatch(r"[\w.\-]+", name):
        raise ValueError(f"name={name!r} must be one word (letters, digits, '.', '-', '_'), e.g. 'unet.test_dice'.")
    value = float(value)
    print(f"QUALITY {name} = {value:.4f}" + (f"   ({note})" if note else ""))
    return value


def parse_quality(text: str) -> dict[str, float]:
    """Every ``QUALITY name = value`` line in ``text`` as a dict."""
    return {m["name"]: float(m["value"]) for m in _LINE.finditer(text)}
