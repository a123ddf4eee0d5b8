"""The threshold baseline: exact, fast, and agreeing with a brute-force search."""

import pytest
import torch

from course_lib import baselines
from course_lib.baselines import ThresholdRule, best_threshold
from course_lib.metrics import dice


def _binary_dice(pred, truth):
    return float(dice(pred, truth, num_classes=2, average="binary"))


def _brute_force(grey, masks):
    best = (-1.0, None, None)
    for k in range(256):
        for above in (True, False):
            t = (k - 0.5) / 255 if above else (k + 0.5) / 255
            best = max(best, (_binary_dice(grey > t if above else grey < t, masks != 0), t, above))
    return best


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_best_threshold_matches_a_brute_force_search_on_8bit_images(seed):
    g = torch.Generator().manual_seed(seed)
    masks = (torch.rand(4, 16, 16, generator=g) < 0.3).long()
    shift = 0.2 if seed % 2 == 0 else -0.2  # foreground brighter or darker
    grey = ((0.5 + shift * masks + 0.15 * torch.randn(4, 16, 16, generator=g)).clamp(0, 1) * 255).round() / 255
    rule = best_threshold(grey, masks)
    dice, t, above = _brute_force(grey, masks)
    assert rule.train_dice == pytest.approx(dice, abs=1e-9)
    assert rule.above == above == (shift > 0)
    assert rule.dice(grey, masks) == pytest.approx(rule.train_dice, abs=1e-9)


def test_an_easy_image_is_solved_and_the_rule_reads_well():
    masks = torch.zeros(2, 8, 8, dtype=torch.long)
    masks[:, 2:5, 2:5] = 1
    grey = torch.where(masks.bool(), 0.2, 0.8)
    rule = best_threshold(grey, masks)
    assert rule.train_dice == 1.0 and not rule.above and 0.2 < rule.threshold < 0.8
    assert str(rule).startswith("pixel < ")
    assert torch.equal(rule.predict(grey), masks.bool())


def test_rule_dice_is_the_metrics_binary_dice_and_its_conventions():
    assert not hasattr(baselines, "binary_dice")  # one Dice: course_lib.metrics.dice
    empty = torch.zeros(3, 3, dtype=torch.bool)
    grey = torch.full((3, 3), 0.5)
    never, always = ThresholdRule(1.0, above=True, train_dice=0.0), ThresholdRule(0.0, above=True, train_dice=0.0)
    assert never.dice(grey, empty.long()) == 1.0  # nothing to find, nothing found
    assert always.dice(grey, empty.long()) == 0.0
    g = torch.Generator().manual_seed(0)
    grey, masks = torch.rand(2, 5, 6, generator=g), (torch.rand(2, 5, 6, generator=g) < 0.4).long() * 3
    half = ThresholdRule(0.5, above=False, train_dice=0.0)
    p, t = grey < 0.5, masks != 0
    assert half.dice(grey, masks) == 2 * int((p & t).sum()) / (int(p.sum()) + int(t.sum()))
    with pytest.raises(ValueError, match="shape"):
        never.dice(grey, empty[0].long())


def test_bad_inputs_name_the_fix():
    masks = torch.zeros(2, 4, 4, dtype=torch.long)
    with pytest.raises(TypeError, match=r"images\[:, 0\]"):
        best_threshold((torch.rand(2, 4, 4) * 255).to(torch.uint8), masks)
    with pytest.raises(ValueError, match="drop the channel axis"):
        best_threshold(torch.rand(2, 1, 4, 4), masks)
    with pytest.raises(ValueError, match="rescale"):
        best_threshold(torch.rand(2, 4, 4) * 255, masks)
    assert isinstance(best_threshold(torch.rand(2, 4, 4), masks), ThresholdRule)


def test_the_lessons_trained_unet_clearly_beats_the_threshold_on_the_lesion_test_split():
    """Lesson 04's promise, on its ready-made 8-epoch U-Net: measured Dice 0.401 against the threshold's 0.077."""
    from torch.utils.data import DataLoader

    from course_lib import data, models, recipes, training

    recipe = recipes.get_recipe("unet-lesions")
    sets = recipes.load_splits(recipe)
    (train, train_masks), (test, test_masks) = data.as_tensors(sets["train"]), data.as_tensors(sets["test"])
    threshold = best_threshold(train[:, 0], train_masks).dice(test[:, 0], test_masks)
    unet = training.evaluate(models.pretrained_checkpoint("unet-lesions"), DataLoader(sets["test"], batch_size=64))["fg_dice"]
    assert threshold < 0.15, threshold
    assert unet >= 3 * threshold and unet - threshold >= 0.25, (unet, threshold)
