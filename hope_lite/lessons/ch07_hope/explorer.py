"""The explorer of notebook 07 (§4): every in-context level of a language model updating while it reads."""

from __future__ import annotations

import math
from typing import Any

import ipywidgets as widgets
import torch

from hope_lite import build_model
from hope_lite.data import BYTES, corpus_bytes

from ..explorer import STYLE, Explorer, int_slider
from ..teaching import seeded
from .figures import render_level_stream
from .level_stream import HOPE_LEVELS_EXPLORER_DEFAULTS, LevelStream, stream_tokens

__all__ = ["HopeLevelsExplorer", "explore_hope_levels"]


class HopeLevelsExplorer(Explorer):
    """Read a text through a whole model, call after call, and watch every level update (notebook 07, §4).

    Children, in order: HBox(Play, IntSlider ``calls``), IntSlider ``chunk``, ToggleButtons
    ``blocks`` (``block 0``, ``block 1``, ..., ``all``), Output. The model reads its text in calls
    of ``chunk`` tokens, carrying its state from call to call, with an UpdateRecorder attached
    (:class:`.level_stream.LevelStream`); ``calls`` is how many calls it has made (the Play button
    advances it one call at a time, so the picture fills in live). Raising ``calls`` reads only the
    new calls; lowering it, or a new ``chunk``, starts the stream over.

    Projector-readable: one block is shown at a time (``block 0`` by default; ``all`` shows every
    block, smaller), with the figure's labels in a large font; the check line covers every level of
    every block whatever is shown. The Output shows one line ``read 256 of 1024 tokens in 4 calls
    of 64 | ... | recorded == position // period for 32 of 32 levels | showing block 0 (8 levels) |
    ...`` and :func:`.figures.render_level_stream`. The stream is kept in ``.stream``.
    """

    def __init__(self, model: Any = None, text: Any = None, *, tokens: int | None = None, preset: str = "tiny",
                 seed: int = 0, **initial: Any) -> None:
        start = self.settings(HOPE_LEVELS_EXPLORER_DEFAULTS, initial)
        if model is None:
            with seeded(seed):
                model = build_model("hope", preset)
        if text is None:
            ids = corpus_bytes("pydoc", "validation").long()
        elif isinstance(text, str):
            ids = BYTES.encode(text)
        else:
            ids = torch.as_tensor(text).long().reshape(-1)
        self.model = model
        self.tokens = min(stream_tokens(model) if tokens is None else int(tokens), ids.numel() - 1)
        if self.tokens < 1:
            raise ValueError("the text must hold at least 2 tokens.")
        self.ids = ids[: self.tokens + 1]
        depth = len(getattr(model, "blocks", []))
        options = [f"block {i}" for i in range(depth)] + ["all"]
        if depth == 0 and start["blocks"] == HOPE_LEVELS_EXPLORER_DEFAULTS["blocks"]:
            start["blocks"] = "all"                   # a model without blocks: nothing to choose
        if start["blocks"] not in options:
            raise ValueError(f"blocks must be one of {options}, got {start['blocks']!r}.")
        chunk, top = start["chunk"], min(256, self.tokens)
        if isinstance(chunk, bool) or not isinstance(chunk, int) or not min(8, top) <= chunk <= top:
            raise ValueError(f"chunk must be an int in {min(8, top)}..{top}, got {chunk!r}.")
        most = math.ceil(self.tokens / chunk)
        self.calls = int_slider("calls", min(int(start["calls"]), most), 0, most)
        self.play = widgets.Play(value=self.calls.value, min=0, max=most, step=1, interval=2000,
                                 description="read call after call")
        widgets.jslink((self.play, "value"), (self.calls, "value"))
        self.chunk = int_slider("chunk", chunk, min(8, top), top, step=8)
        for slider in (self.calls, self.chunk):       # wider than the shared default: easier to hit on a projector
            slider.layout.width = "560px"
        self.blocks = widgets.ToggleButtons(options=options, value=start["blocks"], description="show",
                                            style={"description_width": STYLE["description_width"],
                                                   "button_width": "90px", "font_weight": "bold"})
        self.stream: LevelStream | None = None
        self._start([widgets.HBox([self.play, self.calls]), self.chunk, self.blocks],
                    watched=[self.calls, self.chunk, self.blocks])

    def render(self) -> tuple[str, list]:
        chunk = self.chunk.value
        most = math.ceil(self.tokens / chunk)
        with self.quietly():             # a new chunk size changes how many calls the text holds
            for control in (self.calls, self.play):
                control.max = most
            if self.calls.value > most:
                self.calls.value = most
        wanted = self.calls.value
        if self.stream is None or self.stream.chunk != chunk or len(self.stream.calls) > wanted:
            self.stream = LevelStream(self.model, self.ids, chunk)
        self.stream.read(wanted - len(self.stream.calls))
        s = self.stream
        blocks = None if self.blocks.value == "all" else [int(self.blocks.value.split()[1])]
        counts, expected = s.counts(), s.expected()
        equal = sum(c == e for c, e in zip(counts, expected))
        shown = len(counts) if blocks is None else sum(n.startswith(f"blocks.{blocks[0]}.") for n in s.names())
        last = f" | last call: {s.bits[-1]:.2f} bits/byte" if s.bits else ""
        text = (f"read {s.position} of {self.tokens} tokens in {len(s.calls)} calls of {chunk} | "
                f"{sum(counts)} updates of {len(counts)} levels recorded | recorded == position // period "
                f"for {equal} of {len(counts)} levels | showing {self.blocks.value} ({shown} levels){last}")
        if not s.levels:
            return text + " | this model has no in-context levels", [_empty_figure()]
        where = "every block" if blocks is None else f"block {blocks[0]}"
        fig = render_level_stream(s, tokens=self.tokens, blocks=blocks,
                                  title=f"{getattr(self.model, 'kind', type(self.model).__name__)}, {where}: "
                                        f"{s.position} of {self.tokens} tokens read in calls of {chunk}")
        return text, [fig]


def _empty_figure():
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(4, 0.5))
    plt.close(fig)
    return fig


def explore_hope_levels(model: Any = None, text: Any = None, **initial: Any) -> HopeLevelsExplorer:
    """Watch every in-context level of a language model update while it reads a text (notebook 07, §4).

    ``model``: a model of :func:`hope_lite.models.build_model` (default: an untrained tiny HOPE);
    ``text``: a str, or token ids (default: the pydoc validation text). Move ``calls`` (or press
    Play) to read call after call, ``chunk`` to change the tokens per call (the update times stay
    the same: every level counts tokens from the start of the stream), ``blocks`` to show one
    block. Keyword arguments: ``tokens`` (length of the stream), and the start values ``chunk``,
    ``calls``, ``blocks``.
    """
    return HopeLevelsExplorer(model, text, **initial)
