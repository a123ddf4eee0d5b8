"""Lesson text never states a figure that the learner's run computes: those are printed from the run.

Figures differ between machines, thread counts and devices (GPU training is not bit-reproducible), so a
score typed into markdown is wrong for some learner. Every decimal score or percentage in the lessons'
markdown (outside the review questions and instructors' answers) must be listed here with the reason it
is not a run's result: a definition, a setting, arithmetic the text derives, or a cited published figure.
"""

from __future__ import annotations

import json
import re

import pytest

from course_tools.authoring import MD_BEGIN
from course_lib.config import repo_root

ROOT = repo_root()
FIGURE = re.compile(r"(?<![\w.\-/])(?:0\.\d{2,}|\d{1,3}(?:\.\d+)?\s?%)(?!\w)")

ALLOWED: dict[tuple[str, str], tuple[set[str], str]] = {
    ("01_cnn_foundations", "c056"): ({"25 %"}, "chance level for four classes (arithmetic)"),
    ("03_metrics_losses", "c030"): ({"0.67"}, "IoU 0.5 is Dice 0.67 (the formula)"),
    ("03_metrics_losses", "c045"): ({"5%"}, "definition of the 95th percentile"),
    ("03_metrics_losses", "c058"): ({"0.75", "0.25"}, "focal-loss α setting; Lin et al. 2017's published α"),
    ("03_metrics_losses", "c064"): ({"0.02"}, "sigmoid(−4), the constructed model's probability"),
    ("03_metrics_losses", "c071"): ({"0.75"}, "the α setting"),
    ("03_metrics_losses", "c072"): ({"98 %", "2 %"}, "worked example of 1 − f"),
    ("04_unet", "c041"): ({"0.02"}, "the noise threshold the notebook's own verdict uses"),
    ("04_unet", "keras-table"): ({"0.99", "0.01", "0.004"}, "library defaults (BatchNorm momentum, weight decay)"),
    ("05_architectures", "c016"): ({"0.01"}, "the learning-rate setting"),
    ("06_instances", "c026"): ({"0.05"}, "the score-threshold setting"),
    ("07_hyperparameters", "c008"): ({"0.01"}, "the default learning rate"),
    ("07_hyperparameters", "c020"): ({"0.001", "0.01"}, "example learning rates for the log scale"),
    ("07_hyperparameters", "c035"): ({"0.82", "0.87", "0.858", "0.72", "0.78", "0.861"},
                                     "the course authors' five-seed study, attributed as such; not this run's result"),
    ("08_transfer", "c010"): ({"0.485", "0.456", "0.406", "0.229", "0.224", "0.225"}, "ImageNet's channel statistics"),
    ("08_transfer", "c030"): ({"0.01"}, "EfficientNet's BatchNorm momentum (a library setting)"),
    ("09_capstone_medical", "c050"): ({"0.01", "0.02", "0.99"}, "the candidate thresholds"),
    ("09_capstone_medical", "c056"): ({"0.79", "0.81", "0.83"}, "published: second observer and deep models on DRIVE"),
    ("09_capstone_medical", "c073"): ({"0.25"}, "a MONAI argument in a code example"),
    ("10_capstone_driving", "c033"): ({"100%"}, "rows normalised to 100% (definition)"),
    ("10_capstone_driving", "c038"): ({"0.741"}, "published: the smp CamVid example's figure"),
    ("10_capstone_driving", "c051"): ({"0.669"}, "published: FC-DenseNet103 (Jégou et al., 2017)"),
    ("11_beyond_cnns", "click-protocol"): ({"0.85"}, "NoC@85's IoU target (definition)"),
}


def _prose(lesson: str) -> list[tuple[str, str]]:
    nb = json.loads((ROOT / "solutions" / f"{lesson}.ipynb").read_text())
    out = []
    for cell in nb["cells"]:
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and MD_BEGIN not in text:
            out.append((cell.get("id", ""), text.split("## Review questions")[0]))
    return out


@pytest.mark.parametrize("lesson", sorted(p.stem for p in (ROOT / "solutions").glob("[0-9][0-9]_*.ipynb")))
def test_lesson_text_states_no_figure_a_run_computes(lesson):
    for cell_id, text in _prose(lesson):
        found = {m.group() for m in FIGURE.finditer(text)}
        allowed = ALLOWED.get((lesson, cell_id), (set(), ""))[0]
        extra = found - allowed
        assert not extra, (
            f"{lesson} cell {cell_id} states {sorted(extra)}. If the run computes it, print it from the run's "
            f"variables instead; if it is a definition, setting or cited figure, add it to ALLOWED with the reason.")


def test_the_allowed_list_has_no_stale_entries():
    for (lesson, cell_id), (figures, reason) in ALLOWED.items():
        text = dict(_prose(lesson)).get(cell_id)
        assert text is not None, f"{lesson} has no markdown cell {cell_id} any more"
        assert figures <= {m.group() for m in FIGURE.finditer(text)}, f"{lesson} {cell_id}: remove what is gone"
        assert reason


def test_the_pattern_catches_scores_and_shares():
    assert {m.group() for m in FIGURE.finditer("Dice 0.436 vs 0.428, accuracy 98 % and 2% — lr 1e-3, v0.26")} == {
        "0.436", "0.428", "98 %", "2%"}
