"""The course plan from one source: each lesson's time is read from its notebook's header.

A solution notebook's first cell promises "in about N minutes" and splits it in its **Time** row
("teaching T min · exercises E min"). README's lesson map, INSTRUCTOR's timing table and the
workshop schedules are tested against these figures (``python -m course_tools timings`` prints them).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LessonPlan", "lesson_plans", "schedule_slots", "schedule_problems", "format_timings"]

_PROMISE = re.compile(r"\*\*Promise:\*\*\s+in (?:about )?(\d+) minutes")
_TIME = re.compile(r"\|\s*\*\*Time\*\*\s*\|\s*teaching (\d+) min · exercises (\d+) min")
_TITLE = re.compile(r"^#\s+(\d\d) · (.+)$", re.MULTILINE)
_SLOT = re.compile(r"^\|\s*(\d{1,2}):(\d\d)\s*\|\s*(.*?)\s*\|\s*$")
_LESSON_ROW = re.compile(r"^(\d\d)\b")


@dataclass(frozen=True)
class LessonPlan:
    """One lesson's planned time, as its notebook header states it."""

    number: str
    name: str
    title: str
    teaching: int
    exercises: int
    promised: int

    @property
    def total(self) -> int:
        """Teaching plus exercise minutes."""
        return self.teaching + self.exercises


def lesson_plans(folder: Path | str | None = None) -> list[LessonPlan]:
    """Every lesson's plan read from the headers of ``folder`` (default: the repository's solutions/)."""
    from course_lib.config import repo_root

    folder = Path(folder) if folder is not None else repo_root() / "solutions"
    plans = []
    for path in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
        header = "".join(json.loads(path.read_text())["cells"][0]["source"])
        title, promise, time = _TITLE.search(header), _PROMISE.search(header), _TIME.search(header)
        if not (title and promise and time):
            missing = [n for n, m in (("'# NN · title'", title), ("'**Promise:** in about N minutes'", promise),
                                      ("'| **Time** | teaching T min · exercises E min'", time)) if not m]
            raise ValueError(f"{path.name}: the first cell lacks {', '.join(missing)}; every lesson header states its time.")
        plans.append(LessonPlan(title.group(1), path.stem, title.group(2).strip(), int(time.group(1)),
                                int(time.group(2)), int(promise.group(1))))
    return plans


def schedule_slots(table: str) -> list[tuple[int, int, str]]:
    """(start minute, length in minutes, what) for each row of a "| HH:MM | what |" schedule; the last row has length 0."""
    rows = [(int(m.group(1)) * 60 + int(m.group(2)), m.group(3)) for m in map(_SLOT.match, table.splitlines()) if m]
    for (start, _), (after, what) in zip(rows, rows[1:]):
        if after <= start:
            raise ValueError(f"schedule row {what!r} starts before the row above it; keep the rows in time order.")
    return [(start, (rows[i + 1][0] - start) if i + 1 < len(rows) else 0, what) for i, (start, what) in enumerate(rows)]


def schedule_problems(table: str, plans: list[LessonPlan], slack: int = 15) -> list[str]:
    """What is wrong with a day's schedule: a lesson given less time than its header plans, or no slack slot."""
    plan = {p.number: p for p in plans}
    given: dict[str, int] = {}
    spare = 0
    for _, length, what in schedule_slots(table):
        lesson = _LESSON_ROW.match(what)
        if lesson and lesson.group(1) in plan:
            given[lesson.group(1)] = given.get(lesson.group(1), 0) + length
        elif not re.search(r"(?i)\b(break|lunch|close)\b", what):
            spare = max(spare, length)
    problems = [f"lesson {n} gets {given[n]} min but its header plans {plan[n].total} min" for n in given if given[n] < plan[n].total]
    if not given:
        problems.append("the schedule names no lesson")
    if spare < slack:
        problems.append(f"no slot of at least {slack} min for set-up trouble, catch-up or grading (longest: {spare} min)")
    return problems


def format_timings(plans: list[LessonPlan]) -> str:
    """The timing table for INSTRUCTOR.md / README.md, from the notebook headers."""
    lines = ["| lesson | teaching | exercises | total |", "|---|---|---|---|"]
    lines += [f"| {p.name} | {p.teaching} min | {p.exercises} min | {p.total} min |" for p in plans]
    lines.append(f"| all | {sum(p.teaching for p in plans)} min | {sum(p.exercises for p in plans)} min | {sum(p.total for p in plans)} min |")
    return "\n".join(lines)
