"""Exercises of the autonomous-driving capstone: class weights without void, mIoU vs micro IoU, ONNX outputs that match.

Conventions (CamVid-11): classes 0..10 are scored, label 11 is *void* (unlabelled pixels). Void target pixels
are ignored exactly as ``course_lib.metrics`` does with ``ignore_index=11``: they count for no class, and what
the model predicts there does not matter (tested in ``tests/checks/test_driving_exercises.py``).
"""

from __future__ import annotations

import copy
import math
from typing import Any, Callable

import torch

from .core import Case, Mistake, compare, describe
from .registry import register

__all__ = ["sqrt_class_weights_reference", "miou_and_micro_reference", "outputs_match_reference"]

LESSON = "10_capstone_driving"
NUM_CLASSES = 11
VOID = 11
# Rough CamVid-11 pixel shares (sky, building, pole, road, sidewalk, tree, sign, fence, car, pedestrian,
# bicyclist), then void: real data is this imbalanced, so the cases are too.
_CAMVID_SHARES = (0.15, 0.22, 0.01, 0.27, 0.07, 0.10, 0.01, 0.02, 0.04, 0.007, 0.005, 0.08)


# ---------------------------------------------------------------------------------------------------
# reference answers
# ---------------------------------------------------------------------------------------------------
def _class_counts(masks: torch.Tensor, num_classes: int, ignore_index: int | None) -> torch.Tensor:
    """Pixels per class 0..num_classes-1 (float64), void pixels left out; ValueError for labels out of range."""
    from ..losses import class_pixel_counts

    return class_pixel_counts(masks, num_classes, ignore_index)


def _sqrt_median_weights(counts: torch.Tensor, median: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """sqrt(median(freq) / freq) for the classes that occur, 0 for the others (float64)."""
    freq = counts / counts.sum()
    present = counts > 0
    weights = torch.zeros_like(freq)
    weights[present] = (median(freq[present]) / freq[present]).sqrt()
    return weights


def sqrt_class_weights_reference(
    masks: torch.Tensor, num_classes: int = NUM_CLASSES, ignore_index: int | None = VOID
) -> torch.Tensor:
    """Reference answer: float32 weights sqrt(median(freq) / freq) per class, void pixels left out, absent classes 0.

    ``freq`` is each class's share of the labelled (non-void) pixels; the median is taken over the classes that
    occur (the middle value, or the mean of the two middle ones). A class with no pixel gets weight 0: there is
    nothing to weight, and 1 / 0 would be inf.
    """
    from ..losses import median_frequency_weights

    return median_frequency_weights(masks, num_classes, ignore_index, power=0.5)


def _iou_per_class(cm: torch.Tensor) -> torch.Tensor:
    """TP / (TP + FP + FN) per class of a square (float64) confusion matrix; NaN where 0 / 0."""
    tp = cm.diagonal()
    union = cm.sum(0) + cm.sum(1) - tp
    return torch.where(union > 0, tp / union.clamp_min(1), torch.full_like(tp, math.nan))


def _nanmean(values: torch.Tensor) -> float:
    kept = values[~values.isnan()]
    return float(kept.mean()) if kept.numel() else math.nan


def miou_and_micro_reference(confusion: torch.Tensor) -> tuple[float, float]:
    """Reference answer: (mIoU of classes 0..C-2 with void target pixels ignored, micro IoU over all C classes).

    ``confusion`` is C×C counts, rows = true class, columns = predicted class, the last class void. The mIoU drops
    the void *row* (void pixels are not scored; a prediction there is neither right nor wrong) and averages
    TP / (TP + FP + FN) over the classes that occur, the same as ``metrics.iou(pred, target, num_classes=C,
    ignore_index=C - 1)``. The micro IoU keeps every pixel and void as a class: ΣTP / Σ(TP + FP + FN).
    """
    cm = torch.as_tensor(confusion)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] < 2:
        raise ValueError(f"confusion has shape {tuple(cm.shape)}; pass the square C×C matrix (12×12 for CamVid, void last).")
    cm = cm.double()
    scored = cm.clone()
    scored[-1] = 0  # void target pixels are ignored
    miou = _nanmean(_iou_per_class(scored)[:-1])
    tp = cm.diagonal()
    den = (cm.sum(0) + cm.sum(1) - tp).sum()
    micro = float(tp.sum() / den) if den > 0 else math.nan
    return miou, micro


def outputs_match_reference(torch_logits: torch.Tensor, onnx_logits: torch.Tensor, atol: float) -> bool:
    """Reference answer: True when max |torch − onnx| <= atol and the argmax labels (class dim 1) agree at every pixel."""
    a, b = torch.as_tensor(torch_logits), torch.as_tensor(onnx_logits)
    if a.shape != b.shape:
        raise ValueError(f"torch_logits {tuple(a.shape)} and onnx_logits {tuple(b.shape)} must have the same N×C×H×W shape.")
    max_diff = float((a.double() - b.double()).abs().max())
    return max_diff <= atol and torch.equal(a.argmax(1), b.argmax(1))


# ---------------------------------------------------------------------------------------------------
# checkers (the facts, with numbers) and the typical mistakes (by name, with the why)
# ---------------------------------------------------------------------------------------------------
def _same_as(wrong: Callable, part: Callable[[Any], Any] = lambda r: r,
             cast: Callable[[Any], Any] = lambda r: r) -> Callable[[Case, Any, str], bool]:
    """A mistake's detector: ``part`` of the learner's result equals ``part`` of ``wrong``'s, where the right answer
    differs; ``cast`` first (e.g. float64 weights to float32, which the checker accepts)."""
    def detect(case: Case, got: Any, reason: str) -> bool:
        made = part(wrong(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs)))
        right, mine = part(case.expected), part(cast(got))
        return compare(right, made, case.atol, case.rtol) is not None and compare(made, mine, case.atol, case.rtol) is None
    return detect


def _float32(got: Any) -> Any:
    return got.float() if isinstance(got, torch.Tensor) and got.is_floating_point() else got


def _sqrt_class_weights_checker(case: Case, got: Any) -> str | None:
    (masks,) = case.args
    num_classes = case.kwargs.get("num_classes", NUM_CLASSES)
    ignore_index = case.kwargs.get("ignore_index", VOID)
    got = _float32(got)  # float64 with the right numbers is fine
    reason = compare(case.expected, got, case.atol, case.rtol)
    if reason is None:
        return None
    counts = _class_counts(masks, num_classes, ignore_index)
    lower = _sqrt_median_weights(counts, lambda f: f.median()).float()  # torch's median: the lower middle value
    if isinstance(got, torch.Tensor) and compare(lower, got, case.atol, case.rtol) is None:
        return None
    if isinstance(got, torch.Tensor) and got.ndim == 1 and got.numel() != num_classes:
        return f"{reason} There must be one weight per class 0..{num_classes - 1}, {num_classes} in all."
    if isinstance(got, torch.Tensor) and got.is_floating_point() and not torch.isfinite(got).all():
        return f"{reason} The result holds inf or NaN."
    return reason


def _weights_by(rule: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], keep_void: bool = False,
                minlength: bool = True, median_over_all: bool = False, absent_zero: bool = True) -> Callable:
    """A wrong ``sqrt_class_weights``: weights ``rule(freq, median)`` with one detail changed."""
    def weights(masks: torch.Tensor, num_classes: int = NUM_CLASSES, ignore_index: int | None = VOID) -> torch.Tensor:
        labels = masks.reshape(-1).long()
        if not keep_void and ignore_index is not None:
            labels = labels[labels != ignore_index]
        freq = torch.bincount(labels, minlength=num_classes + keep_void if minlength else 0).double()
        freq = freq / freq.sum()
        present = freq > 0
        median = torch.quantile(freq if median_over_all else freq[present], 0.5)
        w = rule(freq, median)
        return torch.where(present, w, torch.zeros_like(w)).float() if absent_zero else w.float()
    return weights


_void_in_the_median = _weights_by(lambda f, m: (m / f).sqrt(), keep_void=True)


def _void_counted(masks: torch.Tensor, num_classes: int = NUM_CLASSES, ignore_index: int | None = VOID) -> torch.Tensor:
    return _void_in_the_median(masks, num_classes, ignore_index)[:num_classes]


def _counts_as_weights(masks: torch.Tensor, num_classes: int = NUM_CLASSES, ignore_index: int | None = VOID) -> torch.Tensor:
    return _class_counts(masks, num_classes, ignore_index).float()


def _has_length(predicate: Callable[[int, int], bool]) -> Callable[[Case, Any, str], bool]:
    def detect(case: Case, got: Any, reason: str) -> bool:
        n = case.kwargs.get("num_classes", NUM_CLASSES)
        return isinstance(got, torch.Tensor) and got.ndim == 1 and predicate(got.numel(), n)
    return detect


def _not_finite(case: Case, got: Any, reason: str) -> bool:
    return isinstance(got, torch.Tensor) and got.is_floating_point() and not bool(torch.isfinite(got).all())


def _weights_mistake(name: str, wrong: Callable, explanation: str) -> Mistake:
    """A mistake recognised by its weights (float64 ones compared as float32, as the checker accepts them)."""
    return Mistake(name, wrong, explanation, detect=_same_as(wrong, cast=_float32))


_SQRT_CLASS_WEIGHTS_MISTAKES = (
    Mistake("a weight for void", _void_in_the_median,
            "one weight too many: void was counted as a class. Leave out the pixels equal to ignore_index before "
            "counting; only the real classes get a weight.",
            detect=_has_length(lambda got, n: got == n + 1)),
    _weights_mistake("void counted as a class", _void_counted,
                     "the void pixels' share entered the frequencies and the median, so every weight shifts with how much "
                     "of the data is unlabelled. Leave the void pixels out before counting."),
    _weights_mistake("no square root", _weights_by(lambda f, m: m / f),
                     "those are plain median-frequency weights, median / freq. The capstone softens them with a square "
                     "root, so the rarest classes do not dominate the loss."),
    _weights_mistake("plain inverse frequency", _weights_by(lambda f, m: 1 / f),
                     "that is 1 / freq: divide the MEDIAN frequency by each class's frequency (so a typical class gets "
                     "about 1), then take the square root."),
    _weights_mistake("median missing", _weights_by(lambda f, m: (1 / f).sqrt()),
                     "that is sqrt(1 / freq): the median frequency is missing from the numerator, so a typical class does "
                     "not get a weight of about 1."),
    _weights_mistake("frequencies as weights", _weights_by(lambda f, m: f),
                     "those are the frequencies themselves: a weight must be LARGE for a rare class, so the class "
                     "frequency belongs in the denominator."),
    _weights_mistake("upside down", _weights_by(lambda f, m: (f / m).sqrt()),
                     "that is sqrt(freq / median), which favours the common classes; the median goes on top."),
    _weights_mistake("pixel counts as weights", _counts_as_weights,
                     "those are the pixel counts; turn them into weights: frequency (count over all kept pixels), then "
                     "the square root of median / frequency."),
    _weights_mistake("median over absent classes too", _weights_by(lambda f, m: (m / f).sqrt(), median_over_all=True),
                     "a class with no pixel has frequency 0 and pulls the median down. Take the median over the classes "
                     "that occur only."),
    Mistake("no minlength", _weights_by(lambda f, m: (m / f).sqrt(), minlength=False),
            "counting without a minimum length gives counts only up to the largest label present, so the classes "
            "above it get no weight at all. Ask the counting step for num_classes counts.",
            detect=_has_length(lambda got, n: got < n)),
    Mistake("inf for absent classes", _weights_by(lambda f, m: (m / f).sqrt(), absent_zero=False),
            "a class with no pixel has frequency 0, and dividing by it gives inf. There is nothing to weight: give "
            "such classes weight 0.",
            detect=_not_finite),
)


def _miou_and_micro_checker(case: Case, got: Any) -> str | None:
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return f"return two numbers, the mIoU first and the micro IoU second; got {describe(got)}."
    return compare(case.expected, got, case.atol, case.rtol)


def _scored(confusion: torch.Tensor) -> torch.Tensor:
    """The matrix as float64 with the void row (true class void) zeroed: those pixels are not scored."""
    cm = confusion.double().clone()
    cm[-1] = 0
    return cm


def _micro(cm: torch.Tensor) -> float:
    tp = cm.diagonal()
    return float(tp.sum() / (cm.sum(0) + cm.sum(1) - tp).sum())


def _miou_of(miou: Callable[[torch.Tensor], float]) -> Callable[[torch.Tensor], tuple[float, float]]:
    """A wrong ``miou_and_micro`` whose mIoU is ``miou(confusion)``; its micro IoU is right."""
    return lambda confusion: (miou(confusion), miou_and_micro_reference(confusion)[1])


def _micro_of(micro: Callable[[torch.Tensor], float]) -> Callable[[torch.Tensor], tuple[float, float]]:
    """A wrong ``miou_and_micro`` whose micro IoU is ``micro(confusion)``; its mIoU is right."""
    return lambda confusion: (miou_and_micro_reference(confusion)[0], micro(confusion))


def _swapped(confusion: torch.Tensor) -> tuple[float, float]:
    miou, micro = miou_and_micro_reference(confusion)
    return micro, miou


def _pooled(confusion: torch.Tensor) -> float:  # without void: the 11 real classes pooled
    scored = _scored(confusion)
    tp = scored.diagonal()
    union = scored.sum(0) + scored.sum(1) - tp
    return float(tp[:-1].sum() / union[:-1].sum())


_MIOU_MISTAKES = {  # name -> (the wrong mIoU, explanation)
    "micro IoU as the mIoU": (
        lambda confusion: _micro(confusion.double()),
        "the MEAN IoU scores each class on its own, then averages the per-class values, so a rare class counts as "
        "much as the road; pooling all counts first gives the micro IoU."),
    "void averaged in as a class": (
        lambda confusion: _nanmean(_iou_per_class(confusion.double())),
        "void is not a class to score: leave it out of the mean (and drop its row before counting)."),
    "void pixels counted as false positives": (
        lambda confusion: _nanmean(_iou_per_class(confusion.double())[:-1]),
        "a void pixel has no true class, so whatever the model predicts there is neither right nor wrong. Drop the "
        "void ROW (true class void) before counting."),
    "absent class counted as 0": (
        lambda confusion: float(torch.nan_to_num(_iou_per_class(_scored(confusion))[:-1]).mean()),
        "a class with no pixel at all, neither true nor predicted, has IoU 0 / 0: leave it out of the mean instead "
        "of counting it as 0."),
}
_MICRO_MISTAKES = {  # name -> (the wrong micro IoU, explanation)
    "mIoU as the micro IoU": (
        lambda confusion: miou_and_micro_reference(confusion)[0],
        "micro sums TP, FP and FN over all classes first and divides once; it does not average per-class IoUs."),
    "micro IoU without void": (
        _pooled,
        "this figure counts void as a 12th class, as the smp CamVid example does: use the full matrix, every row "
        "and column."),
    "pixel accuracy as the micro IoU": (
        lambda confusion: float(confusion.double().diagonal().sum() / confusion.double().sum()),
        "that is the pixel accuracy, right pixels over all pixels; the micro IoU divides by the summed unions, where "
        "every wrong pixel counts twice (a false positive of one class and a false negative of another)."),
}


def _part(i: int) -> Callable[[Any], Any]:
    return lambda result: result[i] if isinstance(result, (tuple, list)) and len(result) == 2 else result


_void_in_the_mean = _MIOU_MISTAKES["void averaged in as a class"]


def _void_in_the_mean_detect(case: Case, got: Any, reason: str) -> bool:
    """The mIoU averaged void in as a 12th class, its row kept or dropped."""
    row_dropped = _miou_of(lambda confusion: _nanmean(_iou_per_class(_scored(confusion))))
    return any(_same_as(wrong, part=_part(0))(case, got, reason) for wrong in (_miou_of(_void_in_the_mean[0]), row_dropped))


_MIOU_AND_MICRO_MISTAKES = (
    Mistake("numbers swapped", _swapped, "return (miou, micro): the mean IoU first, then the micro IoU."),
    Mistake("void averaged in as a class", _miou_of(_void_in_the_mean[0]), _void_in_the_mean[1],
            detect=_void_in_the_mean_detect),
    *(Mistake(name, _miou_of(wrong), text, detect=_same_as(_miou_of(wrong), part=_part(0)))
      for name, (wrong, text) in _MIOU_MISTAKES.items() if name != "void averaged in as a class"),
    *(Mistake(name, _micro_of(wrong), text, detect=_same_as(_micro_of(wrong), part=_part(1)))
      for name, (wrong, text) in _MICRO_MISTAKES.items()),
)


def _outputs_facts(case: Case) -> tuple[float, float, int]:
    """(largest and mean absolute difference, pixels whose argmax label differs) of a case's two outputs."""
    a, b, _ = case.args
    diff = (a.double() - b.double()).abs()
    return float(diff.max()), float(diff.mean()), int((a.argmax(1) != b.argmax(1)).sum())


def _outputs_match_checker(case: Case, got: Any) -> str | None:
    if isinstance(got, torch.Tensor) and got.numel() == 1:
        return "result is a one-element tensor; return a plain bool with bool(...) or .item()."
    reason = compare(case.expected, got, case.atol, case.rtol)
    if reason is None:
        return None
    atol = case.args[2]
    max_diff, mean_diff, disagree = _outputs_facts(case)
    if case.expected:
        if max_diff == 0:
            return f"{reason} The two outputs are identical here, value for value."
        if max_diff == atol:
            return f"{reason} The largest difference is exactly atol={atol:g}, and every argmax label agrees."
        return (f"{reason} The outputs differ only by float rounding (largest difference {max_diff:.2g} <= "
                f"atol={atol:g}) and every argmax label agrees.")
    if disagree == 0 and mean_diff > atol:
        return f"{reason} The argmax labels agree everywhere, but the logits differ by up to {max_diff:.2g} > atol={atol:g}."
    if disagree == 0:
        return (f"{reason} The mean difference is tiny ({mean_diff:.2g}) and the argmax labels agree, but a value "
                f"differs by {max_diff:.2g} > atol={atol:g}.")
    if max_diff <= atol:
        return (f"{reason} Every value is within atol (largest difference {max_diff:.2g}), but the argmax label "
                f"differs at {disagree} pixel(s), where two classes nearly tie.")
    return reason


def _when(fact: Callable[[bool, float, float, int, float], bool]) -> Callable[[Case, Any, str], bool]:
    """Detector: a plain bool answer was wrong on a case with ``fact(expected, max, mean, disagree, atol)``."""
    def detect(case: Case, got: Any, reason: str) -> bool:
        return (isinstance(got, bool) or type(got).__name__ == "bool_") and fact(case.expected, *_outputs_facts(case), case.args[2])
    return detect


def _match_exactly(torch_logits: torch.Tensor, onnx_logits: torch.Tensor, atol: float) -> bool:
    return bool((torch_logits == onnx_logits).all())


def _match_labels_only(torch_logits: torch.Tensor, onnx_logits: torch.Tensor, atol: float) -> bool:
    return torch.equal(torch_logits.argmax(1), onnx_logits.argmax(1))


def _match_mean_difference(torch_logits: torch.Tensor, onnx_logits: torch.Tensor, atol: float) -> bool:
    close = float((torch_logits - onnx_logits).abs().mean()) <= atol
    return close and torch.equal(torch_logits.argmax(1), onnx_logits.argmax(1))


def _match_values_only(torch_logits: torch.Tensor, onnx_logits: torch.Tensor, atol: float) -> bool:
    return float((torch_logits - onnx_logits).abs().max()) <= atol


def _match_strictly(torch_logits: torch.Tensor, onnx_logits: torch.Tensor, atol: float) -> bool:
    close = float((torch_logits - onnx_logits).abs().max()) < atol
    return close and torch.equal(torch_logits.argmax(1), onnx_logits.argmax(1))


_OUTPUTS_MATCH_MISTAKES = (
    Mistake("< instead of <=", _match_strictly,
            "'within atol' includes the limit: a difference of exactly atol still matches.",
            detect=_when(lambda expected, mx, mean, disagree, atol: expected and mx == atol)),
    Mistake("exact equality", _match_exactly,
            "exact equality (==, torch.equal on the logits) fails on tiny differences: two runtimes add in a "
            "different order, so float32 results differ in the last digits. Compare the largest absolute difference "
            "with atol instead.",
            detect=_when(lambda expected, mx, mean, disagree, atol: expected and 0 < mx < atol)),
    Mistake("only the argmax compared", _match_labels_only,
            "the same labels do not mean the same model: the logits must also be within atol, or a real bug that "
            "shifts every value goes unnoticed.",
            detect=_when(lambda expected, mx, mean, disagree, atol: not expected and disagree == 0 and mean > atol)),
    Mistake("only the mean difference", _match_mean_difference,
            "a mean hides one bad value among thousands of good ones; use the LARGEST absolute difference.",
            detect=_when(lambda expected, mx, mean, disagree, atol: not expected and disagree == 0 and mean <= atol)),
    Mistake("only the values compared", _match_values_only,
            "close logits can still pick another class where two classes nearly tie: also compare the argmax over "
            "the class dimension at every pixel.",
            detect=_when(lambda expected, mx, mean, disagree, atol: not expected and disagree > 0 and mx <= atol)),
)


# ---------------------------------------------------------------------------------------------------
# cases
# ---------------------------------------------------------------------------------------------------
def _camvid_masks(g: torch.Generator, n: int, h: int, w: int, absent: tuple[int, ...] = ()) -> torch.Tensor:
    """N×H×W int64 labels 0..11 drawn with CamVid-like shares; the classes in ``absent`` never occur."""
    shares = torch.tensor(_CAMVID_SHARES)
    shares[list(absent)] = 0
    return torch.multinomial(shares, n * h * w, replacement=True, generator=g).view(n, h, w)


@register(
    "sqrt-class-weights",
    lesson=LESSON,
    title="Square-root median-frequency class weights, void left out",
    hints=(
        "A rare class (a pedestrian) should weigh more in the loss than a common one (the road), but softly: a "
        "class's weight is the square root of the median class frequency over that class's frequency, so a typical "
        "class gets about 1 and a class a hundred times rarer about 10. Void pixels are not a class and take no "
        "part in the frequencies or the median; a class that never occurs gets weight 0.",
        "Drop the pixels equal to ignore_index (unless it is None) before counting. torch.bincount with "
        "minlength=num_classes gives one count per class, absent ones too; divide by the number of kept pixels. "
        "Take the median (torch.quantile(..., 0.5)) over the classes whose frequency is above 0 only, and start "
        "from a tensor of zeros for the others. Return float32.",
        "labels = masks.flatten().long(); labels = labels[labels != ignore_index] (when ignore_index is not None); "
        "freq = torch.bincount(labels, minlength=num_classes).double() / labels.numel(); present = freq > 0; "
        "weights = torch.zeros(num_classes, dtype=torch.float64); "
        "weights[present] = (freq[present].quantile(0.5) / freq[present]).sqrt(); return weights.float()",
    ),
    checker=_sqrt_class_weights_checker,
    mistakes=_SQRT_CLASS_WEIGHTS_MISTAKES,
)
def _sqrt_class_weights_cases() -> list[Case]:
    # 16 pixels of class 0, 4 of class 1, 1 of class 2 and 3 void (label 3): median frequency 4/21 -> [0.5, 1, 2]
    small = torch.tensor([[0, 0, 0, 0, 0, 0],
                          [0, 0, 0, 0, 0, 0],
                          [0, 0, 0, 0, 1, 1],
                          [3, 3, 3, 1, 1, 2]])[None]
    g = torch.Generator().manual_seed(1000)
    street = _camvid_masks(g, 2, 18, 24, absent=(10,))
    cases = [
        Case((small,), {"num_classes": 3, "ignore_index": 3}, expected=sqrt_class_weights_reference(small, 3, 3),
             description="1×4×6 mask: 16 pixels of class 0, 4 of class 1, 1 of class 2, 3 void (label 3) -> "
                         "frequencies 16/21, 4/21, 1/21, median 4/21 -> weights [0.5, 1, 2]"),
        Case((street,), expected=sqrt_class_weights_reference(street),
             description="2×18×24 CamVid-like masks (labels 0..10, void 11), the bicyclist class (10) absent -> its weight is 0"),
    ]
    hidden = [
        ((_camvid_masks(g, 4, 12, 16),), {}, "4×12×16 CamVid-like masks, every class present"),
        ((_camvid_masks(g, 1, 30, 40, absent=(2, 6, 9)),), {}, "1×30×40 CamVid-like masks, classes 2, 6 and 9 absent"),
        ((torch.randint(0, 4, (2, 8, 8), generator=g),), {"num_classes": 6, "ignore_index": 255},
         "2×8×8 masks with labels 0..3 only, num_classes=6, ignore_index=255: classes 4 and 5 get weight 0"),
        ((torch.full((1, 4, 4), 2),), {"num_classes": 4, "ignore_index": 4}, "a single class everywhere -> weight 1 for it, 0 for the rest"),
    ]
    mixed = torch.randint(0, 5, (3, 10, 10), generator=g)
    mixed[:, :4] = 5  # a large void band: it must not shift the median
    hidden.append(((mixed,), {"num_classes": 5, "ignore_index": 5}, "3×10×10 masks, 40% void (label 5)"))
    for args, kwargs, text in hidden:
        cases.append(Case(args, kwargs, expected=sqrt_class_weights_reference(*args, **kwargs), hidden=True, description=text))
    return cases


def _street_confusion(g: torch.Generator, absent: tuple[int, ...] = (), void_predicted: bool = False) -> torch.Tensor:
    """A 12×12 CamVid-like confusion matrix (rows = true); ``absent`` classes are neither true nor predicted."""
    shares = torch.tensor(_CAMVID_SHARES, dtype=torch.float64)
    rows = (shares * 200_000).round().long()
    cm = torch.zeros(12, 12, dtype=torch.int64)
    for c in range(12):
        spread = torch.rand(12, generator=g, dtype=torch.float64) ** 3
        spread[c] = 4 + 8 * float(torch.rand(1, generator=g))  # mostly right
        if not void_predicted:
            spread[VOID] = 0  # an 11-class model never predicts void
        cm[c] = (rows[c] * spread / spread.sum()).round().long()
    if absent:
        cm[list(absent), :] = 0
        cm[:, list(absent)] = 0
    return cm


@register(
    "miou-and-micro",
    lesson=LESSON,
    title="mIoU with void ignored, and the micro IoU that counts void",
    hints=(
        "The IoU of one class is its overlap over its union: the pixels rightly given the class, over those plus "
        "the pixels wrongly given it plus the pixels of the class that were missed, all read from the confusion "
        "matrix. The mIoU scores each real class on its own and averages them, with void pixels left out entirely "
        "(they have no true class) and classes that never occur skipped. The micro IoU pools the counts of all "
        "classes, void included, and divides once.",
        "TP is the diagonal; FN is the rest of a class's row (row sum minus TP), FP the rest of its column (column "
        "sum minus TP). For the mIoU zero the last row (void) first, keep classes 0..10 and average only those "
        "whose union is above 0. For the micro IoU use the full 12×12 matrix: sum the TPs, sum the unions, divide. "
        "Return (miou, micro) as Python floats.",
        "cm = confusion.double(); scored = cm.clone(); scored[-1] = 0; tp = scored.diagonal(); "
        "union = scored.sum(0) + scored.sum(1) - tp; miou = float((tp / union)[:-1][union[:-1] > 0].mean()); "
        "micro = float(cm.diagonal().sum() / (cm.sum(0) + cm.sum(1) - cm.diagonal()).sum()); return miou, micro",
    ),
    checker=_miou_and_micro_checker,
    mistakes=_MIOU_AND_MICRO_MISTAKES,
)
def _miou_and_micro_cases() -> list[Case]:
    simple = torch.diag(torch.full((12,), 90))
    simple[0, 1] = 10  # 10 class-0 pixels predicted as class 1
    simple[2, VOID] = 10  # 10 more class-2 pixels, predicted as void (a 12-class model): a miss of class 2
    simple[VOID, 0] = 50  # 50 void pixels predicted as class 0: they do not count for the mIoU
    simple[VOID, VOID] = 0
    g = torch.Generator().manual_seed(1001)
    street = _street_confusion(g, absent=(10,))
    cases = [
        Case((simple,), expected=miou_and_micro_reference(simple),
             description="12×12 matrix: 90 right pixels per class 0..10, plus 10 class-0 pixels predicted as 1 and 10 "
                         "class-2 pixels predicted as void; 50 void pixels predicted as 0 -> IoU 0.9 for classes 0, 1 and 2, "
                         "1 for the other 8, mIoU (3·0.9 + 8) / 11 (void pixels left out)"),
        Case((street,), expected=miou_and_micro_reference(street),
             description="12×12 CamVid-like matrix, class 10 (bicyclist) neither true nor predicted -> left out of the mean"),
    ]
    hidden = [
        (_street_confusion(g), "a CamVid-like matrix, every class present"),
        (_street_confusion(g, void_predicted=True), "a 12-class model that also predicts void"),
        (_street_confusion(g, absent=(2, 6, 9)), "classes 2, 6 and 9 absent"),
        (torch.diag(torch.arange(1, 13)), "a perfect prediction -> (1.0, 1.0)"),
    ]
    heavy_void = _street_confusion(g)
    heavy_void[VOID, :VOID] = 40_000  # lots of void predicted as every class
    hidden.append((heavy_void, "many void pixels predicted as real classes"))
    for cm, text in hidden:
        cases.append(Case((cm,), expected=miou_and_micro_reference(cm), hidden=True, description=text))
    return cases


def _logits(g: torch.Generator, n: int, c: int, h: int, w: int) -> torch.Tensor:
    """N×C×H×W float32 logits in about [-3, 4] whose top class leads by at least 0.5 at every pixel."""
    x = torch.rand(n, c, h, w, generator=g) * 3 - 3
    top = torch.randint(0, c, (n, 1, h, w), generator=g)
    return x.scatter(1, top, 0.5 + torch.rand(n, 1, h, w, generator=g) * 3.5)


def _match_cases(g: torch.Generator, shape: tuple[int, int, int, int], atol: float, hidden: bool) -> list[Case]:
    """Five cases on one shape: rounding noise, a uniform offset, one bad value, a near-tie flip, an exact copy."""
    a = _logits(g, *shape)
    noise = a + (torch.rand(shape, generator=g) * 2 - 1) * atol * 0.05
    offset = a + 3 * atol
    one_bad = a.clone()
    one_bad[0, int(a[0, :, 0, 0].argmax()), 0, 0] += 10 * atol  # raising the top class keeps every argmax
    tie_a, tie_b = a.clone(), a.clone()
    first = int(a[0, :, 1, 1].argmax())
    other = (first + 1) % shape[1]
    tie_a[0, other, 1, 1] = a[0, first, 1, 1] - atol * 0.1  # classes `first` and `other` nearly tie ...
    tie_b[0, other, 1, 1] = a[0, first, 1, 1] + atol * 0.1  # ... and the other runtime picks `other`
    n, c, h, w = shape
    where = f"{n}×{c}×{h}×{w} logits, atol={atol:g}"
    return [
        Case((a, noise, atol), expected=True, hidden=hidden,
             description=f"{where}: the second output differs only by float rounding (< atol) -> True"),
        Case((a, offset, atol), expected=False, hidden=hidden,
             description=f"{where}: every logit is off by 3·atol, yet every argmax label agrees -> False"),
        Case((a, one_bad, atol), expected=False, hidden=hidden,
             description=f"{where}: one logit is off by 10·atol (the mean difference is tiny, every argmax label agrees) -> False"),
        Case((tie_a, tie_b, atol), expected=False, hidden=hidden,
             description=f"{where}: all values within atol, but at one pixel two classes nearly tie and the argmax flips -> False"),
        Case((a, a.clone(), atol), expected=True, hidden=True, description=f"{where}: an exact copy -> True"),
    ]


@register(
    "outputs-match",
    lesson=LESSON,
    title="Do the ONNX Runtime logits match PyTorch's?",
    hints=(
        "Two runtimes compute in a different order, so their floats differ in the last digits: 'the same' means "
        "close enough, judged by the largest difference over all values (one bad value is enough to fail), which "
        "may be at most the tolerance, the limit included. Close logits can still pick another class where two "
        "classes nearly tie, so the predicted labels must also agree at every pixel. Both must hold.",
        "Subtract the two outputs, take .abs() and then .max() (not .mean()), and compare that with atol using <=. "
        "For the labels, take .argmax over the class dimension, dim=1, of both and compare the two label maps with "
        "torch.equal. Return a plain bool, not a tensor.",
        "close = float((torch_logits.double() - onnx_logits.double()).abs().max()) <= atol; "
        "return close and torch.equal(torch_logits.argmax(1), onnx_logits.argmax(1))",
    ),
    checker=_outputs_match_checker,
    mistakes=_OUTPUTS_MATCH_MISTAKES,
)
def _outputs_match_cases() -> list[Case]:
    g = torch.Generator().manual_seed(1002)
    cases = _match_cases(g, (1, 11, 6, 8), 1e-4, hidden=False)
    cases += _match_cases(g, (2, 4, 5, 5), 1e-3, hidden=True)
    a = torch.tensor([2.0, 0.0, -1.0]).view(1, 3, 1, 1).repeat(1, 1, 3, 3)
    edge = a.clone()
    edge[0, 1, 2, 2] = 0.5  # exactly atol apart, the argmax stays class 0
    cases.append(Case((a, edge, 0.5), expected=True, hidden=True,
                      description="1×3×3×3 logits, one value exactly atol=0.5 apart: 'within atol' includes the limit -> True"))
    return cases
