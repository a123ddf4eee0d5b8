"""The floors of the lessons' headline figures (``course_tools.quality``), read by the repo-root conftest.py."""

import pytest


def test_load_floors_reads_one_table_per_notebook_and_rejects_non_numbers(tmp_path):
    from course_tools.quality import load_floors

    good = tmp_path / "f.toml"
    good.write_text('["04_unet"]\n"unet.test_dice" = 0.5\n["05_x"]\n"a.b" = 1\n')
    assert load_floors(good) == {"04_unet": {"unet.test_dice": 0.5}, "05_x": {"a.b": 1.0}}
    bad = tmp_path / "bad.toml"
    bad.write_text('["04_unet"]\n"unet.test_dice" = "high"\n')
    with pytest.raises(ValueError, match="must be a number"):
        load_floors(bad)


def test_floor_problems_names_low_nan_and_missing_figures():
    from course_tools.quality import floor_problems

    floors = {"a": 0.5, "b": 0.2, "c": 0.1}
    assert floor_problems(floors, {"a": 0.5, "b": 0.3, "c": 0.1}, complete=True) == []
    got = floor_problems(floors, {"a": 0.49, "b": float("nan")}, complete=False)
    assert len(got) == 2 and "a = 0.4900 is below its floor 0.5" in got[0] and "b = nan" in got[1]
    assert floor_problems(floors, {"a": 0.6, "b": 0.3}, complete=True) == ["QUALITY c was never printed (its floor is 0.1)."]


def test_the_repository_floors_file_names_real_notebooks():
    from pathlib import Path

    from course_tools.quality import load_floors

    root = Path(__file__).resolve().parents[2]
    floors = load_floors(root / "tests" / "quality_floors.toml")
    assert floors, "tests/quality_floors.toml has no floors"
    for stem in floors:
        assert (root / "solutions" / f"{stem}.ipynb").is_file(), f"floors for {stem!r}, but there is no solutions/{stem}.ipynb"


def test_a_ceiling_bounds_a_figure_where_lower_is_better(tmp_path):
    from course_tools.quality import Ceiling, floor_problems, load_floors

    path = tmp_path / "f.toml"
    path.write_text('["11_x"]\n"click.noc85" = { max = 4.0 }\n"click.iou_1" = 0.5\n')
    limits = load_floors(path)["11_x"]
    assert isinstance(limits["click.noc85"], Ceiling) and limits["click.noc85"] == 4.0
    assert not isinstance(limits["click.iou_1"], Ceiling)
    assert floor_problems(limits, {"click.noc85": 4.0, "click.iou_1": 0.5}, complete=True) == []
    got = floor_problems(limits, {"click.noc85": 4.5, "click.iou_1": 0.6}, complete=True)
    assert got == ["QUALITY click.noc85 = 4.5000 is above its ceiling 4.0 (tests/quality_floors.toml)."]
    assert "above its ceiling" in floor_problems(limits, {"click.noc85": float("nan")}, complete=False)[0]
    path.write_text('["11_x"]\n"click.noc85" = { min = 4.0 }\n')
    with pytest.raises(ValueError, match="max = number"):
        load_floors(path)
