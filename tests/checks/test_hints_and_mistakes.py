"""Every exercise teaches in steps (idea, nudge, code) and names at least two typical mistakes."""

from __future__ import annotations

import inspect
import json
import re

import pytest

from course_tools.authoring import BEGIN, END
from course_lib.checks import EXERCISES, HINT_LEVELS, Case, Mistake, Status, check, exercises_for, hint, reset_hints, run_cases
from course_lib.checks.registry import register
from course_lib.config import repo_root

IDS = [e.id for e in exercises_for()]


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text.replace("`", ""))


def _solution_lines(exercise_id: str) -> list[str]:
    """The code lines of an exercise's answer: its reference function and the solution notebook's marked block."""
    ex = EXERCISES[exercise_id]
    lines = inspect.getsource(ex.reference).splitlines()[1:]  # without the def line
    nb = json.loads((repo_root() / "solutions" / f"{ex.lesson}.ipynb").read_text())
    for cell in nb["cells"]:
        src = "".join(cell["source"])
        defines = f"def {ex.function_name}(" in src or f"class {ex.function_name}(" in src
        if cell["cell_type"] == "code" and defines and BEGIN in src:
            inside = False
            for line in src.splitlines():
                if line.strip() in (BEGIN, END):
                    inside = line.strip() == BEGIN
                elif inside:
                    lines.append(line)
    code = []
    for line in lines:
        s = line.split("#")[0].strip()
        if len(_norm(s)) >= 12 and not s.startswith(('"""', "'''", "def ", "@")):
            code.append(s)
    return code


@pytest.mark.parametrize("exercise", IDS)
def test_three_hint_steps_and_the_idea_gives_no_code(exercise):
    ex = EXERCISES[exercise]
    assert len(ex.hints) == len(HINT_LEVELS) and len(set(ex.hints)) == len(HINT_LEVELS), ex.id
    idea = ex.hints[0]
    assert "`" not in idea, f"{ex.id}: the idea (step 1) should be plain words, without code spans"
    solution = _solution_lines(exercise)
    assert solution, f"{ex.id}: found no solution lines to compare with"
    for line in solution:
        assert _norm(line) not in _norm(idea), f"{ex.id}: step 1 of the hint contains the solution line {line!r}"


@pytest.mark.parametrize("exercise", IDS)
def test_at_least_two_typical_mistakes_each_recognised_by_name(exercise):
    ex = EXERCISES[exercise]
    assert len(ex.mistakes) >= 2, f"{ex.id} names {len(ex.mistakes)} mistake(s); name at least two"
    assert len({m.name for m in ex.mistakes}) == len(ex.mistakes), ex.id
    for mistake in ex.mistakes:
        result = check(exercise, mistake.wrong)
        assert result.status == Status.FAILED, f"{ex.id}: the mistake {mistake.name!r} passed the check"
        assert f"mistake:  {mistake.name}:" in result.message, (
            f"{ex.id}: the mistake {mistake.name!r} was not recognised; the check said:\n{result.message}")
    reset_hints(exercise)


def test_failed_tries_reveal_the_steps_in_order_and_hint_on_request(capsys):
    reset_hints()
    ex = EXERCISES["dice-score"]
    wrong = ex.mistakes[0].wrong
    seen = [check("dice-score", wrong).message for _ in range(4)]
    for step, message in zip([1, 2, 3, 3], seen):
        assert f"step {step} of 3" in message and ex.hints[step - 1] in message
    assert "checks.hint('dice-score')" in seen[0] and "checks.hint" not in seen[2]
    assert all(h not in seen[0] for h in ex.hints[1:]), "the first failure must show only the idea"
    reset_hints("dice-score")
    capsys.readouterr()
    hint("dice-score")
    hint("dice-score")
    out = capsys.readouterr().out
    assert "step 1 of 3" in out and "step 2 of 3" in out and ex.hints[2] not in out
    hint("dice-score", level=3)
    assert ex.hints[2] in capsys.readouterr().out
    with pytest.raises(ValueError, match="level=4"):
        hint("dice-score", level=4)
    reset_hints()


def test_passing_and_unfinished_checks_do_not_advance_the_hints():
    reset_hints()
    ex = EXERCISES["dice-score"]
    check("dice-score", ex.reference)

    def stub(*args, **kwargs):
        raise NotImplementedError()

    check("dice-score", stub)
    assert "step 1 of 3" in check("dice-score", ex.mistakes[0].wrong).message
    reset_hints()


def test_register_refuses_hints_that_are_not_three_steps():
    with pytest.raises(ValueError, match="hints= needs 3"):
        register("x-bad", lesson="00_welcome", title="t", hints=("only the idea",))
    with pytest.raises(ValueError, match="mistakes="):
        register("x-bad", lesson="00_welcome", title="t", hints=("a", "b", "c"), mistakes=("not a Mistake",))


def test_a_mistake_is_named_only_when_the_case_can_tell_it_from_the_answer():
    cases = [Case((2,), expected=4, description="2 squared"), Case((3,), expected=9, description="3 squared")]
    doubles = Mistake("doubled", lambda x: 2 * x, "square means x times x, not 2 times x")
    adds_one = Mistake("plus one", lambda x: x * x + 1, "no +1")
    # 2·2 == 2², so case 1 cannot tell; case 3 can.
    r = run_cases("sq", lambda x: x + x, cases, mistakes=[adds_one, doubles])
    assert r.status == Status.FAILED and "mistake:  doubled:" in r.message and "plus one" not in r.message
    r = run_cases("sq", lambda x: x ** 3, cases, mistakes=[adds_one, doubles])
    assert "mistake:" not in r.message  # an unknown wrong answer is not given a wrong name
    broken = Mistake("raises", lambda x: 1 / 0, "never matches")
    assert "mistake:" not in run_cases("sq", lambda x: x + 1, cases, mistakes=[broken]).message


def test_a_mistake_that_raises_is_named_by_the_same_error():
    cases = [Case(([1, 2],), expected=1.5, description="mean of [1, 2]"), Case(([],), expected=0.0, description="empty list")]
    no_empty_case = Mistake("empty list not handled", lambda xs: sum(xs) / len(xs), "an empty list has no mean; return 0.0")
    other = Mistake("wrong error", lambda xs: xs[5], "never this one")
    r = run_cases("mean", lambda xs: sum(xs) / len(xs), cases, mistakes=[other, no_empty_case])
    assert r.status == Status.FAILED and "ZeroDivisionError" in r.message
    assert "mistake:  empty list not handled:" in r.message and "wrong error" not in r.message
    r = run_cases("mean", lambda xs: xs[7] if not xs else sum(xs) / len(xs), cases, mistakes=[no_empty_case])
    assert "mistake:" not in r.message  # an IndexError is not the ZeroDivisionError of the named mistake
