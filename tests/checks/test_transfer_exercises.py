"""Lesson 08 exercises: the references agree with course_lib, and typical mistakes FAIL with a helpful message."""

from __future__ import annotations

import pytest
import torch

from course_lib.checks import EXERCISES, Status, check, exercises_for
from course_lib.checks.transfer import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    ToySegmenter,
    count_trainable_reference,
    encoder_decoder_groups_reference,
    freeze_encoder_reference,
    imagenet_normalize_reference,
)
from course_lib.models import count_parameters, param_groups

IDS = ["freeze-encoder", "count-trainable", "encoder-decoder-groups", "imagenet-normalize"]


def _fails(capsys, exercise, func, *phrases, mistake=None):
    result = check(exercise, func)
    out = capsys.readouterr().out
    assert result.status == Status.FAILED, out
    for phrase in phrases:
        assert phrase in out, out
    if mistake is not None:
        assert f"mistake:  {mistake}:" in out, out


def test_lesson_has_its_exercises_in_order():
    assert [e.id for e in exercises_for("08_transfer")] == IDS


def test_references_agree_with_course_lib():
    model = ToySegmenter()
    assert count_trainable_reference(model) == count_parameters(model, trainable_only=True)
    freeze_encoder_reference(model)
    assert count_trainable_reference(model) == count_parameters(model) - count_parameters(model.encoder)
    ours = encoder_decoder_groups_reference(model, 1e-4, 1e-3)
    theirs = param_groups(model, 1e-4, 1e-3)
    assert [[id(p) for p in g["params"]] for g in ours] == [[id(p) for p in g["params"]] for g in theirs]
    x = torch.rand(2, 3, 4, 4)
    expected = torch.stack([(x[:, c] - IMAGENET_MEAN[c]) / IMAGENET_STD[c] for c in range(3)], dim=1)
    assert torch.allclose(imagenet_normalize_reference(x), expected)


def test_course_param_groups_also_pass(capsys):
    assert check("encoder-decoder-groups", param_groups).status == Status.PASSED
    assert "PASSED" in capsys.readouterr().out


# ---- typical mistakes ------------------------------------------------------------------------------------
def test_freeze_by_setting_a_module_attribute_fails_with_the_fix(capsys):
    def freeze_encoder(model):
        model.encoder.requires_grad = False  # a plain attribute: nothing is frozen
        return model

    _fails(capsys, "freeze-encoder", freeze_encoder, "new, unused attribute",
           mistake="an attribute on the module, not the parameters")


def test_freeze_each_submodule_by_attribute_is_the_same_mistake(capsys):
    def freeze_encoder(model):
        for m in model.encoder.modules():
            m.requires_grad = False
        return model

    _fails(capsys, "freeze-encoder", freeze_encoder, mistake="an attribute on the module, not the parameters")


def test_eval_is_not_freezing(capsys):
    def freeze_encoder(model):
        model.encoder.eval()  # BatchNorm's behaviour changes, the weights still train
        return model

    _fails(capsys, "freeze-encoder", freeze_encoder, "does not stop gradients", mistake="eval() instead of freezing")


def test_eval_together_with_freezing_passes(capsys):
    def freeze_encoder(model):
        model.encoder.requires_grad_(False)
        model.encoder.eval()
        return model

    assert check("freeze-encoder", freeze_encoder).status == Status.PASSED


def test_freezing_the_whole_model_fails(capsys):
    def freeze_encoder(model):
        for p in model.parameters():
            p.requires_grad_(False)
        return model

    _fails(capsys, "freeze-encoder", freeze_encoder, "outside the encoder", mistake="the whole model frozen")


def test_freeze_without_return_fails(capsys):
    def freeze_encoder(model):
        model.encoder.requires_grad_(False)

    _fails(capsys, "freeze-encoder", freeze_encoder, "returned None", mistake="no return")


def test_count_all_parameters_fails(capsys):
    _fails(capsys, "count-trainable", lambda model: sum(p.numel() for p in model.parameters()), "requires_grad",
           mistake="frozen parameters counted")


def test_count_as_a_tensor_is_still_recognised(capsys):
    def count_trainable(model):
        return torch.tensor(sum(p.numel() for p in model.parameters()))

    _fails(capsys, "count-trainable", count_trainable, mistake="frozen parameters counted")


def test_count_tensors_instead_of_values_fails(capsys):
    _fails(capsys, "count-trainable", lambda model: sum(1 for p in model.parameters() if p.requires_grad), "numel",
           mistake="tensors counted, not values")


def test_count_shared_parameter_twice_fails(capsys):
    def count_trainable(model):
        parts = (model.encoder, model.decoder, model.head)  # the conv shared by encoder and decoder counts twice
        return sum(p.numel() for part in parts for p in part.parameters() if p.requires_grad)

    _fails(capsys, "count-trainable", count_trainable, "counted once in each part", mistake="a shared layer counted twice")


def test_swapped_learning_rates_fail(capsys):
    def groups(model, encoder_lr, decoder_lr):
        return encoder_decoder_groups_reference(model, decoder_lr, encoder_lr)

    _fails(capsys, "encoder-decoder-groups", groups, "large learning rate", mistake="learning rates swapped")


def test_forgetting_the_head_fails(capsys):
    def groups(model, encoder_lr, decoder_lr):
        return [{"params": list(model.encoder.parameters()), "lr": encoder_lr},
                {"params": list(model.decoder.parameters()), "lr": decoder_lr}]

    _fails(capsys, "encoder-decoder-groups", groups, "in no group", "head", mistake="the head left out")


def test_all_parameters_in_the_second_group_fails(capsys):
    def groups(model, encoder_lr, decoder_lr):
        return [{"params": list(model.encoder.parameters()), "lr": encoder_lr},
                {"params": list(model.parameters()), "lr": decoder_lr}]

    _fails(capsys, "encoder-decoder-groups", groups, "both groups", mistake="the encoder in both groups")


def test_leaving_out_the_frozen_encoder_fails(capsys):
    def groups(model, encoder_lr, decoder_lr):
        return [{"params": [p for p in model.encoder.parameters() if p.requires_grad], "lr": encoder_lr},
                {"params": [p for n, p in model.named_parameters() if not n.startswith("encoder.") and p.requires_grad],
                 "lr": decoder_lr}]

    _fails(capsys, "encoder-decoder-groups", groups, "exactly the parameters of model.encoder",
           mistake="frozen parameters left out")


def test_half_half_normalisation_fails(capsys):
    _fails(capsys, "imagenet-normalize", lambda x: (x - 0.5) / 0.5, "ImageNet's mean and std",
           mistake="0.5 instead of ImageNet's statistics")


def test_statistics_on_the_wrong_axis_fail(capsys):
    def normalize(images):
        return (images - torch.tensor(IMAGENET_MEAN)) / torch.tensor(IMAGENET_STD)  # broadcasts along width

    _fails(capsys, "imagenet-normalize", normalize, "3×1×1", mistake="statistics along the width")


def test_multiplying_by_255_fails(capsys):
    def normalize(images):
        mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
        return (images * 255 - mean) / std  # as if the images were 0-255

    _fails(capsys, "imagenet-normalize", normalize, "[0, 1]", mistake="scaled to 0-255 first")


def test_bgr_order_fails(capsys):
    def normalize(images):
        mean = torch.tensor(IMAGENET_MEAN[::-1]).view(3, 1, 1)
        std = torch.tensor(IMAGENET_STD[::-1]).view(3, 1, 1)
        return (images - mean) / std

    _fails(capsys, "imagenet-normalize", normalize, "BGR", mistake="channels in BGR order")


# ---- a first failure names the mistake and shows only the idea of the hint ----------------------------
@pytest.mark.parametrize("exercise, mistake", [
    ("freeze-encoder", "an attribute on the module, not the parameters"),
    ("count-trainable", "frozen parameters counted"),
    ("encoder-decoder-groups", "the head left out"),
    ("imagenet-normalize", "statistics along the width"),
])
def test_first_failure_names_the_mistake_and_shows_only_the_idea(capsys, first_failure, exercise, mistake):
    wrong = next(m.wrong for m in EXERCISES[exercise].mistakes if m.name == mistake)
    first_failure(exercise, wrong, mistake)
