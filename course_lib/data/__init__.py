"""Datasets of the course: seeded synthetic ones that work offline, and real ones through one downloader.

>>> from course_lib import data
>>> data.describe()                                   # what there is
>>> train = data.load("synthetic-streets", "train", n=500, seed=0)
>>> image, target = train[0]                           # float32 3×H×W in [0, 1], int64 H×W
>>> pets = data.load("oxford-pets", "train", size=128)  # fetched into the cache on first use
"""

from __future__ import annotations

from .base import SPLITS, SegmentationDataset, as_tensors
from .catalog import CAPSTONE_DATASETS, CapstoneData, LessonData, describe, list_datasets, load, load_capstone
from .download import (
    DatasetUnavailableError,
    DownloadError,
    UnsafeArchiveError,
    cached,
    dataset_root,
    download_file,
    fetch,
    instructions,
    safe_extract,
)
from .registry import CAMVID_CLASSES, DATASETS, DatasetInfo
from .targets import (
    TARGET_TYPES,
    boundary_from_ids,
    boxes_from_masks,
    ids_from_instances,
    instances_from_ids,
    semantic_from_ids,
)

__all__ = [
    "load",
    "as_tensors",
    "describe",
    "list_datasets",
    "cached",
    "fetch",
    "dataset_root",
    "instructions",
    "download_file",
    "safe_extract",
    "DATASETS",
    "DatasetInfo",
    "CAPSTONE_DATASETS",
    "LessonData",
    "CapstoneData",
    "load_capstone",
    "CAMVID_CLASSES",
    "SPLITS",
    "TARGET_TYPES",
    "SegmentationDataset",
    "DatasetUnavailableError",
    "DownloadError",
    "UnsafeArchiveError",
    "boxes_from_masks",
    "instances_from_ids",
    "ids_from_instances",
    "semantic_from_ids",
    "boundary_from_ids",
]
