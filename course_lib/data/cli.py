"""What ``python -m course_lib download`` (and ``python -m course_lib.data fetch``) does: fetch, report, explain failures."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from ..config import DATA_DIR_ENV, DATA_MIRROR_ENV, data_dir, data_mirror
from .archives import UnsafeArchiveError
from .download import DatasetUnavailableError, DownloadError, fetch
from .layouts import count_samples
from .locking import LockTimeoutError
from .registry import DATASETS

__all__ = ["REAL_NAMES", "resolve_names", "download_datasets", "run_download"]

#: The datasets the downloader can fetch (every real, non-synthetic one), in registry order.
REAL_NAMES: tuple[str, ...] = tuple(name for name, info in DATASETS.items() if not info.synthetic)


def resolve_names(names: list[str]) -> list[str]:
    """The dataset names to fetch, in the order given: ``all`` stands for every real dataset; repeats dropped."""
    chosen: list[str] = []
    for name in names:
        for one in REAL_NAMES if name == "all" else (name,):
            if one not in REAL_NAMES:
                raise ValueError(f"names contains {one!r}, which is not a real dataset; use one of: {', '.join(REAL_NAMES)}, all.")
            if one not in chosen:
                chosen.append(one)
    return chosen


def _fetch_one(name: str, verify: bool, err: TextIO) -> bool:
    """Fetch one dataset and print where it is; on failure print why and what to do. True on success."""
    try:
        root = fetch(name, verify=verify, quiet=False)
    except (DatasetUnavailableError, DownloadError, UnsafeArchiveError, LockTimeoutError) as exc:
        print(f"\n{name}: NOT DOWNLOADED\n{exc}\n", file=err)
        return False
    except OSError as exc:
        print(f"\n{name}: NOT DOWNLOADED: cannot write the cache {data_dir()} ({exc}); set {DATA_DIR_ENV} to a "
              f"folder you can write, e.g. export {DATA_DIR_ENV}=~/course-data\n", file=err)
        return False
    checked = " (verified)" if verify else ""
    print(f"{name}: ready{checked}, {count_samples(name, root)} samples in {root}")
    return True


def download_datasets(names: list[str], *, verify: bool = False, err: TextIO | None = None) -> int:
    """Fetch each dataset into the cache with progress bars; returns 0 if all arrived, 1 otherwise (no traceback)."""
    err = err or sys.stderr
    chosen = resolve_names(names)
    mirror = data_mirror()
    source = f"the mirror {mirror} (${DATA_MIRROR_ENV})" if mirror else "the official sources"
    print(f"Downloading {', '.join(chosen)} from {source} into {data_dir()} (${DATA_DIR_ENV}).", flush=True)
    try:
        failed = [name for name in chosen if not _fetch_one(name, verify, err)]
    except KeyboardInterrupt:
        print("\nInterrupted. Run the same command again: finished files are kept and a partial file resumes.", file=err)
        return 130
    if failed:
        print(f"{len(failed)} of {len(chosen)} dataset(s) not downloaded: {', '.join(failed)} (see above). "
              f"Lessons 00-08 run without them; the capstones fall back to synthetic stand-ins.", file=err)
        return 1
    return 0


def run_download(args: argparse.Namespace) -> int:
    """Run the download command from parsed arguments (``args.names``, ``args.verify``)."""
    return download_datasets(args.names, verify=args.verify)
