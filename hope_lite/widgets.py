"""ipywidgets explorers built on :mod:`hope_lite.viz` (core ipywidgets only, so Colab works as is).

Each explorer is the thin top layer of three (docs/TEACHING.md): the numbers and the figure come
from a pure, unit-tested function in :mod:`hope_lite.viz`; the explorer only wires controls to
it; the notebook shows a static preview PNG above it for readers without a kernel.

ipywidgets swallows exceptions raised inside callbacks, so every explorer also has an
``update()`` method: tests (and curious readers) can set a control and call it directly::

    w = explore_associative_memory()
    w.children[0].value = 40          # the "pairs" slider
    w.update()                        # re-render now; errors surface here
"""

from __future__ import annotations

import base64
import io
import math
from typing import Any

import ipywidgets as widgets

from . import viz

__all__ = ["AssociativeMemoryExplorer", "explore_associative_memory", "show"]


class AssociativeMemoryExplorer(widgets.VBox):
    """Sliders for :func:`hope_lite.viz.render_retrieval` and an Output showing the result (notebook 01).

    Children, in order: IntSlider ``pairs``, FloatSlider ``correlation``, FloatSlider ``step``,
    FloatSlider ``retention``, Dropdown ``rule``, Output. The Output shows one line
    ``... mean retrieval error = 0.1234`` and the figure; it is re-drawn on every change.
    """

    def __init__(self, *, dim: int = 32, seed: int = 0, **initial: Any) -> None:
        start = dict(viz.EXPLORER_DEFAULTS)
        unknown = set(initial) - set(start)
        if unknown:
            raise ValueError(f"unknown initial setting(s) {sorted(unknown)}; choose from {sorted(start)}.")
        start.update(initial)
        self.dim, self.seed = dim, seed
        style = {"description_width": "90px"}
        layout = widgets.Layout(width="420px")
        self.pairs = widgets.IntSlider(value=start["n_pairs"], min=1, max=3 * dim, step=1, description="pairs",
                                       continuous_update=False, style=style, layout=layout)
        self.correlation = widgets.FloatSlider(value=start["correlation"], min=0.0, max=0.9, step=0.05,
                                               description="correlation", readout_format=".2f",
                                               continuous_update=False, style=style, layout=layout)
        self.step = widgets.FloatSlider(value=start["step"], min=0.0, max=2.0, step=0.05, description="step",
                                        readout_format=".2f", continuous_update=False, style=style,
                                        layout=layout)
        self.retention = widgets.FloatSlider(value=start["alpha"], min=0.8, max=1.0, step=0.01,
                                             description="retention", readout_format=".2f",
                                             continuous_update=False, style=style, layout=layout)
        self.rule = widgets.Dropdown(options=list(viz.RULES), value=start["rule"], description="rule",
                                     style=style, layout=widgets.Layout(width="260px"))
        self.output = widgets.Output()
        self.text = ""  # the last line shown, e.g. for tests
        super().__init__(children=[self.pairs, self.correlation, self.step, self.retention, self.rule,
                                   self.output])
        for control in (self.pairs, self.correlation, self.step, self.retention, self.rule):
            control.observe(self._on_change, names="value")
        self.update()

    def _on_change(self, change: dict) -> None:
        self.update()

    def update(self) -> str:
        """Recompute and re-draw from the current control values; returns the text line shown."""
        n, c, step, alpha, rule = (self.pairs.value, self.correlation.value, self.step.value,
                                   self.retention.value, self.rule.value)
        errors = viz.retrieval_errors(n, c, step, rule, dim=self.dim, alpha=alpha, seed=self.seed)
        fig = viz.render_retrieval(n, c, step, rule, dim=self.dim, alpha=alpha, seed=self.seed, errors=errors)
        mean = float(errors.mean())
        note = "" if math.isfinite(mean) else " (the memory diverged: lower the step)"
        self.text = (f"{rule}: {n} pairs, correlation {c:.2f}, step {step:.2f}, retention {alpha:.2f}"
                     f" -> mean retrieval error = {mean:.4f}{note}")
        show(self.output, self.text, fig)
        return self.text


def _png_base64(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def show(output: widgets.Output, text: str, fig) -> None:
    """Replace what ``output`` shows by one line of ``text`` and the figure ``fig`` (then closed).

    The outputs are set directly (a stream and a PNG), rather than captured with ``with output:``,
    so the result does not depend on the kernel's matplotlib backend, and tests without a kernel
    can read ``output.outputs``.
    """
    import matplotlib.pyplot as plt

    try:
        image = _png_base64(fig)
    finally:
        plt.close(fig)  # viz closes its figures already; this keeps pyplot empty whatever the source
    output.outputs = (
        {"output_type": "stream", "name": "stdout", "text": text + "\n"},
        {"output_type": "display_data", "metadata": {},
         "data": {"image/png": image, "text/plain": f"<figure: {text}>"}},
    )


def explore_associative_memory(**initial: Any) -> AssociativeMemoryExplorer:
    """Explore retrieval error of a Hebbian, delta-rule or Titans memory (notebook 01, §5).

    Move ``pairs`` past 32 (the key width) to leave capacity, raise ``correlation`` to make keys
    alike, change ``step`` (eta, or theta for Titans) and ``retention`` (alpha). Keyword
    arguments set the start values (``n_pairs``, ``correlation``, ``step``, ``rule``, ``alpha``).
    """
    return AssociativeMemoryExplorer(**initial)
