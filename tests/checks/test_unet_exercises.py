import torch
import torch.nn as nn
import torch.nn.functional as F

from course_lib.checks import Status, check, exercises_for
from course_lib.checks.unet import dice_score_reference, double_conv_reference, join_skip_reference
from course_lib.models import DoubleConv, match_size


def test_lesson_has_five_exercises_with_visible_and_hidden_cases_and_hints():
    exercises = exercises_for("04_unet")
    assert [e.id for e in exercises] == ["double-conv", "join-skip", "dice-score", "keras-double-conv", "stop-at-loss"]
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


# ---- typical mistakes fail with a helpful message, named at the first try with the idea only ----------
def test_double_conv_without_padding_fails_and_mentions_padding(capsys, first_failure):
    def no_padding(i, o):
        return nn.Sequential(nn.Conv2d(i, o, 3), nn.BatchNorm2d(o), nn.ReLU(), nn.Conv2d(o, o, 3), nn.BatchNorm2d(o), nn.ReLU())

    result = first_failure("double-conv", no_padding, "no padding")
    assert "padding=1" in result.message


def test_double_conv_with_one_conv_or_no_final_relu_fails(capsys, first_failure):
    def single(i, o):
        return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU())

    def no_last_relu(i, o):
        return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(), nn.Conv2d(o, o, 3, padding=1), nn.BatchNorm2d(o))

    def relu_before_bn(i, o):
        return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(o), nn.Conv2d(o, o, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(o))

    def copy_paste(i, o):
        return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(), nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU())

    def no_return(i, o):
        nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU())

    single = first_failure("double-conv", single, "a single convolution").message
    assert "exactly 2" in single
    for wrong in (no_last_relu, relu_before_bn):
        message = first_failure("double-conv", wrong, "block does not end with ReLU").message
        assert "ReLU" in message, wrong.__name__
    first_failure("double-conv", copy_paste, "second conv takes in_channels")
    none = first_failure("double-conv", no_return, "forgot to return the block").message
    assert "Module" in none


def test_join_skip_wrong_order_or_no_padding_fails(capsys, first_failure):
    def wrong_order(x, skip):
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        x = match_size(x, skip.shape[-2:])
        return torch.cat([x, skip], dim=1)

    def no_padding(x, skip):
        return torch.cat([skip, F.interpolate(x, scale_factor=2, mode="nearest")], dim=1)

    def bilinear(x, skip):
        x = F.interpolate(x, scale_factor=2, mode="bilinear")
        return torch.cat([skip, match_size(x, skip.shape[-2:])], dim=1)

    def stretched(x, skip):
        return torch.cat([skip, F.interpolate(x, size=skip.shape[-2:])], dim=1)

    def pad_top_left(x, skip):
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        dh, dw = skip.shape[-2] - x.shape[-2], skip.shape[-1] - x.shape[-1]
        return torch.cat([skip, F.pad(x, [dw, 0, dh, 0])], dim=1)

    r1 = first_failure("join-skip", wrong_order, "upsampled x before the skip")
    assert r1.passed == 0
    r2 = first_failure("join-skip", no_padding, None)  # the even case passes, the odd-size case raises inside torch.cat
    assert r2.passed == 1 and "RuntimeError" in r2.message and "mistake:" not in r2.message
    first_failure("join-skip", bilinear, "bilinear upsampling")
    first_failure("join-skip", stretched, "resized to the skip size")
    r5 = first_failure("join-skip", pad_top_left, "padded on the wrong side")
    assert r5.passed == 1


def test_dice_score_mistakes_fail(capsys, first_failure):
    def no_empty_case(pred, target):
        return (2 * (pred.bool() & target.bool()).sum() / (pred.bool().sum() + target.bool().sum())).item()

    def iou_instead(pred, target, empty=1.0):
        p, t = pred.bool(), target.bool()
        union = int((p | t).sum())
        return empty if union == 0 else int((p & t).sum()) / union

    def equal_pixels(pred, target, empty=1.0):
        total = int(pred.sum()) + int(target.sum())
        return empty if total == 0 else 2 * int((pred == target).sum()) / total

    def fixed_one(pred, target, empty=1.0):
        total = int(pred.sum()) + int(target.sum())
        return 1.0 if total == 0 else 2 * int((pred.bool() & target.bool()).sum()) / total

    r1 = first_failure("dice-score", no_empty_case, "both-empty case not handled")
    assert r1.passed == 1 and "empty" in r1.message
    r2 = first_failure("dice-score", iou_instead, "IoU instead of Dice")
    assert r2.passed == 0
    first_failure("dice-score", equal_pixels, "background counted as overlap")
    first_failure("dice-score", fixed_one, "empty argument ignored")
