"""Grade submitted learner notebooks headless: ``python -m course_tools grade SUBMISSIONS``.

Layout: ``SUBMISSIONS/<learner>/NN_topic.ipynb`` (any number of learners and lessons). Each notebook
runs from a fresh kernel (errors allowed, as a learner's would have them); then every exercise of that
lesson is checked again, in the same kernel, against the learner's function of that name. The result
is one row per learner and exercise: passed, failed, not done, or missing (no such function).

Notebooks run ``jobs`` at a time (default: one per CPU core), each kernel on its fair share of the
cores, each within ``timeout`` seconds; one that runs longer becomes an error row for that learner.
Rows come back sorted by learner, lesson and exercise, whatever order the notebooks finish in.
"""

from __future__ import annotations

import asyncio
import atexit
import csv
import json
import math
import os
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

__all__ = ["GradeRow", "usable_cpus", "cpu_slots", "check_limits", "grade_notebook", "grade_folder",
           "write_table", "format_table"]

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
# Thread pools of numpy/BLAS and torch read these when a kernel starts; set to the kernel's share.
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS")


@dataclass
class GradeRow:
    """One learner's result on one exercise."""

    learner: str
    lesson: str
    exercise: str
    status: str
    passed: int
    total: int


def usable_cpus() -> list[int]:
    """The ids of the CPU cores this process may run on (0..cpu_count-1 where that is unknown)."""
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return list(range(os.cpu_count() or 1))


def cpu_slots(jobs: int, cpus: Sequence[int]) -> list[list[int]]:
    """Split ``cpus`` into ``jobs`` equal, disjoint shares (at least one core each; shared when jobs > cores)."""
    if not cpus:
        raise ValueError("cpus= is empty; pass the core ids to share, e.g. usable_cpus().")
    share = max(1, len(cpus) // jobs)
    return [[cpus[(slot * share + k) % len(cpus)] for k in range(share)] for slot in range(jobs)]


def check_limits(jobs: int, timeout: float) -> None:
    """Raise ValueError unless ``jobs`` is an int >= 1 and ``timeout`` a number of seconds > 0."""
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise ValueError(f"jobs={jobs!r} must be a whole number >= 1 of notebooks run at once, e.g. jobs=2.")
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 0 < timeout < math.inf:
        raise ValueError(f"timeout={timeout!r} must be a number of seconds > 0 per notebook, e.g. timeout=900.")


def _kernel_env(cpus: Sequence[int] | None) -> dict[str, str]:
    """The kernel's environment: ours, with every thread-pool size set to its share of cores."""
    env = dict(os.environ)
    if cpus is not None:
        env.update({name: str(len(cpus)) for name in _THREAD_VARS})
    return env


def _pin(pid: int, cpus: Sequence[int]) -> None:
    """Keep every thread of process ``pid`` (and what it starts later) on ``cpus``; a no-op off Linux."""
    if not hasattr(os, "sched_setaffinity"):
        return
    tasks = Path(f"/proc/{pid}/task")
    for tid in [int(p.name) for p in tasks.iterdir()] if tasks.is_dir() else [pid]:
        try:
            os.sched_setaffinity(tid, set(cpus))
        except ProcessLookupError:  # a thread that just ended
            pass


def _pin_kernel(client, cpus: Sequence[int]) -> None:
    """Pin the client's freshly started local kernel to ``cpus`` (kernels started elsewhere are left alone)."""
    process = getattr(getattr(client.km, "provisioner", None), "process", None)
    if process is not None:
        _pin(process.pid, cpus)


def _error_rows(path: Path, learner: str, status: str, with_totals: bool = True) -> list[GradeRow]:
    """One error row per exercise of the notebook's lesson (nothing could be graded)."""
    from course_lib.checks import exercises_for

    lesson = Path(path).stem
    return [GradeRow(learner, lesson, e.id, status, 0, len(e.make_cases()) if with_totals else 0)
            for e in exercises_for(lesson)]


async def _execute(client, timeout: float, env: dict[str, str]) -> bool:
    """Run the client's notebook in a kernel with ``env``; on ``timeout`` kill the kernel and return False."""
    task = asyncio.ensure_future(client.async_execute(env=env))
    done, _ = await asyncio.wait({task}, timeout=timeout)
    if task in done:
        task.result()  # re-raise a dead kernel and the like
        return True
    client.shutdown_kernel = "immediate"  # a kernel still busy would not stop on a polite request
    task.cancel()
    try:
        await task
    except BaseException:  # nbclient turns the cancellation into DeadKernelError
        pass
    await _stop_kernel(client)
    return False


async def _stop_kernel(client) -> None:
    """Kill the client's kernel if it still runs (a timeout during start-up skips nbclient's own clean-up)."""
    if client.km is not None:
        await client._async_cleanup_kernel()
    atexit.unregister(client._cleanup_kernel)  # nothing is left to clean at exit


def grade_notebook(path: Path, learner: str, timeout: float = 900, cpus: Sequence[int] | None = None) -> list[GradeRow]:
    """Run one submitted notebook headless (``timeout`` seconds in all, its kernel on ``cpus``) and check its exercises."""
    import nbformat
    from nbclient import NotebookClient

    from course_lib.checks import exercises_for

    check_limits(1, timeout)
    lesson = Path(path).stem
    if not exercises_for(lesson):
        return []
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # not a notebook: the learner still gets a row per exercise
        return _error_rows(path, learner, f"error: unreadable notebook ({type(exc).__name__})")
    nb.cells.append(nbformat.v4.new_code_cell(_GRADER_CELL.format(lesson=lesson, mark=_MARK)))
    client = NotebookClient(nb, timeout=None, allow_errors=True, kernel_name="python3",
                            resources={"metadata": {"path": str(Path(path).parent)}})
    if cpus is not None:
        client.on_notebook_start = lambda **_: _pin_kernel(client, cpus)
    try:
        finished = asyncio.run(_execute(client, timeout, _kernel_env(cpus)))
    except Exception as exc:  # a dead kernel: every exercise counts as not graded
        return _error_rows(path, learner, f"error: {type(exc).__name__}")
    if not finished:
        return _error_rows(path, learner, f"error: timeout after {timeout:g} s")
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.get("output_type") == "stream")
    line = next((ln for ln in text.splitlines() if ln.startswith(_MARK)), None)
    if line is None:
        failure = next((o.get("ename", "") for o in nb.cells[-1].outputs if o.get("output_type") == "error"), "")
        return _error_rows(path, learner, f"error: grader cell failed ({failure or 'no output'})", with_totals=False)
    return [GradeRow(learner, lesson, ex, status, passed, total) for ex, status, passed, total in json.loads(line[len(_MARK):])]


def _submissions(folder: Path) -> list[tuple[str, Path]]:
    """Every ``(learner, notebook)`` under ``folder``, sorted by learner, then lesson."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"submissions={str(folder)!r} is not a folder; expected SUBMISSIONS/<learner>/NN_topic.ipynb.")
    return [(learner_dir.name, nb_path)
            for learner_dir in sorted(p for p in folder.iterdir() if p.is_dir())
            for nb_path in sorted(learner_dir.glob("[0-9][0-9]_*.ipynb"))]


def _summary(rows: list[GradeRow]) -> str:
    """``2/3 passed``, or the error that stopped the notebook."""
    errors = {r.status for r in rows if r.status.startswith("error")}
    return ", ".join(sorted(errors)) if errors else f"{sum(r.status == 'passed' for r in rows)}/{len(rows)} passed"


class _Progress:
    """Progress lines: one when grading starts, one per notebook as it finishes, one with the wall time."""

    def __init__(self, total: int, show: bool) -> None:
        self.total, self.show, self.finished = total, show, 0
        self.lock, self.start = threading.Lock(), time.perf_counter()

    def say(self, line: str) -> None:
        """Print ``line`` (if shown) without mixing it with another thread's."""
        if self.show:
            with self.lock:
                print(line, flush=True)

    def done(self, learner: str, nb_path: Path, rows: list[GradeRow], seconds: float) -> None:
        """Report one finished notebook."""
        with self.lock:
            self.finished += 1
            count = self.finished
        self.say(f"[{count}/{self.total}] {learner}/{nb_path.name}: {_summary(rows)} ({seconds:.1f} s)")

    def end(self) -> None:
        """Report the wall time of the whole run."""
        self.say(f"graded {self.total} notebook(s) in {time.perf_counter() - self.start:.1f} s wall time")


def _grade_on_free_cores(learner: str, nb_path: Path, timeout: float, slots: queue.Queue, progress: _Progress) -> list[GradeRow]:
    """Grade one notebook on a share of the cores no other kernel uses now."""
    cpus, t0 = slots.get(), time.perf_counter()
    try:
        rows = grade_notebook(nb_path, learner, timeout, cpus=cpus)
    finally:
        slots.put(cpus)
    progress.done(learner, nb_path, rows, time.perf_counter() - t0)
    return rows


def grade_folder(folder: Path, timeout: float = 900, progress: bool = True, jobs: int | None = None) -> list[GradeRow]:
    """Grade every ``<learner>/NN_topic.ipynb`` under ``folder``, ``jobs`` notebooks at a time (default: one per core)."""
    cpus = usable_cpus()
    jobs = len(cpus) if jobs is None else jobs
    check_limits(jobs, timeout)
    work = _submissions(folder)
    if not work:
        return []
    workers = min(jobs, len(work))
    slots: queue.Queue[list[int]] = queue.Queue()
    for share in cpu_slots(workers, cpus):
        slots.put(share)
    report = _Progress(len(work), progress)
    report.say(f"grading {len(work)} notebook(s), {workers} at a time, {max(1, len(cpus) // workers)} core(s) each, "
               f"at most {timeout:g} s each ...")
    with ThreadPoolExecutor(max_workers=workers) as pool:  # map returns results in submission order
        results = list(pool.map(lambda item: _grade_on_free_cores(*item, timeout, slots, report), work))
    report.end()
    return [row for rows in results for row in rows]


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
