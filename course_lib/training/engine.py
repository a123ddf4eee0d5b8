"""The one training loop of the course, and the callbacks it talks to (the design of fastai's miniai Learner).

:class:`Learner` runs epochs of steps and fires an event before and after each part. Everything else
(progress bar, live plot, history, early stopping, best weights, checkpoints, time budget, gradient
clipping, LR schedules, Optuna pruning, the LR range test) is a small :class:`Callback` that reacts to
those events. A callback can stop training: set ``learner.stop_epoch`` (end this pass) or
``learner.stop_fit`` (no more epochs), or raise :class:`CancelFit` (stop at once).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

import torch
from torch import nn

from ..runtime import resolve_device
from ..validation import check_int
from .steps import Step

__all__ = ["EVENTS", "Callback", "CancelFit", "Learner"]

EVENTS = ("before_fit", "before_epoch", "before_batch", "after_backward", "after_batch", "after_train",
          "before_validate", "after_validate", "after_epoch", "after_fit")


class CancelFit(Exception):
    """Raise in a callback to end training at once (``after_fit`` still runs)."""


class Callback:
    """Base class of callbacks: override the events you need; lower ``order`` runs first."""

    order = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _check_callbacks(callbacks: Sequence[Any]) -> list[Callback]:
    """The callbacks sorted by ``order``; anything that is not a Callback is refused with the reason."""
    for cb in callbacks:
        if isinstance(cb, type) and issubclass(cb, Callback):
            raise TypeError(f"callbacks holds the class {cb.__name__}; pass an instance: {cb.__name__}().")
        if not isinstance(cb, Callback):
            raise TypeError(f"callbacks holds {cb!r}; each callback must subclass course_lib.training.Callback.")
    return sorted(callbacks, key=lambda cb: cb.order)


class Learner:
    """A model, its data, an optimizer, a step function and callbacks: ``Learner(...).fit(epochs)`` trains.

    ``step(model, batch, device) -> Step`` computes the loss of one batch (see ``course_lib.training.steps``);
    ``evaluate(model, val_loader, device) -> dict`` scores the model after each epoch (optional).
    During training the learner holds ``epoch``, ``batch``, ``batch_index``, ``out`` (the last Step) and
    ``val`` (the last scores), so callbacks can read and change them.
    """

    def __init__(self, model: nn.Module, train_loader: Iterable, optimizer: torch.optim.Optimizer,
                 step: Callable[[nn.Module, Any, torch.device], Step], *, val_loader: Iterable | None = None,
                 evaluate: Callable[[nn.Module, Iterable, torch.device], dict] | None = None,
                 callbacks: Sequence[Callback] = (), device: Any = None) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
        self.model, self.train_loader, self.optimizer, self.step = model, train_loader, optimizer, step
        self.val_loader, self.evaluate = val_loader, evaluate
        self.callbacks = _check_callbacks(list(callbacks))
        self.device = resolve_device(device)
        self.epochs = self.epoch = 0
        self.val: dict[str, Any] = {}
        self.stop_epoch = self.stop_fit = False
        self.error: BaseException | None = None

    def emit(self, event: str) -> None:
        """Call ``event`` on every callback that defines it, in order."""
        for cb in self.callbacks:
            method = getattr(cb, event, None)
            if method is not None:
                method(self)

    def fit(self, epochs: int) -> "Learner":
        """Train for up to ``epochs`` passes over the training data, validating after each one."""
        self.epochs, self.stop_fit, self.error = check_int("epochs", epochs), False, None
        try:
            self.emit("before_fit")
            self.model.to(self.device)
            for self.epoch in range(1, self.epochs + 1):
                self.one_epoch()
                if self.stop_fit:
                    break
        except CancelFit:
            pass
        except BaseException as err:  # after_fit callbacks see it (e.g. to skip restoring); it is re-raised
            self.error = err
            raise
        finally:
            self.emit("after_fit")
        return self

    def one_epoch(self) -> None:
        """One pass of training steps, then validation; the events around each part."""
        self.model.train()
        self.stop_epoch, steps = False, 0
        self.emit("before_epoch")
        for self.batch_index, self.batch in enumerate(self.train_loader):
            self.emit("before_batch")
            self.out = self.step(self.model, self.batch, self.device)
            self.optimizer.zero_grad(set_to_none=True)
            self.out.loss.backward()
            self.emit("after_backward")
            self.optimizer.step()
            steps += 1
            self.emit("after_batch")
            if self.stop_epoch:
                break
        if steps == 0:
            raise ValueError("the training loader yielded no batches; check the dataset is not empty.")
        self.emit("after_train")
        self.val = {}
        if self.val_loader is not None and self.evaluate is not None:
            self.emit("before_validate")
            self.val = self.evaluate(self.model, self.val_loader, self.device)
            self.emit("after_validate")
        self.emit("after_epoch")

    def __repr__(self) -> str:
        names = ", ".join(type(cb).__name__ for cb in self.callbacks) or "none"
        return (f"Learner({type(self.model).__name__} on {self.device}, epoch {self.epoch}/{self.epochs}, "
                f"callbacks: {names})")

    def find(self, kind: type) -> Any:
        """The first callback of type ``kind``, or None."""
        return next((cb for cb in self.callbacks if isinstance(cb, kind)), None)
