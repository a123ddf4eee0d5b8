import numpy as np
import pytest
import torch

from course_lib import instances, metrics
from course_lib.checks import EXERCISES, Status, check, exercises_for, reset_hints
from course_lib.checks.instances import (
    label_components_reference,
    mask_iou_matrix_reference,
    match_counts_reference,
)


IDS = ["label-components", "mask-iou-matrix", "match-counts"]


@pytest.fixture(autouse=True)
def _hints_from_the_idea():
    """Each test starts (and leaves) these exercises at hint step 1, as a learner's first try would."""
    for exercise in IDS:
        reset_hints(exercise)
    yield
    for exercise in IDS:
        reset_hints(exercise)


def _named(result, name):
    return result.status == Status.FAILED and f"mistake:  {name}:" in result.message


def test_lesson_has_three_exercises():
    assert [e.id for e in exercises_for("06_instances")] == ["label-components", "mask-iou-matrix", "match-counts"]


# ---- references agree with course_lib ------------------------------------------------------------
def test_mask_iou_reference_matches_metrics():
    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(4, 9, 7, generator=g) < 0.4, torch.rand(5, 9, 7, generator=g) < 0.4
    a[0] = False
    b[1] = False
    assert torch.allclose(mask_iou_matrix_reference(a, b).double(), metrics.mask_iou_matrix(a, b).double(), atol=1e-6)


def test_match_counts_reference_matches_match_instances():
    g = torch.Generator().manual_seed(1)
    for _ in range(20):
        pred, true = torch.rand(6, 8, 8, generator=g) < 0.5, torch.rand(4, 8, 8, generator=g) < 0.5
        scores = torch.rand(6, generator=g)
        r = metrics.match_instances(pred, true, iou_threshold=0.3, scores=scores)
        tp = len(r.matches)
        assert match_counts_reference(r.iou_matrix, scores, 0.3) == (tp, 6 - tp, 4 - tp)


def test_label_components_reference_matches_connected_components():
    mask = torch.rand(20, 20, generator=torch.Generator().manual_seed(2)) < 0.5
    assert torch.equal(label_components_reference(mask), instances.connected_components(mask))


def test_library_functions_pass_the_checks(capsys):
    assert check("mask-iou-matrix", metrics.mask_iou_matrix).ok
    assert check("label-components", instances.connected_components).ok


# ---- typical mistakes fail with a helpful message ----------------------------------------------------
def _flat(a, b):
    return a.bool().flatten(1).float(), b.bool().flatten(1).float()


def test_mask_iou_mistakes(capsys):
    def dice(a, b):
        fa, fb = _flat(a, b)
        return 2 * (fa @ fb.T) / (fa.sum(1)[:, None] + fb.sum(1)[None, :])

    def no_empty_guard(a, b):
        fa, fb = _flat(a, b)
        inter = fa @ fb.T
        return inter / (fa.sum(1)[:, None] + fb.sum(1)[None, :] - inter)

    def transposed(a, b):
        return mask_iou_matrix_reference(b, a)

    def integer_division(a, b):
        fa, fb = a.bool().flatten(1).long(), b.bool().flatten(1).long()
        inter = fa @ fb.T
        return inter // (fa.sum(1)[:, None] + fb.sum(1)[None, :] - inter).clamp_min(1)

    r = check("mask-iou-matrix", dice)
    assert _named(r, "Dice instead of IoU") and "union" in r.message and r.passed == 0
    r = check("mask-iou-matrix", no_empty_guard)
    assert _named(r, "the empty case forgotten") and "NaN" in r.message and r.passed == 2  # the hidden empty case
    r = check("mask-iou-matrix", transposed)
    assert _named(r, "rows and columns swapped") and "b @ a.T" in r.message
    r = check("mask-iou-matrix", integer_division)
    assert _named(r, "integer division") and "float" in r.message

    def dice_in_float64(a, b):  # the same mistake written differently is still recognised
        return dice(a.double(), b.double()).double()

    assert _named(check("mask-iou-matrix", dice_in_float64), "Dice instead of IoU")


def test_match_counts_mistakes(capsys):
    def unsorted(ious, scores, iou_threshold=0.5):  # ignores the scores: predictions in the given order
        return match_counts_reference(ious, -torch.arange(len(scores), dtype=torch.float32), iou_threshold)

    def truths_reused(ious, scores, iou_threshold=0.5):
        tp = int((ious >= iou_threshold).any(1).sum()) if ious.numel() else 0
        return tp, ious.shape[0] - tp, ious.shape[1] - tp

    def strict(ious, scores, iou_threshold=0.5):
        return match_counts_reference(ious, scores, iou_threshold + 1e-9)

    def first_not_best(ious, scores, iou_threshold=0.5):
        taken, tp = set(), 0
        for d in torch.argsort(scores, descending=True).tolist():
            for gi in range(ious.shape[1]):
                if gi not in taken and ious[d, gi] >= iou_threshold:
                    taken.add(gi)
                    tp += 1
                    break
        return tp, ious.shape[0] - tp, ious.shape[1] - tp

    def tensors(ious, scores, iou_threshold=0.5):
        return tuple(torch.tensor(v) for v in match_counts_reference(ious, scores, iou_threshold))

    r = check("match-counts", unsorted)
    assert _named(r, "scores ignored") and r.passed == 1 and "(2, 0, 0)" in r.message
    r = check("match-counts", truths_reused)
    assert _named(r, "a true object matched twice") and "only once" in r.message
    r = check("match-counts", strict)
    assert _named(r, "IoU equal to the threshold not matched") and "exactly 0.5" in r.message
    r = check("match-counts", first_not_best)
    assert _named(r, "first free truth, not the best") and "best truth" in r.message
    r = check("match-counts", tensors)
    assert r.status == Status.FAILED and "plain Python ints" in r.message and "mistake:" not in r.message


def test_label_components_mistakes(capsys):
    from scipy import ndimage

    def eight(mask):
        return torch.from_numpy(ndimage.label(mask.bool().numpy(), structure=np.ones((3, 3)))[0]).long()

    def as_numpy(mask):
        return ndimage.label(mask.bool().numpy())[0]

    def background_one(mask):
        return label_components_reference(mask) + 1

    def semantic(mask):
        return mask.long()

    def with_count(mask):
        return ndimage.label(mask.bool().numpy())

    def eight_by_hand(mask):  # an 8-connected flood fill numbers the objects in another order: still recognised
        ids = eight(mask)
        return torch.where(ids > 0, ids.max() + 1 - ids, ids)

    r = check("label-components", eight)
    assert _named(r, "8-connectivity") and "corner" in r.message and r.passed == 1
    assert _named(check("label-components", eight_by_hand), "8-connectivity")
    r = check("label-components", as_numpy)
    assert _named(r, "a numpy array returned") and "torch.from_numpy" in r.message
    assert _named(check("label-components", with_count), "the (ids, count) pair returned")
    assert "background" in check("label-components", background_one).message
    r = check("label-components", semantic)
    assert _named(r, "one id for all objects") and "share an id" in r.message


# ---- a first failure names the mistake and shows only the idea of the hint ----------------------------
@pytest.mark.parametrize("exercise, mistake", [
    ("label-components", "8-connectivity"),
    ("mask-iou-matrix", "Dice instead of IoU"),
    ("match-counts", "scores ignored"),
])
def test_first_failure_names_the_mistake_and_shows_only_the_idea(capsys, exercise, mistake):
    ex = EXERCISES[exercise]
    wrong = next(m.wrong for m in ex.mistakes if m.name == mistake)
    r = check(exercise, wrong)
    assert _named(r, mistake)
    assert "step 1 of 3, the idea" in r.message and ex.hints[0] in r.message
    assert ex.hints[1] not in r.message and ex.hints[2] not in r.message
