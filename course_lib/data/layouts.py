"""Where the samples of each real dataset lie in its original file layout: discovery and counting.

Both the downloader (is a dataset present?) and the loaders (which samples are there?) need this,
so it lives here, below both: it imports neither.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "natural_key",
    "visible",
    "discover_isbi2012",
    "discover_camvid",
    "discover_oxford_pets",
    "discover_dsb2018",
    "discover_drive",
    "DISCOVER",
    "LAYOUT_HINTS",
    "count_samples",
]


def natural_key(text: str) -> list:
    """Sort key that puts ``img_2`` before ``img_10``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def visible(path: Path) -> bool:
    """False for hidden files and macOS '._' resource forks (found in some official archives)."""
    return not path.name.startswith(".")


def discover_isbi2012(root: Path) -> dict[str, tuple]:
    """ISBI 2012: {N: (train/image/N.png, train/label/N.png)}."""
    images, labels = root / "train" / "image", root / "train" / "label"
    if not images.is_dir():
        return {}
    return {p.stem: (p, labels / p.name) for p in images.glob("*.png") if visible(p) and (labels / p.name).is_file()}


def discover_camvid(root: Path) -> dict[str, tuple]:
    """CamVid: {split/X: (<split>/X.png, <split>annot/X.png)} for the train, val and test folders."""
    found = {}
    for split in ("train", "val", "test"):
        folder, annot = root / split, root / f"{split}annot"
        if folder.is_dir():
            for p in folder.glob("*.png"):
                if visible(p) and (annot / p.name).is_file():
                    found[f"{split}/{p.stem}"] = (p, annot / p.name)
    return found


def discover_oxford_pets(root: Path) -> dict[str, tuple]:
    """Oxford-IIIT Pet: {X: (images/X.jpg, annotations/trimaps/X.png)}."""
    images, trimaps = root / "images", root / "annotations" / "trimaps"
    if not images.is_dir():
        return {}
    return {
        p.stem: (p, trimaps / f"{p.stem}.png")
        for p in images.glob("*.jpg")
        if visible(p) and (trimaps / f"{p.stem}.png").is_file()
    }


def discover_dsb2018(root: Path) -> dict[str, tuple]:
    """DSB 2018: {id: (<id>/images/<id>.png, (<id>/masks/*.png, ...))} in any stage folder."""
    found: dict[str, tuple] = {}
    if not root.is_dir():
        return found
    for image in root.glob("**/images/*.png"):
        sample = image.parent.parent
        masks = sorted((p for p in (sample / "masks").glob("*.png") if visible(p)), key=lambda p: natural_key(p.name))
        if visible(image) and masks:
            found[sample.name] = (image, tuple(masks))
    return found


def discover_drive(root: Path) -> dict[str, tuple]:
    """DRIVE: {part/NN: (images/NN_<part>.tif, 1st_manual/NN_manual1.gif, mask/NN_<part>_mask.gif or None)}."""
    found = {}
    for part in ("training", "test"):
        images = root / part / "images"
        if not images.is_dir():
            continue
        for p in images.glob(f"*_{part}.tif"):
            number = p.name.split("_")[0]
            manual = root / part / "1st_manual" / f"{number}_manual1.gif"
            fov = root / part / "mask" / f"{number}_{part}_mask.gif"
            if visible(p) and manual.is_file():
                found[f"{part}/{number}"] = (p, manual, fov if fov.is_file() else None)
    return found


#: The discovery function of each real dataset: ``DISCOVER[name](root)`` -> {key: sample paths}.
DISCOVER: dict[str, Callable[[Path], dict[str, tuple]]] = {
    "isbi2012": discover_isbi2012,
    "camvid": discover_camvid,
    "oxford-pets": discover_oxford_pets,
    "dsb2018": discover_dsb2018,
    "drive": discover_drive,
}

#: An example of the files each real dataset's folder holds (for error messages).
LAYOUT_HINTS = {
    "isbi2012": "train/image/0.png and train/label/0.png",
    "camvid": "train/0001TP_006690.png, trainannot/0001TP_006690.png and train.txt",
    "oxford-pets": "images/Abyssinian_1.jpg and annotations/trimaps/Abyssinian_1.png",
    "dsb2018": "stage1_train/<id>/images/<id>.png and stage1_train/<id>/masks/*.png",
    "drive": "training/images/21_training.tif, training/1st_manual/21_manual1.gif and training/mask/21_training_mask.gif",
}


def count_samples(name: str, root: str | Path) -> int:
    """How many complete samples of real dataset ``name`` are in ``root`` (original layout)."""
    return len(DISCOVER[name](Path(root)))
