"""``python -m course_tools site``: an offline HTML book of the executed solution notebooks."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import nbformat
import pytest

from course_tools import site
from course_tools.__main__ import main as tools_main

ROOT = Path(__file__).resolve().parents[2]


class _Refs(HTMLParser):
    """Every ``href`` and ``src`` of a page, with the tag that holds it."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.refs += [(tag, name, value or "") for name, value in attrs if name in ("href", "src")]


def _refs(page: Path) -> list[tuple[str, str, str]]:
    parser = _Refs()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.refs


def _unresolved(page: Path) -> list[str]:
    """References a reader offline could not follow: missing files, anchors that are not there, loaded http(s) URLs."""
    text, bad = page.read_text(encoding="utf-8"), []
    ids = set(re.findall(r'id="([^"]*)"', text))
    for tag, name, value in _refs(page):
        if value.startswith("data:") or (tag == "a" and re.match(r"https?://", value)):
            continue  # embedded, or a link out that the reader may follow when online
        if re.match(r"https?://|//", value):
            bad.append(f"<{tag} {name}={value}> needs the network")
        elif value.startswith("#"):
            if value != "#" and not {value[1:], unquote(value[1:])} & ids:
                bad.append(f"anchor {value} is missing")
        elif not (page.parent / value.split("#")[0]).is_file():
            bad.append(f"<{tag} {name}={value}>: no such file")
    return bad


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site") / "_site"
    assert tools_main(["--root", str(ROOT), "site", "--out", str(out), "--lessons", "00_welcome"]) == 0
    return out


def test_the_book_has_an_index_and_the_lesson_page(book):
    assert sorted(p.name for p in book.iterdir()) == ["00_welcome.html", "index.html"]
    index = (book / "index.html").read_text(encoding="utf-8")
    assert 'href="00_welcome.html"' in index and "00 · Welcome" in index
    assert "meet semantic, instance and panoptic segmentation" in index  # the summary from README's lesson map


@pytest.mark.parametrize("page", ["index.html", "00_welcome.html"])
def test_every_link_and_image_resolves_offline(book, page):
    assert _unresolved(book / page) == []


def test_the_page_carries_its_outputs_figures_and_no_cdn_script(book):
    text = (book / "00_welcome.html").read_text(encoding="utf-8")
    images = [v for tag, name, v in _refs(book / "00_welcome.html") if tag == "img"]
    assert images and all(v.startswith("data:image/") for v in images), images[:3]
    assert "PASSED" in text  # a printed line: the exercise checks ran
    assert not re.search(r'<script[^>]+src=|<link[^>]+href="https?:', text)
    assert "mathjax" not in text.lower() and "require.min.js" not in text
    assert 'href="index.html"' in text  # the way back to the lesson map


def test_lesson_summaries_read_titles_and_readme_rows():
    found = site.lesson_summaries(ROOT / "solutions", ROOT / "README.md")
    assert sorted(found) == sorted(p.stem for p in (ROOT / "solutions").glob("*.ipynb"))
    title, summary = found["03_metrics_losses"]
    assert title.startswith("03 · Metrics and losses") and "confusion matrix" in summary


def test_unknown_lesson_is_refused(tmp_path, capsys):
    assert tools_main(["--root", str(ROOT), "site", "--out", str(tmp_path), "--lessons", "99_nope", "--no-execute"]) == 2
    assert "choose from" in capsys.readouterr().out


def test_no_execute_exports_without_outputs(tmp_path):
    results = site.build_site(ROOT, tmp_path, ["01_cnn_foundations"], execute=False, progress=False)
    assert [r.name for r in results] == ["01_cnn_foundations"] and results[0].errors == 0
    assert _unresolved(tmp_path / "01_cnn_foundations.html") == [] and _unresolved(tmp_path / "index.html") == []


def test_a_widget_becomes_a_static_snapshot_of_its_image_and_outputs():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("w")
    cell.outputs = [nbformat.v4.new_output("display_data", {"application/vnd.jupyter.widget-view+json": {"model_id": "box"},
                                                            "text/plain": "VBox()"})]
    nb.cells = [cell]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {
        "box": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_img", "IPY_MODEL_out", "IPY_MODEL_slider"]}},
        "img": {"model_name": "ImageModel", "state": {"format": "png"}, "buffers": [{"path": ["value"], "data": "iVBOR", "encoding": "base64"}]},
        "out": {"model_name": "OutputModel", "state": {"outputs": [{"output_type": "stream", "name": "stdout", "text": "hello\n"}]}},
        "slider": {"model_name": "FloatSliderModel", "state": {"value": 0.5}}}}}
    assert site.static_widgets(nb) == 1
    assert "widgets" not in nb.metadata
    html = [o["data"].get("text/html", "") for o in cell.outputs if o["output_type"] == "display_data"]
    assert any("Static snapshot" in h for h in html) and any('src="data:image/png;base64,iVBOR"' in h for h in html)
    assert any(o.get("text") == "hello\n" for o in cell.outputs)


def test_module_rules():
    import inspect

    assert site.__all__ and all(hasattr(site, name) for name in site.__all__)
    assert len(inspect.getsource(site).splitlines()) <= 500
    for name, fn in inspect.getmembers(site, inspect.isfunction):
        if fn.__module__ == site.__name__:
            assert len(inspect.getsource(fn).splitlines()) <= 60, name
            assert fn.__doc__, name
