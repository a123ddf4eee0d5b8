"""Grade submitted learner notebooks headless: ``python -m course_lib grade SUBMISSIONS``.

Layout: ``SUBMISSIONS/<learner>/NN_topic.ipynb`` (any number of learners and lessons). Each notebook
runs from a fresh kernel (errors allowed, as a learner's would have them); then every exercise of that
lesson is checked again, in the same kernel, against the learner's function of that name. The result
is one row per learner and exercise: passed, failed, not done, or missing (no such function).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

__all__ = ["GradeRow", "grade_notebook", "grade_folder", "write_table", "format_table"]

_MARK = "COURSE-GRADE-JSON:"
_GRADER_CELL = '''
import json as _json, io as _io, contextlib as _cl
from course_lib.checks import exercises_for as _ex_for, run_cases as _run
_rows = []
for _ex in _ex_for({lesson!r}):
    _fn = globals().get(_ex.function_name)
    if _fn is None:
        _rows.append([_ex.id, "missing", 0, 0]); continue
    with _cl.redirect_stdout(_io.StringIO()):
        _r = _run(_ex.id, _fn, _ex.make_cases(), hint=_ex.hint, checker=_ex.checker)
    _rows.append([_ex.id, _r.status, _r.passed, _r.total])
print({mark!r} + _json.dumps(_rows))
'''


@dataclass
class GradeRow:
    """One learner's result on one exercise."""

    learner: str
    lesson: str
    exercise: str
    status: str
    passed: int
    total: int


def grade_notebook(path: Path, learner: str, timeout: int = 600) -> list[GradeRow]:
    """Run one submitted notebook headless and check each of its lesson's exercises."""
    import nbformat
    from nbclient import NotebookClient

    from .checks import exercises_for

    lesson = Path(path).stem
    if not exercises_for(lesson):
        return []
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(_GRADER_CELL.format(lesson=lesson, mark=_MARK)))
    client = NotebookClient(nb, timeout=timeout, allow_errors=True, kernel_name="python3",
                            resources={"metadata": {"path": str(Path(path).parent)}})
    try:
        client.execute()
    except Exception as exc:  # a dead kernel or a timeout: every exercise counts as not graded
        return [GradeRow(learner, lesson, e.id, f"error: {type(exc).__name__}", 0, len(e.make_cases())) for e in exercises_for(lesson)]
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.get("output_type") == "stream")
    line = next((ln for ln in text.splitlines() if ln.startswith(_MARK)), None)
    if line is None:
        return [GradeRow(learner, lesson, e.id, "error: grader cell failed", 0, 0) for e in exercises_for(lesson)]
    return [GradeRow(learner, lesson, ex, status, passed, total) for ex, status, passed, total in json.loads(line[len(_MARK):])]


def grade_folder(folder: Path, timeout: int = 600, progress: bool = True) -> list[GradeRow]:
    """Grade every ``<learner>/NN_topic.ipynb`` under ``folder``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"submissions={str(folder)!r} is not a folder; expected SUBMISSIONS/<learner>/NN_topic.ipynb.")
    rows: list[GradeRow] = []
    for learner_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        for nb_path in sorted(learner_dir.glob("[0-9][0-9]_*.ipynb")):
            if progress:
                print(f"grading {learner_dir.name}/{nb_path.name} ...", flush=True)
            rows.extend(grade_notebook(nb_path, learner_dir.name, timeout))
    return rows


def write_table(rows: list[GradeRow], path: Path) -> None:
    """Write the long table (one row per learner and exercise) as CSV."""
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["learner", "lesson", "exercise", "status", "cases_passed", "cases_total"])
        for r in rows:
            writer.writerow([r.learner, r.lesson, r.exercise, r.status, r.passed, r.total])


def format_table(rows: list[GradeRow]) -> str:
    """A learner × exercise grid for the terminal (✅ passed, ❌ failed, ⏳ not done, – missing)."""
    marks = {"passed": "✅", "failed": "❌", "not done": "⏳", "missing": "–"}
    learners = sorted({r.learner for r in rows})
    exercises = list(dict.fromkeys((r.lesson, r.exercise) for r in rows))
    cell = {(r.learner, r.lesson, r.exercise): marks.get(r.status, "💥") for r in rows}
    width = max([len(x) for x in learners] + [7])
    lines = [" " * width + "  " + "  ".join(f"{lesson[:2]}:{ex}" for lesson, ex in exercises)]
    for learner in learners:
        done = sum(1 for r in rows if r.learner == learner and r.status == "passed")
        parts = [cell.get((learner, lesson, ex), " ").center(len(ex) + 3) for lesson, ex in exercises]
        lines.append(f"{learner:<{width}}  " + "  ".join(parts) + f"   {done} passed")
    return "\n".join(lines)
