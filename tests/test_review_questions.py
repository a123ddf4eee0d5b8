"""Every lesson ends with review questions, and every question has an answer an instructor can read."""

from __future__ import annotations

import json
import re

import pytest

from course_tools.authoring import MD_BEGIN, MD_END, MD_STUB
from course_lib.config import repo_root

ROOT = repo_root()
LESSONS = sorted(p.stem for p in (ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
_ITEM = re.compile(r"^\s*(\d+)\.\s+\S", re.MULTILINE)


def _markdown(folder: str, lesson: str) -> list[str]:
    nb = json.loads((ROOT / folder / f"{lesson}.ipynb").read_text())
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]


def _questions(cells: list[str]) -> list[int]:
    for text in cells:
        if "## Review questions" in text:
            part = text.split("## Review questions", 1)[1]
            return [int(n) for n in _ITEM.findall(part.split("\n## ", 1)[0])]
    return []


def _answers(cells: list[str]) -> list[int]:
    for text in cells:
        if MD_BEGIN in text and re.search(r"(?i)answers", text.split(MD_BEGIN, 1)[0] + text.split(MD_BEGIN, 1)[1][:80]):
            block = text.split(MD_BEGIN, 1)[1].split(MD_END, 1)[0]
            return [int(n) for n in _ITEM.findall(block)]
    return []


@pytest.mark.parametrize("lesson", LESSONS)
def test_review_questions_each_with_an_instructor_answer(lesson):
    cells = _markdown("solutions", lesson)
    questions = _questions(cells)
    assert len(questions) >= 3, f"{lesson}: add a '## Review questions' section with at least 3 numbered questions"
    assert questions == list(range(1, len(questions) + 1)), f"{lesson}: questions are numbered {questions}"
    answers = _answers(cells)
    assert answers == questions, f"{lesson}: {len(questions)} questions but answers numbered {answers} (inside {MD_BEGIN} … {MD_END})"


@pytest.mark.parametrize("lesson", LESSONS)
def test_learners_get_the_questions_without_the_answers(lesson):
    cells = _markdown("notebooks", lesson)
    assert _questions(cells) == _questions(_markdown("solutions", lesson))
    assert not _answers(cells) and any(MD_STUB in text for text in cells), f"{lesson}: the learner copy shows the answers"
