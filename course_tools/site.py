"""The course as a book: ``python -m course_tools site`` (``make site``) writes ``_site/`` from the executed solutions.

Each solution notebook runs in a fresh kernel (cwd ``solutions/``, our environment, so ``COURSE_DATA_MIRROR``
and friends reach it) and is exported to ``_site/<name>.html`` with every figure embedded as a ``data:`` URI;
``_site/index.html`` is the lesson map (title and one-line summary per lesson). The pages load nothing from
the network: nbconvert's require.js, MathJax, mermaid and widget-manager scripts (CDN URLs) are left out,
and an interactive widget is shown as a static snapshot of what it displayed when the notebook ran
(its images and captured outputs; the sliders themselves need a live kernel). The lessons use no LaTeX
math, so nothing is lost without MathJax; math added later would show as its TeX source.
"""

from __future__ import annotations

import html
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["PageResult", "lesson_summaries", "execute_notebook", "static_widgets", "export_page", "index_html",
           "build_site", "format_report"]

_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
_WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
_README_ROW = re.compile(r"^\|\s*(\d\d)\s*\|\s*`([^`]+)`\s*\|\s*(.+?)\s*\|\s*([^|]+?)\s*\|\s*$", re.MULTILINE)
_PROMISE = re.compile(r"\*\*Promise:\*\*\s*(.+)")
_SNAPSHOT_NOTE = ("<p><em>Static snapshot of an interactive widget, as it looked when the notebook ran; "
                  "open the notebook in JupyterLab to move its controls.</em></p>")
_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block body_header -%}{{ super() }}{{ resources.course_nav }}{%- endblock body_header -%}
{%- block body_footer -%}{{ resources.course_nav }}{{ super() }}{%- endblock body_footer -%}
"""
_INDEX_CSS = """body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;line-height:1.5}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;vertical-align:top}
"""
_NAV_STYLE = "font-family:system-ui,sans-serif;padding:.5rem 1rem;display:flex;gap:1.5rem"


@dataclass(frozen=True)
class PageResult:
    """One lesson page: where it was written, how long it took, and its error outputs."""

    name: str
    path: Path
    seconds: float
    errors: int


def _readme_rows(readme: Path) -> dict[str, str]:
    """``name -> 'you will ...'`` from README's lesson-map table (empty when there is no README)."""
    text = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    return {m.group(2): m.group(3) for m in _README_ROW.finditer(text)}


def lesson_summaries(solutions: Path, readme: Path | None = None) -> dict[str, tuple[str, str]]:
    """``name -> (title, one-line summary)`` from each notebook's first cell; README's lesson map gives the summary."""
    import nbformat

    rows = _readme_rows(readme if readme is not None else solutions.parent / "README.md")
    found = {}
    for path in sorted(solutions.glob("[0-9][0-9]_*.ipynb")):
        first = next((c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown"), "")
        title = next((ln.lstrip("# ").strip() for ln in first.splitlines() if ln.startswith("# ")), path.stem)
        promise = _PROMISE.search(first)
        found[path.stem] = (title, rows.get(path.stem) or (promise.group(1).strip() if promise else ""))
    return found


def execute_notebook(path: Path, timeout: float | None = 900, env: dict[str, str] | None = None) -> Any:
    """``path`` executed in a fresh python3 kernel whose cwd is its folder; each cell may take ``timeout`` seconds."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True, store_widget_state=True,
                            resources={"metadata": {"path": str(Path(path).parent)}})
    client.execute(env=dict(os.environ) if env is None else env)
    return nb


def _model_outputs(models: dict[str, Any], model_id: str, seen: set[str]) -> list[dict[str, Any]]:
    """What widget ``model_id`` (and its children) showed, as notebook outputs: captured outputs and images."""
    if model_id in seen or model_id not in models:
        return []
    seen.add(model_id)
    model = models[model_id]
    state = model.get("state", {})
    if model.get("model_name") == "OutputModel":
        return list(state.get("outputs", []))
    if model.get("model_name") == "ImageModel":
        data = next((b["data"] for b in model.get("buffers", []) if b.get("path") == ["value"]), None)
        fmt = state.get("format", "png")
        return [] if not data else [{"output_type": "display_data", "metadata": {},
                                     "data": {"text/html": f'<img src="data:image/{fmt};base64,{data}" alt="widget image">'}}]
    outputs: list[dict[str, Any]] = []
    for child in state.get("children", []):
        outputs += _model_outputs(models, str(child).removeprefix("IPY_MODEL_"), seen)
    return outputs


def static_widgets(nb: Any) -> int:
    """Replace every widget view in ``nb`` by a static snapshot of what it showed; return how many were replaced."""
    import nbformat

    models = nb.metadata.pop("widgets", {}).get(_WIDGET_STATE, {}).get("state", {})
    replaced = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for out in cell.outputs:
            view = out.get("data", {}).get(_WIDGET_VIEW)
            if view is None:
                outputs.append(out)
                continue
            replaced += 1
            note = {"output_type": "display_data", "metadata": {}, "data": {"text/html": _SNAPSHOT_NOTE}}
            outputs += [nbformat.from_dict(o) for o in [note] + _model_outputs(models, view.get("model_id", ""), set())]
        cell.outputs = outputs
    return replaced


def _nav(name: str, names: Sequence[str]) -> str:
    """The bar at the top and bottom of a page: the index, and the lessons before and after it."""
    i = list(names).index(name)
    links = ['<a href="index.html">Course index</a>']
    if i > 0:
        links.insert(0, f'<a href="{names[i - 1]}.html">&larr; {html.escape(names[i - 1])}</a>')
    if i + 1 < len(names):
        links.append(f'<a href="{names[i + 1]}.html">{html.escape(names[i + 1])} &rarr;</a>')
    return f'<nav class="course-nav" style="{_NAV_STYLE}">{" ".join(links)}</nav>'


def export_page(nb: Any, out: Path, nav: str = "") -> Path:
    """Write ``nb`` as one self-contained HTML page (figures as ``data:`` URIs, no CDN scripts) to ``out``."""
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab", embed_images=True, extra_loaders=[DictLoader({"course_site.html.j2": _TEMPLATE})],
                            template_file="course_site.html.j2")
    body, _ = exporter.from_notebook_node(nb, resources={"course_nav": nav, "metadata": {"name": out.stem}})
    out.write_text(body, encoding="utf-8")
    return out


def _error_outputs(nb: Any) -> int:
    """Error outputs of cells not tagged ``raises-exception`` (the ones a reader should not see)."""
    return sum(1 for c in nb.cells if c.cell_type == "code" and "raises-exception" not in c.metadata.get("tags", [])
               for o in c.outputs if o.get("output_type") == "error")


def index_html(lessons: dict[str, tuple[str, str]], pages: Sequence[str], title: str) -> str:
    """The book's front page: the lesson map, one row per page, each linking to it."""
    rows = "\n".join(f'<tr><td><a href="{name}.html">{html.escape(lessons[name][0])}</a></td>'
                     f"<td>{html.escape(lessons[name][1])}</td></tr>" for name in pages)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{html.escape(title)}</title>\n'
            f"<style>{_INDEX_CSS}</style>\n</head>\n<body>\n<h1>{html.escape(title)}</h1>\n"
            "<p>Every lesson as it runs: the complete solution notebooks, executed, with their outputs and figures. "
            "To do the exercises, open <code>notebooks/</code> in JupyterLab (<code>make lab</code>).</p>\n"
            f"<table>\n<tr><th>lesson</th><th>you will</th></tr>\n{rows}\n</table>\n</body>\n</html>\n")


def _course_title(readme: Path) -> str:
    """The course's name: README's first heading."""
    text = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    return next((ln[2:].strip() for ln in text.splitlines() if ln.startswith("# ")), "The course")


def build_site(root: Path, out: Path, names: Sequence[str] | None = None, execute: bool = True,
               timeout: float | None = 900, progress: bool = True) -> list[PageResult]:
    """Write ``out/index.html`` and one page per lesson in ``names`` (default: all) from ``root/solutions``."""
    import nbformat

    solutions = root / "solutions"
    lessons = lesson_summaries(solutions, root / "README.md")
    names = list(names) if names else sorted(lessons)
    unknown = [n for n in names if n not in lessons]
    if unknown:
        raise ValueError(f"unknown lesson(s): {', '.join(unknown)}; choose from: {', '.join(sorted(lessons))}")
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for name in names:
        start = time.perf_counter()
        path = solutions / f"{name}.ipynb"
        nb = execute_notebook(path, timeout) if execute else nbformat.read(path, as_version=4)
        static_widgets(nb)
        page = export_page(nb, out / f"{name}.html", _nav(name, names))
        results.append(PageResult(name, page, time.perf_counter() - start, _error_outputs(nb)))
        if progress:
            print(f"wrote {page} ({results[-1].seconds:.1f} s, {results[-1].errors} error output(s))", flush=True)
    (out / "index.html").write_text(index_html(lessons, names, _course_title(root / "README.md")), encoding="utf-8")
    return results


def format_report(results: Sequence[PageResult], out: Path) -> str:
    """The closing lines of ``site``: where to open the book, the time taken, and any lesson with errors."""
    lines = [f"{r.name}: {r.errors} error output(s); see {r.path}" for r in results if r.errors]
    lines.append(f"site: {len(results)} page(s) in {sum(r.seconds for r in results):.0f} s; open {out / 'index.html'}")
    return "\n".join(lines)
