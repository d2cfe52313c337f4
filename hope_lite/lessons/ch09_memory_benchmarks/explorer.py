"""The explorer of notebook 09: replay the stream A | B | A and see, level by level, what each memory keeps."""

from __future__ import annotations

from typing import Any

from ..explorer import Explorer, dropdown, int_slider
from . import spectrum as sp
from .figures import render_replay, replay

__all__ = ["SPECTRUM_EXPLORER_DEFAULTS", "SpectrumExplorer", "explore_spectrum"]

#: the start values: the CMS, unchanged, seed 0 (the static preview figures/09-spectrum-explorer.png)
SPECTRUM_EXPLORER_DEFAULTS = {"learner": "cms", "change": "none", "seed": 0}


def change_options(levels: int) -> list[tuple[str, str]]:
    """The change dropdown's (label, value) pairs for a memory of ``levels`` levels: none, then freeze / reset each."""
    options = [("none", "none")]
    for kind, words in (("freeze", "frozen during B"), ("reset", "reset at the return")):
        options += [(f"level {l + 1} {words}", f"{kind} {l}") for l in range(levels)]
    return options


class SpectrumExplorer(Explorer):
    """Replay one learner of the designed experiment on one seed's stream (notebook 09, §4).

    Children, in order: Dropdown ``learner`` (:data:`.spectrum.LEARNERS`, labels shown), Dropdown ``change``
    (``"none"``, ``"freeze L"`` / ``"reset L"`` with L the 0-based level, fastest first), IntSlider ``seed``
    (0..``max_seed``), Output. The Output shows one line -- the error on A at the end of A, at the return and
    over the return, the error on B during B, and how often each level updated in A / B / A again -- then
    :func:`.figures.render_replay` of the run. Runs are computed on demand (a second or two at the chapter's
    setting) and kept, so going back to a choice is instant. After every update ``.text`` holds the line.
    """

    def __init__(self, setting: dict | None = None, max_seed: int = 2, **initial: Any) -> None:
        start = self.settings(SPECTRUM_EXPLORER_DEFAULTS, initial)
        self.setting = sp.check_setting(setting or {})
        self.runs: dict[tuple, dict] = {}
        levels = len(self.setting["periods"])
        self.learner = dropdown("learner", [(sp.LABELS[name], name) for name in sp.LEARNERS], start["learner"])
        values = [value for _, value in change_options(levels)]
        if start["change"] not in values:
            raise ValueError(f"change must be one of {values}, got {start['change']!r}.")
        self.change = dropdown("change", change_options(levels), start["change"], width="340px")
        self.seed = int_slider("seed", start["seed"], 0, max_seed)
        self._start([self.learner, self.change, self.seed])

    def _levels_of(self, learner: str) -> int:
        return len(sp.level_rates(learner, self.setting)[0])

    def render(self) -> tuple[str, list]:
        learner, seed = self.learner.value, int(self.seed.value)
        levels = self._levels_of(learner)
        if len(self.change.options) != len(change_options(levels)):        # a one-level memory: fewer changes
            with self.quietly():
                self.change.options = change_options(levels)
                self.change.value = "none"
        kind, _, level = self.change.value.partition(" ")
        change = None if kind == "none" else (kind, int(level))
        key = (learner, change, seed)
        if key not in self.runs:
            self.runs[key] = replay(learner, change, seed, self.setting)
        run = self.runs[key]
        phases = [sp.updates_per_phase(p, run["switch"], run["return"], run["tokens"][-1]) for p in run["periods"]]
        counts = "; ".join(f"level {l + 1}: {' / '.join(map(str, n))}" for l, n in enumerate(phases))
        text = (f"{sp.LABELS[learner]}{'' if change is None else ' · ' + self.change.label}, seed {seed}: error on A "
                f"{run['a_end_of_a']:.3f} at the end of A, {run['a_at_return']:.3f} at the return, "
                f"{run['a_return_phase']:.3f} over the return; on B {run['b_during']:.3f} during B | updates in "
                f"A / B / A again: {counts}")
        return text, [render_replay(run)]


def explore_spectrum(setting: dict | None = None, max_seed: int = 2, **initial: Any) -> SpectrumExplorer:
    """Replay the stream A | B | A of the designed experiment, one learner and one change at a time.

    ``setting``: overrides of :data:`.spectrum.SPECTRUM` (the notebook's FAST mode passes
    :data:`.spectrum.FAST`). Keyword arguments: the start values ``learner``, ``change`` (``"none"``,
    ``"freeze 2"``, ``"reset 0"``, ...) and ``seed``.
    """
    return SpectrumExplorer(setting, max_seed, **initial)
