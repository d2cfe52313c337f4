"""How a stream is cut into chunks: the chunk clock, decay products inside a chunk, update events.

Every chunked memory in hope_lite works the same way (docs/paper.md §1.6): the stream is cut into
chunks of C tokens; inside a chunk, every inner gradient is taken at the weights of the chunk
start (the *anchor*); at the chunk's last token the anchor moves on, which is one update event of
the memory's level. A stream may arrive in several calls, so a chunk can be left open at the end
of one call and finished by the next: the clock remembers how many tokens of the open chunk are
written (``done``).

Decay products (``prod`` of retention gates between two tokens of a chunk) are built with
``cumprod`` of masked matrices, never as ``exp(cumsum(log a))``: a gate may be exactly 0 (a
saturated sigmoid in float32, or a memory told to forget everything), where the forward pass of
the log form is fine but its gradient is 0 * inf = NaN. ``cumprod``'s backward is exact there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from .levels import active_recorder, record_update

__all__ = ["chunk_sizes", "ChunkClock", "common_pieces", "UpdateLog", "weight_change", "decay_products",
           "suffix_products", "pad_to_chunks", "run_piece", "recomputes", "recompute_setting",
           "RECOMPUTE_FROM_TOKENS", "RECOMPUTE_FLAG"]


def chunk_sizes(T: int, C: int, done: int = 0) -> list[int]:
    """Split T tokens into: the rest of an open chunk (``done`` of its C tokens written), full chunks, a tail."""
    first = min(C - done, T)
    rest = T - first
    return [first] + [C] * (rest // C) + ([rest % C] if rest % C else [])


@dataclass
class ChunkClock:
    """A memory's place in its stream: ``position`` tokens written, ``done`` of them since the anchor.

    ``sizes(T)`` gives the pieces of the next T tokens; ``tick(n)`` advances by one piece and says
    whether it completed a chunk (then the anchor moves to the current weights).
    """

    period: int
    position: int = 0
    done: int = 0

    def sizes(self, T: int) -> list[int]:
        return chunk_sizes(T, self.period, self.done)

    def tick(self, n: int) -> bool:
        self.position += n
        self.done += n
        if self.done == self.period:
            self.done = 0
            return True
        return False


def common_pieces(T: int, *clocks: ChunkClock) -> list[int]:
    """The next T tokens cut at every chunk boundary of every clock (sizes of the pieces)."""
    ends = set()
    for clock in clocks:
        position = 0
        for n in clock.sizes(T):
            position += n
            ends.add(position)
    cuts = [0] + sorted(ends)
    return [b - a for a, b in zip(cuts[:-1], cuts[1:])]


def weight_change(new: list[Tensor], old: list[Tensor], stacked: bool = False) -> Tensor:
    """How far a memory moved: sqrt(sum over its weight tensors of |new - old|^2) per batch row, averaged.

    Weights are (N, ...) per tensor, or (M, N, ...) for M memories stacked (``stacked=True``, one
    value per memory). This is the magnitude every memory logs with its update events.
    """
    lead = 2 if stacked else 1
    return sum((a - b).flatten(lead).pow(2).sum(-1) for a, b in zip(new, old)).sqrt().mean(-1)


@dataclass
class UpdateLog:
    """The update events of one call, collected only while an :class:`~hope_lite.levels.UpdateRecorder` listens."""

    recording: bool = field(default_factory=lambda: active_recorder() is not None)
    times: list[int] = field(default_factory=list)
    magnitudes: list[Tensor] = field(default_factory=list)

    def add(self, position: int, new: list[Tensor], old: list[Tensor], stacked: bool = False) -> None:
        """An update at the token before ``position`` that moved the weights from ``old`` to ``new``."""
        if self.recording:
            self.times.append(position - 1)
            self.magnitudes.append(weight_change(new, old, stacked))

    def flush(self, owner: object, level: str = "memory", index: int | None = None) -> None:
        """Hand the events to the recorder; ``index`` picks one memory of stacked magnitudes."""
        if self.times:
            mags = torch.stack(self.magnitudes)
            record_update(owner, level, "tokens", self.times, mags if index is None else mags[:, index])


def _decay_products_forward(a: Tensor) -> tuple[Tensor, Tensor]:
    n = a.shape[-1]
    later = torch.ones(n, n, dtype=torch.bool, device=a.device).tril(-1)        # l > j
    factors = torch.where(later, a.unsqueeze(-1), torch.ones((), dtype=a.dtype, device=a.device))
    return factors.cumprod_(-2).tril_(), a.cumprod(-1)        # in place: factors is this function's own tensor


class _DecayProducts(torch.autograd.Function):
    """The decay products with their gradient written as one matrix product, exact where a gate is 0.

    dGamma[t, i] / da_j = Gamma[j-1, i] Gamma[t, j] for i < j <= t (the product without a_j, split at j), so
    ``da_j = sum_t Gamma[t, j] (dGamma Gamma^T)[t, j-1]``; likewise d gamma_t / da_j = gamma_{j-1} Gamma[t, j]
    (gamma_{-1} = 1), so ``da_j += gamma_{j-1} (Gamma^T dgamma)_j``. No division by a gate, hence no 0 * inf;
    autograd's own backward of the masked cumprod takes several times as long.
    """

    @staticmethod
    def forward(ctx, a: Tensor) -> tuple[Tensor, Tensor]:
        Gamma, gamma = _decay_products_forward(a)
        ctx.save_for_backward(Gamma, gamma)
        return Gamma, gamma

    @staticmethod
    def backward(ctx, dGamma: Tensor | None, dgamma: Tensor | None) -> Tensor:
        Gamma, gamma = ctx.saved_tensors
        da = torch.zeros_like(gamma)
        if dGamma is not None:
            M = dGamma @ Gamma.transpose(-1, -2)                                # M[t, k] = sum_i dGamma[t, i] Gamma[k, i]
            da[..., 1:] = (Gamma[..., :, 1:] * M[..., :, :-1]).sum(-2)          # column j pairs with column j - 1
        if dgamma is not None:
            before = torch.cat([torch.ones_like(gamma[..., :1]), gamma[..., :-1]], dim=-1)   # gamma_{j-1}
            da = da + before * (Gamma.transpose(-1, -2) @ dgamma.unsqueeze(-1)).squeeze(-1)
        return da


def decay_products(a: Tensor) -> tuple[Tensor, Tensor]:
    """For per-token multipliers a (..., n): Gamma[i, j] = prod_{j<l<=i} a_l (0 for j > i), gamma_i = prod_{l<=i} a_l.

    Gamma is the cumulative product down the rows of F[l, j] = a_l if l > j else 1. Under autograd
    its backward is :class:`_DecayProducts`' (one matrix product, exact at a gate of 0).
    """
    if torch.is_grad_enabled() and a.requires_grad:
        return _DecayProducts.apply(a)
    return _decay_products_forward(a)


def suffix_products(a: Tensor) -> tuple[Tensor, Tensor]:
    """For a (..., n): after_i = prod_{l>i} a_l (the last row of Gamma, without the (n, n) matrix) and prod_l a_l."""
    ones = torch.ones_like(a[..., :1])
    after = torch.cat([a[..., 1:].flip(-1).cumprod(-1).flip(-1), ones], dim=-1)
    return after, after[..., :1] * a[..., :1]


def pad_to_chunks(C: int, *xs: Tensor, pad_values: tuple[float, ...]) -> list[Tensor]:
    """Pad the time dim (dim 1) to a multiple of C and view it as (N, n_chunks, C, ...).

    The caller picks padding values that change nothing (zero write, retention 1); the padded
    outputs are cut off afterwards.
    """
    T = xs[0].shape[1]
    pad = -T % C
    out = []
    for x, value in zip(xs, pad_values):
        if pad:
            filler = x.new_full((x.shape[0], pad, *x.shape[2:]), value)
            x = torch.cat([x, filler], dim=1)
        out.append(x.reshape(x.shape[0], (T + pad) // C, C, *x.shape[2:]))     # not -1: ambiguous for 0 rows
    return out


# recompute_chunks="auto" turns recomputation on for calls this long (tokens): measured on the small
# models (README, "Training memory"), from here on it saves several times the memory for a modest time cost
RECOMPUTE_FROM_TOKENS = 1024
# the command-line words for the settings (the trainer's and the benchmark's --recompute)
RECOMPUTE_FLAG = {"auto": "auto", "on": True, "off": False}


def recompute_setting(value) -> bool | str:
    """Check a ``recompute_chunks`` setting: True, False or "auto" (on for calls of RECOMPUTE_FROM_TOKENS or more)."""
    if value is True or value is False or value == "auto":
        return value
    raise ValueError(f"recompute_chunks must be True, False or 'auto' (on from {RECOMPUTE_FROM_TOKENS} tokens), "
                     f"got {value!r}.")


def recomputes(setting: bool | str, tokens: int) -> bool:
    """Whether a call of ``tokens`` tokens recomputes its pieces under ``setting`` (and autograd is recording)."""
    on = setting is True or (setting == "auto" and tokens >= RECOMPUTE_FROM_TOKENS)
    return on and torch.is_grad_enabled()


def run_piece(fn, *args, recompute: bool = False):
    """``fn(*args)``, one piece of a chunk loop; with ``recompute`` its activations are not kept for backward.

    A chunked memory's backward pass needs every piece's intermediate tensors (decay matrices,
    per-token gradient factors, reads): kept, they make training memory grow with T several times
    faster than the layer's inputs do. With ``recompute`` (activation checkpointing), the backward
    pass keeps only the piece's inputs (the anchor, the weights and the piece of the input
    stream) and runs ``fn`` again to get the rest: about one more forward pass of the layer. The
    numbers are the same. ``fn`` must have no side effects: the update log and the clocks stay
    outside it. Callers decide ``recompute`` once per call with :func:`recomputes`.
    """
    return checkpoint(fn, *args, use_reentrant=False) if recompute else fn(*args)
