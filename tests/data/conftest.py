"""Fixtures for the data tests: the shared sample mirror, a private cache, no network, a local HTTP server."""

from __future__ import annotations

import http.server
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from course_lib.config import repo_root


def _mirror_path() -> Path:
    return Path(os.environ.get("COURSE_TEST_MIRROR") or repo_root().parent / "shared" / "data")


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    """Every test in this folder runs on one torch thread (the shared fixture in tests/conftest.py)."""


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Tests never touch the internet: requests to anything but this machine fail like an offline laptop."""
    import requests

    real_get = requests.get

    def guarded_get(url, *args, **kwargs):
        host = urlparse(url).hostname
        if host not in ("127.0.0.1", "localhost"):
            raise requests.ConnectionError(f"network disabled in tests (tried {url})")
        return real_get(url, *args, **kwargs)

    monkeypatch.setattr(requests, "get", guarded_get)


@pytest.fixture(scope="session")
def shared_mirror() -> Path:
    """The course's real-data samples (``../shared/data`` beside the repository, or $COURSE_TEST_MIRROR)."""
    path = _mirror_path()
    if not (path / "MANIFEST.sha256").is_file():
        pytest.skip(f"real-data sample mirror not found at {path}; set COURSE_TEST_MIRROR to the shared/data folder")
    return path


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory) -> Path:
    """One cache folder shared by the real-loader tests, so each dataset is copied from the mirror once."""
    return tmp_path_factory.mktemp("course-data-cache")


@pytest.fixture
def mirror_env(monkeypatch, shared_mirror, session_cache) -> Path:
    """COURSE_DATA_MIRROR = the shared samples, COURSE_DATA_DIR = the session cache; returns the cache."""
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(shared_mirror))
    monkeypatch.setenv("COURSE_DATA_DIR", str(session_cache))
    return session_cache


@pytest.fixture
def empty_cache(monkeypatch, tmp_path) -> Path:
    """A fresh empty cache and no mirror: the situation of a learner offline with nothing downloaded."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("COURSE_DATA_DIR", str(cache))
    monkeypatch.delenv("COURSE_DATA_MIRROR", raising=False)
    return cache


class _RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with support for ``Range: bytes=N-`` (what a resumable download asks for)."""

    def log_message(self, *args):  # keep test output clean
        pass

    def do_GET(self):
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        start = 0
        header = self.headers.get("Range", "")
        if header.startswith("bytes=") and header.endswith("-"):
            start = int(header[6:-1])
            if start >= len(data):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        self.wfile.write(data[start:])
        self.server.requests.append((self.path, start))


@pytest.fixture
def http_server(tmp_path):
    """Serve ``tmp_path/'www'`` on localhost; yields (folder, base URL, list of (path, range start) requests)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = lambda *a, **k: _RangeHandler(*a, directory=str(root), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}", server.requests
    finally:
        server.shutdown()
        server.server_close()


# --------------------------------------------------------------------------------------------------
# a local HTTP server that misbehaves on request (the downloader fault suite, tests/data/test_download_faults.py)
# --------------------------------------------------------------------------------------------------
class _FaultHandler(http.server.BaseHTTPRequestHandler):
    """Serves files from ``server.root`` (``Range: bytes=N-`` honoured) with the faults in ``server.faults``.

    Faults: ``status`` (answer this HTTP error to the first ``status_times`` requests), ``cut_after`` (close
    the connection after this many body bytes, for the first ``cut_times`` requests), ``ignore_range``
    (answer 200 with the whole file), ``corrupt`` (flip the first bytes), ``stall`` (send the headers and
    ``stall_after`` body bytes, then sleep this many seconds), ``rate`` (seconds of sleep per 16 kB sent).
    """

    def log_message(self, *args):  # keep test output clean
        pass

    def _range_start(self, size: int) -> int:
        """The N of ``Range: bytes=N-``, or 0 without one (or when ignoring ranges)."""
        header = self.headers.get("Range", "")
        if self.server.faults.get("ignore_range") or not (header.startswith("bytes=") and header.endswith("-")):
            return 0
        return int(header[6:-1])

    def _send_body(self, body: bytes) -> None:
        """Write ``body``, slowly, stalling or cut short as the faults say; a client that left is fine."""
        faults, stop = self.server.faults, self.server.stop
        if faults.get("stall"):
            self.wfile.write(body[: faults.get("stall_after", 0)])
            self.wfile.flush()
            stop.wait(faults["stall"])
            return
        if faults.get("cut_after") and self.server.cuts < faults.get("cut_times", 1):
            self.server.cuts += 1
            body = body[: faults["cut_after"]]
        for i in range(0, len(body), 16384):
            self.wfile.write(body[i:i + 16384])
            self.wfile.flush()
            if faults.get("rate") and stop.wait(faults["rate"]):
                return

    def do_GET(self):
        server = self.server
        server.log.append({"path": self.path, "range": self.headers.get("Range"), "time": time.monotonic()})
        faults = server.faults
        if faults.get("status") and len(server.log) <= faults.get("status_times", 10**6):
            self.send_error(faults["status"])
            return
        path = Path(server.root) / unquote(self.path.split("?")[0].lstrip("/"))
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        if faults.get("corrupt"):
            data = bytes(b ^ 0xFF for b in data[:16]) + data[16:]
        start = self._range_start(len(data))
        if start >= len(data) > 0:
            self.send_error(416)
            return
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        try:
            self._send_body(data[start:])
        except (BrokenPipeError, ConnectionResetError):
            pass


@dataclass
class FaultServer:
    """A running misbehaving server: its folder, base URL, the requests it saw, and the faults to inject."""

    root: Path
    url: str
    log: list
    faults: dict

    def seen(self, path: str) -> list[dict]:
        """The requests for ``path`` (e.g. "/a.bin"), in order."""
        return [r for r in self.log if r["path"] == path]


@pytest.fixture
def fault_server(tmp_path):
    """A ThreadingHTTPServer on 127.0.0.1 (free port) serving ``tmp_path/'fault-www'``; faults set per test."""
    root = tmp_path / "fault-www"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FaultHandler)
    server.root, server.log, server.faults, server.cuts, server.stop = root, [], {}, 0, threading.Event()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield FaultServer(root, f"http://127.0.0.1:{server.server_address[1]}", server.log, server.faults)
    finally:
        server.stop.set()  # end any stall or slow transfer at once
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
