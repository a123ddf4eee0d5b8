"""Exercise ``pick-threshold``: the threshold with the best Dice inside the field of view."""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Sequence

import torch

from ..core import Case, Mistake, describe
from ..registry import register
from .common import LESSON, fov_counts, fundus, said
from .masked_scores import masked_scores_reference

__all__ = ["pick_threshold_reference"]


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


def _dice_at(probs: torch.Tensor, target: torch.Tensor, fov: torch.Tensor, threshold: float) -> float:
    return masked_scores_reference(probs > threshold, target, fov)["dice"]


def _best_by(score: Callable[[float], float], thresholds: Sequence[float]) -> float:
    values = [score(t) for t in thresholds]
    return thresholds[values.index(max(values))]


def _accuracy_at(probs: torch.Tensor, target: torch.Tensor, fov: torch.Tensor, threshold: float) -> float:
    tp, fn, fp, tn = fov_counts(probs > threshold, target, fov)
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
            detect=said("is the best Dice itself")),
    Mistake("returned the position", _threshold_position,
            "the index of the best entry is where the threshold sits in the list, not the threshold; look the "
            "threshold up at that position (or loop over the thresholds themselves).",
            detect=said("is the position of the best threshold")),
    Mistake("chose by pixel accuracy", _threshold_by_accuracy,
            "with few vessel pixels, accuracy rewards calling almost everything background, so it picks a threshold "
            "that is too high. Score each threshold by Dice, which ignores the easy true negatives.",
            detect=said("best pixel accuracy")),
    Mistake("scored the whole image", _threshold_on_the_whole_image,
            "the bright rim just outside the field of view adds false alarms that push the choice towards a higher "
            "threshold. Score only the pixels inside the FOV, as masked_scores does.",
            detect=said("over the whole image")),
    Mistake("kept the worst threshold", _threshold_worst,
            "the comparison is the wrong way round: replace the best so far only when a Dice is HIGHER, and start "
            "the best Dice below any real score.",
            detect=said("lowest Dice of all thresholds")),
)


@register(
    "pick-threshold",
    lesson=LESSON,
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
        probs, vessels, fov = fundus(seed, h, w, rim=0.6)
        expected = pick_threshold_reference(probs, vessels, fov, thresholds)
        listed = f"[{thresholds[0]}, {thresholds[1]}, …, {thresholds[-1]}]"
        cases.append(Case((probs, vessels, fov, thresholds), expected=expected, hidden=hidden,
                          description=f"{h}×{w} synthetic fundus probabilities, {len(thresholds)} thresholds {listed}: "
                          f"the best Dice inside the FOV is at {expected} (the bright rim outside the FOV must not count)"))
    return cases
