"""``python -m course_lib download NAME... | all``: fetch into the cache with progress, say where, explain failures."""

import os
import subprocess
import sys

import pytest

from course_lib.__main__ import main
from course_lib.config import repo_root
from course_lib.data import download as dl
from course_lib.data.cli import REAL_NAMES, resolve_names

UNREACHABLE = "http://127.0.0.1:9/course-data"  # the discard port: nothing listens, the connection is refused at once


@pytest.fixture
def fresh_cache(monkeypatch, shared_mirror, tmp_path):
    """An empty cache of its own and the shared samples as the mirror; returns the cache folder."""
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(shared_mirror))
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_download_fetches_with_a_progress_bar_and_says_where(fresh_cache, capsys):
    assert main(["download", "isbi2012"]) == 0
    out, err = capsys.readouterr()
    root = fresh_cache / "isbi2012_membranes"
    assert f"isbi2012: ready, 30 samples in {root}" in out
    assert "60 files from mirror" in out and str(fresh_cache) in out.splitlines()[0]
    assert "isbi2012" in err and "60/60" in err, "tqdm counts the files as they arrive"
    assert dl.is_present("isbi2012") and not list(root.rglob("*.part"))
    assert main(["download", "isbi2012"]) == 0  # already cached: nothing is fetched again
    out, err = capsys.readouterr()
    assert "files from mirror" not in out and "ready, 30 samples" in out and "60/60" not in err


def test_verify_refetches_a_changed_file(fresh_cache, capsys):
    assert main(["download", "isbi2012"]) == 0
    victim = fresh_cache / "isbi2012_membranes" / "train" / "label" / "3.png"
    good = victim.read_bytes()
    victim.write_bytes(good[:50] + b"tampered" + good[58:])
    assert main(["download", "isbi2012", "--verify"]) == 0
    assert victim.read_bytes() == good
    assert "ready (verified), 30 samples" in capsys.readouterr().out


def test_all_means_every_real_dataset_once():
    assert resolve_names(["all"]) == list(REAL_NAMES) == ["isbi2012", "camvid", "oxford-pets", "dsb2018", "drive"]
    assert resolve_names(["drive", "all", "drive"]) == ["drive", "isbi2012", "camvid", "oxford-pets", "dsb2018"]
    with pytest.raises(ValueError, match="names contains 'synthetic-streets'.*isbi2012"):
        resolve_names(["synthetic-streets"])


@pytest.mark.parametrize("name", ["imagenet", "synthetic-streets"])
def test_an_unknown_name_is_an_argparse_error_listing_the_valid_names(name, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["download", "drive", name])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"invalid choice: '{name}'" in err and "usage:" in err
    for valid in (*REAL_NAMES, "all"):
        assert repr(valid) in err


def test_offline_all_explains_each_dataset_and_exits_1(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("COURSE_DATA_MIRROR", UNREACHABLE)
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    assert main(["download", "all"]) == 1
    err = capsys.readouterr().err
    for name in REAL_NAMES:
        assert f"{name}: NOT DOWNLOADED" in err
    assert "5 of 5 dataset(s) not downloaded" in err and "COURSE_DATA_MIRROR" in err
    assert "raw.githubusercontent.com/zhixuhao/unet" in err, "the instructions say what to download by hand"
    assert not any(dl.is_present(n) for n in REAL_NAMES)


def test_offline_without_mirror_names_the_official_source(empty_cache, capsys):
    assert main(["download", "oxford-pets"]) == 1
    err = capsys.readouterr().err
    assert "network disabled in tests" in err and "images.tar.gz" in err and str(empty_cache / "oxford_pets") in err


def test_the_data_command_line_fetches_the_same_way(fresh_cache, capsys):
    from course_lib.data.__main__ import main as data_main

    assert data_main(["fetch", "isbi2012"]) == 0
    assert "isbi2012: ready, 30 samples" in capsys.readouterr().out


def test_offline_from_the_shell_exits_1_without_a_traceback(tmp_path):
    env = {**os.environ, "COURSE_DATA_MIRROR": UNREACHABLE, "COURSE_DATA_DIR": str(tmp_path / "cache")}
    run = subprocess.run([sys.executable, "-m", "course_lib", "download", "drive"], cwd=repo_root(), env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr and "drive: NOT DOWNLOADED" in run.stderr
    assert "ConnectionError" in run.stderr and "export COURSE_DATA_MIRROR=" in run.stderr
