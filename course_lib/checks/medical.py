"""Exercises of the medical capstone (retinal vessels): where sliding windows start, Dice, sensitivity and
specificity inside the field of view, and choosing the threshold with the best Dice."""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Sequence

import torch

from .core import Case, Mistake, compare, describe
from .registry import register

__all__ = ["tile_starts_reference", "masked_scores_reference", "pick_threshold_reference"]

_LESSON = "09_capstone_medical"


def tile_starts_reference(length: int, tile: int, overlap: int) -> list[int]:
    """Reference answer: a start every ``tile - overlap`` pixels below ``length - tile``, then ``length - tile``."""
    if length <= tile:
        return [0]
    return list(range(0, length - tile, tile - overlap)) + [length - tile]


def _counts(pred: torch.Tensor, target: torch.Tensor, fov: torch.Tensor) -> tuple[int, int, int, int]:
    """(TP, FN, FP, TN) of bool-able masks, counted where ``fov`` is True."""
    p, t, f = pred.bool(), target.bool(), fov.bool()
    return (int((p & t & f).sum()), int((~p & t & f).sum()), int((p & ~t & f).sum()), int((~p & ~t & f).sum()))


def _div(num: int, den: int) -> float:
    return num / den if den else math.nan


def masked_scores_reference(pred: torch.Tensor, target: torch.Tensor, fov: torch.Tensor) -> dict[str, float]:
    """Reference answer: Dice, sensitivity and specificity from the counts inside the field of view only."""
    tp, fn, fp, tn = _counts(pred, target, fov)
    return {"dice": _div(2 * tp, 2 * tp + fp + fn), "sensitivity": _div(tp, tp + fn), "specificity": _div(tn, tn + fp)}


def pick_threshold_reference(
    probs: torch.Tensor, target: torch.Tensor, fov: torch.Tensor, thresholds: Sequence[float]
) -> float:
    """Reference answer: the first threshold whose prediction ``probs > threshold`` has the best Dice inside the FOV."""
    best_threshold, best_dice = thresholds[0], -1.0
    for threshold in thresholds:
        dice = masked_scores_reference(probs > threshold, target, fov)["dice"]
        if dice > best_dice:
            best_threshold, best_dice = threshold, dice
    return float(best_threshold)


# ------------------------------------------------------------------------------------------------ synthetic fundus
def _fundus(seed: int, h: int, w: int, lines: int = 3, rim: float = 0.05) -> tuple[torch.Tensor, ...]:
    """(probs float32, target int64 0/1, fov bool): thin straight 'vessels' in a round field of view, a model's
    noisy probabilities, and a falsely bright rim just outside the FOV (``rim`` = the share of rim pixels lit),
    as real models give at its edge. Elsewhere outside the FOV the photo is black and the model says ~0."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    cy, cx, radius = (h - 1) / 2, (w - 1) / 2, 0.42 * min(h, w)
    dist = ((yy - cy) ** 2 + (xx - cx) ** 2).sqrt()
    fov = dist < radius
    vessels = torch.zeros(h, w, dtype=torch.bool)
    for _ in range(lines):
        angle, offset, width = torch.rand(3, generator=g).tolist()
        angle *= math.pi
        across = (xx - cx) * math.cos(angle) + (yy - cy) * math.sin(angle) - (offset - 0.5) * radius
        vessels |= across.abs() < 0.5 + 0.6 * width  # 1 or 2 pixels wide
    vessels &= fov
    logits = 2.0 * (2 * vessels.float() - 1) - 1.0 + 1.5 * torch.randn(h, w, generator=g)
    probs = torch.sigmoid(logits)
    outside = ~fov
    probs[outside] = 0.05 * torch.rand(int(outside.sum()), generator=g)
    lit = outside & (dist < radius + 1.5) & (torch.rand(h, w, generator=g) < rim)
    probs[lit] = 0.5 + 0.45 * torch.rand(int(lit.sum()), generator=g)
    return probs.float(), vessels.long(), fov


def _number(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else describe(value)


# ------------------------------------------------------------------------------------------------ tile-starts
def _tile_starts_problem(length: int, tile: int, overlap: int, got: Any) -> str | None:
    """What is wrong with ``got`` as window starts, as a fact with numbers (the mistakes say why), or None."""
    if isinstance(got, range):
        return "the function returned a range object; turn it into a list (list(...)) and add the final start."
    if not isinstance(got, (list, tuple)) or not all(
        isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in got
    ):
        return "the function should return a list of ints (the window starts)."
    starts = [int(s) for s in got]
    expected = tile_starts_reference(length, tile, overlap)
    if length <= tile:
        return None if starts == [0] else (
            f"the image ({length} pixels) fits in one tile of {tile}, so a single window at 0 covers it (padded up "
            f"to the tile later); got {starts}."
        )
    if not starts:
        return f"the list is empty; expected window starts such as {expected}."
    if starts != sorted(set(starts)):
        return f"the starts {starts} should increase from left to right, each once."
    if starts[0] != 0:
        return f"the first window starts at {starts[0]}, so pixels 0..{starts[0] - 1} are never predicted; start at 0."
    if starts[-1] + tile > length:
        return (
            f"the window at {starts[-1]} runs past the end ({starts[-1]} + {tile} > {length}): the last start can be "
            f"at most length - tile = {length - tile}."
        )
    if starts[-1] + tile < length:
        return (
            f"the last window covers {starts[-1]}..{starts[-1] + tile - 1}, so the last {length - starts[-1] - tile} "
            f"pixel(s) are never predicted: a gap at the end. A window flush with the end starts at "
            f"length - tile = {length - tile}."
        )
    stride = tile - overlap
    steps = [b - a for a, b in zip(starts, starts[1:])]
    if overlap != stride and steps[:-1] and all(step == overlap for step in steps[:-1]):
        return (
            f"consecutive windows start {overlap} pixel(s) apart, the overlap; windows of {tile} that share "
            f"{overlap} pixel(s) start tile - overlap = {stride} pixels apart."
        )
    gaps = [a + tile - b for a, b in zip(starts, starts[1:])]
    if min(gaps) < overlap:
        i = gaps.index(min(gaps))
        return (
            f"the windows at {starts[i]} and {starts[i + 1]} share only {max(gaps[i], 0)} pixel(s); neighbours must "
            f"share at least overlap = {overlap}."
        )
    if len(starts) > len(expected):
        return (
            f"{len(starts)} windows cover the {length} pixels, but {len(expected)} are enough (e.g. {expected}); "
            f"every extra window costs a model call."
        )
    return None  # another valid placement with as few windows (e.g. evenly spread starts) is also right


def _check_tile_starts(case: Case, got: Any) -> str | None:
    length, tile, overlap = case.args
    problem = _tile_starts_problem(length, tile, overlap, got)
    if problem is None:
        return None
    expected = tile_starts_reference(length, tile, overlap)
    return f"{problem} (length={length}, tile={tile}, overlap={overlap}: expected e.g. {expected}, got {describe(got)})"


# Typical wrong answers: each makes exactly one mistake and is recognised by its phrase in the checker's reason.
def _starts_without_one_tile_case(length: int, tile: int, overlap: int) -> list[int]:
    return list(range(0, length - tile, tile - overlap)) + [length - tile]


def _starts_past_the_end(length: int, tile: int, overlap: int) -> list[int]:
    return list(range(0, length, tile - overlap))


def _starts_without_a_flush_end(length: int, tile: int, overlap: int) -> list[int]:
    return list(range(0, length - tile + 1, tile - overlap)) if length > tile else [0]


def _starts_stepping_by_the_overlap(length: int, tile: int, overlap: int) -> list[int]:
    return [0] if length <= tile else list(range(0, length - tile, overlap)) + [length - tile]


def _starts_first_and_last_only(length: int, tile: int, overlap: int) -> list[int]:
    return [0] if length <= tile else [0, length - tile]


def _starts_with_small_steps(length: int, tile: int, overlap: int) -> list[int]:
    step = max(tile - overlap - 1, 1)
    return [0] if length <= tile else list(range(0, length - tile, step)) + [length - tile]


def _said(*phrases: str) -> Callable[[Case, Any, str], bool]:
    """A mistake's detector: the checker's reason sentence contains one of ``phrases``."""
    return lambda case, got, reason: any(phrase in reason for phrase in phrases)


_TILE_STARTS_MISTAKES = (
    Mistake("one-tile image not handled", _starts_without_one_tile_case,
            "when the image is no longer than a tile, length - tile is 0 or negative, so the regular steps give "
            "no start, or a negative one. Handle that case first: one window at 0 is all it needs.",
            detect=_said("fits in one tile")),
    Mistake("last window runs past the end", _starts_past_the_end,
            "stepping on until you reach length lets the last window start where it no longer fits in the image. "
            "Stop the regular steps before length - tile and make length - tile itself the last start.",
            detect=_said("runs past the end")),
    Mistake("no window flush with the end", _starts_without_a_flush_end,
            "regular steps of tile - overlap seldom land exactly on the end of the image, so the last pixels get "
            "no window. Always add one more window that ends at the last pixel, even if it overlaps its "
            "neighbour more.",
            detect=_said("a gap at the end")),
    Mistake("stepped by the overlap", _starts_stepping_by_the_overlap,
            "the overlap is how many pixels two neighbours share, not how far apart they start; stepping by it "
            "makes far more windows than needed (or none overlapping when it is 0). The step is what is left of a "
            "tile after the shared part.",
            detect=_said("apart, the overlap")),
    Mistake("windows too far apart", _starts_first_and_last_only,
            "the first and the last window alone (or too long steps) leave neighbours that share less than the "
            "overlap, or pixels no window covers. Step through the image by tile - overlap at most.",
            detect=_said("share only")),
    Mistake("more windows than needed", _starts_with_small_steps,
            "steps shorter than tile - overlap make neighbours share more than they must, so there are more "
            "windows, and every window is one more model call. Step by exactly tile - overlap.",
            detect=_said("are enough")),
)


@register(
    "tile-starts",
    lesson=_LESSON,
    title="Where the sliding windows start",
    hints=(
        "Neighbouring windows start a fixed distance apart, chosen so that each pair shares exactly the overlap; "
        "and the last window must end exactly at the image's last pixel, even if it then overlaps its neighbour "
        "more, or the last pixels are never predicted. An image no longer than one tile needs a single window.",
        "The distance between starts is tile - overlap. range(0, stop, step) lists 0, step, 2·step, … below stop: "
        "stop the regular steps before length - tile, then append length - tile itself as the last start. Handle "
        "length <= tile first, and return a list, not a range.",
        "if length <= tile: return [0]; otherwise "
        "return list(range(0, length - tile, tile - overlap)) + [length - tile]",
    ),
    checker=_check_tile_starts,
    mistakes=_TILE_STARTS_MISTAKES,
)
def _tile_starts_cases() -> list[Case]:
    def case(length: int, tile: int, overlap: int, hidden: bool, description: str = "") -> Case:
        expected = tile_starts_reference(length, tile, overlap)
        return Case((length, tile, overlap), expected=expected, hidden=hidden,
                    description=description or f"tile_starts({length}, {tile}, {overlap}) -> {expected}")

    return [
        case(10, 4, 1, False, "tile_starts(10, 4, 1): windows 0-3, 3-6, 6-9 -> [0, 3, 6] (stride 3, each pair shares 1 pixel)"),
        case(565, 256, 64, False, "tile_starts(565, 256, 64): a DRIVE image's width -> [0, 192, 309] (the last window "
             "moved back to end at pixel 564)"),
        case(200, 256, 32, False, "tile_starts(200, 256, 32): the image fits in one tile -> [0]"),
        case(584, 256, 64, True),
        case(12, 4, 0, True, "tile_starts(12, 4, 0): no overlap and an exact fit -> [0, 4, 8]"),
        case(10, 4, 0, True),
        case(256, 256, 64, True, "the image is exactly one tile -> [0]"),
        case(257, 256, 64, True, "one pixel more than a tile -> [0, 1]"),
        case(100, 10, 9, True, "overlap = tile - 1: stride 1"),
        case(1000, 128, 32, True),
        case(96, 32, 8, True),
    ]


# ------------------------------------------------------------------------------------------------ masked-scores
_SCORE_KEYS = ("dice", "sensitivity", "specificity")


def _as_numbers(got: Any) -> dict[str, float] | None:
    """The three scores as floats, or None when ``got`` is not a dict of plain numbers with the right keys."""
    if not isinstance(got, dict) or set(got) != set(_SCORE_KEYS):
        return None
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in got.values()):
        return None
    return {k: float(v) for k, v in got.items()}


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9) or (math.isnan(a) and math.isnan(b))


def _check_masked_scores(case: Case, got: Any) -> str | None:
    pred, target, fov = case.args
    expected = masked_scores_reference(pred, target, fov)
    reason = compare(expected, got, atol=1e-9, rtol=1e-6, path="the result")
    if reason is None:
        return None
    values = _as_numbers(got)
    shown = f"expected {_scores_text(expected)}, got {_scores_text(values) if values else describe(got)}"
    if values is None and isinstance(got, dict) and set(got) == set(_SCORE_KEYS):
        return f"{reason} ({shown})"  # e.g. tensors instead of Python floats
    if values is None:
        return f"{reason} Return a dict with the keys 'dice', 'sensitivity' and 'specificity' ({shown})."
    wrong_keys = [k for k in _SCORE_KEYS if not _same(values[k], expected[k])]
    return f"{reason} Wrong: {', '.join(wrong_keys)} ({shown})."


def _scores_text(scores: dict[str, float]) -> str:
    return "{" + ", ".join(f"{k}: {_number(v)}" for k, v in scores.items()) + "}"


# Typical wrong answers, each recognised by what the learner's scores equal on the failed case.
def _scores_of_the_whole_image(pred: torch.Tensor, target: torch.Tensor, fov: torch.Tensor) -> dict[str, float]:
    return masked_scores_reference(pred, target, torch.ones_like(fov, dtype=torch.bool))


def _scores_swapped(pred: torch.Tensor, target: torch.Tensor, fov: torch.Tensor) -> dict[str, float]:
    s = masked_scores_reference(pred, target, fov)
    return {"dice": s["dice"], "sensitivity": s["specificity"], "specificity": s["sensitivity"]}


def _scores_with_iou(pred: torch.Tensor, target: torch.Tensor, fov: torch.Tensor) -> dict[str, float]:
    tp, fn, fp, _ = _counts(pred, target, fov)
    return {**masked_scores_reference(pred, target, fov), "dice": _div(tp, tp + fp + fn)}


def _scores_with_integer_not(pred: torch.Tensor, target: torch.Tensor, fov: torch.Tensor) -> dict[str, float]:
    """* as AND and ~ as NOT without .bool(): right on bool masks, wrong on 0/1 int64 ones (~1 is -2)."""
    tp = (pred * target * fov).sum().item()
    fn = (~pred * target * fov).sum().item()
    fp = (pred * ~target * fov).sum().item()
    tn = (~pred * ~target * fov).sum().item()
    return {"dice": _div(2 * tp, 2 * tp + fp + fn), "sensitivity": _div(tp, tp + fn), "specificity": _div(tn, tn + fp)}


def _wrong_scores_equal(scores: Callable[..., dict[str, float]]) -> Callable[[Case, Any, str], bool]:
    """Detector: every score the learner got wrong on this case equals ``scores``' value (e.g. only some keys)."""
    def detect(case: Case, got: Any, reason: str) -> bool:
        values = _as_numbers(got)
        if values is None:
            return False
        expected, wrong = masked_scores_reference(*case.args), scores(*case.args)
        wrong_keys = [k for k in _SCORE_KEYS if not _same(values[k], expected[k])]
        return bool(wrong_keys) and all(_same(values[k], wrong[k]) for k in wrong_keys)
    return detect


def _integer_masks(case: Case, got: Any, reason: str) -> bool:
    pred, target, _ = case.args
    return _as_numbers(got) is not None and (pred.dtype != torch.bool or target.dtype != torch.bool)


_MASKED_SCORES_MISTAKES = (
    Mistake("pixels outside the field of view counted", _scores_of_the_whole_image,
            "a pixel outside the field of view is not retina, neither right nor wrong, yet it was counted. The black "
            "border is easy background, so specificity comes out too high, and false alarms on the rim lower Dice. "
            "Every one of the four counts must also require fov to be True.",
            detect=_wrong_scores_equal(_scores_of_the_whole_image)),
    Mistake("sensitivity and specificity swapped", _scores_swapped,
            "sensitivity is the share of the true vessel pixels that were found; specificity the share of the true "
            "background pixels left as background. Each divides by the pixels of its own true class."),
    Mistake("IoU instead of Dice", _scores_with_iou,
            "that 'dice' is the IoU, overlap over union. Dice counts the overlap twice, in the numerator and in the "
            "denominator, so it is never lower than the IoU.",
            detect=_wrong_scores_equal(_scores_with_iou)),
    Mistake("~ on 0/1 integer masks", _scores_with_integer_not,
            "this case passes 0/1 integer tensors, not bool. On integers ~ is a bitwise NOT, not a logical one (~1 "
            "is -2, ~0 is -1), so the counts that use it are wrong. Convert every mask with .bool() first.",
            detect=_integer_masks),
)


@register(
    "masked-scores",
    lesson=_LESSON,
    title="Dice, sensitivity and specificity inside the field of view",
    hints=(
        "Only pixels inside the field of view count: a pixel outside it is neither right nor wrong. So each of the "
        "four counts (vessel found, vessel missed, false alarm, background kept) must also require the pixel to be "
        "inside the field of view; the three scores are then ratios of those counts.",
        "Turn pred, target and fov into bool tensors with .bool() (on 0/1 integers ~ is not a logical NOT), "
        "combine them with & and ~, and count with .sum(). Dice counts the overlap twice; sensitivity divides by "
        "the true vessel pixels, specificity by the true background pixels. Return Python floats.",
        "p, t, f = pred.bool(), target.bool(), fov.bool(); tp = int((p & t & f).sum()); fn = int((~p & t & f).sum()); "
        "fp = int((p & ~t & f).sum()); tn = int((~p & ~t & f).sum()); return {\"dice\": 2 * tp / (2 * tp + fp + fn), "
        "\"sensitivity\": tp / (tp + fn), \"specificity\": tn / (tn + fp)}",
    ),
    checker=_check_masked_scores,
    mistakes=_MASKED_SCORES_MISTAKES,
)
def _masked_scores_cases() -> list[Case]:
    outside = [(0, 0), (0, 1), (1, 0), (0, 4), (0, 5), (1, 5), (4, 0), (4, 5)]  # the four corners
    vessel = [(1, 1), (1, 2), (2, 2), (2, 3), (3, 3), (4, 3)]
    predicted = [(1, 2), (2, 2), (2, 3), (3, 3), (4, 3), (3, 2), (1, 3), (3, 4), (0, 5)]  # (0, 5) is outside
    pred, target = torch.zeros(5, 6, dtype=torch.bool), torch.zeros(5, 6, dtype=torch.bool)
    fov = torch.ones(5, 6, dtype=torch.bool)
    for mask, pixels, value in ((fov, outside, False), (target, vessel, True), (pred, predicted, True)):
        for r, c in pixels:
            mask[r, c] = value
    tp, fn, fp, tn = _counts(pred, target, fov)
    cases = [
        Case((pred, target, fov), expected=masked_scores_reference(pred, target, fov),
             description=f"a 5×6 example, the corners outside the FOV: inside it TP={tp}, FN={fn}, FP={fp}, TN={tn} "
             f"-> dice {2 * tp}/{2 * tp + fp + fn}, sensitivity {tp}/{tp + fn}, specificity {tn}/{tn + fp} (the "
             f"prediction in the top-right corner and the 7 empty corner pixels do not count)"),
    ]
    for seed, (h, w), hidden in ((90, (32, 30), False), (92, (48, 48), True), (93, (40, 57), True), (95, (36, 36), True)):
        probs, vessels, round_fov = _fundus(seed, h, w)
        p, t = probs > 0.5, vessels.bool()
        cases.append(Case((p, t, round_fov), expected=masked_scores_reference(p, t, round_fov), hidden=hidden,
                          description=f"a {h}×{w} synthetic fundus: thin vessels in a round FOV, black outside it "
                          f"but for a few false positives on its rim (which must not count)"))
    probs, vessels, round_fov = _fundus(94, 36, 36)
    p, t = (probs > 0.5).long(), vessels.long()
    cases.append(Case((p, t, round_fov), expected=masked_scores_reference(p, t, round_fov), hidden=True,
                      description="pred and target as 0/1 int64 tensors instead of bool"))
    t = vessels.bool()
    cases.append(Case((t.clone(), t, round_fov), expected=masked_scores_reference(t, t, round_fov), hidden=True,
                      description="a perfect prediction -> dice 1, sensitivity 1, specificity 1"))
    nothing = torch.zeros_like(t)
    cases.append(Case((nothing, t, round_fov), expected=masked_scores_reference(nothing, t, round_fov), hidden=True,
                      description="nothing predicted -> dice 0, sensitivity 0, specificity 1"))
    return cases


# ------------------------------------------------------------------------------------------------ pick-threshold
def _dice_at(probs: torch.Tensor, target: torch.Tensor, fov: torch.Tensor, threshold: float) -> float:
    return masked_scores_reference(probs > threshold, target, fov)["dice"]


def _best_by(score: Callable[[float], float], thresholds: Sequence[float]) -> float:
    values = [score(t) for t in thresholds]
    return thresholds[values.index(max(values))]


def _accuracy_at(probs: torch.Tensor, target: torch.Tensor, fov: torch.Tensor, threshold: float) -> float:
    tp, fn, fp, tn = _counts(probs > threshold, target, fov)
    return (tp + tn) / (tp + fn + fp + tn)


def _check_pick_threshold(case: Case, got: Any) -> str | None:
    probs, target, fov, thresholds = case.args
    if isinstance(got, torch.Tensor) and got.numel() == 1:
        return "the threshold is a one-element tensor; return a plain Python number with float(...) or .item()."
    if isinstance(got, bool) or not isinstance(got, numbers.Real):
        return f"the function should return one threshold (a float), but it returned {describe(got)}."
    got = float(got)
    dice = {t: _dice_at(probs, target, fov, t) for t in thresholds}
    best = max(dice.values())
    expected = pick_threshold_reference(probs, target, fov, thresholds)
    shown = f"expected {expected} (Dice {best:.4f} inside the FOV), got {got:.4g}"
    matching = [t for t in thresholds if math.isclose(got, t, rel_tol=0, abs_tol=1e-9)]
    if matching and dice[matching[0]] >= best - 1e-12:
        return None  # the best threshold (or one tied with it)
    if math.isclose(got, best, abs_tol=1e-6):
        return f"{got:.4g} is the best Dice itself, not the threshold that gives it ({shown})."
    if got.is_integer() and 0 <= got < len(thresholds) and not matching and thresholds[int(got)] == expected:
        return f"{int(got)} is the position of the best threshold in the list, not the threshold itself ({shown})."
    if not matching:
        return f"{got:.4g} is not one of the candidate thresholds {list(thresholds)}; return one of them ({shown})."
    if got == _best_by(lambda t: _accuracy_at(probs, target, fov, t), thresholds):
        return f"{got} gives the best pixel accuracy inside the FOV, not the best Dice ({shown})."
    whole = torch.ones_like(fov, dtype=torch.bool)
    if got == _best_by(lambda t: _dice_at(probs, target, whole, t), thresholds):
        return f"{got} has the best Dice over the whole image, the rim outside the field of view included ({shown})."
    if dice[got] == min(dice.values()):
        return f"{got} has the lowest Dice of all thresholds (Dice {dice[got]:.4f}) ({shown})."
    return f"threshold {got} gives Dice {dice[got]:.4f} inside the FOV, but {expected} gives {best:.4f} ({shown})."


# Typical wrong answers: each is recognised by its phrase in the checker's reason.
def _dice_per_threshold(probs: torch.Tensor, target: torch.Tensor, fov: torch.Tensor, thresholds) -> list[float]:
    return [_dice_at(probs, target, fov, t) for t in thresholds]


def _threshold_best_dice(probs, target, fov, thresholds) -> float:
    return max(_dice_per_threshold(probs, target, fov, thresholds))


def _threshold_position(probs, target, fov, thresholds) -> int:
    dice = _dice_per_threshold(probs, target, fov, thresholds)
    return dice.index(max(dice))


def _threshold_by_accuracy(probs, target, fov, thresholds) -> float:
    return _best_by(lambda t: _accuracy_at(probs, target, fov, t), thresholds)


def _threshold_on_the_whole_image(probs, target, fov, thresholds) -> float:
    return pick_threshold_reference(probs, target, torch.ones_like(fov, dtype=torch.bool), thresholds)


def _threshold_worst(probs, target, fov, thresholds) -> float:
    dice = _dice_per_threshold(probs, target, fov, thresholds)
    return thresholds[dice.index(min(dice))]


_PICK_THRESHOLD_MISTAKES = (
    Mistake("returned the best Dice", _threshold_best_dice,
            "the loop found the best score but forgot which candidate gave it. Remember the threshold together "
            "with its Dice, and return the threshold.",
            detect=_said("is the best Dice itself")),
    Mistake("returned the position", _threshold_position,
            "the index of the best entry is where the threshold sits in the list, not the threshold; look the "
            "threshold up at that position (or loop over the thresholds themselves).",
            detect=_said("is the position of the best threshold")),
    Mistake("chose by pixel accuracy", _threshold_by_accuracy,
            "with few vessel pixels, accuracy rewards calling almost everything background, so it picks a threshold "
            "that is too high. Score each threshold by Dice, which ignores the easy true negatives.",
            detect=_said("best pixel accuracy")),
    Mistake("scored the whole image", _threshold_on_the_whole_image,
            "the bright rim just outside the field of view adds false alarms that push the choice towards a higher "
            "threshold. Score only the pixels inside the FOV, as masked_scores does.",
            detect=_said("over the whole image")),
    Mistake("kept the worst threshold", _threshold_worst,
            "the comparison is the wrong way round: replace the best so far only when a Dice is HIGHER, and start "
            "the best Dice below any real score.",
            detect=_said("lowest Dice of all thresholds")),
)


@register(
    "pick-threshold",
    lesson=_LESSON,
    title="Choose the threshold with the best Dice inside the field of view",
    hints=(
        "A threshold turns probabilities into a prediction. Try every candidate, score its prediction by Dice "
        "inside the field of view, and keep the candidate that scored best; what you return is that candidate, "
        "not its score and not its place in the list.",
        "For one candidate t, probs > t is the prediction, and your masked_scores gives its Dice inside the FOV. "
        "Loop over the thresholds keeping two variables, the best Dice so far and the threshold that gave it; "
        "replace them only when a Dice is strictly higher, so the first of tied candidates wins. Return a float.",
        "best_threshold, best_dice = thresholds[0], -1.0; for threshold in thresholds: "
        "dice = masked_scores(probs > threshold, target, fov)[\"dice\"]; if dice > best_dice: "
        "best_threshold, best_dice = threshold, dice. After the loop: return float(best_threshold)",
    ),
    checker=_check_pick_threshold,
    mistakes=_PICK_THRESHOLD_MISTAKES,
)
def _pick_threshold_cases() -> list[Case]:
    twentieths = [round(0.05 * k, 2) for k in range(1, 20)]
    shuffled = [twentieths[(7 * i) % 19] for i in range(19)]
    cases = []
    for seed, (h, w), thresholds, hidden in (
        (91, (40, 40), twentieths, False),
        (94, (48, 44), twentieths, False),
        (95, (48, 44), twentieths, True),
        (105, (48, 44), twentieths, True),
        (113, (40, 40), [round(0.1 * k, 1) for k in range(1, 10)], True),
        (123, (40, 40), shuffled, True),
        (99, (64, 64), [round(0.02 * k, 2) for k in range(5, 46)], True),
    ):
        probs, vessels, fov = _fundus(seed, h, w, rim=0.6)
        expected = pick_threshold_reference(probs, vessels, fov, thresholds)
        listed = f"[{thresholds[0]}, {thresholds[1]}, …, {thresholds[-1]}]"
        cases.append(Case((probs, vessels, fov, thresholds), expected=expected, hidden=hidden,
                          description=f"{h}×{w} synthetic fundus probabilities, {len(thresholds)} thresholds {listed}: "
                          f"the best Dice inside the FOV is at {expected} (the bright rim outside the FOV must not count)"))
    return cases
