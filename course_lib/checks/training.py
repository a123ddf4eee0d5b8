"""Exercise of lesson 04 on the training engine: write a callback, ``StopAtLoss(target)``, that ends training
right after the first step whose loss falls below ``target``."""

from __future__ import annotations

import functools
from typing import Any

import torch
from torch import nn

from ..training import Callback, CancelFit, Learner, SegmentationStep
from ..training.steps import default_loss
from .core import Case, Mistake
from .registry import register

__all__ = ["StopAtLoss_reference"]

_LESSON = "04_unet"
_EPOCHS = 4


class StopAtLoss_reference(Callback):  # noqa: N801 (the course's naming rule: <exercise name>_reference)
    """Reference answer: after each step, stop this epoch and the whole fit once the step's loss is below target."""

    def __init__(self, target: float) -> None:
        self.target = target

    def after_batch(self, learner: Any) -> None:
        if learner.out.loss.item() < self.target:
            learner.stop_epoch = learner.stop_fit = True


class _Trace(Callback):
    """Runs last: counts the steps started, the epochs finished, and the loss of each step."""

    order = 100

    def __init__(self) -> None:
        self.steps, self.epochs, self.losses = 0, 0, []

    def before_batch(self, learner: Any) -> None:
        self.steps += 1

    def after_batch(self, learner: Any) -> None:
        self.losses.append(learner.out.loss.item())

    def after_epoch(self, learner: Any) -> None:
        self.epochs += 1


def _toy_run(callback: Any = None) -> _Trace:
    """A seeded two-class toy problem: 3 steps per epoch (the last batch has noisy labels), up to 4 epochs."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(12, 1, 8, 8, generator=g)
    y = (x[:, 0] > 0.5).long()
    y[8:] = torch.where(torch.rand(4, 8, 8, generator=g) < 0.3, 1 - y[8:], y[8:])  # so losses differ within an epoch
    model = nn.Conv2d(1, 2, 3, padding=1)
    batches = [(x[i:i + 4], y[i:i + 4]) for i in range(0, 12, 4)]
    trace = _Trace()
    cbs = [trace] if callback is None else [callback, trace]
    Learner(model, batches, torch.optim.SGD(model.parameters(), lr=0.5), SegmentationStep(default_loss()),
            callbacks=cbs, device="cpu").fit(_EPOCHS)
    return trace


def _outcome(callback: Any) -> tuple[int, int]:
    """(steps run, epochs finished) of the toy run with ``callback``."""
    trace = _toy_run(callback)
    return trace.steps, trace.epochs


@functools.lru_cache(maxsize=64)
def _known_outcome(kind: type, target: float) -> tuple[int, int]:
    """The outcome of one of the course's own callbacks (the reference or a mistake): the same every time."""
    return _outcome(kind(target))


def _new_minimum_target(losses: list[float], start: int) -> tuple[float, int]:
    """A target first crossed at step index k >= start, mid-epoch, with the epoch's last loss above it; and k."""
    for k in range(start, len(losses)):
        target = (losses[k] + min(losses[:k])) / 2
        if k % 3 != 2 and losses[k] < target and losses[k // 3 * 3 + 2] >= target:
            return target, k
    raise RuntimeError(f"the toy run crosses no new lowest loss mid-epoch after step {start}")


def _check_stop(case: Case, got: Any) -> str | None:
    if not isinstance(got, Callback):
        return f"StopAtLoss({case.args[0]:.4g}) made {type(got).__name__}, not a Callback: write `class StopAtLoss(Callback):`."
    try:
        steps, epochs = _outcome(got)
    except NotImplementedError:
        return "a method of StopAtLoss still raises NotImplementedError: write its body."
    except Exception as exc:  # the learner's callback failed inside the training loop
        return f"training with your callback raised {type(exc).__name__}: {exc}"
    want_steps, want_epochs = _known_outcome(StopAtLoss_reference, *case.args)
    if (steps, epochs) == (want_steps, want_epochs):
        return None
    return (f"training ran {steps} step(s) and finished {epochs} epoch(s); the first step with a loss below the "
            f"target is step {want_steps if want_steps < 3 * _EPOCHS else 'none'}, so it should run {want_steps} "
            f"step(s) and finish {want_epochs} epoch(s) (that epoch is still recorded and validated).")


def _same_run_as(wrong: type) -> Any:
    """A detector: the learner's callback trains exactly like ``wrong`` on this case."""

    def detect(case: Case, got: Any, reason: str) -> bool:
        if isinstance(got, BaseException) or not isinstance(got, Callback):
            return False
        return _known_outcome(type(got), *case.args) == _known_outcome(wrong, *case.args)

    return detect


class _OnlyStopFit(StopAtLoss_reference):
    def after_batch(self, learner: Any) -> None:
        if learner.out.loss.item() < self.target:
            learner.stop_fit = True


class _OnlyStopEpoch(StopAtLoss_reference):
    def after_batch(self, learner: Any) -> None:
        if learner.out.loss.item() < self.target:
            learner.stop_epoch = True


class _PerEpoch(StopAtLoss_reference):
    def after_batch(self, learner: Any) -> None:
        pass

    def after_epoch(self, learner: Any) -> None:
        if learner.out.loss.item() < self.target:
            learner.stop_fit = True


class _WrongWay(StopAtLoss_reference):
    def after_batch(self, learner: Any) -> None:
        if learner.out.loss.item() > self.target:
            learner.stop_epoch = learner.stop_fit = True


class _Cancels(StopAtLoss_reference):
    def after_batch(self, learner: Any) -> None:
        if learner.out.loss.item() < self.target:
            raise CancelFit()


class _NotACallback:
    def __init__(self, target: float) -> None:
        self.target = target

    def after_batch(self, learner: Any) -> None:
        if learner.out.loss.item() < self.target:
            learner.stop_epoch = learner.stop_fit = True


_STOP_AT_LOSS_MISTAKES = (
    Mistake("only stop_fit", _OnlyStopFit, "`learner.stop_fit` ends training after the epoch in progress, so the "
            "remaining steps of that epoch still run; also set `learner.stop_epoch` to leave the epoch at once.",
            detect=_same_run_as(_OnlyStopFit)),
    Mistake("only stop_epoch", _OnlyStopEpoch, "`learner.stop_epoch` ends only this epoch; the next epoch starts "
            "again. Also set `learner.stop_fit` so that no more epochs run.", detect=_same_run_as(_OnlyStopEpoch)),
    Mistake("checked once per epoch", _PerEpoch, "`after_epoch` sees only the last step's loss of each epoch; the "
            "first step below the target can be any step, so check in `after_batch`.", detect=_same_run_as(_PerEpoch)),
    Mistake("compared the wrong way", _WrongWay, "stop when the loss is *below* the target (`<`): training ends as "
            "soon as the model is good enough.", detect=_same_run_as(_WrongWay)),
    Mistake("raised CancelFit", _Cancels, "CancelFit stops at once, so the epoch in progress is neither recorded nor "
            "validated; set the two stop flags instead and let the loop finish the epoch.", detect=_same_run_as(_Cancels)),
    Mistake("not a Callback", _NotACallback, "the Learner accepts only Callback objects: write "
            "`class StopAtLoss(Callback):` so that it also has the `order` the loop sorts by.",
            detect=lambda case, got, reason: "not a Callback" in reason),
)


@register(
    "stop-at-loss",
    lesson=_LESSON,
    title="A callback that stops training at a target loss",
    function="StopAtLoss",
    hints=(
        "A callback only reacts to events. The right moment to look at a loss is the end of each training step, "
        "where the learner holds that step's result. When the loss is under the target, the callback does not "
        "stop anything itself: it raises two flags on the learner, one that ends the current pass over the data "
        "and one that says no further pass should start, and the loop obeys them.",
        "Subclass `Callback`, keep `target` in `__init__`, and write `after_batch(self, learner)`. The loss of "
        "the step is `learner.out.loss` (a tensor: `.item()` gives the number). Set both `learner.stop_epoch` "
        "and `learner.stop_fit` to True; do not raise CancelFit, so the epoch is still recorded and validated.",
        "`def after_batch(self, learner):` / `if learner.out.loss.item() < self.target:` / "
        "`learner.stop_epoch = learner.stop_fit = True`",
    ),
    checker=_check_stop,
    mistakes=_STOP_AT_LOSS_MISTAKES,
)
def _stop_at_loss_cases() -> list[Case]:
    losses = _toy_run().losses
    mid, k = _new_minimum_target(losses, 4)
    late, k2 = _new_minimum_target(losses, 7)
    return [
        Case((mid,), description=f"target {mid:.4f}: first crossed at step {k + 1} (epoch {k // 3 + 1}) of the toy run"),
        Case((0.0,), description="target 0.0 is never reached: all 4 epochs of 3 steps run"),
        Case((100.0,), hidden=True, description="target 100: the first step is already below it"),
        Case((late,), hidden=True, description=f"target {late:.4f}: first crossed at step {k2 + 1}"),
    ]
