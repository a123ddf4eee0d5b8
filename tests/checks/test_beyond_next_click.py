"""The ``next-click`` exercise of the beyond-CNNs lesson: the standard protocol's next simulated click."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage

from course_lib import prompts
from course_lib.checks import EXERCISES, HINT_LEVELS, Status, check
from course_lib.checks.beyond.common import LESSON
from course_lib.checks.beyond.next_click import next_click_reference


def _learner_answer(pred_mask, true_mask):
    """The code of hint step 3, as a learner would type it."""
    def dist(m):
        return ndimage.distance_transform_edt(np.pad(m, 1))[1:-1, 1:-1]

    pred, true = pred_mask.numpy().astype(bool), true_mask.numpy().astype(bool)
    fn, fp = true & ~pred, pred & ~true
    d = dist(fn) + dist(fp)
    if d.max() == 0:
        return None
    row, col = np.unravel_index(int(np.argmax(d)), d.shape)
    return int(row), int(col), bool(fn[row, col])


def _last_of_the_ties(pred_mask, true_mask):
    """A right answer with another tie rule: the last farthest pixel in row-major order, numpy ints."""
    fn, fp = prompts.error_distance(pred_mask, true_mask)
    d = (fn + fp).ravel()
    if d.max() == 0:
        return None
    index = len(d) - 1 - int(np.argmax(d[::-1]))
    row, col = np.unravel_index(index, fn.shape)
    return row, col, np.bool_(fn[row, col] > 0)


def test_registered_for_the_lesson_with_three_hint_steps():
    ex = EXERCISES["next-click"]
    assert ex.lesson == LESSON and ex.function_name == "next_click" and ex.reference is next_click_reference
    assert len(ex.hints) == len(HINT_LEVELS) and "`" not in ex.hints[0]
    assert "next_click(" not in ex.hints[0] and "distance_transform_edt" not in ex.hints[0]


@pytest.mark.parametrize("answer", [next_click_reference, _learner_answer, _last_of_the_ties])
def test_right_answers_pass_whatever_their_tie_rule(answer):
    result = check("next-click", answer)
    assert result.status == Status.PASSED, result.message


def test_the_reference_is_the_library_function():
    true = torch.zeros(9, 9, dtype=torch.bool)
    true[2:7, 2:7] = True
    assert next_click_reference(torch.zeros_like(true), true) == prompts.next_click(torch.zeros_like(true), true) == (4, 4, True)


@pytest.mark.parametrize("mistake", [m.name for m in EXERCISES["next-click"].mistakes])
def test_each_typical_mistake_is_named(mistake, first_failure):
    wrong = next(m for m in EXERCISES["next-click"].mistakes if m.name == mistake).wrong
    first_failure("next-click", wrong, mistake)


def test_at_least_the_five_asked_for_mistakes_are_recognised():
    names = {m.name for m in EXERCISES["next-click"].mistakes}
    assert {"largest error region by area", "positive and negative swapped", "clicked on the error's edge",
            "only false negatives looked at", "row and col swapped"} <= names


def test_an_unfinished_function_is_not_done():
    def next_click(pred_mask, true_mask):
        # YOUR CODE HERE
        raise NotImplementedError()

    assert check("next-click", next_click).status == Status.NOT_DONE


def test_tensors_instead_of_plain_values_are_explained():
    def as_tensors(pred_mask, true_mask):
        click = next_click_reference(pred_mask, true_mask)
        return None if click is None else (torch.tensor(click.row), torch.tensor(click.col), torch.tensor(click.positive))

    result = check("next-click", as_tensors)
    assert result.status == Status.FAILED and "int(...)" in result.message


def test_a_click_when_nothing_is_wrong_fails_with_the_reason():
    def always(pred_mask, true_mask):
        return next_click_reference(pred_mask, true_mask) or (0, 0, True)

    result = check("next-click", always)
    assert result.status == Status.FAILED and "case 3 of" in result.message and "return None" in result.message
