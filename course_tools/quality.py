"""The floors of the lessons' headline figures, checked when nbval runs the notebooks (repo-root conftest.py).

A lesson prints ``QUALITY name = value`` (:func:`course_lib.reporting.report_quality`). The test suite keeps a
floor for each promised figure in ``tests/quality_floors.toml`` (set from measured runs); :func:`floor_problems`
says which figures fell below their floor or were never printed. A figure where lower is better (e.g. the number
of clicks a model needs) gets a ceiling instead: ``"click.noc85" = { max = 4.0 }`` (a :class:`Ceiling`).
"""

from __future__ import annotations

import math
import os
import tomllib
from pathlib import Path

__all__ = ["Ceiling", "load_floors", "floor_problems"]


class Ceiling(float):
    """An upper limit for a figure where lower is better (written ``{ max = value }`` in the floors file)."""

    def __repr__(self) -> str:
        return f"Ceiling({float(self)!r})"


def load_floors(path: str | os.PathLike) -> dict[str, dict[str, float]]:
    """Floors from a TOML file: one table per notebook stem, ``"figure.name" = floor`` (or ``{ max = ceiling }``) inside."""
    with open(Path(path), "rb") as f:
        raw = tomllib.load(f)
    floors: dict[str, dict[str, float]] = {}
    for notebook, table in raw.items():
        if not isinstance(table, dict):
            raise ValueError(f"{path}: {notebook!r} must be a table like [\"04_unet\"] of 'figure = floor' lines.")
        for name, floor in table.items():
            if isinstance(floor, dict) and set(floor) == {"max"}:
                floor = floor["max"]
                if isinstance(floor, (int, float)) and not isinstance(floor, bool):
                    floors.setdefault(notebook, {})[name] = Ceiling(floor)
                    continue
            if isinstance(floor, bool) or not isinstance(floor, (int, float)):
                raise ValueError(f"{path}: floor for {notebook}/{name} must be a number (a floor) or "
                                 f"{{ max = number }} (a ceiling), got {floor!r}.")
            floors.setdefault(notebook, {})[name] = float(floor)
    return floors


def floor_problems(floors: dict[str, float], quality: dict[str, float], *, complete: bool) -> list[str]:
    """Sentences for figures below their floor, above their ceiling, or NaN; with ``complete=True`` also for figures never reported."""
    problems = []
    for name, floor in sorted(floors.items()):
        if name not in quality:
            if complete:
                problems.append(f"QUALITY {name} was never printed (its floor is {floor}).")
            continue
        value = quality[name]
        if isinstance(floor, Ceiling):
            if math.isnan(value) or value > floor:
                problems.append(f"QUALITY {name} = {value:.4f} is above its ceiling {float(floor)} (tests/quality_floors.toml).")
            continue
        if math.isnan(value) or value < floor:
            problems.append(f"QUALITY {name} = {value:.4f} is below its floor {floor} (tests/quality_floors.toml).")
    return problems
