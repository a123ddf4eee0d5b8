"""Training recipes (``course_lib.recipes``): what each lesson trains, read by the capstones at run time."""

from __future__ import annotations

import pytest

from course_lib import recipes


def test_unknown_recipe_lists_the_valid_names():
    with pytest.raises(ValueError, match="unet-lesions"):
        recipes.get_recipe("unet-lesion")


def test_augmentation_from_a_recipe_refuses_unknown_keys():
    assert recipes.train_augmentation({}) is None
    with pytest.raises(ValueError, match="rotate"):
        recipes.train_augmentation({"rotate": 90})


def test_the_learner_side_recipes_module_does_not_train():
    assert not any(hasattr(recipes, name) for name in ("make_checkpoint", "train_recipe", "checkpoint_is_current"))
