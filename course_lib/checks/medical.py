"""Exercises of the medical capstone (retinal vessels): where sliding windows start, Dice, sensitivity and
specificity inside the field of view, and choosing the threshold with the best Dice."""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Sequence

import torch

from .core import Case, compare, describe
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
            f"the image ({length} pixels) fits in one tile of {tile}: return [0] (one window, padded up to the "
            f"tile later), got {starts}."
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
            f"at most length - tile = {length - tile}. Stop the regular steps before it and add it as the last start."
        )
    if starts[-1] + tile < length:
        return (
            f"the last window covers {starts[-1]}..{starts[-1] + tile - 1}, so the last {length - starts[-1] - tile} "
            f"pixel(s) are never predicted: a gap at the end. Add a final window flush with the end, start "
            f"length - tile = {length - tile}."
        )
    stride = tile - overlap
    steps = [b - a for a, b in zip(starts, starts[1:])]
    if overlap != stride and steps[:-1] and all(step == overlap for step in steps[:-1]):
        return (
            f"consecutive windows start {overlap} pixel(s) apart: you stepped by the overlap. Windows of {tile} that "
            f"share {overlap} pixel(s) start tile - overlap = {stride} pixels apart."
        )
    gaps = [a + tile - b for a, b in zip(starts, starts[1:])]
    if min(gaps) < overlap:
        i = gaps.index(min(gaps))
        return (
            f"the windows at {starts[i]} and {starts[i + 1]} share only {max(gaps[i], 0)} pixel(s); neighbours must "
            f"share at least overlap = {overlap}, so step by at most tile - overlap = {stride}."
        )
    if len(starts) > len(expected):
        return (
            f"{len(starts)} windows cover the {length} pixels, but {len(expected)} are enough (e.g. {expected}); "
            f"every extra window costs a model call. Step by tile - overlap = {stride}."
        )
    return None  # another valid placement with as few windows (e.g. evenly spread starts) is also right


def _check_tile_starts(case: Case, got: Any) -> str | None:
    length, tile, overlap = case.args
    problem = _tile_starts_problem(length, tile, overlap, got)
    if problem is None:
        return None
    expected = tile_starts_reference(length, tile, overlap)
    return f"{problem} (length={length}, tile={tile}, overlap={overlap}: expected e.g. {expected}, got {describe(got)})"


@register(
    "tile-starts",
    lesson=_LESSON,
    title="Where the sliding windows start",
    hint="Step 1, the idea: neighbouring windows start tile - overlap pixels apart (the stride), so each pair shares "
    "`overlap` pixels, and the last window must end exactly at `length`, or the last pixels are never predicted. "
    "Step 2, a nudge: range(start, stop, step) lists 0, stride, 2·stride, … below a stop you choose; stop before "
    "length - tile, then add length - tile itself as the final start. An image no longer than a tile needs one "
    "window, at 0.",
    checker=_check_tile_starts,
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
    whole = masked_scores_reference(pred, target, torch.ones_like(fov, dtype=torch.bool))
    wrong_keys = [k for k in _SCORE_KEYS if not _same(values[k], expected[k])]
    if wrong_keys and all(_same(values[k], whole[k]) for k in wrong_keys):
        inflated = whole["specificity"] > expected["specificity"]
        why = (f"the black border outside the FOV is easy background, so specificity comes out too high (whole image "
               f"{whole['specificity']:.4f}, inside the FOV {expected['specificity']:.4f})") if inflated else (
               "those pixels are not part of the retina and must not be scored")
        return (f"{', '.join(wrong_keys)} count(s) pixels outside the field of view: {why}. Count only pixels "
                f"where fov is True ({shown}).")
    if _same(values["sensitivity"], expected["specificity"]) and _same(values["specificity"], expected["sensitivity"]):
        return (
            "sensitivity and specificity are swapped: sensitivity is the share of vessel pixels that were found, "
            f"TP / (TP + FN); specificity the share of background pixels left as background, TN / (TN + FP) ({shown})."
        )
    tp, fn, fp, _ = _counts(pred, target, fov)
    if "dice" in wrong_keys and _same(values["dice"], _div(tp, tp + fp + fn)):
        return f"'dice' is the IoU, TP / (TP + FP + FN); Dice counts the overlap twice: 2·TP / (2·TP + FP + FN) ({shown})."
    if pred.dtype != torch.bool or target.dtype != torch.bool:
        return (
            f"this case passes 0/1 integer tensors ({pred.dtype}), not bool: on integers ~ is not a logical NOT "
            f"(~1 is -2). Convert with .bool() first ({shown})."
        )
    return f"{reason} ({shown})"


def _scores_text(scores: dict[str, float]) -> str:
    return "{" + ", ".join(f"{k}: {_number(v)}" for k, v in scores.items()) + "}"


@register(
    "masked-scores",
    lesson=_LESSON,
    title="Dice, sensitivity and specificity inside the field of view",
    hint="Step 1, the idea: only pixels inside the field of view count; a pixel outside it is neither right nor "
    "wrong. So every count (TP, FN, FP, TN) must also require fov to be True. Step 2, a nudge: turn pred, target "
    "and fov into bool tensors (.bool()), combine them with & and ~, and count with .sum(). Step 3, the formulas: "
    "Dice = 2·TP / (2·TP + FP + FN); sensitivity = TP / (TP + FN), the vessels found; specificity = "
    "TN / (TN + FP), the background kept. Return Python floats (float(...) or .item()).",
    checker=_check_masked_scores,
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
        return (f"you returned the best Dice ({best:.4f}), not the threshold that gives it; remember the threshold "
                f"too and return it ({shown}).")
    if got.is_integer() and 0 <= got < len(thresholds) and not matching and thresholds[int(got)] == expected:
        return f"you returned the position {int(got)} of the best threshold in the list; return thresholds[i] itself ({shown})."
    if not matching:
        return f"{got:.4g} is not one of the candidate thresholds {list(thresholds)}; return one of them ({shown})."
    if got == _best_by(lambda t: _accuracy_at(probs, target, fov, t), thresholds):
        return (f"{got} gives the best pixel accuracy, not the best Dice: with few vessel pixels, accuracy rewards "
                f"calling almost everything background. Score each threshold by Dice ({shown}).")
    whole = torch.ones_like(fov, dtype=torch.bool)
    if got == _best_by(lambda t: _dice_at(probs, target, whole, t), thresholds):
        return (f"{got} has the best Dice over the whole image, rim outside the field of view included; score only "
                f"the pixels inside the FOV ({shown}).")
    if dice[got] == min(dice.values()):
        return f"{got} has the lowest Dice of all thresholds (Dice {dice[got]:.4f}); keep the highest instead ({shown})."
    return f"threshold {got} gives Dice {dice[got]:.4f} inside the FOV, but {expected} gives {best:.4f} ({shown})."


@register(
    "pick-threshold",
    lesson=_LESSON,
    title="Choose the threshold with the best Dice inside the field of view",
    hint="Step 1, the idea: a threshold turns probabilities into a prediction; try every candidate, score each "
    "prediction by its Dice inside the field of view, and keep the candidate that scored best. Step 2, a nudge: "
    "the comparison probs > t gives the prediction for one candidate t; its Dice inside the FOV is what your "
    "masked_scores computes. Keep two variables while you loop, the best Dice so far and the threshold that gave "
    "it, and return the threshold (a float), not its Dice and not its position in the list.",
    checker=_check_pick_threshold,
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
