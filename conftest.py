"""Repository-wide pytest configuration: extra rules for notebooks executed by nbval.

nbval runs every cell of ``notebooks/`` and ``solutions/`` in a fresh kernel. On top of "no cell
raises", these rules check the exercises in the same single run:
- solutions: every check prints PASSED;
- learner notebooks: every check prints NOT DONE, and only unfinished exercise cells raise,
  and only NotImplementedError.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")

_NOTEBOOK_TIMES: dict[str, float] = {}
_QUALITY: dict[str, dict[str, float]] = {}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    start = time.perf_counter()
    try:
        result = yield  # nbval runs the cell; a cell error is raised from here as usual
    finally:
        if hasattr(item, "cell"):
            key = str(Path(str(item.fspath)).relative_to(Path(__file__).parent))
            _NOTEBOOK_TIMES[key] = _NOTEBOOK_TIMES.get(key, 0.0) + time.perf_counter() - start
    if not hasattr(item, "cell") or getattr(item, "test_outputs", None) is None:
        return result
    from course_lib.checks import cell_problems
    from course_lib.reporting import parse_quality

    outputs = item.test_outputs or []
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    errors = [o.get("ename", "") for o in outputs if o.get("output_type") == "error"]
    learner = Path(str(item.fspath)).parent.name == "notebooks"
    _QUALITY.setdefault(key, {}).update(parse_quality(text))
    problems = cell_problems(item.cell.source, list(item.cell.metadata.get("tags", [])), text, errors, learner)
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
    terminalreporter.section("notebook wall times (cells executed by nbval)")
    for name, seconds in sorted(_NOTEBOOK_TIMES.items()):
        flag = "  OVER 120 s BUDGET" if seconds > 120 else ""
        quality = ", ".join(f"{k}={v:.3f}" for k, v in _QUALITY.get(name, {}).items())
        terminalreporter.write_line(f"{seconds:7.1f} s  {name}{flag}" + (f"   [{quality}]" if quality else ""))
    terminalreporter.write_line(f"{sum(_NOTEBOOK_TIMES.values()):7.1f} s  total")
