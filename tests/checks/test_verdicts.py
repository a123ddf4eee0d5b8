from course_lib.checks import Status, cell_problems, parse_verdicts

PASS = "✅ PASSED [a]: all 3 cases (1 visible, 2 hidden).\n"
NOT_DONE = "⏳ NOT DONE [a]: `f` still raises NotImplementedError.\n"
FAIL = "❌ FAILED [a]: case 1 of 3 (visible).\n"


def test_parse_verdicts():
    assert parse_verdicts(PASS + FAIL) == [("a", Status.PASSED), ("a", Status.FAILED)]
    assert parse_verdicts("nothing here") == []


def test_solution_rules():
    assert cell_problems('check("a", f)', [], PASS, [], learner=False) == []
    assert cell_problems('check("a", f)', [], NOT_DONE, [], learner=False)
    assert cell_problems('check("a", f)', [], FAIL, [], learner=False)
    assert cell_problems('check("a", f)', [], "", [], learner=False)  # a check that printed nothing
    assert cell_problems("x = 1", [], "", ["NotImplementedError"], learner=False)


def test_learner_rules():
    assert cell_problems('check("a", f)', [], NOT_DONE, [], learner=True) == []
    assert cell_problems('check("a", f)', [], PASS, [], learner=True), "a stub must not pass"
    assert cell_problems("x = stub", ["exercise", "raises-exception"], "", ["NotImplementedError"], learner=True) == []
    assert cell_problems("x = stub", ["exercise", "raises-exception"], "", ["ValueError"], learner=True)
    assert cell_problems("x = stub", ["exercise", "raises-exception"], "", [], learner=True)


def test_expected_failure_demo():
    assert cell_problems('check("a", f)', ["expected-check-failure"], FAIL, [], learner=False) == []
    assert cell_problems('check("a", f)', ["expected-check-failure"], PASS, [], learner=True)
