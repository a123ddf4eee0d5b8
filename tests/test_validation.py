"""course_lib.validation: each check accepts good values and returns them, and rejects bad ones naming the argument."""

import math

import numpy as np
import pytest

from course_lib.validation import check_choice, check_fraction, check_int, check_optional, check_positive


# ------------------------------------------------------------------------------------------------- check_choice
def test_check_choice_returns_a_valid_value():
    assert check_choice("mode", "linear", ("linear", "gaussian")) == "linear"
    assert check_choice("weights", None, ("imagenet", None)) is None


def test_check_choice_lists_the_choices():
    with pytest.raises(ValueError, match=r"mode='cosine' is not valid; use one of 'linear', 'gaussian'"):
        check_choice("mode", "cosine", ("linear", "gaussian"))


# ------------------------------------------------------------------------------------------------- check_int
@pytest.mark.parametrize("value", [1, 7, np.int64(3), np.uint8(2)])
def test_check_int_returns_a_plain_int(value):
    out = check_int("epochs", value)
    assert out == value and type(out) is int


def test_check_int_bounds():
    assert check_int("padding", 0, minimum=0) == 0
    assert check_int("depth", 6, maximum=6) == 6
    assert check_int("seed", None, allow_none=True) is None
    with pytest.raises(ValueError, match=r"depth=7 is too large; use at most 6"):
        check_int("depth", 7, maximum=6)
    with pytest.raises(ValueError, match=r"padding=-1 must be an int >= 0"):
        check_int("padding", -1, minimum=0)


@pytest.mark.parametrize("value", [0, -3, True, False, 2.0, 1.5, "3", None, math.nan, math.inf, np.float64(2)])
def test_check_int_rejects_non_positive_and_non_ints(value):
    with pytest.raises(ValueError, match=r"^epochs=.* must be a positive int, e.g. epochs=1\."):
        check_int("epochs", value)


# ------------------------------------------------------------------------------------------------- check_positive
@pytest.mark.parametrize("value", [1, 0.5, 1e-9, np.float32(2.5), np.int64(4)])
def test_check_positive_returns_the_value(value):
    assert check_positive("lr", value) == value


def test_check_positive_options():
    assert check_positive("lr", None, allow_none=True) is None
    assert check_positive("steps", 3, integer=True) == 3
    with pytest.raises(ValueError, match="steps=2.5 must be a positive int"):
        check_positive("steps", 2.5, integer=True)


@pytest.mark.parametrize("value", [0, -1.0, True, math.nan, math.inf, -math.inf, "1", None, np.nan])
def test_check_positive_rejects_bad_values(value):
    with pytest.raises(ValueError, match=r"^lr=.* must be a positive number"):
        check_positive("lr", value)


# ------------------------------------------------------------------------------------------------- check_fraction
@pytest.mark.parametrize("value", [0, 0.25, 1, np.float32(0.5)])
def test_check_fraction_returns_a_float(value):
    out = check_fraction("alpha", value)
    assert out == pytest.approx(float(value)) and type(out) is float


def test_check_fraction_open_ends():
    assert check_fraction("p", 0.5, low_open=True, high_open=True) == 0.5
    with pytest.raises(ValueError, match=r"p=0 must be in \(0, 1\]"):
        check_fraction("p", 0, low_open=True)
    with pytest.raises(ValueError, match=r"p=1 must be in \[0, 1\)"):
        check_fraction("p", 1, high_open=True)


@pytest.mark.parametrize("value", [-0.1, 1.1, True, False, math.nan, math.inf, -math.inf, "0.5", None])
def test_check_fraction_rejects_bad_values(value):
    with pytest.raises(ValueError, match=r"^alpha=.* must be (in|a number between)"):
        check_fraction("alpha", value)


# ------------------------------------------------------------------------------------------------- check_optional
def test_check_optional_passes_none_and_checks_the_rest():
    assert check_optional(check_int, "max_side", None, minimum=3) is None
    assert check_optional(check_int, "max_side", 5, minimum=3) == 5
    assert check_optional(check_fraction, "momentum", 0.1, low_open=True) == 0.1
    with pytest.raises(ValueError, match="max_side=2"):
        check_optional(check_int, "max_side", 2, minimum=3)
    with pytest.raises(ValueError, match="momentum=True"):
        check_optional(check_fraction, "momentum", True)
