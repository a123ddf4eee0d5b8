"""The pre-flight check every learner runs before a workshop: ``python -m course_lib doctor``."""

from __future__ import annotations

import importlib
import importlib.metadata as md
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from .config import DATA_DIR_ENV, DATA_MIRROR_ENV, data_dir, repo_root

__all__ = ["Finding", "requirements", "check_python", "below_minimum", "check_packages", "benchmark", "check_data_cache",
           "check_workshop_data", "run_doctor", "REFERENCE_IMAGES_PER_S", "REFERENCE_TRAINING_MINUTES"]

# Measured on the course's reference machine (2 cores, no GPU) with ``benchmark()``: images/s of a
# training step of the benchmark network at 64x64, batch 16.
# 271 images/s on the quiet reference machine (measured 2026-11-24); 230-265 when it was loaded.
REFERENCE_IMAGES_PER_S = 270.0
# Minutes that lessons 00-08 take to run end to end on that machine (the nine solution notebooks under
# nbval: 342 s, most of it training); the doctor scales this by the measured speed.
REFERENCE_TRAINING_MINUTES = 6.0


@dataclass
class Finding:
    """One line of the doctor's report: ok / warn / fail, what was checked, and what to do."""

    level: str  # "ok", "warn" or "fail"
    what: str
    detail: str = ""
    fix: str = ""

    def line(self) -> str:
        mark = {"ok": "  ok ", "warn": "WARN ", "fail": "FAIL "}[self.level]
        text = f"{mark} {self.what}" + (f": {self.detail}" if self.detail else "")
        return text + (f"\n       fix: {self.fix}" if self.fix else "")


def requirements() -> tuple[SpecifierSet, list[Requirement]]:
    """The Python range and the runtime requirements of course-lib.

    In a checkout of the course, ``pyproject.toml`` is the truth: the installed metadata of an editable install is
    only refreshed by a re-install, so after a ``git pull`` it can hold older bounds. Elsewhere (an installed wheel)
    the installed metadata is all there is.
    """
    pyproject = repo_root() / "pyproject.toml"
    if pyproject.is_file():
        import tomllib

        project = tomllib.loads(pyproject.read_text()).get("project", {})
        if project.get("name") == "course-lib":
            return SpecifierSet(project["requires-python"]), [Requirement(r) for r in project["dependencies"]]
    meta = md.metadata("course-lib")
    python = SpecifierSet(meta.get("Requires-Python") or "")
    reqs = [Requirement(r) for r in (md.requires("course-lib") or [])]
    return python, [r for r in reqs if not r.marker]


def check_python(spec: SpecifierSet) -> Finding:
    """Is this Python inside the course's supported range?"""
    version = platform.python_version()
    if Version(version) in spec:
        return Finding("ok", "Python", f"{version} ({sys.executable})")
    return Finding("fail", "Python", f"{version} is outside the tested range {spec}", "install a Python in that range and re-run `make lab`.")


def below_minimum(version: str, spec: SpecifierSet) -> bool:
    """Is ``version`` older than the range's lower bound (``>=``/``>``), i.e. older than any release known to work?"""
    base = Version(version).base_version
    return any(s.operator in (">=", ">") and not s.contains(base, prereleases=True) for s in spec)


def check_packages(reqs: list[Requirement]) -> list[Finding]:
    """Each required package: installed, and its version inside the tested range.

    Older than the lower bound is a failure (lessons use features that only exist from that release on, e.g.
    ``remove_small_objects(max_size=...)`` of scikit-image 0.26); newer than the upper bound is a warning (untested).
    """
    out = []
    for req in reqs:
        try:
            version = md.version(req.name)
        except md.PackageNotFoundError:
            out.append(Finding("fail", req.name, "not installed", "run `make lab` (or `pip install -e .`) in the course folder."))
            continue
        base = Version(version).base_version
        if req.specifier and below_minimum(version, req.specifier):
            out.append(Finding("fail", req.name, f"{version} is older than the course needs ({req.specifier})",
                               "run `make lab` (or `pip install -e .`) to get the tested versions."))
        elif req.specifier and base not in req.specifier and version not in req.specifier:
            out.append(Finding("warn", req.name, f"{version} is outside the tested range {req.specifier}",
                               "it may work; if a lesson fails, run `make lab` to get the tested versions."))
        else:
            out.append(Finding("ok", req.name, version))
    return out


def check_imports() -> list[Finding]:
    """torch and torchvision load together (a CPU-only torch wheel breaks torchvision), and smp loads."""
    out = []
    for module in ("torch", "torchvision", "segmentation_models_pytorch", "ipywidgets", "ipyevents", "matplotlib"):
        try:
            importlib.import_module(module)
            out.append(Finding("ok", f"import {module}"))
        except Exception as exc:  # report, do not crash: this is the point of the doctor
            out.append(Finding("fail", f"import {module}", f"{type(exc).__name__}: {exc}",
                               "reinstall with `make lab`; torch must be the PyPI build that matches torchvision."))
    return out


def check_device() -> Finding:
    """Which device lessons will train on."""
    from .runtime import resolve_device

    try:
        device = resolve_device()
    except ValueError as exc:
        return Finding("fail", "device", str(exc), "unset COURSE_DEVICE or set it to auto/cpu/cuda/mps.")
    import torch

    detail = str(device)
    if device.type == "cuda":
        detail += f" ({torch.cuda.get_device_name(device)})"
    detail += f", {torch.get_num_threads()} CPU threads"
    return Finding("ok", "device", detail)


def benchmark(seconds: float = 3.0, device=None) -> float:
    """Images/s of training steps of a small conv net at 64x64, batch 16 (the course's typical load).

    The steps run on the course's training engine (``Learner``) with a time budget, after 3 warm-up steps.
    """
    import itertools

    import torch
    from torch import nn

    from .runtime import resolve_device
    from .training import Learner, SegmentationStep, StepTimer, TimeBudget
    from .training.steps import default_loss

    device = resolve_device(device)
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1, stride=2), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.ConvTranspose2d(32, 16, 2, stride=2), nn.ReLU(),
        nn.Conv2d(16, 4, 1),
    ).to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    batch = (torch.rand(16, 3, 64, 64, device=device), torch.randint(0, 4, (16, 64, 64), device=device))
    step = SegmentationStep(default_loss())
    Learner(net, [batch] * 3, opt, step, device=device).fit(1)  # warm-up
    timer = StepTimer()
    Learner(net, itertools.repeat(batch), opt, step, callbacks=[TimeBudget(seconds), timer], device=device).fit(1)
    return len(timer.times) * 16 / sum(timer.times)


def check_speed(seconds: float = 3.0) -> Finding:
    """Time the benchmark and estimate the course's training time on this machine."""
    try:
        speed = benchmark(seconds)
    except Exception as exc:
        return Finding("fail", "benchmark", f"{type(exc).__name__}: {exc}", "run `make lab` to repair the install.")
    factor = REFERENCE_IMAGES_PER_S / speed
    minutes = REFERENCE_TRAINING_MINUTES * factor
    detail = (f"{speed:.0f} images/s (reference laptop: {REFERENCE_IMAGES_PER_S:.0f}); "
              f"running every lesson's cells (mostly training) should take about {minutes:.0f} min here")
    if factor > 3:
        return Finding("warn", "speed", detail + " — slow",
                       "close other programs and plug in the charger; training cells will take longer than the lesson says.")
    return Finding("ok", "speed", detail)


def check_data_cache() -> Finding:
    """Can the dataset cache be written (``$COURSE_DATA_DIR``)?"""
    folder = data_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-", delete=True) as fh:
            fh.write(b"ok")
    except OSError as exc:
        return Finding("fail", "data cache", f"{folder} is not writable ({exc.strerror})",
                       f"set {DATA_DIR_ENV} to a folder you can write, e.g. export {DATA_DIR_ENV}=~/course-data")
    detail = str(folder)
    try:
        from . import data as course_data

        cached = course_data.cached()
        detail += f"; real datasets cached: {', '.join(cached) if cached else 'none (lessons 00-08 need none)'}"
    except (ImportError, AttributeError):
        pass
    return Finding("ok", "data cache", detail)


def _dataset_state(name: str) -> tuple[bool, str]:
    """(cached?, what the cache holds) for one real dataset, e.g. (True, "cached, 20 samples in /cache/drive")."""
    from .data.download import dataset_root, interrupted, is_present
    from .data.real import count_samples

    root = dataset_root(name)
    if is_present(name):
        return True, f"cached, {count_samples(name, root)} samples in {root}"
    if interrupted(name):
        return False, f"an interrupted download in {root} (the command below resumes it)"
    return False, f"not cached (looked in {root})"


def check_workshop_data() -> list[Finding]:
    """The real datasets the capstone lessons use: cached or not; missing ones are a warning (synthetic stand-ins)."""
    from .data.catalog import capstone_needs

    findings: list[Finding] = []
    missing: list[str] = []
    for name, uses in capstone_needs().items():
        lessons = ", ".join(lesson + ("" if required else " (optional)") for lesson, required in uses)
        present, state = _dataset_state(name)
        if present:
            findings.append(Finding("ok", f"{name} for {lessons}", state))
        elif any(required for _, required in uses):
            missing.append(name)
            findings.append(Finding("warn", f"{name} for {lessons}", state + "; the lesson falls back to a synthetic stand-in"))
        else:
            findings.append(Finding("ok", f"{name} for {lessons}", f"{state}; to add it: python -m course_lib download {name}"))
    if missing:
        last = max(i for i, f in enumerate(findings) if f.level == "warn")
        findings[last].fix = (f"python -m course_lib download {' '.join(missing)}   (online, or with "
                              f"{DATA_MIRROR_ENV} set to a folder holding the data)")
    return findings


def run_doctor(quick: bool = False, stream=None, workshop: bool = False) -> int:
    """Run every check (with ``workshop``, also the capstones' real data), print the report and a one-line verdict; 0 when ready."""
    stream = stream or sys.stdout
    print("course_lib doctor: checking this machine for the image-segmentation course\n", file=stream)
    python, reqs = requirements()
    findings = [check_python(python), *check_packages(reqs), *check_imports()]
    imports_ok = not any(f.level == "fail" and f.what.startswith("import") for f in findings)
    if imports_ok:
        findings.append(check_device())
        if not quick:
            findings.append(check_speed())
    findings.append(check_data_cache())
    for f in findings:
        print(f.line(), file=stream)
    if workshop:
        print("\nworkshop data: the real datasets of the capstone lessons (missing ones are replaced by synthetic "
              "stand-ins)", file=stream)
        section = check_workshop_data() if imports_ok else []
        for f in section or [Finding("warn", "workshop data", "not checked", "fix the failed imports above first.")]:
            print(f.line(), file=stream)
        findings += section
    fails = [f for f in findings if f.level == "fail"]
    warns = [f for f in findings if f.level == "warn"]
    print(file=stream)
    if fails:
        print(f"VERDICT: NOT READY — {len(fails)} problem(s): {', '.join(f.what for f in fails)}. Fix them and run the doctor again.", file=stream)
        return 1
    extra = f" ({len(warns)} warning(s): {', '.join(f.what for f in warns)})" if warns else ""
    print(f"VERDICT: READY for the course{extra}.", file=stream)
    return 0
