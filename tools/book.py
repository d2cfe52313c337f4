"""The series as a static book: every notebook executed, converted to HTML, linked, searchable, offline.

    python tools/book.py --out book                 # execute every notebook in classroom mode (about 5 minutes), build
    python tools/book.py --out book --fast          # FAST mode (about 2 minutes)
    python tools/book.py --out book --executed DIR  # no execution: the executed notebooks in DIR (NN_name.ipynb)
    python -m http.server -d book -b 127.0.0.1      # read it at http://127.0.0.1:8000

``make book`` runs the first line and records what it did in ``results/book.json`` (``--record``: pages, seconds,
bytes, date), which the README quotes. What it builds, all of it readable without a network:

* ``index.html`` (the index, chapter 00) and one page per chapter, ``NN_name.html``, converted by nbconvert's
  ``lab`` template, each with a bar on top: previous, index, next, search. Links between chapters point to
  these pages; the "Open in Colab" and Binder badges still point online, to run a chapter.
* interactive plotly figures (hover, zoom) where a notebook cell draws one: a ``<div>`` each
  (:func:`hope_lite.lessons.interactive.div_html`), drawn by ``plotly.min.js`` copied from the installed plotly
  package;
* ``figures/``: the committed PNGs that the widgets' static previews show (a widget needs a kernel, so the page
  shows its preview); ``mathjax/tex-svg-full.js``: MathJax 3 (SVG output: no font files) from the
  ``sphinx-mathjax-offline`` package, for the equations. No script is loaded from a CDN: nbconvert's MathJax 2
  and require.js lines are replaced or left out (no output here needs require.js).
* ``search.html`` with ``search.js``: every page's prose (its markdown, without tags and link targets) in one index,
  searched in the browser as you type.

A solution cell (hidden in Jupyter) is folded under "Solution (click to show)", the parameters papermill injected
are left out, and a notebook whose run raised is refused: the book shows what the notebook teaches. The executed
notebooks are kept beside the book, in ``<out>_executed/``, not in it.

Publish it by copying the folder to any static host, e.g. GitHub Pages: push the folder's contents to a
``gh-pages`` branch, or upload it with the ``actions/upload-pages-artifact`` action.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hope_lite.lessons import links  # noqa: E402
from hope_lite.lessons.interactive import PLOTLY_MIME, div_html, plotly_js  # noqa: E402

NOTEBOOKS = ROOT / "notebooks"


def page_name(notebook: str) -> str:
    """The book's file for a notebook: ``index.html`` for the index, ``NN_name.html`` for a chapter."""
    return "index.html" if notebook == links.INDEX else notebook.replace(".ipynb", ".html")


def local_links(markdown: str) -> str:
    """A notebook's markdown with its chapter links pointing into the book and its figure previews to ``figures/``.
    A badge (a link around an ``.svg`` image) keeps pointing online, it is there to run the chapter, but as text:
    the badge images live online, and the book loads nothing from the network."""
    for notebook in links.NOTEBOOKS:
        markdown = re.sub(r"(?<!\.svg\))\]\(" + re.escape(links.notebook_url(notebook)) + r"\)",
                          f"]({page_name(notebook)})", markdown)
    markdown = markdown.replace(f"![Open In Colab]({links.COLAB_BADGE})", "Open in Colab")
    markdown = markdown.replace(f"![Binder]({links.BINDER_BADGE})", "Open in Binder")
    return markdown.replace(links.figure_url(""), "figures/")


def execute(notebook: Path, out: Path, fast: bool) -> float:
    """Run ``notebook`` with papermill in ``notebooks/`` (where the committed results are found); seconds taken."""
    import papermill as pm

    started = time.perf_counter()
    pm.execute_notebook(str(notebook), str(out), parameters={"FAST": fast}, cwd=str(NOTEBOOKS), kernel_name="python3",
                        progress_bar=False, log_output=False, request_save_on_cell_execute=False,
                        execution_timeout=600, start_timeout=120)         # a hung cell fails the build
    return time.perf_counter() - started


# In every page's head: no favicon request (the book has none), and MathJax 3 with the delimiters the notebooks use.
_HEAD = """<link rel="icon" href="data:,">
<script>window.MathJax = {tex: {inlineMath: [["$", "$"], ["\\\\(", "\\\\)"]], displayMath: [["$$", "$$"], ["\\\\[", "\\\\]"]],
                               processEscapes: true, tags: "ams"}, svg: {fontCache: "global"}};</script>
<script src="mathjax/tex-svg-full.js" async></script>"""
_BAR_STYLE = ("position:sticky;top:0;z-index:10;background:#f4f4f4;border-bottom:1px solid #ccc;"
              "padding:6px 12px;font:14px sans-serif")


def navigation_bar(notebook: str) -> str:
    before, after = links.neighbours(notebook)
    parts = [f'<a href="{page_name(before)}">&lt; {html.escape(links.NOTEBOOKS[before])}</a>'] if before else []
    parts.append('<a href="index.html">index</a>')
    if after:
        parts.append(f'<a href="{page_name(after)}">next: {html.escape(links.NOTEBOOKS[after])} &gt;</a>')
    parts.append('<a href="search.html">search</a>')
    return f'<nav class="hope-book-nav" style="{_BAR_STYLE}">' + " | ".join(parts) + "</nav>"


def plotly_outputs(cell, prefix: str) -> int:
    """Turn the cell's plotly outputs into ``<div>``s drawn by the book's plotly.js; how many there are.

    In a kernel, plotly shows a figure as its JSON only (``application/vnd.plotly.v1+json``, drawn by JupyterLab's
    plotly extension), which nbconvert does not render: the page gets a ``<div>`` for it, drawn by the
    ``plotly.min.js`` it loads once."""
    figures = 0
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        if PLOTLY_MIME in data:
            figures += 1
            output["data"] = {"text/html": div_html(data[PLOTLY_MIME], f"{prefix}-{figures}")}
            output["metadata"] = {}
    return figures


def convert(executed: Path, notebook: str) -> tuple[str, str]:
    """(page HTML, plain text for the search index) of one executed notebook."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(executed, as_version=4)
    failed = [i for i, c in enumerate(nb.cells) for o in c.get("outputs", []) if o.get("output_type") == "error"]
    if failed:
        raise ValueError(f"{executed} holds an error in cell(s) {failed}: fix the notebook before building the book.")
    cells, figures = [], 0
    for index, cell in enumerate(nb.cells):
        figures += plotly_outputs(cell, f"plotly-{index}") if cell.cell_type == "code" else 0
        tags = cell.metadata.get("tags", [])
        if "injected-parameters" in tags:
            continue
        if cell.cell_type == "markdown":             # an explorer needs a kernel: its static preview shows open
            cell.source = local_links(cell.source).replace("<details><summary>Static preview of the explorer",
                                                           "<details open><summary>Static preview of the explorer")
        if cell.cell_type == "code" and ("solution" in tags or cell.metadata.get("jupyter", {}).get("source_hidden")):
            # hidden in Jupyter, folded here: the code in a <details>, then the cell's output as it ran
            cells.append(nbformat.v4.new_markdown_cell("<details><summary>Solution (click to show)</summary>\n\n"
                                                       f"```python\n{cell.source}\n```\n</details>"))
            cell.metadata["transient"] = {"remove_source": True}
        cells.append(cell)
    nb.cells = cells
    nb.metadata.pop("widgets", None)             # widget views need a kernel: the page shows their previews
    exporter = HTMLExporter(template_name="lab")
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": links.NOTEBOOKS[notebook]}})
    body = re.sub(r"<script src=\"[^\"]*require[^\"]*\"></script>", "", body)     # nothing here needs require.js
    start, end = body.find("<!-- Load mathjax -->"), body.find("<!-- End of mathjax configuration -->")
    if start < 0 or end < 0:
        raise RuntimeError("nbconvert's page no longer marks its MathJax block; update tools/book.py (convert)")
    body = body[:start] + body[end + len("<!-- End of mathjax configuration -->"):]    # MathJax 3 is in _HEAD
    if "</head>" not in body or "<main>" not in body:
        raise RuntimeError("nbconvert's page has no </head> or <main>; update tools/book.py (convert)")
    head = _HEAD + ('\n<script src="plotly.min.js"></script>' if figures else "")
    body = body.replace("</head>", head + "\n</head>", 1).replace("<main>", navigation_bar(notebook) + "\n<main>", 1)
    remote = re.findall(r"<(?:script|link)\b[^>]*(?:src|href)=\"(https?:[^\"]+)\"", body)
    if remote:
        raise RuntimeError(f"{notebook}'s page would load {remote} from the network; the book must read offline.")
    text = " ".join(c.source for c in nb.cells if c.cell_type == "markdown" and not c.source.startswith("<details><summary>Solution"))
    text = re.sub(r"\]\([^)]*\)", "]", re.sub(r"<[^>]+>", " ", text))            # no tags, no link targets
    return body, re.sub(r"\s+", " ", re.sub(r"[#*`$|<>\[\]()]", " ", text)).strip()


_SEARCH_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Search the series</title>
<style>body{font:16px sans-serif;max-width:900px;margin:0 auto;padding:0 12px} li{margin:10px 0}
.snippet{color:#444;font-size:14px} mark{background:#ffe27a}</style></head>
<body>NAV
<h1>Search the series</h1>
<input id="q" type="search" placeholder="a word, e.g. surprise" autofocus style="width:100%;font-size:18px;padding:6px">
<ol id="results"></ol>
<script src="search.js"></script>
</body></html>
"""

_SEARCH_SCRIPT = """// The search of the book: every page's markdown text (INDEX below), matched as you type.
const INDEX = PAGES;
function escapeHtml(s) { return s.replace(/[&<>"]/g, c => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;'}[c])); }
function search(query) {
  const words = query.toLowerCase().split(/\\s+/).filter(w => w.length > 1);
  if (!words.length) return [];
  return INDEX.map(page => {
    const text = page.text.toLowerCase();
    const hits = words.map(w => text.split(w).length - 1);
    if (hits.some(h => h === 0)) return null;
    const at = text.indexOf(words[0]);
    const snippet = page.text.slice(Math.max(0, at - 80), at + 120);
    return {page, score: hits.reduce((a, b) => a + b, 0), snippet};
  }).filter(r => r).sort((a, b) => b.score - a.score);
}
function highlight(snippet, words) {
  // split the raw snippet on the query's words, escape every piece, mark the matching ones
  const pattern = new RegExp('(' + words.map(w => w.replace(/[.*+?^${}()|[\\]\\\\]/g, '\\\\$&')).join('|') + ')', 'gi');
  return snippet.split(pattern).map((piece, i) => i % 2 ? '<mark>' + escapeHtml(piece) + '</mark>' : escapeHtml(piece)).join('');
}
function show() {
  const query = document.getElementById('q').value;
  const words = query.toLowerCase().split(/\\s+/).filter(w => w.length > 1);
  const list = document.getElementById('results');
  list.innerHTML = search(query).map(r => {
    const snippet = highlight(r.snippet, words);
    return `<li><a href="${r.page.url}">${escapeHtml(r.page.title)}</a> (${r.score} matches)` +
           `<div class="snippet">… ${snippet} …</div></li>`;
  }).join('');
}
document.getElementById('q').addEventListener('input', show);
"""


def build(out: Path, *, fast: bool = False, executed: Path | None = None, log=print) -> dict:
    """Build the book in ``out`` (see the module docstring); returns what it did (pages, seconds)."""
    from importlib.metadata import distribution

    started = time.perf_counter()
    mathjax = next((f for f in distribution("sphinx-mathjax-offline").files or [] if f.name == "tex-svg-full.js"), None)
    if mathjax is None:
        raise FileNotFoundError("sphinx-mathjax-offline holds no tex-svg-full.js: reinstall it (requirements-test.txt).")
    shutil.rmtree(out, ignore_errors=True)      # a page of a removed notebook must not stay behind
    out.mkdir(parents=True)
    shutil.copytree(ROOT / "figures", out / "figures")
    (out / "mathjax").mkdir()
    shutil.copy(mathjax.locate(), out / "mathjax" / "tex-svg-full.js")
    shutil.copy(plotly_js(), out / "plotly.min.js")
    work = out.with_name(out.name + "_executed")  # the executed notebooks, beside the book (not published with it)
    if executed is None:
        work.mkdir(exist_ok=True)
    pages, seconds = [], {}
    for notebook in links.NOTEBOOKS:
        if executed is not None:
            source = executed / notebook
            if not source.is_file():
                raise FileNotFoundError(f"{source} does not exist: --executed must hold every executed notebook "
                                        f"({', '.join(links.NOTEBOOKS)}).")
        else:
            source = work / notebook
            seconds[notebook] = round(execute(NOTEBOOKS / notebook, source, fast), 1)
            log(f"executed {notebook} in {seconds[notebook]} s")
        body, text = convert(source, notebook)
        (out / page_name(notebook)).write_text(body, encoding="utf-8")
        pages.append({"title": links.NOTEBOOKS[notebook], "url": page_name(notebook), "text": text})
    (out / "search.js").write_text(_SEARCH_SCRIPT.replace("PAGES", json.dumps(pages)), encoding="utf-8")
    search_nav = f'<nav style="{_BAR_STYLE}"><a href="index.html">index</a></nav>'
    (out / "search.html").write_text(_SEARCH_PAGE.replace("NAV", search_nav), encoding="utf-8")
    summary = {"pages": [p["url"] for p in pages] + ["search.html"], "executed_seconds": seconds,
               "mode": "given" if executed is not None else ("FAST" if fast else "classroom"),
               "seconds": round(time.perf_counter() - started, 1),
               "bytes": sum(f.stat().st_size for f in out.rglob("*") if f.is_file())}
    log(f"{len(summary['pages'])} pages in {out} ({summary['mode']} notebooks), {summary['bytes'] / 1e6:.1f} MB, "
        f"{summary['seconds']} s")
    return summary


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=ROOT / "book")
    p.add_argument("--fast", action="store_true", help="execute in FAST mode instead of classroom mode")
    p.add_argument("--executed", type=Path, help="a folder of already executed notebooks: convert, do not execute")
    p.add_argument("--record", type=Path, help="also write what the build did (pages, seconds, bytes, date) to this "
                                                "JSON file, e.g. results/book.json, which the README quotes")
    args = p.parse_args(argv)
    try:
        summary = build(args.out, fast=args.fast, executed=args.executed)
        if args.record:
            summary["date"] = time.strftime("%Y-%m-%d")
            summary["command"] = "make book"
            args.record.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    except (FileNotFoundError, ModuleNotFoundError, ImportError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
