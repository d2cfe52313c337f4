"""hope_lite.lessons.links: the Colab/Binder badges and the navigation links, against the notebooks."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from hope_lite.lessons import links

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"


def test_badge_urls():
    nb = "01_associative_memory.ipynb"
    assert links.colab_url(nb) == ("https://colab.research.google.com/github/hope-lite/hope_lite/blob/main/"
                                   "notebooks/01_associative_memory.ipynb")
    assert links.binder_url(nb) == ("https://mybinder.org/v2/gh/hope-lite/hope_lite/main?"
                                    "labpath=notebooks%2F01_associative_memory.ipynb")
    md = links.badges_markdown(nb)
    assert links.colab_url(nb) in md and links.binder_url(nb) in md and "colab-badge.svg" in md


def test_navigation_markdown():
    assert links.navigation_markdown("00_index.ipynb") == (
        "**index** | [next: 01 · Associative memory >](01_associative_memory.ipynb)")
    assert links.navigation_markdown("03_deep_optimizers.ipynb") == (
        "[< 02 · Nested optimization](02_nested_optimization.ipynb) | [index](00_index.ipynb) | "
        "[next: 04 · Titans >](04_titans.ipynb)")
    assert links.navigation_markdown("08_paper_claims.ipynb").endswith("| [next: 09 · Memory benchmarks >](09_memory_benchmarks.ipynb)")
    assert links.navigation_markdown("09_memory_benchmarks.ipynb").endswith("| the last chapter of the series")
    with pytest.raises(ValueError, match="notebook"):
        links.navigation_markdown("99_nope.ipynb")


def test_every_notebook_is_listed():
    assert sorted(p.name for p in NOTEBOOK_DIR.glob("*.ipynb")) == list(links.NOTEBOOKS)


@pytest.mark.parametrize("notebook", list(links.NOTEBOOKS))
def test_each_notebook_opens_with_its_badges_and_links_to_its_neighbours(notebook):
    """The first cell holds the badges exactly and a navigation line whose links follow the series."""
    first = "".join(json.loads((NOTEBOOK_DIR / notebook).read_text())["cells"][0]["source"])
    assert links.badges_markdown(notebook) in first
    line = next(ln for ln in first.splitlines() if "](00_index.ipynb)" in ln or ln.startswith("**index**"))
    before, after = links.neighbours(notebook)
    expected = [n for n in (before, None if notebook == links.INDEX else links.INDEX, after) if n]
    assert re.findall(r"\]\(([^)]+\.ipynb)\)", line) == expected
    assert line == links.navigation_markdown(notebook), (
        f"{notebook}: the navigation line should read {links.navigation_markdown(notebook)!r}, got {line!r}")


@pytest.mark.parametrize("notebook", list(links.NOTEBOOKS))
def test_titles_agree_with_the_series(notebook):
    """A notebook's title, the index's map and the navigation links name each chapter the same way."""
    title = "".join(json.loads((NOTEBOOK_DIR / notebook).read_text())["cells"][0]["source"]).splitlines()[0]
    assert title.startswith(f"# {links.NOTEBOOKS[notebook]}:") or title == f"# {links.NOTEBOOKS[notebook]}", (
        f"{notebook}: its title {title!r} does not start with {links.NOTEBOOKS[notebook]!r} (links.NOTEBOOKS)")
    index = "".join("".join(c["source"]) for c in json.loads((NOTEBOOK_DIR / links.INDEX).read_text())["cells"])
    named = {n.removesuffix(" >") for n in re.findall(r"\[(?:< |next: )?(\d\d · [^\]]+)\]\(" + re.escape(notebook) + r"\)",
                                                    index)}
    assert named == {links.NOTEBOOKS[notebook]}, f"00_index.ipynb names {notebook} {sorted(named)}"
