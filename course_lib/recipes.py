"""Training recipes behind the ready-made checkpoints: one entry per training run in the lessons.

A recipe says exactly how a lesson trains a model (data, model, loss, optimiser settings, epochs, seed).
``python -m course_lib make-checkpoints`` (``make checkpoints``) trains every recipe and saves
``checkpoints/<name>.pt`` with the recipe and its held-out scores in the checkpoint's ``meta``, so a
learner on a slow machine can skip a run with ``models.pretrained_checkpoint(name)``.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

__all__ = ["Recipe", "RECIPES", "get_recipe", "load_splits", "train_recipe", "detection_ap50", "make_checkpoint", "checkpoint_is_current"]


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
    class_weighting: str | None = None  # "sqrt-median-frequency": CE weights from the train masks (lesson 05)
    kind: str = "semantic"  # "semantic" (fit) or "detection" (fit_detection, Mask R-CNN)
    note: str = ""

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
    sizes = {"train": recipe.n_train, "val": recipe.n_val, "test": recipe.n_test}
    return {split: data.load(recipe.dataset, split, n=n, seed=recipe.seed, **options) for split, n in sizes.items() if n > 0}


def _class_weights(recipe: Recipe, train: Any) -> torch.Tensor | None:
    """Cross-entropy class weights the recipe asks for, computed from the train masks."""
    from .data import as_tensors

    if recipe.class_weighting is None:
        return None
    if recipe.class_weighting != "sqrt-median-frequency":
        raise ValueError(f"class_weighting={recipe.class_weighting!r} is not known; use None or 'sqrt-median-frequency'.")
    _, masks = as_tensors(train)
    freq = torch.bincount(masks.flatten().long(), minlength=recipe.num_classes).float() / masks.numel()
    return (freq.median() / freq).sqrt()


def train_recipe(recipe: Recipe | str, *, progress: bool = False, threads: int | None = 1) -> tuple[nn.Module, dict[str, Any]]:
    """Train ``recipe`` from scratch on CPU (1 thread, like the lessons); returns the model and its held-out scores."""
    from torch.utils.data import DataLoader

    from . import losses, models, training
    from .runtime import seed_everything, set_threads
    from .transforms import collate_instances

    recipe = get_recipe(recipe) if isinstance(recipe, str) else recipe
    if threads is not None:
        set_threads(threads)
    seed_everything(recipe.seed)
    sets = load_splits(recipe)
    model = models.create(recipe.model, in_channels=recipe.in_channels, num_classes=recipe.num_classes, **recipe.model_options)
    start = time.perf_counter()
    if recipe.kind == "detection":
        loader = DataLoader(sets["train"], batch_size=recipe.batch_size, shuffle=True, collate_fn=collate_instances)
        training.fit_detection(model, loader, epochs=recipe.epochs, lr=recipe.lr, weight_decay=recipe.weight_decay,
                               seed=recipe.seed, progress=progress, live_plot=False)
        seconds = time.perf_counter() - start
        scores: dict[str, Any] = {"mask_ap50": detection_ap50(model, sets["test"])}
    else:
        weight = _class_weights(recipe, sets["train"])
        loss_fn = losses.create_loss(recipe.loss, **recipe.loss_options, **({"weight": weight} if weight is not None else {}))
        train = DataLoader(sets["train"], batch_size=recipe.batch_size, shuffle=True)
        val = DataLoader(sets["val"], batch_size=64) if "val" in sets else None
        training.fit(model, train, val, loss_fn=loss_fn, epochs=recipe.epochs, lr=recipe.lr, weight_decay=recipe.weight_decay,
                     scheduler=recipe.scheduler, metric=recipe.metric, num_classes=recipe.num_classes, seed=recipe.seed,
                     progress=progress, live_plot=False)
        seconds = time.perf_counter() - start
        result = training.evaluate(model, DataLoader(sets["test"], batch_size=64), num_classes=recipe.num_classes)
        scores = {k: float(v) for k, v in result.items() if isinstance(v, (int, float))}
    scores["train_seconds"] = round(seconds, 1)
    return model.eval(), scores


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
    return save_checkpoint(model, target / f"{recipe.name}.pt", recipe=recipe.as_dict(), scores=scores)


def checkpoint_is_current(path: str | os.PathLike) -> bool:
    """Whether the checkpoint at ``path`` was made from the recipe of the same name as it stands now."""
    from .models import checkpoint_info

    meta = checkpoint_info(path).get("meta", {})
    stored = meta.get("recipe")
    name = Path(path).stem
    return name in RECIPES and _plain(stored) == _plain(RECIPES[name].as_dict())


def _plain(value: Any) -> Any:
    """Tuples as lists, so a recipe compares equal however it was stored."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
