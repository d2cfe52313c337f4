"""Where the notebooks live online, and how they link to each other (one place for every link).

Each notebook's first cell carries its Colab and Binder badges (:func:`badges_markdown`) and a
navigation line to the previous chapter, the index and the next chapter
(:func:`navigation_markdown`); ``tests/lessons/test_links.py`` checks the notebooks against them.
"""

from __future__ import annotations

__all__ = ["REPOSITORY", "BRANCH", "NOTEBOOKS", "colab_url", "binder_url", "badges_markdown",
           "navigation_markdown"]

REPOSITORY = "hope-lite/hope_lite"
BRANCH = "main"
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
BINDER_BADGE = "https://mybinder.org/badge_logo.svg"

#: every notebook of the series, in reading order: file name -> title
NOTEBOOKS: dict[str, str] = {
    "00_index.ipynb": "00 · Index",
    "01_associative_memory.ipynb": "01 · Associative memory",
    "02_nested_optimization.ipynb": "02 · Nested optimization",
    "03_deep_optimizers.ipynb": "03 · Deep optimizers",
    "04_titans.ipynb": "04 · Titans",
    "05_self_modifying_titans.ipynb": "05 · Self-modifying Titans",
    "06_continuum_memory.ipynb": "06 · Continuum Memory System",
    "07_hope.ipynb": "07 · HOPE",
    "08_paper_claims.ipynb": "08 · The paper's claims, tested",
    "09_memory_benchmarks.ipynb": "09 · Memory benchmarks",
}
INDEX = "00_index.ipynb"


def colab_url(notebook: str) -> str:
    """Colab link of ``notebooks/<notebook>`` on GitHub, e.g. ``colab_url("01_associative_memory.ipynb")``."""
    return f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/notebooks/{notebook}"


def binder_url(notebook: str) -> str:
    """Binder link that opens ``notebooks/<notebook>`` in JupyterLab."""
    return f"https://mybinder.org/v2/gh/{REPOSITORY}/{BRANCH}?labpath=notebooks%2F{notebook}"


def badges_markdown(notebook: str) -> str:
    """The Colab and Binder badges of a notebook, as one line of markdown."""
    return (f"[![Open In Colab]({COLAB_BADGE})]({colab_url(notebook)}) "
            f"[![Binder]({BINDER_BADGE})]({binder_url(notebook)})")


def neighbours(notebook: str) -> tuple[str | None, str | None]:
    """The notebooks before and after ``notebook`` in :data:`NOTEBOOKS` (None at either end)."""
    names = list(NOTEBOOKS)
    if notebook not in names:
        raise ValueError(f"notebook must be one of {names}, got {notebook!r}.")
    i = names.index(notebook)
    return (names[i - 1] if i > 0 else None), (names[i + 1] if i + 1 < len(names) else None)


def navigation_markdown(notebook: str) -> str:
    """The navigation line under a notebook's title: ``[< previous](…) | [index](…) | [next: … >](…)``."""
    before, after = neighbours(notebook)
    parts = ["**index**"] if notebook == INDEX else [f"[< {NOTEBOOKS[before]}]({before})", f"[index]({INDEX})"]
    parts.append(f"[next: {NOTEBOOKS[after]} >]({after})" if after else "the last chapter of the series")
    return " | ".join(parts)
