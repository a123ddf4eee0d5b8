"""A lock file so that two processes never fetch into the same dataset folder at once.

On POSIX the lock is ``fcntl.flock`` on the lock file: the kernel drops it when its process ends, so a
lock file left behind by a killed process never blocks anyone. Where ``fcntl`` is missing (Windows)
the lock is the lock file itself, created with ``O_EXCL`` and holding the owner's pid and start time;
such a file counts as stale, and is removed, when its process is gone or it is older than ``stale_after``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..validation import check_positive

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["LockTimeoutError", "file_lock", "lock_is_stale"]

POLL_SECONDS = 0.05  # how often a waiting process tries the lock again


class LockTimeoutError(TimeoutError):
    """Another process held the lock for longer than the caller was willing to wait."""


def _timeout_message(path: Path, wait: float) -> str:
    """The error text for a lock that stayed busy for ``wait`` seconds."""
    owner = path.read_text(encoding="utf-8", errors="replace").strip() if path.exists() else "unknown"
    return (
        f"another process has been fetching into this dataset folder for over {wait:g} s (lock file {path}, "
        f"owner {owner}). Wait for it to finish; if no such process is running, delete {path} and try again."
    )


def _owner_record() -> str:
    """What a lock holder writes into the lock file: its pid and when it took the lock."""
    return json.dumps({"pid": os.getpid(), "since": time.time()})


def _pid_alive(pid: int) -> bool:
    """True if a process with this pid exists (a pid we may not signal still counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def lock_is_stale(path: str | Path, stale_after: float = 6 * 3600.0) -> bool:
    """True if the ``O_EXCL`` lock file at ``path`` is left over: unreadable, its pid gone, or too old."""
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
        pid, since = int(record["pid"]), float(record["since"])
    except FileNotFoundError:
        return False
    except (OSError, ValueError, KeyError, TypeError):
        return True
    return not _pid_alive(pid) or time.time() - since > stale_after


@contextmanager
def _flock(path: Path, wait: float) -> Iterator[None]:
    """Hold ``fcntl.flock`` on ``path`` (waiting up to ``wait`` seconds for it)."""
    deadline = time.monotonic() + wait
    with open(path, "a+", encoding="utf-8") as handle:
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LockTimeoutError(_timeout_message(path, wait)) from None
                time.sleep(POLL_SECONDS)
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(_owner_record())
            handle.flush()
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextmanager
def _exclusive_file(path: Path, wait: float, stale_after: float) -> Iterator[None]:
    """Hold the lock by creating ``path`` with ``O_EXCL``; a stale lock file is removed first."""
    deadline = time.monotonic() + wait
    while True:
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except FileExistsError:
            if lock_is_stale(path, stale_after):
                path.unlink(missing_ok=True)
                continue
            if time.monotonic() > deadline:
                raise LockTimeoutError(_timeout_message(path, wait)) from None
            time.sleep(POLL_SECONDS)
    try:
        os.write(fd, _owner_record().encode())
        os.close(fd)
        yield
    finally:
        path.unlink(missing_ok=True)


@contextmanager
def file_lock(
    path: str | Path, *, wait: float = 3 * 3600.0, stale_after: float = 6 * 3600.0, use_flock: bool | None = None
) -> Iterator[Path]:
    """Hold an exclusive inter-process lock on ``path`` for the ``with`` block; yields the lock file's path.

    Waits up to ``wait`` seconds for another holder, then raises :class:`LockTimeoutError`. The lock is
    released however the block ends (also on KeyboardInterrupt). ``use_flock=False`` forces the
    ``O_EXCL`` lock file used where ``fcntl`` is missing.
    """
    check_positive("wait", wait)
    check_positive("stale_after", stale_after)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    flock = fcntl is not None if use_flock is None else bool(use_flock and fcntl is not None)
    with _flock(path, wait) if flock else _exclusive_file(path, wait, stale_after):
        yield path
