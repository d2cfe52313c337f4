"""The explorer of notebook 02 (§5): the levels of a model + deep optimizer, from a real recorded run."""

from __future__ import annotations

from typing import Any

from ..ch00_levels.figures import render_levels
from ..explorer import Explorer, dropdown, int_slider, png_base64
from .experiments import NESTED_EXPLORER_DEFAULTS, NESTED_MEMORIES, NESTED_OPTIMIZERS, nested_training_run
from .figures import render_step_timeline

__all__ = ["NestedLevelsExplorer", "explore_nested_levels"]


class NestedLevelsExplorer(Explorer):
    """Train a tiny model under an UpdateRecorder and draw its levels from the records (notebook 02, §5).

    Children, in order: Dropdown ``optimizer`` (:data:`.experiments.NESTED_OPTIMIZERS`), Dropdown
    ``memory`` (hebbian, delta, titans), IntSlider ``slow period`` (M3's slow momentum, DeepMomentum's
    memory; disabled for the others), IntSlider ``chunk`` (the memory's chunk size), IntSlider
    ``steps``, Output. Each change runs :func:`.experiments.nested_training_run` (a real, short
    training) and shows one line of recorded counts, the update timeline
    (:func:`.figures.render_step_timeline`) and the level diagram
    (:func:`..ch00_levels.figures.render_levels` of ``levels_of(model, optimizer)``). The last run is
    kept in ``.run``.
    """

    def __init__(self, *, seed: int = 0, **initial: Any) -> None:
        start = self.settings(NESTED_EXPLORER_DEFAULTS, initial)
        self.seed = seed
        self.optimizer = dropdown("optimizer", NESTED_OPTIMIZERS, start["optimizer"])
        self.memory = dropdown("memory", NESTED_MEMORIES, start["memory"])
        self.period = int_slider("slow period", start["period"], 1, 8)
        self.chunk = int_slider("chunk", start["chunk"], 2, 16)
        self.steps = int_slider("steps", start["steps"], 2, 16)
        self.run: dict | None = None
        self._diagram: tuple = (None, "")  # (levels, PNG): the diagram is re-drawn only when the levels change
        self._start([self.optimizer, self.memory, self.period, self.chunk, self.steps])

    def render(self) -> tuple[str, list]:
        name, memory, period, chunk, steps = (self.optimizer.value, self.memory.value, self.period.value,
                                              self.chunk.value, self.steps.value)
        has_period = name in ("M3", "DeepMomentum")
        self.period.disabled = not has_period
        run = nested_training_run(name, memory=memory, period=period, chunk=chunk, steps=steps, seed=self.seed)
        self.run = run
        counts = run["counts"]
        listed = " · ".join(f"{lv.name} {counts.get(lv.qualified_name, 0)}" for lv in run["levels"])
        setting = f"{name}" + (f" (slow period {period})" if has_period else "")
        losses = run["losses"]
        loss = f"loss {losses[0]:.3f} -> {losses[-1]:.3f}" if len(losses) else "loss -"
        if run["diverged"]:
            loss += f" (diverged after {len(losses)} steps)"
        text = (f"{setting}, {memory} memory (chunk {chunk}), {steps} steps of {run['tokens']} tokens "
                f"-> recorded updates: {listed} | {loss}")
        timeline = render_step_timeline(run["recorder"], run["levels"],
                                        title=f"{setting} training a {memory} memory block (chunk {chunk}): "
                                              "recorded updates")
        levels = tuple(run["levels"])
        if self._diagram[0] != levels:
            diagram = render_levels(levels, title=f"levels_of(model, {name}(...)), fastest first")
            self._diagram = (levels, png_base64(diagram))
        return text, [timeline, self._diagram[1]]


def explore_nested_levels(**initial: Any) -> NestedLevelsExplorer:
    """Explore the levels of a model + deep optimizer, drawn from a real recorded run (notebook 02, §5).

    Pick an optimizer and a memory, move ``slow period`` (M3, DeepMomentum), ``chunk`` (a Titans
    memory updates once per chunk; a linear memory still writes every token) and ``steps``.
    Keyword arguments set the start values (``optimizer``, ``memory``, ``period``, ``chunk``, ``steps``).
    """
    return NestedLevelsExplorer(**initial)
