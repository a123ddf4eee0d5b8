"""Exercises of the autonomous-driving capstone: class weights without void, mIoU vs micro IoU, ONNX outputs that match.

Conventions (CamVid-11): classes 0..10 are scored, label 11 is *void* (unlabelled pixels). Void target pixels
are ignored exactly as ``course_lib.metrics`` does with ``ignore_index=11``: they count for no class, and what
the model predicts there does not matter (tested in ``tests/checks/test_driving_exercises.py``).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import torch

from .core import Case, compare, describe
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
# recognising the common mistakes
# ---------------------------------------------------------------------------------------------------
def _named_mistake(case: Case, got: Any, mistakes: list[tuple[Callable[[], Any], str]]) -> str | None:
    """The explanation of the first mistake whose (lazily computed) answer equals ``got``, else None."""
    for wrong, explanation in mistakes:
        try:
            if compare(wrong(), got, case.atol, case.rtol) is None:
                return explanation
        except Exception:  # a mistake that cannot even be computed or compared is not this one
            continue
    return None


def _with_void_as_class(masks: torch.Tensor, num_classes: int, ignore_index: int | None) -> torch.Tensor:
    """The class weights a learner gets when void is counted as one more class (its weight then dropped)."""
    counts = _class_counts(masks, num_classes, ignore_index)
    void = float((masks == ignore_index).sum()) if ignore_index is not None else 0.0
    all_counts = torch.cat([counts, counts.new_tensor([void])])
    return _sqrt_median_weights(all_counts, lambda f: torch.quantile(f, 0.5))[:num_classes].float()


def _sqrt_class_weights_checker(case: Case, got: Any) -> str | None:
    (masks,) = case.args
    num_classes = case.kwargs.get("num_classes", NUM_CLASSES)
    ignore_index = case.kwargs.get("ignore_index", VOID)
    if isinstance(got, torch.Tensor) and got.is_floating_point() and got.dtype != torch.float32:
        got = got.float()  # float64 with the right numbers is fine
    reason = compare(case.expected, got, case.atol, case.rtol)
    if reason is None:
        return None
    counts = _class_counts(masks, num_classes, ignore_index)
    lower = _sqrt_median_weights(counts, lambda f: f.median()).float()  # torch's median: the lower middle value
    if isinstance(got, torch.Tensor) and compare(lower, got, case.atol, case.rtol) is None:
        return None
    if isinstance(got, torch.Tensor) and got.ndim == 1 and got.numel() == num_classes + 1:
        return (f"{reason} You returned {num_classes + 1} weights: void was counted as a class. Drop the pixels equal "
                f"to ignore_index={ignore_index} before counting; only the {num_classes} real classes get a weight.")
    if isinstance(got, torch.Tensor) and got.ndim == 1 and got.numel() < num_classes:
        return (f"{reason} There must be one weight per class, {num_classes} in all, even for classes that do not "
                f"occur in these masks: give the counting step a minimum length (bincount's minlength).")
    if isinstance(got, torch.Tensor) and got.is_floating_point() and not torch.isfinite(got).all():
        return (f"{reason} The result holds inf or NaN: a class with no pixel has frequency 0 and 1 / 0 = inf. "
                f"Give classes that never occur weight 0, and take the median over the classes that do occur.")
    freq = counts / counts.sum()
    present = counts > 0
    median = torch.quantile(freq[present], 0.5)

    def only_present(values: torch.Tensor) -> torch.Tensor:
        return torch.where(present, values, torch.zeros_like(values)).float()

    safe = torch.where(present, freq, torch.ones_like(freq))
    explanation = _named_mistake(case, got, [
        (lambda: _with_void_as_class(masks, num_classes, ignore_index),
         f"Void pixels were counted as a class: their share (label {ignore_index}) entered the median. Leave the "
         f"void pixels out before counting, so the frequencies and the median are over the real classes only."),
        (lambda: only_present(median / safe),
         "That is median(freq) / freq without the square root: the capstone softens median-frequency weights "
         "with a square root, so the rarest classes do not dominate the loss."),
        (lambda: only_present(1 / safe),
         "That is plain inverse frequency 1 / freq: divide the MEDIAN frequency by each class's frequency (so a "
         "typical class gets about 1), then take the square root."),
        (lambda: only_present((1 / safe).sqrt()),
         "That is sqrt(1 / freq): the median frequency is missing from the numerator (a typical class should get "
         "a weight of about 1)."),
        (lambda: only_present(freq),
         "Those are the frequencies themselves: a weight must be LARGE for a rare class, so divide the median "
         "frequency by the class frequency (inverse), then take the square root."),
        (lambda: only_present((freq / median).sqrt()),
         "Upside down: that is sqrt(freq / median), which favours the common classes; use sqrt(median / freq)."),
        (lambda: only_present(counts),
         "Those are the pixel counts; turn them into weights: frequency, then sqrt(median / frequency)."),
        (lambda: torch.nan_to_num((torch.quantile(freq, 0.5) / freq).sqrt(), posinf=0.0).float(),
         "Take the median over the classes that occur only (frequency > 0); a class with no pixel must not pull "
         "the median down."),
    ])
    return f"{reason} {explanation}" if explanation else reason


def _miou_and_micro_checker(case: Case, got: Any) -> str | None:
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return f"return two numbers, the mIoU first and the micro IoU second; got {describe(got)}."
    reason = compare(case.expected, got, case.atol, case.rtol)
    if reason is None:
        return None
    (confusion,) = case.args
    cm = confusion.double()
    exp_miou, exp_micro = case.expected
    scored = cm.clone()
    scored[-1] = 0
    explanation = None
    if compare((exp_micro, exp_miou), got, case.atol, case.rtol) is None:
        explanation = "The two numbers are swapped: return (miou, micro), the mean IoU first."
    elif compare(exp_miou, got[0], case.atol, case.rtol):  # the first number, the mIoU, is wrong
        void_averaged = ("Void was averaged in as a 12th class: void is not a class to score, so leave it out of the "
                         "mean (and drop its row before counting).")
        explanation = _named_mistake(case, got[0], [
            (lambda: exp_micro, "Your mIoU is the micro IoU: the MEAN IoU scores each class on its own, then averages "
                                "the per-class values (a rare class counts as much as the road)."),
            (lambda: _nanmean(_iou_per_class(cm)), void_averaged),
            (lambda: _nanmean(_iou_per_class(scored)), void_averaged),
            (lambda: _nanmean(_iou_per_class(cm)[:-1]),
             "Void pixels were counted as false positives: a void pixel has no true class, so whatever the model "
             "predicts there is neither right nor wrong. Drop the void ROW (true class void) before counting."),
            (lambda: float(torch.nan_to_num(_iou_per_class(scored)[:-1]).mean()),
             "A class with no pixel at all (0 / 0) was counted as IoU 0; leave such classes out of the mean."),
        ])
    elif compare(exp_micro, got[1], case.atol, case.rtol):  # the second number, the micro IoU, is wrong
        tp = scored.diagonal()
        union = scored.sum(0) + scored.sum(1) - tp
        explanation = _named_mistake(case, got[1], [
            (lambda: exp_miou, "Your micro IoU is the mIoU: micro sums TP, FP and FN over all classes first and "
                               "divides once."),
            (lambda: float(tp[:-1].sum() / union[:-1].sum()),
             "Your micro IoU leaves void out; this figure counts void as a 12th class, as the smp CamVid example "
             "does: use the full matrix, every row and column."),
            (lambda: float(cm.diagonal().sum() / cm.sum()),
             "That is the pixel accuracy ΣTP / (all pixels); the micro IoU divides by Σ(TP + FP + FN), where every "
             "wrong pixel is counted twice (an FP of one class and an FN of another)."),
        ])
    return f"{reason} {explanation}" if explanation else reason


def _outputs_match_checker(case: Case, got: Any) -> str | None:
    if isinstance(got, torch.Tensor) and got.numel() == 1:
        return "result is a one-element tensor; return a plain bool with bool(...) or .item()."
    reason = compare(case.expected, got, case.atol, case.rtol)
    if reason is None:
        return None
    a, b, atol = case.args
    diff = (a.double() - b.double()).abs()
    max_diff, mean_diff = float(diff.max()), float(diff.mean())
    disagree = int((a.argmax(1) != b.argmax(1)).sum())
    if case.expected:
        if max_diff == 0:
            return f"{reason} The two outputs are identical here, value for value."
        if max_diff == atol:
            return (f"{reason} The largest difference is exactly atol={atol:g}: 'within atol' includes the limit "
                    f"(use <=, not <).")
        return (f"{reason} The outputs differ only by float rounding (largest difference {max_diff:.2g} <= atol={atol:g}) "
                f"and every argmax label agrees. Exact equality (==, torch.equal) fails on such tiny differences: two "
                f"runtimes add in a different order, so compare the largest absolute difference with atol instead.")
    if disagree == 0 and mean_diff > atol:
        return (f"{reason} The argmax labels agree everywhere, but the logits differ by up to {max_diff:.2g} > "
                f"atol={atol:g}. Comparing only the argmax misses that: the values must match too.")
    if disagree == 0:
        return (f"{reason} The MEAN difference is tiny ({mean_diff:.2g}) and the argmax labels agree, but a value "
                f"differs by {max_diff:.2g} > atol={atol:g}. Comparing only the mean difference (or only the argmax) "
                f"hides that: use the LARGEST absolute difference.")
    if max_diff <= atol:
        return (f"{reason} Every value is within atol (largest difference {max_diff:.2g}), but the argmax label differs "
                f"at {disagree} pixel(s), where two classes nearly tie. Comparing only the values misses that: also "
                f"compare the argmax over the class dimension (dim 1).")
    return reason


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
    hint="First the idea: a rare class (a pedestrian) should weigh more in the loss than a common one (the road), "
    "but softly, so the weight is the square root of median frequency divided by the class frequency, and void "
    "pixels take no part. Then count: keep the pixels that are not ignore_index and count how many each class "
    "0..num_classes-1 has (torch.bincount with minlength gives one count per class, absent ones too). Last: each "
    "frequency is count / total; take the median over the classes that occur, then the square root of median / "
    "frequency for those classes and 0 for the others, as a float tensor.",
    checker=_sqrt_class_weights_checker,
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
    hint="First the idea: the IoU of one class is TP / (TP + FP + FN), all read from the confusion matrix: TP on "
    "the diagonal, FN along the class's row (its true pixels), FP down its column (its predictions). For the mIoU, "
    "void pixels have no true class, so drop the void row (the last one) before counting, score classes 0..10 only "
    "and average those that occur (a 0 / 0 class is left out). For the micro IoU keep the full matrix, void "
    "included: sum TP, FP and FN over all 12 classes first, then divide once. Return (miou, micro) as floats.",
    checker=_miou_and_micro_checker,
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
    hint="First the idea: two runtimes compute in a different order, so their floats differ in the last digits; "
    "'the same' means close enough, measured by the LARGEST absolute difference over all values (one bad value is "
    "enough to fail), which must be at most atol. Then the labels: close logits can still pick another class "
    "where two classes nearly tie, so the argmax over the class dimension (dim 1) must agree at every pixel. "
    "Return True only when both hold, as a plain bool.",
    checker=_outputs_match_checker,
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
