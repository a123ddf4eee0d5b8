"""The click-to-segment recipe (``click-unet-nuclei``): a tiny copy trains, is scored by NoC, and is saved."""

from __future__ import annotations

import dataclasses

import pytest

from course_lib import models, recipes
from course_tools import checkpoints


def test_a_tiny_promptable_recipe_trains_scores_and_saves(tmp_path, monkeypatch):
    tiny = dataclasses.replace(recipes.get_recipe("click-unet-nuclei"), name="tiny-clicks", n_train=4, n_test=1, epochs=1)
    monkeypatch.setitem(recipes.RECIPES, "tiny-clicks", tiny)
    path = checkpoints.make_checkpoint("tiny-clicks", tmp_path)
    scores = models.checkpoint_info(path)["meta"]["scores"]
    assert set(scores) >= {"iou@1", "iou@3", "noc@85", "noc@90", "objects", "train_seconds"}
    assert 0 <= scores["iou@1"] <= 1 and 1 <= scores["noc@85"] <= scores["noc@90"] <= 20 and scores["objects"] > 0
    assert checkpoints.checkpoint_is_current(path)
    model = models.load_checkpoint(path)
    again = checkpoints.score_model("tiny-clicks", model)
    assert again["noc@85"] == pytest.approx(scores["noc@85"], abs=1e-4)


def test_a_promptable_recipe_refuses_augmentations_it_does_not_use(monkeypatch):
    odd = dataclasses.replace(recipes.get_recipe("click-unet-nuclei"), name="odd-clicks", n_train=2, n_test=1,
                              augment={"crop": (32, 32), "hflip": 0.5})
    monkeypatch.setitem(recipes.RECIPES, "odd-clicks", odd)
    with pytest.raises(ValueError, match="hflip"):
        checkpoints.train_recipe("odd-clicks")
