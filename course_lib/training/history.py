"""What a training run leaves behind: the per-epoch :class:`History`, its plot, and its one-line summaries."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = ["History", "draw_history", "describe_epoch", "summary_line", "format_value"]


def format_value(value: float | None) -> str:
    """A figure with 4 decimals, or '-' for None/NaN (an epoch without that figure)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.4f}"


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
        """Loss curves (and the validation metric on a second axis); returns the Figure (closed unless ``ax`` given)."""
        import matplotlib.pyplot as plt

        if ax is not None:
            draw_history(ax, self)
            return ax.figure
        fig, ax = plt.subplots(figsize=(6, 3.2))
        draw_history(ax, self)
        fig.tight_layout()
        plt.close(fig)
        return fig

    def __repr__(self) -> str:
        best = ""
        if self.best_epoch is not None:
            best = f", best {self.monitor}={self.best_value:.4f} at epoch {self.best_epoch}"
        return f"History({len(self)} epochs, {self.steps} steps, {self.total_time:.1f}s, stop_reason={self.stop_reason!r}{best})"


def _nan_for_none(values: list[float | None]) -> list[float]:
    return [math.nan if v is None else v for v in values]


def draw_history(ax: Any, h: History) -> None:
    """Draw ``h`` on ``ax`` (cleared first): train/val loss, and the val metric on a twin axis."""
    ax.clear()
    for twin in getattr(ax, "_course_twins", []):
        twin.remove()
    ax._course_twins = []
    ax.plot(h.epoch, h.train_loss, "o-", ms=3, label="train loss")
    if any(v is not None for v in h.val_loss):
        ax.plot(h.epoch, _nan_for_none(h.val_loss), "o-", ms=3, label="val loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    handles, labels = ax.get_legend_handles_labels()
    if any(v is not None for v in h.val_metric):
        twin = ax.twinx()
        ax._course_twins.append(twin)
        twin.plot(h.epoch, _nan_for_none(h.val_metric), "s-", ms=3, color="tab:green", label=f"val {h.metric_name}")
        twin.set_ylabel(str(h.metric_name))
        h2, l2 = twin.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    ax.legend(handles, labels, loc="upper center", fontsize=8, ncol=3, frameon=False, bbox_to_anchor=(0.5, 1.18))
    if h.epoch:
        from matplotlib.ticker import MaxNLocator

        ax.set_xlim(min(h.epoch) - 0.5, max(max(h.epoch), 1) + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def describe_epoch(h: History, epochs: int) -> str:
    """The one-line report of the last epoch: losses, metric, learning rate and time."""
    parts = [f"epoch {h.epoch[-1]:>3}/{epochs}", f"train_loss {format_value(h.train_loss[-1])}"]
    if h.val_loss[-1] is not None:
        parts.append(f"val_loss {format_value(h.val_loss[-1])}")
    if h.val_metric[-1] is not None:
        parts.append(f"val_{h.metric_name} {format_value(h.val_metric[-1])}")
    parts += [f"lr {h.lr[-1]:.2e}", f"{h.time[-1]:.1f}s"]
    return "  ".join(parts)


def summary_line(h: History) -> str:
    """The line printed when training ends: epochs, steps, time, why it stopped, and the best epoch."""
    why = {"completed": "", "early_stopping": " (early stopping)", "max_time": " (time budget reached)"}.get(h.stop_reason, "")
    text = f"trained {len(h)} epoch(s), {h.steps} steps in {h.total_time:.1f}s{why}"
    if h.best_epoch is not None and h.best_value is not None:
        name = f"val_{h.metric_name}" if h.monitor == "val_metric" else h.monitor
        text += f"; best {name} {h.best_value:.4f} at epoch {h.best_epoch}"
        if h.restored_best:
            text += " (weights restored)"
    return text
