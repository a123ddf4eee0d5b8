"""Lesson 04's callback exercise: the reference passes, the check runs learners' callbacks in a real training loop."""

from __future__ import annotations

from course_lib.checks import Status, check, reset_hints
from course_lib.checks.training import StopAtLoss_reference, _outcome, _stop_at_loss_cases
from course_lib.training import Callback


def test_the_reference_passes_and_stops_where_the_case_says():
    assert check("stop-at-loss", StopAtLoss_reference).status == Status.PASSED
    first, never = _stop_at_loss_cases()[:2]
    steps, epochs = _outcome(StopAtLoss_reference(*first.args))
    assert 3 < steps < 12 and steps % 3 != 0 and epochs == (steps - 1) // 3 + 1  # stopped mid-epoch, epoch finished
    assert _outcome(StopAtLoss_reference(*never.args)) == (12, 4)


def test_an_unfinished_callback_is_not_done_and_a_failing_one_is_explained():
    class Unfinished(Callback):
        def __init__(self, target):
            raise NotImplementedError()

    assert check("stop-at-loss", Unfinished).status == Status.NOT_DONE

    class Crashes(Callback):
        def __init__(self, target):
            self.target = target

        def after_batch(self, learner):
            return learner.loss < self.target  # the loss is learner.out.loss

    result = check("stop-at-loss", Crashes)
    assert result.status == Status.FAILED and "AttributeError" in result.message
    reset_hints("stop-at-loss")


def test_a_learner_who_stops_late_is_told_the_first_step_below_target():
    class StopsNextEpoch(Callback):
        def __init__(self, target):
            self.target, self.hit = target, False

        def after_batch(self, learner):
            if learner.out.loss.item() < self.target:
                self.hit = True

        def before_epoch(self, learner):
            if self.hit:
                learner.stop_fit = learner.stop_epoch = True

    result = check("stop-at-loss", StopsNextEpoch)
    assert result.status == Status.FAILED and "should run" in result.message
    reset_hints("stop-at-loss")
