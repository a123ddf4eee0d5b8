import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from course_lib.grading import GradeRow, format_table

ROOT = Path(__file__).resolve().parents[1]


def test_grade_command_builds_a_learner_by_exercise_table(tmp_path):
    subs = tmp_path / "subs"
    for learner in ("ana", "cy"):
        (subs / learner).mkdir(parents=True)
    shutil.copy(ROOT / "solutions" / "00_welcome.ipynb", subs / "ana")  # everything done
    nb = nbformat.read(ROOT / "notebooks" / "00_welcome.ipynb", as_version=4)
    for cell in nb.cells:  # cy: one right, one wrong, one not done
        if "def foreground_fraction" in cell.source:
            cell.source = cell.source.replace("# YOUR CODE HERE\n    raise NotImplementedError()", "return (label_map != background).float().mean().item()")
        if "def class_pixel_counts" in cell.source:
            cell.source = cell.source.replace("# YOUR CODE HERE\n    raise NotImplementedError()", "return torch.bincount(label_map.flatten())")
    nbformat.write(nb, subs / "cy" / "00_welcome.ipynb")
    out = tmp_path / "grades.csv"
    run = subprocess.run([sys.executable, "-m", "course_lib", "grade", str(subs), "--out", str(out)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    rows = {tuple(line.split(",")[:4]) for line in out.read_text().splitlines()[1:]}
    assert ("ana", "00_welcome", "label-to-masks", "passed") in rows
    assert ("cy", "00_welcome", "foreground-fraction", "passed") in rows
    assert ("cy", "00_welcome", "class-pixel-counts", "failed") in rows
    assert ("cy", "00_welcome", "label-to-masks", "not done") in rows
    assert "3 passed" in run.stdout and "1 passed" in run.stdout


def test_missing_function_and_table_format():
    rows = [GradeRow("a", "00_welcome", "x", "missing", 0, 0), GradeRow("b", "00_welcome", "x", "passed", 2, 2)]
    text = format_table(rows)
    assert "–" in text and "✅" in text and "1 passed" in text
