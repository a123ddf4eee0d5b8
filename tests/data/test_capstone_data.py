"""``data.load_capstone``: the real dataset when it can be had, else the same splits of a synthetic stand-in."""

from __future__ import annotations

import pytest

from course_lib import data


def test_the_real_dataset_is_used_when_the_mirror_has_it(mirror_env):
    got = data.load_capstone("drive", "synthetic-lesions", options={"cache": True})
    assert got.real and got.name == "drive" and "real 'drive'" in got.message
    assert (len(got.train), len(got.val), len(got.test)) == (14, 3, 3)
    image, target = got.test[0]
    assert image.shape == (3, 584, 565) and set(target.unique().tolist()) <= {0, 1, 255}


def test_offline_the_stand_in_runs_and_the_message_says_how_to_get_the_data(empty_cache, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(empty_cache / "no-mirror-here"))
    got = data.load_capstone("camvid", "synthetic-streets", options={"size": (180, 240)}, standin_options={"size": (48, 64)},
                             standin_sizes=(4, 2, 3))
    assert not got.real and got.name == "synthetic-streets"
    assert "python -m course_lib download camvid" in got.message and "\n" not in got.message
    assert (len(got.train), len(got.val), len(got.test)) == (4, 2, 3)
    image, target = got.train[0]
    assert image.shape == (3, 48, 64) and target.shape == (48, 64)


@pytest.mark.parametrize("name, standin, message", [
    ("synthetic-streets", "synthetic-streets", "name="),
    ("camvid", "drive", "standin="),
    ("cityscapes", "synthetic-streets", "name="),
])
def test_bad_names_are_refused(name, standin, message):
    with pytest.raises(ValueError, match=message):
        data.load_capstone(name, standin)
