"""Command line: ``python -m course_tools <command>`` (build-notebooks, clean-notebooks, grade, make-checkpoints, site, timings)."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from course_lib.config import repo_root

__all__ = ["COMMANDS", "main"]

COMMANDS = ("build-notebooks", "clean-notebooks", "grade", "make-checkpoints", "timings")  # those course_lib still forwards


def _build(args: argparse.Namespace) -> int:
    """``build-notebooks``: write notebooks/ from solutions/, or with ``--check`` report drift."""
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
    """``clean-notebooks``: strip outputs and execution counts in place."""
    from . import authoring

    paths = [Path(p) for p in args.paths] or sorted((Path(args.root) / "solutions").glob("*.ipynb"))
    for path in authoring.clean_in_place(paths):
        print(f"cleaned {path}")
    return 0


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
    """``grade``: run submitted notebooks headless and write the learner × exercise table."""
    from .grading import format_table, grade_folder, write_table

    rows = grade_folder(Path(args.submissions), timeout=args.timeout, jobs=args.jobs)
    if not rows:
        print(f"no gradable notebooks under {args.submissions} (expected <learner>/NN_topic.ipynb).")
        return 1
    write_table(rows, Path(args.out))
    print(format_table(rows))
    print(f"\nwrote {args.out} ({len(rows)} rows)")
    return 0


def _timings(args: argparse.Namespace) -> int:
    """``timings``: each lesson's teaching and exercise minutes from the notebook headers."""
    from .syllabus import format_timings, lesson_plans

    print(format_timings(lesson_plans(Path(args.root) / "solutions")))
    return 0


def _make_checkpoints(args: argparse.Namespace) -> int:
    """``make-checkpoints``: train the named recipes (default: all) and save their checkpoints."""
    from course_lib.models import checkpoint_info
    from course_lib.recipes import RECIPES

    from .checkpoints import make_checkpoint

    names = args.names or sorted(RECIPES)
    unknown = [n for n in names if n not in RECIPES]
    if unknown:
        print(f"unknown recipe(s): {', '.join(unknown)}; choose from: {', '.join(sorted(RECIPES))}")
        return 2
    for name in names:
        print(f"training {name} ...", flush=True)
        path = make_checkpoint(name, args.out, progress=args.progress)
        scores = checkpoint_info(path)["meta"]["scores"]
        print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB): " + ", ".join(f"{k}={v:.3f}" for k, v in scores.items()))
    return 0


def _site(args: argparse.Namespace) -> int:
    """``site``: execute the solution notebooks and write them as an offline HTML book with an index page."""
    from .site import build_site, format_report

    root, out = Path(args.root), Path(args.out)
    try:
        results = build_site(root, out if out.is_absolute() else Path.cwd() / out, args.lessons,
                             execute=not args.no_execute, timeout=args.timeout)
    except ValueError as exc:
        print(exc)
        return 2
    print(format_report(results, out))
    return 1 if any(r.errors for r in results) else 0


def _add_notebook_commands(sub: argparse._SubParsersAction) -> None:
    """The ``build-notebooks`` and ``clean-notebooks`` sub-commands."""
    p = sub.add_parser("build-notebooks", help="write notebooks/ from solutions/")
    p.add_argument("names", nargs="*", help="only these notebooks, e.g. 00_welcome")
    p.add_argument("--check", action="store_true", help="exit 1 if notebooks/ differs from what solutions/ generate")
    p.add_argument("--force", action="store_true", help="overwrite learner notebooks even if they were edited")
    p.set_defaults(func=_build)
    p = sub.add_parser("clean-notebooks", help="strip outputs and execution counts (default: solutions/*.ipynb)")
    p.add_argument("paths", nargs="*")
    p.set_defaults(func=_clean)
    p = sub.add_parser("site", help="execute solutions/ and write an offline HTML book: _site/index.html and one page per lesson")
    p.add_argument("--out", default="_site", help="folder to write (default: %(default)s)")
    p.add_argument("--lessons", nargs="+", default=None, metavar="NAME", help="only these lessons, e.g. 00_welcome (default: all)")
    p.add_argument("--no-execute", action="store_true", help="export the notebooks as they are, without running them (no outputs)")
    p.add_argument("--timeout", type=_seconds, default=900, help="seconds each cell may run (default: %(default)s)")
    p.set_defaults(func=_site)


def _add_class_commands(sub: argparse._SubParsersAction) -> None:
    """The ``grade``, ``timings`` and ``make-checkpoints`` sub-commands."""
    p = sub.add_parser("grade", help="run submitted learner notebooks headless; write a learner × exercise table")
    p.add_argument("submissions", help="folder with one sub-folder per learner holding NN_topic.ipynb files")
    p.add_argument("--out", default="grades.csv", help="CSV file to write (default: %(default)s)")
    p.add_argument("--jobs", type=_at_least_one, default=None,
                   help="notebooks run at once, each kernel on its share of the cores (default: one per core)")
    p.add_argument("--timeout", type=_seconds, default=900,
                   help="seconds each notebook may run; a longer one is an error row (default: %(default)s)")
    p.set_defaults(func=_grade)
    p = sub.add_parser("timings", help="print each lesson's teaching and exercise minutes, read from the notebook headers")
    p.set_defaults(func=_timings)
    p = sub.add_parser("make-checkpoints", help="train the lessons' recipes and save ready-made checkpoints")
    p.add_argument("names", nargs="*", help="only these recipes, e.g. unet-lesions (default: all)")
    p.add_argument("--out", default=None, help="folder to write (default: checkpoints/ or $COURSE_CHECKPOINT_DIR)")
    p.add_argument("--progress", action="store_true", help="show tqdm progress bars")
    p.set_defaults(func=_make_checkpoints)


def main(argv: list[str] | None = None, prog: str = "python -m course_tools") -> int:
    """Entry point of ``python -m course_tools`` (and of the ``course-tools`` script)."""
    parser = argparse.ArgumentParser(prog=prog, description="Maintainer and instructor tools of the image-segmentation course.")
    parser.add_argument("--root", default=str(repo_root()), help="course repository root (default: %(default)s)")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_notebook_commands(sub)
    _add_class_commands(sub)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
