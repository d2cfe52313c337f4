"""Reading a text through a whole model, call after call, with the recorder attached (notebook 07, §4).

A language model of :func:`hope_lite.models.build_model` declares its in-context levels
(``levels_of(model)``: the self-modifying Titans memories and the CMS levels of every block, each
with its period). :class:`LevelStream` reads a text in calls of ``chunk`` tokens, carrying the
model's state from call to call, under an :class:`~hope_lite.levels.UpdateRecorder`, so that every
real update is recorded at its stream position, and compares the recorded counts with what the
declared periods predict. :func:`.figures.render_level_stream` draws it; the chapter's explorer
(:class:`.explorer.HopeLevelsExplorer`) reads a stream live.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from hope_lite import Level, UpdateRecorder, levels_of

from .._args import require_int

__all__ = ["HOPE_LEVELS_EXPLORER_DEFAULTS", "stream_tokens", "LevelStream"]


HOPE_LEVELS_EXPLORER_DEFAULTS: dict[str, Any] = {"chunk": 64, "calls": 4, "blocks": "block 0"}
"""Start values of :class:`.explorer.HopeLevelsExplorer`: tokens per call, calls read, the block shown (one block
at a time, so the rows stay readable on a projector; ``"all"`` shows every block)."""


def stream_tokens(model: torch.nn.Module) -> int:
    """A stream length that shows every level of ``model`` at work: at least 256 tokens, at least its longest period."""
    periods = [lv.period for lv in levels_of(model) if lv.clock == "tokens"]
    return max([256, *periods])


class LevelStream:
    """Read ``ids`` through ``model`` in calls of ``chunk`` tokens, carrying the state, under an UpdateRecorder.

    Every token-clock level the model declares (``levels_of``) is listed in ``.levels``; the
    recorder (``.recorder``) sees each real update, at its stream position. ``expected()`` is what
    the declared periods predict after ``.position`` tokens: ``position // period`` updates per level
    (a level of period C updates at stream positions C - 1, 2C - 1, ..., whatever the calls' sizes).
    ``.bits`` holds the next-byte loss (bits per byte) of each call.
    """

    def __init__(self, model: torch.nn.Module, ids: Tensor, chunk: int = 64) -> None:
        if not torch.is_tensor(ids) or ids.dim() != 1 or ids.numel() < 2:
            raise ValueError("ids must be a 1-D tensor of at least 2 token ids (e.g. BYTES.encode(text)).")
        self.model, self.ids, self.chunk = model, ids.long(), require_int("chunk", chunk)
        self.levels: list[Level] = [lv for lv in levels_of(model) if lv.clock == "tokens"]
        self.recorder = UpdateRecorder(model)
        self.state: Any = None
        self.position = 0
        self.calls: list[int] = []        # stream position at the end of each call
        self.bits: list[float] = []

    @property
    def capacity(self) -> int:
        """How many tokens can be read (the last token has no next byte to score)."""
        return self.ids.numel() - 1

    @torch.no_grad()
    def read(self, calls: int = 1) -> int:
        """Read up to ``calls`` more calls of ``chunk`` tokens (fewer at the end of the text); returns the position."""
        was_training = self.model.training
        self.model.eval()
        try:
            for _ in range(calls):
                n = min(self.chunk, self.capacity - self.position)
                if n <= 0:
                    break
                x = self.ids[self.position:self.position + n + 1]
                with self.recorder:
                    logits, self.state = self.model(x[None, :-1], state=self.state)
                loss = F.cross_entropy(logits[0].float(), x[1:]).item()
                self.position += n
                self.calls.append(self.position)
                self.bits.append(loss / math.log(2))
        finally:
            self.model.train(was_training)
        return self.position

    def names(self) -> list[str]:
        return [lv.qualified_name for lv in self.levels]

    def counts(self) -> list[int]:
        """Recorded updates per level (in the order of ``.levels``)."""
        counts = self.recorder.counts()
        return [counts.get(n, 0) for n in self.names()]

    def expected(self) -> list[int]:
        """Updates the declared periods predict after ``.position`` tokens: position // period, per level."""
        return [self.position // lv.period for lv in self.levels]
