"""Command line: ``python -m course_lib.data [describe | fetch NAME... | all | cached | write-registry]``."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run the data command line; returns the exit status."""
    from . import cached, describe
    from ..__main__ import add_download_arguments
    from .cli import run_download
    from .registry import write_registry_json

    parser = argparse.ArgumentParser(prog="python -m course_lib.data", description="Datasets of the course.")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("describe", help="table of all datasets (default)")
    get = sub.add_parser("fetch", help="download real datasets into the cache (same as python -m course_lib download)")
    add_download_arguments(get)
    sub.add_parser("cached", help="list the real datasets in the cache")
    sub.add_parser("write-registry", help="write datasets/registry.json from course_lib/data/registry.py")
    args = parser.parse_args(argv)
    if args.command in (None, "describe"):
        describe()
    elif args.command == "fetch":
        return run_download(args)
    elif args.command == "cached":
        for name, path in cached().items():
            print(f"{name}\t{path}")
    else:
        print(f"wrote {write_registry_json()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
