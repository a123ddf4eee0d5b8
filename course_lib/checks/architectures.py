"""Exercises of lesson 05 (architectures compared): SegNet unpooling, the worst classes by IoU, picking a model."""

from __future__ import annotations

import math
from typing import Any, Sequence

import torch
import torch.nn.functional as F

from .core import Case, Mistake
from .registry import register

__all__ = ["max_unpool_reference", "worst_classes_reference", "pick_architecture_reference"]

LESSON = "05_architectures"


def max_unpool_reference(x: torch.Tensor, indices: torch.Tensor, output_size: Sequence[int]) -> torch.Tensor:
    """Reference answer: put each value of ``x`` (N×C×h×w) at its saved max-pool index in a zero N×C×H×W map."""
    n, c = x.shape[:2]
    h, w = int(output_size[0]), int(output_size[1])
    out = torch.zeros(n, c, h * w, dtype=x.dtype, device=x.device)
    out.scatter_(2, indices.flatten(2), x.flatten(2))
    return out.view(n, c, h, w)


def worst_classes_reference(cm: torch.Tensor, class_names: Sequence[str], k: int = 3) -> list[str]:
    """Reference answer: the ``k`` class names with the lowest IoU (worst first); classes with NaN IoU are skipped."""
    cm = cm.double()
    tp = cm.diagonal()
    union = cm.sum(0) + cm.sum(1) - tp
    iou = tp / union  # 0 / 0 = NaN: a class neither present nor predicted
    scored = [(float(v), i) for i, v in enumerate(iou) if not math.isnan(float(v))]
    return [class_names[i] for _, i in sorted(scored)[:k]]


def pick_architecture_reference(results: Sequence[dict[str, Any]], max_params: float | None = None,
                                min_speed: float | None = None) -> str | None:
    """Reference answer: the name of the best-``miou`` row with ``params <= max_params`` and ``images_per_s >= min_speed``."""
    allowed = [
        r for r in results
        if (max_params is None or r["params"] <= max_params) and (min_speed is None or r["images_per_s"] >= min_speed)
    ]
    if not allowed:
        return None
    return max(allowed, key=lambda r: r["miou"])["name"]


# ------------------------------------------------------------------------------------------------ max-unpool
def _unpool_case(g: torch.Generator, n: int, c: int, h: int, w: int, hidden: bool, description: str = "") -> Case:
    image = torch.randn(n, c, h, w, generator=g)
    pooled, indices = F.max_pool2d(image, 2, return_indices=True)
    expected = F.max_unpool2d(pooled, indices, 2, output_size=(h, w))
    return Case((pooled, indices, (h, w)), expected=expected, hidden=hidden,
                description=description or f"pooled {tuple(pooled.shape)} back to {h}×{w}")


def _unpool_nearest(x: torch.Tensor, indices: torch.Tensor, output_size: Sequence[int]) -> torch.Tensor:
    return F.interpolate(x, size=tuple(int(v) for v in output_size), mode="nearest")


def _unpool_top_left(x: torch.Tensor, indices: torch.Tensor, output_size: Sequence[int]) -> torch.Tensor:
    n, c, h, w = x.shape
    out = torch.zeros(n, c, int(output_size[0]), int(output_size[1]), dtype=x.dtype)
    out[..., 0:2 * h:2, 0:2 * w:2] = x  # each value at the top-left of its window, whatever the index says
    return out


def _unpool_default_dtype(x: torch.Tensor, indices: torch.Tensor, output_size: Sequence[int]) -> torch.Tensor:
    n, c = x.shape[:2]
    h, w = int(output_size[0]), int(output_size[1])
    out = torch.zeros(n, c, h * w)  # float32, whatever x is
    out.scatter_(2, indices.flatten(2), x.flatten(2).to(out.dtype))
    return out.view(n, c, h, w)


def _unpool_flat(x: torch.Tensor, indices: torch.Tensor, output_size: Sequence[int]) -> torch.Tensor:
    n, c = x.shape[:2]
    h, w = int(output_size[0]), int(output_size[1])
    out = torch.zeros(n, c, h * w, dtype=x.dtype)
    return out.scatter_(2, indices.flatten(2), x.flatten(2))  # still N×C×(H·W)


_MAX_UNPOOL_MISTAKES = (
    Mistake("nearest upsampling instead of unpooling", _unpool_nearest,
            "copying each value into its whole window is nearest-neighbour upsampling; unpooling puts the value "
            "back only where the maximum was and leaves the other pixels of the window at zero."),
    Mistake("indices ignored", _unpool_top_left,
            "every value went to the top-left pixel of its window; the saved indices say where each maximum "
            "really was, and that position is what SegNet's decoder gets back."),
    Mistake("result left flat", _unpool_flat,
            "the values are in the right places of the flattened map, but the result must have the shape "
            "N×C×H×W again: reshape it with output_size."),
    Mistake("zeros of the default dtype", _unpool_default_dtype,
            "the zero map was made as float32; make it with x's dtype (and device) so that a float64 or float16 "
            "input keeps its type."),
)


@register(
    "max-unpool",
    lesson=LESSON,
    title="SegNet's max-unpooling with the saved indices",
    hints=(
        "Unpooling undoes max-pooling with a memory: start from an all-zero map as large as the map before "
        "pooling, and put each pooled value back at the position its maximum came from (its saved index); every "
        "other pixel stays zero. The size before pooling is given to you: with odd sizes it is not simply twice "
        "the pooled size.",
        "Each index counts positions in the flattened H×W map of one channel (row × W + column). Make zeros of "
        "shape N×C×(H·W) with x's dtype, flatten x and the indices from dim 2 (.flatten(2)), write with scatter_ "
        "along dim 2, then reshape to N×C×H×W; H and W come from output_size.",
        "out = torch.zeros(N, C, H * W, dtype=x.dtype); out.scatter_(2, indices.flatten(2), x.flatten(2)); "
        "return out.view(N, C, H, W). The indices count positions in the H×W map *before* pooling (row * W + col), "
        "so use output_size, not 2·h × 2·w; every other pixel stays 0.",
    ),
    mistakes=_MAX_UNPOOL_MISTAKES,
)
def _max_unpool_cases() -> list[Case]:
    image = torch.tensor([[[[1.0, 5.0, 2.0, 0.0],
                            [3.0, 4.0, 8.0, 1.0],
                            [0.0, 2.0, 1.0, 1.0],
                            [6.0, 1.0, 3.0, 7.0]]]])
    pooled, indices = F.max_pool2d(image, 2, return_indices=True)
    cases = [Case((pooled, indices, (4, 4)), expected=F.max_unpool2d(pooled, indices, 2, output_size=(4, 4)),
                  description="the 4×4 example of the lesson: maxima 5, 8, 6, 7 go back to their places, zeros elsewhere")]
    g = torch.Generator().manual_seed(500)
    cases.append(_unpool_case(g, 1, 2, 5, 5, hidden=False,
                              description="odd size: a 1×2×5×5 map pooled to 2×2 goes back to 5×5 (indices count 5 columns per row)"))
    for n, c, h, w in [(2, 3, 8, 6), (1, 1, 2, 2), (3, 4, 7, 9), (1, 8, 12, 16), (2, 1, 11, 4)]:
        cases.append(_unpool_case(g, n, c, h, w, hidden=True))
    image = torch.randn(1, 2, 6, 7, generator=g, dtype=torch.float64)
    pooled, indices = F.max_pool2d(image, 2, return_indices=True)
    cases.append(Case((pooled, indices, (6, 7)), expected=F.max_unpool2d(pooled, indices, 2, output_size=(6, 7)),
                      hidden=True, description="float64 values: the result keeps x's dtype"))
    return cases


# ------------------------------------------------------------------------------------------------ worst-classes
_NAMES = ("road", "sidewalk", "lane marking", "building", "vegetation", "sky", "car", "pedestrian", "pole/sign")


def _random_cm(g: torch.Generator, c: int, absent: int) -> torch.Tensor:
    """A C×C matrix with a strong diagonal; the last ``absent`` classes are neither true nor predicted."""
    cm = torch.randint(0, 400, (c, c), generator=g) + torch.diag(torch.randint(200, 5000, (c,), generator=g))
    if absent:
        cm[-absent:, :] = 0
        cm[:, -absent:] = 0
    return cm


def _iou_per_class(cm: torch.Tensor) -> torch.Tensor:
    cm = cm.double()
    tp = cm.diagonal()
    return tp / (cm.sum(0) + cm.sum(1) - tp)


def _worst_by_recall(cm: torch.Tensor, class_names: Sequence[str], k: int = 3) -> list[str]:
    cm = cm.double()
    recall = cm.diagonal() / cm.sum(1)
    scored = [(float(v), i) for i, v in enumerate(recall) if not math.isnan(float(v))]
    return [class_names[i] for _, i in sorted(scored)[:k]]


def _best_first(cm: torch.Tensor, class_names: Sequence[str], k: int = 3) -> list[str]:
    scored = [(float(v), i) for i, v in enumerate(_iou_per_class(cm)) if not math.isnan(float(v))]
    return [class_names[i] for _, i in sorted(scored, reverse=True)[:k]]


def _absent_as_zero(cm: torch.Tensor, class_names: Sequence[str], k: int = 3) -> list[str]:
    iou = _iou_per_class(cm).nan_to_num(0.0)  # a class that never occurs becomes the "worst"
    return [class_names[i] for i in iou.argsort(stable=True)[:k].tolist()]


def _absent_kept(cm: torch.Tensor, class_names: Sequence[str], k: int = 3) -> list[str]:
    iou = _iou_per_class(cm)  # argsort puts NaN after every number, but does not remove it
    return [class_names[i] for i in iou.argsort(stable=True)[:k].tolist()]


def _worst_indices(cm: torch.Tensor, class_names: Sequence[str], k: int = 3) -> list[int]:
    scored = [(float(v), i) for i, v in enumerate(_iou_per_class(cm)) if not math.isnan(float(v))]
    return [i for _, i in sorted(scored)[:k]]


_WORST_CLASSES_MISTAKES = (
    Mistake("ranked by recall", _worst_by_recall,
            "the diagonal over the row sums is the recall; it ignores how often a class is wrongly predicted. "
            "IoU divides by the union, which also counts the false positives (the rest of the column)."),
    Mistake("best classes first", _best_first,
            "the list starts with the highest IoU; the exercise asks for the worst classes, lowest IoU first."),
    Mistake("absent classes ranked worst", _absent_as_zero,
            "a class that occurs in neither target nor prediction has no IoU at all (NaN), not IoU 0: it was not "
            "segmented badly, there was nothing to segment. Leave it out of the ranking."),
    Mistake("absent classes not dropped", _absent_kept,
            "sorting puts NaN after every number, so when k is larger than the number of scored classes the "
            "classes that never occur slip into the list; remove the NaN entries before sorting."),
    Mistake("indices instead of names", _worst_indices,
            "the order is right, but the exercise asks for the class names: look each index up in class_names."),
)


@register(
    "worst-classes",
    lesson=LESSON,
    title="Name the classes with the lowest IoU",
    hints=(
        "Score every class by its IoU (overlap over union, read off the confusion matrix), leave out the classes "
        "whose IoU is NaN because they occur in neither target nor prediction, sort the rest from the lowest IoU "
        "up, and return the names of the first k. Recall or accuracy would rank the classes differently.",
        "metrics.iou_from_confusion(cm, average=None) gives one IoU per class, NaN for absent ones; drop those "
        "with math.isnan (argsort would only move NaN to the end); sort (IoU, index) pairs in ascending order and "
        "look the indices up in class_names.",
        "IoU = TP / (TP + FP + FN) with TP = cm.diagonal(), FP = cm.sum(0) − TP, FN = cm.sum(1) − TP "
        "(metrics.iou_from_confusion(cm, average=None) does it). Drop the NaN entries (classes never seen), sort "
        "from low to high and return the first k names as a list of str.",
    ),
    mistakes=_WORST_CLASSES_MISTAKES,
)
def _worst_classes_cases() -> list[Case]:
    # IoU: a 0.73, b 0.17, c 0.14, d NaN. Recall (diag / row sum) would rank b (0.2) below c (0.5): tests IoU, not recall.
    cm = torch.tensor([[80, 10, 10, 0],
                       [0, 10, 40, 0],   # b: 10 right out of 50 true pixels, but rarely predicted
                       [10, 0, 10, 0],   # c: 10 right out of 20 true pixels, but predicted 60 times
                       [0, 0, 0, 0]])
    names = ["a", "b", "c", "d"]
    cases = [
        Case((cm, names), {"k": 2}, expected=worst_classes_reference(cm, names, 2),
             description="4 classes with IoU a 0.73, b 0.17, c 0.14, d NaN (absent) -> k=2 gives ['c', 'b']"),
        Case((cm, names), {"k": 3}, expected=worst_classes_reference(cm, names, 3),
             description="same matrix, k=3 -> ['c', 'b', 'a']: the absent class d (NaN IoU) is skipped"),
    ]
    g = torch.Generator().manual_seed(501)
    for c, absent, k in [(9, 0, 3), (9, 2, 3), (5, 0, 1), (6, 1, 5), (3, 0, 3)]:
        m = _random_cm(g, c, absent)
        class_names = list(_NAMES[:c]) if c == 9 else [f"class{i}" for i in range(c)]
        cases.append(Case((m, class_names), {"k": k}, expected=worst_classes_reference(m, class_names, k), hidden=True,
                          description=f"random {c}×{c} matrix, {absent} absent class(es), k={k}"))
    m = _random_cm(g, 5, 2)
    class_names = [f"class{i}" for i in range(5)]
    cases.append(Case((m, class_names), {"k": 4}, expected=worst_classes_reference(m, class_names, 4), hidden=True,
                      description="5 classes, 2 absent, k=4: only the 3 scored classes can be named (a shorter list)"))
    return cases


# ------------------------------------------------------------------------------------------------ pick-architecture
_TABLE = [
    {"name": "fcn", "params": 240_000, "images_per_s": 300.0, "miou": 0.52},
    {"name": "segnet", "params": 37_000, "images_per_s": 250.0, "miou": 0.47},
    {"name": "unet", "params": 113_000, "images_per_s": 150.0, "miou": 0.58},
    {"name": "deeplabv3plus", "params": 330_000, "images_per_s": 90.0, "miou": 0.61},
]


def _pick_ignoring_speed(results, max_params=None, min_speed=None):
    allowed = [r for r in results if max_params is None or r["params"] <= max_params]
    return max(allowed, key=lambda r: r["miou"])["name"] if allowed else None


def _pick_strict(results, max_params=None, min_speed=None):
    allowed = [r for r in results if (max_params is None or r["params"] < max_params)
               and (min_speed is None or r["images_per_s"] > min_speed)]
    return max(allowed, key=lambda r: r["miou"])["name"] if allowed else None


def _pick_row(results, max_params=None, min_speed=None):
    allowed = [r for r in results if (max_params is None or r["params"] <= max_params)
               and (min_speed is None or r["images_per_s"] >= min_speed)]
    return max(allowed, key=lambda r: r["miou"]) if allowed else None


def _pick_best_then_check(results, max_params=None, min_speed=None):
    if not results:
        return None
    best = max(results, key=lambda r: r["miou"])
    fits = (max_params is None or best["params"] <= max_params) and (min_speed is None or best["images_per_s"] >= min_speed)
    return best["name"] if fits else None


_PICK_ARCHITECTURE_MISTAKES = (
    Mistake("speed limit ignored", _pick_ignoring_speed,
            "only the size limit was applied; a model must meet every limit that is given, the speed too."),
    Mistake("limits made strict", _pick_strict,
            "a model exactly at a limit meets it: the size may equal max_params and the speed may equal "
            "min_speed (use <= and >=, not < and >)."),
    Mistake("the whole row returned", _pick_row,
            "the right model, but the exercise asks for its name (a str), not the whole dict."),
    Mistake("best model checked afterwards", _pick_best_then_check,
            "the best model overall was picked first and then rejected when it broke a limit; filter first, then "
            "pick the best of the models that are left."),
)


@register(
    "pick-architecture",
    lesson=LESSON,
    title="Pick the best model that meets size and speed limits",
    hints=(
        "First keep only the models that meet every limit that is set: at most max_params parameters and at "
        "least min_speed images per second, where a limit of None allows everything. Then, among the models "
        "left, choose the one with the highest mIoU and return its name. If no model is left there is no "
        "answer: None.",
        "Filter with a list comprehension on r['params'] and r['images_per_s'] (a model exactly at a limit "
        "passes); max(..., key=lambda r: r['miou']) finds the best row but raises on an empty list, so test for "
        "that first.",
        "Keep the rows with r['params'] <= max_params and r['images_per_s'] >= min_speed (a limit that is None "
        "does not filter); if none is left return None, otherwise return the 'name' of the kept row with the highest 'miou'.",
    ),
    mistakes=_PICK_ARCHITECTURE_MISTAKES,
)
def _pick_architecture_cases() -> list[Case]:
    t = _TABLE
    cases = [
        Case((t,), {"max_params": 200_000}, expected="unet",
             description="at most 200,000 parameters: segnet and unet are allowed, unet has the higher mIoU -> 'unet'"),
        Case((t,), {"max_params": None, "min_speed": 200.0}, expected="fcn",
             description="at least 200 images/s, no size limit: fcn and segnet are fast enough -> 'fcn'"),
        Case((t,), {}, expected="deeplabv3plus", hidden=True, description="no limits at all: the best mIoU"),
        Case((t,), {"max_params": 200_000, "min_speed": 200.0}, expected="segnet", hidden=True,
             description="both limits: only segnet is small enough and fast enough"),
        Case((t,), {"max_params": 113_000}, expected="unet", hidden=True,
             description="a size limit equal to unet's size (113,000) still allows unet (<=)"),
        Case((t,), {"min_speed": 150.0}, expected="unet", hidden=True,
             description="a speed limit equal to unet's speed (150) still allows unet (>=)"),
        Case((t,), {"max_params": 240_000, "min_speed": 250.0}, expected="fcn", hidden=True,
             description="limits equal to fcn's size and segnet's speed -> 'fcn'"),
        Case((t,), {"max_params": 10_000}, expected=None, hidden=True,
             description="no model is that small -> None (not an error)"),
        Case((t[:0],), {}, expected=None, hidden=True, description="an empty results table -> None"),
    ]
    g = torch.Generator().manual_seed(502)
    for _ in range(4):
        rows = [
            {"name": f"model{i}", "params": int(torch.randint(10_000, 2_000_000, (1,), generator=g)),
             "images_per_s": float(torch.randint(10, 1000, (1,), generator=g)),
             "miou": round(float(torch.rand(1, generator=g)), 4)}
            for i in range(6)
        ]
        limits = {"max_params": 1_000_000, "min_speed": 300.0}
        cases.append(Case((rows,), limits, expected=pick_architecture_reference(rows, **limits), hidden=True,
                          description="a random table of 6 models with both limits"))
    return cases
