"""Continuum Memory System: a spectrum of MLP memories, each updating at its own period (docs/paper.md §5).

A CMS is a chain of MLP blocks ``MLP^(1), ..., MLP^(K)`` ordered **fastest first**, with update
periods (chunk sizes) ``C_1 < C_2 < ... < C_K``, each a multiple of the one before. Inside a
sequence, tokens are the clock: block l keeps its weights frozen for C_l tokens, accumulates the
gradient of its objective over them, and applies it once at the chunk's last token (eq 71)::

    g = (1 / C_l) * sum_{t in chunk} grad L_l(theta^(l); x_t)                     (chunk-start weights)
    theta^(l) <- theta^(l) - eta_l * clip(g)     if (t + 1) % C_l == 0, else unchanged

(eq 71 with eta_t = eta_l / C_l: the mean gradient of the chunk, so a level with a long chunk
does not take a C-times larger step). ``clip`` scales g to norm ``max_update`` at most (default
1.0; not in the paper): plain gradient steps on an MLP diverge once its weights grow, and a
bounded step keeps every level finite on any stream.

**The objective that drives the in-context updates** (the paper only says "grad L", docs/paper.md
§9.8): each block is an associative memory of its own input stream. Its key is its normalised
input n_t (scaled to unit length), read exactly as an FFN reads it; its value is a static, outer-learned projection of
the same input, so the MLP learns in context to map each input to what the outer loop decided it
should be mapped to::

    k_t = n_t / sqrt(d),   v_t = n_t W_v,   L_l(theta; x_t) = 1/2 |MLP_theta(k_t) - v_t|^2
    block output  h_t + MLP_theta(k_t)          (a residual FFN whose weights learn in context)

W_v and the initial weights theta_0 are trained by the outer optimizer through the unrolled
updates (nothing is detached), so the outer loop decides *what* each level stores. (One value
projection per level and no key projection keeps a level at d^2 + 2 d h parameters, so a CMS
can match an FFN's parameter budget with useful hidden widths.)

**State and reset rule**: the fast weights live in a per-sequence state. ``state=None`` starts a
sequence from the meta-learned theta_0 (reset); passing the returned state carries every level on
(streaming), and two calls equal one call. A level whose period is at least the sequence length
is a frozen MLP inside it: with period T exactly, its one update falls on the last token, which no
output of the sequence reads (it matters to the next call of a carried state).

**Variants** (AX eqs 72-74):

* ``"sequential"`` (default, eq 73): blocks chained, each reads the previous one's output.
* ``"independent"`` (eq 74): every block reads the CMS input; outputs are aggregated by a learned
  softmax-weighted sum.
* ``"nested"`` (eq 72): chained like sequential, and whenever a slower level updates, the level
  just faster than it restarts from the slower level's new weights: the slow level provides the
  initial state of the fast one's next context.

The computation is one batched step per chunk: inside a chunk a level's weights are frozen, so
its outputs and accumulated gradient are plain batched matrix products. Sequential and independent
CMS run one level at a time over the whole input (level l takes T / C_l steps); nested CMS, whose
slow levels reset the fast ones, advances all levels together in chunks of the fastest period.
The Python loop runs over chunks, never over tokens. A per-token reference path
(``path="reference"``) computes the same numbers one token at a time.

Introduced in notebook 06.
"""

from __future__ import annotations

import math
import dataclasses
from typing import Any, Sequence

import torch
from torch import Tensor, nn

from . import checks
from .chunking import ChunkClock, UpdateLog, recomputes, run_piece
from .deep_memory import autograd_inner_gradient, clip_gradients, mlp_forward, mlp_surprise_factors
from .layers import check_input_matches, rms_norm
from .levels import Level
from .state import MemoryState, Shape, check_state, state_dtype

__all__ = ["CMSBlock", "ContinuumMemory", "CMSLevelState", "CMSState", "VARIANTS", "frozen_read", "frozen_output"]

VARIANTS = ("sequential", "independent", "nested")


@dataclasses.dataclass
class CMSLevelState(MemoryState):
    """One level's state: its MLP weights and the gradient summed over the open chunk, per layer (B, d_out, d_in)."""

    weights: list[Tensor]
    gradient: list[Tensor]


@dataclasses.dataclass
class CMSState(MemoryState):
    """A CMS's state: every level's, fastest first, and the tokens written (each level's clock is position % period)."""

    levels: list[CMSLevelState]
    position: int = 0


def _check_periods(periods: Any) -> tuple[int, ...]:
    if isinstance(periods, (int, str)) or not isinstance(periods, Sequence) or len(periods) == 0:
        raise ValueError(f"periods must be a non-empty list of ints, fastest first (e.g. [16, 64, 256]), "
                         f"got {periods!r}.")
    for p in periods:
        if isinstance(p, bool) or not isinstance(p, int) or p < 1:
            raise ValueError(f"every period must be an int >= 1, got {p!r} in periods={list(periods)}.")
    for fast, slow in zip(periods[:-1], periods[1:]):
        if slow <= fast or slow % fast:
            raise ValueError(
                f"periods must be listed fastest first, each a multiple of the one before (e.g. [16, 64, 256]); "
                f"got {list(periods)} ({slow} after {fast}).")
    return tuple(periods)


class CMSBlock(nn.Module):
    """One CMS level: a 2-layer MLP memory ``W_2 silu(W_1 k)`` whose weights update every ``period`` tokens.

    Outer-learned: the input norm gain, W_v and the initial weights theta_0 = (W_1, W_2).
    In context: theta, by the mean gradient of 1/2|MLP_theta(k_t) - v_t|^2 over each chunk.
    """

    def __init__(self, width: int, hidden: int, period: int, learning_rate: float,
                 max_update: float | None = 1.0) -> None:
        super().__init__()
        self.width, self.hidden, self.period = width, hidden, period
        self.learning_rate, self.max_update = learning_rate, max_update
        self.norm = nn.Parameter(torch.ones(width))
        self.value = nn.Parameter(torch.randn(width, width) / math.sqrt(width))
        self.initial_weights = nn.ParameterList([
            nn.Parameter(torch.randn(hidden, width)),                             # W_1 (unit-length keys)
            nn.Parameter(0.5 * torch.randn(width, hidden) / math.sqrt(hidden)),   # W_2
        ])

    def declared_levels(self) -> list[Level]:
        return [Level("memory", "tokens", self.period, "its input stream (k_t, v_t) = (n_t, n_t W_v)",
                      "1/2 |MLP(k) - v|^2",
                      f"theta <- theta - eta/C * sum_chunk grad, every {self.period} tokens")]

    def keys_values(self, h: Tensor) -> tuple[Tensor, Tensor]:
        """Block input (B, n, width) -> keys (the normalised input, unit length) and values (B, n, width)."""
        n = rms_norm(h, self.norm)
        return n / math.sqrt(self.width), n @ self.value

    def init_state(self, batch: int, dtype: torch.dtype) -> CMSLevelState:
        weights = [w.to(dtype).expand(batch, *w.shape) for w in self.initial_weights]
        return CMSLevelState(weights, [torch.zeros_like(w) for w in weights])

    def read(self, weights: list[Tensor], k: Tensor) -> Tensor:
        return mlp_forward(weights, k, residual=False)

    def chunk_gradient(self, weights: list[Tensor], k: Tensor, v: Tensor) -> list[Tensor]:
        """sum_i grad 1/2|MLP(k_i) - v_i|^2 over the tokens of k, v (B, n, width): one batched step."""
        return self.read_and_gradient(weights, k, v)[1]

    def read_and_gradient(self, weights: list[Tensor], k: Tensor, v: Tensor) -> tuple[Tensor, list[Tensor]]:
        """MLP(k) and the summed gradient of the chunk from one forward pass (the read is MLP(k) = delta + v)."""
        zs, deltas = mlp_surprise_factors(weights, k, v, residual=False)
        grads = [torch.bmm(d.transpose(1, 2), z) for z, d in zip(zs, deltas)]                 # (B, d_out, d_in)
        return deltas[-1] + v, grads                                                          # read (B, n, w)

    def accumulate(self, st: CMSLevelState, grads: list[Tensor]) -> CMSLevelState:
        """Add a piece's summed gradient to the open chunk's; the weights stay frozen."""
        return CMSLevelState(st.weights, [a + g for a, g in zip(st.gradient, grads)])

    def update(self, st: CMSLevelState) -> CMSLevelState:
        """Eq 71 at a chunk's end: theta <- theta - eta * clip(accumulated gradient / C); the accumulator restarts."""
        mean = clip_gradients([g / self.period for g in st.gradient], self.max_update)
        weights = [w - self.learning_rate * g for w, g in zip(st.weights, mean)]
        return CMSLevelState(weights, [torch.zeros_like(w) for w in weights])


class ContinuumMemory(nn.Module):
    """A Continuum Memory System: ``len(periods)`` MLP memories, fastest first (see the module docstring).

    Args:
        width: model width.
        periods: update period of each level in tokens, fastest first, each a multiple of the one
            before, e.g. ``(16, 64, 256)``.
        hidden: hidden width of every level's MLP (default 4 * width).
        learning_rates: in-context learning rate of each level (default 0.1 each), one per period.
        variant: ``"sequential"`` (default), ``"independent"`` or ``"nested"``.
        max_update: every level's mean chunk gradient is clipped to this norm (None: no clip).

    ``forward(x, *, state=None, path="chunked") -> (y, state)`` with x, y of shape (B, T, width).
    """

    def __init__(self, width: int, periods: Sequence[int] = (16, 64, 256), *, hidden: int | None = None,
                 learning_rates: Sequence[float] | None = None, variant: str = "sequential",
                 max_update: float | None = 1.0) -> None:
        super().__init__()
        checks.positive_int("width", width)
        self.periods = _check_periods(periods)
        hidden = checks.positive_int("hidden", 4 * width if hidden is None else hidden)
        if learning_rates is None:
            learning_rates = [0.1] * len(self.periods)
        if isinstance(learning_rates, (int, float)) or len(learning_rates) != len(self.periods):
            raise ValueError(f"learning_rates must give one rate per level ({len(self.periods)}), got {learning_rates!r}.")
        for lr in learning_rates:
            if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not (0 <= lr < math.inf):
                raise ValueError(f"every learning rate must be a finite number >= 0, got {lr!r}.")
        checks.optional_positive_finite("max_update", max_update, "no clipping")
        checks.choice("variant", variant, VARIANTS)
        self.width, self.variant = width, variant
        self.blocks = nn.ModuleList(CMSBlock(width, hidden, p, float(lr), max_update)
                                    for p, lr in zip(self.periods, learning_rates))
        # eq 74's aggregation: softmax weights over the levels, equal at initialisation
        self.mix = nn.Parameter(torch.zeros(len(self.periods))) if variant == "independent" else None
        # activation checkpointing per chunk (hope_lite.chunking.run_piece): same numbers, less memory
        self.recompute_chunks: bool | str = False

    def aggregate(self, x: Tensor, contributions: list[Tensor]) -> Tensor:
        """Eq 74, the independent CMS's output: ``x + sum_l softmax(mix)_l * MLP_l(x)``."""
        return x + sum(w * c for w, c in zip(torch.softmax(self.mix, 0), contributions))

    def init_state(self, batch: int, dtype: torch.dtype = torch.float32) -> CMSState:
        return CMSState([b.init_state(batch, dtype) for b in self.blocks])

    def state_spec(self, batch: int) -> CMSState:
        """What a carried state must look like for ``batch`` sequences (see :func:`~hope_lite.state.check_state`)."""
        def level(block: CMSBlock) -> CMSLevelState:
            weights = [Shape((batch,), (block.hidden, block.width)), Shape((batch,), (block.width, block.hidden))]
            return CMSLevelState(weights, list(weights))
        return CMSState([level(b) for b in self.blocks])

    # -- forward ------------------------------------------------------------------------------
    def forward(self, x: Tensor, *, state: CMSState | None = None, path: str = "chunked") -> tuple[Tensor, CMSState]:
        checks.check_sequence_input(x, self.width, path)
        check_input_matches(x, self.blocks[0].value, "ContinuumMemory")
        if state is None:
            state = self.init_state(x.shape[0], x.dtype)
        else:
            check_state(state, self.state_spec(x.shape[0]), "ContinuumMemory", device=x.device, dtype=state_dtype(x))
        if path == "reference":
            return self._reference(x, state)
        if self.variant == "nested":
            return self._run(x, state, self.periods[0])
        return self._run_levelwise(x, state)

    def _run_levelwise(self, x: Tensor, state: CMSState) -> tuple[Tensor, CMSState]:
        """Sequential and independent CMS: one level at a time over the whole input, in its own chunks.

        A level never reads a slower level, so each can finish the sequence before the next starts,
        and level l runs T / C_l batched steps (not T / C_1): slow levels take few, large steps.
        """
        start, T = state.position, x.shape[1]
        levels, h, contributions = list(state.levels), x, []
        recompute = recomputes(self.recompute_chunks, T)
        for i, block in enumerate(self.blocks):
            k, v = block.keys_values(x if self.variant == "independent" else h)        # (B, T, width)
            clock, log, st, outs = ChunkClock(block.period, start, start % block.period), UpdateLog(), levels[i], []
            sizes = clock.sizes(T)
            for kc, vc in zip(k.split(sizes, dim=1), v.split(sizes, dim=1)):
                out, grads = run_piece(block.read_and_gradient, st.weights, kc, vc,   # frozen inside the chunk
                                       recompute=recompute)
                st = block.accumulate(st, grads)
                outs.append(out)
                if clock.tick(kc.shape[1]):                                          # eq 71 at the chunk's end
                    old, st = st.weights, block.update(st)
                    log.add(clock.position, st.weights, old)
            log.flush(block)
            levels[i] = st
            out = torch.cat(outs, dim=1)
            if self.variant == "independent":
                contributions.append(out)
            else:
                h = h + out
        if self.variant == "independent":
            h = self.aggregate(x, contributions)
        return h, CMSState(levels, start + T)

    def _reference(self, x: Tensor, state: CMSState) -> tuple[Tensor, CMSState]:
        """Eq 71 one token at a time, gradients by autograd: read, accumulate, update at period ends."""
        levels, pos, ys = list(state.levels), state.position, []
        logs = [UpdateLog() for _ in self.blocks]
        for t in range(x.shape[1]):
            xt = x[:, t:t + 1]                                                     # (B, 1, width)
            h, contributions = xt, []
            for i, block in enumerate(self.blocks):
                k, v = block.keys_values(xt if self.variant == "independent" else h)
                out = block.read(levels[i].weights, k)
                grads = autograd_inner_gradient(levels[i].weights, k, v, residual=False)
                levels[i] = block.accumulate(levels[i], grads)
                contributions.append(out)
                h = h + out
            if self.variant == "independent":
                h = self.aggregate(xt, contributions)
            ys.append(h)
            pos += 1
            levels = self._end_of_token(levels, pos, logs)
        for block, log in zip(self.blocks, logs):
            log.flush(block)
        return torch.cat(ys, dim=1), CMSState(levels, pos)

    def _end_of_token(self, levels: list[CMSLevelState], pos: int, logs: list[UpdateLog]) -> list[CMSLevelState]:
        """After token ``pos - 1``: every level whose period ends there updates (eq 71); nested CMS resets (eq 72)."""
        levels = list(levels)
        updated = [i for i, block in enumerate(self.blocks) if pos % block.period == 0]
        for i in updated:
            old, levels[i] = levels[i].weights, self.blocks[i].update(levels[i])
            logs[i].add(pos, levels[i].weights, old)
        if self.variant == "nested":
            # eq 72: the slower level hands its new weights to the next faster one, whose context
            # (one chunk of the slower level) has just ended, as that one's next initial state;
            # slowest first, so a reset cascades down to every faster level whose context ended
            for i in reversed(updated):
                if i > 0:
                    levels[i - 1] = CMSLevelState(list(levels[i].weights),
                                                  [torch.zeros_like(w) for w in levels[i].weights])
        return levels

    def _run(self, x: Tensor, state: CMSState, tick: int) -> tuple[Tensor, CMSState]:
        """Nested CMS: advance every level over ``x`` in ticks of ``tick`` tokens (the fastest period).

        A slower level's update resets a faster one, so the levels advance together, tick by tick.
        Ticks never straddle a period boundary: the first tick finishes the tick left open by a
        previous call, so every level's update falls on the last token of a tick.
        """
        clock = ChunkClock(tick, state.position, state.position % tick)
        levels, logs, outputs = list(state.levels), [UpdateLog() for _ in self.blocks], []
        recompute = recomputes(self.recompute_chunks, x.shape[1])
        for xc in x.split(clock.sizes(x.shape[1]), dim=1):
            clock.tick(xc.shape[1])
            h, contributions = xc, []
            for i, block in enumerate(self.blocks):
                k, v = block.keys_values(xc if self.variant == "independent" else h)
                out, grads = run_piece(block.read_and_gradient, levels[i].weights, k, v,   # frozen in the chunk
                                       recompute=recompute)
                levels[i] = block.accumulate(levels[i], grads)
                if self.variant == "independent":
                    contributions.append(out)
                else:
                    h = h + out
            if self.variant == "independent":
                h = self.aggregate(xc, contributions)
            outputs.append(h)
            levels = self._end_of_token(levels, clock.position, logs)
        for block, log in zip(self.blocks, logs):
            log.flush(block)
        return torch.cat(outputs, dim=1), CMSState(levels, clock.position)


def frozen_read(cms: ContinuumMemory, state: CMSState, x: Tensor) -> Tensor:
    """The CMS output on ``x`` with every level's weights frozen at ``state`` (nothing is written)."""
    h, contributions = x, []
    for block, st in zip(cms.blocks, state.levels):
        k, _ = block.keys_values(x if cms.variant == "independent" else h)
        out = block.read(st.weights, k)
        if cms.variant == "independent":
            contributions.append(out)
        else:
            h = h + out
    if cms.variant == "independent":
        return cms.aggregate(x, contributions)
    return h


def frozen_output(cms: ContinuumMemory, x: Tensor) -> Tensor:
    """What the CMS computes with every level frozen at its initial weights (no in-context update)."""
    return frozen_read(cms, cms.init_state(x.shape[0], x.dtype), x)
