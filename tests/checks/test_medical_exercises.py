import itertools
import math

import pytest
import torch

from course_lib import metrics as M
from course_lib.checks import Status, check, exercises_for
from course_lib.checks.medical import masked_scores_reference, pick_threshold_reference, tile_starts_reference
from course_lib.checks.medical.common import fundus
from course_lib.checks.medical.masked_scores import _masked_scores_cases
from course_lib.checks.medical.pick_threshold import _accuracy_at, _best_by, _dice_at, _pick_threshold_cases
from course_lib.inference import tile_starts

EXERCISE_IDS = ["tile-starts", "masked-scores", "pick-threshold"]


def test_lesson_has_three_exercises_with_visible_and_hidden_cases_and_stepwise_hints():
    exercises = exercises_for("09_capstone_medical")
    assert [e.id for e in exercises] == EXERCISE_IDS
    for ex in exercises:
        cases = ex.make_cases()
        assert sum(not c.hidden for c in cases) >= 2 and sum(c.hidden for c in cases) >= 3, ex.id
        assert all(c.description for c in cases), ex.id
        assert ex.checker is not None, ex.id
        idea, nudge, code = ex.hints
        assert ex.hint == idea and not any(c in idea for c in ("`", "()", "=", "[")), ex.id  # plain words, no code
        assert "return" in code, ex.id  # step 3 gives the answer's key lines
        assert len(ex.mistakes) >= 2, ex.id


# ---- references agree with course_lib -----------------------------------------------------------------------------
def test_tile_starts_reference_is_the_library_function():
    for length, tile in itertools.product(range(1, 70), (1, 3, 8, 32)):
        for overlap in range(tile):
            assert tile_starts_reference(length, tile, overlap) == tile_starts(length, tile, overlap)


def test_masked_scores_reference_agrees_with_binary_scores():
    for case in _masked_scores_cases():
        pred, target, fov = case.args
        ours = M.binary_scores(pred, target.long(), fov)
        ref = masked_scores_reference(pred, target, fov)
        assert ref == pytest.approx({k: ours[k] for k in ref}, abs=1e-12)


def test_pick_threshold_reference_agrees_with_best_threshold():
    for case in _pick_threshold_cases():
        probs, target, fov, thresholds = case.args
        assert pick_threshold_reference(*case.args) == M.best_threshold(probs, target, fov, thresholds)[0]


# ---- the cases make every named mistake visible ------------------------------------------------------------------
def test_masked_scores_cases_show_the_fov_trap():
    inflated = 0
    for case in _masked_scores_cases()[:5]:
        pred, target, fov = case.args
        inside = masked_scores_reference(pred, target, fov)
        whole = masked_scores_reference(pred, target, torch.ones_like(fov))
        inflated += whole["specificity"] > inside["specificity"]
        assert whole["dice"] < inside["dice"]  # the rim's false positives count when the FOV is ignored
        assert inside["sensitivity"] != inside["specificity"]
    assert inflated == 5


def test_pick_threshold_cases_separate_dice_accuracy_and_whole_image_choices():
    cases = _pick_threshold_cases()
    for case in cases[:4]:
        probs, target, fov, thresholds = case.args
        best = pick_threshold_reference(*case.args)
        dice = sorted(_dice_at(probs, target, fov, t) for t in thresholds)
        assert dice[-1] - dice[-2] > 1e-3  # a clear winner
        assert best != _best_by(lambda t: _accuracy_at(probs, target, fov, t), thresholds)
        assert best != _best_by(lambda t: _dice_at(probs, target, torch.ones_like(fov), t), thresholds)
    for case in cases:
        probs, _, fov, thresholds = case.args
        assert not any(bool((probs == torch.tensor(t, dtype=probs.dtype)).any()) for t in thresholds)  # no > vs >=
        assert case.expected in thresholds


def test_synthetic_fundus_looks_like_drive():
    probs, vessels, fov = fundus(0, 64, 64)
    share = vessels[fov].float().mean().item()
    assert 0.05 < share < 0.35 and not bool(vessels[~fov].any())
    assert probs.dtype == torch.float32 and 0 <= probs.min() and probs.max() <= 1
    assert 0.4 < fov.float().mean().item() < 0.7


# ---- the references and the library pass (tests/checks/test_registry.py also runs every reference and a
# NotImplementedError stub, which must give NOT DONE, for each exercise of every lesson) ---------------------------
def test_references_and_library_pass(capsys):
    assert check("tile-starts", tile_starts_reference).status == Status.PASSED
    assert check("tile-starts", tile_starts).status == Status.PASSED
    assert check("masked-scores", masked_scores_reference).status == Status.PASSED
    assert check("pick-threshold", pick_threshold_reference).status == Status.PASSED
    assert capsys.readouterr().out.count("PASSED") == 4


# ---- tile-starts: typical mistakes --------------------------------------------------------------------------------
def _failed(exercise, func, *words):
    result = check(exercise, func)
    assert result.status == Status.FAILED, result.message
    for word in words:
        assert word in result.message, (word, result.message)
    assert "hint:" in result.message
    return result


def test_tile_starts_without_a_flush_last_window_names_the_gap(capsys):
    def regular_steps_only(length, tile, overlap):
        return list(range(0, length - tile + 1, tile - overlap)) if length > tile else [0]

    r = _failed("tile-starts", regular_steps_only, "gap at the end", "length - tile = 309",
                "mistake:  no window flush with the end:")
    assert r.passed == 1  # [0, 3, 6] happens to end flush


def test_tile_starts_running_past_the_end_is_named(capsys):
    def up_to_length(length, tile, overlap):
        return list(range(0, length, tile - overlap))

    _failed("tile-starts", up_to_length, "runs past the end", "at most length - tile = 6",
            "mistake:  last window runs past the end:")


def test_tile_starts_stepping_by_the_overlap_is_named(capsys):
    def stride_is_overlap(length, tile, overlap):
        return [0] if length <= tile else list(range(0, length - tile, overlap)) + [length - tile]

    _failed("tile-starts", stride_is_overlap, "apart, the overlap", "tile - overlap = 3", "mistake:  stepped by the overlap:")


def test_tile_starts_other_mistakes(capsys):
    _failed("tile-starts", lambda length, tile, overlap: range(0, length - tile, tile - overlap), "range object")
    _failed("tile-starts", lambda length, tile, overlap: [0, length - tile], "share only", "mistake:  windows too far apart:")
    fits = _failed(
        "tile-starts",
        lambda length, tile, overlap: list(range(0, length - tile, tile - overlap)) + [length - tile],
        "fits in one tile", "mistake:  one-tile image not handled:",
    )
    assert fits.passed == 2  # the first two visible cases pass, the image smaller than a tile does not
    def small_steps(length, tile, overlap):
        step = max(tile - overlap - 1, 1)
        return [0] if length <= tile else list(range(0, length - tile, step)) + [length - tile]

    _failed("tile-starts", small_steps, "are enough", "mistake:  more windows than needed:")
    assert "mistake:" not in _failed("tile-starts", lambda length, tile, overlap: torch.tensor([0]), "list of ints").message


def test_tile_starts_accepts_another_valid_placement(capsys):
    def evenly_spread(length, tile, overlap):
        if length <= tile:
            return [0]
        n = math.ceil((length - tile) / (tile - overlap)) + 1
        return [round(i * (length - tile) / (n - 1)) for i in range(n)]

    assert check("tile-starts", evenly_spread).status == Status.PASSED


# ---- masked-scores: typical mistakes ------------------------------------------------------------------------------
def test_masked_scores_counting_outside_the_fov_is_named(capsys):
    def whole_image(pred, target, fov):
        return masked_scores_reference(pred, target, torch.ones_like(fov))

    _failed("masked-scores", whole_image, "mistake:  pixels outside the field of view counted:",
            "specificity comes out too high")


def test_masked_scores_fov_only_for_some_scores_is_named(capsys):
    def fov_only_for_dice(pred, target, fov):
        inside = masked_scores_reference(pred, target, fov)
        whole = masked_scores_reference(pred, target, torch.ones_like(fov))
        return {"dice": inside["dice"], "sensitivity": whole["sensitivity"], "specificity": whole["specificity"]}

    _failed("masked-scores", fov_only_for_dice, "Wrong: specificity (", "mistake:  pixels outside the field of view counted:")


def test_masked_scores_swapped_sensitivity_and_specificity_is_named(capsys):
    def swapped(pred, target, fov):
        s = masked_scores_reference(pred, target, fov)
        return {"dice": s["dice"], "sensitivity": s["specificity"], "specificity": s["sensitivity"]}

    _failed("masked-scores", swapped, "Wrong: sensitivity, specificity", "mistake:  sensitivity and specificity swapped:")


def test_masked_scores_other_mistakes(capsys):
    def iou_as_dice(pred, target, fov):
        p, t, f = pred.bool(), target.bool(), fov.bool()
        s = masked_scores_reference(pred, target, fov)
        return {**s, "dice": ((p & t & f).sum() / ((p | t) & f).sum()).item()}

    _failed("masked-scores", iou_as_dice, "Wrong: dice (", "mistake:  IoU instead of Dice:")

    def tensors(pred, target, fov):
        return {k: torch.tensor(v) for k, v in masked_scores_reference(pred, target, fov).items()}

    _failed("masked-scores", tensors, ".item()")
    _failed("masked-scores", lambda p, t, f: {"dice": 1.0}, "keys 'dice', 'sensitivity' and 'specificity'")

    def integer_not(pred, target, fov):  # * as AND and ~ as NOT: right on bool, wrong on 0/1 int64 (~1 == -2)
        tp = (pred * target * fov).sum().item()
        fn = (~pred * target * fov).sum().item()
        fp = (pred * ~target * fov).sum().item()
        tn = (~pred * ~target * fov).sum().item()
        return {"dice": 2 * tp / (2 * tp + fp + fn), "sensitivity": tp / (tp + fn), "specificity": tn / (tn + fp)}

    r = _failed("masked-scores", integer_not, "mistake:  ~ on 0/1 integer masks:", "not bool", ".bool()")
    assert r.passed == 5  # the five cases with bool tensors pass


# ---- pick-threshold: typical mistakes -----------------------------------------------------------------------------
def _dice_scores(probs, target, fov, thresholds):
    return [masked_scores_reference(probs > t, target, fov)["dice"] for t in thresholds]


def test_pick_threshold_returning_the_best_score_is_named(capsys):
    def best_score(probs, target, fov, thresholds):
        return max(_dice_scores(probs, target, fov, thresholds))

    _failed("pick-threshold", best_score, "is the best Dice itself, not the threshold", "mistake:  returned the best Dice:")


def test_pick_threshold_choosing_by_accuracy_is_named(capsys):
    def by_accuracy(probs, target, fov, thresholds):
        accuracy = [((probs > t) == target.bool())[fov].float().mean().item() for t in thresholds]
        return thresholds[accuracy.index(max(accuracy))]

    _failed("pick-threshold", by_accuracy, "best pixel accuracy", "mistake:  chose by pixel accuracy:",
            "Score each threshold by Dice")


def test_pick_threshold_other_mistakes(capsys):
    def whole_image(probs, target, fov, thresholds):
        return pick_threshold_reference(probs, target, torch.ones_like(fov), thresholds)

    _failed("pick-threshold", whole_image, "over the whole image", "mistake:  scored the whole image:")

    def position(probs, target, fov, thresholds):
        d = _dice_scores(probs, target, fov, thresholds)
        return d.index(max(d))

    _failed("pick-threshold", position, "the position", "mistake:  returned the position:")

    def worst(probs, target, fov, thresholds):
        d = _dice_scores(probs, target, fov, thresholds)
        return thresholds[d.index(min(d))]

    _failed("pick-threshold", worst, "lowest Dice", "mistake:  kept the worst threshold:")
    _failed("pick-threshold", lambda p, t, f, th: torch.tensor(0.45), ".item()")
    _failed("pick-threshold", lambda p, t, f, th: 0.123, "not one of the candidate thresholds")
    _failed("pick-threshold", lambda p, t, f, th: None, "one threshold (a float)")


def test_pick_threshold_accepts_any_tied_best_threshold(capsys):
    probs = torch.tensor([[0.1, 0.9], [0.8, 0.2]])
    target = torch.tensor([[0, 1], [1, 0]])
    fov = torch.ones(2, 2, dtype=torch.bool)
    from course_lib.checks.core import Case
    from course_lib.checks.medical.pick_threshold import _check_pick_threshold

    case = Case((probs, target, fov, [0.3, 0.5, 0.7, 0.95]))
    assert _check_pick_threshold(case, 0.3) is None and _check_pick_threshold(case, 0.7) is None
    assert "lowest Dice" in _check_pick_threshold(case, 0.95)


# ---- a realistic mistake is named at the first failure, which shows only the idea (step 1) ------------------------
def test_tile_starts_first_failure_names_the_mistake_and_shows_the_idea(capsys, first_failure):
    def no_final_window(length, tile, overlap):  # regular steps only: the last pixels get no window
        return [0] if length <= tile else list(range(0, length - tile + 1, tile - overlap))

    first_failure("tile-starts", no_final_window, "no window flush with the end")


def test_masked_scores_first_failure_names_the_mistake_and_shows_the_idea(capsys, first_failure):
    def ignores_fov(pred, target, fov):
        p, t = pred.bool(), target.bool()
        tp, fn, fp, tn = (int(x.sum()) for x in (p & t, ~p & t, p & ~t, ~p & ~t))
        return {"dice": 2 * tp / (2 * tp + fp + fn), "sensitivity": tp / (tp + fn), "specificity": tn / (tn + fp)}

    first_failure("masked-scores", ignores_fov, "pixels outside the field of view counted")


def test_pick_threshold_first_failure_names_the_mistake_and_shows_the_idea(capsys, first_failure):
    def returns_the_dice(probs, target, fov, thresholds):
        best = -1.0
        for t in thresholds:
            best = max(best, masked_scores_reference(probs > t, target, fov)["dice"])
        return best

    first_failure("pick-threshold", returns_the_dice, "returned the best Dice")
