"""Training loops for segmentation: ``fit`` (with progress bars, live plot, early stopping, checkpoints),
``evaluate``, ``predict``, and ``fit_detection`` for torchvision detection models.

Introduced in lesson 04 (after writing a training loop by hand); used by every training lesson.

Shapes: images N×C×H×W; logits N×K×H×W (K classes) or N×1×H×W (binary); targets N×H×W class ids
(binary: 0/1). A batch from a loader is ``(images, targets, ...)`` or a dict with "image"/"mask".
"""

from __future__ import annotations

import io
import math
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "METRICS",
    "History",
    "fit",
    "train_one_epoch",
    "validate",
    "evaluate",
    "predict",
    "fit_detection",
]

METRICS = ("miou", "dice", "pixel_accuracy", "mean_accuracy", "fg_iou", "fg_dice")
_MONITORS = ("val_metric", "val_loss", "train_loss")


# ------------------------------------------------------------------------------------------------ small helpers
def _device(device: Any) -> torch.device:
    from .runtime import pick_device

    if device is None or isinstance(device, str):
        return pick_device(device)
    if isinstance(device, torch.device):
        return device
    raise TypeError(f"device={device!r} must be None, a string like 'cpu'/'cuda' or a torch.device.")


def _split_batch(batch: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(images, targets) from a loader batch: a tuple/list ``(images, targets, ...)`` or a dict."""
    if isinstance(batch, Mapping):
        image = next((batch[k] for k in ("image", "images", "x") if k in batch), None)
        target = next((batch[k] for k in ("mask", "masks", "target", "targets", "y") if k in batch), None)
        if image is None:
            raise ValueError(f"a batch dict needs an 'image' key (it has {sorted(batch)}).")
        return image, target
    if isinstance(batch, (tuple, list)):
        if len(batch) >= 2:
            return batch[0], batch[1]
        if len(batch) == 1:
            return batch[0], None
    if isinstance(batch, torch.Tensor):
        return batch, None
    raise ValueError(
        f"a loader batch of type {type(batch).__name__} is not understood; yield (images, masks) tuples "
        f"or dicts with 'image' and 'mask'."
    )


def _check_positive(name: str, value: Any, allow_none: bool = True, integer: bool = False) -> None:
    if value is None and allow_none:
        return
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not value > 0:
        kind = "a positive int" if integer else "a positive number"
        raise ValueError(f"{name}={value!r} must be {kind}" + (" or None." if allow_none else "."))


def _default_loss(ignore_index: int | None) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Cross-entropy for N×K×H×W logits, BCE-with-logits for N×1×H×W (targets N×H×W)."""
    ce_ignore = -100 if ignore_index is None else ignore_index

    def loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if logits.shape[1] == 1:
            t = target.reshape(logits.shape).to(logits.dtype) if target.ndim == logits.ndim - 1 else target.to(logits.dtype)
            if ignore_index is None:
                return F.binary_cross_entropy_with_logits(logits, t)
            keep = (t != ignore_index).to(logits.dtype)
            raw = F.binary_cross_entropy_with_logits(logits, t * keep, reduction="none")
            return (raw * keep).sum() / keep.sum().clamp_min(1)
        return F.cross_entropy(logits, target.long(), ignore_index=ce_ignore)

    loss.__name__ = "cross_entropy (BCE for one output channel)"
    return loss


def _resolve_loss(loss_fn: Any, ignore_index: int | None) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    if loss_fn is None:
        return _default_loss(ignore_index)
    if isinstance(loss_fn, str):
        from .losses import create_loss

        return create_loss(loss_fn)
    if not callable(loss_fn):
        raise TypeError(f"loss_fn={loss_fn!r} must be a callable loss(logits, target), a loss name like 'ce', or None.")
    if isinstance(loss_fn, nn.BCEWithLogitsLoss):  # friendly: N×1×H×W logits with N×H×W integer masks
        bce = loss_fn

        def adapted(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            if target.shape != logits.shape and target.numel() == logits.numel():
                target = target.reshape(logits.shape)
            return bce(logits, target.to(logits.dtype))

        return adapted
    return loss_fn


def _explain_loss_error(logits: torch.Tensor, target: torch.Tensor, err: Exception) -> Exception:
    """A clearer error for the usual reasons a loss fails: size mismatch or labels outside 0..K-1."""
    if isinstance(err, ValueError) and "logits" in str(err):
        return err  # course_lib.losses already explains itself
    if logits.shape[-2:] != target.shape[-2:]:
        return ValueError(
            f"the model's output is {tuple(logits.shape)} but the masks are {tuple(target.shape)}: their H×W must "
            f"match; resize the masks (nearest) or check the model keeps the input size."
        )
    if not target.is_floating_point() and target.numel():
        lo, hi = int(target.min()), int(target.max())
        k = max(int(logits.shape[1]), 2)
        if lo < 0 or hi >= k:
            return ValueError(
                f"the masks hold labels {lo}..{hi} but the model has {logits.shape[1]} output channel(s) "
                f"(labels 0..{k - 1}); set num_classes when creating the model, or pass ignore_index={hi} "
                f"if {hi} marks pixels to skip."
            )
    return err


def _to_labels(logits: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """Class ids N×H×W from logits: argmax over K channels, or sigmoid > threshold for one channel."""
    if logits.shape[1] == 1:
        return (logits[:, 0] > math.log(threshold / (1 - threshold))).long()
    return logits.argmax(dim=1)


def _output(out: Any) -> torch.Tensor:
    """The segmentation logits of a model's output (smp aux heads return (masks, labels); dicts use 'out')."""
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, (tuple, list)) and out and isinstance(out[0], torch.Tensor):
        return out[0]
    if isinstance(out, Mapping) and isinstance(out.get("out"), torch.Tensor):
        return out["out"]
    raise TypeError(f"the model returned {type(out).__name__}; fit/evaluate need a logits tensor N×K×H×W.")


def _state_copy(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _in_notebook() -> bool:
    """True inside a Jupyter kernel (where rich display updates work)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def _tqdm(**kwargs: Any) -> Any:
    from tqdm.auto import tqdm

    return tqdm(**kwargs)


def _write(bar: Any, text: str) -> None:
    if bar is not None:
        bar.write(text)
    else:
        print(text, flush=True)


def _fmt(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.4f}"


# ------------------------------------------------------------------------------------------------ History
@dataclass
class History:
    """What :func:`fit` returns: one entry per epoch, plus the best epoch and why training stopped."""

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float | None] = field(default_factory=list)
    val_metric: list[float | None] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    time: list[float] = field(default_factory=list)  # seconds since the start, at the end of each epoch
    grad_norm: list[float | None] = field(default_factory=list)  # mean gradient norm before clipping
    extra: dict[str, list[float]] = field(default_factory=dict)  # e.g. detection loss parts
    metric_name: str | None = None
    monitor: str = "train_loss"
    mode: str = "min"
    best_epoch: int | None = None
    best_value: float | None = None
    stop_reason: str = "not started"
    restored_best: bool = False
    steps: int = 0

    def __len__(self) -> int:
        return len(self.epoch)

    @property
    def best(self) -> dict[str, Any]:
        """The best epoch by the monitored value: epoch, value, and that epoch's losses and metric."""
        if self.best_epoch is None:
            return {"epoch": None, "value": None, "monitor": self.monitor}
        i = self.epoch.index(self.best_epoch)
        return {
            "epoch": self.best_epoch,
            "value": self.best_value,
            "monitor": self.monitor,
            "train_loss": self.train_loss[i],
            "val_loss": self.val_loss[i],
            self.metric_name or "val_metric": self.val_metric[i],
        }

    @property
    def total_time(self) -> float:
        """Seconds from the start of training to the end of the last epoch."""
        return self.time[-1] if self.time else 0.0

    def as_dict(self) -> dict[str, list[Any]]:
        """Per-epoch columns as plain lists (``pandas.DataFrame(history.as_dict())`` works)."""
        cols: dict[str, list[Any]] = {
            "epoch": list(self.epoch),
            "train_loss": list(self.train_loss),
            "val_loss": list(self.val_loss),
            f"val_{self.metric_name or 'metric'}": list(self.val_metric),
            "lr": list(self.lr),
            "time": list(self.time),
        }
        if any(g is not None for g in self.grad_norm):
            cols["grad_norm"] = list(self.grad_norm)
        cols.update({k: list(v) for k, v in self.extra.items()})
        return cols

    def to_dataframe(self) -> Any:
        """The per-epoch table as a pandas DataFrame (needs pandas installed)."""
        try:
            import pandas as pd
        except ImportError as err:
            raise ImportError("to_dataframe() needs pandas (pip install pandas); history.as_dict() works without it.") from err
        return pd.DataFrame(self.as_dict())

    def plot(self, ax: Any = None) -> Any:
        """Loss curves (and the validation metric on a second axis); returns the matplotlib Figure."""
        import matplotlib.pyplot as plt

        if ax is None:
            fig, ax = plt.subplots(figsize=(6, 3.2))
        else:
            fig = ax.figure
        _draw(ax, self)
        fig.tight_layout()
        return fig

    def __repr__(self) -> str:
        best = ""
        if self.best_epoch is not None:
            best = f", best {self.monitor}={self.best_value:.4f} at epoch {self.best_epoch}"
        return f"History({len(self)} epochs, {self.steps} steps, {self.total_time:.1f}s, stop_reason={self.stop_reason!r}{best})"


def _draw(ax: Any, h: History) -> None:
    ax.clear()
    for twin in getattr(ax, "_course_twins", []):
        twin.remove()
    ax._course_twins = []
    ax.plot(h.epoch, h.train_loss, "o-", ms=3, label="train loss")
    if any(v is not None for v in h.val_loss):
        ax.plot(h.epoch, [math.nan if v is None else v for v in h.val_loss], "o-", ms=3, label="val loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    handles, labels = ax.get_legend_handles_labels()
    if any(v is not None for v in h.val_metric):
        twin = ax.twinx()
        ax._course_twins.append(twin)
        twin.plot(h.epoch, [math.nan if v is None else v for v in h.val_metric], "s-", ms=3, color="tab:green",
                  label=f"val {h.metric_name}")
        twin.set_ylabel(str(h.metric_name))
        h2, l2 = twin.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    ax.legend(handles, labels, loc="upper center", fontsize=8, ncol=3, frameon=False, bbox_to_anchor=(0.5, 1.18))
    if h.epoch:
        from matplotlib.ticker import MaxNLocator

        ax.set_xlim(min(h.epoch) - 0.5, max(max(h.epoch), 1) + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


class _LivePlot:
    """A loss/metric figure in a notebook, redrawn in place (IPython display_id) at most every ``every`` s."""

    def __init__(self, every: float = 1.0) -> None:
        from IPython.display import display
        from matplotlib.figure import Figure

        self.fig = Figure(figsize=(6, 3.2), dpi=80)
        self.ax = self.fig.add_subplot(1, 1, 1)
        self.fig.subplots_adjust(top=0.82, bottom=0.16, right=0.86)
        self.every = every
        self.last = -math.inf
        self.handle = display(self._image(), display_id=True)

    def _image(self) -> Any:
        from IPython.display import Image

        buf = io.BytesIO()
        self.fig.savefig(buf, format="png")
        return Image(data=buf.getvalue(), format="png")

    def update(self, history: History, title: str, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self.last < self.every:
            return
        self.last = now
        _draw(self.ax, history)
        self.ax.set_title(title, fontsize=9, y=1.16)
        if self.handle is not None:
            self.handle.update(self._image())


# ------------------------------------------------------------------------------------------------ epochs
def _grad_norm(params: list[torch.Tensor]) -> torch.Tensor:
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))


def _train_epoch(
    model: nn.Module,
    loader: Iterable,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable,
    device: torch.device,
    grad_clip: float | None,
    batch_scheduler: Any,
    deadline: float | None,
    bar: Any,
    log_every: int,
    max_steps: int | None = None,
) -> dict[str, Any]:
    """One pass over ``loader`` (stops early at ``deadline`` or ``max_steps``); returns loss, steps, norms."""
    model.train()
    params = [p for g in optimizer.param_groups for p in g["params"]]
    total = torch.zeros((), device=device)
    norm_total = torch.zeros((), device=device)
    seen = steps = 0
    stopped = False
    for batch in loader:
        images, target = _split_batch(batch)
        if target is None:
            raise ValueError("the training loader yields no targets; yield (images, masks) pairs.")
        images = images.to(device, non_blocking=True)
        target = target.to(device, non_blocking=True)
        logits = _output(model(images))
        try:
            loss = loss_fn(logits, target)
        except (RuntimeError, IndexError, ValueError) as err:
            raise _explain_loss_error(logits, target, err) from err
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip is not None:
            norm_total += torch.nn.utils.clip_grad_norm_(params, grad_clip).detach()
        optimizer.step()
        if batch_scheduler is not None:
            batch_scheduler.step()
        n = images.shape[0]
        total += loss.detach() * n
        seen += n
        steps += 1
        if bar is not None:
            bar.update(1)
            if steps % log_every == 0:
                bar.set_postfix_str(f"loss {float(total) / seen:.4f}", refresh=False)
        if deadline is not None and time.perf_counter() >= deadline:
            stopped = True
            break
        if max_steps is not None and steps >= max_steps:
            break
    if seen == 0:
        raise ValueError("the training loader yielded no batches; check the dataset is not empty.")
    loss_value = float(total) / seen
    if not math.isfinite(loss_value):
        raise FloatingPointError(
            f"the training loss became {loss_value}; lower the learning rate, use grad_clip=1.0, or check the data "
            f"for NaNs and the targets for values outside 0..num_classes-1."
        )
    return {
        "loss": loss_value,
        "steps": steps,
        "images": seen,
        "grad_norm": float(norm_total) / steps if grad_clip is not None else None,
        "stopped_by_time": stopped,
    }


def train_one_epoch(
    model: nn.Module,
    loader: Iterable,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable | str | None = None,
    device: Any = None,
    grad_clip: float | None = None,
    max_time: float | None = None,
) -> dict[str, Any]:
    """One pass of training over ``loader``: returns {"loss" (mean per image), "steps", "images", ...}."""
    _check_positive("grad_clip", grad_clip)
    _check_positive("max_time", max_time)
    dev = _device(device)
    model.to(dev)
    deadline = None if max_time is None else time.perf_counter() + max_time
    return _train_epoch(model, loader, optimizer, _resolve_loss(loss_fn, None), dev, grad_clip, None, deadline, None, 10**9)


def _metric_value(metrics: Mapping[str, Any], name: str) -> float:
    if name in ("fg_iou", "fg_dice"):
        per_class = metrics["per_class_iou" if name == "fg_iou" else "per_class_dice"]
        if len(per_class) != 2:
            raise ValueError(f"metric={name!r} is for binary segmentation (2 classes); use 'miou' or 'dice'.")
        return metrics[name]
    return float(metrics[name])


@torch.no_grad()
def _run_eval(
    model: nn.Module,
    loader: Iterable,
    device: torch.device,
    loss_fn: Callable | None,
    num_classes: int | None,
    ignore_index: int | None,
    metric_fn: Callable | None,
    threshold: float,
    want_confusion: bool = True,
) -> dict[str, Any]:
    from .metrics import SegmentationMeter

    was_training = model.training
    model.eval()
    meter = None
    loss_total = 0.0
    metric_total = 0.0
    seen = 0
    try:
        for batch in loader:
            images, target = _split_batch(batch)
            if target is None:
                raise ValueError("the evaluation loader yields no targets; yield (images, masks) pairs.")
            images = images.to(device, non_blocking=True)
            target = target.to(device, non_blocking=True)
            logits = _output(model(images))
            n = images.shape[0]
            if loss_fn is not None:
                loss_total += float(loss_fn(logits, target)) * n
            if metric_fn is not None:
                metric_total += float(metric_fn(logits, target)) * n
            if want_confusion:
                if meter is None:
                    k = num_classes if num_classes is not None else max(int(logits.shape[1]), 2)
                    meter = SegmentationMeter(k, ignore_index)
                t = target.reshape(target.shape[0], *target.shape[-2:]) if target.ndim == 4 and target.shape[1] == 1 else target
                meter.update(_to_labels(logits, threshold), t.long())
            seen += n
    finally:
        model.train(was_training)
    if seen == 0:
        raise ValueError("the evaluation loader yielded no batches; check the dataset is not empty.")
    result: dict[str, Any] = {"images": seen}
    if loss_fn is not None:
        result["loss"] = loss_total / seen
    if metric_fn is not None:
        result["metric"] = metric_total / seen
    if meter is not None:
        scores = meter.compute()
        result.update(
            miou=scores["miou"],
            dice=scores["dice"],
            pixel_accuracy=scores["pixel_accuracy"],
            mean_accuracy=scores["mean_accuracy"],
            per_class_iou=[float(v) for v in scores["per_class_iou"]],
            per_class_dice=[float(v) for v in scores["per_class_dice"]],
            confusion_matrix=scores["confusion_matrix"],
        )
        if meter.num_classes == 2:
            from .metrics import dice_from_confusion, iou_from_confusion

            cm = scores["confusion_matrix"]
            result["fg_iou"] = float(iou_from_confusion(cm, "binary", ignore_index))
            result["fg_dice"] = float(dice_from_confusion(cm, "binary", ignore_index))
    return result


def evaluate(
    model: nn.Module,
    loader: Iterable,
    num_classes: int | None = None,
    device: Any = None,
    ignore_index: int | None = None,
    threshold: float = 0.5,
) -> dict[str, Any]:
    """Scores of ``model`` on ``loader``: miou, dice, pixel_accuracy, mean_accuracy, per-class IoU/Dice, confusion matrix.

    ``num_classes`` defaults to the model's output channels (2 for a one-channel binary model, thresholded
    at ``threshold``). Binary models also get ``fg_iou`` and ``fg_dice`` (foreground = class 1).
    """
    _check_positive("num_classes", num_classes, integer=True)
    dev = _device(device)
    model.to(dev)
    return _run_eval(model, loader, dev, None, num_classes, ignore_index, None, threshold)


def validate(
    model: nn.Module,
    loader: Iterable,
    loss_fn: Callable | str | None = None,
    num_classes: int | None = None,
    device: Any = None,
    ignore_index: int | None = None,
    threshold: float = 0.5,
) -> dict[str, Any]:
    """Like :func:`evaluate`, plus the mean ``loss`` over the loader (what :func:`fit` runs after each epoch)."""
    _check_positive("num_classes", num_classes, integer=True)
    dev = _device(device)
    model.to(dev)
    return _run_eval(model, loader, dev, _resolve_loss(loss_fn, ignore_index), num_classes, ignore_index, None, threshold)


# ------------------------------------------------------------------------------------------------ fit
def _make_scheduler(scheduler: Any, optimizer: torch.optim.Optimizer, epochs: int, steps_per_epoch: int | None) -> tuple[Any, str | None]:
    """The scheduler object and its natural step ('epoch'/'batch', None = as the caller says)."""
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


def _describe_epoch(h: History, epochs: int) -> str:
    i = -1
    parts = [f"epoch {h.epoch[i]:>3}/{epochs}", f"train_loss {_fmt(h.train_loss[i])}"]
    if h.val_loss[i] is not None:
        parts.append(f"val_loss {_fmt(h.val_loss[i])}")
    if h.val_metric[i] is not None:
        parts.append(f"val_{h.metric_name} {_fmt(h.val_metric[i])}")
    parts += [f"lr {h.lr[i]:.2e}", f"{h.time[i]:.1f}s"]
    return "  ".join(parts)


def fit(
    model: nn.Module,
    train_loader: Iterable,
    val_loader: Iterable | None = None,
    *,
    loss_fn: Callable | str | None = None,
    epochs: int = 10,
    optimizer: torch.optim.Optimizer | None = None,
    lr: float = 1e-3,
    weight_decay: float = 1e-4,
    scheduler: Any = None,
    scheduler_step: str | None = None,
    metric: str | Callable | None = "miou",
    num_classes: int | None = None,
    ignore_index: int | None = None,
    monitor: str | None = None,
    device: Any = None,
    grad_clip: float | None = None,
    early_stopping_patience: int | None = None,
    checkpoint_path: str | os.PathLike | None = None,
    restore_best: bool | None = None,
    seed: int | None = None,
    progress: bool = True,
    live_plot: bool = True,
    max_time: float | None = None,
    log_every: int = 10,
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
    """
    from .runtime import seed_everything

    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
    _check_positive("epochs", epochs, allow_none=False, integer=True)
    _check_positive("lr", lr, allow_none=False)
    _check_positive("grad_clip", grad_clip)
    _check_positive("max_time", max_time)
    _check_positive("early_stopping_patience", early_stopping_patience, integer=True)
    _check_positive("num_classes", num_classes, integer=True)
    _check_positive("log_every", log_every, allow_none=False, integer=True)
    if isinstance(metric, str) and metric not in METRICS:
        raise ValueError(f"metric={metric!r} is not known; use one of {', '.join(METRICS)}, a callable(logits, target), or None.")
    if metric is not None and not isinstance(metric, str) and not callable(metric):
        raise TypeError(f"metric={metric!r} must be a metric name, a callable(logits, target) -> float, or None.")
    if scheduler_step not in (None, "epoch", "batch"):
        raise ValueError(f"scheduler_step={scheduler_step!r} must be 'epoch', 'batch' or None (automatic).")
    has_metric = val_loader is not None and metric is not None
    if monitor is None:
        monitor = "val_metric" if has_metric else "val_loss" if val_loader is not None else "train_loss"
    if monitor not in _MONITORS:
        raise ValueError(f"monitor={monitor!r} must be one of {', '.join(_MONITORS)}.")
    if monitor == "val_metric" and not has_metric:
        raise ValueError("monitor='val_metric' needs a val_loader and a metric.")
    if monitor == "val_loss" and val_loader is None:
        raise ValueError("monitor='val_loss' needs a val_loader.")
    if restore_best is None:
        restore_best = val_loader is not None
    if seed is not None:
        seed_everything(seed)

    dev = _device(device)
    model.to(dev)
    criterion = _resolve_loss(loss_fn, ignore_index)
    if optimizer is None:
        trainable = [p for p in model.parameters() if p.requires_grad]
        if not trainable:
            raise ValueError("model has no trainable parameters (all frozen); unfreeze some or pass an optimizer.")
        optimizer = torch.optim.AdamW(trainable, lr=lr, weight_decay=weight_decay)
    try:
        steps_per_epoch = len(train_loader)  # type: ignore[arg-type]
    except TypeError:
        steps_per_epoch = None
    sched, auto_step = _make_scheduler(scheduler, optimizer, epochs, steps_per_epoch)
    step_mode = scheduler_step or auto_step or "epoch"
    plateau = isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau)
    if plateau and step_mode == "batch":
        raise ValueError("ReduceLROnPlateau steps once per epoch; use scheduler_step='epoch'.")

    mode = "max" if monitor == "val_metric" else "min"
    metric_name = None if metric is None or val_loader is None else (metric if isinstance(metric, str) else getattr(metric, "__name__", "metric"))
    history = History(metric_name=metric_name, monitor=monitor, mode=mode, stop_reason="completed")
    metric_fn = metric if callable(metric) and not isinstance(metric, str) else None

    bar = None
    if progress:
        bar = _tqdm(total=epochs * steps_per_epoch if steps_per_epoch else None, desc="training", unit="step",
                    dynamic_ncols=True, leave=True)
    plot = _LivePlot() if live_plot and _in_notebook() else None
    best_state: dict[str, torch.Tensor] | None = None
    bad_epochs = 0
    start = time.perf_counter()
    deadline = None if max_time is None else start + max_time
    try:
        for epoch in range(1, epochs + 1):
            if bar is not None:
                bar.set_description(f"epoch {epoch}/{epochs}", refresh=False)
            result = _train_epoch(model, train_loader, optimizer, criterion, dev, grad_clip,
                                  sched if step_mode == "batch" else None, deadline, bar, log_every)
            history.steps += result["steps"]
            val: dict[str, Any] = {}
            if val_loader is not None:
                val = _run_eval(model, val_loader, dev, criterion, num_classes, ignore_index, metric_fn, 0.5,
                                want_confusion=isinstance(metric, str))
            value_metric = None
            if has_metric:
                value_metric = val["metric"] if metric_fn is not None else _metric_value(val, metric)  # type: ignore[arg-type]
            history.epoch.append(epoch)
            history.train_loss.append(result["loss"])
            history.val_loss.append(val.get("loss"))
            history.val_metric.append(value_metric)
            history.lr.append(float(optimizer.param_groups[0]["lr"]))
            history.time.append(time.perf_counter() - start)
            history.grad_norm.append(result["grad_norm"])
            current = {"val_metric": value_metric, "val_loss": val.get("loss"), "train_loss": result["loss"]}[monitor]

            improved = current is not None and not math.isnan(current) and (
                history.best_value is None or (current > history.best_value if mode == "max" else current < history.best_value)
            )
            if improved:
                history.best_epoch, history.best_value = epoch, float(current)
                bad_epochs = 0
                if restore_best:
                    best_state = _state_copy(model)
                if checkpoint_path is not None:
                    from .models.checkpoints import save_checkpoint

                    save_checkpoint(model, checkpoint_path, epoch=epoch, monitor=monitor, value=float(current),
                                    metric=metric_name, train_loss=result["loss"], val_loss=val.get("loss"))
            else:
                bad_epochs += 1

            if sched is not None and step_mode == "epoch":
                sched.step(current) if plateau else sched.step()

            line = _describe_epoch(history, epochs)
            if bar is not None and plot is None:
                _write(bar, line)
            if bar is not None and metric_name and value_metric is not None:
                bar.set_postfix_str(f"loss {result['loss']:.4f}, val_{metric_name} {value_metric:.4f}", refresh=False)
            if plot is not None:
                plot.update(history, line, force=epoch == epochs)

            if result["stopped_by_time"] or (deadline is not None and time.perf_counter() >= deadline and epoch < epochs):
                history.stop_reason = "max_time"
                break
            if early_stopping_patience is not None and bad_epochs >= early_stopping_patience:
                history.stop_reason = "early_stopping"
                break
    finally:
        if bar is not None:
            bar.close()
    if plot is not None:
        plot.update(history, _describe_epoch(history, epochs), force=True)
    if restore_best and best_state is not None and history.best_epoch != history.epoch[-1]:
        model.load_state_dict(best_state)
        history.restored_best = True
    if progress:
        print(_summary_line(history), flush=True)
    return history


def _summary_line(h: History) -> str:
    why = {"completed": "", "early_stopping": " (early stopping)", "max_time": " (time budget reached)"}[h.stop_reason]
    text = f"trained {len(h)} epoch(s), {h.steps} steps in {h.total_time:.1f}s{why}"
    if h.best_epoch is not None and h.best_value is not None:
        name = f"val_{h.metric_name}" if h.monitor == "val_metric" else h.monitor
        text += f"; best {name} {h.best_value:.4f} at epoch {h.best_epoch}"
        if h.restored_best:
            text += " (weights restored)"
    return text


# ------------------------------------------------------------------------------------------------ predict
@torch.no_grad()
def predict(
    model: nn.Module,
    images_or_loader: Any,
    device: Any = None,
    return_probs: bool = False,
    threshold: float = 0.5,
    batch_size: int = 16,
) -> Any:
    """Label maps from ``model``: a C×H×W image gives H×W, an N×C×H×W batch or a loader gives N×H×W (on CPU).

    With ``return_probs=True`` returns ``(labels, probs)``: softmax N×K×H×W, or sigmoid N×1×H×W for a
    one-channel model (thresholded at ``threshold``). A list of differently sized images gives lists.
    """
    import numpy as np

    _check_positive("batch_size", batch_size, allow_none=False, integer=True)
    if not 0 < threshold < 1:
        raise ValueError(f"threshold={threshold!r} must be between 0 and 1, e.g. 0.5.")
    dev = _device(device)
    model.to(dev)
    was_training = model.training
    model.eval()

    def run(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        if not x.is_floating_point():
            raise ValueError(f"images have dtype {x.dtype}; convert them to float (e.g. x.float() / 255) as in training.")
        logits = _output(model(x.to(dev)))
        probs = None
        if return_probs:
            probs = torch.sigmoid(logits) if logits.shape[1] == 1 else logits.softmax(dim=1)
            probs = probs.cpu()
        return _to_labels(logits, threshold).cpu(), probs

    def finish(labels: list[torch.Tensor], probs: list[torch.Tensor | None], single: bool) -> Any:
        if single:
            out_l, out_p = labels[0][0], (probs[0][0] if return_probs else None)  # type: ignore[index]
        elif len({tuple(t.shape[1:]) for t in labels}) == 1:
            out_l = torch.cat(labels)
            out_p = torch.cat(probs) if return_probs else None  # type: ignore[arg-type]
        else:
            out_l = [t for b in labels for t in b]
            out_p = [t for b in probs for t in b] if return_probs else None  # type: ignore[union-attr]
        return (out_l, out_p) if return_probs else out_l

    try:
        data = images_or_loader
        if isinstance(data, np.ndarray):
            data = torch.from_numpy(data)
        if isinstance(data, torch.Tensor):
            if data.ndim == 3:
                l, p = run(data[None])
                return finish([l], [p], single=True)
            if data.ndim != 4:
                raise ValueError(f"images have shape {tuple(data.shape)}; pass C×H×W, N×C×H×W, a list of images or a loader.")
            outs = [run(chunk) for chunk in data.split(batch_size)]
            return finish([o[0] for o in outs], [o[1] for o in outs], single=False)
        if isinstance(data, (list, tuple)) and data and all(isinstance(t, torch.Tensor) and t.ndim == 3 for t in data):
            outs = [run(t[None]) for t in data]
            return finish([o[0] for o in outs], [o[1] for o in outs], single=False)
        if isinstance(data, Iterable):
            outs = [run(_split_batch(batch)[0]) for batch in data]
            if not outs:
                raise ValueError("the loader yielded no batches.")
            return finish([o[0] for o in outs], [o[1] for o in outs], single=False)
        raise TypeError(f"images_or_loader of type {type(data).__name__} is not supported; pass a tensor, a list of tensors or a loader.")
    finally:
        model.train(was_training)


# ------------------------------------------------------------------------------------------------ detection
def _detection_batch(batch: Any, device: torch.device) -> tuple[list[torch.Tensor], list[dict[str, torch.Tensor]]]:
    if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
        raise ValueError("a detection batch must be (images, targets): a list of C×H×W tensors and a list of dicts "
                         "with 'boxes', 'labels' (and 'masks'); use collate_fn=lambda b: tuple(zip(*b)).")
    images, targets = batch
    images = [img.to(device, non_blocking=True) for img in images]
    targets = [{k: (v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v) for k, v in t.items()} for t in targets]
    return images, targets


def fit_detection(
    model: nn.Module,
    loader: Iterable,
    *,
    epochs: int | None = None,
    steps: int | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    lr: float = 1e-3,
    weight_decay: float = 1e-4,
    scheduler: Any = None,
    device: Any = None,
    grad_clip: float | None = 10.0,
    seed: int | None = None,
    max_time: float | None = None,
    progress: bool = True,
    live_plot: bool = True,
    log_every: int = 5,
) -> History:
    """Train a torchvision detection model (Mask R-CNN etc.: the model returns a dict of losses in train mode).

    Runs ``epochs`` passes over ``loader`` or exactly ``steps`` optimizer steps (re-using the loader), stopping
    early at ``max_time`` seconds. Default optimizer AdamW(lr, weight_decay). The History holds the mean total
    loss per pass in ``train_loss`` and each loss part in ``extra``.
    """
    from .runtime import seed_everything

    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
    _check_positive("epochs", epochs, integer=True)
    _check_positive("steps", steps, integer=True)
    _check_positive("lr", lr, allow_none=False)
    _check_positive("grad_clip", grad_clip)
    _check_positive("max_time", max_time)
    _check_positive("log_every", log_every, allow_none=False, integer=True)
    if epochs is not None and steps is not None:
        raise ValueError("pass epochs or steps, not both.")
    if epochs is None and steps is None:
        epochs = 1
    if seed is not None:
        seed_everything(seed)
    dev = _device(device)
    model.to(dev)
    if optimizer is None:
        optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=weight_decay)
    try:
        per_pass = len(loader)  # type: ignore[arg-type]
    except TypeError:
        per_pass = None
    total_steps = steps if steps is not None else (epochs * per_pass if per_pass else None)  # type: ignore[operator]
    passes = epochs if epochs is not None else (math.ceil(steps / per_pass) if per_pass else 10**9)  # type: ignore[operator]
    sched, auto_step = _make_scheduler(scheduler, optimizer, passes, per_pass)
    step_sched = sched if (auto_step == "batch") else None
    params = [p for g in optimizer.param_groups for p in g["params"]]
    history = History(metric_name=None, monitor="train_loss", mode="min", stop_reason="completed")
    bar = _tqdm(total=total_steps, desc="training", unit="step", dynamic_ncols=True) if progress else None
    plot = _LivePlot() if live_plot and _in_notebook() else None
    start = time.perf_counter()
    done = 0
    model.train()
    try:
        for p in range(1, passes + 1):
            sums: dict[str, float] = {}
            n_steps = 0
            stop = False
            for batch in loader:
                images, targets = _detection_batch(batch, dev)
                losses = model(images, targets)
                if not isinstance(losses, Mapping):
                    raise TypeError("the model did not return a dict of losses; is it a torchvision detection model in train mode?")
                loss = sum(losses.values())
                if not torch.isfinite(loss):
                    raise FloatingPointError(f"the detection loss became {float(loss)}; lower lr or keep grad_clip on.")
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if grad_clip is not None:
                    torch.nn.utils.clip_grad_norm_(params, grad_clip)
                optimizer.step()
                if step_sched is not None:
                    step_sched.step()
                for k, v in losses.items():
                    sums[k] = sums.get(k, 0.0) + float(v.detach())
                sums["loss"] = sums.get("loss", 0.0) + float(loss.detach())
                n_steps += 1
                done += 1
                if bar is not None:
                    bar.update(1)
                    if done % log_every == 0:
                        bar.set_postfix_str(f"loss {sums['loss'] / n_steps:.3f}", refresh=False)
                if (steps is not None and done >= steps) or (max_time is not None and time.perf_counter() - start >= max_time):
                    stop = True
                    break
            if n_steps == 0:
                raise ValueError("the loader yielded no batches; check the dataset is not empty.")
            if sched is not None and step_sched is None:
                sched.step()
            history.epoch.append(p)
            history.train_loss.append(sums.pop("loss") / n_steps)
            history.val_loss.append(None)
            history.val_metric.append(None)
            history.grad_norm.append(None)
            history.lr.append(float(optimizer.param_groups[0]["lr"]))
            history.time.append(time.perf_counter() - start)
            for k, v in sums.items():
                history.extra.setdefault(k, []).append(v / n_steps)
            history.steps = done
            if history.best_value is None or history.train_loss[-1] < history.best_value:
                history.best_epoch, history.best_value = p, history.train_loss[-1]
            line = f"pass {p}  loss {history.train_loss[-1]:.4f}  steps {done}  {history.time[-1]:.1f}s"
            if plot is not None:
                plot.update(history, line)
            elif bar is not None:
                _write(bar, line)
            if stop:
                if steps is None or done < steps:
                    history.stop_reason = "max_time"
                break
    finally:
        if bar is not None:
            bar.close()
    if plot is not None:
        plot.update(history, f"{done} steps, loss {history.train_loss[-1]:.4f}", force=True)
    if progress:
        print(_summary_line(history), flush=True)
    return history
