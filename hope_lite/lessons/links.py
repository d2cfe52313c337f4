"""Where the notebooks live online, how they link to each other, and where a fresh Jupyter installs
hope_lite from (one place for every link).

A notebook must work when it is opened alone (Colab, Kaggle, a downloaded file): no path of the
repository around it. So

* its first cell carries its Colab and Binder badges (:func:`badges_markdown`) and a navigation line
  to the previous chapter, the index and the next chapter (:func:`navigation_markdown`), as absolute
  Colab links (:func:`notebook_url`);
* its figures' static previews are absolute links to the committed PNGs (:func:`figure_url`), and a
  document of the repository is linked on GitHub (:func:`repository_url`);
* its setup cell installs hope_lite where it cannot be imported, from :data:`INSTALL_SOURCE` unless the
  environment variable :data:`INSTALL_SOURCE_VARIABLE` names another source (a wheel, a folder, a fork):
  :func:`install_lines` is that code, written into every notebook.

``tests/lessons/test_links.py`` checks the notebooks against these functions.
"""

from __future__ import annotations

__all__ = ["REPOSITORY", "BRANCH", "NOTEBOOKS", "INSTALL_SOURCE", "INSTALL_SOURCE_VARIABLE", "colab_url",
           "binder_url", "notebook_url", "figure_url", "repository_url", "badges_markdown", "navigation_markdown",
           "install_lines"]

REPOSITORY = "hope-lite/hope_lite"
BRANCH = "main"
#: what a notebook's setup cell installs when hope_lite is missing: the package with its notebook extras
INSTALL_SOURCE = f"hope_lite[notebooks] @ git+https://github.com/{REPOSITORY}"
#: the environment variable that overrides :data:`INSTALL_SOURCE`, e.g. a wheel built from a checkout:
#: ``HOPE_LITE_SOURCE="/path/hope_lite-0.1.0-py3-none-any.whl[notebooks]"``
INSTALL_SOURCE_VARIABLE = "HOPE_LITE_SOURCE"
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


def notebook_url(notebook: str) -> str:
    """Where a link to another notebook of the series points: its Colab page, which works from Colab, from
    GitHub and from a notebook opened alone (a relative link works only inside a checkout)."""
    neighbours(notebook)                              # refuses a name that is not in the series
    return colab_url(notebook)


def figure_url(name: str) -> str:
    """The committed PNG ``figures/<name>`` on GitHub, as a notebook's static preview links it."""
    return f"https://raw.githubusercontent.com/{REPOSITORY}/{BRANCH}/figures/{name}"


def repository_url(path: str) -> str:
    """A file of the repository (``docs/reading.md``) on GitHub."""
    return f"https://github.com/{REPOSITORY}/blob/{BRANCH}/{path}"


def install_lines() -> str:
    """The lines that open every notebook's setup cell: install hope_lite (with its notebook extras) when it
    cannot be imported -- on Colab, Kaggle or any fresh Jupyter -- from :data:`INSTALL_SOURCE`, or from the
    source that :data:`INSTALL_SOURCE_VARIABLE` names. The source is quoted for the shell (``[`` and spaces).
    A folder named ``hope_lite`` in the working directory (a clone, say) is found as a namespace package with
    no origin: that is not hope_lite, and it is installed too (an installed package wins over such a folder)."""
    return (
        "import importlib.util\n"
        "import os\n"
        "import sys\n"
        "\n"
        "found = importlib.util.find_spec(\"hope_lite\")\n"
        "if found is None or found.origin is None:  # Colab, Kaggle, a fresh Jupyter (a folder hope_lite/ is not it)\n"
        f"    source = os.environ.get(\"{INSTALL_SOURCE_VARIABLE}\", \"{INSTALL_SOURCE}\")\n"
        "    %pip install -q \"{source}\"\n"
        "    importlib.invalidate_caches()\n")


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
    parts = (["**index**"] if notebook == INDEX else
             [f"[< {NOTEBOOKS[before]}]({notebook_url(before)})", f"[index]({notebook_url(INDEX)})"])
    parts.append(f"[next: {NOTEBOOKS[after]} >]({notebook_url(after)})" if after else "the last chapter of the series")
    return " | ".join(parts)
