import numpy as np
import pytest
import torch

from course_lib.checks import Case, Status, compare, describe, run_cases


def square(x):
    return x * x


CASES = [Case((torch.tensor([1.0, 2.0]),), expected=torch.tensor([1.0, 4.0]), description="visible"),
         Case((torch.tensor([3.0]),), expected=torch.tensor([9.0]), hidden=True)]


def test_passes_correct_function(capsys):
    result = run_cases("square", square, CASES)
    assert result.status == Status.PASSED and result.ok and result.passed == 2
    assert "PASSED [square]" in capsys.readouterr().out
    assert "1 visible, 1 hidden" in result.message


def test_not_done_for_stub():
    def stub(x):
        raise NotImplementedError()

    result = run_cases("square", stub, CASES)
    assert result.status == Status.NOT_DONE and not result.ok
    assert "NOT DONE [square]" in result.message and "YOUR CODE HERE" in result.message


def test_wrong_values_explained_with_hint():
    result = run_cases("square", lambda x: x + x, CASES, hint="multiply, do not add")
    assert result.status == Status.FAILED and result.passed == 0
    assert "values differ" in result.message and "index (0,): got 2.0, expected 1.0" in result.message
    assert "hint:     multiply, do not add" in result.message
    assert "expected: tensor shape 2" in result.message


def test_wrong_shape_dtype_and_type_are_named():
    assert "shape (1, 2)" in run_cases("s", lambda x: (x * x)[None], CASES).message
    assert "dtype torch.float64" in run_cases("s", lambda x: (x * x).double(), CASES).message
    assert "numpy.ndarray" not in run_cases("s", lambda x: (x * x).numpy(), CASES).message.split("problem:")[0]
    assert "should be a torch.Tensor, but it is a ndarray" in run_cases("s", lambda x: (x * x).numpy(), CASES).message


def test_exception_in_learner_code_is_reported_not_raised():
    def broken(x):
        return x.no_such_method()

    result = run_cases("square", broken, CASES)
    assert result.status == Status.FAILED
    assert "AttributeError" in result.message and "no_such_method" in result.message


def test_hidden_case_failure_says_hidden():
    result = run_cases("square", lambda x: x * x if len(x) == 2 else x, CASES)
    assert result.passed == 1 and "case 2 of 2 (hidden)" in result.message


def test_non_callable_is_reported():
    result = run_cases("square", 42, CASES)
    assert result.status == Status.ERROR and "without calling it" in result.message


def test_learner_cannot_mutate_cases():
    def mutating(x):
        x.mul_(x)
        return x

    assert run_cases("square", mutating, CASES).ok
    assert CASES[0].args[0].tolist() == [1.0, 2.0]


@pytest.mark.parametrize(
    "expected, got, fragment",
    [
        (1.5, 1.6, "expected 1.5"),
        (1.5, torch.tensor(1.5), ".item()"),
        (3, 3.5, "whole number"),
        (True, 1, "bool"),
        ([1, 2], [1], "1 items, expected 2"),
        ({"a": 1}, {"b": 1}, "keys"),
        (np.zeros(2), np.ones(2), "values differ"),
        (float("nan"), 1.0, "NaN"),
    ],
)
def test_compare_explains(expected, got, fragment):
    assert fragment in compare(expected, got)


def test_compare_accepts_matches():
    assert compare(1.0, 1.0 + 1e-9) is None
    assert compare(float("nan"), float("nan")) is None
    assert compare(torch.tensor([1.0, float("nan")]), torch.tensor([1.0, float("nan")])) is None
    assert compare({"a": [1, 2]}, {"a": [1, 2]}) is None


def test_describe_is_informative():
    text = describe(torch.tensor([[0, 3], [1, 2]]))
    assert "shape 2×2" in text and "torch.int64" in text and "max 3" in text
    assert "3 True of 4" in describe(np.array([True, True, True, False]))
    assert describe(None) == "None"
