"""Train the lessons' recipes and save the ready-made checkpoints: ``python -m course_tools make-checkpoints``.

The recipes themselves (what each lesson trains) live learner-side in :mod:`course_lib.recipes`; this module
trains them from scratch on CPU, scores the result on held-out data and writes ``checkpoints/<name>.pt``
with the recipe and its scores in the checkpoint's ``meta``.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from course_lib.recipes import RECIPES, Recipe, get_recipe, load_splits, train_augmentation

__all__ = [
    "recipe_class_weights",
    "train_recipe",
    "detection_ap50",
    "score_model",
    "score_binary_fov",
    "score_promptable",
    "make_checkpoint",
    "checkpoint_is_current",
]


class _Repeated(torch.utils.data.Dataset):
    """Each sample of ``dataset`` ``times`` times per epoch (random patches from few large images)."""

    def __init__(self, dataset: Any, times: int) -> None:
        self.dataset, self.times = dataset, int(times)

    def __len__(self) -> int:
        return len(self.dataset) * self.times

    def __getitem__(self, index: int) -> Any:
        return self.dataset[index % len(self.dataset)]


def recipe_class_weights(recipe: Recipe, train: Any) -> torch.Tensor | None:
    """Cross-entropy class weights the recipe asks for, computed from the train masks (void pixels left out)."""
    from course_lib.data import as_tensors
    from course_lib.losses import median_frequency_weights

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

    from course_lib import models, training
    from course_lib.runtime import seed_everything, set_threads
    from course_lib.transforms import collate_instances

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
    elif recipe.kind == "promptable":
        _fit_promptable(recipe, model, sets, progress)
        seconds = time.perf_counter() - start
        scores = score_promptable(model, sets["test"])
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

    from course_lib import losses, training

    train = sets["train"]
    if recipe.augment:
        train.transform = train_augmentation(recipe.augment, recipe.ignore_index)
    weight = recipe_class_weights(recipe, train)
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


def _fit_promptable(recipe: Recipe, model: nn.Module, sets: dict[str, Any], progress: bool) -> Any:
    """Train a click model: one object per sample with simulated clicks, plus clicks where the model is wrong (RITM)."""
    from torch.utils.data import DataLoader

    from course_lib import losses, prompts, training

    unknown = sorted(set(recipe.augment) - {"crop"})
    if unknown:
        raise ValueError(f"augment has key(s) {', '.join(unknown)} that a promptable recipe does not use; it knows only 'crop'.")
    train = prompts.ClickDataset(sets["train"], seed=recipe.seed, crop=recipe.augment.get("crop"))
    loader = DataLoader(train, batch_size=recipe.batch_size, shuffle=True, drop_last=True)
    return training.fit(model, loader, None, loss_fn=losses.create_loss(recipe.loss, **recipe.loss_options),
                        epochs=recipe.epochs, lr=recipe.lr, weight_decay=recipe.weight_decay, scheduler=recipe.scheduler,
                        metric=None, seed=recipe.seed, progress=progress, live_plot=False,
                        callbacks=[prompts.IterativeClicks(seed=recipe.seed)])


def score_promptable(model: nn.Module, test: Any, max_clicks: int = 20) -> dict[str, Any]:
    """Click-model scores on every object of ``test`` (the standard protocol): IoU after 1 and 3 clicks, NoC@85, NoC@90."""
    from course_lib.prompts import evaluate_clicks

    result = evaluate_clicks(model, test, max_clicks=max_clicks, iou_targets=(0.85, 0.9))
    return {"iou@1": result.iou_at(1), "iou@3": result.iou_at(3), "noc@85": result.noc[0.85],
            "noc@90": result.noc[0.9], "objects": result.num_objects}


def score_model(recipe: Recipe | str, model: nn.Module, sets: dict[str, Any] | None = None) -> dict[str, Any]:
    """Held-out scores of a model trained by ``recipe``: the test split, for the capstones val too (clicks for a click model)."""
    from torch.utils.data import DataLoader

    from course_lib import training

    recipe = get_recipe(recipe) if isinstance(recipe, str) else recipe
    sets = load_splits(recipe) if sets is None else sets
    if recipe.kind == "promptable":
        return score_promptable(model, sets["test"])
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
    from course_lib.inference import whole_image_predict
    from course_lib.metrics import best_threshold, binary_scores, roc_auc

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
    from course_lib.instances import predict_instances
    from course_lib.metrics import mask_average_precision
    from course_lib.transforms import collate_instances

    images, targets = collate_instances([dataset[i] for i in range(len(dataset))])
    preds = predict_instances(model, torch.stack(images), batch_size=8)
    return float(mask_average_precision(preds, list(targets), iou_threshold=0.5))


def make_checkpoint(recipe: Recipe | str, folder: str | os.PathLike | None = None, *, progress: bool = False) -> Path:
    """Train ``recipe`` and save ``<folder>/<name>.pt`` (default: ``config.checkpoint_dir()``) with recipe and scores."""
    from course_lib.config import checkpoint_dir
    from course_lib.models import save_checkpoint

    recipe = get_recipe(recipe) if isinstance(recipe, str) else recipe
    model, scores = train_recipe(recipe, progress=progress)
    target = Path(folder) if folder is not None else checkpoint_dir()
    target.mkdir(parents=True, exist_ok=True)
    return save_checkpoint(model, target / f"{recipe.name}.pt", half=recipe.store_half, recipe=recipe.as_dict(), scores=scores)


def checkpoint_is_current(path: str | os.PathLike) -> bool:
    """Whether the checkpoint at ``path`` was made from the recipe of the same name as it stands now."""
    from course_lib.models import checkpoint_info

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
