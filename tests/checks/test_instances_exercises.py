import numpy as np
import pytest
import torch

from course_lib import instances, metrics
from course_lib.checks import EXERCISES, Status, check, exercises_for
from course_lib.checks.instances import (
    label_components_reference,
    mask_iou_matrix_reference,
    match_counts_reference,
)


IDS = ["label-components", "mask-iou-matrix", "match-counts"]


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


def test_mask_iou_mistakes(capsys, first_failure):
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

    r = first_failure("mask-iou-matrix", dice, "Dice instead of IoU")
    assert "union" in r.message and r.passed == 0
    r = first_failure("mask-iou-matrix", no_empty_guard, "the empty case forgotten")
    assert "NaN" in r.message and r.passed == 2  # the hidden empty case
    r = first_failure("mask-iou-matrix", transposed, "rows and columns swapped")
    assert "b @ a.T" in r.message
    r = first_failure("mask-iou-matrix", integer_division, "integer division")
    assert "float" in r.message

    def dice_in_float64(a, b):  # the same mistake written differently is still recognised
        return dice(a.double(), b.double()).double()

    first_failure("mask-iou-matrix", dice_in_float64, "Dice instead of IoU")


def test_match_counts_mistakes(capsys, first_failure):
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

    r = first_failure("match-counts", unsorted, "scores ignored")
    assert r.passed == 1 and "(2, 0, 0)" in r.message
    r = first_failure("match-counts", truths_reused, "a true object matched twice")
    assert "only once" in r.message
    r = first_failure("match-counts", strict, "IoU equal to the threshold not matched")
    assert "exactly 0.5" in r.message
    r = first_failure("match-counts", first_not_best, "first free truth, not the best")
    assert "best truth" in r.message
    r = check("match-counts", tensors)
    assert r.status == Status.FAILED and "plain Python ints" in r.message and "mistake:" not in r.message


def test_label_components_mistakes(capsys, first_failure):
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

    r = first_failure("label-components", eight, "8-connectivity")
    assert "corner" in r.message and r.passed == 1
    first_failure("label-components", eight_by_hand, "8-connectivity")
    r = first_failure("label-components", as_numpy, "a numpy array returned")
    assert "torch.from_numpy" in r.message
    first_failure("label-components", with_count, "the (ids, count) pair returned")
    assert "background" in check("label-components", background_one).message
    r = first_failure("label-components", semantic, "one id for all objects")
    assert "share an id" in r.message


# ---- a first failure names the mistake and shows only the idea of the hint ----------------------------
@pytest.mark.parametrize("exercise, mistake", [
    ("label-components", "8-connectivity"),
    ("mask-iou-matrix", "Dice instead of IoU"),
    ("match-counts", "scores ignored"),
])
def test_first_failure_names_the_mistake_and_shows_only_the_idea(capsys, first_failure, exercise, mistake):
    wrong = next(m.wrong for m in EXERCISES[exercise].mistakes if m.name == mistake)
    first_failure(exercise, wrong, mistake)
