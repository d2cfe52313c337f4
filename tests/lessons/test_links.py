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
    url = links.notebook_url
    assert url("04_titans.ipynb") == links.colab_url("04_titans.ipynb")
    assert links.navigation_markdown("00_index.ipynb") == (
        f"**index** | [next: 01 · Associative memory >]({url('01_associative_memory.ipynb')})")
    assert links.navigation_markdown("03_deep_optimizers.ipynb") == (
        f"[< 02 · Nested optimization]({url('02_nested_optimization.ipynb')}) | [index]({url('00_index.ipynb')}) | "
        f"[next: 04 · Titans >]({url('04_titans.ipynb')})")
    assert links.navigation_markdown("08_paper_claims.ipynb").endswith(
        f"| [next: 09 · Memory benchmarks >]({url('09_memory_benchmarks.ipynb')})")
    assert links.navigation_markdown("09_memory_benchmarks.ipynb").endswith("| the last chapter of the series")
    with pytest.raises(ValueError, match="notebook"):
        links.navigation_markdown("99_nope.ipynb")
    with pytest.raises(ValueError, match="notebook"):
        links.notebook_url("99_nope.ipynb")


def test_figure_and_repository_urls():
    assert links.figure_url("01-capacity.png") == (
        "https://raw.githubusercontent.com/hope-lite/hope_lite/main/figures/01-capacity.png")
    assert links.repository_url("docs/reading.md") == "https://github.com/hope-lite/hope_lite/blob/main/docs/reading.md"


def test_every_notebook_is_listed():
    assert sorted(p.name for p in NOTEBOOK_DIR.glob("*.ipynb")) == list(links.NOTEBOOKS)


@pytest.mark.parametrize("notebook", list(links.NOTEBOOKS))
def test_each_notebook_opens_with_its_badges_and_links_to_its_neighbours(notebook):
    """The first cell holds the badges exactly and a navigation line whose links follow the series."""
    first = "".join(json.loads((NOTEBOOK_DIR / notebook).read_text())["cells"][0]["source"])
    assert links.badges_markdown(notebook) in first
    line = next(ln for ln in first.splitlines() if ln.startswith(("[< ", "**index**")))
    before, after = links.neighbours(notebook)
    expected = [links.notebook_url(n) for n in (before, None if notebook == links.INDEX else links.INDEX, after) if n]
    assert re.findall(r"\]\((https://[^)]+\.ipynb)\)", line) == expected
    assert line == links.navigation_markdown(notebook), (
        f"{notebook}: the navigation line should read {links.navigation_markdown(notebook)!r}, got {line!r}")


def _markdown(notebook: str) -> list[str]:
    return ["".join(c["source"]) for c in json.loads((NOTEBOOK_DIR / notebook).read_text())["cells"]
            if c["cell_type"] == "markdown"]


@pytest.mark.parametrize("notebook", list(links.NOTEBOOKS))
def test_links_and_images_work_when_the_notebook_is_opened_alone(notebook):
    """Colab opens a notebook with no repository around it: every link and image is absolute, a link to a
    chapter is its notebook_url, and a figure preview is figure_url of a PNG that exists in figures/."""
    figures = NOTEBOOK_DIR.parent / "figures"
    for text in _markdown(notebook):
        targets = re.findall(r"\]\(\s*<?([^)\s>]+)", text) + re.findall(r"<img\b[^>]*?\bsrc=[\"']([^\"']+)", text)
        for target in targets:
            assert target.startswith(("https://", "http://", "#")), (
                f"{notebook}: {target!r} is a relative link; it breaks when the notebook is opened alone. Use "
                "links.notebook_url / figure_url / repository_url.")
            if target.endswith(".ipynb") and "colab.research.google.com" in target:
                assert target == links.notebook_url(target.rsplit("/", 1)[1])
            if target.startswith(links.figure_url("")):
                assert (figures / target[len(links.figure_url("")):]).is_file(), f"{notebook}: no figures/ file for {target}"


@pytest.mark.parametrize("notebook", list(links.NOTEBOOKS))
def test_setup_cell_installs_hope_lite_where_it_is_missing(notebook):
    """Every notebook's first code cell opens with links.install_lines(): the one install source, overridable."""
    cells = json.loads((NOTEBOOK_DIR / notebook).read_text())["cells"]
    first_code = "".join(next(c for c in cells if c["cell_type"] == "code")["source"])
    assert first_code.startswith(links.install_lines()), (
        f"{notebook}: the setup cell should open with\n{links.install_lines()}")
    assert "google.colab" not in first_code


def test_install_lines_name_the_source_once():
    code = links.install_lines()
    assert code.count(links.INSTALL_SOURCE) == 1 and links.INSTALL_SOURCE_VARIABLE in code
    assert links.INSTALL_SOURCE.startswith("hope_lite[notebooks] @ git+https://github.com/" + links.REPOSITORY)


@pytest.mark.parametrize("notebook", list(links.NOTEBOOKS))
def test_titles_agree_with_the_series(notebook):
    """A notebook's title, the index's map and the navigation links name each chapter the same way."""
    title = "".join(json.loads((NOTEBOOK_DIR / notebook).read_text())["cells"][0]["source"]).splitlines()[0]
    assert title.startswith(f"# {links.NOTEBOOKS[notebook]}:") or title == f"# {links.NOTEBOOKS[notebook]}", (
        f"{notebook}: its title {title!r} does not start with {links.NOTEBOOKS[notebook]!r} (links.NOTEBOOKS)")
    index = "".join("".join(c["source"]) for c in json.loads((NOTEBOOK_DIR / links.INDEX).read_text())["cells"])
    named = {n.removesuffix(" >") for n in re.findall(r"\[(?:< |next: )?(\d\d · [^\]]+)\]\("
                                                    + re.escape(links.notebook_url(notebook)) + r"\)",
                                                    index)}
    assert named == {links.NOTEBOOKS[notebook]}, f"00_index.ipynb names {notebook} {sorted(named)}"


def test_the_readme_names_the_install_source():
    readme = (NOTEBOOK_DIR.parent / "README.md").read_text()
    assert f'pip install "{links.INSTALL_SOURCE}"' in readme and links.INSTALL_SOURCE_VARIABLE in readme


@pytest.mark.parametrize("notebook", list(links.NOTEBOOKS))
def test_repository_links_name_files_that_exist(notebook):
    prefix = links.repository_url("")
    for text in _markdown(notebook):
        for path in re.findall(re.escape(prefix) + r"([^)\s#]+)", text):
            assert (NOTEBOOK_DIR.parent / path).is_file(), f"{notebook} links {prefix}{path}, which does not exist"
