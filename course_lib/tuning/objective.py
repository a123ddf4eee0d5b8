"""A tiny segmentation training to tune: a small U-Net on a binary synthetic dataset, scored by val foreground Dice."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Mapping

import torch
from torch import nn

from ..runtime import resolve_device
from ..training.engine import Callback
from .search import format_params, report

__all__ = ["TrialRun", "SegmentationObjective", "segmentation_objective", "augment_pairs", "RandomFlips", "TrialLog"]


@dataclass
class TrialRun:
    """One training of :class:`SegmentationObjective`: the model, loss per step, val score per epoch, seconds."""

    model: nn.Module
    params: dict[str, Any]
    step_losses: list[float]
    val_scores: list[float]
    seconds: float

    @property
    def score(self) -> float:
        """The validation score after the last epoch (what the objective returns)."""
        return self.val_scores[-1]


def augment_pairs(images: torch.Tensor, masks: torch.Tensor, strength: float, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Random flips and 90° rotations of each image+mask pair, each with probability ``strength``."""
    if strength <= 0:
        return images, masks
    images, masks = images.clone(), masks.clone()
    for i in range(images.shape[0]):
        if float(torch.rand((), generator=g)) < strength:
            k = int(torch.randint(0, 4, (), generator=g))
            flip = bool(torch.randint(0, 2, (), generator=g))
            img, msk = torch.rot90(images[i], k, (-2, -1)), torch.rot90(masks[i], k, (-2, -1))
            if flip:
                img, msk = img.flip(-1), msk.flip(-1)
            images[i], masks[i] = img, msk
    return images, masks


def _tensor_split(dataset: str, split: str, n: int, size: int, seed: int) -> Any:
    """One split of a course dataset held in memory as a TensorDataset (images, int64 masks)."""
    from torch.utils.data import TensorDataset

    from .. import data as course_data

    images, masks = course_data.as_tensors(course_data.load(dataset, split, n=n, size=size, seed=seed))
    return TensorDataset(images, masks.long())


class RandomFlips(Callback):
    """Augments each training batch with :func:`augment_pairs` (flips, 90° turns) drawn from generator ``g``."""

    def __init__(self, strength: float, g: torch.Generator) -> None:
        self.strength, self.g = strength, g

    def before_batch(self, learner: Any) -> None:
        images, masks = learner.batch
        learner.batch = augment_pairs(images, masks, self.strength, self.g)


class TrialLog(Callback):
    """Records the loss of every step and the val score of every epoch, and reports it to an Optuna trial."""

    def __init__(self, trial: Any = None) -> None:
        self.trial, self.step_losses, self.val_scores = trial, [], []

    def after_batch(self, learner: Any) -> None:
        self.step_losses.append(float(learner.out.loss.detach()))

    def after_epoch(self, learner: Any) -> None:
        score = learner.val["fg_dice"]
        self.val_scores.append(0.0 if math.isnan(score) else float(score))
        report(self.trial, self.val_scores[-1], learner.epoch)


class SegmentationObjective:
    """A tiny segmentation training to tune: call it with a dict of hyperparameters, get the val score back.

    Tunable (keys of ``params``): lr, weight_decay, batch_size, epochs, aug (probability of a random
    flip/rotation per image), base_channels. Every call trains from the same seed on the same data, so one
    configuration always gets the same score.
    """

    TUNABLE = ("lr", "weight_decay", "batch_size", "epochs", "aug", "base_channels")

    def __init__(self, dataset: str, n_train: int, n_val: int, n_test: int, size: int, defaults: dict[str, Any],
                 depth: int, loss: str, seed: int, device: Any) -> None:
        self.dataset, self.size, self.depth, self.loss, self.seed = dataset, size, depth, loss, seed
        self.device = resolve_device(device)
        self.defaults = dict(defaults)
        self.train_set = _tensor_split(dataset, "train", n_train, size, seed)
        self.val_set = _tensor_split(dataset, "val", n_val, size, seed)
        self._n_test = n_test
        self._test_set: Any = None
        self.in_channels = int(self.train_set.tensors[0].shape[1])
        self.calls = 0

    @property
    def test_set(self) -> Any:
        """The held-out test split (made on first use: touch it once, at the very end)."""
        if self._test_set is None:
            self._test_set = _tensor_split(self.dataset, "test", self._n_test, self.size, self.seed)
        return self._test_set

    def config(self, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The full configuration: the defaults overridden by ``params``."""
        params = dict(params or {})
        unknown = sorted(set(params) - set(self.TUNABLE))
        if unknown:
            raise ValueError(f"unknown hyperparameter(s) {unknown}; this objective tunes {', '.join(self.TUNABLE)}.")
        cfg = {**self.defaults, **params}
        if not cfg["lr"] > 0 or cfg["weight_decay"] < 0 or not 0 <= cfg["aug"] <= 1:
            raise ValueError(f"need lr > 0, weight_decay >= 0 and 0 <= aug <= 1; got {format_params(cfg)}.")
        for key in ("batch_size", "epochs", "base_channels"):
            cfg[key] = int(cfg[key])
            if cfg[key] < 1:
                raise ValueError(f"{key}={cfg[key]} must be a positive int.")
        return cfg

    def train(self, params: Mapping[str, Any] | None = None, trial: Any = None) -> TrialRun:
        """Train one model with ``params`` (reporting the val score per epoch to ``trial`` for pruning)."""
        from torch.utils.data import DataLoader

        from .. import models
        from ..losses import create_loss
        from ..training import Learner, SegmentationStep, evaluate

        cfg = self.config(params)
        start = time.perf_counter()
        torch.manual_seed(self.seed)
        model = models.create("unet", in_channels=self.in_channels, num_classes=2,
                              base_channels=cfg["base_channels"], depth=self.depth).to(self.device)
        optimizer = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
        g = torch.Generator().manual_seed(self.seed)
        loader = DataLoader(self.train_set, batch_size=cfg["batch_size"], shuffle=True, generator=g)
        log = TrialLog(trial)
        self.calls += 1
        Learner(model, loader, optimizer, SegmentationStep(create_loss(self.loss)), val_loader=DataLoader(self.val_set, batch_size=256),
                evaluate=lambda m, data, device: evaluate(m, data, num_classes=2, device=device),
                callbacks=[RandomFlips(cfg["aug"], g), log], device=self.device).fit(cfg["epochs"])
        return TrialRun(model, cfg, log.step_losses, log.val_scores, time.perf_counter() - start)

    def __call__(self, params: Mapping[str, Any] | None = None, trial: Any = None) -> float:
        """Train with ``params`` and return the validation Dice of the foreground after the last epoch."""
        return self.train(params, trial).score

    def test_score(self, params: Mapping[str, Any] | TrialRun | None = None) -> float:
        """Dice on the held-out test split of a finished :class:`TrialRun`, or of a fresh training with ``params``."""
        from torch.utils.data import DataLoader

        from ..training import evaluate

        run = params if isinstance(params, TrialRun) else self.train(params)
        return float(evaluate(run.model, DataLoader(self.test_set, batch_size=256), num_classes=2, device=self.device)["fg_dice"])

    def __repr__(self) -> str:
        return (f"SegmentationObjective({self.dataset!r}, {len(self.train_set)} train / {len(self.val_set)} val images "
                f"of {self.size}×{self.size}, U-Net depth {self.depth}, defaults {format_params(self.defaults)})")


def segmentation_objective(
    dataset: str = "synthetic-nuclei",
    n_train: int = 64,
    n_val: int = 48,
    n_test: int = 200,
    size: int = 32,
    epochs: int = 3,
    batch_size: int = 8,
    lr: float = 1e-2,
    weight_decay: float = 1e-4,
    aug: float = 0.0,
    base_channels: int = 8,
    depth: int = 2,
    loss: str = "combo",
    seed: int = 0,
    device: Any = None,
) -> SegmentationObjective:
    """A ready objective for searches: a small U-Net on a binary synthetic dataset, scored by val foreground Dice.

    The arguments are the fixed settings and the defaults of the tunable ones; a trial overrides some of them.
    With the defaults one trial trains 24 steps of 8 images of 32×32 (under a second on one CPU thread).
    """
    from ..data.registry import DATASETS

    if dataset not in DATASETS or DATASETS[dataset].num_classes != 2 or not DATASETS[dataset].synthetic:
        binary = [n for n, d in DATASETS.items() if d.num_classes == 2 and d.synthetic]
        raise ValueError(f"dataset={dataset!r} must be a binary synthetic dataset; use one of {', '.join(binary)}.")
    for name, value in (("n_train", n_train), ("n_val", n_val), ("n_test", n_test), ("size", size), ("depth", depth)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}={value!r} must be a positive int.")
    defaults = dict(lr=lr, weight_decay=weight_decay, batch_size=batch_size, epochs=epochs, aug=aug, base_channels=base_channels)
    objective = SegmentationObjective(dataset, n_train, n_val, n_test, size, defaults, depth, loss, seed, device)
    objective.config()  # validates the defaults
    return objective

