import pytest
import torch

from course_lib.checks import EXERCISES, Status, check, exercises_for


def test_unknown_exercise_is_misuse_and_lists_ids():
    with pytest.raises(ValueError, match="label-to-masks"):
        check("no-such-exercise", lambda: None)


@pytest.mark.parametrize("exercise", [e.id for e in exercises_for()])
def test_references_pass_and_stubs_are_not_done(exercise):
    assert check(exercise, EXERCISES[exercise].reference).status == Status.PASSED

    def stub(*args, **kwargs):
        raise NotImplementedError()

    assert check(exercise, stub).status == Status.NOT_DONE


def test_every_exercise_has_visible_and_hidden_cases_and_a_hint():
    exercises = exercises_for()
    assert exercises, "no exercises registered"
    for ex in exercises:
        cases = ex.make_cases()
        assert sum(not c.hidden for c in cases) >= 2 and any(c.hidden for c in cases), ex.id
        assert ex.hint, ex.id
        camel = "".join(word.capitalize() for word in ex.id.split("-"))  # a class exercise, e.g. StopAtLoss
        assert ex.function_name in (ex.id.replace("-", "_"), camel), ex.id
        assert all(c.description for c in cases if not c.hidden), ex.id


def test_common_mistakes_fail_with_helpful_messages():
    wrong = check("label-to-masks", lambda lm, c: torch.stack([lm == k for k in lm.unique()]))
    assert wrong.status == Status.FAILED and "shape" in wrong.message
    as_int = check("label-to-masks", lambda lm, c: (lm[None] == torch.arange(c)[:, None, None]).long())
    assert as_int.status == Status.FAILED and "dtype torch.int64, expected torch.bool" in as_int.message
    tensor_back = check("foreground-fraction", lambda lm, background=0: (lm != background).float().mean())
    assert tensor_back.status == Status.FAILED and ".item()" in tensor_back.message
    ignores_bg = check("foreground-fraction", lambda lm, background=0: (lm != 0).float().mean().item())
    assert ignores_bg.status == Status.FAILED and "background=1" in ignores_bg.message


def test_lessons_are_recorded():
    assert {e.lesson for e in exercises_for("00_welcome")} == {"00_welcome"}
    assert len(exercises_for("00_welcome")) >= 2
    assert set(EXERCISES) >= {"label-to-masks", "foreground-fraction"}


def test_missing_reference_is_named():
    from course_lib.checks.registry import Exercise

    ex = Exercise("no-ref", "00_welcome", "t", make_cases=EXERCISES["label-to-masks"].make_cases)
    with pytest.raises(ValueError, match="no_ref_reference"):
        ex.reference


def test_every_lesson_with_exercises_has_at_least_three_and_its_notebook_checks_each():
    """Each lesson's exercises are all checked in its solution notebook (the id appears in a check call)."""
    from course_lib.config import repo_root

    lessons = sorted({e.lesson for e in exercises_for()})
    assert len(lessons) >= 9, lessons
    for lesson in lessons:
        ids = [e.id for e in exercises_for(lesson)]
        assert len(ids) >= 3, (lesson, ids)
        text = (repo_root() / "solutions" / f"{lesson}.ipynb").read_text()
        for exercise_id in ids:
            assert f'check(\\"{exercise_id}\\"' in text or f"check('{exercise_id}'" in text, (lesson, exercise_id)
