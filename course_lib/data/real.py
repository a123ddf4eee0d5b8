"""Loaders for the real datasets, each reading the dataset's original file layout from the cache."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ..validation import check_choice, check_int
from .base import SegmentationDataset, parse_size, seeded_split
from .download import DatasetUnavailableError, dataset_root, fetch, instructions, is_present
from .layouts import (
    LAYOUT_HINTS,
    count_samples,
    discover_camvid,
    discover_drive,
    discover_dsb2018,
    discover_isbi2012,
    discover_oxford_pets,
    natural_key,
)
from .registry import DATASETS

__all__ = [
    "RealDataset",
    "ISBI2012",
    "CamVid",
    "OxfordPets",
    "DSB2018",
    "DRIVE",
    "REAL_LOADERS",
    "count_samples",
]


def _read_image(path: Path, mode: str) -> torch.Tensor:
    """Read an image file as a uint8 C×H×W tensor (mode 'RGB' -> 3 channels, 'L' -> 1)."""
    from PIL import Image

    with Image.open(path) as im:
        array = np.asarray(im.convert(mode))
    array = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
    return torch.from_numpy(np.array(array, order="C", copy=True))  # PIL's buffer is read-only


def _read_labels(path: Path) -> np.ndarray:
    """Read a label image whose pixel values are class indices as an H×W uint8 array (no palette lookup)."""
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im if im.mode in ("L", "P") else im.convert("L")).astype(np.uint8)


def _read_binary(path: Path) -> np.ndarray:
    """Read a black/white mask image as an H×W bool array (True where bright)."""
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("L")) > 127


class RealDataset(SegmentationDataset):
    """Common part of the real loaders: find the data, list samples, pick the split."""

    seeded: bool = False  # True where the split is a seeded shuffle (split_seed, val/test_fraction apply)

    def __init__(
        self,
        name: str,
        split: str = "train",
        *,
        root: str | Path | None = None,
        download: bool = True,
        size: int | tuple[int, int] | None = None,
        channels: int | None = None,
        transform: Callable | None = None,
        cache: bool = False,
        target: str = "semantic",
        split_seed: int = 0,
        val_fraction: float = 0.15,
        test_fraction: float = 0.15,
        num_classes: int | None = None,
        class_names: tuple[str, ...] | None = None,
        ignore_index: int | None | str = "default",
    ) -> None:
        info = DATASETS[name]
        split_seed = check_int("split_seed", split_seed, minimum=0)
        if not isinstance(download, bool):
            raise ValueError(f"download={download!r} must be True or False.")
        super().__init__(
            name=name,
            split=split,
            num_classes=num_classes if num_classes is not None else info.num_classes,
            class_names=class_names if class_names is not None else info.class_names,
            ignore_index=info.ignore_index if ignore_index == "default" else ignore_index,
            target=target,
            size=parse_size(size),
            channels=channels,
            transform=transform,
            cache=cache,
        )
        self.root = self._find_root(name, root, download)
        self.split_seed, self.val_fraction, self.test_fraction = split_seed, val_fraction, test_fraction
        found = self.discover(self.root)
        self.keys = self._split_keys(found, split)
        self.samples = [found[k] for k in self.keys]
        if not self.samples:
            raise ValueError(
                f"split={split!r} of {name!r} is empty: {len(found)} samples were found in {self.root} and none fell "
                f"into this split. Use split='all', or a smaller val/test fraction."
            )

    @staticmethod
    def _find_root(name: str, root: str | Path | None, download: bool) -> Path:
        if root is not None:
            root = Path(root).expanduser()
            if count_samples(name, root) == 0:
                raise ValueError(
                    f"root={str(root)!r} holds no {name!r} samples in the original layout; point it at the folder "
                    f"that holds e.g. {LAYOUT_HINTS[name]}."
                )
            return root
        if is_present(name):
            return dataset_root(name)
        if download:
            return fetch(name, quiet=False)
        raise DatasetUnavailableError(instructions(name))

    # subclasses: {key: sample} found under root, and the keys of a split
    @staticmethod
    def discover(root: Path) -> dict[str, tuple]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _split_keys(self, found: dict[str, tuple], split: str) -> list[str]:
        keys = sorted(found, key=natural_key)
        return seeded_split(
            keys, split, val_fraction=self.val_fraction, test_fraction=self.test_fraction, seed=self.split_seed
        )

    def _official_test_split(self, found: dict[str, tuple], train: list[str], test: list[str], split: str) -> list[str]:
        """Keys of ``split`` when the dataset ships an official test part: ``test`` is it, train/val a seeded split of ``train``.

        Without both parts (or for ``split='all'``), the seeded three-way split of everything found.
        """
        if split == "all" or not (train and test):
            return RealDataset._split_keys(self, found, split)
        if split == "test":
            return test
        return seeded_split(train, split, val_fraction=self.val_fraction, test_fraction=0.0, seed=self.split_seed)

    def __len__(self) -> int:
        return len(self.samples)

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f", root={str(self.root)!r})"


class ISBI2012(RealDataset):
    """ISBI 2012 EM slices: ``train/image/N.png`` with ``train/label/N.png`` (0 = membrane there); we return 1 = membrane."""

    seeded = True

    discover = staticmethod(discover_isbi2012)

    def _read(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image_path, label_path = self.samples[index]
        membrane = ~_read_binary(label_path)
        return _read_image(image_path, "L"), torch.from_numpy(membrane.astype(np.uint8))


class CamVid(RealDataset):
    """CamVid (SegNet 11-class): ``<split>/X.png`` with ``<split>annot/X.png``; split lists from ``<split>.txt``."""

    discover = staticmethod(discover_camvid)

    def _split_keys(self, found: dict[str, tuple], split: str) -> list[str]:
        keys = []
        for part in ("train", "val", "test") if split == "all" else (split,):
            listing = self.root / f"{part}.txt"
            if listing.is_file():  # original order; lines look like "/SegNet/CamVid/train/X.png /SegNet/..."
                for line in listing.read_text(encoding="utf-8").splitlines():
                    if line.strip():
                        image = line.split()[0]
                        key = "/".join(Path(image).with_suffix("").parts[-2:])
                        if key in found:
                            keys.append(key)
            else:
                keys += sorted((k for k in found if k.startswith(part + "/")), key=natural_key)
        return keys

    def _read(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image_path, label_path = self.samples[index]
        return _read_image(image_path, "RGB"), torch.from_numpy(_read_labels(label_path))


class OxfordPets(RealDataset):
    """Oxford-IIIT Pet: ``images/X.jpg`` with ``annotations/trimaps/X.png`` (1 pet, 2 background, 3 border)."""

    seeded = True

    def __init__(self, name: str, split: str = "train", *, classes: str = "binary", border: str = "ignore", **kwargs) -> None:
        check_choice("classes", classes, ("binary", "trimap"))
        check_choice("border", border, ("ignore", "pet", "background"))
        if classes == "trimap" and border != "ignore":
            raise ValueError("border= only applies to classes='binary'; with classes='trimap' the border is class 2.")
        self.classes, self.border = classes, border
        if classes == "trimap":
            kwargs.update(num_classes=3, class_names=("background", "pet", "border"), ignore_index=None)
        elif border != "ignore":
            kwargs.update(ignore_index=None)
        super().__init__(name, split, **kwargs)
        lut = np.zeros(256, dtype=np.uint8)  # trimap value -> class
        if classes == "trimap":
            lut[1], lut[2], lut[3] = 1, 0, 2
        else:
            lut[1], lut[2] = 1, 0
            lut[3] = {"ignore": 255, "pet": 1, "background": 0}[border]
        self._lut = lut

    discover = staticmethod(discover_oxford_pets)

    def _split_keys(self, found: dict[str, tuple], split: str) -> list[str]:
        trainval, test = self.root / "annotations" / "trainval.txt", self.root / "annotations" / "test.txt"
        if split == "all" or not (trainval.is_file() and test.is_file()):
            return super()._split_keys(found, split)

        def listed(path: Path) -> list[str]:
            names = [line.split()[0] for line in path.read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]
            return [n for n in names if n in found]

        if split == "test":
            return listed(test)
        return seeded_split(listed(trainval), split, val_fraction=self.val_fraction, test_fraction=0.0, seed=self.split_seed)

    def _read(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image_path, trimap_path = self.samples[index]
        return _read_image(image_path, "RGB"), torch.from_numpy(self._lut[_read_labels(trimap_path)])


class DSB2018(RealDataset):
    """DSB 2018 nuclei: ``<id>/images/<id>.png`` with one ``<id>/masks/*.png`` per nucleus (any stage folder).

    With both ``stage1_train/`` and ``stage1_test/`` present, ``test`` is exactly ``stage1_test/`` and train/val
    are a seeded split of ``stage1_train/`` (``val_fraction``); otherwise a seeded three-way split of what is there.
    """

    seeded = True
    has_instances = True

    discover = staticmethod(discover_dsb2018)

    def _split_keys(self, found: dict[str, tuple], split: str) -> list[str]:
        stage = {key: image.relative_to(self.root).parts[0] for key, (image, _) in found.items()}
        train = sorted((k for k in found if stage[k] == "stage1_train"), key=natural_key)
        test = sorted((k for k in found if stage[k] == "stage1_test"), key=natural_key)
        return self._official_test_split(found, train, test, split)

    def _read(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image_path, mask_paths = self.samples[index]
        image = _read_image(image_path, "RGB")  # RGBA files have a constant alpha channel: dropped
        ids = np.zeros(image.shape[1:], dtype=np.int32)
        for k, path in enumerate(mask_paths, start=1):
            ids[_read_binary(path)] = k  # a later mask wins where two overlap
        return image, torch.from_numpy(ids)


class DRIVE(RealDataset):
    """DRIVE: ``training/images/NN_training.tif``, ``1st_manual/NN_manual1.gif`` (vessels), ``mask/`` (field of view)."""

    seeded = True

    def __init__(self, name: str, split: str = "train", *, fov: str = "ignore", **kwargs) -> None:
        check_choice("fov", fov, ("ignore", "keep"))
        self.fov = fov
        if fov == "keep":
            kwargs.update(ignore_index=None)
        super().__init__(name, split, **kwargs)

    discover = staticmethod(discover_drive)

    def _split_keys(self, found: dict[str, tuple], split: str) -> list[str]:
        training = sorted((k for k in found if k.startswith("training/")), key=natural_key)
        test = sorted((k for k in found if k.startswith("test/")), key=natural_key)
        if split == "all":
            return training + test
        return self._official_test_split(found, training, test, split)  # no test/ (the course's sample): 3-way split

    def _fov_array(self, fov_path: Path | None, shape: tuple[int, int]) -> np.ndarray:
        return np.ones(shape, dtype=bool) if fov_path is None else _read_binary(fov_path)

    def _read(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image_path, manual_path, fov_path = self.samples[index]
        image = _read_image(image_path, "RGB")
        labels = _read_binary(manual_path).astype(np.uint8)
        if self.fov == "ignore":
            labels[~self._fov_array(fov_path, labels.shape)] = 255
        return image, torch.from_numpy(labels)

    def fov_mask(self, index: int) -> torch.Tensor:
        """The field of view of sample ``index`` as a bool H×W tensor (resized like the sample)."""
        index = self._check_index(index)
        image_path, manual_path, fov_path = self.samples[index]
        shape = _read_binary(manual_path).shape
        fov = torch.from_numpy(self._fov_array(fov_path, shape).astype(np.uint8))
        if self.size is not None and tuple(fov.shape) != self.size:
            from torchvision.transforms.v2 import InterpolationMode
            from torchvision.transforms.v2 import functional as F

            fov = F.resize(fov[None], list(self.size), interpolation=InterpolationMode.NEAREST_EXACT)[0]
        return fov.bool()


REAL_LOADERS: dict[str, type[RealDataset]] = {
    "isbi2012": ISBI2012,
    "camvid": CamVid,
    "oxford-pets": OxfordPets,
    "dsb2018": DSB2018,
    "drive": DRIVE,
}
