"""Exercise ``miou-and-micro``: the mIoU with void ignored, and the micro IoU that counts void."""

from __future__ import annotations

import math
from typing import Any, Callable

import torch

from ..core import Case, Mistake, compare, describe
from ..registry import register
from .common import CAMVID_SHARES, LESSON, VOID, same_as

__all__ = ["miou_and_micro_reference"]


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
    return any(same_as(wrong, part=_part(0))(case, got, reason) for wrong in (_miou_of(_void_in_the_mean[0]), row_dropped))


_MIOU_AND_MICRO_MISTAKES = (
    Mistake("numbers swapped", _swapped, "return (miou, micro): the mean IoU first, then the micro IoU."),
    Mistake("void averaged in as a class", _miou_of(_void_in_the_mean[0]), _void_in_the_mean[1],
            detect=_void_in_the_mean_detect),
    *(Mistake(name, _miou_of(wrong), text, detect=same_as(_miou_of(wrong), part=_part(0)))
      for name, (wrong, text) in _MIOU_MISTAKES.items() if name != "void averaged in as a class"),
    *(Mistake(name, _micro_of(wrong), text, detect=same_as(_micro_of(wrong), part=_part(1)))
      for name, (wrong, text) in _MICRO_MISTAKES.items()),
)


def _street_confusion(g: torch.Generator, absent: tuple[int, ...] = (), void_predicted: bool = False) -> torch.Tensor:
    """A 12×12 CamVid-like confusion matrix (rows = true); ``absent`` classes are neither true nor predicted."""
    shares = torch.tensor(CAMVID_SHARES, dtype=torch.float64)
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
