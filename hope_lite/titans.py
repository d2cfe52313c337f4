"""Titans' memory layer, the paper's LMM (docs/paper.md §1.5-1.6; Titans §3, §4.4; notebook 04).

A sequence layer ``(B, T, width) -> (B, T, width)`` around :class:`~hope_lite.deep_memory.TitansMemory`:
q/k/v projections, short causal depthwise convolutions, SiLU, l2-normalised q and k, a deep MLP
memory written with data-dependent step theta, momentum eta and forget alpha, optional
persistent-memory tokens, output normalisation and gating. A per-token reference path and a
chunked parallel path; a streaming state (:class:`TitansLayerState`) that a later call carries on
from. The layer declares its level (the memory's chunk size is its period on the token clock) and
logs its real updates to an active :class:`~hope_lite.levels.UpdateRecorder`. Each part that Titans
ablates (Table 5) can be switched off: ``memory_depth=1``, ``conv``, ``momentum``, ``weight_decay``,
``persistent_tokens``.

Self-modifying Titans, whose projections are memories too, lives in ``hope_lite.self_modifying``.
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import checks
from .checks import check_sequence_input
from .deep_memory import DeepMemoryState, TitansMemory
from .layers import CausalConv, DataDependentGates, check_input_matches, rms_norm, unit_norm, width_per_head
from .state import MemoryState, Shape, check_state, state_dtype

__all__ = ["TitansLayer", "TitansLayerState"]


@dataclasses.dataclass
class TitansLayerState(MemoryState):
    """State of a :class:`TitansLayer`: the convolution cache (B, window - 1, 3 width; None without the
    convolution) and the memory's state."""

    conv: Tensor | None
    memory: DeepMemoryState


class TitansLayer(nn.Module):
    """Titans' long-term memory as a sequence layer: the paper's LMM (docs/paper.md §1.5; Titans §3, §4.4).

    Per token t (heads are independent memories of width ``width // heads``)::

        q_t, k_t, v_t = SiLU(conv(x W_qkv))_t,   q_t, k_t l2-normalised
        theta_t, eta_t, alpha_t = max * sigmoid(x_t W_gate + b)        data-dependent, bounded
        S_t = eta_t S_{t-1} - theta_t grad |M_{t-1}(k_t) - v_t|^2 / 2  surprise with momentum
        M_t = (1 - alpha_t) M_{t-1} + S_t                              forgetting
        o_t = W_o (RMSNorm(M_t(q_t)) * sigmoid(x_t W_g))               output norm and gate

    ``persistent_tokens`` learnable tokens are prepended at the start of every sequence (not when a
    state is carried on); their outputs are dropped. The chunked path takes every gradient of a
    chunk at the chunk-start weights (Titans §3.2); ``chunk_size=1`` is exactly the reference.

    Titans' ablations (Titans Table 5; docs/reading.md) are switches; each removes its parameters::

        memory_depth=1        M(z) = z + W z, a linear memory                     the MLP's hidden layer
        conv=False            q, k, v = SiLU(x W_qkv)                             the convolution's weights
        momentum=False        eta = 0: M_t = (1 - alpha_t) M_{t-1} - theta_t grad  eta's gate; S leaves the state
        weight_decay=False    alpha = 0: M_t = M_{t-1} + S_t                      alpha's gate
        persistent_tokens=0   nothing prepended (the default)                     the persistent tokens

    ``forward(x, state=None, path="chunked") -> (y, state)``; the state holds the memory weights,
    its momentum and the convolution caches, so generation costs the same memory per token however
    long the stream is.
    """

    def __init__(self, width: int, heads: int = 4, chunk_size: int = 64, *, memory_depth: int = 2,
                 memory_hidden: int | None = None, conv_window: int = 4, persistent_tokens: int = 0,
                 max_step: float = 0.5, max_momentum: float = 1.0, max_forget: float = 0.1,
                 max_surprise: float | None = 1.0, output_gate: bool = True, conv: bool = True,
                 momentum: bool = True, weight_decay: bool = True, recompute_chunks: bool | str = False) -> None:
        super().__init__()
        self.head_dim = width_per_head(width, heads)
        self.width, self.heads = width, heads
        checks.positive_int("chunk_size", chunk_size, " (e.g. 64)")
        checks.nonnegative_int("persistent_tokens", persistent_tokens)
        if checks.positive_finite("max_momentum", max_momentum) > 1:
            raise ValueError(f"max_momentum must be <= 1 (a momentum decay), got {max_momentum!r}.")
        if checks.positive_finite("max_forget", max_forget) > 1:
            raise ValueError(f"max_forget must be <= 1 (a forget gate), got {max_forget!r}.")
        self.qkv = nn.Linear(width, 3 * width, bias=False)
        self.conv = CausalConv(3 * width, conv_window) if checks.boolean("conv", conv) else None
        # a gate switched off is no gate at all: eta = 0 (no momentum), alpha = 0 (no forgetting)
        maxima = {"theta": checks.positive_finite("max_step", max_step)}
        if checks.boolean("momentum", momentum):
            maxima["eta"] = max_momentum
        if checks.boolean("weight_decay", weight_decay):
            maxima["alpha"] = max_forget
        self.gates = DataDependentGates(width, heads, **maxima)
        self.memory = TitansMemory(self.head_dim, self.head_dim, chunk_size, depth=memory_depth,
                                   hidden=memory_hidden, max_surprise=max_surprise, momentum=momentum,
                                   recompute_chunks=recompute_chunks)
        self.persistent = nn.Parameter(0.02 * torch.randn(persistent_tokens, width)) if persistent_tokens else None
        self.out_norm = nn.Parameter(torch.ones(self.head_dim))
        self.gate = nn.Linear(width, width) if output_gate else None
        self.out = nn.Linear(width, width, bias=False)

    @property
    def chunk_size(self) -> int:
        return self.memory.chunk_size

    def state_spec(self, batch: int) -> TitansLayerState:
        """What a carried state must look like for ``batch`` sequences (see :func:`~hope_lite.state.check_state`)."""
        conv = None if self.conv is None else Shape((batch,), (self.conv.window - 1, 3 * self.width), cast=True)
        return TitansLayerState(conv, self.memory.state_spec((batch, self.heads)))

    def _mix(self, x: Tensor, conv_cache: Tensor | None) -> tuple[Tensor, Tensor, Tensor, Tensor | None]:
        """x (B, T, width) -> q, k, v (B, H, T, dh) and the next convolution cache (None without one)."""
        B, T, D = x.shape
        h = self.qkv(x)
        if self.conv is not None:
            h, conv_cache = self.conv(h, conv_cache)
        q, k, v = F.silu(h).view(B, T, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        return unit_norm(q), unit_norm(k), v, conv_cache

    def forward(self, x: Tensor, *, state: TitansLayerState | None = None,
                path: str = "chunked") -> tuple[Tensor, TitansLayerState]:
        check_sequence_input(x, self.width, path)
        check_input_matches(x, self.qkv.weight, "TitansLayer")
        B = x.shape[0]
        if state is not None:
            check_state(state, self.state_spec(B), "TitansLayer", device=x.device, dtype=state_dtype(x))
        n_p = 0
        if state is None and self.persistent is not None:
            n_p = self.persistent.shape[0]
            x = torch.cat([self.persistent.to(x.dtype).expand(B, -1, -1), x], dim=1)
        q, k, v, conv_cache = self._mix(x, None if state is None else state.conv)
        y, memory_state = self.memory(q, k, v, state=None if state is None else state.memory, path=path,
                                      **self.gates(x))
        y = rms_norm(y, self.out_norm).transpose(1, 2).flatten(2)                  # (B, T, width)
        if self.gate is not None:
            y = y * torch.sigmoid(self.gate(x))
        return self.out(y[:, n_p:]), TitansLayerState(conv_cache, memory_state)

    @torch.no_grad()
    def memory_trace(self, x: Tensor) -> dict[str, Tensor]:
        """Run ``x`` chunk by chunk and return what the memory saw: per token surprise and per chunk norms.

        ``surprise`` (B, H, T): |grad L| of each token at the weights its gradient is taken at
        (the chunk start), i.e. Titans' momentary surprise. ``weight_norm`` (B, H, n_chunks):
        |M| after each chunk. Streaming calls of one chunk each equal one call (tested), so this
        is the same computation as ``forward``, opened up.
        """
        check_sequence_input(x, self.width, "chunked")
        if self.persistent is not None:
            raise ValueError("memory_trace follows the tokens of x; build the layer with persistent_tokens=0.")
        B, T, _ = x.shape
        q, k, v, _ = self._mix(x, None)
        gates = self.gates(x)
        C, state = self.chunk_size, None
        surprise, norms = [], []
        for s in range(0, T, C):
            sl = slice(s, s + C)
            anchor = (self.memory.init_state(B * self.heads, x.dtype, x.device).weights if state is None
                      else [w.reshape(B * self.heads, *w.shape[2:]) for w in state.weights])
            surprise.append(self.memory.surprise(anchor, k[:, :, sl].flatten(0, 1), v[:, :, sl].flatten(0, 1)))
            _, state = self.memory(q[:, :, sl], k[:, :, sl], v[:, :, sl], state=state,
                                   **{n: g[:, :, sl] for n, g in gates.items()})
            norms.append(torch.stack([w.flatten(2).norm(dim=-1) for w in state.weights]).pow(2).sum(0).sqrt())
        return {"surprise": torch.cat(surprise, dim=1).view(B, self.heads, T),
                "weight_norm": torch.stack(norms, dim=-1), "gates": gates}
