"""Training recipes behind the ready-made checkpoints: one entry per training run in the lessons.

A recipe says exactly how a lesson trains a model (data, model, loss, optimiser settings, epochs, seed);
the capstones print their recipe and reuse its augmentation (:func:`train_augmentation`). Maintainers
train every recipe with ``python -m course_tools make-checkpoints`` (``make checkpoints``), which saves
``checkpoints/<name>.pt`` with the recipe and its held-out scores in the checkpoint's ``meta``, so a
learner on a slow machine can skip a run with ``models.pretrained_checkpoint(name)``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Recipe", "RECIPES", "get_recipe", "load_splits", "train_augmentation"]


@dataclass(frozen=True)
class Recipe:
    """How one lesson trains one model; ``name`` is also the checkpoint's name."""

    name: str
    lesson: str
    dataset: str
    model: str
    in_channels: int
    num_classes: int
    model_options: dict[str, Any] = field(default_factory=dict)
    data_options: dict[str, Any] = field(default_factory=dict)
    n_train: int = 320
    n_val: int = 64
    n_test: int = 200
    loss: str = "ce"
    loss_options: dict[str, Any] = field(default_factory=dict)
    batch_size: int = 16
    epochs: int = 8
    lr: float = 3e-3
    weight_decay: float = 1e-4
    scheduler: str | None = None
    metric: str = "miou"
    seed: int = 0
    class_weighting: str | None = None  # "(sqrt-)median-frequency": CE weights from the train masks (lesson 05, capstone 10)
    kind: str = "semantic"  # "semantic" (fit), "detection" (fit_detection, Mask R-CNN) or "promptable" (click model, lesson 11)
    note: str = ""
    # the capstones' real-data recipes (defaults keep the lesson recipes as they were)
    augment: dict[str, Any] = field(default_factory=dict)  # see train_augmentation()
    ignore_index: int | None = None
    encoder_lr_factor: float = 1.0  # the encoder's learning rate is lr × this
    threads: int = 1
    channels_last: bool = False
    store_half: bool = False  # keep the checkpoint's weights as float16 (half the file)

    def as_dict(self) -> dict[str, Any]:
        """The recipe as plain data (stored in the checkpoint's meta)."""
        return asdict(self)


RECIPES: dict[str, Recipe] = {}


def _add(recipe: Recipe) -> Recipe:
    """Register ``recipe`` in :data:`RECIPES` under its name."""
    RECIPES[recipe.name] = recipe
    return recipe


_LESIONS = dict(lesson="04_unet", dataset="synthetic-lesions", model="unet", in_channels=1, num_classes=2,
                data_options={"size": 64}, loss="combo", loss_options={"class_weights": [1.0, 5.0]},
                batch_size=8, lr=3e-3, metric="fg_dice")
_add(Recipe(name="unet-lesions", model_options={"base_channels": 8, "depth": 3}, epochs=8,
            note="lesson 04's live U-Net run", **_LESIONS))
_add(Recipe(name="unet-noskip-lesions", model_options={"base_channels": 8, "depth": 3, "skip": False}, epochs=8,
            note="lesson 04's ablation: the same U-Net without skip connections", **_LESIONS))
_add(Recipe(name="unet-lesions-long", model_options={"base_channels": 8, "depth": 3}, epochs=30,
            note="lesson 04's U-Net trained for 30 epochs instead of 8", **_LESIONS))
_add(Recipe(name="unet-noskip-lesions-long", model_options={"base_channels": 8, "depth": 3, "skip": False}, epochs=30,
            note="lesson 04's ablation trained for 30 epochs instead of 8", **_LESIONS))

_STREETS = dict(lesson="05_architectures", dataset="synthetic-streets", in_channels=3, num_classes=9,
                data_options={"size": (48, 64)}, n_train=300, n_val=0, n_test=200, loss="ce",
                class_weighting="sqrt-median-frequency", batch_size=8, epochs=5, lr=1e-2, scheduler="onecycle")
_add(Recipe(name="fcn-streets", model="fcn", model_options={"base_channels": 8, "variant": "8s"}, **_STREETS))
_add(Recipe(name="segnet-streets", model="segnet", model_options={"base_channels": 8, "depth": 3}, **_STREETS))
_add(Recipe(name="unet-streets", model="unet", model_options={"base_channels": 8, "depth": 3}, **_STREETS))
_add(Recipe(name="deeplabv3plus-streets", model="deeplabv3plus",
            model_options={"encoder_name": "tu-regnetx_002", "encoder_depth": 4, "encoder_weights": None,
                           "encoder_output_stride": 16, "decoder_channels": 64, "decoder_atrous_rates": (1, 2, 3)},
            **_STREETS))
_add(Recipe(name="segformer-streets", model="mini-segformer",
            model_options={"widths": (16, 32, 64, 128), "depths": (1, 1, 1, 1), "heads": (1, 1, 2, 4),
                           "reductions": (8, 4, 2, 1), "mlp_ratio": 2, "decoder_channels": 32, "first_stride": 2},
            note="lesson 11's live transformer run, at lesson 05's budget; lr 1e-2 kept: it beat 3e-3 and 1e-3 on "
                 "60 held-out train images; first_stride=2 (not 4) chosen there too: 48×64 images are small",
            **{**_STREETS, "lesson": "11_beyond_cnns"}))

_add(Recipe(name="maskrcnn-nuclei", lesson="06_instances", dataset="synthetic-nuclei", model="maskrcnn", in_channels=1,
            num_classes=2, model_options={"image_size": 128, "fpn_channels": 32, "box_batch_size_per_image": 32},
            data_options={"size": 64}, n_train=480, n_val=0, n_test=80, batch_size=4, epochs=1, lr=2e-3,
            kind="detection", metric="mask_ap50", note="lesson 06's Mask R-CNN"))
_add(Recipe(name="unet-nuclei-boundary", lesson="06_instances", dataset="synthetic-nuclei", model="unet", in_channels=1,
            num_classes=3, model_options={"base_channels": 8, "depth": 3}, data_options={"size": 64, "target": "boundary"},
            n_train=320, n_val=64, n_test=80, loss="combo", loss_options={"class_weights": [1.0, 1.0, 3.0]},
            batch_size=16, epochs=5, lr=3e-3, metric="miou", note="lesson 06's 3-class U-Net (interior/boundary)"))
_add(Recipe(name="click-unet-nuclei", lesson="11_beyond_cnns", dataset="synthetic-nuclei", model="unet", in_channels=3,
            num_classes=2, model_options={"base_channels": 8, "depth": 3}, data_options={"size": 64, "target": "instance"},
            n_train=1280, n_val=0, n_test=12, loss="combo", batch_size=16, epochs=2, lr=5e-3, scheduler="onecycle",
            metric="noc@85", kind="promptable", augment={"crop": (32, 32)},
            note="lesson 11's click-to-segment U-Net: image + positive/negative click disks -> the clicked nucleus; "
                 "trained on 32×32 windows around each object with simulated and model-in-the-loop clicks "
                 "(course_lib.prompts.CLICK_DEFAULTS), scored by NoC on every test object"))


_EFFNET = dict(model="effnet-unet", in_channels=3, kind="semantic", threads=1, channels_last=True, store_half=True,
               scheduler="onecycle", weight_decay=1e-4)
_add(Recipe(name="effnet-unet-camvid", lesson="10_capstone_driving", dataset="camvid", num_classes=11, ignore_index=11,
            model_options={"pad_multiple": 32, "encoder_bn_momentum": 0.1, "frozen_blocks": 3},
            data_options={"size": (180, 240), "cache": True},
            augment={"scale": (0.75, 1.5), "crop": (160, 192), "hflip": 0.5, "jitter": 0.2},
            loss="ce", class_weighting="sqrt-median-frequency", batch_size=2, epochs=10, lr=3e-3, metric="miou",
            note="capstone 10: CamVid-11 at half resolution (240×180), void ignored; chosen on val: square-rooted "
                 "median-frequency weights beat plain ones, batches of 2 beat 4 and 8 at the same compute, "
                 "160×192 crops need no padding to a multiple of 32", **{**_EFFNET, "threads": 2}))
_add(Recipe(name="effnet-unet-drive", lesson="09_capstone_medical", dataset="drive", num_classes=2, ignore_index=255,
            model_options={"pad_multiple": 32, "encoder_bn_momentum": 0.1, "full_res_skip": 16},
            data_options={"cache": True},
            augment={"repeat": 24, "crop": (128, 128), "hflip": 0.5, "vflip": 0.5, "rot90": 0.75, "jitter": 0.1},
            loss="combo", batch_size=16, epochs=24, lr=3e-3, metric="fg_dice",
            note="capstone 09: DRIVE vessels on random 128×128 patches, loss masked outside the field of view",
            **{**_EFFNET, "threads": 2}))


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name``; ValueError listing the valid names otherwise."""
    if name not in RECIPES:
        raise ValueError(f"name={name!r} is not a training recipe; choose one of: {', '.join(sorted(RECIPES))}.")
    return RECIPES[name]


def load_splits(recipe: Recipe | str) -> dict[str, Any]:
    """The train / val / test datasets of ``recipe`` (a split of size 0 is left out)."""
    from . import data

    recipe = get_recipe(recipe) if isinstance(recipe, str) else recipe
    options = dict(recipe.data_options)
    if recipe.kind == "detection":
        options.setdefault("target", "instance")
    if not data.DATASETS[recipe.dataset].synthetic:  # a real dataset: every sample of its train, val and test splits
        return {split: data.load(recipe.dataset, split, **options) for split in ("train", "val", "test")}
    sizes = {"train": recipe.n_train, "val": recipe.n_val, "test": recipe.n_test}
    return {split: data.load(recipe.dataset, split, n=n, seed=recipe.seed, **options) for split, n in sizes.items() if n > 0}


def train_augmentation(augment: dict[str, Any], ignore_index: int | None = None) -> Any:
    """The joint augmentation a recipe's ``augment`` describes: scale, crop, flips, 90° turns, colour jitter (or None).

    Keys (all optional): ``scale`` (low, high) zoom, ``crop`` (h, w) random window, ``hflip``/``vflip``/``rot90``
    probabilities, ``jitter`` brightness/contrast/saturation strength; ``repeat`` is read by the training loop.
    """
    from . import transforms as T

    known = {"scale", "crop", "hflip", "vflip", "rot90", "jitter", "repeat"}
    unknown = sorted(set(augment) - known)
    if unknown:
        raise ValueError(f"augment has unknown key(s) {', '.join(unknown)}; use some of: {', '.join(sorted(known))}.")
    fill = 0 if ignore_index is None else int(ignore_index)
    steps: list[Any] = []
    if augment.get("scale"):
        steps.append(T.RandomAffine(0.0, tuple(augment["scale"]), fill_label=fill))
    if augment.get("crop"):
        steps.append(T.RandomCrop(tuple(augment["crop"]), fill_label=fill))
    if augment.get("hflip"):
        steps.append(T.RandomHorizontalFlip(augment["hflip"]))
    if augment.get("vflip"):
        steps.append(T.RandomVerticalFlip(augment["vflip"]))
    if augment.get("rot90"):
        steps.append(T.RandomRotate90(augment["rot90"]))
    if augment.get("jitter"):
        j = float(augment["jitter"])
        steps.append(T.ColorJitter(j, j, j, 0.0))
    return T.Compose(steps) if steps else None
