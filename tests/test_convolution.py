"""course_lib.convolution: the two-loop convolution and the size arithmetic agree with PyTorch."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_lib import convolution


def test_conv2d_loops_is_a_valid_cross_correlation():
    rng = np.random.default_rng(0)
    image, kernel = rng.normal(size=(9, 7)), rng.normal(size=(3, 2))
    want = F.conv2d(torch.from_numpy(image)[None, None], torch.from_numpy(kernel)[None, None])[0, 0].numpy()
    got = convolution.conv2d_loops(image, kernel)
    assert got.dtype == np.float64 and got.shape == (7, 6) and np.allclose(got, want)
    with pytest.raises(ValueError, match="larger than image"):
        convolution.conv2d_loops(np.zeros((2, 2)), np.zeros((3, 3)))


@pytest.mark.parametrize("n,k,s,p,d", [(32, 3, 1, 0, 1), (32, 3, 1, 1, 1), (32, 3, 1, 2, 2), (32, 7, 2, 3, 1), (31, 3, 2, 1, 1)])
def test_conv_output_size_matches_torch(n, k, s, p, d):
    out = F.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k), stride=s, padding=p, dilation=d).shape[-1]
    assert convolution.conv_output_size(n, k, s=s, p=p, d=d) == out


@pytest.mark.parametrize("n,k,s,p,op", [(32, 3, 2, 1, 0), (32, 3, 2, 1, 1), (16, 4, 2, 1, 0), (5, 2, 2, 0, 1)])
def test_transposed_output_size_matches_torch(n, k, s, p, op):
    out = torch.nn.ConvTranspose2d(1, 1, k, stride=s, padding=p, output_padding=op)(torch.zeros(1, 1, n, n)).shape[-1]
    assert convolution.transposed_output_size(n, k, s=s, p=p, output_padding=op) == out


def test_receptive_field_of_common_stacks():
    assert convolution.receptive_field([]) == 1
    assert convolution.receptive_field([(3, 1), (3, 1)]) == 5
    assert convolution.receptive_field([(3, 1), (2, 2), (3, 1), (2, 2), (3, 1)]) == 18


def test_bad_arguments_name_the_fix():
    with pytest.raises(ValueError, match="does not fit"):
        convolution.conv_output_size(2, 5)
    with pytest.raises(ValueError, match="s="):
        convolution.conv_output_size(8, 3, s=0)
    with pytest.raises(ValueError, match="output_padding"):
        convolution.transposed_output_size(8, 3, s=2, output_padding=2)
    with pytest.raises(ValueError, match="pair"):
        convolution.receptive_field([(3, 1, 1)])
