"""``python -m course_tools``, and ``python -m course_lib`` forwarding the commands that moved there."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from course_lib.__main__ import MOVED_COMMANDS
from course_lib.__main__ import main as lib_main
from course_tools.__main__ import COMMANDS
from course_tools.__main__ import main as tools_main

ROOT = Path(__file__).resolve().parents[2]


def test_course_lib_forwards_exactly_the_commands_course_tools_has():
    assert sorted(MOVED_COMMANDS) == sorted(COMMANDS)


def test_help_lists_the_maintainer_commands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        tools_main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert all(command in out for command in COMMANDS), out


def test_course_lib_help_keeps_the_learner_commands_and_names_course_tools():
    run = subprocess.run([sys.executable, "-m", "course_lib", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "{doctor,download,lab}" in run.stdout and "python -m course_tools" in run.stdout


@pytest.mark.parametrize("argv", [["timings"], ["--root", str(ROOT), "timings"], [f"--root={ROOT}", "timings"]])
def test_a_moved_command_prints_its_new_form_on_one_line_then_runs(argv, capsys):
    assert lib_main(argv) == 0
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines() == [f"note: this command moved; run: python -m course_tools {' '.join(argv)}"]
    assert "teaching" in captured.out


def test_a_moved_command_keeps_its_exit_status(capsys):
    assert lib_main(["make-checkpoints", "nope"]) == 2
    assert "choose from" in capsys.readouterr().out


def test_course_tools_timings_as_a_subprocess():
    run = subprocess.run([sys.executable, "-m", "course_tools", "timings"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and "teaching" in run.stdout and not run.stderr, run.stderr
