"""The entry point: ``load(name, split, **options)``, plus listing and describing the datasets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch.utils.data import Dataset

from ..validation import check_choice
from .registry import DATASETS

__all__ = ["load", "list_datasets", "describe", "LessonData", "CAPSTONE_DATASETS", "capstone_needs", "CapstoneData", "load_capstone"]


@dataclass(frozen=True)
class LessonData:
    """The real datasets a lesson uses: ``required`` ones (else a synthetic stand-in) and ``optional`` extras."""

    required: tuple[str, ...]
    optional: tuple[str, ...] = ()


#: Which capstone lesson uses which real dataset; the notebooks and ``doctor --workshop`` both read this.
CAPSTONE_DATASETS: dict[str, LessonData] = {
    "09_capstone_medical": LessonData(required=("drive",), optional=("isbi2012",)),
    "10_capstone_driving": LessonData(required=("camvid",)),
}


def capstone_needs() -> dict[str, list[tuple[str, bool]]]:
    """{dataset: [(lesson, required?), ...]} for every real dataset a capstone uses, in lesson order."""
    needs: dict[str, list[tuple[str, bool]]] = {}
    for lesson, wanted in CAPSTONE_DATASETS.items():
        for name in wanted.required + wanted.optional:
            needs.setdefault(name, []).append((lesson, name in wanted.required))
    return needs


@dataclass
class CapstoneData:
    """The splits a capstone works on: the real dataset when it can be had, else a seeded synthetic stand-in."""

    name: str  # the dataset actually loaded
    real: bool
    train: Dataset
    val: Dataset
    test: Dataset
    message: str  # one line saying what was loaded (and, for a stand-in, how to get the real data)


def load_capstone(
    name: str,
    standin: str,
    *,
    options: dict[str, Any] | None = None,
    standin_options: dict[str, Any] | None = None,
    standin_sizes: tuple[int, int, int] = (48, 8, 16),
) -> CapstoneData:
    """Train/val/test of real dataset ``name`` (cache, mirror or download); if it cannot be had, of ``standin``.

    Never raises for a missing dataset: the returned ``message`` says in one line how to get the real one
    (``python -m course_lib download NAME``), and the capstone runs the same pipeline on the stand-in.
    """
    from .download import DatasetUnavailableError

    check_choice("name", name, list_datasets(synthetic=False))
    check_choice("standin", standin, list_datasets(synthetic=True))
    try:
        splits = [load(name, split, **(options or {})) for split in ("train", "val", "test")]
        counts = "/".join(str(len(s)) for s in splits)
        return CapstoneData(name, True, *splits, f"Using the real {name!r} dataset: {counts} train/val/test images.")
    except DatasetUnavailableError:
        extra = dict(standin_options or {})
        splits = [load(standin, split, n=n, seed=0, **extra) for split, n in zip(("train", "val", "test"), standin_sizes)]
        message = (f"The real {name!r} dataset is not in the cache and cannot be downloaded here, so this notebook runs "
                   f"the same pipeline on the synthetic stand-in {standin!r}. To use the real data, run once (online, or with "
                   f"COURSE_DATA_MIRROR set): python -m course_lib download {name}")
        return CapstoneData(standin, False, *splits, message)


def load(name: str, split: str = "train", **options: Any) -> Dataset:
    """A Dataset of ``(image, target)`` pairs for dataset ``name`` (see ``describe()`` for names and options).

    ``image`` is float32 C×H×W in [0, 1]; ``target`` is an int64 H×W label map, or with
    ``target="instance"`` a dict of ``boxes`` (float32 N×4 xyxy), ``labels`` (int64 N) and ``masks``
    (uint8 N×H×W). ``transform=f`` applies ``f(image, target) -> (image, target)`` to every sample.
    Real datasets are fetched into the cache on first use (``download=False`` to forbid that).
    """
    if not isinstance(name, str) or name not in DATASETS:
        raise ValueError(f"name={name!r} is not a dataset; valid names: {', '.join(DATASETS)}.")
    info = DATASETS[name]
    unknown = sorted(set(options) - set(info.options))
    if unknown:
        raise ValueError(
            f"load({name!r}) got unknown option(s) {', '.join(unknown)}; options of {name!r} are: "
            f"{', '.join(info.options)}."
        )
    if info.synthetic:
        from .synthetic import SyntheticDataset

        return SyntheticDataset(name, split, **options)
    from .real import REAL_LOADERS

    return REAL_LOADERS[name](name, split, **options)


def list_datasets(kind: str | None = None, synthetic: bool | None = None) -> list[str]:
    """Names of the datasets, optionally only one ``kind`` ('semantic'/'instance') or only (non-)synthetic ones."""
    check_choice("kind", kind, (None, "semantic", "instance"))
    return [
        n for n, info in DATASETS.items()
        if (kind is None or info.kind == kind) and (synthetic is None or info.synthetic == synthetic)
    ]


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def describe(name: str | None = None) -> None:
    """Print a table of all datasets (where each comes from, classes, cached or not), or the details of one."""
    from .download import is_present

    if name is None:
        rows = [["name", "kind", "classes", "ignore", "data", "description"]]
        for n, info in DATASETS.items():
            where = "generated" if info.synthetic else ("cached" if is_present(n) else "not cached")
            ignore = "-" if info.ignore_index is None else str(info.ignore_index)
            rows.append([n, info.kind, str(info.num_classes), ignore, where, info.description])
        print(_table(rows))
        print("\nload(name, split='train', **options) returns a Dataset; describe(name) shows one dataset's options.")
        return
    if name not in DATASETS:
        raise ValueError(f"name={name!r} is not a dataset; valid names: {', '.join(DATASETS)}.")
    info = DATASETS[name]
    print(f"{info.name}: {info.description}")
    print(f"  kind: {info.kind}; targets: {', '.join(info.targets)}; channels: {info.channels}")
    print(f"  classes ({info.num_classes}): " + ", ".join(f"{i} {c}" for i, c in enumerate(info.class_names)))
    print(f"  ignore_index: {info.ignore_index}")
    print(f"  splits: {info.splits}")
    print(f"  options: {', '.join(info.options)}")
    if info.default_size:
        print(f"  default size (H, W): {info.default_size}")
    if not info.synthetic:
        print(f"  cached: {'yes' if is_present(name) else 'no'}; folder: {info.folder}/")
        print(f"  homepage: {info.homepage}\n  source: {info.source}\n  licence: {info.licence}\n  cite: {info.citation}")
    if info.notes:
        print(f"  notes: {info.notes}")
