"""The callbacks behind :func:`fit`: each one feature, reacting to the events of :class:`Learner`.

Order (lower first): Recorder 0, GradientClipping 5, BestWeights 20, Checkpoint 21, EarlyStopping 30,
TimeBudget 40, StepLimit 41, LRScheduler 50, LivePlot 60, ProgressBar 70.
"""

from __future__ import annotations

import io
import math
import os
import time
from typing import Any, Callable, Mapping

import torch

from ..validation import check_choice, check_int, check_positive
from .engine import Callback
from .evaluation import metric_value
from .history import History, describe_epoch, draw_history, summary_line

__all__ = [
    "MONITORS", "Recorder", "GradientClipping", "BestWeights", "Checkpoint", "EarlyStopping", "TimeBudget",
    "StepLimit", "LRScheduler", "make_scheduler", "LivePlot", "ProgressBar", "StepTimer", "in_notebook",
]

MONITORS = ("val_metric", "val_loss", "train_loss")


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where rich display updates work)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


class Recorder(Callback):
    """Keeps ``learner.history``: mean loss per epoch, validation figures, LR, time; marks the best epoch.

    After each epoch it sets ``learner.monitored`` (the monitored value) and ``learner.improved``.
    ``metric`` is a name from METRICS or a callable whose mean is in ``learner.val["metric"]``.
    """

    order = 0

    def __init__(self, metric: str | Callable | None = None, monitor: str = "train_loss") -> None:
        self.metric, self.monitor = metric, check_choice("monitor", monitor, MONITORS)
        self.mode = "max" if monitor == "val_metric" else "min"

    def before_fit(self, learner: Any) -> None:
        name = None if self.metric is None else self.metric if isinstance(self.metric, str) else getattr(self.metric, "__name__", "metric")
        learner.history = History(metric_name=name, monitor=self.monitor, mode=self.mode, stop_reason="completed")
        self.start = time.perf_counter()

    def before_epoch(self, learner: Any) -> None:
        self.total, self.seen, self.steps = torch.zeros((), device=learner.device), 0, 0
        self.parts: dict[str, float] = {}

    def after_batch(self, learner: Any) -> None:
        out = learner.out
        self.total += out.loss.detach() * out.count
        self.seen, self.steps = self.seen + out.count, self.steps + 1
        learner.history.steps += 1
        for key, value in out.parts.items():
            self.parts[key] = self.parts.get(key, 0.0) + float(value.detach())

    @property
    def running_loss(self) -> float:
        """The mean loss of this epoch so far."""
        return float(self.total) / max(self.seen, 1)

    def after_train(self, learner: Any) -> None:
        self.loss = float(self.total) / self.seen
        if not math.isfinite(self.loss):
            raise FloatingPointError(
                f"the training loss became {self.loss}; lower the learning rate, use grad_clip=1.0, or check the data "
                f"for NaNs and the targets for values outside 0..num_classes-1."
            )

    def _metric(self, val: Mapping[str, Any]) -> float | None:
        if self.metric is None or not val:
            return None
        return val["metric"] if not isinstance(self.metric, str) else metric_value(val, self.metric)

    def after_epoch(self, learner: Any) -> None:
        h, val = learner.history, learner.val
        h.epoch.append(learner.epoch)
        h.train_loss.append(self.loss)
        h.val_loss.append(val.get("loss"))
        h.val_metric.append(self._metric(val))
        h.lr.append(float(learner.optimizer.param_groups[0]["lr"]))
        h.time.append(time.perf_counter() - self.start)
        h.grad_norm.append(None)
        for key, value in self.parts.items():
            h.extra.setdefault(key, []).append(value / self.steps)
        current = {"val_metric": h.val_metric[-1], "val_loss": h.val_loss[-1], "train_loss": self.loss}[self.monitor]
        learner.monitored = current
        learner.improved = current is not None and not math.isnan(current) and (
            h.best_value is None or (current > h.best_value if self.mode == "max" else current < h.best_value))
        if learner.improved:
            h.best_epoch, h.best_value = learner.epoch, float(current)


class GradientClipping(Callback):
    """Clips the gradient norm to ``max_norm`` before each optimizer step; records the mean norm per epoch."""

    order = 5

    def __init__(self, max_norm: float, record: bool = True) -> None:
        self.max_norm, self.record = check_positive("grad_clip", max_norm), record

    def before_epoch(self, learner: Any) -> None:
        self.params = [p for g in learner.optimizer.param_groups for p in g["params"]]
        self.norms, self.steps = torch.zeros((), device=learner.device), 0

    def after_backward(self, learner: Any) -> None:
        self.norms += torch.nn.utils.clip_grad_norm_(self.params, self.max_norm).detach()
        self.steps += 1

    def after_epoch(self, learner: Any) -> None:
        if self.record and getattr(learner, "history", None) is not None:
            learner.history.grad_norm[-1] = float(self.norms) / self.steps


class BestWeights(Callback):
    """Keeps a copy of the weights of the best epoch and puts them back when training ends."""

    order = 20

    def before_fit(self, learner: Any) -> None:
        self.state: dict[str, torch.Tensor] | None = None

    def after_epoch(self, learner: Any) -> None:
        if learner.improved:
            self.state = {k: v.detach().clone() for k, v in learner.model.state_dict().items()}

    def after_fit(self, learner: Any) -> None:
        h = learner.history
        if learner.error is None and self.state is not None and h.epoch and h.best_epoch != h.epoch[-1]:
            learner.model.load_state_dict(self.state)
            h.restored_best = True


class Checkpoint(Callback):
    """Saves the model with ``save_checkpoint`` to ``path`` each time the monitored value improves."""

    order = 21

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = path

    def after_epoch(self, learner: Any) -> None:
        from ..models.checkpoints import save_checkpoint

        if learner.improved:
            h = learner.history
            save_checkpoint(learner.model, self.path, epoch=learner.epoch, monitor=h.monitor, value=float(learner.monitored),
                            metric=h.metric_name, train_loss=h.train_loss[-1], val_loss=h.val_loss[-1])


class EarlyStopping(Callback):
    """Stops after ``patience`` epochs in a row without improvement of the monitored value."""

    order = 30

    def __init__(self, patience: int) -> None:
        self.patience = check_int("early_stopping_patience", patience)

    def before_fit(self, learner: Any) -> None:
        self.bad_epochs = 0

    def after_epoch(self, learner: Any) -> None:
        self.bad_epochs = 0 if learner.improved else self.bad_epochs + 1
        if self.bad_epochs >= self.patience:
            learner.stop_fit = True
            learner.history.stop_reason = "early_stopping"


class TimeBudget(Callback):
    """Stops the epoch in progress after ``seconds`` of wall-clock time (it is still validated), then stops."""

    order = 40

    def __init__(self, seconds: float) -> None:
        self.seconds = check_positive("max_time", seconds)

    def before_fit(self, learner: Any) -> None:
        self.deadline, self.hit = time.perf_counter() + self.seconds, False

    def after_batch(self, learner: Any) -> None:
        if time.perf_counter() >= self.deadline:
            learner.stop_epoch = self.hit = True

    def after_epoch(self, learner: Any) -> None:
        if self.hit or (time.perf_counter() >= self.deadline and learner.epoch < learner.epochs):
            learner.stop_fit = True
            if getattr(learner, "history", None) is not None:
                learner.history.stop_reason = "max_time"


class StepLimit(Callback):
    """Stops after exactly ``steps`` optimizer steps in all (the epoch in progress ends there)."""

    order = 41

    def __init__(self, steps: int) -> None:
        self.steps = check_int("steps", steps)

    def before_fit(self, learner: Any) -> None:
        self.done = 0

    def after_batch(self, learner: Any) -> None:
        self.done += 1
        if self.done >= self.steps:
            learner.stop_epoch = learner.stop_fit = True


def make_scheduler(scheduler: Any, optimizer: torch.optim.Optimizer, epochs: int,
                   steps_per_epoch: int | None) -> tuple[Any, str | None]:
    """The scheduler object for ``scheduler`` and its natural step ('epoch'/'batch', None = as the caller says)."""
    if scheduler is None:
        return None, None
    if isinstance(scheduler, str):
        if scheduler == "cosine":
            if steps_per_epoch:
                return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * steps_per_epoch), "batch"
            return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs), "epoch"
        if scheduler == "onecycle":
            if not steps_per_epoch:
                raise ValueError("scheduler='onecycle' needs a loader with a length (len(train_loader)).")
            max_lr = [g["lr"] for g in optimizer.param_groups]
            return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=max_lr, total_steps=epochs * steps_per_epoch), "batch"
        raise ValueError(f"scheduler={scheduler!r} is not known; use 'cosine', 'onecycle', a scheduler, or a function(optimizer).")
    if isinstance(scheduler, (torch.optim.lr_scheduler.LRScheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)):
        return scheduler, None
    if callable(scheduler):
        return scheduler(optimizer), None
    raise TypeError(f"scheduler={scheduler!r} must be None, 'cosine', 'onecycle', an LR scheduler or a function(optimizer).")


class LRScheduler(Callback):
    """Steps an LR scheduler after each batch or each epoch (ReduceLROnPlateau gets the monitored value)."""

    order = 50

    def __init__(self, scheduler: Any, step: str = "epoch") -> None:
        self.scheduler, self.step = scheduler, check_choice("scheduler_step", step, ("epoch", "batch"))
        self.plateau = isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
        if self.plateau and step == "batch":
            raise ValueError("ReduceLROnPlateau steps once per epoch; use scheduler_step='epoch'.")

    def after_batch(self, learner: Any) -> None:
        if self.step == "batch":
            self.scheduler.step()

    def after_epoch(self, learner: Any) -> None:
        if self.step == "epoch":
            self.scheduler.step(learner.monitored) if self.plateau else self.scheduler.step()


class LivePlot(Callback):
    """A loss/metric figure in a notebook, redrawn in place at most every ``every`` seconds (off elsewhere)."""

    order = 60

    def __init__(self, describe: Callable[[History, int], str] = describe_epoch, every: float = 1.0) -> None:
        self.describe, self.every, self.handle = describe, every, None

    def before_fit(self, learner: Any) -> None:
        from IPython.display import display
        from matplotlib.figure import Figure

        self.active = in_notebook()
        if self.active:
            self.fig = Figure(figsize=(6, 3.2), dpi=80)
            self.ax = self.fig.add_subplot(1, 1, 1)
            self.fig.subplots_adjust(top=0.82, bottom=0.16, right=0.86)
            self.last = -math.inf
            self.handle = display(self._image(), display_id=True)

    def _image(self) -> Any:
        from IPython.display import Image

        buf = io.BytesIO()
        self.fig.savefig(buf, format="png")
        return Image(data=buf.getvalue(), format="png")

    def update(self, history: History, title: str, force: bool = False) -> None:
        """Redraw ``history`` with ``title`` (skipped if the last redraw was under ``every`` s ago)."""
        now = time.perf_counter()
        if not self.active or (not force and now - self.last < self.every):
            return
        self.last = now
        draw_history(self.ax, history)
        self.ax.set_title(title, fontsize=9, y=1.16)
        if self.handle is not None:
            self.handle.update(self._image())

    def after_epoch(self, learner: Any) -> None:
        self.update(learner.history, self.describe(learner.history, learner.epochs), force=learner.epoch == learner.epochs)

    def after_fit(self, learner: Any) -> None:
        if learner.error is None and learner.history.epoch:
            self.update(learner.history, self.describe(learner.history, learner.epochs), force=True)


class ProgressBar(Callback):
    """A tqdm bar over all steps (a widget in notebooks), one line per epoch, and a summary line at the end."""

    order = 70

    def __init__(self, describe: Callable[[History, int], str] = describe_epoch, log_every: int = 10,
                 total: int | None = None) -> None:
        self.describe, self.log_every, self.total = describe, check_int("log_every", log_every), total

    def before_fit(self, learner: Any) -> None:
        from tqdm.auto import tqdm

        total = self.total
        if total is None:
            try:
                total = learner.epochs * len(learner.train_loader)
            except TypeError:
                total = None
        self.bar = tqdm(total=total or None, desc="training", unit="step", dynamic_ncols=True, leave=True)

    def before_epoch(self, learner: Any) -> None:
        self.bar.set_description(f"epoch {learner.epoch}/{learner.epochs}", refresh=False)

    def after_batch(self, learner: Any) -> None:
        self.bar.update(1)
        recorder = learner.find(Recorder)
        if recorder is not None and recorder.steps % self.log_every == 0:
            self.bar.set_postfix_str(f"loss {recorder.running_loss:.4f}", refresh=False)

    def after_epoch(self, learner: Any) -> None:
        h, plot = learner.history, learner.find(LivePlot)
        if plot is None or not plot.active:
            self.bar.write(self.describe(h, learner.epochs))
        if h.metric_name and h.val_metric[-1] is not None:
            self.bar.set_postfix_str(f"loss {h.train_loss[-1]:.4f}, val_{h.metric_name} {h.val_metric[-1]:.4f}", refresh=False)

    def after_fit(self, learner: Any) -> None:
        self.bar.close()
        if learner.error is None and getattr(learner, "history", None) is not None:
            print(summary_line(learner.history), flush=True)


class StepTimer(Callback):
    """Seconds of each training step (forward, backward, optimizer step), waiting for the GPU to finish."""

    order = 90

    def __init__(self) -> None:
        self.times: list[float] = []

    def _sync(self, device: torch.device) -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        elif device.type == "mps":
            torch.mps.synchronize()

    def before_batch(self, learner: Any) -> None:
        self._sync(learner.device)
        self.start = time.perf_counter()

    def after_batch(self, learner: Any) -> None:
        self._sync(learner.device)
        self.times.append(time.perf_counter() - self.start)
