import nbformat
import pytest

from course_tools import authoring
from course_tools.authoring import SolutionMarkerError, build_notebooks, check_notebooks, strip_solution

SOLVED = '''def f(x):
    """Double x."""
    ### BEGIN SOLUTION
    y = x * 2
    return y
    ### END SOLUTION
'''


def test_strip_keeps_indentation_and_signature():
    new, found, top = strip_solution(SOLVED)
    assert found and not top
    assert new == 'def f(x):\n    """Double x."""\n    # YOUR CODE HERE\n    raise NotImplementedError()\n'
    ns = {}
    exec(new, ns)
    with pytest.raises(NotImplementedError):
        ns["f"](1)


def test_top_level_stub_is_flagged():
    new, found, top = strip_solution("### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION")
    assert found and top and "answer" not in new


def test_markdown_answers():
    new, found, _ = strip_solution("Q?\n<!-- BEGIN SOLUTION -->\nBecause.\n<!-- END SOLUTION -->", markdown=True)
    assert found and "Because" not in new and "YOUR ANSWER HERE" in new


@pytest.mark.parametrize("source", ["### BEGIN SOLUTION\nx", "x\n### END SOLUTION", "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION"])
def test_unbalanced_markers_raise(source):
    with pytest.raises(SolutionMarkerError):
        strip_solution(source)


def _solution(tmp_path):
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell(SOLVED)
    code.outputs = [nbformat.v4.new_output("stream", text="out")]
    code.execution_count = 3
    top = nbformat.v4.new_code_cell("### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION")
    nb.cells = [nbformat.v4.new_markdown_cell("# T"), code, top]
    sol, out = tmp_path / "solutions", tmp_path / "notebooks"
    sol.mkdir()
    nbformat.write(nb, sol / "01_topic.ipynb")
    return sol, out


def test_build_strips_outputs_tags_cells_and_check_passes(tmp_path):
    sol, out = _solution(tmp_path)
    report = build_notebooks(sol, out)
    assert report.written == [str(out / "01_topic.ipynb")]
    nb = nbformat.read(out / "01_topic.ipynb", as_version=4)
    code, top = nb.cells[1], nb.cells[2]
    assert code.outputs == [] and code.execution_count is None
    assert code.metadata["tags"] == ["exercise"]
    assert top.metadata["tags"] == ["exercise", "raises-exception"]
    assert "y = x * 2" not in code.source
    # the solution itself still carries outputs, which --check reports
    problems = check_notebooks(sol, out)
    assert len(problems) == 1 and "carries outputs" in problems[0]
    authoring.clean_in_place([sol / "01_topic.ipynb"])
    build_notebooks(sol, out)
    assert check_notebooks(sol, out) == []


def test_check_detects_drift_missing_and_orphans(tmp_path):
    sol, out = _solution(tmp_path)
    authoring.clean_in_place([sol / "01_topic.ipynb"])
    assert "missing" in check_notebooks(sol, out)[0]
    build_notebooks(sol, out)
    nb = nbformat.read(out / "01_topic.ipynb", as_version=4)
    nb.cells[0].source = "# edited by hand"
    nbformat.write(nb, out / "01_topic.ipynb")
    (out / "02_orphan.ipynb").write_text(nbformat.writes(nbformat.v4.new_notebook()))
    problems = check_notebooks(sol, out)
    assert any("differs" in p for p in problems) and any("02_orphan" in p for p in problems)


def test_learner_edits_are_never_overwritten_without_force(tmp_path):
    sol, out = _solution(tmp_path)
    build_notebooks(sol, out)
    path = out / "01_topic.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].source = nb.cells[1].source.replace("# YOUR CODE HERE", "return x + x  # my answer")
    nbformat.write(nb, path)
    # the solution changes, so a rebuild would write a new file
    s = nbformat.read(sol / "01_topic.ipynb", as_version=4)
    s.cells[0].source = "# New title"
    nbformat.write(s, sol / "01_topic.ipynb")
    report = build_notebooks(sol, out)
    assert report.refused == [str(path)] and "my answer" in path.read_text()
    report = build_notebooks(sol, out, force=True)
    assert report.written == [str(path)] and "my answer" not in path.read_text()


def test_running_a_notebook_is_not_an_edit(tmp_path):
    sol, out = _solution(tmp_path)
    build_notebooks(sol, out)
    path = out / "01_topic.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="ran")]
    nbformat.write(nb, path)
    s = nbformat.read(sol / "01_topic.ipynb", as_version=4)
    s.cells[0].source = "# New title"
    nbformat.write(s, sol / "01_topic.ipynb")
    assert build_notebooks(sol, out).written == [str(path)]


def test_bad_names_are_refused(tmp_path):
    sol, out = _solution(tmp_path)
    with pytest.raises(ValueError, match="01_topic.ipynb"):
        build_notebooks(sol, out, names=["99_nope"])
    nbformat.write(nbformat.v4.new_notebook(), sol / "Bad Name.ipynb")
    with pytest.raises(ValueError, match="NN_topic"):
        build_notebooks(sol, out)
