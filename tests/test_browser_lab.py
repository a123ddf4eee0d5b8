"""End to end in a real browser: JupyterLab, the lessons' notebooks, and their widgets (issue 13).

Starts ``jupyter lab`` (this venv, its ``python3`` kernel, a token, a free loopback port) on a temporary
copy of two lessons, drives the system's Chromium headless with Playwright, and checks what a learner does:

* lesson 03 (the learner notebook): Run → Run All Cells, wait until every cell ran and the kernel is idle,
  no error box, the unfinished exercises' checks show "⏳ NOT DONE" (an exercise cell only *defines* a
  function that raises NotImplementedError; the check calls it and catches that, so Run All goes through);
  then move the threshold explorer's slider with the keyboard and see its score line and picture change.
* lesson 01 (the learner notebook): run the cells one by one (Shift+Enter) up to the kernel explorer,
  then pick another preset kernel and stride and see the explorer's numbers and picture change.
* lesson 11's click-to-segment widget (a tiny notebook written here, with an honest region-growing segmenter
  on two touching discs): a real left click on disc A and a real right click on disc B (ipyevents; the picture
  shrunk by CSS first) change the status line (1 click, then 2 with IoU 1.000) and the picture, and JupyterLab's
  own context menu stays shut.

Screenshots go to ``test-artifacts/browser/`` (gitignored); look at them when the UI changes.
No browser is ever downloaded: Playwright launches ``chromium`` from PATH (Debian's package; ``.ci/run``
installs it with ``fonts-noto-color-emoji``). Without chromium or Playwright the test skips.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
TEST_TIMEOUT_S = 240  # the whole test; about 60-90 s on a quiet 2-core machine
WAIT_MS = 60_000  # one wait in the browser (a lesson's cells, a kernel start)

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
if CHROMIUM is None:
    pytest.skip("no chromium on PATH (apt-get install chromium); Playwright must not download one", allow_module_level=True)


CLICK_NOTEBOOK = "11_click_segment.ipynb"
CLICK_FIXTURES = ROOT / "tests" / "widgets" / "click_fixtures.py"  # copied next to the notebook: the widget tests' picture and segmenter
_FIXTURE_SPEC = importlib.util.spec_from_file_location("click_fixtures", CLICK_FIXTURES)
click_fixtures = importlib.util.module_from_spec(_FIXTURE_SPEC)
_FIXTURE_SPEC.loader.exec_module(click_fixtures)
CLICK_SHAPE = (click_fixtures.H, click_fixtures.W)  # the picture's H×W and its disc centres (row, col)
DISC_A, DISC_B = click_fixtures.A_CENTRE, click_fixtures.B_CENTRE
CLICK_CELLS = [
    """from click_fixtures import region_segmenter, two_discs
from course_lib.widgets import click_segment_widget

image, disc_a, disc_b = two_discs()""",
    "click_segment_widget(image, region_segmenter, truth=disc_a.astype(int))",
]


def _write_click_notebook(path: Path) -> None:
    """A two-cell notebook: the synthetic image and segmenter, then the click-to-segment widget."""
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in CLICK_CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(nb, path)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_answering(url: str, proc: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"jupyter lab exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    raise AssertionError(f"jupyter lab did not answer {url} within {seconds:.0f} s")


@pytest.fixture
def lab(tmp_path):
    """(base URL, token) of a JupyterLab serving a temporary folder with the two lessons; stopped afterwards."""
    shutil.rmtree(ARTIFACTS, ignore_errors=True)  # only this run's pictures (and failure.png if it fails)
    root_dir = tmp_path / "notebooks"
    root_dir.mkdir()
    shutil.copy(ROOT / "notebooks" / "03_metrics_losses.ipynb", root_dir / "03_metrics_losses.ipynb")
    shutil.copy(ROOT / "notebooks" / "01_cnn_foundations.ipynb", root_dir / "01_cnn_foundations.ipynb")
    _write_click_notebook(root_dir / CLICK_NOTEBOOK)
    shutil.copy(CLICK_FIXTURES, root_dir / CLICK_FIXTURES.name)
    settings = tmp_path / "settings"  # no "fetch Jupyter news?" toast over the notebook
    (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    port, token = _free_port(), os.urandom(16).hex()
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "JUPYTER_TOKEN")}
    env.update({"JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "JUPYTERLAB_SETTINGS_DIR": str(settings),
                "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"), "PYTHONPATH": str(ROOT),
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"})
    env.pop("MPLBACKEND", None)  # the kernel picks the inline backend itself
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={root_dir}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(tmp_path / "jupyter.log", "w")
    proc = subprocess.Popen(cmd, cwd=root_dir, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_answering(f"{base}/api/status?token={token}", proc, seconds=60)
        yield base, token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp_path / "jupyter.log", ARTIFACTS / "jupyter.log")


# ------------------------------------------------------------------------------------------------ browser helpers
def _open_notebook(page, base: str, token: str, name: str) -> None:
    page.goto(f"{base}/lab/tree/{name}?token={token}", wait_until="domcontentloaded", timeout=WAIT_MS)
    page.locator(f"#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current[title*='{name}']").wait_for(timeout=WAIT_MS)
    _panel(page).locator(".jp-Cell").first.wait_for(timeout=WAIT_MS)
    _wait_kernel_idle(page)


_CURRENT_PANEL_JS = """document.getElementById(
    document.querySelector('#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current')?.dataset.id ?? '-')"""


def _panel(page):
    """The notebook of the current tab."""
    tab = page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current").first
    return page.locator(f"[id='{tab.get_attribute('data-id')}']")


def _menu(page, menu: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{menu}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{item}$")).click()
    page.wait_for_timeout(500)
    if page.locator(".jp-Dialog .jp-mod-accept").count():  # a "Shut down the kernel?" kind of question
        page.locator(".jp-Dialog .jp-mod-accept").click()


def _wait_kernel_idle(page, timeout_ms: int = WAIT_MS) -> None:
    """Until the notebook's kernel is connected and idle (the status bar says so) and no cell waits to run ([*])."""
    page.wait_for_function(
        """() => {
            const panel = """ + _CURRENT_PANEL_JS + """;
            const bar = document.querySelector('#jp-main-statusbar');
            if (!panel || !bar || !/\\(ipykernel\\) \\| Idle/.test(bar.textContent)) return false;
            const ind = panel.querySelector('.jp-Notebook-ExecutionIndicator');
            if (ind && ind.getAttribute('data-status') !== 'idle') return false;
            return ![...panel.querySelectorAll('.jp-InputArea-prompt')].some(p => p.textContent.includes('*'));
        }""",
        timeout=timeout_ms, polling=250)


def _wait_cells_ran(page, count: int | None = None, timeout_ms: int = WAIT_MS) -> None:
    """Until the first ``count`` cells (default: all) that are code cells show an execution count, and the kernel is idle."""
    page.wait_for_function(
        """(count) => {
            const panel = """ + _CURRENT_PANEL_JS + """;
            if (!panel) return false;
            const cells = [...panel.querySelectorAll('.jp-Notebook .jp-Cell')].slice(0, count ?? undefined);
            return cells.filter(c => c.classList.contains('jp-CodeCell')).every(
                c => /\\[\\d+\\]/.test(c.querySelector('.jp-InputArea-prompt')?.textContent ?? ''));
        }""",
        arg=count, timeout=timeout_ms, polling=250)
    _wait_kernel_idle(page, timeout_ms)


def _error_outputs(page) -> list[str]:
    """The text of every traceback shown in the notebook."""
    return _panel(page).locator(".jp-OutputArea-output [data-mime-type='application/vnd.jupyter.stderr'], .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").filter(
        has_text=re.compile(r"Traceback|Error")).all_inner_texts()


def _cell_index(notebook: Path, text: str) -> int:
    """Index of the first cell of ``notebook`` whose source contains ``text`` (read from the file: JupyterLab
    renders the editors of cells far below the screen only when they come near it)."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return next(i for i, cell in enumerate(cells) if text in "".join(cell["source"]))


def _cell(page, index: int):
    cell = _panel(page).locator(".jp-Notebook .jp-Cell").nth(index)
    cell.scroll_into_view_if_needed()
    return cell


def _log(line: str) -> None:
    print(line, file=sys.stderr)


def _shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=False)
    return path


def _changes(page, locator, before: str | None, what: str, attr: str | None = None, contains: str = "") -> str:
    """Wait until ``locator``'s text (or ``attr``) differs from ``before`` and holds ``contains``; return it."""
    deadline, now = time.monotonic() + WAIT_MS / 1000, before
    while time.monotonic() < deadline:
        now = locator.get_attribute(attr) if attr else locator.inner_text()
        if now != before and contains in (now or ""):
            return now
        page.wait_for_timeout(200)
    raise AssertionError(f"{what} did not change from {str(before)[:150]!r} to hold {contains!r}: {str(now)[:150]!r}")


def _pixel_point(box: dict, row: int, col: int) -> tuple[float, float]:
    """The page position of the centre of image pixel (row, col) in a picture shown in ``box``."""
    h, w = CLICK_SHAPE
    return box["x"] + (col + 0.5) / w * box["width"], box["y"] + (row + 0.5) / h * box["height"]


def _click_segment_widget(page, base: str, token: str, started: float) -> None:
    """Run the click notebook, then left-click disc A and right-click disc B; status line and picture follow."""
    section = time.monotonic()
    _open_notebook(page, base, token, CLICK_NOTEBOOK)
    _menu(page, "Run", "Run All Cells")
    _wait_cells_ran(page)
    assert _error_outputs(page) == []
    cell = _cell(page, 1)
    picture = cell.locator(".widget-image").first
    info = cell.locator(".widget-html-content").filter(has_text="positive").first  # "1 click (1 positive, ..."
    info.wait_for()
    picture.scroll_into_view_if_needed()
    info_before, src_before = info.inner_text(), picture.get_attribute("src")
    assert "0 clicks" in info_before and "IoU 0.000" in info_before, info_before
    _shot(page, "11_click_segment_before.png")
    page.mouse.click(*_pixel_point(picture.bounding_box(), *DISC_A))
    info_one = _changes(page, info, info_before, "the click widget's status line", contains="1 click (1 positive")
    assert "IoU 0." in info_one, info_one  # disc A plus the touching disc B: about half right
    src_one = _changes(page, picture, src_before, "the click widget's picture", attr="src")
    picture.evaluate("img => { img.style.width = '300px'; }")  # shown smaller than its 448 px: the mapping must follow
    page.mouse.click(*_pixel_point(picture.bounding_box(), *DISC_B), button="right")
    info_two = _changes(page, info, info_one, "the click widget's status line",
                        contains="2 clicks (1 positive, 1 negative)")
    assert "IoU 1.000" in info_two, info_two
    _changes(page, picture, src_one, "the click widget's picture", attr="src")
    assert page.locator(".lm-Menu").count() == 0  # the right click opened no JupyterLab context menu
    _shot(page, "11_click_segment_after.png")
    _log(f"lesson 11 click widget: two real clicks done: {time.monotonic() - started:.0f} s "
         f"({time.monotonic() - section:.0f} s for this part)")


# ------------------------------------------------------------------------------------------------ the test
def test_lessons_and_widgets_in_jupyterlab(lab):
    base, token = lab
    started = time.monotonic()
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(WAIT_MS)
            console_errors: list[str] = []
            page.on("pageerror", lambda err: console_errors.append(str(err)))

            # ---- lesson 03 (learner copy): Run All, then the threshold explorer
            _open_notebook(page, base, token, "03_metrics_losses.ipynb")
            _menu(page, "Run", "Run All Cells")
            _wait_cells_ran(page, timeout_ms=150_000)
            assert _error_outputs(page) == []
            assert _panel(page).locator(".jp-OutputArea-output").filter(has_text="⏳ NOT DONE").count() >= 4
            _log(f"lesson 03 ran all cells: {time.monotonic() - started:.0f} s")
            explorer = _cell(page, _cell_index(ROOT / "notebooks" / "03_metrics_losses.ipynb", "threshold_explorer("))
            slider_box = explorer.locator(".widget-slider").filter(has_text="threshold").first
            slider_box.scroll_into_view_if_needed()
            info = explorer.locator(".widget-html-content").filter(has_text="IoU").first
            picture = explorer.locator(".widget-output img").first
            picture.wait_for()
            info_before, src_before = info.inner_text(), picture.get_attribute("src")
            assert "threshold 0.50" in info_before, info_before
            _shot(page, "03_threshold_explorer_before.png")
            handle = slider_box.locator(".noUi-handle").first
            handle.focus()
            for _ in range(15):
                page.keyboard.press("ArrowRight")
            info_after = _changes(page, info, info_before, "the score line", contains="threshold 0.65")
            assert info_after.split(": IoU")[1] != info_before.split(": IoU")[1]  # the scores moved too
            _changes(page, picture, src_before, "the explorer's picture", attr="src")
            _shot(page, "03_threshold_explorer_after.png")

            _menu(page, "Kernel", "Shut Down Kernel")  # leave the CPU to the next lesson's kernel

            # ---- lesson 01 (learner copy): the cells one by one up to the kernel explorer
            _open_notebook(page, base, token, "01_cnn_foundations.ipynb")
            cells = _panel(page).locator(".jp-Notebook .jp-Cell")
            widget_cell = _cell_index(ROOT / "notebooks" / "01_cnn_foundations.ipynb", "kernel_explorer(")
            cells.nth(0).locator(".jp-InputPrompt").click()
            for i in range(widget_cell + 1):  # one at a time: a cell that raises would stop a queue of them
                page.keyboard.press("Shift+Enter")
                _wait_cells_ran(page, i + 1)
            not_done = _panel(page).locator(".jp-OutputArea-output").filter(has_text="NOT DONE")
            assert not_done.count() >= 1
            errors = _error_outputs(page)
            assert errors == []
            not_done.first.scroll_into_view_if_needed()
            _shot(page, "01_exercise_not_done.png")
            _log(f"lesson 01 ran up to the kernel explorer: {time.monotonic() - started:.0f} s")
            cell = _cell(page, widget_cell)
            info = cell.locator(".widget-html-content").filter(has_text="feature map").first
            picture = cell.locator(".widget-image").first
            info.wait_for()
            info_before, src_before = info.inner_text(), picture.get_attribute("src")
            assert "/ 1⌋" in info_before, info_before
            _shot(page, "01_kernel_explorer_before.png")
            cell.locator(".widget-dropdown select").first.select_option("box blur")
            src_mid = _changes(page, picture, src_before, "the kernel explorer's picture", attr="src")
            _changes(page, info, info_before, "the kernel explorer's numbers", contains="kernel sum = 1")
            stride = cell.locator(".widget-slider").filter(has_text="stride").locator(".noUi-handle").first
            stride.focus()
            page.keyboard.press("ArrowRight")
            info_mid = info.inner_text()
            _changes(page, info, info_mid, "the kernel explorer's numbers", contains="/ 2⌋")
            _changes(page, picture, src_mid, "the kernel explorer's picture", attr="src")
            _shot(page, "01_kernel_explorer_after.png")
            _menu(page, "Kernel", "Shut Down Kernel")

            # ---- lesson 11's click-to-segment widget: real left and right mouse clicks on the picture
            _click_segment_widget(page, base, token, started)
            assert console_errors == []
        except BaseException:
            _shot(page, "failure.png")  # what the browser showed when it failed, with the page's HTML beside it
            (ARTIFACTS / "failure.html").write_text(page.content())
            raise
        finally:
            browser.close()
    _log(f"browser test done: {time.monotonic() - started:.0f} s")
    assert time.monotonic() - started < TEST_TIMEOUT_S
