"""Exercise ``segment-quality`` (lesson 11): the reference agrees with the library and torchmetrics, a learner's
plain answer passes, every named mistake is recognised, and an unfinished function is NOT DONE."""

import math

import pytest
import torch
from torchmetrics.detection import PanopticQuality

from course_lib import metrics
from course_lib.checks import EXERCISES, HINT_LEVELS, Status, check
from course_lib.checks.beyond import panoptic_quality as exercise_module  # registers the exercise
from course_lib.checks.beyond.common import LESSON
from course_lib.checks.beyond.panoptic_quality import segment_quality_reference

EX = "segment-quality"


def _cases():
    return EXERCISES[EX].make_cases()


def test_registered_in_the_lesson_with_visible_and_hidden_cases():
    ex = EXERCISES[EX]
    assert ex.lesson == LESSON and ex.function_name == "segment_quality"
    assert ex.reference is segment_quality_reference
    assert exercise_module.__all__ == ["segment_quality_reference"]
    cases = ex.make_cases()
    assert sum(not c.hidden for c in cases) >= 2 and sum(c.hidden for c in cases) >= 5
    assert all(c.description for c in cases)
    assert len(ex.hints) == len(HINT_LEVELS) and "`" not in ex.hints[0]
    assert "segment_quality(" not in ex.hints[0] and "> 0.5" not in ex.hints[0]  # the idea is words, not code


# ---- the reference agrees with the library and with torchmetrics ---------------------------------------------
def test_reference_delegates_to_the_library_and_returns_floats():
    for case in _cases():
        got = segment_quality_reference(*case.args)
        assert got == pytest.approx(metrics.segment_quality(*case.args), nan_ok=True)
        assert isinstance(got, tuple) and len(got) == 3 and all(type(v) is float for v in got)


def test_reference_agrees_with_torchmetrics_on_every_case_with_an_object():
    for case in _cases():
        pred, true = case.args
        if not (pred.any() or true.any()):
            assert all(math.isnan(v) for v in case.expected)  # torchmetrics would say 0 for an absent class
            continue
        to_pan = [metrics.to_panoptic((x != 0).long(), x, [1])[None] for x in (pred, true)]
        m = PanopticQuality(things=[1], stuffs=[0], return_sq_and_rq=True, return_per_class=True)
        theirs = m(*to_pan)[0]  # the row of class 1 (things first)
        assert torch.allclose(torch.tensor(case.expected, dtype=torch.float64), theirs, atol=1e-6), case.description


def test_visible_cases_have_the_values_worked_by_hand():
    expected = [case.expected for case in _cases() if not case.hidden]
    assert expected[0] == (0.5, 1.0, 0.5)
    assert expected[1] == pytest.approx((0.775, 0.775, 1.0))
    assert expected[2] == (0.0, 0.0, 0.0)  # IoU exactly 0.5 is no match


# ---- a learner's answers --------------------------------------------------------------------------------------
def _plain_answer(pred_ids, true_ids):
    """What the third hint spells out, written as a learner would."""
    p_ids = [i for i in torch.unique(pred_ids).tolist() if i != 0]
    t_ids = [i for i in torch.unique(true_ids).tolist() if i != 0]
    if not p_ids and not t_ids:
        return (math.nan, math.nan, math.nan)
    ious = [(((pred_ids == p) & (true_ids == t)).sum() / ((pred_ids == p) | (true_ids == t)).sum()).item()
            for p in p_ids for t in t_ids]
    matched = [v for v in ious if v > 0.5]
    tp = len(matched)
    fp, fn = len(p_ids) - tp, len(t_ids) - tp
    sq = sum(matched) / tp if tp else 0.0
    rq = tp / (tp + 0.5 * fp + 0.5 * fn)
    return (sq * rq, sq, rq)


def test_the_reference_and_a_plain_answer_pass():
    assert check(EX, segment_quality_reference).status == Status.PASSED
    assert check(EX, _plain_answer).ok
    assert check(EX, lambda p, t: list(_plain_answer(p, t))).ok  # a list of three floats is fine too


def test_the_third_hint_is_the_plain_answer():
    code = EXERCISES[EX].hints[2]
    for line in ("if v > 0.5", "sq = sum(matched) / tp if tp else 0.0", "rq = tp / (tp + 0.5 * fp + 0.5 * fn)",
                 "return (sq * rq, sq, rq)", "return (math.nan, math.nan, math.nan)"):
        assert line in code


@pytest.mark.parametrize("mistake", [m.name for m in EXERCISES[EX].mistakes])
def test_each_mistake_fails_and_is_named(mistake, first_failure):
    wrong = next(m for m in EXERCISES[EX].mistakes if m.name == mistake).wrong
    first_failure(EX, wrong, mistake)


def test_a_division_by_zero_without_matches_is_named(first_failure):
    def no_guard(pred_ids, true_ids):
        pq, sq, rq = _plain_answer(pred_ids, true_ids)
        if rq == 0:
            raise ZeroDivisionError("division by zero")
        return pq, sq, rq

    result = first_failure(EX, no_guard, "SQ undefined when nothing matches")
    assert "raised ZeroDivisionError" in result.message


def test_wrong_values_are_named_in_the_problem_line(first_failure):
    result = first_failure(EX, lambda p, t: (0.5, 0.5, 0.5), None)
    assert "Wrong: sq (expected (pq, sq, rq) = (0.5, 1, 0.5), got (0.5, 0.5, 0.5))" in result.message
    result = first_failure(EX, lambda p, t: 0.5, None)
    assert "Return a tuple of three Python floats" in result.message


def test_an_unfinished_function_is_not_done():
    def segment_quality(pred_ids, true_ids):
        # YOUR CODE HERE
        raise NotImplementedError()

    result = check(EX, segment_quality)
    assert result.status == Status.NOT_DONE and "segment_quality" in result.message
