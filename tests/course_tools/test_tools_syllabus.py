"""The notebook headers are the one source of each lesson's time; README and INSTRUCTOR agree with them."""

from __future__ import annotations

import json
import re

import pytest

from course_tools import syllabus
from course_lib.config import repo_root

ROOT = repo_root()
PLANS = syllabus.lesson_plans()


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else None]


def test_every_lesson_header_promises_what_its_time_row_adds_up_to():
    assert [p.name for p in PLANS] == sorted(p.stem for p in (ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
    for p in PLANS:
        assert p.promised == p.total, f"{p.name}: promise says {p.promised} min, Time row adds up to {p.total}"
        assert p.teaching > 0 and p.exercises > 0


def test_learner_notebooks_state_the_same_times():
    for p in PLANS:
        learner = json.loads((ROOT / "notebooks" / f"{p.name}.ipynb").read_text())
        assert "".join(learner["cells"][0]["source"]) == "".join(
            json.loads((ROOT / "solutions" / f"{p.name}.ipynb").read_text())["cells"][0]["source"]), p.name


def test_readme_lesson_map_times_match_the_headers():
    readme = (ROOT / "README.md").read_text()
    for p in PLANS:
        row = re.search(rf"^\| {p.number} \| `{p.name}` \|.*\| (\d+) min \|$", readme, re.MULTILINE)
        assert row, f"README's lesson map has no row for {p.name}"
        assert int(row.group(1)) == p.total, f"README says {row.group(1)} min for {p.name}; its header plans {p.total}"


def test_instructor_timing_table_matches_the_headers():
    table = _section((ROOT / "INSTRUCTOR.md").read_text(), "## Timings")
    for p in PLANS:
        row = re.search(rf"^\| {p.number} [^|]*\| (\d+) min \| (\d+) min \|", table, re.MULTILINE)
        assert row, f"INSTRUCTOR's timing table has no row for lesson {p.number}"
        assert (int(row.group(1)), int(row.group(2))) == (p.teaching, p.exercises), (
            f"INSTRUCTOR says {row.group(1)}+{row.group(2)} min for {p.name}; header: {p.teaching}+{p.exercises}")


@pytest.mark.parametrize("heading,lessons", [("## One-day schedule", {"00", "01", "02", "03", "04"}),
                                             ("## Two-day schedule", {"05", "06", "07", "08", "09", "10", "11"})])
def test_workshop_schedules_fit_every_lesson_with_slack(heading, lessons):
    section = _section((ROOT / "INSTRUCTOR.md").read_text(), heading)
    tables = re.findall(r"(?:^\|.*\|\n?)+", section, re.MULTILINE)
    seen = set()
    for table in tables:
        assert syllabus.schedule_problems(table, PLANS) == [], table
        seen |= {what[:2] for _, _, what in syllabus.schedule_slots(table) if what[:2].isdigit()}
    assert seen == lessons


def test_schedule_problems_name_a_short_slot_and_missing_slack():
    plans = [syllabus.LessonPlan("01", "01_x", "x", 50, 25, 75)]
    tight = "| 09:00 | 01 x |\n| 10:00 | break |\n| 10:15 | end |"
    problems = syllabus.schedule_problems(tight, plans)
    assert "lesson 01 gets 60 min but its header plans 75 min" in problems
    assert any("set-up trouble" in p for p in problems)
    split = "| 09:00 | set-up |\n| 09:20 | 01 x (first half) |\n| 10:00 | lunch |\n| 11:00 | 01 x (second half) |\n| 11:40 | end |"
    assert syllabus.schedule_problems(split, plans) == []
    with pytest.raises(ValueError, match="time order"):
        syllabus.schedule_slots("| 10:00 | a |\n| 09:00 | b |")


def test_a_header_without_its_time_is_refused(tmp_path):
    nb = {"cells": [{"cell_type": "markdown", "source": ["# 00 · Title\n\nno promise here"]}]}
    (tmp_path / "00_x.ipynb").write_text(json.dumps(nb))
    with pytest.raises(ValueError, match="Promise"):
        syllabus.lesson_plans(tmp_path)


def test_format_timings_adds_up():
    text = syllabus.format_timings(PLANS)
    assert f"| all | {sum(p.teaching for p in PLANS)} min |" in text and text.count("\n") == len(PLANS) + 2


def test_timings_command_prints_the_table_from_the_headers(capsys):
    from course_tools.__main__ import main

    assert main(["timings"]) == 0
    assert capsys.readouterr().out.strip() == syllabus.format_timings(PLANS)
