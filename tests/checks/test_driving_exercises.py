import math

import pytest
import torch

from course_lib import metrics
from course_lib.checks import Status, check, exercises_for
from course_lib.checks.driving import (
    miou_and_micro_reference,
    outputs_match_reference,
    sqrt_class_weights_reference,
)

REFERENCES = {
    "sqrt-class-weights": sqrt_class_weights_reference,
    "miou-and-micro": miou_and_micro_reference,
    "outputs-match": outputs_match_reference,
}


def test_the_lessons_exercises_in_order_with_hints_that_teach_without_code():
    exercises = exercises_for("10_capstone_driving")
    assert [e.id for e in exercises] == list(REFERENCES)
    for ex in exercises:
        idea, nudge, code = ex.hints
        assert ex.hint == idea and not any(c in idea for c in ("`", "()", "=", "[")), ex.id  # plain words, no code
        assert "return" in code, ex.id  # step 3 gives the answer's key lines
        assert len(ex.mistakes) >= 2, ex.id


# ---- references agree with course_lib.metrics / smp ------------------------------------------------------
def test_sqrt_class_weights_reference_on_a_small_example():
    masks = torch.tensor([[[0] * 8 + [1] * 2, [0] * 8 + [2, 3]]])  # 16 of class 0, 2 of class 1, 1 of class 2, 1 void
    weights = sqrt_class_weights_reference(masks, num_classes=4, ignore_index=3)
    freq = torch.tensor([16, 2, 1], dtype=torch.float64) / 19
    expected = (freq.median() / freq).sqrt()
    assert weights.dtype == torch.float32
    assert torch.allclose(weights[:3], expected.float()) and weights[3] == 0  # class 3 is void here: weight 0


def test_sqrt_class_weights_ignore_void_and_absent_classes():
    masks = torch.tensor([[0, 0, 0, 0, 1, 11, 11, 11, 11, 11, 11, 11]])
    weights = sqrt_class_weights_reference(masks)
    assert weights.shape == (11,) and weights[2:].eq(0).all()
    assert torch.allclose(weights[:2], torch.tensor([(2.5 / 4) ** 0.5, (2.5 / 1) ** 0.5]))  # median of 4/5 and 1/5
    # void pixels never change the weights, however many there are
    more_void = torch.cat([masks, torch.full((1, 12), 11)], 1)
    assert torch.equal(sqrt_class_weights_reference(more_void), weights)


def test_sqrt_class_weights_reference_rejects_bad_masks():
    with pytest.raises(TypeError, match="integer class labels"):
        sqrt_class_weights_reference(torch.rand(2, 4, 4))
    with pytest.raises(ValueError, match="no labelled pixel"):
        sqrt_class_weights_reference(torch.full((2, 2), 11))
    with pytest.raises(ValueError, match="outside 0..10"):
        sqrt_class_weights_reference(torch.tensor([[0, 12]]))


def _labels(seed: int, n: int = 2, h: int = 12, w: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    target = torch.randint(0, 12, (n, h, w), generator=g)
    pred = torch.where(torch.rand(n, h, w, generator=g) < 0.7, target, torch.randint(0, 12, (n, h, w), generator=g))
    return pred, target


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_miou_reference_is_metrics_iou_with_void_ignored(seed):
    pred, target = _labels(seed)
    pred[pred == 11] = 3  # an 11-class model never predicts void ...
    if seed == 2:
        pred[0, 0] = 11  # ... but a 12-class one may: then a real pixel predicted as void is a miss
    full = metrics.confusion_matrix(pred, target, num_classes=12)
    miou, micro = miou_and_micro_reference(full)
    assert miou == pytest.approx(float(metrics.iou(pred, target, num_classes=12, ignore_index=11)), abs=1e-12)
    assert micro == pytest.approx(float(metrics.iou(pred, target, num_classes=12, average="micro")), abs=1e-12)


def test_micro_counts_void_as_a_class_like_smp():
    smp = pytest.importorskip("segmentation_models_pytorch")
    pred, target = _labels(3)
    tp, fp, fn, tn = smp.metrics.get_stats(pred, target, mode="multiclass", num_classes=12)
    smp_micro = float(smp.metrics.iou_score(tp, fp, fn, tn, reduction="micro"))
    _, micro = miou_and_micro_reference(metrics.confusion_matrix(pred, target, num_classes=12))
    assert micro == pytest.approx(smp_micro, abs=1e-6)


def test_miou_leaves_absent_classes_out_and_nan_when_nothing_is_scored():
    cm = torch.diag(torch.tensor([5] * 3 + [0] * 8 + [7]))
    assert miou_and_micro_reference(cm) == (1.0, 1.0)
    only_void = torch.zeros(12, 12, dtype=torch.int64)
    only_void[11, 0] = 4
    miou, micro = miou_and_micro_reference(only_void)
    assert math.isnan(miou) and micro == 0.0
    with pytest.raises(ValueError, match="square"):
        miou_and_micro_reference(torch.zeros(12, 11))


def test_outputs_match_reference():
    a = torch.tensor([[[[1.0]], [[0.0]]]])
    assert outputs_match_reference(a, a + 1e-6, 1e-4)
    assert not outputs_match_reference(a, a + 1e-3, 1e-4)
    assert not outputs_match_reference(a, torch.tensor([[[[0.49995]], [[0.5]]]]), 1.0)  # close, but the label flips
    with pytest.raises(ValueError, match="same"):
        outputs_match_reference(a, a[:, :1], 1e-4)


# ---- the references pass, a stub is NOT DONE ---------------------------------------------------------
@pytest.mark.parametrize("exercise", list(REFERENCES))
def test_reference_passes_and_a_stub_is_not_done(exercise, capsys):
    def stub(*args, **kwargs):
        raise NotImplementedError()

    assert check(exercise, REFERENCES[exercise]).status == Status.PASSED
    assert check(exercise, stub).status == Status.NOT_DONE
    out = capsys.readouterr().out
    assert "PASSED" in out and "NOT DONE" in out and "# YOUR CODE HERE" in out


def test_other_correct_answers_pass(capsys):
    def lower_median(masks, num_classes=11, ignore_index=11):  # torch.median: the lower of the two middle values
        labels = masks[masks != ignore_index]
        freq = torch.bincount(labels, minlength=num_classes).double() / labels.numel()
        present = freq > 0
        return torch.where(present, (freq[present].median() / freq).sqrt(), torch.zeros_like(freq))  # float64 is fine

    def with_metrics(confusion):
        scored = confusion.clone()
        scored[11] = 0
        return (metrics.iou_from_confusion(scored, ignore_index=11).item(),
                metrics.iou_from_confusion(confusion, average="micro").item())

    def with_allclose(a, b, atol):
        return torch.allclose(a, b, atol=atol) and torch.equal(a.argmax(1), b.argmax(1))

    assert check("sqrt-class-weights", lower_median).status == Status.PASSED
    assert check("miou-and-micro", with_metrics).status == Status.PASSED
    assert check("outputs-match", with_allclose).status == Status.PASSED


# ---- typical mistakes fail with their own message ----------------------------------------------------
def _counts(masks, num_classes, ignore_index, keep_void=False):
    labels = masks.reshape(-1)
    if not keep_void:
        labels = labels[labels != ignore_index]
    return torch.bincount(labels, minlength=num_classes + keep_void).double()


def _weights(counts, rule):
    freq = counts / counts.sum()
    present = freq > 0
    median = torch.quantile(freq[present], 0.5)
    return torch.where(present, rule(freq.clamp_min(1e-12), median), torch.zeros_like(freq)).float()


def _fails_with(exercise, func, *words):
    result = check(exercise, func)
    assert result.status == Status.FAILED, func.__name__
    for word in words:
        assert word in result.message, (func.__name__, word, result.message)
    return result


def test_class_weight_mistakes_are_named(capsys):
    def void_counted(masks, num_classes=11, ignore_index=11):
        return _weights(_counts(masks, num_classes, ignore_index, keep_void=True), lambda f, m: (m / f).sqrt())[:num_classes]

    def void_weighted(masks, num_classes=11, ignore_index=11):
        return _weights(_counts(masks, num_classes, ignore_index, keep_void=True), lambda f, m: (m / f).sqrt())

    def no_sqrt(masks, num_classes=11, ignore_index=11):
        return _weights(_counts(masks, num_classes, ignore_index), lambda f, m: m / f)

    def inverse(masks, num_classes=11, ignore_index=11):
        return _weights(_counts(masks, num_classes, ignore_index), lambda f, m: 1 / f)

    def frequency(masks, num_classes=11, ignore_index=11):
        return _weights(_counts(masks, num_classes, ignore_index), lambda f, m: f)

    def upside_down(masks, num_classes=11, ignore_index=11):
        return _weights(_counts(masks, num_classes, ignore_index), lambda f, m: (f / m).sqrt())

    def no_minlength(masks, num_classes=11, ignore_index=11):
        labels = masks[masks != ignore_index]
        return _weights(torch.bincount(labels).double(), lambda f, m: (m / f).sqrt())

    def inf_for_absent(masks, num_classes=11, ignore_index=11):
        freq = _counts(masks, num_classes, ignore_index)
        freq = freq / freq.sum()
        return (torch.quantile(freq[freq > 0], 0.5) / freq).sqrt().float()

    assert _fails_with("sqrt-class-weights", void_counted, "mistake:  void counted as a class:").passed == 0
    _fails_with("sqrt-class-weights", void_weighted, "has shape (4,), expected (3,)", "mistake:  a weight for void:")
    _fails_with("sqrt-class-weights", no_sqrt, "mistake:  no square root:")
    _fails_with("sqrt-class-weights", inverse, "mistake:  plain inverse frequency:")
    _fails_with("sqrt-class-weights", frequency, "mistake:  frequencies as weights:")
    _fails_with("sqrt-class-weights", upside_down, "mistake:  upside down:")
    assert _fails_with("sqrt-class-weights", no_minlength, "one weight per class 0..10", "mistake:  no minlength:").passed == 1
    assert _fails_with("sqrt-class-weights", inf_for_absent, "inf or NaN", "mistake:  inf for absent classes:").passed == 1


def _iou(cm):
    tp = cm.diagonal()
    return tp / (cm.sum(0) + cm.sum(1) - tp)


def _nanmean(x):
    return float(x[~x.isnan()].mean())


def _micro(cm):
    tp = cm.diagonal()
    return float(tp.sum() / (cm.sum(0) + cm.sum(1) - tp).sum())


def test_miou_and_micro_mistakes_are_named(capsys):
    def micro_twice(confusion):
        return _micro(confusion.double()), _micro(confusion.double())

    def void_in_mean(confusion):
        return _nanmean(_iou(confusion.double())), _micro(confusion.double())

    def void_row_kept(confusion):
        return _nanmean(_iou(confusion.double())[:11]), _micro(confusion.double())

    def absent_as_zero(confusion):
        scored = confusion.double().clone()
        scored[11] = 0
        return float(_iou(scored)[:11].nan_to_num(0.0).mean()), _micro(confusion.double())

    def swapped(confusion):
        miou, micro = miou_and_micro_reference(confusion)
        return micro, miou

    def pixel_accuracy(confusion):
        cm = confusion.double()
        return miou_and_micro_reference(confusion)[0], float(cm.diagonal().sum() / cm.sum())

    def micro_without_void(confusion):
        scored = confusion.double().clone()
        scored[11] = 0
        return miou_and_micro_reference(confusion)[0], float(metrics.iou_from_confusion(scored, average="micro", ignore_index=11))

    def tensors(confusion):
        return tuple(torch.tensor(v) for v in miou_and_micro_reference(confusion))

    _fails_with("miou-and-micro", micro_twice, "mistake:  micro IoU as the mIoU:")
    _fails_with("miou-and-micro", void_in_mean, "mistake:  void averaged in as a class:")
    _fails_with("miou-and-micro", void_row_kept, "mistake:  void pixels counted as false positives:")
    assert _fails_with("miou-and-micro", absent_as_zero, "mistake:  absent class counted as 0:").passed == 1
    _fails_with("miou-and-micro", swapped, "mistake:  numbers swapped:")
    _fails_with("miou-and-micro", pixel_accuracy, "mistake:  pixel accuracy as the micro IoU:")
    _fails_with("miou-and-micro", micro_without_void, "mistake:  micro IoU without void:")
    _fails_with("miou-and-micro", tensors, ".item()")
    _fails_with("miou-and-micro", lambda confusion: miou_and_micro_reference(confusion)[0], "return two numbers")


def test_outputs_match_mistakes_are_named(capsys):
    def exact(a, b, atol):
        return bool((a == b).all())

    def only_argmax(a, b, atol):
        return torch.equal(a.argmax(1), b.argmax(1))

    def only_mean(a, b, atol):
        return bool((a - b).abs().mean() <= atol) and torch.equal(a.argmax(1), b.argmax(1))

    def only_values(a, b, atol):
        return bool((a - b).abs().max() <= atol)

    def strict(a, b, atol):
        return bool((a - b).abs().max() < atol) and torch.equal(a.argmax(1), b.argmax(1))

    def as_tensor(a, b, atol):
        return ((a - b).abs().max() <= atol) & (a.argmax(1) == b.argmax(1)).all()

    assert _fails_with("outputs-match", exact, "float rounding", "mistake:  exact equality:").passed == 0
    assert _fails_with("outputs-match", only_argmax, "mistake:  only the argmax compared:").passed == 1
    assert _fails_with("outputs-match", only_mean, "mistake:  only the mean difference:").passed == 2
    assert _fails_with("outputs-match", only_values, "mistake:  only the values compared:").passed == 3
    _fails_with("outputs-match", strict, "exactly atol=0.5", "mistake:  < instead of <=:")
    _fails_with("outputs-match", as_tensor, "plain bool")



def test_void_averaged_in_with_its_row_dropped_has_the_same_name(capsys):
    def void_row_dropped_but_averaged(confusion):
        scored = confusion.double().clone()
        scored[11] = 0
        return _nanmean(_iou(scored)), _micro(confusion.double())

    _fails_with("miou-and-micro", void_row_dropped_but_averaged, "mistake:  void averaged in as a class:")


def test_unrecognised_wrong_answers_get_no_name(capsys):
    assert "mistake:" not in _fails_with("sqrt-class-weights", lambda masks, num_classes=11, ignore_index=11:
                                         torch.ones(num_classes)).message
    assert "mistake:" not in _fails_with("miou-and-micro", lambda confusion: (0.5, 0.5)).message
    assert "mistake:" not in _fails_with("outputs-match", lambda a, b, atol: torch.tensor(True)).message  # a tensor


# ---- a realistic mistake is named at the first failure, which shows only the idea (step 1) ---------------------
def test_sqrt_class_weights_first_failure_names_the_mistake_and_shows_the_idea(capsys, first_failure):
    def keeps_void(masks, num_classes=11, ignore_index=11):  # forgot to drop the void pixels before counting
        labels = masks.flatten()
        freq = torch.bincount(labels, minlength=num_classes).double() / labels.numel()
        present = freq > 0
        weights = torch.zeros_like(freq)
        weights[present] = (freq[present].quantile(0.5) / freq[present]).sqrt()
        return weights.float()

    first_failure("sqrt-class-weights", keeps_void, "a weight for void")


def test_miou_and_micro_first_failure_names_the_mistake_and_shows_the_idea(capsys, first_failure):
    def void_row_kept(confusion):  # void pixels predicted as a class count as its false positives
        cm = confusion.double()
        tp, union = cm.diagonal(), cm.sum(0) + cm.sum(1) - cm.diagonal()
        return float((tp / union)[:11][union[:11] > 0].mean()), float(tp.sum() / union.sum())

    first_failure("miou-and-micro", void_row_kept, "void pixels counted as false positives")


def test_outputs_match_first_failure_names_the_mistake_and_shows_the_idea(capsys, first_failure):
    def allclose_only(torch_logits, onnx_logits, atol):  # the labels are never compared
        return torch.allclose(torch_logits, onnx_logits, rtol=0, atol=atol)

    first_failure("outputs-match", allclose_only, "only the values compared")
