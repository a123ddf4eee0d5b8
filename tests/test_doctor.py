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
