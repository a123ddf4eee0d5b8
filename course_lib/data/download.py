"""The one downloader for real datasets: cache, mirror, SHA-256 checks, atomic writes, resume, safe unpacking.

How a dataset gets into the cache (``course_lib.config.data_dir()``, i.e. ``$COURSE_DATA_DIR``):

* with ``$COURSE_DATA_MIRROR`` set (a folder, ``file://`` or ``http(s)://`` URL laid out like the
  course's ``shared/data``: one folder per dataset, original layout inside), every file of the
  dataset's folder is copied from the mirror, checked against ``MANIFEST.sha256`` when the mirror
  has one. The network is never used then.
* otherwise the official downloads listed in :data:`course_lib.data.registry.DOWNLOADS` are fetched
  and archives unpacked (checked member by member, :func:`course_lib.data.archives.safe_extract`).

Each file is fetched by :func:`pooch.retrieve` (hash check, then an atomic rename into place) with
a downloader written here that resumes an interrupted transfer from a ``.part`` file (with a
``Range`` request; a server that ignores it is restarted from byte 0). HTTP 5xx answers and transfers
cut off mid-file are retried (:data:`TRIES` in all, short backoff); a 404 is final; a server that
sends nothing for ``timeout`` seconds raises TimeoutError. :func:`fetch` holds a lock file per dataset
(:func:`lock_path`, :mod:`course_lib.data.locking`) so two processes never fill one folder at once. With
``quiet=False`` (``load()`` and ``python -m course_lib download``) a tqdm bar counts the files, or the
bytes of a large archive.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import TypeVar
from urllib.parse import quote, unquote, urlparse
from urllib.request import url2pathname

from ..config import DATA_MIRROR_ENV, data_dir, data_mirror
from ..validation import check_int, check_positive
from .archives import UnsafeArchiveError, safe_extract
from .http_faults import IncompleteTransferError, http_error, is_timeout, is_transient, stall_message
from .layouts import count_samples
from .offline_help import instructions
from .locking import LockTimeoutError, file_lock
from .registry import DATASETS, DOWNLOADS

__all__ = [
    "DatasetUnavailableError",
    "DownloadError",
    "UnsafeArchiveError",
    "IncompleteTransferError",
    "LockTimeoutError",
    "CHUNK_SIZE",
    "TRIES",
    "BACKOFF_SECONDS",
    "LOCK_WAIT_SECONDS",
    "lock_path",
    "download_file",
    "safe_extract",
    "mirror_listing",
    "dataset_root",
    "fetch",
    "is_present",
    "interrupted",
    "cached",
    "instructions",
    "sha256sum",
]

CHUNK_SIZE = 1 << 20  # bytes read and written at a time
TRIES = 3  # tries in all for an HTTP 5xx answer or a transfer cut off mid-file
BACKOFF_SECONDS = 0.25  # wait before the 2nd try; doubled before each further one
LOCK_WAIT_SECONDS = 3 * 3600.0  # how long fetch() waits for another process fetching the same dataset
_COMPLETE = ".course_complete.json"  # written into a dataset folder once every file is in place
_INCOMPLETE = ".course_incomplete"  # present while a fetch is running or after one was interrupted
_T = TypeVar("_T")


class DatasetUnavailableError(RuntimeError):
    """A real dataset is not in the cache and cannot be fetched; the message says how to get it."""


class DownloadError(RuntimeError):
    """A file was fetched but is not what it should be (e.g. its SHA-256 does not match)."""


def sha256sum(path: str | Path) -> str:
    """The hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK_SIZE), b""):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------------
# reading from a URL, a file:// URL or a plain path, from a byte offset
# --------------------------------------------------------------------------------------------------
def _local_path(url: str) -> Path | None:
    """The local path behind a plain path or ``file://`` URL, or None for a network URL."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return Path(url2pathname(unquote(parsed.path)))
    if parsed.scheme == "" or (len(parsed.scheme) == 1 and os.name == "nt"):  # "C:\..." on Windows
        return Path(url)
    return None


def _join(base: str, rel: str) -> str:
    """Append a relative POSIX path to a folder path or URL."""
    local = _local_path(base)
    if local is not None:
        return str(local.joinpath(*PurePosixPath(rel).parts))
    return base.rstrip("/") + "/" + quote(rel)


def _iter_chunks(stream) -> Iterator[bytes]:
    """Yield the blocks of an open binary stream (a file, or ``requests``' raw response)."""
    if hasattr(stream, "iter_content"):
        yield from stream.iter_content(CHUNK_SIZE)
        return
    for block in iter(lambda: stream.read(CHUNK_SIZE), b""):
        yield block


@contextmanager
def _open_source(url: str, start: int, timeout: float) -> Iterator[tuple[Iterator[bytes], int, int | None]]:
    """Open ``url`` at byte ``start``; yields (blocks, offset actually used, total size or None)."""
    local = _local_path(url)
    if local is not None:
        total = local.stat().st_size  # FileNotFoundError if the mirror lacks it
        offset = start if 0 < start <= total else 0
        with open(local, "rb") as f:
            f.seek(offset)
            yield _iter_chunks(f), offset, total
        return
    import requests

    headers = {"Range": f"bytes={start}-"} if start else {}
    response = requests.get(url, headers=headers, stream=True, timeout=timeout)
    try:
        if start and response.status_code == 416:  # range not satisfiable: start again from the beginning
            response.close()
            response = requests.get(url, stream=True, timeout=timeout)
        if response.status_code >= 400:
            raise http_error(response, url)
        offset = start if (start and response.status_code == 206) else 0  # 200 = the server ignored Range
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length and length.isdigit() else None
        yield _iter_chunks(response), offset, total
    finally:
        response.close()


class _ResumableDownloader:
    """A pooch downloader that appends to ``<dest>.part`` so an interrupted transfer can resume."""

    def __init__(self, part: Path, progress: bool = False, timeout: float = 60.0) -> None:
        self.part = part
        self.progress = progress
        self.timeout = timeout
        self.resumed_from = 0

    def _write(self, blocks: Iterator[bytes], offset: int, total: int | None) -> int:
        """Write ``blocks`` to the ``.part`` file (appending after ``offset``); returns its final size."""
        bar = None
        if self.progress and total and total > 20 * CHUNK_SIZE:
            from tqdm.auto import tqdm

            bar = tqdm(total=total, initial=offset, unit="B", unit_scale=True, desc=self.part.name[:-5])
        with open(self.part, "ab" if offset else "wb") as f:  # "wb": a fresh start never appends to old bytes
            for block in blocks:
                f.write(block)
                f.flush()  # what arrived is on disk even if the process is killed: the next call resumes from it
                if bar is not None:
                    bar.update(len(block))
            os.fsync(f.fileno())
        if bar is not None:
            bar.close()
        return self.part.stat().st_size

    def __call__(self, url: str, output_file: str, pooch: object = None, check_only: bool = False) -> None:
        start = self.part.stat().st_size if self.part.exists() else 0
        try:
            with _open_source(url, start, self.timeout) as (blocks, offset, total):
                self.resumed_from = offset
                size = self._write(blocks, offset, total)
        except Exception as err:
            if is_timeout(err):
                raise TimeoutError(stall_message(url, self.timeout, self.part.name)) from None
            raise
        if total is not None and size != total:
            raise IncompleteTransferError(f"{url}: the connection ended after {size} of {total} bytes.")
        os.replace(self.part, output_file)  # pooch checks the hash of output_file, then renames it into place


_quiet_lock = threading.Lock()
_quiet_depth = 0
_quiet_saved = 0


@contextmanager
def _quiet_pooch() -> Iterator[None]:
    """Silence pooch's INFO messages (one per file) while downloads run, also from several threads."""
    import pooch

    global _quiet_depth, _quiet_saved
    logger = pooch.get_logger()
    with _quiet_lock:
        if _quiet_depth == 0:
            _quiet_saved = logger.level
            logger.setLevel("WARNING")
        _quiet_depth += 1
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_depth -= 1
            if _quiet_depth == 0:
                logger.setLevel(_quiet_saved)


def _hash_message(url: str, known_hash: str | None, dest: Path, err: Exception) -> str:
    """The error text for a download whose hash does not match."""
    return (
        f"{url} was downloaded but its hash does not match the expected {known_hash}; the file was discarded "
        f"(no {dest.name} and no {dest.name}.part kept). The source may be corrupt or changed: run the download "
        f"again later, or set {DATA_MIRROR_ENV} to a trusted copy of the data. ({err})"
    )


def download_file(
    url: str,
    dest: str | Path,
    known_hash: str | None = None,
    *,
    progress: bool = False,
    timeout: float = 60.0,
    tries: int = TRIES,
) -> Path:
    """Fetch ``url`` to ``dest`` unless a file with the right hash is there; verify, then rename into place.

    ``known_hash`` is ``"sha256:<hex>"``, ``"md5:<hex>"`` or a bare SHA-256, or None (no check). A
    file already at ``dest`` whose hash does not match is fetched again. An interrupted transfer
    leaves only ``<dest>.part``, never ``dest``; the next call resumes from it. ``timeout`` is the
    most seconds to wait for the server to connect or send more (a stall raises TimeoutError, no retry).
    HTTP 5xx answers and transfers cut off mid-file are tried up to ``tries`` times in all, resuming,
    with a short backoff.
    """
    import pooch

    check_positive("timeout", timeout)
    check_int("tries", tries, minimum=1, maximum=10)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    restarted, failures = False, 0
    while True:
        downloader = _ResumableDownloader(part, progress=progress, timeout=timeout)
        try:
            with _quiet_pooch():
                pooch.retrieve(url, known_hash=known_hash, fname=dest.name, path=dest.parent, downloader=downloader)
            return dest
        except ValueError as err:  # pooch: hash mismatch (the bad download, our .part, is already deleted)
            if downloader.resumed_from and not restarted:
                restarted = True  # the resumed .part may have been stale: try once from the beginning
                continue
            part.unlink(missing_ok=True)
            raise DownloadError(_hash_message(url, known_hash, dest, err)) from None
        except Exception as err:
            failures += 1
            if not is_transient(err) or failures >= tries:
                raise
            time.sleep(BACKOFF_SECONDS * 2 ** (failures - 1))


# --------------------------------------------------------------------------------------------------
# the cache, the mirror, and fetching a whole dataset
# --------------------------------------------------------------------------------------------------
def _real_info(name: str):
    info = DATASETS.get(name)
    if info is None:
        raise ValueError(f"name={name!r} is not a dataset; valid names: {', '.join(DATASETS)}.")
    if info.synthetic:
        raise ValueError(f"{name!r} is generated by the course, not downloaded; use course_lib.data.load({name!r}).")
    return info


def dataset_root(name: str) -> Path:
    """The cache folder of a real dataset: ``data_dir() / <folder>`` (original layout inside)."""
    return data_dir() / _real_info(name).folder


def _read_text(url: str, timeout: float = 30.0) -> str | None:
    """The text at a path or URL, or None if it does not exist there."""
    local = _local_path(url)
    if local is not None:
        return local.read_text(encoding="utf-8") if local.is_file() else None
    import requests

    response = requests.get(url, timeout=timeout)
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return response.text


def mirror_listing(mirror: str, folder: str) -> list[tuple[str, str | None]]:
    """(path inside ``folder``, known hash or None) for every file the mirror holds for a dataset folder.

    Uses ``MANIFEST.sha256`` at the mirror root when it lists the folder; otherwise lists a local
    mirror folder (no hashes then). Raises DatasetUnavailableError if the mirror has nothing.
    """
    manifest = _read_text(_join(mirror, "MANIFEST.sha256"))
    entries: list[tuple[str, str | None]] = []
    if manifest:
        for line in manifest.splitlines():
            parts = line.strip().split(maxsplit=1)
            if len(parts) != 2 or line.startswith("#"):
                continue
            digest, path = parts[0], parts[1].lstrip("*").strip()
            if path.startswith(folder + "/"):
                entries.append((path[len(folder) + 1:], "sha256:" + digest.lower()))
    if not entries:
        local = _local_path(mirror)
        if local is not None and (local / folder).is_dir():
            for p in sorted((local / folder).rglob("*")):
                rel = p.relative_to(local / folder).as_posix()
                if p.is_file() and not any(part.startswith(".") for part in PurePosixPath(rel).parts) and not rel.endswith(".part"):
                    entries.append((rel, None))
    if not entries:
        raise DatasetUnavailableError(
            f"The data mirror {mirror!r} (from ${DATA_MIRROR_ENV}) has no files for folder {folder}/: neither its "
            f"MANIFEST.sha256 nor a {folder}/ folder lists any. Put the dataset there in its original layout, "
            f"or unset {DATA_MIRROR_ENV} to download from the official source."
        )
    for rel, _ in entries:
        if ".." in PurePosixPath(rel).parts or rel.startswith("/"):
            raise UnsafeArchiveError(f"mirror entry {folder}/{rel!r} escapes the dataset folder; refusing it.")
    return entries


def is_present(name: str) -> bool:
    """True if the dataset is in the cache: its folder holds samples and no fetch was left unfinished."""
    root = dataset_root(name)
    return root.is_dir() and not interrupted(name) and count_samples(name, root) > 0


def interrupted(name: str) -> bool:
    """True if a fetch of ``name`` started and did not finish (running it again resumes)."""
    return (dataset_root(name) / _INCOMPLETE).exists()


def cached() -> dict[str, Path]:
    """The real datasets present in the cache, as {name: folder}."""
    return {name: dataset_root(name) for name, info in DATASETS.items() if not info.synthetic and is_present(name)}


def _counting(items: Iterable[_T], total: int, desc: str, show: bool) -> Iterable[_T]:
    """``items`` as they are, or wrapped in a tqdm bar that counts files when ``show`` is true."""
    if not show:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, total=total, desc=desc, unit="file")


def _fetch_from_mirror(name: str, mirror: str, root: Path, quiet: bool) -> dict[str, str]:
    folder = _real_info(name).folder
    entries = mirror_listing(mirror, folder)

    def one(entry: tuple[str, str | None]) -> tuple[str, str]:
        rel, known = entry
        target = download_file(_join(mirror, f"{folder}/{rel}"), root.joinpath(*PurePosixPath(rel).parts), known)
        return rel, known.split(":", 1)[1] if known and known.startswith("sha256:") else sha256sum(target)

    with _quiet_pooch(), ThreadPoolExecutor(max_workers=4) as pool:  # many small files: overlap the waiting
        return dict(_counting(pool.map(one, entries), len(entries), name, not quiet))


def _fetch_official(name: str, root: Path, quiet: bool) -> dict[str, str]:
    hashes = {}
    downloads_dir = data_dir() / "_downloads"
    items = DOWNLOADS[name]
    for item in _counting(items, len(items), name, not quiet and not any(d.archive for d in items)):  # archives: a bytes bar
        if not item.archive:
            target = download_file(item.url, root.joinpath(*PurePosixPath(item.dest).parts), item.known_hash)
            hashes[item.dest] = sha256sum(target)
            continue
        if not quiet:
            print(f"Downloading {item.url} ({item.size or 'size unknown'}) ...")
        archive = download_file(item.url, downloads_dir / item.filename, item.known_hash, progress=not quiet)
        unpack_to = root / item.dest
        staging = Path(tempfile.mkdtemp(prefix=f"unpack-{name}-", dir=downloads_dir))
        try:
            safe_extract(archive, staging, strip=item.strip)
            for path in sorted(staging.rglob("*")):
                if path.is_file() and not path.is_symlink():
                    rel = path.relative_to(staging)
                    final = unpack_to / rel
                    final.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(path, final)  # atomic per file: never a half file under the dataset folder
                    hashes[(Path(item.dest) / rel).as_posix()] = sha256sum(final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        archive.unlink(missing_ok=True)  # the unpacked files are what the course reads
    return hashes


def _verify(root: Path) -> bool:
    """Re-hash the files recorded at fetch time; delete those that changed. True if all were intact.

    A folder filled by hand (no record) has nothing to check against and counts as intact.
    """
    marker = root / _COMPLETE
    if not marker.exists():
        return True
    recorded = json.loads(marker.read_text(encoding="utf-8")).get("files", {})
    intact = True
    for rel, digest in recorded.items():
        path = root.joinpath(*PurePosixPath(rel).parts)
        if not path.is_file() or sha256sum(path) != digest:
            path.unlink(missing_ok=True)
            intact = False
    return intact


def lock_path(name: str) -> Path:
    """The lock file that :func:`fetch` holds while it fills dataset ``name``'s cache folder."""
    return data_dir() / ".locks" / f"{_real_info(name).folder}.lock"


def fetch(name: str, *, verify: bool = False, quiet: bool = True, lock_wait: float = LOCK_WAIT_SECONDS) -> Path:
    """Make sure real dataset ``name`` is in the cache (from the mirror or the official source); returns its folder.

    With ``verify=True`` the cached files are re-hashed and any that changed are fetched again.
    Raises DatasetUnavailableError, with instructions, when the data cannot be reached. Another
    process fetching the same dataset is waited for (up to ``lock_wait`` s; then LockTimeoutError).
    """
    root = dataset_root(name)
    if is_present(name) and not verify:
        return root
    with file_lock(lock_path(name), wait=lock_wait):
        if is_present(name) and (not verify or _verify(root)):  # maybe another process just fetched it
            return root
        return _fetch_locked(name, root, quiet)


def _fetch_locked(name: str, root: Path, quiet: bool) -> Path:
    """Fill ``root`` from the mirror or the official source (the caller holds the dataset's lock)."""
    import requests

    mirror = data_mirror()
    root.mkdir(parents=True, exist_ok=True)
    (root / _INCOMPLETE).touch()
    started = time.time()
    try:
        if mirror:
            hashes = _fetch_from_mirror(name, mirror, root, quiet)
            source = f"mirror {mirror}"
        else:
            hashes = _fetch_official(name, root, quiet)
            source = "official downloads"
    except DatasetUnavailableError as err:
        raise DatasetUnavailableError(f"{err}\n{instructions(name)}") from None
    except (OSError, requests.RequestException) as err:
        raise DatasetUnavailableError(instructions(name, reason=err)) from err
    if count_samples(name, root) == 0:
        raise DatasetUnavailableError(instructions(name, reason=f"no usable samples found in {root} after fetching from {source}"))
    record = {"dataset": name, "source": source, "fetched": time.strftime("%Y-%m-%d %H:%M:%S"), "files": hashes}
    marker = root / _COMPLETE
    tmp = marker.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=1), encoding="utf-8")
    os.replace(tmp, marker)
    (root / _INCOMPLETE).unlink(missing_ok=True)
    if not quiet:
        print(f"{name}: {len(hashes)} files from {source} in {time.time() - started:.1f} s -> {root}")
    return root
