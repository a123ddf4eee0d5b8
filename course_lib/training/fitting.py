"""``fit`` and ``fit_detection``: the convenient keyword fronts that build a :class:`Learner` with callbacks."""

from __future__ import annotations

import math
import os
from typing import Any, Callable, Iterable

import torch
from torch import nn

from ..runtime import resolve_device, seed_everything
from ..validation import check_choice, check_int, check_optional, check_positive
from .callbacks import (MONITORS, BestWeights, Checkpoint, EarlyStopping, GradientClipping, LivePlot, LRScheduler,
                        ProgressBar, Recorder, StepLimit, TimeBudget, make_scheduler)
from .engine import Callback, Learner
from .evaluation import METRICS, score_loader
from .history import History
from .steps import SegmentationStep, detection_step, resolve_loss

__all__ = ["fit", "fit_detection", "train_one_epoch", "default_optimizer"]


def default_optimizer(model: nn.Module, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    """AdamW over the trainable parameters of ``model``."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    if not trainable:
        raise ValueError("model has no trainable parameters (all frozen); unfreeze some or pass an optimizer.")
    return torch.optim.AdamW(trainable, lr=lr, weight_decay=weight_decay)


def _loader_length(loader: Iterable) -> int | None:
    try:
        return len(loader)  # type: ignore[arg-type]
    except TypeError:
        return None


def _check_metric(metric: Any) -> None:
    if isinstance(metric, str) and metric not in METRICS:
        raise ValueError(f"metric={metric!r} is not known; use one of {', '.join(METRICS)}, a callable(logits, target), or None.")
    if metric is not None and not isinstance(metric, str) and not callable(metric):
        raise TypeError(f"metric={metric!r} must be a metric name, a callable(logits, target) -> float, or None.")


def _pick_monitor(monitor: str | None, val_loader: Any, metric: Any) -> str:
    """The monitored value: the one asked for, checked against what this run measures, or the natural default."""
    has_metric = val_loader is not None and metric is not None
    if monitor is None:
        return "val_metric" if has_metric else "val_loss" if val_loader is not None else "train_loss"
    check_choice("monitor", monitor, MONITORS)
    if monitor == "val_metric" and not has_metric:
        raise ValueError("monitor='val_metric' needs a val_loader and a metric.")
    if monitor == "val_loss" and val_loader is None:
        raise ValueError("monitor='val_loss' needs a val_loader.")
    return monitor


def _scheduler_callback(scheduler: Any, scheduler_step: str | None, optimizer: torch.optim.Optimizer, epochs: int,
                        steps_per_epoch: int | None) -> list[Callback]:
    """An LRScheduler callback for ``scheduler`` (none without one)."""
    if scheduler_step is not None:
        check_choice("scheduler_step", scheduler_step, ("epoch", "batch"))
    sched, natural = make_scheduler(scheduler, optimizer, epochs, steps_per_epoch)
    return [] if sched is None else [LRScheduler(sched, scheduler_step or natural or "epoch")]


def _optional_callbacks(grad_clip: float | None, max_time: float | None, patience: int | None,
                        checkpoint_path: Any, restore_best: bool) -> list[Callback]:
    """The callbacks that fit's keyword arguments switch on."""
    cbs: list[Callback] = []
    if grad_clip is not None:
        cbs.append(GradientClipping(grad_clip))
    if max_time is not None:
        cbs.append(TimeBudget(max_time))
    if patience is not None:
        cbs.append(EarlyStopping(patience))
    if restore_best:
        cbs.append(BestWeights())
    if checkpoint_path is not None:
        cbs.append(Checkpoint(checkpoint_path))
    return cbs


def _display_callbacks(progress: bool, live_plot: bool, log_every: int, describe: Any = None, total: int | None = None) -> list[Callback]:
    """ProgressBar and LivePlot, as asked."""
    kwargs = {} if describe is None else {"describe": describe}
    cbs: list[Callback] = [LivePlot(**kwargs)] if live_plot else []
    return cbs + ([ProgressBar(log_every=log_every, total=total, **kwargs)] if progress else [])


def fit(
    model: nn.Module, train_loader: Iterable, val_loader: Iterable | None = None, *,
    loss_fn: Callable | str | None = None, epochs: int = 10, optimizer: torch.optim.Optimizer | None = None,
    lr: float = 1e-3, weight_decay: float = 1e-4, scheduler: Any = None, scheduler_step: str | None = None,
    metric: str | Callable | None = "miou", num_classes: int | None = None, ignore_index: int | None = None,
    monitor: str | None = None, device: Any = None, grad_clip: float | None = None,
    early_stopping_patience: int | None = None, checkpoint_path: str | os.PathLike | None = None,
    restore_best: bool | None = None, seed: int | None = None, progress: bool = True, live_plot: bool = True,
    max_time: float | None = None, log_every: int = 10, callbacks: list[Callback] | tuple = (),
) -> History:
    """Train ``model`` for ``epochs`` (or until ``max_time`` seconds), validating after each epoch; returns a History.

    * ``loss_fn``: callable(logits, target); None = cross-entropy (BCE-with-logits for one output channel);
      a name like "combo" uses ``course_lib.losses.create_loss``.
    * ``optimizer``: default AdamW(lr, weight_decay) over the trainable parameters.
    * ``scheduler``: "cosine", "onecycle", an LR scheduler, or a function(optimizer) -> scheduler;
      stepped per ``scheduler_step`` ("epoch" or "batch"; ReduceLROnPlateau gets the monitored value).
    * ``metric``: one of METRICS (on a confusion matrix over the whole validation set) or a
      callable(logits, target) -> float averaged over images (higher is better).
    * ``monitor``: what "best" means: "val_metric" (default with a val_loader and metric), "val_loss", "train_loss".
    * ``early_stopping_patience``: stop after this many epochs without improvement of the monitored value.
    * ``checkpoint_path``: save the best model there (``save_checkpoint``); ``restore_best`` (default: True
      when validating) puts the best epoch's weights back into ``model`` at the end.
    * ``max_time``: wall-clock budget in seconds for training; the epoch in progress stops at the budget and
      is still validated, so fit returns after about max_time plus one validation pass.
    * ``progress``: tqdm bar (a widget in notebooks) and one line per epoch; ``live_plot``: a loss/metric
      figure redrawn in place when running in a notebook (ignored elsewhere).
    * ``callbacks``: more :class:`~course_lib.training.Callback` objects, run with the ones above.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
    check_int("epochs", epochs)
    check_positive("lr", lr)
    for name, value in (("grad_clip", grad_clip), ("max_time", max_time)):
        check_positive(name, value, allow_none=True)
    for name, value in (("early_stopping_patience", early_stopping_patience), ("num_classes", num_classes)):
        check_optional(check_int, name, value)
    check_int("log_every", log_every)
    _check_metric(metric)
    monitor = _pick_monitor(monitor, val_loader, metric)
    if seed is not None:
        seed_everything(seed)
    dev = resolve_device(device)
    model.to(dev)
    criterion = resolve_loss(loss_fn, ignore_index)
    optimizer = optimizer or default_optimizer(model, lr, weight_decay)
    metric_fn = metric if callable(metric) and not isinstance(metric, str) else None

    def evaluate(m: nn.Module, loader: Iterable, device: torch.device) -> dict:
        return score_loader(m, loader, device, criterion, num_classes, ignore_index, metric_fn, 0.5, isinstance(metric, str))

    cbs = [Recorder(metric if val_loader is not None else None, monitor)]
    cbs += _scheduler_callback(scheduler, scheduler_step, optimizer, epochs, _loader_length(train_loader))
    cbs += _optional_callbacks(grad_clip, max_time, early_stopping_patience, checkpoint_path,
                               val_loader is not None if restore_best is None else restore_best)
    cbs += _display_callbacks(progress, live_plot, log_every) + list(callbacks)
    learner = Learner(model, train_loader, optimizer, SegmentationStep(criterion), val_loader=val_loader,
                      evaluate=evaluate, callbacks=cbs, device=dev)
    return learner.fit(epochs).history


def train_one_epoch(model: nn.Module, loader: Iterable, optimizer: torch.optim.Optimizer,
                    loss_fn: Callable | str | None = None, device: Any = None, grad_clip: float | None = None,
                    max_time: float | None = None) -> dict[str, Any]:
    """One pass of training over ``loader``: returns {"loss" (mean per image), "steps", "images", ...}."""
    check_positive("grad_clip", grad_clip, allow_none=True)
    check_positive("max_time", max_time, allow_none=True)
    recorder, budget = Recorder(), TimeBudget(max_time) if max_time is not None else None
    cbs = [recorder] + ([GradientClipping(grad_clip)] if grad_clip is not None else []) + ([budget] if budget else [])
    learner = Learner(model, loader, optimizer, SegmentationStep(resolve_loss(loss_fn, None)), callbacks=cbs, device=device)
    h = learner.fit(1).history
    return {"loss": h.train_loss[0], "steps": h.steps, "images": recorder.seen, "grad_norm": h.grad_norm[0],
            "stopped_by_time": bool(budget and budget.hit)}


def _describe_pass(h: History, epochs: int) -> str:
    """The one-line report of a detection pass."""
    return f"pass {h.epoch[-1]}  loss {h.train_loss[-1]:.4f}  steps {h.steps}  {h.time[-1]:.1f}s"


def fit_detection(
    model: nn.Module, loader: Iterable, *, epochs: int | None = None, steps: int | None = None,
    optimizer: torch.optim.Optimizer | None = None, lr: float = 1e-3, weight_decay: float = 1e-4,
    scheduler: Any = None, device: Any = None, grad_clip: float | None = 10.0, seed: int | None = None,
    max_time: float | None = None, progress: bool = True, live_plot: bool = True, log_every: int = 5,
    callbacks: list[Callback] | tuple = (),
) -> History:
    """Train a torchvision detection model (Mask R-CNN etc.: the model returns a dict of losses in train mode).

    Runs ``epochs`` passes over ``loader`` or exactly ``steps`` optimizer steps (re-using the loader), stopping
    early at ``max_time`` seconds. Default optimizer AdamW(lr, weight_decay). The History holds the mean total
    loss per pass in ``train_loss`` and each loss part in ``extra``. Same engine as :func:`fit`, with the
    detection step.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
    for name, value in (("epochs", epochs), ("steps", steps)):
        check_optional(check_int, name, value)
    check_positive("lr", lr)
    check_positive("grad_clip", grad_clip, allow_none=True)
    check_positive("max_time", max_time, allow_none=True)
    check_int("log_every", log_every)
    if epochs is not None and steps is not None:
        raise ValueError("pass epochs or steps, not both.")
    if seed is not None:
        seed_everything(seed)
    dev = resolve_device(device)
    model.to(dev)
    optimizer = optimizer or torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=weight_decay)
    per_pass = _loader_length(loader)
    passes = epochs if steps is None else (math.ceil(steps / per_pass) if per_pass else 10**9)
    passes = passes or 1
    total = steps if steps is not None else (passes * per_pass if per_pass else None)
    cbs = [Recorder(None, "train_loss")] + _scheduler_callback(scheduler, None, optimizer, passes, per_pass)
    cbs += [GradientClipping(grad_clip, record=False)] if grad_clip is not None else []
    cbs += [StepLimit(steps)] if steps is not None else []
    cbs += _optional_callbacks(None, max_time, None, None, False)
    cbs += _display_callbacks(progress, live_plot, log_every, _describe_pass, total) + list(callbacks)
    learner = Learner(model, loader, optimizer, detection_step, callbacks=cbs, device=dev)
    return learner.fit(passes).history
