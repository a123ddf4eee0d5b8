"""Repository-level promises: generated notebooks in sync, clean, and environment files that agree."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[; ]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_build_notebooks_check_passes():
    run = subprocess.run([sys.executable, "-m", "course_tools", "build-notebooks", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_every_lesson_has_both_twins_and_no_outputs():
    solutions = sorted(p.name for p in (ROOT / "solutions").glob("*.ipynb"))
    assert solutions and solutions[0] == "00_welcome.ipynb"
    assert solutions == sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    for folder in ("solutions", "notebooks"):
        for path in (ROOT / folder).glob("*.ipynb"):
            nb = nbformat.read(path, as_version=4)
            for cell in nb.cells:
                if cell.cell_type == "code":
                    assert cell.outputs == [] and cell.execution_count is None, f"{path} has outputs"


def test_environment_yml_lists_the_same_packages_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"]} | {_name(r) for r in project["optional-dependencies"]["test"]}
    text = (ROOT / "environment.yml").read_text()
    pip_block = text.split("- pip:", 1)[1]
    listed = {_name(line.strip()[2:]) for line in pip_block.splitlines() if line.strip().startswith("- ")}
    assert listed == wanted, f"only in pyproject: {sorted(wanted - listed)}; only in environment.yml: {sorted(listed - wanted)}"


def test_constraints_pin_every_dependency_inside_its_range():
    from packaging.requirements import Requirement

    pins = {}
    for line in (ROOT / "requirements" / "constraints.txt").read_text().splitlines():
        if "==" in line:
            name, version = line.split("==")
            pins[_name(name)] = version.strip()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for raw in project["dependencies"] + project["optional-dependencies"]["test"]:
        req = Requirement(raw)
        assert _name(req.name) in pins, f"{req.name} is not pinned in requirements/constraints.txt"
        assert req.specifier.contains(pins[_name(req.name)], prereleases=True), f"{req.name}=={pins[_name(req.name)]} is outside {req.specifier}"


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    assert "make test" in (ROOT / "README.md").read_text()[:3000]
    assert "make lab" in (ROOT / "README.md").read_text()[:3000]


def _all_modules() -> list[str]:
    """Every module of the two packages (walked, so a new module cannot be forgotten)."""
    import importlib
    import pkgutil

    names = []
    for package in ("course_lib", "course_tools"):
        names.append(package)
        names += [m.name for m in pkgutil.walk_packages(importlib.import_module(package).__path__, package + ".")]
    return sorted(names)


@pytest.mark.parametrize("module", _all_modules())
def test_modules_declare_all(module):
    import importlib

    mod = importlib.import_module(module)
    assert isinstance(mod.__all__, list) and mod.__all__
    for name in mod.__all__:
        if hasattr(mod, "__path__") and not hasattr(mod, name):  # a package's __all__ may name its sub-modules
            importlib.import_module(f"{module}.{name}")
        assert hasattr(mod, name), f"{module}.__all__ names {name} that does not exist"


def test_course_lib_imports_course_tools_only_in_its_command_line():
    """Learners import course_lib; the maintainer tools build on it, never the other way round."""
    offenders = [str(path.relative_to(ROOT)) for path in (ROOT / "course_lib").rglob("*.py")
                 if path.name != "__main__.py" or path.parent.name != "course_lib"
                 if re.search(r"^\s*(from|import)\s+course_tools\b", path.read_text(), re.MULTILINE)]
    assert offenders == [], f"course_lib modules import course_tools: {offenders}"


@pytest.mark.parametrize("folder", ["solutions", "notebooks"])
def test_lessons_continue_with_library_functions_not_exercise_answers(folder):
    """After an exercise a lesson uses course_lib's own functions; the checkers' ``*_reference`` answers stay in checks."""
    found = []
    for path in sorted((ROOT / folder).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            names = sorted(set(re.findall(r"\b\w+_reference\b", cell.source))) if cell.cell_type == "code" else []
            if names:
                found.append(f"{path.name} [{cell.get('id')}]: {', '.join(names)}")
    assert found == [], "cells that use an exercise's reference answer:\n" + "\n".join(found)
