"""The ready-made checkpoints made from the training recipes (``make checkpoints``, ``course_tools.checkpoints``)."""

from __future__ import annotations

import dataclasses

import pytest
from torch.utils.data import DataLoader

from course_lib import config, models, recipes, training
from course_tools import checkpoints


def test_a_tiny_recipe_trains_saves_and_is_recognised_as_current(tmp_path, monkeypatch):
    tiny = dataclasses.replace(recipes.get_recipe("unet-lesions"), name="tiny-lesions", n_train=16, n_val=8, n_test=8, epochs=1)
    monkeypatch.setitem(recipes.RECIPES, "tiny-lesions", tiny)
    path = checkpoints.make_checkpoint("tiny-lesions", tmp_path)
    info = models.checkpoint_info(path)
    assert info["meta"]["recipe"]["epochs"] == 1 and 0.0 <= info["meta"]["scores"]["fg_dice"] <= 1.0
    assert info["meta"]["scores"]["train_seconds"] > 0
    assert checkpoints.checkpoint_is_current(path)
    monkeypatch.setitem(recipes.RECIPES, "tiny-lesions", dataclasses.replace(tiny, lr=1e-2))
    assert not checkpoints.checkpoint_is_current(path), "a changed recipe must make its checkpoint stale"


def test_the_command_line_refuses_unknown_recipes(capsys):
    from course_tools.__main__ import main

    assert main(["make-checkpoints", "nope"]) == 2
    assert "choose from" in capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(recipes.RECIPES))
def test_every_recipe_has_a_current_ready_checkpoint_that_scores_what_it_says(name):
    """The shipped checkpoint matches its recipe, loads with weights_only=True, and re-scores as stored on the test split."""
    path = config.checkpoint_dir() / f"{name}.pt"
    assert path.is_file(), f"no checkpoints/{name}.pt: run `make checkpoints` (python -m course_tools make-checkpoints {name})"
    assert checkpoints.checkpoint_is_current(path), f"checkpoints/{name}.pt was made from an older recipe: run `make checkpoints`"
    model = models.pretrained_checkpoint(name)
    recipe = recipes.get_recipe(name)
    stored = models.checkpoint_info(path)["meta"]["scores"]
    test = recipes.load_splits(recipe)["test"]
    if recipe.kind == "detection":
        assert checkpoints.detection_ap50(model, test) == pytest.approx(stored["mask_ap50"], abs=1e-4)
    elif recipe.kind == "promptable":  # a click model: the protocol's first 3 clicks on every test object (fast)
        from course_lib.prompts import evaluate_clicks

        got = evaluate_clicks(model, test, max_clicks=3)
        assert [got.iou_at(1), got.iou_at(3)] == pytest.approx([stored["iou@1"], stored["iou@3"]], abs=1e-4)
    elif recipe.augment:  # the capstones: real data, scored on val and test
        key = "test_dice" if recipe.metric == "fg_dice" else "test_miou"
        assert checkpoints.score_model(recipe, model)[key] == pytest.approx(stored[key], abs=1e-4)
        assert stored["train_cpu_seconds"] <= 2 * 600, "a capstone checkpoint must train in at most 10 minutes of 2-core CPU time"
    else:
        got = training.evaluate(model, DataLoader(test, batch_size=64), num_classes=recipe.num_classes)
        key = "fg_dice" if recipe.metric == "fg_dice" else "miou"
        assert got[key] == pytest.approx(stored[key], abs=1e-4)


def test_class_weights_ignore_void_and_give_absent_classes_zero():
    import torch

    masks = torch.tensor([[[0, 0, 0, 1, 11, 11, 11, 11]]])  # class 0: 3 px, class 1: 1 px, class 2 absent, void 4 px

    class Train:
        def __len__(self):
            return 1

        def raw(self, i):
            return None, masks[0]

    recipe = dataclasses.replace(recipes.get_recipe("effnet-unet-camvid"), num_classes=3, class_weighting="median-frequency")
    weight = checkpoints.recipe_class_weights(recipe, Train())
    assert weight[2] == 0 and weight[1] > weight[0] > 0
    sqrt = checkpoints.recipe_class_weights(dataclasses.replace(recipe, class_weighting="sqrt-median-frequency"), Train())
    assert torch.allclose(sqrt[:2], weight[:2].sqrt())


def test_a_checkpoint_made_before_a_recipe_field_existed_stays_current_while_the_field_keeps_its_default(tmp_path, monkeypatch):
    tiny = dataclasses.replace(recipes.get_recipe("unet-lesions"), name="old-lesions")
    monkeypatch.setitem(recipes.RECIPES, "old-lesions", tiny)
    stored = tiny.as_dict()
    del stored["augment"], stored["store_half"]
    path = models.save_checkpoint(models.create("unet", in_channels=1, num_classes=2, base_channels=4, depth=2), tmp_path / "old-lesions.pt", recipe=stored)
    assert checkpoints.checkpoint_is_current(path)
    monkeypatch.setitem(recipes.RECIPES, "old-lesions", dataclasses.replace(tiny, store_half=True))
    assert not checkpoints.checkpoint_is_current(path)
