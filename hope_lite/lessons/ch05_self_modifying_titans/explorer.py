"""The explorer of notebook 05 (§6): each memory's update magnitudes over the tokens of one forward pass."""

from __future__ import annotations

from typing import Any

import torch

from ..explorer import Explorer, int_slider
from .experiments import eval_batch, make_remap_model
from .figures import (MEMORY_LEVELS, SELF_MODIFICATION_EXPLORER_DEFAULTS, render_update_magnitudes, token_labels,
                      update_magnitudes)

__all__ = ["SelfModificationExplorer", "explore_self_modification"]


class SelfModificationExplorer(Explorer):
    """Each memory's update magnitudes over the tokens of one real forward pass (notebook 05, §6).

    Children, in order: IntSlider ``sequence`` (a held-out remap sequence), IntSlider
    ``projection chunk`` (period of the k, v, eta, alpha memories), IntSlider ``memory chunk``
    (period of the output memory), Output. Each change runs the model once under an
    :class:`~hope_lite.levels.UpdateRecorder` (:func:`.figures.update_magnitudes`) and shows one
    line (updates per memory, mean magnitude, the sequence's answers) and
    :func:`.figures.render_update_magnitudes`. The last records are kept in ``.magnitudes``.
    """

    def __init__(self, model=None, batch=None, **initial: Any) -> None:
        start = self.settings(SELF_MODIFICATION_EXPLORER_DEFAULTS, initial)
        self.model = make_remap_model("self_modifying") if model is None else model
        if not hasattr(getattr(self.model, "layer", None), "projection_chunk_size"):
            raise ValueError("explore_self_modification needs a RemapModel with a SelfModifyingTitans layer.")
        self.batch = eval_batch(16) if batch is None else batch
        n_seq = self.batch.tokens.shape[0]
        if not 0 <= start["sequence"] < n_seq:
            raise ValueError(f"sequence must lie in 0..{n_seq - 1}, got {start['sequence']!r}.")
        style = {"description_width": "110px"}
        self.sequence = int_slider("sequence", start["sequence"], 0, n_seq - 1, style=style)
        self.projection_chunk = int_slider("projection chunk", start["projection_chunk"], 1, 10, style=style)
        self.memory_chunk = int_slider("memory chunk", start["memory_chunk"], 1, 10, style=style)
        self.magnitudes: dict | None = None
        self._start([self.sequence, self.projection_chunk, self.memory_chunk])

    def render(self) -> tuple[str, list]:
        i, pc, mc = self.sequence.value, self.projection_chunk.value, self.memory_chunk.value
        tokens = self.batch.tokens[i]
        mags = update_magnitudes(self.model, tokens, projection_chunk=pc, memory_chunk=mc)
        self.magnitudes = mags
        with torch.no_grad():                                    # the answers at these chunk sizes
            pred = self.model(tokens[None], chunk_size=mc, projection_chunk_size=pc).argmax(-1)[0]
        answers = []
        for phase, name in ((0, "before"), (1, "after")):
            cols = self.batch.phase == phase
            right = int((pred[cols] == self.batch.targets[i, cols]).sum())
            answers.append(f"{right}/{int(cols.sum())} {name}")
        listed = " · ".join(f"{lv} {len(m['times'])}x {m['magnitudes'].mean():.3f}"
                            for lv, m in ((lv, mags[lv]) for lv in MEMORY_LEVELS if lv in mags))
        text = (f"sequence {i}, projection chunk {pc}, memory chunk {mc} -> updates (count x mean |dM|): "
                f"{listed} | right answers: {', '.join(answers)} the switch")
        fig = render_update_magnitudes(mags, tokens=token_labels(tokens), switch=self.batch.switch,
                                       title=f"held-out sequence {i}: every memory's writes in one forward pass")
        return text, [fig]


def explore_self_modification(model=None, batch=None, **initial: Any) -> SelfModificationExplorer:
    """Inspect each memory's update magnitude over tokens, from a real recorded forward pass (notebook 05, §6).

    ``model``: a :class:`.experiments.RemapModel` with a self-modifying layer (default: a fresh,
    untrained one); ``batch``: a :class:`.experiments.RemapBatch` (default: 16 held-out
    sequences). Move ``sequence``, ``projection chunk`` and ``memory chunk``; keyword arguments set
    their start values (``sequence``, ``projection_chunk``, ``memory_chunk``).
    """
    return SelfModificationExplorer(model, batch, **initial)
