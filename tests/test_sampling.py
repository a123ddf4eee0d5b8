"""course_lib.sampling: log-uniform draws for a search by hand."""

import math

import pytest

from course_lib import sampling


def test_log_uniform_draws_are_reproducible_in_range_and_even_per_decade():
    values = sampling.sample_log_uniform(1e-5, 1.0, 2000, seed=0)
    assert values == sampling.sample_log_uniform(1e-5, 1.0, 2000, seed=0)
    assert all(1e-5 <= v <= 1.0 for v in values)
    decades = [sum(10.0**k <= v < 10.0 ** (k + 1) for v in values) for k in range(-5, 0)]
    assert min(decades) > 300, decades
    assert math.isclose(sum(math.log10(v) for v in values) / len(values), -2.5, abs_tol=0.1)


def test_bad_ranges_are_refused():
    with pytest.raises(ValueError, match="smaller"):
        sampling.sample_log_uniform(1.0, 1e-3, 5)
    with pytest.raises(ValueError, match="low"):
        sampling.sample_log_uniform(0.0, 1.0, 5)
