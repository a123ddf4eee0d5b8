import math

import pytest

from course_lib.reporting import parse_quality, report_quality


def test_round_trip(capsys):
    report_quality("unet.test_dice", 0.8123456, note="lesion class")
    report_quality("x", float("nan"))
    got = parse_quality(capsys.readouterr().out)
    assert got["unet.test_dice"] == pytest.approx(0.8123) and math.isnan(got["x"])


def test_bad_name():
    with pytest.raises(ValueError, match="one word"):
        report_quality("two words", 1.0)
