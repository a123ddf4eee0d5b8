import io

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from course_lib import doctor


def test_requirements_come_from_the_project():
    python, reqs = doctor.requirements()
    names = {r.name.lower() for r in reqs}
    assert {"torch", "torchvision", "segmentation-models-pytorch"} <= names
    assert "3.11.0" in python or "3.12.0" in python


def test_package_findings_flag_missing_and_out_of_range():
    found = doctor.check_packages([Requirement("torch>=0.1"), Requirement("no-such-package-xyz>=1"), Requirement("torch<0.1")])
    assert [f.level for f in found] == ["ok", "fail", "warn"]
    assert "not installed" in found[1].detail and "make lab" in found[1].fix


def test_doctor_reads_the_bounds_of_pyproject():
    """The doctor's ranges are pyproject.toml's, even when the installed metadata of an editable install is stale."""
    import tomllib

    from course_lib.config import repo_root

    project = tomllib.loads((repo_root() / "pyproject.toml").read_text())["project"]
    python, reqs = doctor.requirements()
    assert str(python) == str(SpecifierSet(project["requires-python"]))
    assert sorted(map(str, reqs)) == sorted(str(Requirement(r)) for r in project["dependencies"])


def test_scikit_image_lower_bound_has_max_size_and_older_releases_fail(monkeypatch):
    import inspect

    import skimage.morphology
    from packaging.version import Version

    spec = next(r.specifier for r in doctor.requirements()[1] if r.name == "scikit-image")
    # lesson 00 calls remove_small_objects(max_size=...), added in scikit-image 0.26
    assert "max_size" in inspect.signature(skimage.morphology.remove_small_objects).parameters
    assert Version("0.26.0") in spec and Version("0.25.2") not in spec, f"scikit-image range {spec} must start at 0.26"
    monkeypatch.setattr(doctor.md, "version", lambda name: "0.25.2")
    found = doctor.check_packages([Requirement(f"scikit-image{spec}")])
    assert found[0].level == "fail" and "older than the course needs" in found[0].detail
    monkeypatch.setattr(doctor.md, "version", lambda name: "0.27.0")
    assert doctor.check_packages([Requirement(f"scikit-image{spec}")])[0].level == "warn", "newer than tested: a warning"


def test_python_outside_range_fails():
    assert doctor.check_python(SpecifierSet("<3.0")).level == "fail"


def test_benchmark_measures_something():
    speed = doctor.benchmark(seconds=0.5)
    assert 1 < speed < 1e6


def test_unwritable_cache_is_a_failure(monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("COURSE_DATA_DIR", str(blocker / "sub"))
    f = doctor.check_data_cache()
    assert f.level == "fail" and "COURSE_DATA_DIR" in f.fix


def test_run_doctor_verdict(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    out = io.StringIO()
    code = doctor.run_doctor(quick=True, stream=out)
    text = out.getvalue()
    assert code == 0, text
    assert text.strip().splitlines()[-1].startswith("VERDICT: READY")
    monkeypatch.setenv("COURSE_DEVICE", "nonsense")
    out = io.StringIO()
    assert doctor.run_doctor(quick=True, stream=out) == 1
    assert "NOT READY" in out.getvalue().splitlines()[-1]


def fake_drive(cache, numbers=(21, 22)):
    """Empty files in DRIVE's original layout: enough for the cache to count them as samples."""
    part = cache / "drive" / "training"
    for sub in ("images", "1st_manual", "mask"):
        (part / sub).mkdir(parents=True, exist_ok=True)
    for n in numbers:
        for path in (f"images/{n}_training.tif", f"1st_manual/{n}_manual1.gif", f"mask/{n}_training_mask.gif"):
            (part / path).touch()


def test_workshop_data_missing_is_a_warning_with_the_download_command(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    found = {f.what.split()[0]: f for f in doctor.check_workshop_data()}
    assert list(found) == ["drive", "isbi2012", "camvid"]
    assert found["drive"].level == found["camvid"].level == "warn"
    assert "09_capstone_medical" in found["drive"].what and "10_capstone_driving" in found["camvid"].what
    assert "synthetic stand-in" in found["drive"].detail and str(tmp_path / "camvid") in found["camvid"].detail
    assert found["isbi2012"].level == "ok" and "optional" in found["isbi2012"].what
    assert "python -m course_lib download isbi2012" in found["isbi2012"].detail
    fixes = [f.fix for f in found.values() if f.fix]
    assert fixes == ["python -m course_lib download drive camvid   (online, or with COURSE_DATA_MIRROR set to a folder holding the data)"]


def test_workshop_data_counts_cached_samples_and_spots_interrupted_downloads(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    fake_drive(tmp_path)
    (tmp_path / "camvid").mkdir()
    (tmp_path / "camvid" / ".course_incomplete").touch()
    found = {f.what.split()[0]: f for f in doctor.check_workshop_data()}
    assert found["drive"].level == "ok" and found["drive"].detail == f"cached, 2 samples in {tmp_path / 'drive'}"
    assert found["camvid"].level == "warn" and "interrupted download" in found["camvid"].detail
    assert found["camvid"].fix.startswith("python -m course_lib download camvid ")


def test_doctor_workshop_from_the_command_line(monkeypatch, tmp_path, capsys):
    from course_lib.__main__ import main

    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    assert main(["doctor", "--quick", "--workshop"]) == 0, "missing capstone data is a warning, not a failure"
    text = capsys.readouterr().out
    assert "workshop data:" in text and "WARN  drive for 09_capstone_medical" in text
    assert "fix: python -m course_lib download drive camvid" in text
    assert text.strip().splitlines()[-1].startswith("VERDICT: READY") and "drive for 09_capstone_medical" in text.splitlines()[-1]
    assert main(["doctor", "--quick"]) == 0
    assert "workshop data" not in capsys.readouterr().out
