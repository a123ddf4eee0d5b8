"""Exercise ``sqrt-class-weights``: square-root median-frequency class weights, void left out."""

from __future__ import annotations

from typing import Any, Callable

import torch

from ..core import Case, Mistake, compare
from ..registry import register
from .common import CAMVID_SHARES, LESSON, NUM_CLASSES, VOID, as_float32, same_as

__all__ = ["sqrt_class_weights_reference"]


def _class_counts(masks: torch.Tensor, num_classes: int, ignore_index: int | None) -> torch.Tensor:
    """Pixels per class 0..num_classes-1 (float64), void pixels left out; ValueError for labels out of range."""
    from ...losses import class_pixel_counts

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
    from ...losses import median_frequency_weights

    return median_frequency_weights(masks, num_classes, ignore_index, power=0.5)


def _sqrt_class_weights_checker(case: Case, got: Any) -> str | None:
    (masks,) = case.args
    num_classes = case.kwargs.get("num_classes", NUM_CLASSES)
    ignore_index = case.kwargs.get("ignore_index", VOID)
    got = as_float32(got)  # float64 with the right numbers is fine
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
    return Mistake(name, wrong, explanation, detect=same_as(wrong, cast=as_float32))


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


def _camvid_masks(g: torch.Generator, n: int, h: int, w: int, absent: tuple[int, ...] = ()) -> torch.Tensor:
    """N×H×W int64 labels 0..11 drawn with CamVid-like shares; the classes in ``absent`` never occur."""
    shares = torch.tensor(CAMVID_SHARES)
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
