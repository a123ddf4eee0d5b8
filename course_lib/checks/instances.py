"""Exercises of lesson 06 (instance segmentation): connected components, the mask IoU matrix, greedy matching.

The reference answers here agree with ``course_lib.metrics.mask_iou_matrix`` / ``match_instances`` and
``course_lib.instances.connected_components`` (tested in ``tests/checks/test_instances_exercises.py``); the
lesson goes on with those after each exercise.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .core import Case, Mistake
from .registry import register

__all__ = ["label_components_reference", "mask_iou_matrix_reference", "match_counts_reference"]

LESSON = "06_instances"


def mask_iou_matrix_reference(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Reference answer: IoU of every mask in ``a`` (N×H×W) with every mask in ``b`` (M×H×W), N×M float; 0 if both empty."""
    fa, fb = a.bool().flatten(1).float(), b.bool().flatten(1).float()
    inter = fa @ fb.T
    union = fa.sum(1)[:, None] + fb.sum(1)[None, :] - inter
    return torch.where(union > 0, inter / union.clamp_min(1), torch.zeros_like(inter))


def match_counts_reference(ious: torch.Tensor, scores: torch.Tensor, iou_threshold: float = 0.5) -> tuple[int, int, int]:
    """Reference answer: (TP, FP, FN) of greedy matching; highest score first, each takes its best free truth with IoU >= threshold."""
    n, m = ious.shape
    taken = [False] * m
    tp = 0
    for d in torch.argsort(scores, descending=True, stable=True).tolist():
        best, best_iou = -1, iou_threshold
        for g in range(m):
            if not taken[g] and float(ious[d, g]) >= best_iou:
                best, best_iou = g, float(ious[d, g])
        if best >= 0:
            taken[best] = True
            tp += 1
    return tp, n - tp, m - tp


def label_components_reference(mask: torch.Tensor) -> torch.Tensor:
    """Reference answer: H×W int64 id map of the 4-connected components of a binary mask (0 = background, 1..K)."""
    from scipy import ndimage

    ids, _ = ndimage.label(mask.bool().cpu().numpy())  # the default structure is the 4-neighbourhood
    return torch.from_numpy(ids.astype(np.int64))


# ------------------------------------------------------------------------------------------------ label-components
def _check_components(case: Case, got: Any) -> str | None:
    (mask,) = case.args
    ref = label_components_reference(mask).numpy()
    if not isinstance(got, torch.Tensor):
        return f"label_components should return a torch.Tensor, but it returned {type(got).__name__}."
    if tuple(got.shape) != tuple(mask.shape):
        return f"the id map has shape {tuple(got.shape)}, expected {tuple(mask.shape)} (the mask's H×W)."
    if got.is_floating_point() or got.dtype == torch.bool:
        return f"the id map has dtype {got.dtype}; return integer ids (.long())."
    ids = got.detach().cpu().numpy().astype(np.int64)
    fg = mask.bool().numpy()
    if (ids[~fg] != 0).any():
        return "background pixels (mask False) must have id 0; only object pixels get ids 1, 2, ..."
    if (ids[fg] <= 0).any():
        return "some object pixels (mask True) have id 0 or a negative id; every object pixel needs an id >= 1."
    n_ref, n_got = int(ref.max(initial=0)), len(np.unique(ids[fg]))
    pairs = set(zip(ref[fg].tolist(), ids[fg].tolist()))
    if n_got < n_ref and len(pairs) == n_ref:
        return f"found {n_got} objects, expected {n_ref}: separate objects share an id."
    if n_got > n_ref:
        return f"found {n_got} objects, expected {n_ref}: one connected object was split into several ids."
    if len(pairs) != n_ref:
        return "the ids do not follow the connected objects: each 4-connected object needs one id of its own."
    return None


def _same_objects(got: Any, ids: torch.Tensor | np.ndarray) -> bool:
    """True if the id map ``got`` groups the pixels exactly like ``ids`` (whatever numbers the objects get)."""
    if not isinstance(got, torch.Tensor) or tuple(got.shape) != tuple(ids.shape):
        return False
    g = got.detach().cpu().numpy().astype(np.int64).ravel()
    r = np.asarray(ids).astype(np.int64).ravel()
    if ((g == 0) != (r == 0)).any():
        return False
    pairs = set(zip(r.tolist(), g.tolist()))
    return len(pairs) == len(set(r.tolist())) == len(set(g.tolist()))


def _label_8_connected(mask: torch.Tensor) -> torch.Tensor:
    from scipy import ndimage

    return torch.from_numpy(ndimage.label(mask.bool().cpu().numpy(), structure=np.ones((3, 3)))[0].astype(np.int64))


def _label_with_count(mask: torch.Tensor) -> tuple:
    from scipy import ndimage

    return ndimage.label(mask.bool().cpu().numpy())


_LABEL_COMPONENTS_MISTAKES = (
    Mistake(
        "8-connectivity",
        _label_8_connected,
        "pixels that touch only at a corner were joined into one object. Here objects are 4-connected: pixels "
        "belong together only through a shared edge (up, down, left, right), which is also SciPy's default; a "
        "3×3 block of ones as the structure makes diagonal neighbours join.",
        detect=lambda case, got, reason: _same_objects(got, _label_8_connected(case.args[0])),
    ),
    Mistake(
        "one id for all objects",
        lambda mask: mask.long(),
        "every object pixel has the same id: that is the binary mask again (semantic segmentation). Instance "
        "segmentation gives each separate object a number of its own, 1, 2, 3, ...",
        detect=lambda case, got, reason: "share an id" in reason and _same_objects(got, case.args[0].bool().long()),
    ),
    Mistake(
        "the (ids, count) pair returned",
        _label_with_count,
        "scipy.ndimage.label returns two things, the id map and the number of objects; return only the id map, "
        "as a torch tensor.",
        detect=lambda case, got, reason: isinstance(got, tuple) and len(got) == 2,
    ),
    Mistake(
        "a numpy array returned",
        lambda mask: _label_with_count(mask)[0],
        "SciPy works on numpy arrays and gives one back; the mask came in as a torch tensor and the ids must go "
        "back as one too (torch.from_numpy turns the array into a tensor).",
        detect=lambda case, got, reason: isinstance(got, np.ndarray),
    ),
)


@register(
    "label-components",
    lesson=LESSON,
    title="Instances from a binary mask: connected components",
    hints=(
        "An object is a group of foreground pixels joined through their edges (up, down, left, right; touching "
        "at a corner does not count). Give each such group its own number, 1, 2, 3, ..., and leave the "
        "background at 0. SciPy can find and number such connected regions for you.",
        "`scipy.ndimage.label` takes a numpy array and returns two things, the id map and the number of "
        "objects; its default neighbourhood is already the 4-neighbourhood, so pass no `structure=`. Go to numpy "
        "with `.numpy()` and back with `torch.from_numpy`. (By hand: flood-fill from each unlabelled object "
        "pixel with a queue of its 4 neighbours, using the next id.)",
        "`from scipy import ndimage`, then `ids, count = ndimage.label(mask.bool().numpy())` and "
        "`return torch.from_numpy(ids).long()`",
    ),
    checker=_check_components,
    mistakes=_LABEL_COMPONENTS_MISTAKES,
)
def _label_components_cases() -> list[Case]:
    two = torch.zeros(5, 6, dtype=torch.bool)
    two[1:3, 1:3] = True
    two[2:5, 4:6] = True
    corner = torch.zeros(4, 4, dtype=torch.bool)
    corner[0, 0] = corner[1, 1] = corner[2, 2] = True
    corner[3, 0] = True
    ring = torch.zeros(7, 7, dtype=torch.bool)
    ring[1:6, 1:6] = True
    ring[2:5, 2:5] = False
    ring[3, 3] = True
    g = torch.Generator().manual_seed(602)
    cases = [
        Case((two,), description="two separate squares on 5×6 -> ids 1 and 2, background 0"),
        Case((corner,), description="pixels that touch only at corners are separate objects (4-connectivity) -> 4 objects"),
        Case((torch.zeros(3, 4, dtype=torch.bool),), hidden=True, description="an empty mask -> all zeros"),
        Case((ring,), hidden=True, description="a ring with a dot in its hole -> 2 objects"),
        Case((torch.ones(4, 5, dtype=torch.long),), hidden=True, description="an int64 all-ones mask -> 1 object"),
    ]
    for h, w, p in [(10, 12, 0.45), (16, 9, 0.55), (20, 20, 0.5)]:
        cases.append(Case((torch.rand(h, w, generator=g) < p,), hidden=True, description=f"random {h}×{w} mask"))
    return cases


# ------------------------------------------------------------------------------------------------ mask-iou-matrix
def _check_iou_matrix(case: Case, got: Any) -> str | None:
    a, b = case.args
    expected = mask_iou_matrix_reference(a, b)
    n, m = expected.shape
    if not isinstance(got, torch.Tensor):
        return f"mask_iou_matrix should return a torch.Tensor, but it returned {type(got).__name__}."
    if tuple(got.shape) != (n, m):
        return f"the result has shape {tuple(got.shape)}, expected {(n, m)} (one row per mask of a, one column per mask of b)."
    if not got.is_floating_point():
        return f"the result has dtype {got.dtype}; IoU is a fraction, so the result should be a float tensor."
    g = got.detach().double().cpu()
    if bool(torch.isnan(g).any()):
        return "the result has NaN values: for two empty masks the union is 0, and 0/0 is NaN."
    e = expected.double()
    if torch.allclose(g, e, atol=1e-5):
        return None
    fa, fb = a.bool().flatten(1).double(), b.bool().flatten(1).double()
    inter = fa @ fb.T
    i, j = (int(v) for v in torch.nonzero(~torch.isclose(g, e, atol=1e-5))[0])
    return (f"IoU of a[{i}] and b[{j}] is {g[i, j].item():.4f}, expected {e[i, j].item():.4f} "
            f"(|a∩b| = {int(inter[i, j])}, |a| = {int(fa[i].sum())}, |b| = {int(fb[j].sum())}).")


def _dice_matrix(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    fa, fb = a.bool().flatten(1).float(), b.bool().flatten(1).float()
    inter = fa @ fb.T
    total = fa.sum(1)[:, None] + fb.sum(1)[None, :]
    return torch.where(total > 0, 2 * inter / total.clamp_min(1), torch.zeros_like(inter))


def _iou_without_guard(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    fa, fb = a.bool().flatten(1).float(), b.bool().flatten(1).float()
    inter = fa @ fb.T
    return inter / (fa.sum(1)[:, None] + fb.sum(1)[None, :] - inter)


def _iou_integer_division(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    fa, fb = a.bool().flatten(1).long(), b.bool().flatten(1).long()
    inter = fa @ fb.T
    return inter // (fa.sum(1)[:, None] + fb.sum(1)[None, :] - inter).clamp_min(1)


def _values_close(got: Any, want: torch.Tensor) -> bool:
    return (isinstance(got, torch.Tensor) and tuple(got.shape) == tuple(want.shape)
            and torch.allclose(got.detach().double().cpu(), want.double(), atol=1e-5))


def _transposed(case: Case, got: Any) -> bool:
    n, m = case.args[0].shape[0], case.args[1].shape[0]
    return isinstance(got, torch.Tensor) and n != m and tuple(got.shape) == (m, n)


_MASK_IOU_MISTAKES = (
    Mistake(
        "Dice instead of IoU",
        _dice_matrix,
        "these are Dice scores, 2·|A∩B| / (|A| + |B|). IoU divides the intersection by the union, the pixels in "
        "either mask: |A| + |B| − |A∩B|, with no factor 2.",
        detect=lambda case, got, reason: _values_close(got, _dice_matrix(*case.args)),
    ),
    Mistake(
        "the empty case forgotten",
        _iou_without_guard,
        "two empty masks have union 0, and 0/0 gives NaN, which would poison every mean computed later. Where the "
        "union is 0, return 0 instead of dividing (e.g. torch.where on union > 0).",
        detect=lambda case, got, reason: isinstance(got, torch.Tensor) and bool(torch.isnan(got.detach().double()).any()),
    ),
    Mistake(
        "rows and columns swapped",
        lambda a, b: mask_iou_matrix_reference(b, a),
        "your matrix is M×N: row i must be mask i of a and column j mask j of b, so a comes first in the "
        "product (b @ a.T gives the transpose).",
        detect=lambda case, got, reason: _transposed(case, got),
    ),
    Mistake(
        "integer division",
        _iou_integer_division,
        "the IoU was computed with whole numbers: integer division (//) or an integer tensor turns every IoU "
        "below 1 into 0. Make the masks float before you count and divide.",
        detect=lambda case, got, reason: isinstance(got, torch.Tensor) and not got.is_floating_point(),
    ),
)


def _random_masks(g: torch.Generator, n: int, h: int, w: int) -> torch.Tensor:
    """``n`` random rectangles (some overlapping) as bool masks."""
    out = torch.zeros(n, h, w, dtype=torch.bool)
    for k in range(n):
        y0, x0 = int(torch.randint(0, h - 1, (1,), generator=g)), int(torch.randint(0, w - 1, (1,), generator=g))
        y1, x1 = y0 + int(torch.randint(1, h - y0 + 1, (1,), generator=g)), x0 + int(torch.randint(1, w - x0 + 1, (1,), generator=g))
        out[k, y0:y1, x0:x1] = True
    return out


@register(
    "mask-iou-matrix",
    lesson=LESSON,
    title="IoU of every predicted mask with every true mask",
    hints=(
        "For each pair (a mask of a, a mask of b), IoU is the number of pixels the two share divided by the "
        "number in either. With each mask laid out as one row of 0s and 1s, one matrix product gives the shared "
        "counts of all pairs at once. Two empty masks have union 0: their IoU is 0, not 0/0.",
        "Flatten each stack to one row per mask with `.flatten(1)` and make it float; then `fa @ fb.T` is N×M "
        "and holds every intersection. The union is |a| + |b| − intersection: the sizes of a as a column (N×1) "
        "plus those of b as a row (1×M) broadcast to N×M. `torch.where` handles the union-0 places.",
        "`fa, fb = a.bool().flatten(1).float(), b.bool().flatten(1).float()`; `inter = fa @ fb.T`; "
        "`union = fa.sum(1)[:, None] + fb.sum(1)[None, :] - inter`; "
        "`return torch.where(union > 0, inter / union.clamp_min(1), torch.zeros_like(inter))`",
    ),
    checker=_check_iou_matrix,
    mistakes=_MASK_IOU_MISTAKES,
)
def _mask_iou_cases() -> list[Case]:
    a = torch.zeros(2, 4, 4, dtype=torch.bool)
    a[0, :2, :2] = True  # 4 px top-left
    a[1, 2:, :] = True  # bottom half, 8 px
    b = torch.zeros(3, 4, 4, dtype=torch.bool)
    b[0, :2, :3] = True  # 6 px, contains a[0]
    b[1, 3:, :] = True  # 4 px, inside a[1]
    b[2, :, 3:] = True  # right column, 4 px
    g = torch.Generator().manual_seed(600)
    empty_a = torch.zeros(1, 5, 5, dtype=torch.bool)
    empty_b = torch.cat([torch.zeros(1, 5, 5, dtype=torch.bool), _random_masks(g, 1, 5, 5)])
    cases = [
        Case((a, b), description="2 masks vs 3 masks on 4×4: a[0]⊂b[0] gives 4/6, a[1]⊃b[1] gives 4/8, a[1]∩b[2] = 2 px of 10 -> a 2×3 matrix"),
        Case((a[:1], a), description="a mask with itself has IoU 1; disjoint masks have IoU 0 (1×2 result)"),
        Case((empty_a, empty_b), hidden=True, description="an empty mask vs an empty mask (union 0 -> 0) and vs a rectangle"),
        Case((a.long(), b.long()), hidden=True, description="int64 0/1 masks instead of bool"),
    ]
    for n, m, h, w in [(4, 3, 8, 8), (1, 5, 6, 9), (6, 6, 12, 7)]:
        cases.append(Case((_random_masks(g, n, h, w), _random_masks(g, m, h, w)), hidden=True,
                          description=f"{n} vs {m} random rectangles on {h}×{w}"))
    return cases


# ------------------------------------------------------------------------------------------------ match-counts
def _check_counts(case: Case, got: Any) -> str | None:
    expected = match_counts_reference(*case.args, **case.kwargs)
    if isinstance(got, torch.Tensor) or not isinstance(got, (tuple, list)) or len(got) != 3:
        return f"match_counts should return a tuple (tp, fp, fn) of 3 ints, but it returned {type(got).__name__}."
    if any(isinstance(v, torch.Tensor) for v in got):
        return "the counts are tensors; return plain Python ints (int(x) or x.item())."
    if any(isinstance(v, bool) or not float(v).is_integer() for v in got):
        return f"the counts should be whole numbers, got {tuple(got)}."
    got_t = tuple(int(v) for v in got)
    if got_t == expected:
        return None
    tp, fp, fn = got_t
    n, m = case.args[0].shape
    if min(got_t) < 0 or tp > min(n, m) or tp + fp != n or tp + fn != m:
        return (f"got (tp, fp, fn) = {got_t}: every prediction is a TP or an FP (tp + fp = {n}) and every true "
                f"object a TP or an FN (tp + fn = {m}); a true object may be matched only once.")
    return f"got (tp, fp, fn) = {got_t}, expected {expected}."


def _counts_in_given_order(ious: torch.Tensor, scores: torch.Tensor, iou_threshold: float = 0.5) -> tuple[int, int, int]:
    return match_counts_reference(ious, -torch.arange(len(scores), dtype=torch.float32), iou_threshold)


def _counts_first_free_truth(ious: torch.Tensor, scores: torch.Tensor, iou_threshold: float = 0.5) -> tuple[int, int, int]:
    taken, tp = set(), 0
    for d in torch.argsort(scores, descending=True, stable=True).tolist():
        for g in range(ious.shape[1]):
            if g not in taken and float(ious[d, g]) >= iou_threshold:
                taken.add(g)
                tp += 1
                break
    return tp, ious.shape[0] - tp, ious.shape[1] - tp


def _counts_truths_reused(ious: torch.Tensor, scores: torch.Tensor, iou_threshold: float = 0.5) -> tuple[int, int, int]:
    tp = int((ious >= iou_threshold).any(1).sum()) if ious.numel() else 0
    return tp, ious.shape[0] - tp, ious.shape[1] - tp


# The order matters where two mistakes give the same counts on a case: the first that matches is named.
_MATCH_COUNTS_MISTAKES = (
    Mistake(
        "scores ignored",
        _counts_in_given_order,
        "the predictions chose in the order they are listed; greedy matching lets the highest-SCORED prediction "
        "choose first, so a confident prediction is not robbed of its object by a weak one.",
    ),
    Mistake(
        "first free truth, not the best",
        _counts_first_free_truth,
        "each prediction took the first free true object above the threshold; it should take the free one it "
        "overlaps MOST, leaving the others for later predictions.",
    ),
    Mistake(
        "IoU equal to the threshold not matched",
        lambda ious, scores, iou_threshold=0.5: match_counts_reference(ious, scores, iou_threshold + 1e-9),
        "a pair whose IoU is exactly the threshold was not matched; the rule is IoU >= threshold, not >.",
    ),
    Mistake(
        "a true object matched twice",
        _counts_truths_reused,
        "a true object was matched by more than one prediction. Once taken it is off the table: a second "
        "prediction on the same object is a duplicate, a false positive.",
    ),
)


@register(
    "match-counts",
    lesson=LESSON,
    title="Greedy matching: true positives, false positives, false negatives",
    hints=(
        "Greedy matching lets the most confident prediction choose first. Each prediction takes, among the true "
        "objects nobody has taken yet, the one it overlaps most, but only if that IoU reaches the threshold "
        "(reaching it exactly is enough). Matches are true positives, predictions left without a match false "
        "positives, true objects nobody took false negatives.",
        "Loop over `torch.argsort(scores, descending=True)`; keep one taken flag per true object (a column of "
        "`ious`); for each prediction (a row) find the free column with the largest IoU that is `>= iou_threshold`. "
        "With `n, m = ious.shape`, fp and fn follow from tp; return three Python ints.",
        "`taken = [False] * m`; for each `d` in `torch.argsort(scores, descending=True, stable=True).tolist()`: "
        "find the free `g` with the largest `float(ious[d, g]) >= iou_threshold`, then `taken[g] = True; tp += 1`; "
        "`return tp, n - tp, m - tp`",
    ),
    checker=_check_counts,
    mistakes=_MATCH_COUNTS_MISTAKES,
)
def _match_counts_cases() -> list[Case]:
    t = torch.tensor
    cases = [
        Case((t([[0.8, 0.1], [0.0, 0.6], [0.1, 0.2]]), t([0.9, 0.8, 0.3])),
             description="3 predictions, 2 true objects: two clear matches and one stray prediction -> (2, 1, 0)"),
        Case((t([[0.6, 0.55], [0.9, 0.0]]), t([0.3, 0.9])),
             description="both predictions want true object 0; the higher-SCORED one (row 1) takes it first, so row 0 "
             "falls back to object 1 (IoU 0.55) -> (2, 0, 0)"),
        Case((t([[0.8], [0.7]]), t([0.6, 0.9])), hidden=True,
             description="two predictions on the same single true object: one TP, one FP (a duplicate) -> (1, 1, 0)"),
        Case((t([[0.5, 0.3]]), t([0.7])), hidden=True, description="IoU exactly 0.5 counts as a match (>=) -> (1, 0, 1)"),
        Case((t([[0.6, 0.9], [0.0, 0.7]]), t([0.9, 0.8])), hidden=True,
             description="prediction 0 takes its best truth (1, IoU 0.9), leaving truth 0 free -> (1, 1, 1)"),
        Case((torch.zeros(0, 3), torch.zeros(0)), hidden=True, description="no predictions: every true object is missed -> (0, 0, 3)"),
        Case((torch.zeros(2, 0), t([0.5, 0.4])), hidden=True, description="no true objects: every prediction is an FP -> (0, 2, 0)"),
        Case((t([[0.4, 0.2], [0.3, 0.45]]), t([0.9, 0.8])), {"iou_threshold": 0.3}, hidden=True,
             description="iou_threshold=0.3 -> (2, 0, 0)"),
    ]
    g = torch.Generator().manual_seed(601)
    for n, m in [(5, 4), (3, 6), (8, 8)]:
        ious = torch.rand(n, m, generator=g) ** 2
        cases.append(Case((ious, torch.rand(n, generator=g)), hidden=True, description=f"random {n}×{m} IoU matrix"))
    return cases
