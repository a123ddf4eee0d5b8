"""Where the course keeps its files, and the environment variables that move them."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DATA_DIR_ENV", "DATA_MIRROR_ENV", "CHECKPOINT_DIR_ENV", "data_dir", "data_mirror", "checkpoint_dir", "repo_root"]

DATA_DIR_ENV = "COURSE_DATA_DIR"
DATA_MIRROR_ENV = "COURSE_DATA_MIRROR"
CHECKPOINT_DIR_ENV = "COURSE_CHECKPOINT_DIR"


def repo_root() -> Path:
    """The course repository's root folder (the parent of ``course_lib/``)."""
    return Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """The dataset cache: ``$COURSE_DATA_DIR`` or ``~/.cache/mastering-segmentation/data``."""
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "mastering-segmentation" / "data"


def data_mirror() -> str | None:
    """The download mirror from ``$COURSE_DATA_MIRROR`` (a folder, ``file://`` or ``https://`` URL), or None."""
    value = os.environ.get(DATA_MIRROR_ENV, "").strip()
    return value or None


def checkpoint_dir() -> Path:
    """Where ready-made checkpoints live: ``$COURSE_CHECKPOINT_DIR`` or ``checkpoints/`` in the repository."""
    env = os.environ.get(CHECKPOINT_DIR_ENV)
    if env:
        return Path(env).expanduser()
    return repo_root() / "checkpoints"
