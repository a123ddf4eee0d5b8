"""Exercise ``masked-scores``: Dice, sensitivity and specificity inside the field of view."""

from __future__ import annotations

import math
from typing import Any, Callable

import torch

from ..core import Case, Mistake, compare, describe
from ..registry import register
from .common import LESSON, fov_counts, fundus, ratio

__all__ = ["masked_scores_reference"]


def masked_scores_reference(pred: torch.Tensor, target: torch.Tensor, fov: torch.Tensor) -> dict[str, float]:
    """Reference answer: Dice, sensitivity and specificity from the counts inside the field of view only."""
    tp, fn, fp, tn = fov_counts(pred, target, fov)
    return {"dice": ratio(2 * tp, 2 * tp + fp + fn), "sensitivity": ratio(tp, tp + fn), "specificity": ratio(tn, tn + fp)}


def _number(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else describe(value)


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
    tp, fn, fp, _ = fov_counts(pred, target, fov)
    return {**masked_scores_reference(pred, target, fov), "dice": ratio(tp, tp + fp + fn)}


def _scores_with_integer_not(pred: torch.Tensor, target: torch.Tensor, fov: torch.Tensor) -> dict[str, float]:
    """* as AND and ~ as NOT without .bool(): right on bool masks, wrong on 0/1 int64 ones (~1 is -2)."""
    tp = (pred * target * fov).sum().item()
    fn = (~pred * target * fov).sum().item()
    fp = (pred * ~target * fov).sum().item()
    tn = (~pred * ~target * fov).sum().item()
    return {"dice": ratio(2 * tp, 2 * tp + fp + fn), "sensitivity": ratio(tp, tp + fn), "specificity": ratio(tn, tn + fp)}


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
    lesson=LESSON,
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
    tp, fn, fp, tn = fov_counts(pred, target, fov)
    cases = [
        Case((pred, target, fov), expected=masked_scores_reference(pred, target, fov),
             description=f"a 5×6 example, the corners outside the FOV: inside it TP={tp}, FN={fn}, FP={fp}, TN={tn} "
             f"-> dice {2 * tp}/{2 * tp + fp + fn}, sensitivity {tp}/{tp + fn}, specificity {tn}/{tn + fp} (the "
             f"prediction in the top-right corner and the 7 empty corner pixels do not count)"),
    ]
    for seed, (h, w), hidden in ((90, (32, 30), False), (92, (48, 48), True), (93, (40, 57), True), (95, (36, 36), True)):
        probs, vessels, round_fov = fundus(seed, h, w)
        p, t = probs > 0.5, vessels.bool()
        cases.append(Case((p, t, round_fov), expected=masked_scores_reference(p, t, round_fov), hidden=hidden,
                          description=f"a {h}×{w} synthetic fundus: thin vessels in a round FOV, black outside it "
                          f"but for a few false positives on its rim (which must not count)"))
    probs, vessels, round_fov = fundus(94, 36, 36)
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
