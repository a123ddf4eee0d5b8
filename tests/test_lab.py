import json
import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from course_lib.lab import IP_ENV, PORT_ENV, has_display, is_root, lab_command, run_lab

ROOT = Path(__file__).resolve().parents[1]
_URL = re.compile(r"(http://127\.0\.0\.1:\d+)/lab\?token=(\w+)")


def _free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _lines(proc: subprocess.Popen) -> queue.Queue:
    """Every line the process prints (stdout and stderr), as it comes, read in a background thread."""
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    return lines


def _wait_for_url(proc: subprocess.Popen, seconds: float) -> tuple[str, str, list[str]]:
    """The server base URL and token from the first URL-with-token line, and every line read up to it."""
    lines, seen, deadline = _lines(proc), [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            seen.append(lines.get(timeout=0.5))
        except queue.Empty:
            if proc.poll() is not None:
                break  # it stopped: say what it printed
            continue
        if match := _URL.search(seen[-1]):
            return match[1], match[2], seen
    raise AssertionError(f"no http://127.0.0.1:PORT/lab?token=... line (exit code {proc.poll()}):\n" + "".join(seen))


def _get(url: str, seconds: float) -> tuple[int, bytes]:
    """Status and body of ``url``, retried while nothing listens yet (JupyterLab prints its URL just before binding)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as reply:
                return reply.status, reply.read()
        except urllib.error.HTTPError as exc:
            return exc.code, b""
        except urllib.error.URLError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_make_lab_command_starts_a_server_that_answers_with_its_token(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update({IP_ENV: "127.0.0.1", PORT_ENV: str(_free_port()), "JUPYTER_RUNTIME_DIR": str(tmp_path)})
    proc = subprocess.Popen([sys.executable, "-m", "course_lib", "lab"], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base, token, seen = _wait_for_url(proc, seconds=45)  # about 3 s on a quiet machine
        assert base.endswith(f":{env[PORT_ENV]}")
        status, body = _get(f"{base}/api/status?token={token}", seconds=10)
        assert status == 200 and "started" in json.loads(body)
        assert _get(f"{base}/api/status", seconds=10)[0] == 403  # the token is what lets one in
        if is_root():
            assert sum("running as root" in line for line in seen) == 1
        assert any("no browser opens" in line for line in seen)
    finally:
        proc.terminate()
        rc = proc.wait(timeout=15)
    assert rc in (0, -15), rc  # stopped on SIGTERM, not killed


@pytest.mark.parametrize("root, display, added, absent", [
    (True, False, ["--allow-root", "--no-browser"], []),
    (True, True, ["--allow-root"], ["--no-browser"]),
    (False, False, ["--no-browser"], ["--allow-root"]),
    (False, True, [], ["--allow-root", "--no-browser"]),
])
def test_lab_command_adds_allow_root_and_no_browser_only_when_needed(root, display, added, absent):
    cmd = lab_command(Path("nb"), root=root, display=display, env={})
    assert cmd[:4] == [sys.executable, "-m", "jupyterlab", "nb"]
    assert all(flag in cmd for flag in added) and not any(flag in cmd for flag in absent)
    assert not any("ServerApp" in arg for arg in cmd)  # JupyterLab's own ip/port unless asked


def test_lab_command_takes_ip_and_port_from_the_environment():
    cmd = lab_command(Path("nb"), root=False, display=True, env={IP_ENV: "0.0.0.0", PORT_ENV: "9001"})
    assert cmd[4:] == ["--ServerApp.ip=0.0.0.0", "--ServerApp.port=9001", "--ServerApp.port_retries=0"]
    for bad in ("http", "0", "70000", "-1"):
        with pytest.raises(ValueError, match=PORT_ENV):
            lab_command(Path("nb"), root=False, display=True, env={PORT_ENV: bad})


@pytest.mark.parametrize("env, platform, expected", [
    ({}, "linux", False), ({"DISPLAY": ":0"}, "linux", True), ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", True),
    ({"DISPLAY": ""}, "linux", False), ({}, "darwin", True), ({}, "win32", True),
])
def test_has_display(env, platform, expected):
    assert has_display(env, platform) is expected


def test_run_lab_names_a_missing_notebook_folder(tmp_path):
    with pytest.raises(ValueError, match="notebook_dir=.*make notebooks"):
        run_lab(tmp_path / "notebooks")


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_lab_runs_the_course_lab_command():
    dry = subprocess.run(["make", "-n", "--no-print-directory", "lab"], cwd=ROOT, capture_output=True, text=True,
                         timeout=30)  # inside `make test` a nested make would print "Entering directory" lines
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.strip().splitlines()[-1].endswith("-m course_lib lab"), dry.stdout
