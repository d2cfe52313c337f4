"""The explorer of notebook 04 (§6): a Titans memory written at test time, its gates and chunk size live."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from ..explorer import STYLE, WIDTH, Explorer, float_slider
from .experiments import TITANS_EXPLORER_DEFAULTS, shift_run
from .figures import render_shift_run

__all__ = ["TitansMemoryExplorer", "explore_titans_memory"]


class TitansMemoryExplorer(Explorer):
    """θ, η, α and chunk size -> memory error and surprise trace on a shift stream (notebook 04, §6).

    Children, in order: FloatSlider ``θ step``, FloatSlider ``η momentum``, FloatSlider ``α forget``,
    SelectionSlider ``chunk`` (1 ... 64), Output. Each change runs :func:`.experiments.shift_run`
    (a fresh memory writes 256 tokens of rule A, then 128 of rule B) and shows one line
    ``... memory error = 0.1234 ...`` (the mean error on rule B for fresh keys after the stream) and
    :func:`.figures.render_shift_run`. The last run is kept in ``.run``.
    """

    CHUNKS = (1, 2, 4, 8, 16, 32, 64)

    def __init__(self, **initial: Any) -> None:
        start = self.settings(TITANS_EXPLORER_DEFAULTS, initial)
        if start["chunk_size"] not in self.CHUNKS:
            raise ValueError(f"chunk_size must be one of {self.CHUNKS}, got {start['chunk_size']!r}.")
        self.theta = float_slider("θ step", start["theta"], 0.0, 1.0, 0.01)
        self.eta = float_slider("η momentum", start["eta"], 0.0, 0.99, 0.01)
        self.alpha = float_slider("α forget", start["alpha"], 0.0, 0.05, 0.001, readout_format=".3f")
        self.chunk = widgets.SelectionSlider(options=list(self.CHUNKS), value=start["chunk_size"], description="chunk",
                                             continuous_update=False, style=STYLE, layout=widgets.Layout(width=WIDTH))
        self.run: dict | None = None
        self._start([self.theta, self.eta, self.alpha, self.chunk])

    def render(self) -> tuple[str, list]:
        theta, eta, alpha, chunk = self.theta.value, self.eta.value, self.alpha.value, self.chunk.value
        run = shift_run(theta, eta, alpha, chunk)
        self.run = run
        head = f"θ {theta:.2f}, η {eta:.2f}, α {alpha:.3f}, chunk {chunk}"
        if run["diverged"]:
            text = (f"{head} -> memory error = inf: the memory DIVERGED "
                    f"(effective step θ/(1-η) = {theta / max(1 - eta, 1e-9):.2f} per token, times about the chunk)")
        else:
            text = (f"{head} -> memory error = {run['error_B']:.4f} (rule B, fresh keys, end of stream) | "
                    f"rule A {run['error_A']:.3f} | surprise ratio at the shift {run['ratio']:.1f}x | "
                    f"{run['ms_per_token']:.2f} ms/token")
        return text, [render_shift_run(run)]


def explore_titans_memory(**initial: Any) -> TitansMemoryExplorer:
    """Explore a Titans memory written at test time (notebook 04, §6).

    Move θ (step), η (momentum decay), α (forget gate) and the chunk size; watch the surprise spike
    at the distribution shift and the memory error on the new rule. Keyword arguments set the
    start values (``theta``, ``eta``, ``alpha``, ``chunk_size``).
    """
    return TitansMemoryExplorer(**initial)
