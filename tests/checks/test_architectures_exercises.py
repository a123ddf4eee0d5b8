import math

import torch
import torch.nn.functional as F

from course_lib import metrics
from course_lib.checks import Status, check, exercises_for
from course_lib.checks.architectures import (
    max_unpool_reference,
    pick_architecture_reference,
    worst_classes_reference,
)

IDS = ["max-unpool", "worst-classes", "pick-architecture"]


def test_lesson_has_its_exercises_in_order():
    assert [e.id for e in exercises_for("05_architectures")] == IDS


# ---- references agree with torch / course_lib --------------------------------------------------------
def test_max_unpool_reference_matches_torch_on_odd_sizes():
    x = torch.randn(2, 3, 7, 9)
    pooled, idx = F.max_pool2d(x, 2, return_indices=True)
    got = max_unpool_reference(pooled, idx, (7, 9))
    assert torch.equal(got, F.max_unpool2d(pooled, idx, 2, output_size=(7, 9)))
    assert int((got != 0).sum()) == pooled.numel()  # one value per pooling window, zeros elsewhere


def test_worst_classes_reference_uses_iou_and_skips_absent_classes():
    cm = torch.tensor([[80, 10, 10, 0], [0, 10, 40, 0], [10, 0, 10, 0], [0, 0, 0, 0]])
    iou = metrics.iou_from_confusion(cm, average=None)
    assert math.isnan(float(iou[3]))
    order = sorted(range(3), key=lambda i: float(iou[i]))
    assert worst_classes_reference(cm, list("abcd"), k=3) == [list("abcd")[i] for i in order] == ["c", "b", "a"]


def test_pick_architecture_reference_respects_limits():
    rows = [{"name": "big", "params": 10, "images_per_s": 1.0, "miou": 0.9},
            {"name": "small", "params": 1, "images_per_s": 5.0, "miou": 0.5}]
    assert pick_architecture_reference(rows) == "big"
    assert pick_architecture_reference(rows, max_params=5) == "small"
    assert pick_architecture_reference(rows, min_speed=5.0) == "small"
    assert pick_architecture_reference(rows, max_params=0) is None


# ---- the references pass, a stub is NOT DONE ---------------------------------------------------------
def test_references_pass_and_torch_unpool_passes(capsys):
    assert check("max-unpool", max_unpool_reference).status == Status.PASSED
    assert check("worst-classes", worst_classes_reference).status == Status.PASSED
    assert check("pick-architecture", pick_architecture_reference).status == Status.PASSED
    torch_way = lambda x, idx, size: F.max_unpool2d(x, idx, 2, output_size=size)  # noqa: E731
    assert check("max-unpool", torch_way).status == Status.PASSED
    assert capsys.readouterr().out.count("PASSED") == 4


def test_stubs_are_not_done(capsys):
    def stub(*args, **kwargs):
        raise NotImplementedError()

    for ex in IDS:
        assert check(ex, stub).status == Status.NOT_DONE
    assert capsys.readouterr().out.count("NOT DONE") == 3


# ---- typical mistakes fail with a helpful message, named at the first try with the idea only ----------
def test_unpool_by_nearest_upsampling_fails(capsys, first_failure):
    def nearest(x, idx, size):  # copies each maximum into all four pixels: that is not unpooling
        return F.interpolate(x, size=tuple(size), mode="nearest")

    result = first_failure("max-unpool", nearest, "nearest upsampling instead of unpooling")
    assert result.passed == 0 and "values differ" in result.message


def test_unpool_without_indices_flat_or_float32_is_named(capsys, first_failure):
    def top_left(x, idx, size):
        out = torch.zeros(*x.shape[:2], *size, dtype=x.dtype)
        out[..., ::2, ::2][..., :x.shape[-2], :x.shape[-1]] = x
        return out

    def flat(x, idx, size):
        return torch.zeros(*x.shape[:2], size[0] * size[1], dtype=x.dtype).scatter(2, idx.flatten(2), x.flatten(2))

    def float32(x, idx, size):
        out = torch.zeros(*x.shape[:2], size[0] * size[1])
        return out.scatter(2, idx.flatten(2), x.flatten(2).float()).view(*x.shape[:2], *size)

    first_failure("max-unpool", top_left, "indices ignored")
    first_failure("max-unpool", flat, "result left flat")
    r = first_failure("max-unpool", float32, "zeros of the default dtype")
    assert "float64" in r.message


def test_unpool_that_assumes_twice_the_pooled_size_fails_on_odd_sizes(capsys, first_failure):
    def doubled(x, idx, size):
        n, c, h, w = x.shape
        out = torch.zeros(n, c, 4 * h * w, dtype=x.dtype)
        out.scatter_(2, idx.flatten(2), x.flatten(2))  # indices of a 5-wide map do not fit a 4×4 map
        return out.view(n, c, 2 * h, 2 * w)

    result = first_failure("max-unpool", doubled, None)
    assert result.passed == 1 and "the size before pooling is given" in result.message.lower()


def test_worst_classes_by_recall_or_best_first_or_with_nan_fails(capsys, first_failure):
    def by_recall(cm, names, k=3):
        cm = cm.double()
        recall = cm.diagonal() / cm.sum(1)
        return [names[i] for i in recall.nan_to_num(2.0).argsort()[:k].tolist()]

    def best_first(cm, names, k=3):
        iou = metrics.iou_from_confusion(cm, average=None)
        return [names[i] for i in iou.nan_to_num(-1.0).argsort(descending=True)[:k].tolist()]

    def keeps_nan(cm, names, k=3):  # NaN sorted as the worst class
        iou = metrics.iou_from_confusion(cm, average=None)
        return [names[i] for i in iou.nan_to_num(-1.0).argsort()[:k].tolist()]

    def nan_last(cm, names, k=3):  # argsort puts NaN at the end but keeps it
        iou = metrics.iou_from_confusion(cm, average=None)
        return [names[i] for i in iou.argsort()[:k].tolist()]

    def indices(cm, names, k=3):
        iou = metrics.iou_from_confusion(cm, average=None)
        return sorted((i for i in range(len(names)) if not math.isnan(float(iou[i]))), key=lambda i: float(iou[i]))[:k]

    named = {by_recall: "ranked by recall", best_first: "best classes first", keeps_nan: "absent classes ranked worst",
             nan_last: "absent classes not dropped", indices: "indices instead of names"}
    for wrong, name in named.items():
        result = first_failure("worst-classes", wrong, name)
    assert check("worst-classes", by_recall).passed == 0
    assert "'d'" in check("worst-classes", keeps_nan).message  # the absent class d is named as the worst


def test_pick_architecture_mistakes_fail(capsys, first_failure):
    def ignores_speed(results, max_params=None, min_speed=None):
        ok = [r for r in results if max_params is None or r["params"] <= max_params]
        return max(ok, key=lambda r: r["miou"])["name"] if ok else None

    def strict(results, max_params=None, min_speed=None):
        ok = [r for r in results if (max_params is None or r["params"] < max_params)
              and (min_speed is None or r["images_per_s"] > min_speed)]
        return max(ok, key=lambda r: r["miou"])["name"] if ok else None

    def crashes_when_empty(results, max_params=None, min_speed=None):
        ok = [r for r in results if (max_params is None or r["params"] <= max_params)
              and (min_speed is None or r["images_per_s"] >= min_speed)]
        return max(ok, key=lambda r: r["miou"])["name"]

    def returns_row(results, max_params=None, min_speed=None):
        ok = [r for r in results if (max_params is None or r["params"] <= max_params)
              and (min_speed is None or r["images_per_s"] >= min_speed)]
        return max(ok, key=lambda r: r["miou"]) if ok else None

    def best_then_limits(results, max_params=None, min_speed=None):
        best = sorted(results, key=lambda r: -r["miou"])[0] if results else None
        if best is None or (max_params is not None and best["params"] > max_params):
            return None
        return None if min_speed is not None and best["images_per_s"] < min_speed else best["name"]

    r1 = first_failure("pick-architecture", ignores_speed, "speed limit ignored")
    assert r1.passed == 1
    r2 = first_failure("pick-architecture", strict, "limits made strict")
    assert "<=" in r2.message
    r3 = first_failure("pick-architecture", crashes_when_empty, None)
    assert "ValueError" in r3.message and "mistake:" not in r3.message  # a raised error is explained, not named
    r4 = first_failure("pick-architecture", returns_row, "the whole row returned")
    assert r4.passed == 0
    r5 = first_failure("pick-architecture", best_then_limits, "best model checked afterwards")
