"""Repository-wide pytest configuration: extra rules for notebooks executed by nbval.

nbval runs every cell of ``notebooks/`` and ``solutions/`` in a fresh kernel. On top of "no cell
raises", these rules check the exercises in the same single run:
- solutions: every check prints PASSED;
- learner notebooks: every check prints NOT DONE, and only unfinished exercise cells raise,
  and only NotImplementedError;
- both: every ``QUALITY`` figure with a floor in ``tests/quality_floors.toml`` reaches its floor, and the
  last cell of a notebook fails if a floored figure was never printed.

With pytest-xdist (``make test`` runs the notebooks with ``-n <cores>``) each lesson's two notebooks form one
work unit that runs whole, one after the other, on one worker; each worker, and so each kernel
it starts, is pinned to its own share of the CPU cores; the wall times and QUALITY figures of all workers are
collected into the one summary at the end.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")

_NOTEBOOK_TIMES: dict[str, float] = {}
_QUALITY: dict[str, dict[str, float]] = {}
_FLOORS_FILE = Path(__file__).parent / "tests" / "quality_floors.toml"
_LAST_CELL: dict[str, str] = {}  # notebook -> nodeid of its last collected cell
_CELLS_RUN: dict[str, int] = {}
_CELLS_COLLECTED: dict[str, int] = {}


def _pin_worker_to_cores() -> None:
    """Under pytest-xdist, keep this worker (and the kernels it starts) on its own share of the cores."""
    worker, count = os.environ.get("PYTEST_XDIST_WORKER"), int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if not worker or count < 2 or not hasattr(os, "sched_setaffinity"):
        return
    cores = sorted(os.sched_getaffinity(0))
    share = cores[int(worker.removeprefix("gw")) % count::count] if len(cores) >= count else cores
    os.sched_setaffinity(0, share or cores)


def pytest_configure(config):
    _pin_worker_to_cores()


def pytest_collection_modifyitems(session, config, items):
    for item in items:
        if hasattr(item, "cell"):
            key = str(item.fspath)
            _LAST_CELL[key] = item.nodeid
            _CELLS_COLLECTED[key] = _CELLS_COLLECTED.get(key, 0) + 1


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """pytest-xdist: one work unit per lesson (its solution and learner notebooks, whole), one per test file.

    (xdist's own ``--dist loadgroup`` marks do not group anything under pytest 9, so the lesson scopes are
    made here.) Two notebooks of one lesson never run at once, so they never fill a dataset cache together.
    """
    from xdist.scheduler import LoadScopeScheduling

    class LessonScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return Path(path).stem if path.endswith(".ipynb") else path

    return LessonScheduling(config, log)


def pytest_sessionfinish(session):
    out = getattr(session.config, "workeroutput", None)  # set on pytest-xdist workers only
    if out is not None:
        out["course_notebook_times"] = dict(_NOTEBOOK_TIMES)
        out["course_quality"] = {k: dict(v) for k, v in _QUALITY.items()}


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """On the xdist controller: add one worker's notebook wall times and QUALITY figures to the summary."""
    out = getattr(node, "workeroutput", {}) or {}
    for name, seconds in out.get("course_notebook_times", {}).items():
        _NOTEBOOK_TIMES[name] = _NOTEBOOK_TIMES.get(name, 0.0) + seconds
    for name, figures in out.get("course_quality", {}).items():
        _QUALITY.setdefault(name, {}).update(figures)


def _floors_for(path: Path) -> dict[str, float]:
    if not _FLOORS_FILE.is_file():
        return {}
    from course_tools.quality import load_floors

    return load_floors(_FLOORS_FILE).get(path.stem, {})


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    start = time.perf_counter()
    try:
        result = yield  # nbval runs the cell; a cell error is raised from here as usual
    finally:
        if hasattr(item, "cell"):
            key = str(Path(str(item.fspath)).relative_to(Path(__file__).parent))
            _NOTEBOOK_TIMES[key] = _NOTEBOOK_TIMES.get(key, 0.0) + time.perf_counter() - start
    if not hasattr(item, "cell"):
        return result
    _CELLS_RUN[str(item.fspath)] = _CELLS_RUN.get(str(item.fspath), 0) + 1
    from course_lib.checks import cell_problems
    from course_lib.reporting import parse_quality
    from course_tools.quality import floor_problems

    outputs = getattr(item, "test_outputs", None) or []
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    errors = [o.get("ename", "") for o in outputs if o.get("output_type") == "error"]
    learner = Path(str(item.fspath)).parent.name == "notebooks"
    _QUALITY.setdefault(key, {}).update(parse_quality(text))
    problems = cell_problems(item.cell.source, list(item.cell.metadata.get("tags", [])), text, errors, learner)
    path = Path(str(item.fspath))
    complete = item.nodeid == _LAST_CELL.get(str(path)) and _CELLS_RUN.get(str(path)) == _CELLS_COLLECTED.get(str(path))
    problems += floor_problems(_floors_for(path), _QUALITY.get(key, {}) if complete else parse_quality(text), complete=complete)
    if problems:
        pytest.fail("\n".join(problems) + f"\n--- cell source ---\n{item.cell.source}\n--- output ---\n{text}", pytrace=False)
    return result


def pytest_terminal_summary(terminalreporter):
    if not _NOTEBOOK_TIMES:
        return
    out = os.environ.get("COURSE_BENCH_OUT")
    if out:  # `make bench`: a machine-readable record of wall times and quality figures
        import json
        import platform

        import torch

        record = {"machine": {"python": platform.python_version(), "torch": torch.__version__,
                              "cpus": os.cpu_count(), "threads": torch.get_num_threads(), "platform": platform.platform()},
                  "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
                  "notebooks": {k: {"seconds": round(v, 1), "quality": _QUALITY.get(k, {})} for k, v in sorted(_NOTEBOOK_TIMES.items())}}
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(record, indent=2) + "\n")
        terminalreporter.write_line(f"benchmark written to {out}")
    workers = getattr(terminalreporter.config.option, "numprocesses", None) or 0
    cores = " (xdist: each notebook on one worker's share of the cores)" if workers and workers > 1 else ""
    terminalreporter.section("notebook wall times (cells executed by nbval)" + cores)
    for name, seconds in sorted(_NOTEBOOK_TIMES.items()):
        flag = "  OVER 120 s BUDGET" if seconds > 120 else ""
        quality = ", ".join(f"{k}={v:.3f}" for k, v in _QUALITY.get(name, {}).items())
        terminalreporter.write_line(f"{seconds:7.1f} s  {name}{flag}" + (f"   [{quality}]" if quality else ""))
    terminalreporter.write_line(f"{sum(_NOTEBOOK_TIMES.values()):7.1f} s  total")
