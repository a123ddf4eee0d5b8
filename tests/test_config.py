from pathlib import Path

from course_lib import config


def test_data_dir_default_and_override(monkeypatch, tmp_path):
    monkeypatch.delenv(config.DATA_DIR_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert config.data_dir() == tmp_path / "mastering-segmentation" / "data"
    monkeypatch.setenv(config.DATA_DIR_ENV, str(tmp_path / "x"))
    assert config.data_dir() == tmp_path / "x"


def test_mirror(monkeypatch):
    monkeypatch.setenv(config.DATA_MIRROR_ENV, "  ")
    assert config.data_mirror() is None
    monkeypatch.setenv(config.DATA_MIRROR_ENV, "file:///data")
    assert config.data_mirror() == "file:///data"


def test_repo_root_holds_the_package():
    assert (config.repo_root() / "course_lib" / "config.py").is_file()
    assert isinstance(config.checkpoint_dir(), Path)
