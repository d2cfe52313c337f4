"""The base of every ipywidgets explorer of the lessons (core ipywidgets only, so Colab works as is).

An explorer is the thin top layer of three (docs/teaching.md): the numbers and the figure come
from pure, unit-tested functions of its chapter (``experiments`` and ``figures``); the explorer
only wires controls to them; the notebook shows a static preview PNG above it for readers
without a kernel. What every explorer shares lives here:

* :class:`Explorer`: controls above an ``Output``; a change of any watched control calls
  :meth:`Explorer.update`, which asks the subclass's :meth:`~Explorer.render` for one line of
  text and the figures, and shows them (:func:`show`);
* :meth:`Explorer.settings`: the start values, ``defaults`` overridden by keyword arguments,
  unknown names refused;
* :func:`int_slider`, :func:`float_slider`, :func:`dropdown`: the controls, all with
  ``continuous_update=False`` (a figure is re-drawn when a slider is released, not while it moves).

ipywidgets swallows exceptions raised inside callbacks, so every explorer can be driven from
Python: tests (and curious readers) set a control and call ``update()``, where errors surface::

    w = explore_associative_memory()
    w.children[0].value = 40          # the "pairs" slider
    w.update()                        # re-render now; returns the text line shown
"""

from __future__ import annotations

import base64
import contextlib
import io
from typing import Any, Iterator

import ipywidgets as widgets

__all__ = ["Explorer", "show", "png_base64", "int_slider", "float_slider", "dropdown"]

STYLE = {"description_width": "90px"}
WIDTH = "420px"


def int_slider(description: str, value: int, low: int, high: int, step: int = 1, *, style: dict | None = None,
               **kwargs: Any) -> widgets.IntSlider:
    """An IntSlider of the explorers' look (released, not dragged, re-draws)."""
    return widgets.IntSlider(value=value, min=low, max=high, step=step, description=description,
                             continuous_update=False, style=style or STYLE, layout=widgets.Layout(width=WIDTH),
                             **kwargs)


def float_slider(description: str, value: float, low: float, high: float, step: float, *, readout_format: str = ".2f",
                 style: dict | None = None, **kwargs: Any) -> widgets.FloatSlider:
    """A FloatSlider of the explorers' look."""
    return widgets.FloatSlider(value=value, min=low, max=high, step=step, description=description,
                               readout_format=readout_format, continuous_update=False, style=style or STYLE,
                               layout=widgets.Layout(width=WIDTH), **kwargs)


def dropdown(description: str, options: Any, value: Any, *, width: str = "300px") -> widgets.Dropdown:
    """A Dropdown of the explorers' look."""
    return widgets.Dropdown(options=list(options), value=value, description=description, style=STYLE,
                            layout=widgets.Layout(width=width))


def png_base64(fig) -> str:
    """The figure as a base64 PNG (what an ``Output`` displays)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def show(output: widgets.Output, text: str, *figures: Any) -> None:
    """Replace what ``output`` shows by one line of ``text`` and the figures below it.

    Each figure is a matplotlib Figure (encoded as a PNG, then closed), an already encoded base64
    PNG, or a plotly Figure (shown interactive: :func:`.interactive.mime_bundle`). The outputs are
    set directly, rather than captured with ``with output:``, so the result does not depend on the
    kernel's matplotlib backend, and tests without a kernel can read ``output.outputs``.
    """
    import matplotlib.pyplot as plt

    from .interactive import is_plotly, mime_bundle

    labels = ["<figure: {}>"] if len(figures) == 1 else [f"<figure {i + 1}: {{}}>" for i in range(len(figures))]
    shown = []
    try:
        for fig, label in zip(figures, labels):
            if is_plotly(fig):
                shown.append(mime_bundle(fig, label.format(text)))
            else:
                shown.append({"image/png": fig if isinstance(fig, str) else png_base64(fig),
                              "text/plain": label.format(text)})
    finally:
        for fig in figures:  # the render functions close their figures already; this keeps pyplot empty anyway
            if not isinstance(fig, str) and not is_plotly(fig):
                plt.close(fig)
    output.outputs = ({"output_type": "stream", "name": "stdout", "text": text + "\n"},) + tuple(
        {"output_type": "display_data", "metadata": {}, "data": data} for data in shown)


class Explorer(widgets.VBox):
    """Controls above an Output; any change of a watched control re-draws through :meth:`update`.

    A subclass builds its controls, then calls ``self._start(controls)``, and implements
    :meth:`render`. After every update, ``.text`` holds the line shown.
    """

    _quiet = False  # True while controls are moved by the explorer itself (no re-draw per control)

    @staticmethod
    def settings(defaults: dict, initial: dict) -> dict:
        """The explorer's start values: ``defaults`` overridden by ``initial``; unknown names are refused."""
        unknown = set(initial) - set(defaults)
        if unknown:
            raise ValueError(f"unknown initial setting(s) {sorted(unknown)}; choose from {sorted(defaults)}.")
        return {**defaults, **initial}

    def _start(self, controls: list, *, watched: list | None = None) -> None:
        """Lay out ``controls`` above a new Output, watch ``watched`` (default: every control), draw once."""
        self.output = widgets.Output()
        self.text = ""
        super().__init__(children=[*controls, self.output])
        for control in controls if watched is None else watched:
            control.observe(self._on_change, names="value")
        self.update()

    @contextlib.contextmanager
    def quietly(self) -> Iterator[None]:
        """Move controls inside this block without a re-draw for each of them."""
        self._quiet = True
        try:
            yield
        finally:
            self._quiet = False

    def _on_change(self, change: dict) -> None:
        if not self._quiet:
            self.update()

    def render(self) -> tuple[str, list]:  # pragma: no cover - every explorer defines it
        """Compute for the current controls: (the text line, [figures])."""
        raise NotImplementedError

    def update(self) -> str:
        """Recompute and re-draw from the current control values; returns the text line shown."""
        text, figures = self.render()
        self.text = text
        show(self.output, text, *figures)
        return text
