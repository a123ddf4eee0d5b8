"""The nbval rules in conftest.py really fail a notebook whose checks say the wrong thing."""

import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]


def _run(tmp_path, folder, cells):
    (tmp_path / folder).mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, tmp_path / folder / "00_x.ipynb")
    (tmp_path / "conftest.py").write_text((ROOT / "conftest.py").read_text())
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax", "--nbval-current-env",
                           f"{folder}/00_x.ipynb"], cwd=tmp_path, capture_output=True, text=True)


def test_failing_check_in_a_solution_fails_and_a_stub_passing_in_a_learner_notebook_fails(tmp_path):
    cells = ["from course_lib.checks import check", "check('foreground-fraction', lambda lm, background=0: 0.0);"]
    run = _run(tmp_path, "solutions", cells)
    assert run.returncode == 1 and "said 'failed'" in run.stdout, run.stdout
    good = ["from course_lib.checks import check",
            "check('foreground-fraction', lambda lm, background=0: (lm != background).float().mean().item());"]
    other = tmp_path / "second"
    other.mkdir()
    run = _run(other, "notebooks", good)
    assert run.returncode == 1 and "must say 'not done'" in run.stdout, run.stdout


def test_a_figure_below_its_floor_or_never_printed_fails_the_notebook(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "quality_floors.toml").write_text('["00_x"]\n"demo.dice" = 0.5\n"demo.iou" = 0.3\n')
    cells = ["from course_lib.reporting import report_quality", "report_quality('demo.dice', 0.4);", "print('done')"]
    run = _run(tmp_path, "solutions", cells)
    assert run.returncode == 1, run.stdout
    assert "demo.dice = 0.4000 is below its floor 0.5" in run.stdout, run.stdout
    assert "QUALITY demo.iou was never printed" in run.stdout, run.stdout
    assert "2 failed" in run.stdout, run.stdout  # the low figure's cell, and the notebook's last cell


def test_figures_at_or_above_their_floors_pass(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "quality_floors.toml").write_text('["00_x"]\n"demo.dice" = 0.5\n')
    run = _run(tmp_path, "solutions", ["from course_lib.reporting import report_quality", "report_quality('demo.dice', 0.5);"])
    assert run.returncode == 0, run.stdout


def test_parallel_workers_keep_lessons_whole_pin_cores_and_merge_the_summary(tmp_path):
    import os

    for folder in ("solutions", "notebooks"):
        (tmp_path / folder).mkdir()
        for lesson in ("00_a", "01_b"):
            nb = nbformat.v4.new_notebook()
            nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
            nb.cells = [nbformat.v4.new_code_cell(c) for c in (
                "import os\nfrom course_lib.reporting import report_quality",
                f"report_quality('{lesson}.cores', len(os.sched_getaffinity(0)));",
                "print(os.environ.get('PYTEST_XDIST_WORKER'))")]
            nbformat.write(nb, tmp_path / folder / f"{lesson}.ipynb")
    (tmp_path / "conftest.py").write_text((ROOT / "conftest.py").read_text())
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax", "--nbval-current-env",
                          "-n", "2", "--dist", "loadscope", "solutions", "notebooks"], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "xdist" in run.stdout and "12 passed" in run.stdout, run.stdout
    cores = len(os.sched_getaffinity(0))
    for name in ("solutions/00_a.ipynb", "notebooks/00_a.ipynb", "solutions/01_b.ipynb", "notebooks/01_b.ipynb"):
        line = next(line for line in run.stdout.splitlines() if line.rstrip().endswith("]") and name in line)
        pinned = float(line.split("cores=")[1].rstrip("]"))
        assert pinned == (max(1, cores // 2) if cores >= 2 else 1), line  # each worker: its own share of the cores
