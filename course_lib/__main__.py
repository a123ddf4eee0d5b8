"""Command line: ``python -m course_lib <command>``: the learner commands doctor, download and lab.

The maintainer and instructor commands (build-notebooks, clean-notebooks, grade, make-checkpoints, timings)
live in ``python -m course_tools``; given here, they print the new command on one line and run it there.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

from .config import repo_root

__all__ = ["MOVED_COMMANDS", "main", "add_download_arguments"]

# moved to course_tools: still accepted here, with a one-line note, so old instructions keep working
MOVED_COMMANDS = ("build-notebooks", "clean-notebooks", "grade", "make-checkpoints", "timings")


class _DownloadNames:
    """The names ``download`` accepts (every real dataset, then ``all``), read only when argparse checks one."""

    def _names(self) -> list[str]:
        from .data.cli import REAL_NAMES  # imports torch: not needed by the other commands

        return [*REAL_NAMES, "all"]

    def __contains__(self, name: object) -> bool:
        return name in self._names()

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())


def add_download_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``NAME... | all`` and ``--verify`` to a (sub)parser; argparse refuses unknown names and lists the valid ones."""
    parser.add_argument("names", nargs="+", metavar="NAME", choices=_DownloadNames(),
                        help="real datasets to download: %(choices)s")
    parser.add_argument("--verify", action="store_true", help="re-hash cached files and fetch changed ones again")


def _doctor(args: argparse.Namespace) -> int:
    """``doctor``: the pre-flight check."""
    from .doctor import run_doctor

    return run_doctor(quick=args.quick, workshop=args.workshop)


def _download(args: argparse.Namespace) -> int:
    """``download``: real datasets into the cache."""
    from .data.cli import run_download

    return run_download(args)


def _lab(args: argparse.Namespace) -> int:
    """``lab``: JupyterLab on notebooks/."""
    from .lab import run_lab

    try:
        return run_lab(Path(args.root) / "notebooks")
    except ValueError as exc:
        print(f"lab: {exc}", file=sys.stderr)
        return 2


def _moved_command(argv: list[str]) -> str | None:
    """The moved command ``argv`` asks for (after an optional ``--root DIR``), or None."""
    rest = list(argv)
    while rest and rest[0].startswith("--root"):
        rest = rest[1:] if "=" in rest[0] else rest[2:]
    return rest[0] if rest and rest[0] in MOVED_COMMANDS else None


def _forward(argv: list[str]) -> int:
    """Print the new command on one line (stderr), then run it with ``course_tools``."""
    import shlex

    from course_tools.__main__ import main as tools_main

    print(f"note: this command moved; run: python -m course_tools {shlex.join(argv)}", file=sys.stderr)
    return tools_main(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m course_lib``."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if _moved_command(argv):
        return _forward(argv)
    parser = argparse.ArgumentParser(
        prog="python -m course_lib", description="Learner tools of the image-segmentation course.",
        epilog=f"Maintainer and instructor commands ({', '.join(MOVED_COMMANDS)}) are in `python -m course_tools`; "
        "given here they are forwarded there.")
    parser.add_argument("--root", default=str(repo_root()), help="course repository root (default: %(default)s)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("doctor", help="pre-flight check: versions, device, speed, data cache")
    p.add_argument("--quick", action="store_true", help="skip the timed benchmark")
    p.add_argument("--workshop", action="store_true", help="also report the real datasets the capstone lessons use")
    p.set_defaults(func=_doctor)

    p = sub.add_parser(
        "download", help="download real datasets (verified, resumable) into the cache, e.g. download drive camvid",
        description="Download real datasets into the cache ($COURSE_DATA_DIR), from $COURSE_DATA_MIRROR if set, "
        "else from the official sources: SHA-256 checked, resumable, never a half file.",
    )
    add_download_arguments(p)
    p.set_defaults(func=_download)

    p = sub.add_parser(
        "lab", help="open notebooks/ in JupyterLab (also as root and without a display; prints the URL with its token)",
        description="Start JupyterLab on notebooks/: --allow-root when run as root, --no-browser without a display. "
        "COURSE_LAB_IP and COURSE_LAB_PORT choose the address, e.g. COURSE_LAB_IP=0.0.0.0 in a container.",
    )
    p.set_defaults(func=_lab)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
