import os
import sys

import numpy as np
import pytest
import torch

from course_lib.checks import EXERCISES, Status, check, exercises_for
from course_lib.models import DoubleConv, count_parameters

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
layers = keras.layers

EX = "keras-double-conv"
exercises_for()  # load every lesson's exercises in the registry's order before this module's
keras_double_conv_reference = EXERCISES[EX].reference


def test_keras_runs_on_the_torch_backend_without_tensorflow():
    assert keras.backend.backend() == "torch"
    assert "tensorflow" not in sys.modules
    block = keras_double_conv_reference(8)
    assert isinstance(block, torch.nn.Module)  # Keras layers are torch modules underneath


def test_exercise_is_registered_in_lesson_04_with_visible_and_hidden_cases():
    ex = EXERCISES[EX]
    assert ex in exercises_for("04_unet") and ex.function_name == "keras_double_conv"
    cases = ex.make_cases()
    assert sum(not c.hidden for c in cases) >= 2 and sum(c.hidden for c in cases) >= 2
    assert all(c.description for c in cases if not c.hidden)
    assert len(ex.hints) == 3 and "`" not in ex.hints[0]


def test_reference_is_the_twin_of_the_pytorch_block():
    block = keras_double_conv_reference(8)
    out = block(np.zeros((2, 13, 10, 3), dtype="float32"), training=False)
    assert tuple(out.shape) == (2, 13, 10, 8)  # channels last, H and W kept
    assert count_parameters(block, trainable_only=True) == count_parameters(DoubleConv(3, 8))


def test_reference_passes(capsys):
    result = check(EX, keras_double_conv_reference)
    assert result.status == Status.PASSED and result.passed == result.total == 5
    assert "PASSED" in capsys.readouterr().out


def test_other_correct_spellings_pass(capsys):
    def with_activation_layers(filters):
        stage = lambda: [layers.Conv2D(filters, (3, 3), padding="same"), layers.BatchNormalization(),  # noqa: E731
                         layers.Activation("relu")]
        return keras.Sequential(stage() + stage())

    def nested(filters):
        def stage():
            return keras.Sequential([layers.Conv2D(filters, 3, padding="same"), layers.BatchNormalization(), layers.ReLU()])
        return keras.Sequential([stage(), stage()])

    assert check(EX, with_activation_layers).status == Status.PASSED
    assert check(EX, nested).status == Status.PASSED


def test_stub_is_not_done(capsys):
    def keras_double_conv(filters):
        raise NotImplementedError()

    assert check(EX, keras_double_conv).status == Status.NOT_DONE
    assert "NOT DONE" in capsys.readouterr().out


@pytest.mark.parametrize("name", [m.name for m in EXERCISES[EX].mistakes])
def test_each_named_mistake_fails_and_is_recognised(name, capsys):
    mistake = next(m for m in EXERCISES[EX].mistakes if m.name == name)
    result = check(EX, mistake.wrong)
    assert result.status == Status.FAILED
    assert f"mistake:  {name}:" in result.message, result.message
    others = [m.name for m in EXERCISES[EX].mistakes if m.name != name]
    assert not any(f"mistake:  {other}:" in result.message for other in others)


def test_named_mistakes_cover_the_brief():
    names = {m.name for m in EXERCISES[EX].mistakes}
    assert {"padding left at 'valid'", "no BatchNormalization", "filters and kernel size swapped"} <= names


def test_failure_sentences_say_what_to_change(capsys):
    def valid(filters):
        return EXERCISES[EX].mistakes[1].wrong(filters)

    assert 'padding="same"' in check(EX, valid).message
    assert "OUTPUT channels" in check(EX, EXERCISES[EX].mistakes[0].wrong).message
    assert "return the block" in check(EX, lambda filters: None).message
    assert "Keras layer or model" in check(EX, lambda filters: torch.nn.Conv2d(1, filters, 3)).message


def test_a_block_that_cannot_run_on_the_input_fails_with_the_error(capsys):
    def fixed_input(filters):  # built for 1 input channel only: case 2 has 8
        inputs = keras.Input((None, None, 1))
        return keras.Model(inputs, keras_double_conv_reference(filters)(inputs))

    result = check(EX, fixed_input)
    assert result.status == Status.FAILED and result.passed == 1 and "channels-last input" in result.message
