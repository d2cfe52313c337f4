"""Matplotlib helpers shared by every chapter's figures (docs/teaching.md, "two layers").

Every figure of the lessons has two layers: a function that computes the numbers (the one
source of truth that notebooks assert on and tests check) and a ``render_*`` function that
draws them and returns a :class:`matplotlib.figure.Figure` (or, where hovering helps, a plotly
Figure: :mod:`.interactive`). Render functions never call
``plt.show()``. They build the figure through pyplot, so that a notebook backend sets up its
display hooks, and close it before returning (:func:`finish`), so that nothing piles up in
pyplot: show a figure with ``display(fig)`` or as the last value of a cell, save it with
``fig.savefig``.

matplotlib is imported inside the functions: importing a chapter's ``figures`` module does not
import it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["subplots", "finish"]


def subplots(width: float, height: float, nrows: int = 1, ncols: int = 1, **kwargs: Any):
    """``plt.subplots(nrows, ncols, figsize=(width, height), **kwargs)``: (figure, axes)."""
    import matplotlib.pyplot as plt

    return plt.subplots(nrows, ncols, figsize=(width, height), **kwargs)


def finish(fig):
    """Close the figure in pyplot (it stays drawable and savable) and return it."""
    import matplotlib.pyplot as plt

    plt.close(fig)
    return fig
