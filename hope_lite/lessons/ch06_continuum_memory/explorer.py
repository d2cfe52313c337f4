"""The explorer of notebook 06 (§3): a Continuum Memory System's spectrum of update frequencies, recorded."""

from __future__ import annotations

import math
from typing import Any

from ..explorer import Explorer, dropdown, int_slider
from .experiments import CMS_TIMELINE_EXPLORER_DEFAULTS, timeline_run
from .figures import explorer_periods, timeline_figure

__all__ = ["CMSTimelineExplorer", "explore_cms_timeline"]


class CMSTimelineExplorer(Explorer):
    """Number of levels and each level's period -> which level updates at which token (notebook 06, §3).

    Children, in order: IntSlider ``levels`` (1-4), IntSlider ``log2 C1`` ... ``log2 C4`` (level l's
    period is 2 to that power), IntSlider ``tokens``, Dropdown ``max_update`` (the clip of every
    level's mean chunk gradient: :data:`CLIPS`), Output. Periods must be listed fastest first,
    each a multiple of the one before; with powers of two that means strictly increasing exponents,
    so the explorer **repairs** the exponents (raises a level's exponent to one above the level
    before; lowers them from the top if the last passes the maximum), moves the sliders to the
    repaired values and says so. Sliders of levels beyond ``levels`` are disabled. Each change runs
    :func:`.experiments.timeline_run` (one real forward pass of a ContinuumMemory under an
    UpdateRecorder, task A then task B) and shows one line ``recorded updates per level: L1=64
    L2=16 L3=4 | ... | clipped: L1=.. L2=.. L3=..`` and :func:`.figures.timeline_figure` (the lower
    panel: the step each update asked for before the clip, clipped ones hollow). The last run is
    kept in ``.run``.
    """

    MAX_LEVELS = 4
    MAX_EXPONENT = 9
    #: the clip choices: (label, max_update); None switches the clip off
    CLIPS = (("1 (library default)", 1.0), ("4", 4.0), ("off", None))

    def __init__(self, **initial: Any) -> None:
        start = self.settings(CMS_TIMELINE_EXPLORER_DEFAULTS, initial)
        exps = list(start["exponents"])
        if len(exps) != self.MAX_LEVELS or not all(isinstance(e, int) and 0 <= e <= self.MAX_EXPONENT for e in exps):
            raise ValueError(f"exponents must be {self.MAX_LEVELS} ints in 0..{self.MAX_EXPONENT}, got {exps!r}.")
        if not (isinstance(start["levels"], int) and 1 <= start["levels"] <= self.MAX_LEVELS):
            raise ValueError(f"levels must be an int in 1..{self.MAX_LEVELS}, got {start['levels']!r}.")
        self.levels = int_slider("levels", start["levels"], 1, self.MAX_LEVELS)
        self.exponents = [int_slider(f"log2 C{i + 1}", e, 0, self.MAX_EXPONENT) for i, e in enumerate(exps)]
        self.tokens = int_slider("tokens", start["tokens"], 32, 512, step=32)
        if start["max_update"] not in [value for _, value in self.CLIPS]:
            raise ValueError(f"max_update must be one of {[value for _, value in self.CLIPS]}, "
                             f"got {start['max_update']!r}.")
        self.clip = dropdown("max_update", self.CLIPS, start["max_update"], width="260px")
        self.run: dict | None = None
        self._start([self.levels, *self.exponents, self.tokens, self.clip])

    def periods(self) -> tuple[tuple[int, ...], bool]:
        """The periods the controls ask for, repaired (see the class docstring); (periods, repaired?)."""
        return explorer_periods(self.levels.value, [s.value for s in self.exponents], self.MAX_EXPONENT)

    def render(self) -> tuple[str, list]:
        n = self.levels.value
        periods, repaired = self.periods()
        with self.quietly():            # move the sliders to the repaired values without re-running
            for i, s in enumerate(self.exponents):
                s.disabled = i >= n
                if i < n:
                    s.value = int(math.log2(periods[i]))
        tokens = self.tokens.value
        run = timeline_run(periods, tokens, max_update=self.clip.value)
        self.run = run
        counts = " ".join(f"L{i + 1}={c}" for i, c in enumerate(run["counts"]))
        cut = " ".join(f"L{i + 1}={int(run['clipped'][name].sum())}" for i, name in enumerate(run["names"]))
        frozen = [f"L{i + 1}" for i, p in enumerate(periods) if p > tokens]
        note = " | repaired: each period must be a larger multiple of the one before" if repaired else ""
        if frozen:
            note += f" | {', '.join(frozen)} never update{'s' if len(frozen) == 1 else ''} (period > tokens)"
        clip = ("no clip" if run["clip_limit"] is None else
                f"clipped (asked for more than η·max_update = {run['clip_limit']:g}): {cut}")
        text = (f"recorded updates per level: {counts} | periods {', '.join(map(str, periods))} | "
                f"{tokens} tokens | {clip}{note}")
        fig = timeline_figure(run, title=f"ContinuumMemory{periods}: recorded updates in one forward pass "
                                         f"(task A, then task B)")
        return text, [fig]


def explore_cms_timeline(**initial: Any) -> CMSTimelineExplorer:
    """Explore a Continuum Memory System's spectrum of update frequencies (notebook 06, §3).

    Move ``levels`` (1-4), each level's period (as log2 C: periods are powers of two, each a
    multiple of the one before; the explorer repairs them) and ``tokens``; the heat map is drawn
    from the updates an UpdateRecorder saw in a real forward pass, and ``max_update``, the clip of
    every update. Keyword arguments set the start values (``levels``, ``exponents`` (four ints),
    ``tokens``, ``max_update``: 1.0, 4.0 or None).
    """
    return CMSTimelineExplorer(**initial)
