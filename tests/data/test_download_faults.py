"""The downloader against a real HTTP server on 127.0.0.1 that misbehaves on request (issue 13).

Cut transfers, servers that ignore Range, wrong bytes, 404/5xx, stalls, two processes at once,
hostile archives and Ctrl-C. The server is the ``fault_server`` fixture in conftest.py.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

from course_lib import data
from course_lib.data import download as dl
from course_lib.data.locking import LockTimeoutError, file_lock
from mirrors import make_tar, small_mirror
from course_lib.data.registry import DOWNLOADS, Download

REPO = Path(__file__).resolve().parents[2]
PAYLOAD = random.Random(13).randbytes(64 * 1024)


def sha(payload: bytes) -> str:
    return "sha256:" + hashlib.sha256(payload).hexdigest()


@pytest.fixture
def served(fault_server, monkeypatch):
    """``PAYLOAD`` served as /f.bin, small download blocks so faults land mid-file; returns (server, url)."""
    (fault_server.root / "f.bin").write_bytes(PAYLOAD)
    monkeypatch.setattr(dl, "CHUNK_SIZE", 4096)
    return fault_server, f"{fault_server.url}/f.bin"


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# --- (a) a transfer cut mid-file resumes with Range ---------------------------------------------------------
def test_a_transfer_cut_mid_file_resumes_with_a_range_request_and_is_verified(served, tmp_path):
    server, url = served
    server.faults.update(cut_after=20_000, cut_times=1)
    dest = dl.download_file(url, tmp_path / "out" / "f.bin", sha(PAYLOAD), timeout=5)
    assert dest.read_bytes() == PAYLOAD and leftovers(dest.parent) == ["f.bin"]
    first, second = server.seen("/f.bin")
    assert first["range"] is None
    assert second["range"] is not None and second["range"].startswith("bytes="), "the retry resumes with Range"
    assert 0 < int(second["range"][6:-1]) <= 20_000


# --- (b) a server that ignores Range ------------------------------------------------------------------------
def test_a_server_ignoring_range_restarts_cleanly_without_appending_twice(served, tmp_path):
    server, url = served
    server.faults.update(ignore_range=True)
    dest = tmp_path / "out" / "f.bin"
    dest.parent.mkdir()
    dest.with_name("f.bin.part").write_bytes(PAYLOAD[:5000])  # a genuine partial from an earlier try
    dl.download_file(url, dest, sha(PAYLOAD), timeout=5)
    assert server.seen("/f.bin")[0]["range"] == "bytes=5000-"
    assert dest.read_bytes() == PAYLOAD and len(dest.read_bytes()) == len(PAYLOAD)
    assert leftovers(dest.parent) == ["f.bin"]


def test_a_cut_transfer_then_a_range_ignoring_answer_still_ends_correct(served, tmp_path):
    server, url = served
    server.faults.update(cut_after=20_000, cut_times=1, ignore_range=True)
    dest = dl.download_file(url, tmp_path / "f.bin", sha(PAYLOAD), timeout=5)
    assert dest.read_bytes() == PAYLOAD and len(server.seen("/f.bin")) == 2


# --- (c) wrong bytes ----------------------------------------------------------------------------------------
def test_wrong_bytes_fail_the_hash_and_nothing_is_kept(served, tmp_path):
    server, url = served
    server.faults.update(corrupt=True)
    dest = tmp_path / "out" / "f.bin"
    with pytest.raises(data.DownloadError) as err:
        dl.download_file(url, dest, sha(PAYLOAD), timeout=5)
    message = str(err.value)
    assert "hash does not match" in message and "COURSE_DATA_MIRROR" in message and "again" in message
    assert leftovers(dest.parent) == [], "no final file, no .part, no temporary file"


def test_a_stale_part_with_wrong_bytes_is_resumed_once_then_restarted_from_scratch(served, tmp_path):
    server, url = served
    dest = tmp_path / "f.bin"
    dest.with_name("f.bin.part").write_bytes(b"\0" * 5000)  # bad bytes left by something else
    dl.download_file(url, dest, sha(PAYLOAD), timeout=5)
    assert dest.read_bytes() == PAYLOAD
    assert [r["range"] for r in server.seen("/f.bin")] == ["bytes=5000-", None]


# --- (d) HTTP errors ----------------------------------------------------------------------------------------
@pytest.fixture
def isbi_from(fault_server, monkeypatch, tmp_path):
    """Point the official ISBI download at one file on the fault server, with an empty cache and no mirror."""
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("COURSE_DATA_MIRROR", raising=False)
    monkeypatch.setitem(DOWNLOADS, "isbi2012", (Download(url=f"{fault_server.url}/0.png", dest="train/image/0.png"),))
    return fault_server


def test_http_404_names_the_dataset_and_the_mirror_option_without_retrying(isbi_from):
    with pytest.raises(data.DatasetUnavailableError) as err:
        data.fetch("isbi2012")
    message = str(err.value)
    assert "'isbi2012'" in message and "COURSE_DATA_MIRROR" in message and "HTTP 404" in message
    assert len(isbi_from.seen("/0.png")) == 1, "a 404 is final: no retry"


def test_http_500_is_retried_a_bounded_number_of_times_then_explained(isbi_from):
    isbi_from.faults.update(status=500)
    started = time.monotonic()
    with pytest.raises(data.DatasetUnavailableError) as err:
        data.fetch("isbi2012")
    elapsed = time.monotonic() - started
    message = str(err.value)
    assert "'isbi2012'" in message and "COURSE_DATA_MIRROR" in message and "HTTP 500" in message
    assert len(isbi_from.seen("/0.png")) == dl.TRIES == 3
    assert elapsed < 5, f"bounded backoff, took {elapsed:.1f} s"


def test_a_passing_5xx_is_survived_by_the_retry(served, tmp_path):
    server, url = served
    server.faults.update(status=503, status_times=2)
    dest = dl.download_file(url, tmp_path / "f.bin", sha(PAYLOAD), timeout=5)
    assert dest.read_bytes() == PAYLOAD and len(server.log) == 3


# --- (e) a stalled server -----------------------------------------------------------------------------------
@pytest.mark.parametrize("stall_after", [0, 10_000])
def test_a_stalled_server_times_out_within_the_timeout(served, tmp_path, stall_after):
    server, url = served
    server.faults.update(stall=30, stall_after=stall_after)
    timeout = 1.0
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="stalled") as err:
        dl.download_file(url, tmp_path / "f.bin", sha(PAYLOAD), timeout=timeout)
    elapsed = time.monotonic() - started
    assert elapsed < timeout + 1.5, f"gave up after {elapsed:.2f} s with timeout={timeout}"
    assert "timeout=1" in str(err.value) and len(server.log) == 1, "a stall is not retried"
    assert not (tmp_path / "f.bin").exists()


def test_bad_timeout_and_tries_are_refused_with_the_argument_named(tmp_path):
    with pytest.raises(ValueError, match="timeout"):
        dl.download_file("http://127.0.0.1:9/x", tmp_path / "x", timeout=0)
    with pytest.raises(ValueError, match="tries"):
        dl.download_file("http://127.0.0.1:9/x", tmp_path / "x", tries=0)


# --- (f) two processes at once ------------------------------------------------------------------------------


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURSE_")}
    env.update(PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", **extra)
    return env


FETCH_CHILD = """
import os, sys, time, pathlib
from course_lib.data import download as dl
pathlib.Path(sys.argv[1]).touch()
while not os.path.exists(sys.argv[2]):
    time.sleep(0.01)
print(dl.fetch("isbi2012"))
"""


def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_two_processes_fetching_the_same_dataset_end_with_one_verified_copy(shared_mirror, fault_server, tmp_path):
    small_mirror(shared_mirror, fault_server.root)
    fault_server.faults.update(rate=0.03)  # slow: each file takes a few tenths of a second
    env = child_env(COURSE_DATA_DIR=str(tmp_path / "cache"), COURSE_DATA_MIRROR=fault_server.url)
    go = tmp_path / "go"
    children = [
        subprocess.Popen([sys.executable, "-c", FETCH_CHILD, str(tmp_path / f"ready{i}"), str(go)], env=env,
                         cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(2)
    ]
    try:
        wait_for(lambda: all((tmp_path / f"ready{i}").exists() for i in range(2)), 120, "both children to start")
        go.touch()  # both call fetch() at the same moment
        outputs = [child.communicate(timeout=120) for child in children]
    finally:
        for child in children:
            child.kill() if child.poll() is None else None
    assert [c.returncode for c in children] == [0, 0], outputs
    root = tmp_path / "cache" / "isbi2012_membranes"
    assert all(out.strip().endswith(str(root)) for out, _ in outputs)
    pngs = [r["path"] for r in fault_server.log if r["path"].endswith(".png")]
    assert sorted(pngs) == sorted(set(pngs)) and len(pngs) == 4, "each file was downloaded once, by one process"
    assert len(fault_server.seen("/MANIFEST.sha256")) == 1, "the second process waited, then found the data present"
    record = json.loads((root / ".course_complete.json").read_text())
    for rel, digest in record["files"].items():
        assert hashlib.sha256((root / rel).read_bytes()).hexdigest() == digest
        assert (root / rel).read_bytes() == (fault_server.root / "isbi2012_membranes" / rel).read_bytes()
    assert not list(root.rglob("*.part")) and not (root / ".course_incomplete").exists()


def test_a_lock_file_left_by_a_dead_process_does_not_block(shared_mirror, fault_server, tmp_path, monkeypatch):
    small_mirror(shared_mirror, fault_server.root, n=1)
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("COURSE_DATA_MIRROR", fault_server.url)
    lock = dl.lock_path("isbi2012")
    lock.parent.mkdir(parents=True)
    lock.write_text(json.dumps({"pid": 2**22 + 12345, "since": 0}))
    assert dl.is_present("isbi2012") is False
    data.fetch("isbi2012", lock_wait=2)
    assert dl.is_present("isbi2012")


def test_the_o_excl_lock_removes_a_stale_file_and_times_out_on_a_live_one(tmp_path):
    lock = tmp_path / "x.lock"
    lock.write_text(json.dumps({"pid": 2**22 + 12345, "since": time.time()}))  # no such process
    with file_lock(lock, wait=1, use_flock=False):
        assert json.loads(lock.read_text())["pid"] == os.getpid()
        started = time.monotonic()
        with pytest.raises(LockTimeoutError, match="delete"):
            with file_lock(lock, wait=0.3, use_flock=False):
                pass
        assert time.monotonic() - started < 2
    assert not lock.exists()


def test_a_held_flock_makes_a_second_holder_wait_then_time_out(tmp_path):
    lock = tmp_path / "y.lock"
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from course_lib.data.locking import file_lock\n"
         "with file_lock(sys.argv[1]):\n    print('held', flush=True); time.sleep(30)", str(lock)],
        env=child_env(), cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "held"
        with pytest.raises(LockTimeoutError, match=str(lock.name)):
            with file_lock(lock, wait=0.3):
                pass
    finally:
        child.kill()
        child.wait(timeout=10)
    with file_lock(lock, wait=2):  # the kernel dropped the dead child's lock
        pass


# --- (g) hostile archives -----------------------------------------------------------------------------------
def tar_with(path: Path, *members: tarfile.TarInfo, payload: bytes = b"hello") -> Path:
    return make_tar(path, list(members), payload)


def tar_link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


def zip_with(path: Path, *entries: tuple[str, bytes], symlinks: dict[str, str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, payload in entries:
            zf.writestr(name, payload)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return path


BIG = b"x" * 4000
HOSTILE = {
    "tar-dotdot": (lambda p: tar_with(p / "a.tar.gz", tarfile.TarInfo("ok.txt"), tarfile.TarInfo("d/../../evil.txt")), "'..'"),
    "tar-absolute": (lambda p: tar_with(p / "a.tar.gz", tarfile.TarInfo("ok.txt"), tarfile.TarInfo("/tmp/evil-abs.txt")), "absolute"),
    "tar-symlink": (lambda p: tar_with(p / "a.tar.gz", tarfile.TarInfo("ok.txt"), tar_link("d/l", "../../outside")), "outside"),
    "tar-symlink-abs": (lambda p: tar_with(p / "a.tar.gz", tarfile.TarInfo("ok.txt"), tar_link("l", "/etc/passwd")), "absolute"),
    "tar-hardlink": (lambda p: tar_with(p / "a.tar.gz", tarfile.TarInfo("ok.txt"), tar_link("h", "../x", tarfile.LNKTYPE)), "outside"),
    "tar-too-big": (lambda p: tar_with(p / "a.tar.gz", tarfile.TarInfo("a"), tarfile.TarInfo("b"), payload=BIG), "max_bytes"),
    "zip-dotdot": (lambda p: zip_with(p / "a.zip", ("ok.txt", b"ok"), ("../evil.txt", b"x")), "'..'"),
    "zip-absolute": (lambda p: zip_with(p / "a.zip", ("ok.txt", b"ok"), ("/tmp/evil-abs.txt", b"x")), "absolute"),
    "zip-symlink": (lambda p: zip_with(p / "a.zip", ("ok.txt", b"ok"), symlinks={"l": "../../outside"}), "outside"),
    "zip-symlink-abs": (lambda p: zip_with(p / "a.zip", ("ok.txt", b"ok"), symlinks={"l": "/etc/passwd"}), "absolute"),
    "zip-too-big": (lambda p: zip_with(p / "a.zip", ("a", BIG), ("b", BIG)), "max_bytes"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_archives_are_refused_whole_with_nothing_extracted(tmp_path, case):
    make, words = HOSTILE[case]
    archive = make(tmp_path)
    target = tmp_path / "target" / "inner"
    with pytest.raises(data.UnsafeArchiveError, match=words):
        data.safe_extract(archive, target, max_bytes=6000)
    assert not target.exists(), "refused before anything was written"
    assert not (tmp_path / "evil.txt").exists() and not Path("/tmp/evil-abs.txt").exists()


def test_the_size_limit_lets_a_small_enough_archive_through_and_checks_its_argument(tmp_path):
    archive = zip_with(tmp_path / "a.zip", ("a", BIG), symlinks={"inside": "a"})
    written = data.safe_extract(archive, tmp_path / "out", max_bytes=5000)
    assert [p.name for p in written] == ["a"] and not (tmp_path / "out" / "inside").exists()
    with pytest.raises(ValueError, match="max_bytes"):
        data.safe_extract(archive, tmp_path / "out2", max_bytes=-1)


# --- (h) Ctrl-C ---------------------------------------------------------------------------------------------
DOWNLOAD_CHILD = """
import sys
from course_lib.data import download as dl
dl.CHUNK_SIZE = 4096
dl.download_file(sys.argv[1], sys.argv[2], sys.argv[3], timeout=20)
"""


def test_ctrl_c_mid_download_leaves_only_a_part_file_that_the_next_call_resumes(served, tmp_path):
    server, url = served
    server.faults.update(rate=0.5)  # 16 kB every 0.5 s: the 64 kB file takes about two seconds
    dest = tmp_path / "out" / "f.bin"
    part = dest.with_name("f.bin.part")
    child = subprocess.Popen([sys.executable, "-c", DOWNLOAD_CHILD, url, str(dest), sha(PAYLOAD)],
                             env=child_env(), cwd=REPO, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: part.exists() and part.stat().st_size > 0, 120, "the first bytes")
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=30)
    finally:
        child.kill() if child.poll() is None else None
    assert child.returncode != 0 and "KeyboardInterrupt" in err
    assert leftovers(dest.parent) == ["f.bin.part"], "nothing that looks complete, no temporary files"
    done = part.stat().st_size
    assert 0 < done < len(PAYLOAD)
    server.faults.clear()
    dl.download_file(url, dest, sha(PAYLOAD), timeout=5)
    assert dest.read_bytes() == PAYLOAD and server.log[-1]["range"] == f"bytes={done}-"


def test_ctrl_c_inside_fetch_leaves_the_dataset_unfinished_and_the_lock_free(shared_mirror, fault_server, tmp_path, monkeypatch):
    small_mirror(shared_mirror, fault_server.root, n=1)
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("COURSE_DATA_MIRROR", fault_server.url)
    monkeypatch.setattr(dl, "CHUNK_SIZE", 8192)
    original = dl._iter_chunks

    def interrupted(stream):
        for i, block in enumerate(original(stream)):
            if i == 1:
                raise KeyboardInterrupt  # as if Ctrl-C arrived during the read
            yield block

    monkeypatch.setattr(dl, "_iter_chunks", interrupted)
    with pytest.raises(KeyboardInterrupt):
        data.fetch("isbi2012")
    root = tmp_path / "cache" / "isbi2012_membranes"
    assert dl.interrupted("isbi2012") and not dl.is_present("isbi2012")
    assert not [p for p in root.rglob("*.png")], "no file that looks complete"
    monkeypatch.setattr(dl, "_iter_chunks", original)
    data.fetch("isbi2012", lock_wait=2)  # the lock was released; the .part files resume
    assert dl.is_present("isbi2012") and not list(root.rglob("*.part"))
    assert any(r["range"] for r in fault_server.log), "the second fetch resumed with Range"
