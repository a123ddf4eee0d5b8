import torch
import torch.nn as nn
import torch.nn.functional as F

from course_lib.checks import Status, check, exercises_for
from course_lib.checks.unet import dice_score_reference, double_conv_reference, join_skip_reference
from course_lib.models import DoubleConv, match_size


def test_lesson_has_three_exercises_with_visible_and_hidden_cases_and_hints():
    exercises = exercises_for("04_unet")
    assert [e.id for e in exercises] == ["double-conv", "join-skip", "dice-score"]
    for ex in exercises:
        cases = ex.make_cases()
        assert sum(not c.hidden for c in cases) >= 2 and sum(c.hidden for c in cases) >= 2, ex.id
        assert all(c.description for c in cases if not c.hidden), ex.id
        assert ex.hint


# ---- references agree with course_lib ------------------------------------------------------------
def test_double_conv_reference_matches_course_block_structure():
    ours, theirs = double_conv_reference(3, 8), DoubleConv(3, 8)
    shapes = lambda m: [tuple(p.shape) for p in m.parameters()]  # noqa: E731
    assert shapes(ours) == shapes(theirs)
    assert ours(torch.randn(2, 3, 9, 7)).shape == (2, 8, 9, 7)


def test_join_skip_reference_pads_like_match_size():
    x, skip = torch.randn(2, 4, 4, 3), torch.randn(2, 3, 9, 7)
    up = F.interpolate(x, scale_factor=2, mode="nearest")
    expected = torch.cat([skip, match_size(up, skip.shape[-2:])], dim=1)
    assert torch.equal(join_skip_reference(x, skip), expected)


def test_dice_score_reference_matches_definition():
    a = torch.tensor([[1, 1, 0], [0, 1, 0]], dtype=torch.bool)
    b = torch.tensor([[1, 0, 0], [0, 1, 1]], dtype=torch.bool)
    assert abs(dice_score_reference(a, b) - 4 / 6) < 1e-12
    empty = torch.zeros(2, 3, dtype=torch.bool)
    assert dice_score_reference(empty, empty) == 1.0 and dice_score_reference(empty, empty, empty=0.0) == 0.0


# ---- the references pass, a stub is NOT DONE ---------------------------------------------------------
def test_references_pass(capsys):
    assert check("double-conv", double_conv_reference).status == Status.PASSED
    assert check("join-skip", join_skip_reference).status == Status.PASSED
    assert check("dice-score", dice_score_reference).status == Status.PASSED
    assert check("double-conv", DoubleConv).status == Status.PASSED  # the course's own block also passes
    assert capsys.readouterr().out.count("PASSED") == 4


def test_stubs_are_not_done(capsys):
    def stub(*args, **kwargs):
        raise NotImplementedError()

    for ex in ("double-conv", "join-skip", "dice-score"):
        assert check(ex, stub).status == Status.NOT_DONE
    assert capsys.readouterr().out.count("NOT DONE") == 3


# ---- typical mistakes fail with a helpful message ----------------------------------------------------
def test_double_conv_without_padding_fails_and_mentions_padding(capsys):
    def no_padding(i, o):
        return nn.Sequential(nn.Conv2d(i, o, 3), nn.BatchNorm2d(o), nn.ReLU(), nn.Conv2d(o, o, 3), nn.BatchNorm2d(o), nn.ReLU())

    result = check("double-conv", no_padding)
    assert result.status == Status.FAILED and "padding=1" in result.message


def test_double_conv_with_one_conv_or_no_final_relu_fails(capsys):
    def single(i, o):
        return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU())

    def no_last_relu(i, o):
        return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(), nn.Conv2d(o, o, 3, padding=1), nn.BatchNorm2d(o))

    assert "exactly 2" in check("double-conv", single).message
    assert "ReLU" in check("double-conv", no_last_relu).message
    assert "Module" in check("double-conv", lambda i, o: None).message


def test_join_skip_wrong_order_or_no_padding_fails(capsys):
    def wrong_order(x, skip):
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        x = match_size(x, skip.shape[-2:])
        return torch.cat([x, skip], dim=1)

    def no_padding(x, skip):
        return torch.cat([skip, F.interpolate(x, scale_factor=2, mode="nearest")], dim=1)

    r1 = check("join-skip", wrong_order)
    assert r1.status == Status.FAILED and "hint" in r1.message
    r2 = check("join-skip", no_padding)  # the even case passes, the odd-size case raises inside torch.cat
    assert r2.status == Status.FAILED and r2.passed == 1 and "RuntimeError" in r2.message


def test_dice_score_mistakes_fail(capsys):
    def no_empty_case(pred, target):
        return (2 * (pred.bool() & target.bool()).sum() / (pred.bool().sum() + target.bool().sum())).item()

    def iou_instead(pred, target):
        p, t = pred.bool(), target.bool()
        union = int((p | t).sum())
        return 1.0 if union == 0 else int((p & t).sum()) / union

    r1 = check("dice-score", no_empty_case)
    assert r1.status == Status.FAILED and "empty" in r1.message
    r2 = check("dice-score", iou_instead)
    assert r2.status == Status.FAILED and r2.passed == 0
