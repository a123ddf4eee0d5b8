import itertools
import math
import random

import numpy as np
import pytest
import torch

from course_lib import tuning
from course_lib.checks import EXERCISES, Status, check, exercises_for
from course_lib.checks.tuning import (
    best_so_far_reference,
    grid_configs_reference,
    sample_log_uniform_reference,
    suggest_lr_reference,
)
from course_lib.checks.tuning.suggest_lr import _lr_curve

IDS = ["suggest-lr", "sample-log-uniform", "grid-configs", "best-so-far"]


def test_lesson_has_its_exercises_in_order():
    assert [e.id for e in exercises_for("07_hyperparameters")] == IDS


# ---- references agree with course_lib and with their definitions -----------------------------------------------
def test_sampler_reference_is_log_uniform_seeded_and_in_range():
    a = sample_log_uniform_reference(1e-5, 1.0, 5000, 0)
    assert a == sample_log_uniform_reference(1e-5, 1.0, 5000, 0) != sample_log_uniform_reference(1e-5, 1.0, 5000, 1)
    assert all(1e-5 <= v <= 1.0 for v in a)
    per_decade = np.histogram(np.log10(a), bins=5, range=(-5, 0))[0] / len(a)
    assert np.all(np.abs(per_decade - 0.2) < 0.03)


def test_grid_reference_matches_itertools_product():
    options = {"lr": [0.1, 0.01], "bs": [8, 16, 32]}
    got = grid_configs_reference(options)
    assert got == [{"lr": lr, "bs": bs} for lr, bs in itertools.product(options["lr"], options["bs"])]


def test_best_so_far_and_suggest_lr_references_agree_with_course_lib():
    rng = random.Random(0)
    for _ in range(20):
        values = [None if rng.random() < 0.2 else rng.random() for _ in range(rng.randint(0, 12))]
        for direction in ("maximize", "minimize"):
            assert best_so_far_reference(values, direction) == tuning.best_so_far(values, direction)
    for seed in range(10):
        lrs, losses = _lr_curve(seed, 60)
        assert suggest_lr_reference(lrs, losses) == tuning.suggest_lr(lrs, losses)
        lowest = losses.index(min(losses))
        assert lrs[0] <= suggest_lr_reference(lrs, losses) < lrs[lowest]


# ---- the references pass, a stub is NOT DONE (also in test_registry.py, here with the printed text) -------------
def test_references_pass_and_stubs_are_not_done(capsys):
    refs = [suggest_lr_reference, sample_log_uniform_reference, grid_configs_reference, best_so_far_reference]
    for ex, ref in zip(IDS, refs):
        assert check(ex, ref).status == Status.PASSED

    def stub(*args, **kwargs):
        raise NotImplementedError()

    for ex in IDS:
        assert check(ex, stub).status == Status.NOT_DONE
    out = capsys.readouterr().out
    assert out.count("PASSED") == 4 and out.count("NOT DONE") == 4


def test_natural_log_version_of_the_sampler_also_passes(capsys):
    def with_exp(low, high, n, seed):
        rng = random.Random(seed)
        return [math.exp(rng.uniform(math.log(low), math.log(high))) for _ in range(n)]

    assert check("sample-log-uniform", with_exp).status == Status.PASSED


# ---- typical mistakes fail with a helpful message ----------------------------------------------------------------
def test_sampler_mistakes(capsys, first_failure):
    def linear(low, high, n, seed):
        rng = random.Random(seed)
        return [rng.uniform(low, high) for _ in range(n)]

    def unseeded(low, high, n, seed):
        return [10 ** random.uniform(math.log10(low), math.log10(high)) for _ in range(n)]

    def exponent_only(low, high, n, seed):
        rng = random.Random(seed)
        return [rng.uniform(math.log10(low), math.log10(high)) for _ in range(n)]

    def as_tensor(low, high, n, seed):
        return torch.tensor(sample_log_uniform_reference(low, high, n, seed))

    def numpy_generator(low, high, n, seed):
        rng = np.random.default_rng(seed)
        return [float(10 ** rng.uniform(math.log10(low), math.log10(high))) for _ in range(n)]

    def natural_exponent_only(low, high, n, seed):
        rng = random.Random(seed)
        return [rng.uniform(math.log(low), math.log(high)) for _ in range(n)]

    r = first_failure("sample-log-uniform", linear, "the value drawn uniformly, not its exponent")
    assert "upper half" in r.message and "exponent" in r.message
    r = first_failure("sample-log-uniform", unseeded, "not drawn from random.Random(seed)")
    assert "unseeded" in r.message
    first_failure("sample-log-uniform", numpy_generator, "not drawn from random.Random(seed)")
    r = first_failure("sample-log-uniform", exponent_only, "the exponent, not the value")
    assert "outside" in r.message
    first_failure("sample-log-uniform", natural_exponent_only, "the exponent, not the value")
    r = check("sample-log-uniform", as_tensor)
    assert r.status == Status.FAILED and "list of floats" in r.message


def test_grid_mistakes(capsys, first_failure):
    def zipped(options):
        return [dict(zip(options, combo)) for combo in zip(*options.values())]

    def tuples(options):
        return list(itertools.product(*options.values()))

    def reversed_order(options):
        names = list(options)[::-1]
        return [dict(zip(names, combo)) for combo in itertools.product(*[options[k] for k in names])]

    def lists(options):
        return [list(combo) for combo in itertools.product(*options.values())]

    def sorted_values(options):
        names = list(options)
        return [dict(zip(names, combo)) for combo in itertools.product(*[sorted(v) for v in options.values()])]

    r = first_failure("grid-configs", zipped, "zip instead of every combination")
    assert "shortest" in r.message
    r = first_failure("grid-configs", tuples, "tuples without the names")
    assert "dict" in r.message
    first_failure("grid-configs", lists, "tuples without the names")
    r = first_failure("grid-configs", reversed_order, "combinations in another order")
    assert "slowest" in r.message
    first_failure("grid-configs", sorted_values, "combinations in another order")


def test_best_so_far_mistakes(capsys, first_failure):
    def always_max(values, direction="maximize"):
        out, best = [], None
        for v in values:
            if v is not None:
                best = v if best is None else max(best, v)
            out.append(best)
        return out

    def crashes_on_none(values, direction="maximize"):
        out = []
        for v in values:
            out.append(v if not out else (max(out[-1], v) if direction == "maximize" else min(out[-1], v)))
        return out

    def skips_none(values, direction="maximize"):
        return best_so_far_reference([v for v in values if v is not None], direction)

    def starts_at_zero(values, direction="maximize"):
        best, out = 0, []
        for v in values:
            if v is not None:
                best = max(best, v) if direction == "maximize" else min(best, v)
            out.append(best)
        return out

    r = first_failure("best-so-far", always_max, "the direction ignored")
    assert "SMALLEST" in r.message
    r = check("best-so-far", crashes_on_none)
    assert r.status == Status.FAILED and "TypeError" in r.message and "None" in r.message
    r = first_failure("best-so-far", skips_none, "pruned trials left out")
    assert "every trial an entry" in r.message
    first_failure("best-so-far", starts_at_zero, "the best started at 0")


def test_suggest_lr_mistakes(capsys, first_failure):
    def lowest_loss(lrs, losses):
        return lrs[losses.index(min(losses))]

    def segment_end(lrs, losses):
        i = lrs.index(suggest_lr_reference(lrs, losses))
        return lrs[i + 1]

    def whole_curve(lrs, losses):
        slopes = [(losses[i + 1] - losses[i]) / (math.log10(lrs[i + 1]) - math.log10(lrs[i])) for i in range(len(lrs) - 1)]
        return lrs[slopes.index(min(slopes))]

    def linear_slope(lrs, losses):
        lowest = losses.index(min(losses))
        slopes = [(losses[i + 1] - losses[i]) / (lrs[i + 1] - lrs[i]) for i in range(max(lowest, 1))]
        return lrs[slopes.index(min(slopes))]

    r = first_failure("suggest-lr", lowest_loss, "the LR of the lowest loss")
    assert "lowest" in r.message
    r = first_failure("suggest-lr", segment_end, "the end of the steepest segment")
    assert "at its start" in r.message
    r = first_failure("suggest-lr", whole_curve, "looked past the minimum")
    assert "before the lowest loss" in r.message
    r = first_failure("suggest-lr", linear_slope, "slope per unit of LR, not per decade")
    assert "log10(lr)" in r.message


# ---- a first failure names the mistake and shows only the idea of the hint ----------------------------
@pytest.mark.parametrize("exercise, mistake", [
    ("suggest-lr", "the LR of the lowest loss"),
    ("sample-log-uniform", "the value drawn uniformly, not its exponent"),
    ("grid-configs", "zip instead of every combination"),
    ("best-so-far", "the direction ignored"),
])
def test_first_failure_names_the_mistake_and_shows_only_the_idea(capsys, first_failure, exercise, mistake):
    wrong = next(m.wrong for m in EXERCISES[exercise].mistakes if m.name == mistake)
    first_failure(exercise, wrong, mistake)
