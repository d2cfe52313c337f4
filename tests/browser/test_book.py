"""The static book (tools/book.py) in a real browser: every page opens with no console error and no request that
fails, the bar links the chapters in order, figures and equations render offline, the plotly figures are interactive
(a hover shows a tooltip), and the search finds a chapter.

The book is built from the notebooks that the strict FAST run of ``tests/test_notebooks.py`` executed in this
session (``test-artifacts/notebooks/``, every file written after this module was imported); this test runs after
it (marker ``after_notebooks``). Without such files (run alone, or an older run's files), it executes the
notebooks itself in FAST mode first (about two minutes).
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import importlib.util
import threading
import time
from pathlib import Path

import pytest

from hope_lite.lessons import links
from plotly_page import hover_first_point

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
pytestmark = [pytest.mark.browser, pytest.mark.after_notebooks]

EXECUTED = ROOT / "test-artifacts" / "notebooks"
IMPORTED = time.time()              # collection time: a file written after it was written by this session

def _book_module():
    spec = importlib.util.spec_from_file_location("hope_lite_book", ROOT / "tools" / "book.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def book_url(tmp_path_factory):
    book = _book_module()
    out = tmp_path_factory.mktemp("book")
    fresh = all((EXECUTED / n).is_file() and (EXECUTED / n).stat().st_mtime > IMPORTED for n in links.NOTEBOOKS)
    executed = EXECUTED if fresh else None
    summary = book.build(out, fast=True, executed=executed, log=print)
    assert summary["pages"] == [book.page_name(n) for n in links.NOTEBOOKS] + ["search.html"]
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", out
    server.shutdown()


@contextlib.contextmanager
def _open(browser, url: str):
    """A page at ``url`` and the list of console errors and failed requests it has, from its load on (closed after)."""
    page = browser.new_page()
    problems = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    try:
        page.goto(url, wait_until="networkidle")
        yield page, problems
    finally:
        page.close()


def _typeset(page) -> None:
    """Wait for MathJax to finish (where the page loads it); no formula may come out as an error."""
    page.evaluate("window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
    errors = page.evaluate("[...document.querySelectorAll('mjx-merror, [data-mjx-error]')].map(e => e.textContent)")
    assert not errors, f"{page.url}: MathJax could not typeset {errors[:5]}"


#: the chapters with a cell that shows a plotly figure (03's is inside its explorer: the page shows the preview)
INTERACTIVE_CHAPTERS = {"04_titans.ipynb", "06_continuum_memory.ipynb", "07_hope.ipynb"}


def _remote(page) -> list:
    return page.evaluate("performance.getEntriesByType('resource').map(e => e.name)"
                         ".filter(u => !u.startsWith(location.origin))")


def test_every_page_opens_offline_without_an_error(book_url, browser):
    base, out = book_url
    page_name = _book_module().page_name
    for notebook in links.NOTEBOOKS:
        name = page_name(notebook)
        with _open(browser, f"{base}/{name}") as (page, problems):
            assert not problems, f"{name}: " + "; ".join(problems)
            assert links.NOTEBOOKS[notebook] in page.title()
            nav = page.locator("nav.hope-book-nav a")
            targets = [nav.nth(i).get_attribute("href") for i in range(nav.count())]
            before, after = links.neighbours(notebook)
            expected = [page_name(n) for n in (before, links.INDEX, after) if n] + ["search.html"]
            assert targets == expected, f"{name}: the bar links {targets}"
            _typeset(page)
            assert not problems, f"{name}: " + "; ".join(problems)
            assert not _remote(page), f"{name} loaded {_remote(page)}"        # nothing from a CDN
            if notebook == "01_associative_memory.ipynb":
                # an equation typeset by the local MathJax, and a figure preview loaded from figures/
                assert page.locator("mjx-container svg").count() > 10
                # a solution is folded, as it is hidden in Jupyter
                assert page.locator("details > summary", has_text="Solution (click to show)").count() >= 3
                assert "# Parameters" not in page.inner_text("main")       # papermill's injected cell is left out
                sizes = page.evaluate("[...document.images].filter(i => i.src.includes('/figures/'))"
                                      ".map(i => [i.src, i.naturalWidth])")
                assert sizes and all(width > 0 for _, width in sizes), sizes
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "book-01.png"))
            if notebook == "07_hope.ipynb":
                # the level timeline is an interactive plotly figure, drawn by the book's own plotly.js: hover a tick
                tip = hover_first_point(page, "main")
                assert "stream position" in tip and "|Δθ| =" in tip, tip
                page.screenshot(path=str(ARTIFACTS / "book-07-hover.png"))
                assert not problems, f"{name}: " + "; ".join(problems)
            figures = page.locator(".hope-plotly .main-svg").count()
            expected_figures = notebook in INTERACTIVE_CHAPTERS
            assert (figures > 0) == expected_figures, f"{name}: {figures} plotly figure layers drawn"


def test_chapter_links_stay_in_the_book_and_badges_go_online(book_url, browser):
    base, _ = book_url
    with _open(browser, f"{base}/03_deep_optimizers.html") as (page, problems):
        hrefs = page.evaluate("[...document.querySelectorAll('main a')].map(a => a.getAttribute('href'))")
        assert "02_nested_optimization.html" in hrefs and "04_titans.html" in hrefs
        colab = {h for h in hrefs if h and h.startswith("https://colab.research.google.com/")}
        assert colab == {links.colab_url("03_deep_optimizers.ipynb")}, colab    # only the badge: run it on Colab
        page.click("nav.hope-book-nav >> text=next: 04 · Titans >")
        page.wait_for_load_state("networkidle")
        assert page.url.endswith("/04_titans.html") and not problems, problems


def test_search_finds_the_chapter_of_a_word(book_url, browser):
    base, _ = book_url
    with _open(browser, f"{base}/search.html") as (page, problems):
        page.fill("#q", "surprise")
        page.wait_for_selector("#results li")
        found = page.locator("#results li a").all_inner_texts()
        assert links.NOTEBOOKS["04_titans.ipynb"] in found, found
        page.fill("#q", "memory ma")                 # two words, one inside the other's marks: still clean marks
        page.wait_for_selector("#results li")
        marks = {m.lower() for m in page.locator("#results mark").all_inner_texts()}
        assert marks and marks <= {"memory", "ma"}, marks
        assert "<mark>" not in page.locator("#results").inner_text()
        page.fill("#q", "githubusercontent")         # only in the markdown's image and link targets: not indexed
        page.wait_for_timeout(300)
        assert page.locator("#results li").count() == 0
        page.screenshot(path=str(ARTIFACTS / "book-search.png"))
        assert not problems and not _remote(page), (problems, _remote(page))
