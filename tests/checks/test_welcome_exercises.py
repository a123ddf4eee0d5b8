"""Lesson 00's exercises: typical mistakes are named, and a first failure shows only the idea."""

import torch
import torch.nn.functional as F

from course_lib.checks import Status, check, exercises_for


def test_lesson_has_three_exercises_with_three_hint_steps():
    assert [e.id for e in exercises_for("00_welcome")] == ["label-to-masks", "foreground-fraction", "class-pixel-counts"]
    for ex in exercises_for("00_welcome"):
        assert len(ex.hints) == 3 and ex.hint == ex.hints[0] and len(ex.mistakes) >= 2, ex.id


def test_label_to_masks_first_failure_names_the_mistake_and_shows_only_the_idea(first_failure):
    result = first_failure("label-to-masks", lambda lm, c: torch.stack([lm == k for k in lm.unique()]),
                           "only the classes that occur")
    assert "shape (3, 2, 3), expected (4, 2, 3)" in result.message


def test_label_to_masks_mistakes():
    as_float = check("label-to-masks", lambda lm, c: (lm[None] == torch.arange(c)[:, None, None]).float())
    assert "dtype torch.float32, expected torch.bool" in as_float.message
    assert "mistake:  numbers instead of True/False:" in as_float.message
    one_hot = check("label-to-masks", lambda lm, c: F.one_hot(lm, c))  # H×W×C and int64
    assert "mistake:  class axis last:" in one_hot.message
    other = check("label-to-masks", lambda lm, c: torch.zeros(c, *lm.shape, dtype=torch.bool))
    assert other.status == Status.FAILED and "mistake:" not in other.message


def test_foreground_fraction_first_failure_names_the_mistake_and_shows_only_the_idea(first_failure):
    result = first_failure("foreground-fraction", lambda lm, background=0: (lm != 0).float().mean().item(),
                           "background always 0")
    assert "background=1" in result.message


def test_foreground_fraction_mistakes():
    tensor_back = check("foreground-fraction", lambda lm, background=0: (lm != background).float().mean())
    assert ".item()" in tensor_back.message and "mistake:  a tensor instead of a float:" in tensor_back.message
    background = check("foreground-fraction", lambda lm, background=0: (lm == background).float().mean().item())
    assert "all-background" in background.message and "mistake:  background counted:" in background.message
    count = check("foreground-fraction", lambda lm, background=0: int((lm != background).sum()))
    assert "mistake:  a count, not a fraction:" in count.message


def test_class_pixel_counts_first_failure_names_the_mistake_and_shows_only_the_idea(first_failure):
    first_failure("class-pixel-counts", lambda lm, c: torch.bincount(lm.flatten()), "classes above the largest label missing")


def test_class_pixel_counts_mistakes():
    present_only = check("class-pixel-counts", lambda lm, c: lm.unique(return_counts=True)[1])
    assert "without class 1" in present_only.message and "mistake:  only the classes that occur:" in present_only.message
    as_list = check("class-pixel-counts", lambda lm, c: [(lm == k).sum() for k in range(c)])  # a list of 0-d tensors
    assert "mistake:  a list instead of a tensor:" in as_list.message
