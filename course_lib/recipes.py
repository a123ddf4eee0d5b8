"""Training recipes behind the ready-made checkpoints: one entry per training run in the lessons.

A recipe says exactly how a lesson trains a model (data, model, loss, optimiser settings, epochs, seed).
``python -m course_lib make-checkpoints`` (``make checkpoints``) trains every recipe and saves
``checkpoints/<name>.pt`` with the recipe and its held-out scores in the checkpoint's ``meta``, so a
learner on a slow machine can skip a run with ``models.pretrained_checkpoint(name)``.
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

__all__ = [
    "Recipe",
    "RECIPES",
    "get_recipe",
    "load_splits",
    "train_augmentation",
    "train_recipe",
    "detection_ap50",
    "score_model",
    "score_binary_fov",
    "make_checkpoint",
    "checkpoint_is_current",
]


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
    kind: str = "semantic"  # "semantic" (fit) or "detection" (fit_detection, Mask R-CNN)
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

_add(Recipe(name="maskrcnn-nuclei", lesson="06_instances", dataset="synthetic-nuclei", model="maskrcnn", in_channels=1,
            num_classes=2, model_options={"image_size": 128, "fpn_channels": 32, "box_batch_size_per_image": 32},
            data_options={"size": 64}, n_train=480, n_val=0, n_test=80, batch_size=4, epochs=1, lr=2e-3,
            kind="detection", metric="mask_ap50", note="lesson 06's Mask R-CNN"))
_add(Recipe(name="unet-nuclei-boundary", lesson="06_instances", dataset="synthetic-nuclei", model="unet", in_channels=1,
            num_classes=3, model_options={"base_channels": 8, "depth": 3}, data_options={"size": 64, "target": "boundary"},
            n_train=320, n_val=64, n_test=80, loss="combo", loss_options={"class_weights": [1.0, 1.0, 3.0]},
            batch_size=16, epochs=5, lr=3e-3, metric="miou", note="lesson 06's 3-class U-Net (interior/boundary)"))


_EFFNET = dict(model="effnet-unet", in_channels=3, kind="semantic", threads=1, channels_last=True, store_half=True,
               scheduler="onecycle", weight_decay=1e-4)
_add(Recipe(name="effnet-unet-camvid", lesson="10_capstone_driving", dataset="camvid", num_classes=11, ignore_index=11,
            model_options={"pad_multiple": 32, "encoder_bn_momentum": 0.1, "frozen_blocks": 3},
            data_options={"size": (180, 240), "cache": True},
            augment={"scale": (0.75, 1.5), "crop": (144, 192), "hflip": 0.5, "jitter": 0.2},
            loss="ce", class_weighting="median-frequency", batch_size=8, epochs=12, lr=3e-3, metric="miou",
            note="capstone 10: CamVid-11 at half resolution (240×180), void ignored", **{**_EFFNET, "threads": 2}))
_add(Recipe(name="effnet-unet-drive", lesson="09_capstone_medical", dataset="drive", num_classes=2, ignore_index=255,
            model_options={"pad_multiple": 32, "encoder_bn_momentum": 0.1, "full_res_skip": 16},
            data_options={"cache": True},
            augment={"repeat": 24, "crop": (128, 128), "hflip": 0.5, "vflip": 0.5, "rot90": 0.75, "jitter": 0.1},
            loss="combo", batch_size=16, epochs=14, lr=3e-3, metric="fg_dice",
            note="capstone 09: DRIVE vessels on random 128×128 patches, loss masked outside the field of view", **_EFFNET))


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


class _Repeated(torch.utils.data.Dataset):
    """Each sample of ``dataset`` ``times`` times per epoch (random patches from few large images)."""

    def __init__(self, dataset: Any, times: int) -> None:
        self.dataset, self.times = dataset, int(times)

    def __len__(self) -> int:
        return len(self.dataset) * self.times

    def __getitem__(self, index: int) -> Any:
        return self.dataset[index % len(self.dataset)]


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


def _class_weights(recipe: Recipe, train: Any) -> torch.Tensor | None:
    """Cross-entropy class weights the recipe asks for, computed from the train masks (void pixels left out)."""
    from .data import as_tensors
    from .losses import median_frequency_weights

    if recipe.class_weighting is None:
        return None
    if recipe.class_weighting not in ("sqrt-median-frequency", "median-frequency"):
        raise ValueError(f"class_weighting={recipe.class_weighting!r} is not known; use None, 'median-frequency' or 'sqrt-median-frequency'.")
    if hasattr(train, "raw"):  # a real dataset: its label maps without augmentation
        masks = torch.stack([train.raw(i)[1] for i in range(len(train))]).long()
    else:
        _, masks = as_tensors(train)
    power = 0.5 if recipe.class_weighting == "sqrt-median-frequency" else 1.0
    return median_frequency_weights(masks, recipe.num_classes, recipe.ignore_index, power=power)


def train_recipe(recipe: Recipe | str, *, progress: bool = False, threads: int | None = None) -> tuple[nn.Module, dict[str, Any]]:
    """Train ``recipe`` from scratch on CPU (``recipe.threads`` threads unless given); returns the model and its held-out scores."""
    from torch.utils.data import DataLoader

    from . import models, training
    from .runtime import seed_everything, set_threads
    from .transforms import collate_instances

    recipe = get_recipe(recipe) if isinstance(recipe, str) else recipe
    set_threads(threads if threads is not None else recipe.threads)
    seed_everything(recipe.seed)
    sets = load_splits(recipe)
    model = models.create(recipe.model, in_channels=recipe.in_channels, num_classes=recipe.num_classes, **recipe.model_options)
    start, cpu_start = time.perf_counter(), time.process_time()
    if recipe.kind == "detection":
        loader = DataLoader(sets["train"], batch_size=recipe.batch_size, shuffle=True, collate_fn=collate_instances)
        training.fit_detection(model, loader, epochs=recipe.epochs, lr=recipe.lr, weight_decay=recipe.weight_decay,
                               seed=recipe.seed, progress=progress, live_plot=False)
        seconds = time.perf_counter() - start
        scores: dict[str, Any] = {"mask_ap50": detection_ap50(model, sets["test"])}
    else:
        _fit_semantic(recipe, model, sets, progress)
        seconds = time.perf_counter() - start
        if recipe.store_half:  # score exactly the weights the checkpoint will hold
            _round_to_half(model)
        scores = score_model(recipe, model, sets)
    scores["train_seconds"] = round(seconds, 1)
    scores["train_cpu_seconds"] = round(time.process_time() - cpu_start, 1)
    return model.eval(), scores


def _round_to_half(model: nn.Module) -> None:
    """Round every float32 weight and buffer of ``model`` to float16 precision, in place."""
    with torch.no_grad():
        for value in model.state_dict().values():
            if value.dtype == torch.float32:
                value.copy_(value.half().float())


def _fit_semantic(recipe: Recipe, model: nn.Module, sets: dict[str, Any], progress: bool) -> Any:
    """Train a label-map model the way ``recipe`` says (augmentation, class weights, optimiser, schedule)."""
    from torch.utils.data import DataLoader

    from . import losses, training

    train = sets["train"]
    if recipe.augment:
        train.transform = train_augmentation(recipe.augment, recipe.ignore_index)
    weight = _class_weights(recipe, train)
    options = dict(recipe.loss_options)
    if recipe.ignore_index is not None:
        options["ignore_index"] = recipe.ignore_index
    if weight is not None:
        options["weight" if recipe.loss == "ce" else "class_weights"] = weight
    loss_fn = losses.create_loss(recipe.loss, **options)
    repeat = int(recipe.augment.get("repeat", 1))
    loader = DataLoader(_Repeated(train, repeat) if repeat > 1 else train, batch_size=recipe.batch_size, shuffle=True,
                        drop_last=bool(recipe.augment))
    val = DataLoader(sets["val"], batch_size=1 if recipe.augment else 64) if "val" in sets else None
    if recipe.channels_last:
        model.to(memory_format=torch.channels_last)
    optimizer = None
    if recipe.encoder_lr_factor != 1.0 and hasattr(model, "encoder"):
        encoder = [p for p in model.encoder.parameters() if p.requires_grad]
        ids = {id(p) for p in encoder}
        rest = [p for p in model.parameters() if p.requires_grad and id(p) not in ids]
        optimizer = torch.optim.AdamW([{"params": encoder, "lr": recipe.lr * recipe.encoder_lr_factor},
                                       {"params": rest, "lr": recipe.lr}], weight_decay=recipe.weight_decay)
    history = training.fit(model, loader, val, loss_fn=loss_fn, epochs=recipe.epochs, lr=recipe.lr,
                           weight_decay=recipe.weight_decay, optimizer=optimizer, scheduler=recipe.scheduler,
                           metric=recipe.metric, num_classes=recipe.num_classes, ignore_index=recipe.ignore_index,
                           seed=recipe.seed, progress=progress, live_plot=False)
    if recipe.channels_last:
        model.to(memory_format=torch.contiguous_format)
    return history


def score_model(recipe: Recipe | str, model: nn.Module, sets: dict[str, Any] | None = None) -> dict[str, Any]:
    """Held-out scores of a label-map model trained by ``recipe``: the test split, and for the capstones val too."""
    from torch.utils.data import DataLoader

    from . import training

    recipe = get_recipe(recipe) if isinstance(recipe, str) else recipe
    sets = load_splits(recipe) if sets is None else sets
    if recipe.num_classes == 2 and recipe.ignore_index == 255:  # a vessel-style binary task scored inside a mask
        return score_binary_fov(model, sets["val"], sets["test"])
    scores: dict[str, Any] = {}
    for split in ("val", "test") if recipe.augment else ("test",):
        if split not in sets:
            continue
        result = training.evaluate(model, DataLoader(sets[split], batch_size=8 if recipe.augment else 64),
                                   num_classes=recipe.num_classes, ignore_index=recipe.ignore_index)
        prefix = f"{split}_" if recipe.augment else ""
        scores.update({prefix + k: float(v) for k, v in result.items() if isinstance(v, (int, float))})
    return scores


def score_binary_fov(model: nn.Module, val: Any, test: Any) -> dict[str, float]:
    """Vessel-style scores inside the field of view: threshold chosen on ``val``, Dice/F1, sensitivity, specificity, AUC on ``test``."""
    from .inference import whole_image_predict
    from .metrics import best_threshold, binary_scores, roc_auc

    def probabilities(dataset: Any) -> tuple[torch.Tensor, torch.Tensor]:
        probs, targets = [], []
        for i in range(len(dataset)):
            image, target = dataset[i]
            logits = whole_image_predict(model, image[None])
            probs.append(logits.softmax(1)[0, 1] if logits.shape[1] == 2 else logits.sigmoid()[0, 0])
            targets.append(target)
        return torch.cat([p.flatten() for p in probs]), torch.cat([t.flatten() for t in targets])

    val_probs, val_target = probabilities(val)
    threshold, val_dice = best_threshold(val_probs, val_target)
    test_probs, test_target = probabilities(test)
    scores = {f"test_{k}": float(v) for k, v in binary_scores(test_probs, test_target, threshold=threshold).items()}
    scores.update(threshold=float(threshold), val_dice=float(val_dice), test_auc=float(roc_auc(test_probs, test_target)))
    return scores


def detection_ap50(model: nn.Module, dataset: Any) -> float:
    """Mask AP50 of an instance model over every image of a detection-style ``dataset``."""
    from .instances import predict_instances
    from .metrics import mask_average_precision
    from .transforms import collate_instances

    images, targets = collate_instances([dataset[i] for i in range(len(dataset))])
    preds = predict_instances(model, torch.stack(images), batch_size=8)
    return float(mask_average_precision(preds, list(targets), iou_threshold=0.5))


def make_checkpoint(recipe: Recipe | str, folder: str | os.PathLike | None = None, *, progress: bool = False) -> Path:
    """Train ``recipe`` and save ``<folder>/<name>.pt`` (default: ``config.checkpoint_dir()``) with recipe and scores."""
    from .config import checkpoint_dir
    from .models import save_checkpoint

    recipe = get_recipe(recipe) if isinstance(recipe, str) else recipe
    model, scores = train_recipe(recipe, progress=progress)
    target = Path(folder) if folder is not None else checkpoint_dir()
    target.mkdir(parents=True, exist_ok=True)
    return save_checkpoint(model, target / f"{recipe.name}.pt", half=recipe.store_half, recipe=recipe.as_dict(), scores=scores)


def checkpoint_is_current(path: str | os.PathLike) -> bool:
    """Whether the checkpoint at ``path`` was made from the recipe of the same name as it stands now."""
    from .models import checkpoint_info

    meta = checkpoint_info(path).get("meta", {})
    stored = meta.get("recipe")
    name = Path(path).stem
    if name not in RECIPES or not isinstance(stored, dict):
        return False
    # a field added to Recipe after the checkpoint was made counts as unchanged while it keeps its default
    defaults = {f.name: (f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default) for f in dataclasses.fields(Recipe)}
    current = RECIPES[name].as_dict()
    stored = {**{k: v for k, v in defaults.items() if k not in stored}, **stored}
    return _plain(stored) == _plain(current)


def _plain(value: Any) -> Any:
    """Tuples as lists, so a recipe compares equal however it was stored."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
