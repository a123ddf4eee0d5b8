"""Training recipes and the ready-made checkpoints made from them (``make checkpoints``)."""

from __future__ import annotations

import dataclasses

import pytest
from torch.utils.data import DataLoader

from course_lib import config, models, recipes, training


def test_unknown_recipe_lists_the_valid_names():
    with pytest.raises(ValueError, match="unet-lesions"):
        recipes.get_recipe("unet-lesion")


def test_a_tiny_recipe_trains_saves_and_is_recognised_as_current(tmp_path, monkeypatch):
    tiny = dataclasses.replace(recipes.get_recipe("unet-lesions"), name="tiny-lesions", n_train=16, n_val=8, n_test=8, epochs=1)
    monkeypatch.setitem(recipes.RECIPES, "tiny-lesions", tiny)
    path = recipes.make_checkpoint("tiny-lesions", tmp_path)
    info = models.checkpoint_info(path)
    assert info["meta"]["recipe"]["epochs"] == 1 and 0.0 <= info["meta"]["scores"]["fg_dice"] <= 1.0
    assert info["meta"]["scores"]["train_seconds"] > 0
    assert recipes.checkpoint_is_current(path)
    monkeypatch.setitem(recipes.RECIPES, "tiny-lesions", dataclasses.replace(tiny, lr=1e-2))
    assert not recipes.checkpoint_is_current(path), "a changed recipe must make its checkpoint stale"


def test_the_command_line_refuses_unknown_recipes(capsys):
    from course_lib.__main__ import main

    assert main(["make-checkpoints", "nope"]) == 2
    assert "choose from" in capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(recipes.RECIPES))
def test_every_recipe_has_a_current_ready_checkpoint_that_scores_what_it_says(name):
    """The shipped checkpoint matches its recipe, loads with weights_only=True, and re-scores as stored on the test split."""
    path = config.checkpoint_dir() / f"{name}.pt"
    assert path.is_file(), f"no checkpoints/{name}.pt: run `make checkpoints` (python -m course_lib make-checkpoints {name})"
    assert recipes.checkpoint_is_current(path), f"checkpoints/{name}.pt was made from an older recipe: run `make checkpoints`"
    model = models.pretrained_checkpoint(name)
    recipe = recipes.get_recipe(name)
    stored = models.checkpoint_info(path)["meta"]["scores"]
    test = recipes.load_splits(recipe)["test"]
    if recipe.kind == "detection":
        assert recipes.detection_ap50(model, test) == pytest.approx(stored["mask_ap50"], abs=1e-4)
    else:
        got = training.evaluate(model, DataLoader(test, batch_size=64), num_classes=recipe.num_classes)
        key = "fg_dice" if recipe.metric == "fg_dice" else "miou"
        assert got[key] == pytest.approx(stored[key], abs=1e-4)
