import itertools

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from course_lib.checks import Status, check, exercises_for
from course_lib.checks.cnn import (conv2d_single_reference, conv_output_size_reference, receptive_field_reference,
                                   transposed_output_size_reference)

REFERENCES = {
    "conv-output-size": conv_output_size_reference,
    "conv2d-single": conv2d_single_reference,
    "receptive-field": receptive_field_reference,
    "transposed-output-size": transposed_output_size_reference,
}


# ---- the references agree with PyTorch -----------------------------------------------------------
def test_conv_output_size_matches_conv2d():
    x = torch.zeros(1, 1, 1, 23)
    for n, k, s, p, d in itertools.product([5, 8, 23], [1, 2, 3, 5], [1, 2, 3], [0, 1, 2], [1, 2, 3]):
        if n + 2 * p - d * (k - 1) - 1 < 0:
            with pytest.raises(ValueError, match="pad more"):
                conv_output_size_reference(n, k, s, p, d)
            continue
        got = F.conv2d(x[..., :n], torch.zeros(1, 1, 1, k), stride=(1, s), padding=(0, p), dilation=(1, d)).shape[-1]
        assert conv_output_size_reference(n, k, s=s, p=p, d=d) == got, (n, k, s, p, d)


def test_conv2d_single_matches_conv2d_and_does_not_flip():
    rng = np.random.default_rng(0)
    for shape, kshape in [((6, 6), (3, 3)), ((5, 9), (2, 4)), ((4, 4), (4, 4))]:
        image, kernel = rng.normal(size=shape), rng.normal(size=kshape)
        ours = conv2d_single_reference(image, kernel)
        theirs = F.conv2d(torch.from_numpy(image)[None, None], torch.from_numpy(kernel)[None, None])[0, 0].numpy()
        assert ours.dtype == np.float64 and ours.shape == theirs.shape
        assert np.allclose(ours, theirs, atol=1e-12)
    with pytest.raises(ValueError, match="larger than image"):
        conv2d_single_reference(np.zeros((2, 2)), np.zeros((3, 3)))


def _empirical_receptive_field(layers, size=64):
    """Width of the input region that changes the centre output pixel (found with a gradient)."""
    stack = []
    for k, s in layers:
        conv = nn.Conv2d(1, 1, k, stride=s, bias=False)
        nn.init.constant_(conv.weight, 1.0)
        stack.append(conv)
    x = torch.ones(1, 1, size, size, dtype=torch.float64, requires_grad=True)
    y = nn.Sequential(*stack).double()(x)
    y[0, 0, y.shape[2] // 2, y.shape[3] // 2].backward()
    cols = (x.grad[0, 0] != 0).any(0).nonzero()
    return int(cols.max() - cols.min() + 1)


@pytest.mark.parametrize("layers", [[(3, 1)], [(3, 1), (3, 1)], [(3, 1), (2, 2), (3, 1)], [(7, 2), (3, 2), (3, 1), (3, 1)],
                                    [(5, 3), (2, 2), (1, 1), (3, 2)]])
def test_receptive_field_matches_gradient(layers):
    assert receptive_field_reference(layers) == _empirical_receptive_field(layers)


def test_transposed_output_size_matches_conv_transpose():
    for n, k, s, p, d in itertools.product([1, 4, 7], [1, 2, 3, 4], [1, 2, 3], [0, 1], [1, 2]):
        for op in range(max(s, d)):
            layer = nn.ConvTranspose2d(1, 1, k, stride=s, padding=p, output_padding=op, dilation=d)
            size = (n - 1) * s - 2 * p + d * (k - 1) + op + 1
            if size < 1:
                with pytest.raises(ValueError, match="less padding"):
                    transposed_output_size_reference(n, k, s, p, d, op)
                continue
            assert transposed_output_size_reference(n, k, s=s, p=p, d=d, output_padding=op) == layer(torch.zeros(1, 1, n, n)).shape[-1]
    with pytest.raises(ValueError, match="output_padding"):
        transposed_output_size_reference(4, 3, s=2, output_padding=2)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="s=0"):
        conv_output_size_reference(8, 3, s=0)
    with pytest.raises(ValueError, match=r"layers\[1\]"):
        receptive_field_reference([(3, 1), (3, 1, 1)])


# ---- the checks ----------------------------------------------------------------------------------
def test_lesson_has_checked_exercises_with_visible_hidden_cases_and_hints():
    exercises = exercises_for("01_cnn_foundations")
    assert {e.id for e in exercises} == set(REFERENCES)
    for ex in exercises:
        cases = ex.make_cases()
        assert sum(not c.hidden for c in cases) >= 2 and sum(c.hidden for c in cases) >= 4, ex.id
        assert ex.hint and all(c.description for c in cases if not c.hidden), ex.id
        assert ex.function_name == ex.id.replace("-", "_")


def test_conv_output_size_mistakes():
    no_dilation = check("conv-output-size", lambda n, k, s=1, p=0, d=1: (n + 2 * p - k) // s + 1)
    assert no_dilation.status == Status.FAILED and "d=2" in no_dilation.message and "mistake:  dilation forgotten:" in no_dilation.message
    one_sided = check("conv-output-size", lambda n, k, s=1, p=0, d=1: (n + p - d * (k - 1) - 1) // s + 1)
    assert one_sided.status == Status.FAILED and "mistake:  padding on one side only:" in one_sided.message and "2p" in one_sided.message
    true_div = check("conv-output-size", lambda n, k, s=1, p=0, d=1: (n + 2 * p - d * (k - 1) - 1) / s + 1)
    assert true_div.status == Status.FAILED and "16.5" in true_div.message and "floor division" in true_div.message
    ceil = check("conv-output-size", lambda n, k, s=1, p=0, d=1: -(-(n + 2 * p - d * (k - 1) - 1) // s) + 1)
    assert ceil.status == Status.FAILED and "result is 17, expected 16" in ceil.message and "round down" in ceil.message
    unknown = check("conv-output-size", lambda n, k, s=1, p=0, d=1: n)
    assert unknown.status == Status.FAILED and "mistake:" not in unknown.message  # no wrong name for an unknown answer


def test_conv_output_size_first_failure_names_the_mistake_and_shows_only_the_idea(first_failure):
    first_failure("conv-output-size", lambda n, k, s=1, p=0, d=1: (n - d * (k - 1) - 1) // s + 1, "padding forgotten")


def test_conv2d_single_mistakes():
    def flipped(image, kernel):
        return conv2d_single_reference(image, kernel[::-1, ::-1])

    result = check("conv2d-single", flipped)
    assert result.status == Status.FAILED and "mistake:  kernel flipped:" in result.message and "cross-correlation" in result.message
    flipped32 = check("conv2d-single", lambda image, kernel: flipped(image, kernel).astype(np.float32))
    assert "mistake:  kernel flipped:" in flipped32.message  # recognised in any float dtype

    def same_size(image, kernel):
        padded = np.pad(image, [(kernel.shape[0] // 2,) * 2, (kernel.shape[1] // 2,) * 2])
        return conv2d_single_reference(padded, kernel)[: image.shape[0], : image.shape[1]]

    result = check("conv2d-single", same_size)
    assert result.status == Status.FAILED and "shape (4, 4), expected (3, 3)" in result.message
    assert "mistake:  padded to the image size:" in result.message

    def one_short(image, kernel):
        kh, kw = kernel.shape
        out = np.zeros((image.shape[0] - kh, image.shape[1] - kw))
        for i in range(image.shape[0] - kh):
            for j in range(image.shape[1] - kw):
                out[i, j] = (image[i:i + kh, j:j + kw] * kernel).sum()
        return out

    assert "mistake:  one row and column short:" in check("conv2d-single", one_short).message

    as_tensor = check("conv2d-single", lambda image, kernel: torch.from_numpy(conv2d_single_reference(image, kernel)))
    assert as_tensor.status == Status.FAILED and "numpy.ndarray" in as_tensor.message

    as_float32 = check("conv2d-single", lambda image, kernel: conv2d_single_reference(image, kernel).astype(np.float32))
    assert as_float32.status == Status.PASSED  # the right numbers in float32 are fine


def test_conv2d_single_first_failure_names_the_mistake_and_shows_only_the_idea(first_failure):
    first_failure("conv2d-single", lambda image, kernel: conv2d_single_reference(image, kernel[::-1, ::-1]), "kernel flipped")


def test_receptive_field_mistakes():
    no_stride = check("receptive-field", lambda layers: 1 + sum(k - 1 for k, _ in layers))
    assert no_stride.status == Status.FAILED and "result is 6, expected 8" in no_stride.message and "jump" in no_stride.message
    assert "mistake:  strides ignored:" in no_stride.message
    product = check("receptive-field", lambda layers: int(np.prod([k for k, _ in layers])))
    assert product.status == Status.FAILED and "mistake:  kernel sizes multiplied:" in product.message and "do not multiply" in product.message

    def jump_first(layers):
        r, jump = 1, 1
        for k, s in layers:
            jump *= s
            r += (k - 1) * jump
        return r

    assert "mistake:  stride applied too early:" in check("receptive-field", jump_first).message


def test_receptive_field_first_failure_names_the_mistake_and_shows_only_the_idea(first_failure):
    def from_zero(layers):
        r, jump = 0, 1
        for k, s in layers:
            r += (k - 1) * jump
            jump *= s
        return r

    first_failure("receptive-field", from_zero, "started at 0")


def test_transposed_output_size_mistakes():
    no_op = check("transposed-output-size", lambda n, k, s=1, p=0, d=1, output_padding=0: (n - 1) * s - 2 * p + d * (k - 1) + 1)
    assert no_op.status == Status.FAILED and "mistake:  output_padding forgotten:" in no_op.message and "expected 32" in no_op.message
    conv_formula = check("transposed-output-size",
                         lambda n, k, s=1, p=0, d=1, output_padding=0: (n + 2 * p - d * (k - 1) - 1) // s + 1)
    assert conv_formula.status == Status.FAILED and "*convolution* output size" in conv_formula.message
    no_dilation = check("transposed-output-size",
                        lambda n, k, s=1, p=0, d=1, output_padding=0: (n - 1) * s - 2 * p + k + output_padding)
    assert "d=2" in no_dilation.message and "mistake:  dilation forgotten:" in no_dilation.message


def test_transposed_output_size_first_failure_names_the_mistake_and_shows_only_the_idea(first_failure):
    first_failure("transposed-output-size",
                  lambda n, k, s=1, p=0, d=1, output_padding=0: (n - 1) * s - p + d * (k - 1) + output_padding + 1,
                  "padding on one side only")
