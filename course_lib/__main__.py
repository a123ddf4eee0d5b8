"""Command line: ``python -m course_lib <command>`` (build-notebooks, clean-notebooks, doctor, download, grade, lab, make-checkpoints)."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Iterator
from pathlib import Path

from .config import repo_root

__all__ = ["main", "add_download_arguments"]


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


def _build(args: argparse.Namespace) -> int:
    from . import authoring

    root = Path(args.root)
    solutions, notebooks = root / "solutions", root / "notebooks"
    if args.check:
        problems = authoring.check_notebooks(solutions, notebooks)
        for p in problems:
            print(f"DRIFT {p}")
        if problems:
            print(f"build-notebooks --check: {len(problems)} problem(s).")
            return 1
        print(f"build-notebooks --check: notebooks/ matches solutions/ ({len(list(solutions.glob('*.ipynb')))} notebooks).")
        return 0
    report = authoring.build_notebooks(solutions, notebooks, args.names or None, force=args.force)
    for path in report.written:
        print(f"wrote     {path}")
    for path in report.unchanged:
        print(f"unchanged {path}")
    for path in report.refused:
        print(f"KEPT      {path}: it has edits of yours; pass --force to overwrite it (copy your work elsewhere first).")
    return 1 if report.refused else 0


def _clean(args: argparse.Namespace) -> int:
    from . import authoring

    paths = [Path(p) for p in args.paths] or sorted((Path(args.root) / "solutions").glob("*.ipynb"))
    for path in authoring.clean_in_place(paths):
        print(f"cleaned {path}")
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from .doctor import run_doctor

    return run_doctor(quick=args.quick, workshop=args.workshop)


def _download(args: argparse.Namespace) -> int:
    from .data.cli import run_download

    return run_download(args)


def _at_least_one(text: str) -> int:
    """argparse type of ``--jobs``: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 1; e.g. --jobs 2 runs two notebooks at once")
    return value


def _seconds(text: str) -> float:
    """argparse type of ``--timeout``: a number of seconds > 0."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds > 0; e.g. --timeout 900 gives each notebook 15 minutes")
    return value


def _grade(args: argparse.Namespace) -> int:
    from .grading import format_table, grade_folder, write_table

    rows = grade_folder(Path(args.submissions), timeout=args.timeout, jobs=args.jobs)
    if not rows:
        print(f"no gradable notebooks under {args.submissions} (expected <learner>/NN_topic.ipynb).")
        return 1
    write_table(rows, Path(args.out))
    print(format_table(rows))
    print(f"\nwrote {args.out} ({len(rows)} rows)")
    return 0


def _lab(args: argparse.Namespace) -> int:
    from .lab import run_lab

    try:
        return run_lab(Path(args.root) / "notebooks")
    except ValueError as exc:
        print(f"lab: {exc}", file=sys.stderr)
        return 2


def _timings(args: argparse.Namespace) -> int:
    from .syllabus import format_timings, lesson_plans

    print(format_timings(lesson_plans(Path(args.root) / "solutions")))
    return 0


def _make_checkpoints(args: argparse.Namespace) -> int:
    from .recipes import RECIPES, make_checkpoint

    names = args.names or sorted(RECIPES)
    unknown = [n for n in names if n not in RECIPES]
    if unknown:
        print(f"unknown recipe(s): {', '.join(unknown)}; choose from: {', '.join(sorted(RECIPES))}")
        return 2
    for name in names:
        print(f"training {name} ...", flush=True)
        path = make_checkpoint(name, args.out, progress=args.progress)
        from .models import checkpoint_info

        scores = checkpoint_info(path)["meta"]["scores"]
        print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB): " + ", ".join(f"{k}={v:.3f}" for k, v in scores.items()))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m course_lib``."""
    parser = argparse.ArgumentParser(prog="python -m course_lib", description="Tools of the image-segmentation course.")
    parser.add_argument("--root", default=str(repo_root()), help="course repository root (default: %(default)s)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("build-notebooks", help="write notebooks/ from solutions/")
    p.add_argument("names", nargs="*", help="only these notebooks, e.g. 00_welcome")
    p.add_argument("--check", action="store_true", help="exit 1 if notebooks/ differs from what solutions/ generate")
    p.add_argument("--force", action="store_true", help="overwrite learner notebooks even if they were edited")
    p.set_defaults(func=_build)

    p = sub.add_parser("clean-notebooks", help="strip outputs and execution counts (default: solutions/*.ipynb)")
    p.add_argument("paths", nargs="*")
    p.set_defaults(func=_clean)

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

    p = sub.add_parser("grade", help="run submitted learner notebooks headless; write a learner × exercise table")
    p.add_argument("submissions", help="folder with one sub-folder per learner holding NN_topic.ipynb files")
    p.add_argument("--out", default="grades.csv", help="CSV file to write (default: %(default)s)")
    p.add_argument("--jobs", type=_at_least_one, default=None,
                   help="notebooks run at once, each kernel on its share of the cores (default: one per core)")
    p.add_argument("--timeout", type=_seconds, default=900,
                   help="seconds each notebook may run; a longer one is an error row (default: %(default)s)")
    p.set_defaults(func=_grade)

    p = sub.add_parser(
        "lab", help="open notebooks/ in JupyterLab (also as root and without a display; prints the URL with its token)",
        description="Start JupyterLab on notebooks/: --allow-root when run as root, --no-browser without a display. "
        "COURSE_LAB_IP and COURSE_LAB_PORT choose the address, e.g. COURSE_LAB_IP=0.0.0.0 in a container.",
    )
    p.set_defaults(func=_lab)

    p = sub.add_parser("timings", help="print each lesson's teaching and exercise minutes, read from the notebook headers")
    p.set_defaults(func=_timings)

    p = sub.add_parser("make-checkpoints", help="train the lessons' recipes and save ready-made checkpoints")
    p.add_argument("names", nargs="*", help="only these recipes, e.g. unet-lesions (default: all)")
    p.add_argument("--out", default=None, help="folder to write (default: checkpoints/ or $COURSE_CHECKPOINT_DIR)")
    p.add_argument("--progress", action="store_true", help="show tqdm progress bars")
    p.set_defaults(func=_make_checkpoints)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
