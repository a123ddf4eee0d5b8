"""Test helper shared by the download tests: a small ISBI mirror laid out in a folder."""

import hashlib
import shutil
from pathlib import Path

__all__ = ["small_mirror"]


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
