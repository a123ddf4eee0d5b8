"""Safe unpacking of downloaded archives: every member is checked before anything is written."""

from __future__ import annotations

import os
import re
import shutil
import stat
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

from ..validation import check_int

__all__ = ["UnsafeArchiveError", "safe_extract", "DEFAULT_MAX_BYTES"]

_COPY_BUFFER = 1 << 20  # bytes copied at a time out of a zip member
DEFAULT_MAX_BYTES = 50 * 2**30  # refuse archives that unpack to more than this (50 GiB; the course's largest is ~1 GiB)


class UnsafeArchiveError(ValueError):
    """An archive holds a member that would be written outside the target folder, or unpacks too large."""


def _check_total(archive: Path, total: int, max_bytes: int | None) -> None:
    """Raise UnsafeArchiveError if the members' uncompressed sizes add up to more than ``max_bytes``."""
    if max_bytes is not None and total > max_bytes:
        raise UnsafeArchiveError(
            f"{archive.name} would unpack to {total} bytes, more than max_bytes={max_bytes}; refusing to unpack the "
            f"archive (nothing was written). If you trust it, pass a larger max_bytes."
        )


def _check_link_target(dest: Path, name: str, link: str, base: Path) -> None:
    """Raise UnsafeArchiveError if link ``name`` -> ``link`` (relative to ``base``) leaves ``dest``."""
    clean = link.replace("\\", "/")
    if clean.startswith("/") or re.match(r"^[A-Za-z]:", clean):
        raise UnsafeArchiveError(f"archive link {name!r} -> {link!r} points to an absolute path; refusing.")
    resolved = Path(os.path.normpath(base / clean))
    if resolved != dest and dest not in resolved.parents:
        raise UnsafeArchiveError(f"archive link {name!r} -> {link!r} points outside {dest}; refusing.")


def _member_target(dest: Path, name: str) -> Path:
    """Where a member called ``name`` lands under ``dest``; raises UnsafeArchiveError if outside it."""
    clean = name.replace("\\", "/")
    if clean.startswith("/") or re.match(r"^[A-Za-z]:", clean):
        raise UnsafeArchiveError(f"archive member {name!r} has an absolute path; refusing to unpack the archive.")
    if ".." in PurePosixPath(clean).parts:
        raise UnsafeArchiveError(f"archive member {name!r} climbs out of the target with '..'; refusing to unpack the archive.")
    target = (dest / clean).resolve()
    if target != dest and dest not in target.parents:
        raise UnsafeArchiveError(f"archive member {name!r} would be written outside {dest}; refusing to unpack the archive.")
    return target


def _check_tar_member(dest: Path, member: tarfile.TarInfo) -> None:
    """Raise UnsafeArchiveError if a tar member lands, or links, outside ``dest``, or is a device or pipe."""
    target = _member_target(dest, member.name)
    if member.issym() or member.islnk():
        base = target.parent if member.issym() else dest  # hard links are relative to the archive root
        _check_link_target(dest, member.name, member.linkname, base)
    elif not (member.isfile() or member.isdir()):
        raise UnsafeArchiveError(f"archive member {member.name!r} is a device or pipe; refusing to unpack the archive.")


def _is_zip_symlink(info: zipfile.ZipInfo) -> bool:
    """True if a zip member was stored as a symbolic link (Unix mode in the external attributes)."""
    return stat.S_ISLNK(info.external_attr >> 16)


def _check_zip(zf: zipfile.ZipFile, archive: Path, dest: Path, max_bytes: int | None) -> None:
    """Raise UnsafeArchiveError if any zip member escapes ``dest`` or links outside it, or the total is too big."""
    for info in zf.infolist():
        target = _member_target(dest, info.filename)
        if _is_zip_symlink(info):
            link = zf.read(info).decode("utf-8", errors="replace")
            _check_link_target(dest, info.filename, link, target.parent)
    _check_total(archive, sum(info.file_size for info in zf.infolist()), max_bytes)


def _extract_zip(archive: Path, dest: Path, strip: str, max_bytes: int | None) -> list[Path]:
    """Unpack the members of a zip file under ``strip`` into ``dest`` (all members checked first)."""
    written: list[Path] = []
    with zipfile.ZipFile(archive) as zf:
        _check_zip(zf, archive, dest, max_bytes)
        dest.mkdir(parents=True, exist_ok=True)
        for info in zf.infolist():
            if not info.filename.startswith(strip) or info.filename == strip or _is_zip_symlink(info):
                continue
            target = _member_target(dest, info.filename[len(strip):])
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out, _COPY_BUFFER)
            written.append(target)
    return written


def _extract_tar(archive: Path, dest: Path, strip: str, max_bytes: int | None) -> list[Path]:
    """Unpack the members of a tar file under ``strip`` into ``dest`` (all members checked first)."""
    with tarfile.open(archive) as tf:
        members = tf.getmembers()
        for member in members:
            _check_tar_member(dest, member)
        _check_total(archive, sum(m.size for m in members if m.isfile()), max_bytes)
        dest.mkdir(parents=True, exist_ok=True)
        chosen = []
        for member in members:
            if not member.name.startswith(strip) or member.name.rstrip("/") == strip.rstrip("/"):
                continue
            member.name = member.name[len(strip):]
            if member.islnk() and member.linkname.startswith(strip):
                member.linkname = member.linkname[len(strip):]
            _check_tar_member(dest, member)
            chosen.append(member)
        extra = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        tf.extractall(dest, members=chosen, **extra)
        return [dest / m.name for m in chosen if m.isfile()]


def safe_extract(
    archive: str | Path, dest: str | Path, *, strip: str = "", max_bytes: int | None = DEFAULT_MAX_BYTES
) -> list[Path]:
    """Unpack a .zip or .tar(.gz/.bz2/.xz) into ``dest`` after checking every member; returns the files written.

    Only members whose names start with ``strip`` are unpacked, with that prefix removed. The whole
    archive is refused (:class:`UnsafeArchiveError`, nothing written, ``dest`` not even created) if any
    member has an absolute path, contains ``..``, is a link pointing outside ``dest``, or is a device
    file, or if the members add up to more than ``max_bytes`` uncompressed (None: no limit).
    """
    check_int("max_bytes", max_bytes, minimum=0, allow_none=True)
    archive, dest = Path(archive), Path(dest)
    if not archive.is_file():
        raise ValueError(f"archive={str(archive)!r} is not a file; pass the path of a downloaded .zip or .tar.gz.")
    dest = dest.resolve()
    if zipfile.is_zipfile(archive):
        return _extract_zip(archive, dest, strip, max_bytes)
    if not tarfile.is_tarfile(archive):
        raise ValueError(f"archive={str(archive)!r} is neither a zip nor a tar file; cannot unpack it.")
    return _extract_tar(archive, dest, strip, max_bytes)
