"""Leslie Smith's LR range test, as a callback of the course's training engine."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import torch
from torch import nn

from ..training.engine import Callback, CancelFit, Learner
from ..training.steps import SegmentationStep, resolve_loss

__all__ = ["suggest_lr", "LRFinderResult", "LRFinder", "lr_range_test"]


def suggest_lr(lrs: Sequence[float], losses: Sequence[float]) -> float:
    """The LR at the steepest descent of loss vs log(LR), looking only before the lowest loss (Leslie Smith)."""
    if len(lrs) != len(losses):
        raise ValueError(f"lrs has {len(lrs)} values but losses has {len(losses)}; they must match.")
    if len(lrs) < 2:
        raise ValueError("suggest_lr needs at least 2 points of the LR curve.")
    if any(lr <= 0 for lr in lrs):
        raise ValueError("lrs must all be > 0 (they are plotted on a log scale).")
    lowest = min(range(len(losses)), key=lambda i: losses[i])
    end = max(lowest, 1)
    slopes = [(losses[i + 1] - losses[i]) / (math.log10(lrs[i + 1]) - math.log10(lrs[i])) for i in range(end)]
    steepest = min(range(len(slopes)), key=lambda i: slopes[i])
    return float(lrs[steepest])


@dataclass
class LRFinderResult:
    """What :func:`lr_range_test` measured: learning rates, smoothed and raw losses, and a suggested LR."""

    lrs: list[float]
    losses: list[float]
    raw_losses: list[float]
    suggestion: float
    stopped_early: bool = False

    def plot(self, ax: Any = None) -> Any:
        """Smoothed loss vs learning rate (log scale) with the suggestion marked; returns the Figure (closed unless ``ax``)."""
        import matplotlib.pyplot as plt

        own = ax is None
        if own:
            fig, ax = plt.subplots(figsize=(6, 3.2))
        else:
            fig = ax.figure
        ax.plot(self.lrs, self.raw_losses, color="0.75", lw=1, label="loss per step")
        ax.plot(self.lrs, self.losses, color="tab:blue", lw=2, label="smoothed")
        ax.axvline(self.suggestion, color="tab:red", ls="--", label=f"suggestion {self.suggestion:.2g}")
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("training loss")
        hi = max(self.losses[: max(3, len(self.losses) // 10)]) * 1.3
        ax.set_ylim(min(self.losses) * 0.9, hi)
        ax.legend(fontsize=8)
        if own:
            fig.tight_layout()
            plt.close(fig)
        return fig

    def __repr__(self) -> str:
        return (f"LRFinderResult({len(self.lrs)} steps, lr {self.lrs[0]:.1e}..{self.lrs[-1]:.1e}, "
                f"suggestion {self.suggestion:.2e}{', stopped early (loss diverged)' if self.stopped_early else ''})")


class LRFinder(Callback):
    """Raises the LR exponentially each step, records the smoothed loss, stops when it diverges; restores everything.

    Saved in ``before_fit`` and put back in ``after_fit`` (also after an error): the weights, the device the
    model was on, its train/eval mode and the optimizer's state.
    """

    order = -10  # sets the LR before the other callbacks see the batch

    def __init__(self, start_lr: float, end_lr: float, steps: int, smoothing: float = 0.9, diverge: float = 4.0) -> None:
        self.start_lr, self.steps, self.smoothing, self.diverge = start_lr, steps, smoothing, diverge
        self.factor = (end_lr / start_lr) ** (1 / (steps - 1))
        self.lrs: list[float] = []
        self.raw: list[float] = []
        self.smooth: list[float] = []
        self.stopped = False

    def before_fit(self, learner: Any) -> None:
        model = learner.model
        self.home = next(model.parameters(), torch.empty(0)).device  # where the caller keeps the model
        self.saved_model = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self.saved_opt = copy.deepcopy(learner.optimizer.state_dict())
        self.was_training, self.avg, self.best = model.training, 0.0, math.inf

    def before_batch(self, learner: Any) -> None:
        for group in learner.optimizer.param_groups:
            group["lr"] = self.start_lr * self.factor ** len(self.lrs)

    def after_batch(self, learner: Any) -> None:
        value = float(learner.out.loss.detach())
        self.avg = self.smoothing * self.avg + (1 - self.smoothing) * value
        smoothed = self.avg / (1 - self.smoothing ** (len(self.lrs) + 1))  # bias correction, as in Adam
        self.lrs.append(self.start_lr * self.factor ** len(self.lrs))
        self.raw.append(value)
        self.smooth.append(smoothed)
        self.best = min(self.best, smoothed)
        if not math.isfinite(smoothed) or smoothed > self.diverge * self.best:
            self.stopped = True
            raise CancelFit()
        if len(self.lrs) >= self.steps:
            raise CancelFit()

    def after_fit(self, learner: Any) -> None:
        learner.model.to(self.home)
        learner.model.load_state_dict(self.saved_model)
        learner.optimizer.load_state_dict(self.saved_opt)  # moves the optimizer's state to the parameters' device
        learner.model.train(self.was_training)

    def result(self) -> LRFinderResult:
        """What was measured, with the suggested LR."""
        if len(self.lrs) < 2:
            raise ValueError("the loss diverged at once; lower start_lr.")
        return LRFinderResult(self.lrs, self.smooth, self.raw, suggest_lr(self.lrs, self.smooth), self.stopped)


def _check_range_test(start_lr: Any, end_lr: Any, steps: Any, smoothing: Any, diverge: Any) -> None:
    """Errors that name the argument for each bad setting of :func:`lr_range_test`."""
    for name, value in (("start_lr", start_lr), ("end_lr", end_lr)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ValueError(f"{name}={value!r} must be a positive number, e.g. 1e-5.")
    if not start_lr < end_lr:
        raise ValueError(f"start_lr={start_lr} must be smaller than end_lr={end_lr}.")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 5:
        raise ValueError(f"steps={steps!r} must be an int >= 5 (a few hundred is typical).")
    if not 0 <= smoothing < 1:
        raise ValueError(f"smoothing={smoothing!r} must be in [0, 1), e.g. 0.9.")
    if not diverge > 1:
        raise ValueError(f"diverge={diverge!r} must be > 1, e.g. 4 (stop when the loss is 4× its best).")


def lr_range_test(
    model: nn.Module,
    loader: Iterable,
    loss_fn: Callable | str | None = None,
    start_lr: float = 1e-5,
    end_lr: float = 1.0,
    steps: int = 100,
    optimizer: torch.optim.Optimizer | None = None,
    smoothing: float = 0.9,
    diverge: float = 4.0,
    device: Any = None,
) -> LRFinderResult:
    """Leslie Smith's LR range test: raise the LR exponentially from start_lr to end_lr over ``steps`` batches.

    Records the exponentially smoothed training loss, stops when it exceeds ``diverge`` × its best, suggests
    the LR of the steepest descent, and restores the model (weights, device, mode) and the optimizer's state afterwards.
    Runs on the training engine (:class:`~course_lib.training.Learner`) with the :class:`LRFinder` callback.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
    _check_range_test(start_lr, end_lr, steps, smoothing, diverge)
    if optimizer is None:
        optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=start_lr)
    finder = LRFinder(start_lr, end_lr, steps, smoothing, diverge)
    step = SegmentationStep(resolve_loss(loss_fn, None))
    Learner(model, loader, optimizer, step, callbacks=[finder], device=device).fit(steps)
    return finder.result()
