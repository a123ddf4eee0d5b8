"""Command line: ``python -m course_lib.data [describe | fetch NAME... | cached | write-registry]``."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run the data command line; returns the exit status."""
    from . import DatasetUnavailableError, cached, describe, fetch
    from .registry import DATASETS, write_registry_json

    parser = argparse.ArgumentParser(prog="python -m course_lib.data", description="Datasets of the course.")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("describe", help="table of all datasets (default)")
    get = sub.add_parser("fetch", help="download real datasets into the cache (uses $COURSE_DATA_MIRROR if set)")
    get.add_argument("names", nargs="+", choices=[n for n, i in DATASETS.items() if not i.synthetic])
    get.add_argument("--verify", action="store_true", help="re-hash cached files and fetch changed ones again")
    sub.add_parser("cached", help="list the real datasets in the cache")
    sub.add_parser("write-registry", help="write datasets/registry.json from course_lib/data/registry.py")
    args = parser.parse_args(argv)
    if args.command in (None, "describe"):
        describe()
    elif args.command == "fetch":
        for name in args.names:
            try:
                print(f"{name}: {fetch(name, verify=args.verify, quiet=False)}")
            except DatasetUnavailableError as err:
                print(err, file=sys.stderr)
                return 1
    elif args.command == "cached":
        for name, path in cached().items():
            print(f"{name}\t{path}")
    else:
        print(f"wrote {write_registry_json()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
