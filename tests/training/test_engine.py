"""The one training loop: events in order, stopping from callbacks, errors, and each callback on its own."""

from __future__ import annotations

import time

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from course_lib.training import (EVENTS, BestWeights, Callback, CancelFit, EarlyStopping, GradientClipping, Learner,
                                 LRScheduler, Recorder, SegmentationStep, StepLimit, StepTimer, TimeBudget, evaluate)
from course_lib.training.steps import default_loss


def data(n: int = 12, size: int = 8, seed: int = 0) -> TensorDataset:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, size, size, generator=g)
    return TensorDataset(x, (x[:, 0] > 0.5).long())


def learner(callbacks=(), val: bool = False, lr: float = 0.1, batch_size: int = 4) -> Learner:
    torch.manual_seed(0)
    model = nn.Conv2d(1, 2, 3, padding=1)
    loader = DataLoader(data(), batch_size=batch_size)
    score = (lambda m, d, dev: evaluate(m, d, device=dev)) if val else None
    return Learner(model, loader, torch.optim.SGD(model.parameters(), lr=lr), SegmentationStep(default_loss()),
                   val_loader=loader if val else None, evaluate=score, callbacks=callbacks, device="cpu")


class Events(Callback):
    """Records every event it sees."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __getattr__(self, name: str):
        if name in EVENTS:
            return lambda learner: self.seen.append(name)
        raise AttributeError(name)


def test_events_fire_in_order_for_each_epoch_and_batch():
    rec = Events()
    learner([rec], val=True).fit(2)
    per_batch = ["before_batch", "after_backward", "after_batch"]
    epoch = ["before_epoch", *per_batch * 3, "after_train", "before_validate", "after_validate", "after_epoch"]
    assert rec.seen == ["before_fit", *epoch * 2, "after_fit"]


def test_validation_events_are_skipped_without_a_val_loader():
    rec = Events()
    learner([rec]).fit(1)
    assert "before_validate" not in rec.seen and rec.seen[-2:] == ["after_epoch", "after_fit"]


def test_callbacks_run_by_order_and_see_the_learner_state():
    calls = []

    class Late(Callback):
        order = 10

        def after_batch(self, lrn):
            calls.append(("late", lrn.epoch, lrn.batch_index, round(float(lrn.out.loss.detach()), 6)))

    class Early(Callback):
        order = -1

        def after_batch(self, lrn):
            calls.append(("early", lrn.epoch, lrn.batch_index, round(float(lrn.out.loss.detach()), 6)))

    learner([Late(), Early()]).fit(1)
    assert [c[0] for c in calls[:2]] == ["early", "late"]
    assert calls[0][1:] == calls[1][1:] and [c[2] for c in calls[::2]] == [0, 1, 2]


def test_stop_flags_and_cancel_fit_end_training_and_after_fit_still_runs():
    class StopAfterTwoBatches(Callback):
        def after_batch(self, lrn):
            if lrn.batch_index == 1:
                lrn.stop_epoch = lrn.stop_fit = True

    rec = Events()
    learner([StopAfterTwoBatches(), rec]).fit(5)
    assert rec.seen.count("after_batch") == 2 and rec.seen.count("after_epoch") == 1 and rec.seen[-1] == "after_fit"

    class Cancel(Callback):
        def before_batch(self, lrn):
            raise CancelFit()

    rec = Events()
    learner([Cancel(), rec]).fit(3)
    assert rec.seen == ["before_fit", "before_epoch", "after_fit"]  # Cancel runs first (same order, listed first)


def test_an_error_reaches_the_caller_and_after_fit_sees_it():
    class Boom(Callback):
        def after_batch(self, lrn):
            raise RuntimeError("boom")

    class Seen(Callback):
        def after_fit(self, lrn):
            self.error = lrn.error

    seen = Seen()
    with pytest.raises(RuntimeError, match="boom"):
        learner([Boom(), seen]).fit(1)
    assert isinstance(seen.error, RuntimeError)


def test_bad_callbacks_and_epochs_are_refused_with_the_fix():
    with pytest.raises(TypeError, match="instance"):
        learner([Recorder])
    with pytest.raises(TypeError, match="subclass"):
        learner([lambda lrn: None])
    with pytest.raises(ValueError, match="epochs"):
        learner().fit(0)
    with pytest.raises(ValueError, match="no batches"):
        Learner(nn.Conv2d(1, 2, 1), [], torch.optim.SGD(nn.Conv2d(1, 2, 1).parameters(), lr=0.1),
                SegmentationStep(default_loss())).fit(1)


def test_recorder_keeps_the_history_and_marks_the_best_epoch():
    lrn = learner([Recorder("miou", "val_metric")], val=True).fit(3)
    h = lrn.history
    assert h.epoch == [1, 2, 3] and h.steps == 9 and len(h.val_metric) == 3
    assert h.best_value == max(h.val_metric) and h.val_metric[h.best_epoch - 1] == h.best_value


def test_step_limit_time_budget_and_early_stopping_stop_where_they_say():
    lrn = learner([Recorder(), StepLimit(4)]).fit(10)
    assert lrn.history.steps == 4 and lrn.history.epoch == [1, 2]

    class Slow(Callback):
        def after_batch(self, lrn):
            time.sleep(0.05)

    lrn = learner([Recorder(), TimeBudget(0.08), Slow()]).fit(10)
    assert lrn.history.stop_reason == "max_time" and lrn.history.steps < 30
    lrn = learner([Recorder(), EarlyStopping(1)], lr=0.0).fit(10)  # lr 0: the loss never improves after epoch 1
    assert lrn.history.stop_reason == "early_stopping" and len(lrn.history) == 2


def test_best_weights_are_restored_and_clipping_bounds_the_step():
    lrn = learner([Recorder(), BestWeights()], lr=50.0).fit(4)  # a huge lr: later epochs get worse
    h = lrn.history
    if h.best_epoch != h.epoch[-1]:
        assert h.restored_best
    lrn = learner([Recorder(), GradientClipping(1e-3)]).fit(1)
    assert lrn.history.grad_norm[0] is not None and lrn.history.grad_norm[0] > 1e-3


def test_scheduler_steps_per_batch_and_step_timer_times_each_step():
    lrn = learner()
    sched = torch.optim.lr_scheduler.StepLR(lrn.optimizer, step_size=1, gamma=0.5)
    timer = StepTimer()
    lrn.callbacks = sorted([LRScheduler(sched, "batch"), timer], key=lambda c: c.order)
    lrn.fit(1)
    assert lrn.optimizer.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5**3)
    assert len(timer.times) == 3 and all(t > 0 for t in timer.times)
