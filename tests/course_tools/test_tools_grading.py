import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from course_tools.grading import GradeRow, format_table

ROOT = Path(__file__).resolve().parents[2]


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
    run = subprocess.run([sys.executable, "-m", "course_tools", "grade", str(subs), "--out", str(out)],
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


# --- parallel grading: tiny generated lesson-00 notebooks (a kernel each, a few seconds) -------------

import json  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402

import pytest  # noqa: E402

from course_tools.__main__ import main  # noqa: E402
from course_tools.grading import check_limits, cpu_slots, grade_folder, usable_cpus  # noqa: E402

_RIGHT = {
    "label_to_masks": "return label_map.unsqueeze(0) == torch.arange(num_classes).view(-1, 1, 1)",
    "foreground_fraction": "return (label_map != background).float().mean().item()",
    "class_pixel_counts": "return torch.bincount(label_map.flatten(), minlength=num_classes)",
}
_ARGS = {"label_to_masks": "label_map, num_classes", "foreground_fraction": "label_map, background=0",
         "class_pixel_counts": "label_map, num_classes"}
# Each kernel writes what it was given (thread variables, cores, torch threads) beside its notebook.
_REPORT = ("import json, os, torch\n"
           "json.dump({'omp': os.environ.get('OMP_NUM_THREADS'), 'cores': sorted(os.sched_getaffinity(0)),\n"
           "           'torch': torch.get_num_threads(), 'pid': os.getpid()}, open('kernel.json', 'w'))")


def _submit(folder: Path, learner: str, bodies: dict[str, str], first: str = "") -> None:
    """Write ``folder/learner/00_welcome.ipynb`` with the given function bodies (and a first cell)."""
    cells = [first or "pass", _REPORT] + [f"def {name}({_ARGS[name]}):\n    {body}" for name, body in bodies.items()]
    (folder / learner).mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells]),
                   folder / learner / "00_welcome.ipynb")


def _status(rows) -> dict[tuple[str, str], str]:
    """``(learner, exercise) -> status`` of grade rows."""
    return {(r.learner, r.exercise): r.status for r in rows}


def test_parallel_grading_gives_the_serial_rows_in_learner_order_and_shares_the_cores(tmp_path, capsys):
    subs = tmp_path / "subs"
    _submit(subs, "ana", _RIGHT, first="import time; time.sleep(8)")  # first in order, last to finish
    _submit(subs, "bo", {**_RIGHT, "class_pixel_counts": "return torch.bincount(label_map.flatten())"})
    _submit(subs, "cy", {"foreground_fraction": _RIGHT["foreground_fraction"], "class_pixel_counts": "raise NotImplementedError()"})
    parallel = grade_folder(subs, timeout=240, jobs=2)
    out = capsys.readouterr().out
    assert out.index("] bo/00_welcome.ipynb") < out.index("] ana/00_welcome.ipynb"), out  # ana really finished later
    assert "wall time" in out.splitlines()[-1]
    order = ["label-to-masks", "foreground-fraction", "class-pixel-counts"]
    assert [(r.learner, r.exercise) for r in parallel] == [(who, ex) for who in ("ana", "bo", "cy") for ex in order]
    status = _status(parallel)
    assert {ex: status["ana", ex] for ex in order} == dict.fromkeys(order, "passed")
    assert (status["bo", "class-pixel-counts"], status["bo", "foreground-fraction"]) == ("failed", "passed")
    assert (status["cy", "label-to-masks"], status["cy", "class-pixel-counts"]) == ("missing", "not done")
    share = max(1, len(usable_cpus()) // 2)  # ana and bo started together, each on its own share
    ana, bo = (json.loads((subs / who / "kernel.json").read_text()) for who in ("ana", "bo"))
    assert [(k["omp"], len(k["cores"]), k["torch"]) for k in (ana, bo)] == [(str(share), share, share)] * 2
    if len(usable_cpus()) >= 2:
        assert not set(ana["cores"]) & set(bo["cores"])
    assert grade_folder(subs, timeout=240, jobs=1, progress=False) == parallel


def test_a_notebook_over_the_timeout_is_an_error_row_and_the_others_are_graded(tmp_path):
    subs = tmp_path / "subs"
    _submit(subs, "ana", _RIGHT)
    _submit(subs, "zed", _RIGHT, first="import os, time; open('pid', 'w').write(str(os.getpid())); time.sleep(600)")
    start = time.perf_counter()
    rows = grade_folder(subs, timeout=60, jobs=2, progress=False)  # 60 s: ana needs far less, even on a busy machine
    assert time.perf_counter() - start < 120  # the sleeper was stopped, not waited for
    status = _status(rows)
    assert [status["ana", ex] for ex in ("label-to-masks", "foreground-fraction", "class-pixel-counts")] == ["passed"] * 3
    assert {s for (who, _), s in status.items() if who == "zed"} == {"error: timeout after 60 s"}
    assert all(r.total > 0 for r in rows if r.learner == "zed")  # each error row still says how many cases there are
    with pytest.raises(ProcessLookupError):  # its kernel is gone
        os.kill(int((subs / "zed" / "pid").read_text()), 0)


def test_cpu_slots_share_the_cores_disjointly():
    assert cpu_slots(2, [0, 1, 2, 3, 4]) == [[0, 1], [2, 3]]
    assert cpu_slots(1, [4, 7]) == [[4, 7]]
    assert cpu_slots(3, [0, 1]) == [[0], [1], [0]]  # more jobs than cores: one core each, shared
    with pytest.raises(ValueError, match="cpus="):
        cpu_slots(2, [])


@pytest.mark.parametrize("jobs, timeout, named", [(0, 10, "jobs="), (1.5, 10, "jobs="), (True, 10, "jobs="),
                                                  (2, 0, "timeout="), (2, -3, "timeout="), (2, float("inf"), "timeout=")])
def test_grading_limits_are_validated(tmp_path, jobs, timeout, named):
    with pytest.raises(ValueError, match=named):
        check_limits(jobs, timeout)
    with pytest.raises(ValueError, match=named):
        grade_folder(tmp_path, jobs=jobs, timeout=timeout)


@pytest.mark.parametrize("flags, named", [(["--jobs", "0"], "--jobs"), (["--jobs", "two"], "--jobs"),
                                          (["--timeout", "0"], "--timeout"), (["--timeout", "-5"], "--timeout"),
                                          (["--timeout", "nan"], "--timeout")])
def test_grade_cli_rejects_bad_jobs_and_timeout(tmp_path, capsys, flags, named):
    with pytest.raises(SystemExit) as exit_info:
        main(["grade", str(tmp_path), *flags])
    assert exit_info.value.code == 2
    assert f"argument {named}:" in capsys.readouterr().err


def _children() -> set[int]:
    """Process ids whose parent is this test process (kernels the grader started)."""
    me, kids = os.getpid(), set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # a process that just ended
            continue
        if int(fields[1]) == me and fields[0] != "Z":
            kids.add(int(stat.parent.name))
    return kids


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_a_timeout_while_the_kernel_starts_leaves_no_kernel_behind(tmp_path):
    _submit(tmp_path / "subs", "ana", _RIGHT)
    before = _children()
    rows = grade_folder(tmp_path / "subs", timeout=0.2, jobs=1, progress=False)  # no kernel starts that fast
    assert {r.status for r in rows} == {"error: timeout after 0.2 s"}
    assert _children() - before == set()
