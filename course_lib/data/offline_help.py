"""What to tell a learner whose dataset could not be fetched: what to download, from where, and where to put it."""

from __future__ import annotations

from ..config import DATA_MIRROR_ENV, data_dir
from .registry import DATASETS, DOWNLOADS

__all__ = ["instructions"]


def instructions(name: str, reason: BaseException | str | None = None) -> str:
    """What to download, from where, and where to put it, to get dataset ``name`` without this downloader."""
    info = DATASETS.get(name)
    if info is None or info.synthetic:
        real = ", ".join(n for n, i in DATASETS.items() if not i.synthetic)
        raise ValueError(f"name={name!r} is not a downloadable dataset; use one of: {real}.")
    root = data_dir() / info.folder
    lines = []
    if reason is not None:
        lines.append(f"Dataset {name!r} is not in the cache and could not be fetched ({type(reason).__name__}: {reason}).")
    else:
        lines.append(f"Dataset {name!r} is not in the cache ({root}).")
    lines.append("To get it, do one of these:")
    downloads = DOWNLOADS[name]
    if any(d.archive for d in downloads):
        lines.append("  1. On a machine with internet, download:")
        for d in downloads:
            size = f" ({d.size})" if d.size else ""
            lines.append(f"       {d.url}{size}")
            where = root / d.dest if d.dest else root
            inner = f"the contents of its {d.strip!r} folder" if d.strip else "its contents"
            lines.append(f"     unpack it and put {inner} into {where}/")
    else:
        first = downloads[0].url.rsplit("/", 2)[0] + "/"
        lines.append(f"  1. On a machine with internet, download the {len(downloads)} files under")
        lines.append(f"       {first}")
        lines.append(f"     keeping their layout, into {root}/ (e.g. {downloads[0].dest}).")
    lines.append(
        f"  2. Or set the environment variable {DATA_MIRROR_ENV} to a folder (or file:// URL) laid out like the "
        f"course's shared/data, i.e. holding {info.folder}/ in the original layout, e.g.\n"
        f"       export {DATA_MIRROR_ENV}=/path/to/shared/data\n"
        f"     and run this again; the files are copied from there."
    )
    lines.append(f"Source: {info.source}. Homepage: {info.homepage}. Licence: {info.licence}.")
    return "\n".join(lines)
