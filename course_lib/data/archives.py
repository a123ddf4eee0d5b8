"""Safe unpacking of downloaded archives: every member is checked before anything is written."""

from __future__ import annotations

import os
import re
import shutil
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

__all__ = ["UnsafeArchiveError", "safe_extract"]

_COPY_BUFFER = 1 << 20  # bytes copied at a time out of a zip member


class UnsafeArchiveError(ValueError):
    """An archive holds a member that would be written outside the target folder."""


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
        link = member.linkname.replace("\\", "/")
        if link.startswith("/") or re.match(r"^[A-Za-z]:", link):
            raise UnsafeArchiveError(f"archive link {member.name!r} -> {member.linkname!r} points to an absolute path; refusing.")
        base = target.parent if member.issym() else dest  # hard links are relative to the archive root
        resolved = Path(os.path.normpath(base / link))
        if resolved != dest and dest not in resolved.parents:
            raise UnsafeArchiveError(f"archive link {member.name!r} -> {member.linkname!r} points outside {dest}; refusing.")
    elif not (member.isfile() or member.isdir()):
        raise UnsafeArchiveError(f"archive member {member.name!r} is a device or pipe; refusing to unpack the archive.")


def _extract_zip(archive: Path, dest: Path, strip: str) -> list[Path]:
    """Unpack the members of a zip file under ``strip`` into ``dest`` (all names checked first)."""
    written: list[Path] = []
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        for info in infos:  # check everything first
            _member_target(dest, info.filename)
        for info in infos:
            if not info.filename.startswith(strip) or info.filename == strip:
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


def _extract_tar(archive: Path, dest: Path, strip: str) -> list[Path]:
    """Unpack the members of a tar file under ``strip`` into ``dest`` (all members checked first)."""
    with tarfile.open(archive) as tf:
        members = tf.getmembers()
        for member in members:
            _check_tar_member(dest, member)
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


def safe_extract(archive: str | Path, dest: str | Path, *, strip: str = "") -> list[Path]:
    """Unpack a .zip or .tar(.gz/.bz2/.xz) into ``dest`` after checking every member; returns the files written.

    Only members whose names start with ``strip`` are unpacked, with that prefix removed. The whole
    archive is refused (:class:`UnsafeArchiveError`, nothing written) if any member has an absolute
    path, contains ``..``, is a link pointing outside ``dest``, or is a device file.
    """
    archive, dest = Path(archive), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    dest = dest.resolve()
    if zipfile.is_zipfile(archive):
        return _extract_zip(archive, dest, strip)
    if not tarfile.is_tarfile(archive):
        raise ValueError(f"archive={str(archive)!r} is neither a zip nor a tar file; cannot unpack it.")
    return _extract_tar(archive, dest, strip)
