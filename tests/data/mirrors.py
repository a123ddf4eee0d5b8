"""Test helpers shared by the download tests: a small ISBI mirror laid out in a folder, and tar archives to unpack."""

import hashlib
import io
import shutil
import tarfile
from pathlib import Path

__all__ = ["small_mirror", "make_tar"]


def small_mirror(shared_mirror: Path, root: Path, n: int = 2) -> Path:
    """A mirror holding ``n`` ISBI pairs and a MANIFEST.sha256 with their true hashes."""
    lines = []
    for kind in ("image", "label"):
        for i in range(n):
            rel = f"isbi2012_membranes/train/{kind}/{i}.png"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(shared_mirror / rel, root / rel)
            lines.append(f"{hashlib.sha256((root / rel).read_bytes()).hexdigest()}  {rel}")
    (root / "MANIFEST.sha256").write_text("\n".join(lines) + "\n")
    return root


def make_tar(path: Path, members: list[tarfile.TarInfo], payload: bytes = b"hello") -> Path:
    """A .tar.gz at ``path`` holding ``members``; every regular file among them holds ``payload``."""
    with tarfile.open(path, "w:gz") as tf:
        for info in members:
            if info.isfile():
                info.size = len(payload)
                tf.addfile(info, io.BytesIO(payload))
            else:
                tf.addfile(info)
    return path
