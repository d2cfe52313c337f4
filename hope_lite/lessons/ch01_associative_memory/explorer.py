"""The explorer of notebook 01 (§5): retrieval error of a Hebbian, delta-rule or Titans memory, live."""

from __future__ import annotations

import math
from typing import Any

from ..explorer import Explorer, dropdown, float_slider, int_slider
from .experiments import RETRIEVAL_EXPLORER_DEFAULTS, RULES, retrieval_errors
from .figures import render_retrieval

__all__ = ["AssociativeMemoryExplorer", "explore_associative_memory"]


class AssociativeMemoryExplorer(Explorer):
    """Sliders for :func:`.figures.render_retrieval` and an Output showing the result (notebook 01).

    Children, in order: IntSlider ``pairs``, FloatSlider ``correlation``, FloatSlider ``step``,
    FloatSlider ``retention``, Dropdown ``rule``, Output. The Output shows one line
    ``... mean retrieval error = 0.1234`` and the figure; it is re-drawn on every change.
    """

    def __init__(self, *, dim: int = 32, seed: int = 0, **initial: Any) -> None:
        start = self.settings(RETRIEVAL_EXPLORER_DEFAULTS, initial)
        self.dim, self.seed = dim, seed
        self.pairs = int_slider("pairs", start["n_pairs"], 1, 3 * dim)
        self.correlation = float_slider("correlation", start["correlation"], 0.0, 0.9, 0.05)
        self.step = float_slider("step", start["step"], 0.0, 2.0, 0.05)
        self.retention = float_slider("retention", start["alpha"], 0.8, 1.0, 0.01)
        self.rule = dropdown("rule", RULES, start["rule"], width="260px")
        self._start([self.pairs, self.correlation, self.step, self.retention, self.rule])

    def render(self) -> tuple[str, list]:
        n, c, step, alpha, rule = (self.pairs.value, self.correlation.value, self.step.value,
                                   self.retention.value, self.rule.value)
        errors = retrieval_errors(n, c, step, rule, dim=self.dim, alpha=alpha, seed=self.seed)
        fig = render_retrieval(n, c, step, rule, dim=self.dim, alpha=alpha, seed=self.seed, errors=errors)
        mean = float(errors.mean())
        note = "" if math.isfinite(mean) else " (the memory diverged: lower the step)"
        text = (f"{rule}: {n} pairs, correlation {c:.2f}, step {step:.2f}, retention {alpha:.2f}"
                f" -> mean retrieval error = {mean:.4f}{note}")
        return text, [fig]


def explore_associative_memory(**initial: Any) -> AssociativeMemoryExplorer:
    """Explore retrieval error of a Hebbian, delta-rule or Titans memory (notebook 01, §5).

    Move ``pairs`` past 32 (the key width) to leave capacity, raise ``correlation`` to make keys
    alike, change ``step`` (eta, or theta for Titans) and ``retention`` (alpha). Keyword
    arguments set the start values (``n_pairs``, ``correlation``, ``step``, ``rule``, ``alpha``).
    """
    return AssociativeMemoryExplorer(**initial)
