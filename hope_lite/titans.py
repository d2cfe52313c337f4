"""Titans' memory layer and self-modifying Titans (paper_spec §1.5-1.6 and §4; notebooks 04-05).

Two sequence layers, ``(B, T, width) -> (B, T, width)``, each with a per-token reference path and
a chunked parallel path, and a streaming state that a later call can carry on from:

* :class:`TitansLayer` — the paper's LMM: q/k/v projections, short causal depthwise
  convolutions, SiLU, l2-normalised q and k, a deep MLP memory (:class:`~hope_lite.memory.TitansMemory`)
  written with data-dependent step theta, momentum eta and forget alpha, optional persistent-memory
  tokens, output normalisation and gating.
* :class:`SelfModifyingTitans` — every projection is itself a memory that learns in context
  (AX §8.1-8.2): memories for k, v, eta, alpha and the output memory, each a 2-layer residual MLP
  ``M(z) = z + W_1 s(W_2 z)``, each trained on targets it generates itself, ``v_hat = M(v)``.

Both declare their levels (each memory's chunk size is its period on the token clock) and log
their real updates to an active :class:`~hope_lite.levels.UpdateRecorder`.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .levels import Level, active_recorder, record_update
from .memory import (DataDependentGates, TitansMemory, _check_chunk_size, _decay_matrices, clip_gradients,
                     mlp_forward, mlp_surprise_factors, unit_norm, weight_change)

__all__ = ["CausalConv", "TitansLayer", "SelfModifyingTitans", "retention_chunk"]

PATHS = ("chunked", "reference")


def _check_positive_int(name: str, value: Any, hint: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int{hint}, got {value!r}.")
    return value


def _check_width_heads(width: Any, heads: Any) -> int:
    _check_positive_int("width", width)
    _check_positive_int("heads", heads)
    if width % heads:
        raise ValueError(f"width {width} must be divisible by heads {heads}; "
                         f"for example heads={math.gcd(width, 4) or 1}.")
    return width // heads


def _check_max(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (value > 0) or math.isinf(value):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}.")
    return float(value)


def _check_input(x: Any, width: int, path: str) -> None:
    if not torch.is_tensor(x) or x.dim() != 3:
        raise ValueError(f"x must be a tensor of shape (batch, T, width={width}), "
                         f"got {getattr(x, 'shape', type(x).__name__)}.")
    if x.shape[-1] != width:
        raise ValueError(f"x has width {x.shape[-1]} but this layer was built with width={width}.")
    if x.shape[1] < 1:
        raise ValueError("the sequence is empty (T = 0); pass at least one token.")
    if not x.is_floating_point():
        raise ValueError(f"x must be a floating-point tensor, got dtype {x.dtype}.")
    if not torch.isfinite(x).all():
        raise ValueError("x contains NaN or inf; check the inputs before the layer.")
    if path not in PATHS:
        raise ValueError(f"path must be one of {PATHS}, got {path!r}.")


def _chunk_sizes(T: int, C: int, done: int) -> list[int]:
    """Split T tokens into: the rest of an open chunk (``done`` tokens of it are written), full chunks, a tail."""
    first = min(C - done, T)
    rest = T - first
    return [first] + [C] * (rest // C) + ([rest % C] if rest % C else [])


def _chunk_spans(T: int, C: int, done: int) -> list[tuple[int, int]]:
    """(start, length) of each piece of :func:`_chunk_sizes`."""
    sizes = _chunk_sizes(T, C, done)
    return [(sum(sizes[:i]), n) for i, n in enumerate(sizes)]


def _merge_heads(y: Tensor, batch: int) -> Tensor:
    """(B * H, T, dh) -> (B, T, H * dh)."""
    N, T, dh = y.shape
    return y.view(batch, N // batch, T, dh).transpose(1, 2).reshape(batch, T, -1)


def _rms_norm(y: Tensor, weight: Tensor, eps: float = 1e-6) -> Tensor:
    return y * torch.rsqrt(y.square().mean(-1, keepdim=True) + eps) * weight


class CausalConv(nn.Module):
    """Short causal depthwise convolution over time (Titans §4.4; window 4 in the paper).

    Output t mixes inputs t-window+1 .. t of the same channel. ``forward(x, cache)`` returns the
    last ``window - 1`` inputs as the next cache, so streaming calls equal one call. Initialised
    to pass the current token through (plus a little of the previous ones).
    """

    def __init__(self, channels: int, window: int = 4) -> None:
        super().__init__()
        self.window = _check_positive_int("conv_window", window, " (1 = no convolution)")
        weight = 0.1 * torch.randn(channels, 1, window) / math.sqrt(window)
        weight[:, 0, -1] += 1.0
        self.weight = nn.Parameter(weight)

    def forward(self, x: Tensor, cache: Tensor | None = None) -> tuple[Tensor, Tensor]:
        B, T, C = x.shape                                                        # (B, T, C)
        if cache is None:
            cache = x.new_zeros(B, self.window - 1, C)
        padded = torch.cat([cache.to(x.dtype), x], dim=1)                       # (B, T + w - 1, C)
        # y_t = sum_j w_j * x_{t - (w - 1) + j}: a few shifted multiply-adds, cheaper on CPU than a
        # depthwise conv1d (whose backward is slow there) and the same numbers
        weight = self.weight[:, 0].to(x.dtype)                                    # (C, w)
        y = padded[:, :T] * weight[:, 0]
        for j in range(1, self.window):
            y = y + padded[:, j:j + T] * weight[:, j]
        return y, padded[:, padded.shape[1] - (self.window - 1):]


# ---------------------------------------------------------------------------------------------
# Titans (LMM)


class TitansLayer(nn.Module):
    """Titans' long-term memory as a sequence layer: the paper's LMM (paper_spec §1.5; Titans §3, §4.4).

    Per token t (heads are independent memories of width ``width // heads``)::

        q_t, k_t, v_t = SiLU(conv(x W_qkv))_t,   q_t, k_t l2-normalised
        theta_t, eta_t, alpha_t = max * sigmoid(x_t W_gate + b)        data-dependent, bounded
        S_t = eta_t S_{t-1} - theta_t grad |M_{t-1}(k_t) - v_t|^2 / 2  surprise with momentum
        M_t = (1 - alpha_t) M_{t-1} + S_t                              forgetting
        o_t = W_o (RMSNorm(M_t(q_t)) * sigmoid(x_t W_g))               output norm and gate

    ``persistent_tokens`` learnable tokens are prepended at the start of every sequence (not when a
    state is carried on); their outputs are dropped. The chunked path takes every gradient of a
    chunk at the chunk-start weights (Titans §3.2); ``chunk_size=1`` is exactly the reference.

    ``forward(x, state=None, path="chunked") -> (y, state)``; the state holds the memory weights,
    its momentum and the convolution caches, so generation costs the same memory per token however
    long the stream is.
    """

    def __init__(self, width: int, heads: int = 4, chunk_size: int = 64, *, memory_depth: int = 2,
                 memory_hidden: int | None = None, conv_window: int = 4, persistent_tokens: int = 0,
                 max_step: float = 0.5, max_momentum: float = 1.0, max_forget: float = 0.1,
                 max_surprise: float | None = 1.0, output_gate: bool = True) -> None:
        super().__init__()
        self.head_dim = _check_width_heads(width, heads)
        self.width, self.heads = width, heads
        _check_chunk_size(chunk_size)
        if isinstance(persistent_tokens, bool) or not isinstance(persistent_tokens, int) or persistent_tokens < 0:
            raise ValueError(f"persistent_tokens must be an int >= 0, got {persistent_tokens!r}.")
        if max_momentum > 1:
            raise ValueError(f"max_momentum must be <= 1 (a momentum decay), got {max_momentum!r}.")
        if max_forget > 1:
            raise ValueError(f"max_forget must be <= 1 (a forget gate), got {max_forget!r}.")
        self.qkv = nn.Linear(width, 3 * width, bias=False)
        self.conv = CausalConv(3 * width, conv_window)
        self.gates = DataDependentGates(width, heads, theta=_check_max("max_step", max_step),
                                        eta=_check_max("max_momentum", max_momentum),
                                        alpha=_check_max("max_forget", max_forget))
        self.memory = TitansMemory(self.head_dim, self.head_dim, chunk_size, depth=memory_depth,
                                   hidden=memory_hidden, max_surprise=max_surprise)
        self.persistent = nn.Parameter(0.02 * torch.randn(persistent_tokens, width)) if persistent_tokens else None
        self.out_norm = nn.Parameter(torch.ones(self.head_dim))
        self.gate = nn.Linear(width, width) if output_gate else None
        self.out = nn.Linear(width, width, bias=False)

    @property
    def chunk_size(self) -> int:
        return self.memory.chunk_size

    def _mix(self, x: Tensor, conv_cache: Tensor | None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """x (B, T, width) -> q, k, v (B, H, T, dh) and the next convolution cache."""
        B, T, D = x.shape
        h, conv_cache = self.conv(self.qkv(x), conv_cache)
        q, k, v = F.silu(h).view(B, T, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        return unit_norm(q), unit_norm(k), v, conv_cache

    def forward(self, x: Tensor, *, state: dict | None = None, path: str = "chunked") -> tuple[Tensor, dict]:
        _check_input(x, self.width, path)
        B = x.shape[0]
        if state is not None and (not isinstance(state, dict) or "conv" not in state):
            raise ValueError("state must be the dict returned by a previous call of this layer (or None).")
        if state is not None and state["conv"].shape[0] != B:
            raise ValueError(f"state was built for batch {state['conv'].shape[0]}, x has batch {B}; "
                             "carry the state of the same batch of sequences.")
        n_p = 0
        if state is None and self.persistent is not None:
            n_p = self.persistent.shape[0]
            x = torch.cat([self.persistent.to(x.dtype).expand(B, -1, -1), x], dim=1)
        q, k, v, conv_cache = self._mix(x, None if state is None else state["conv"])
        y, memory_state = self.memory(q, k, v, state=None if state is None else state["memory"], path=path,
                                      **self.gates(x))
        y = _rms_norm(y, self.out_norm).transpose(1, 2).reshape(B, -1, self.width)  # (B, T, width)
        if self.gate is not None:
            y = y * torch.sigmoid(self.gate(x))
        return self.out(y[:, n_p:]), {"memory": memory_state, "conv": conv_cache}

    @torch.no_grad()
    def memory_trace(self, x: Tensor) -> dict[str, Tensor]:
        """Run ``x`` chunk by chunk and return what the memory saw: per token surprise and per chunk norms.

        ``surprise`` (B, H, T): |grad L| of each token at the weights its gradient is taken at
        (the chunk start), i.e. Titans' momentary surprise. ``weight_norm`` (B, H, n_chunks):
        |M| after each chunk. Streaming calls of one chunk each equal one call (tested), so this
        is the same computation as ``forward``, opened up.
        """
        _check_input(x, self.width, "chunked")
        if self.persistent is not None:
            raise ValueError("memory_trace follows the tokens of x; build the layer with persistent_tokens=0.")
        B, T, _ = x.shape
        q, k, v, _ = self._mix(x, None)
        gates = self.gates(x)
        C, state = self.chunk_size, None
        surprise, norms = [], []
        for s in range(0, T, C):
            sl = slice(s, s + C)
            anchor = (self.memory.init_state(B * self.heads, x.dtype, x.device)["weights"] if state is None
                      else [w.reshape(B * self.heads, *w.shape[2:]) for w in state["weights"]])
            surprise.append(self.memory.surprise(anchor, k[:, :, sl].reshape(B * self.heads, -1, self.head_dim),
                                                 v[:, :, sl].reshape(B * self.heads, -1, self.head_dim)))
            _, state = self.memory(q[:, :, sl], k[:, :, sl], v[:, :, sl], state=state,
                                   **{n: g[:, :, sl] for n, g in gates.items()})
            norms.append(torch.stack([w.flatten(2).norm(dim=-1) for w in state["weights"]]).pow(2).sum(0).sqrt())
        return {"surprise": torch.cat(surprise, dim=1).view(B, self.heads, T),
                "weight_norm": torch.stack(norms, dim=-1), "gates": gates}


# ---------------------------------------------------------------------------------------------
# Self-modifying Titans


def retention_chunk(Q: Tensor | None, K: Tensor, V: Tensor, step: Tensor, retention: Tensor,
                    W0: list[Tensor], WA: list[Tensor],
                    max_surprise: float | None = None) -> tuple[Tensor | None, list[Tensor]]:
    """One chunk of n tokens of the self-modifying memories' rule, every gradient at the anchor WA.

    The rule (paper_spec §4.4-4.5, read as in §9.1: retention plus one L2 gradient step)::

        M_t = a_t M_{t-1} - eta_t grad_M 1/2 |M_A(k_t) - v_hat_t|^2

    Unrolled from the chunk's start state W0, with D[t,i] = prod_{i<j<=t} a_j and the rank-1
    per-token gradient delta_i z_i^T of each layer::

        M_t = D[t,0] W0 - sum_{i<=t} D[t,i] eta_i delta_i z_i^T
        layer pre-activation at a query z:  h_t = D[t,0] W0 z - sum_i D[t,i] eta_i (z_i . z) delta_i

    K, V (N, n, d); step, retention (N, n); weights lists of (N, d_out, d_in) of a residual MLP.
    With ``Q=None`` only the end-of-chunk weights are computed (no reads): what the projection
    memories need. A Q of N_q < N rows reads only the memories of the last N_q rows (the others are
    only written: the one-loop pass of :class:`SelfModifyingTitans`). ``max_surprise`` clips each
    token's gradient to that norm.
    """
    zs, deltas = mlp_surprise_factors(WA, K, V, residual=True, max_norm=max_surprise)
    # a saturated gate can be exactly 0 in float32; log(0) would turn the products into NaN
    retention = retention.clamp_min(torch.finfo(retention.dtype).tiny)
    new_W = _retention_end(W0, zs, deltas, step, retention)
    if Q is None:
        return None, new_W
    last = slice(K.shape[0] - Q.shape[0], None)
    return _retention_read(Q, [w[last] for w in W0], [z[last] for z in zs], [d[last] for d in deltas],
                           step[last], retention[last]), new_W


def _retention_end(W0: list[Tensor], zs: list[Tensor], deltas: list[Tensor], step: Tensor,
                   retention: Tensor) -> list[Tensor]:
    """End-of-chunk weights M_n = D[n,0] W0 - sum_i D[n,i] eta_i delta_i z_i^T, D[n,i] = prod_{j>i} a_j."""
    log_a = torch.log(retention)
    total = log_a.sum(-1, keepdim=True)                                     # (N, 1)
    after = torch.exp(total - torch.cumsum(log_a, dim=-1)) * step           # (N, n): no (n, n) matrix needed
    return [torch.exp(total)[:, :, None] * W - (after[:, :, None] * Dl).transpose(1, 2) @ Zw
            for W, Zw, Dl in zip(W0, zs, deltas)]


def _retention_read(Q: Tensor, W0: list[Tensor], zs: list[Tensor], deltas: list[Tensor], step: Tensor,
                    retention: Tensor) -> Tensor:
    """Reads y_t = M_t(q_t) after each token's write, layer by layer through the unrolled weights."""
    D, d0 = _decay_matrices(retention)                      # (N, n, n), (N, n)
    weight_of_update = D * step[:, None, :]                 # weight of token i's gradient in M_t
    x = Q
    for i, (W, Zw, Dl) in enumerate(zip(W0, zs, deltas)):
        h = d0[:, :, None] * (x @ W.transpose(1, 2)) - (weight_of_update * (x @ Zw.transpose(1, 2))) @ Dl
        x = F.silu(h) if i < len(W0) - 1 else h
    return x + Q


class SelfModifyingTitans(nn.Module):
    """Self-modifying Titans (paper_spec §4; AX §8.1-8.2, eqs 83-91).

    Every projection is a memory that keeps learning inside the sequence. Each memory m reads its
    own input u_m,t = conv(x W_m)_t (a static linear map and a short causal convolution, split
    into heads: the "q/k/v linears -> self-modifying Titans" of AX Fig. 5). With the state of
    each memory at its last chunk boundary A::

        k_t = l2norm(M_k,A(u_k,t))     v_t = M_v,A(u_v,t)                   adaptive projections
        eta_t = max_step * sigmoid(w_eta . l2norm(M_eta,A(u_eta,t)) + b_eta)   inner learning rate
        a_t   = sigmoid(w_a . l2norm(M_a,A(u_a,t)) + b_a)                   retention
        v_hat_[m],t = M_[m],A(v_t)                                          self-generated targets
        M_[m],t = a_t M_[m],t-1 - eta_t grad 1/2 |M_[m],A(k_t) - v_hat_[m],t|^2   for m in k, v, eta, a, memory
        q_t = l2norm(u_q,t)  (static; ``adaptive_q=True`` makes it a memory too)
        y_t = M_memory,t(q_t);    o_t = W_o (RMSNorm(y_t) * sigmoid(x_t W_g))

    The memories are residual, ``M(z) = z + W_1 s(W_2 z)`` with a small W_1, so each starts close
    to its static input map and learns in-context corrections to it.

    Each memory is ``M(z) = z + W_1 s(W_2 z)`` (eq 89) with its own meta-learned initial state per
    head (``nn.Parameter``s; the outer optimizer trains them through the unrolled updates). The
    output memory updates every ``chunk_size`` tokens, the others every ``projection_chunk_size``
    (eq 90's two chunk sizes). With both chunk sizes 1 the chunked path equals the per-token
    reference. ``self_modifying=False`` freezes the projection memories at their initial state
    (static projections, the baseline of notebook 05).
    """

    PROJECTIONS = ("k", "v", "eta", "alpha")

    def __init__(self, width: int, heads: int = 4, chunk_size: int = 64, projection_chunk_size: int = 64, *,
                 hidden: int | None = None, conv_window: int = 4, adaptive_q: bool = False,
                 max_step: float = 0.5, max_surprise: float | None = 1.0, self_modifying: bool = True,
                 output_gate: bool = True) -> None:
        super().__init__()
        self.head_dim = dh = _check_width_heads(width, heads)
        self.width, self.heads = width, heads
        self.chunk_size = _check_chunk_size(chunk_size)
        self.projection_chunk_size = _check_positive_int("projection_chunk_size", projection_chunk_size,
                                                         " (e.g. 64)")
        self.hidden = dh if hidden is None else _check_positive_int("hidden", hidden)
        self.max_step = _check_max("max_step", max_step)
        self.max_surprise = None if max_surprise is None else _check_max("max_surprise", max_surprise)
        self.adaptive_q, self.self_modifying = bool(adaptive_q), bool(self_modifying)
        self.projections = self.PROJECTIONS + (("q",) if self.adaptive_q else ())
        # one static input map per memory (and q when it is static), then a short causal convolution
        self.roles = self.projections + (() if self.adaptive_q else ("q",))
        self.inputs = nn.Linear(width, len(self.roles) * width, bias=False)
        self.conv = CausalConv(len(self.roles) * width, conv_window)
        # meta-learned initial states M_[m],0, one per head: W_2 (hidden x dh), W_1 (dh x hidden, small)
        self.initial_states = nn.ParameterDict({
            name: nn.ParameterList([
                nn.Parameter(torch.randn(heads, self.hidden, dh) / math.sqrt(dh)),
                nn.Parameter(0.1 * torch.randn(heads, dh, self.hidden) / math.sqrt(self.hidden))])
            for name in self.projections + ("memory",)})
        # static read-outs that turn the eta / alpha memories' outputs into one gate per head
        self.gate_readout = nn.Parameter(torch.randn(2, heads, dh))
        self.gate_bias = nn.Parameter(torch.tensor([[-2.0], [4.0]]).expand(2, heads).clone())  # eta ~ 0.06, a ~ 0.98
        self.out_norm = nn.Parameter(torch.ones(dh))
        self.gate = nn.Linear(width, width) if output_gate else None
        self.out = nn.Linear(width, width, bias=False)

    # -- levels ---------------------------------------------------------------------------
    def declared_levels(self) -> list[Level]:
        rule = "M_t = a_t M_{t-1} - eta_t grad 1/2|M_A(k_t) - M_A(v_t)|^2"
        levels = [Level("memory", "tokens", self.chunk_size, "(q_t, k_t, v_t) generated by the other memories",
                        "1/2 |M(k) - M(v)|^2 (self-generated target)", rule)]
        if self.self_modifying:
            levels += [Level(name, "tokens", self.projection_chunk_size, f"its input u_{name},t = conv(x W_{name})",
                             f"1/2 |M_{name}(k) - M_{name}(v)|^2 (self-generated target)", rule)
                       for name in self.projections]
        return levels

    # -- pieces -------------------------------------------------------------------------------
    def _initial(self, names: tuple[str, ...], batch: int, dtype: torch.dtype) -> list[Tensor]:
        """Initial weights of the named memories stacked as (len(names), B * H, d_out, d_in) per layer."""
        out = []
        for layer in range(2):
            w = torch.stack([self.initial_states[n][layer] for n in names]).to(dtype)     # (M, H, o, i)
            out.append(w.unsqueeze(1).expand(-1, batch, *w.shape[1:]).reshape(len(names), batch * self.heads,
                                                                              *w.shape[2:]))
        return out

    def _gates(self, eta_out: Tensor, alpha_out: Tensor, batch: int) -> tuple[Tensor, Tensor]:
        """(B * H, n, dh) outputs of M_eta, M_alpha -> eta_t, a_t of shape (B * H, n)."""
        def readout(out: Tensor, i: int) -> Tensor:
            # the direction of the memory's output sets the gate, so input scale cannot saturate it
            out = unit_norm(out).view(batch, self.heads, *out.shape[1:])
            logit = (out * self.gate_readout[i][:, None, :]).sum(-1) + self.gate_bias[i][:, None]
            return logit.reshape(batch * self.heads, -1)
        return self.max_step * torch.sigmoid(readout(eta_out, 0)), torch.sigmoid(readout(alpha_out, 1))

    def _generate(self, weights: list[Tensor], u: Tensor, batch: int) -> dict[str, Tensor]:
        """Every projection memory's output at its input u (M, N, n, dh), from the stacked anchor weights."""
        out = mlp_forward([w.flatten(0, 1) for w in weights], u.flatten(0, 1), residual=True)
        out = dict(zip(self.projections, out.view(u.shape)))
        eta, alpha = self._gates(out["eta"], out["alpha"], batch)
        return {"k": unit_norm(out["k"]), "v": out["v"], "eta": eta, "alpha": alpha,
                "q": unit_norm(out["q"]) if self.adaptive_q else None}

    def init_state(self, batch: int, dtype: torch.dtype = torch.float32) -> dict:
        proj = self._initial(self.projections, batch, dtype)
        memory = [w[0] for w in self._initial(("memory",), batch, dtype)]
        return {"projections": proj, "projections_anchor": proj, "memory": memory, "memory_anchor": memory,
                "conv": None, "position": 0, "projections_done": 0, "memory_done": 0}

    # -- forward ----------------------------------------------------------------------------
    def forward(self, x: Tensor, *, state: dict | None = None, path: str = "chunked",
                return_generated: bool = False) -> tuple[Tensor, dict] | tuple[Tensor, dict, dict]:
        """``(B, T, width) -> (y, state)``; with ``return_generated`` also the per-token k, v, eta, alpha.

        The generated dict holds ``k``, ``v`` (B, H, T, dh) and ``eta``, ``alpha`` (B, H, T).
        """
        _check_input(x, self.width, path)
        B, T, _ = x.shape
        if state is None:
            state = self.init_state(B, x.dtype)
        elif not isinstance(state, dict) or "projections" not in state:
            raise ValueError("state must be the dict returned by a previous call of this layer (or None).")
        elif state["memory"][0].shape[0] != B * self.heads:
            raise ValueError(f"state was built for batch {state['memory'][0].shape[0] // self.heads}, "
                             f"x has batch {B}; carry the state of the same batch of sequences.")
        u, conv_cache = self.conv(self.inputs(x), state["conv"])                 # (B, T, roles * width)
        R = len(self.roles)
        per_role = u.view(B, T, R, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)   # (R, B, H, T, dh)
        per_role = per_role.reshape(R, B * self.heads, T, self.head_dim)               # one copy, heads as rows
        uh = per_role[:len(self.projections)]                                     # (M, B*H, T, dh)
        q = None if self.adaptive_q else unit_norm(per_role[-1])
        if path == "reference":
            y, gen, new = self._reference(uh, q, state, B)
        elif self._can_fuse(state):
            y, gen, new = self._fused_pass(uh, q, state, B)
        else:
            gen, new = self._projection_pass(uh, state, B)
            y, new = self._memory_pass(q if q is not None else gen["q"], gen, new, B)
        new["conv"], new["position"] = conv_cache, state["position"] + T
        y = _merge_heads(_rms_norm(y, self.out_norm), B)
        if self.gate is not None:
            y = y * torch.sigmoid(self.gate(x))
        y = self.out(y)
        if not return_generated:
            return y, new
        view = lambda t: t.view(B, self.heads, *t.shape[1:])  # noqa: E731
        return y, new, {n: view(gen[n]) for n in ("k", "v", "eta", "alpha")}

    def _record(self, name: str, events: list[int], mags: list[Tensor]) -> None:
        if events:
            record_update(self, name, "tokens", events, torch.stack(mags))

    def _projection_pass(self, uh: Tensor, st: dict, batch: int) -> tuple[dict, dict]:
        """Chunks of ``projection_chunk_size``: generate k, v, eta, alpha from the anchors, then write."""
        C, M = self.projection_chunk_size, len(self.projections)
        weights, anchor, done, pos = st["projections"], st["projections_anchor"], st["projections_done"], st["position"]
        gens, events, mags = [], {n: [] for n in self.projections}, {n: [] for n in self.projections}
        recording = active_recorder() is not None
        for uc in uh.split(_chunk_sizes(uh.shape[2], C, done), dim=2):
            n = uc.shape[2]
            g = self._generate(anchor, uc, batch)
            gens.append(g)
            if self.self_modifying:
                A = [w.flatten(0, 1) for w in anchor]
                v_hat = mlp_forward(A, g["v"].repeat(M, 1, 1), residual=True)       # each memory's own target
                _, new = retention_chunk(None, g["k"].repeat(M, 1, 1), v_hat, g["eta"].repeat(M, 1),
                                         g["alpha"].repeat(M, 1), [w.flatten(0, 1) for w in weights], A,
                                         self.max_surprise)
                weights = [w.view(M, -1, *w.shape[1:]) for w in new]
            done, pos = done + n, pos + n
            if done == C:
                if recording and self.self_modifying:
                    change = sum((a - b).flatten(2).pow(2).sum(-1) for a, b in zip(weights, anchor)).sqrt().mean(1)
                    for i, name in enumerate(self.projections):
                        events[name].append(pos - 1)
                        mags[name].append(change[i])
                anchor, done = weights, 0
        for name in self.projections:
            self._record(name, events[name], mags[name])
        gen = {key: torch.cat([g[key] for g in gens], dim=1) if gens[0][key] is not None else None
               for key in gens[0]}
        new = dict(st, projections=weights, projections_anchor=anchor, projections_done=done)
        return gen, new

    def _can_fuse(self, st: dict) -> bool:
        """Equal chunk sizes and aligned chunk boundaries: every memory can write in the same loop."""
        return (self.self_modifying and self.chunk_size == self.projection_chunk_size
                and st["projections_done"] == st["memory_done"])

    def _fused_pass(self, uh: Tensor, q: Tensor | None, st: dict, batch: int) -> tuple[Tensor, dict, dict]:
        """Both passes in one loop, for ``chunk_size == projection_chunk_size`` (the default).

        The numbers are those of :meth:`_projection_pass` then :meth:`_memory_pass` (tested), but
        the output memory is stacked behind the projection memories, so each chunk makes one set
        of batched calls instead of two: on CPU this layer's time is the count of small
        operations per chunk, not their arithmetic.
        """
        C, M = self.chunk_size, len(self.projections)
        stack = lambda proj, mem: [torch.cat([p, m[None]]) for p, m in zip(proj, mem)]  # noqa: E731
        weights = stack(st["projections"], st["memory"])                 # (M + 1, B*H, d_out, d_in) per layer
        anchor = stack(st["projections_anchor"], st["memory_anchor"])
        done, pos = st["projections_done"], st["position"]
        names = self.projections + ("memory",)
        gens, ys, events, mags = [], [], [], []
        recording = active_recorder() is not None
        for start, n in _chunk_spans(uh.shape[2], C, done):
            g = self._generate([a[:M] for a in anchor], uh[:, :, start:start + n], batch)
            gens.append(g)
            qc = g["q"] if q is None else q[:, start:start + n]
            A, W0 = [a.flatten(0, 1) for a in anchor], [w.flatten(0, 1) for w in weights]
            repeat = lambda t: t.repeat(M + 1, *([1] * (t.dim() - 1)))   # noqa: E731  same k, eta, a for all
            v_hat = mlp_forward(A, repeat(g["v"]), residual=True)             # each memory's own target
            # every memory writes; only the output memory (the last B*H rows) is read at q
            y, new = retention_chunk(qc, repeat(g["k"]), v_hat, repeat(g["eta"]), repeat(g["alpha"]), W0, A,
                                     self.max_surprise)
            ys.append(y)
            weights = [w.view(M + 1, -1, *w.shape[1:]) for w in new]
            done, pos = done + n, pos + n
            if done == C:
                if recording:
                    events.append(pos - 1)
                    mags.append(sum((a - b).flatten(2).pow(2).sum(-1) for a, b in zip(weights, anchor)).sqrt().mean(1))
                anchor, done = weights, 0
        for i, name in enumerate(names):
            self._record(name, events, [m[i] for m in mags])
        gen = {key: torch.cat([g[key] for g in gens], dim=1) if gens[0][key] is not None else None
               for key in gens[0]}
        new = dict(st, projections=[w[:M] for w in weights], projections_anchor=[a[:M] for a in anchor],
                   memory=[w[M] for w in weights], memory_anchor=[a[M] for a in anchor],
                   projections_done=done, memory_done=done)
        return torch.cat(ys, dim=1), gen, new

    def _memory_pass(self, q: Tensor, gen: dict, st: dict, batch: int) -> tuple[Tensor, dict]:
        """Chunks of ``chunk_size``: the output memory writes (k, M_A(v)) and is read at q after each write."""
        C = self.chunk_size
        weights, anchor, done, pos = st["memory"], st["memory_anchor"], st["memory_done"], st["position"]
        ys, events, mags = [], [], []
        pieces = zip(*(t.split(_chunk_sizes(q.shape[1], C, done), dim=1)
                       for t in (q, gen["k"], gen["v"], gen["eta"], gen["alpha"])))
        for qc, kc, vc, eta, alpha in pieces:
            n = qc.shape[1]
            v_hat = mlp_forward(anchor, vc, residual=True)
            y, weights = retention_chunk(qc, kc, v_hat, eta, alpha, weights, anchor, self.max_surprise)
            ys.append(y)
            done, pos = done + n, pos + n
            if done == C:
                if active_recorder() is not None:
                    events.append(pos - 1)
                    mags.append(weight_change(weights, anchor))
                anchor, done = weights, 0
        self._record("memory", events, mags)
        return torch.cat(ys, dim=1), dict(st, memory=weights, memory_anchor=anchor, memory_done=done)

    # -- reference: one token at a time, inner gradients by autograd ----------------------------
    def _reference(self, uh: Tensor, q: Tensor | None, st: dict, batch: int) -> tuple[Tensor, dict, dict]:
        """Per-token rule, written plainly: generate, make self-targets, take one DGD step, read.

        Equals the chunked path when both chunk sizes are 1 (tested in float64).
        """
        names = self.projections
        mem = {n: [w[i] for w in st["projections"]] for i, n in enumerate(names)}
        mem["memory"] = list(st["memory"])
        if st["projections_done"] or st["memory_done"]:
            raise ValueError("path='reference' updates every token; carry on a state from the reference path "
                             "or from chunk sizes of 1.")
        ys, gens = [], {key: [] for key in ("k", "v", "eta", "alpha", "q")}
        for t in range(uh.shape[2]):
            u = uh[:, :, t]                                                         # (M, N, dh)
            out = {n: mlp_forward(mem[n], u[i], residual=True) for i, n in enumerate(names)}
            k, v = unit_norm(out["k"]), out["v"]
            eta, alpha = self._gates(out["eta"][:, None], out["alpha"][:, None], batch)
            eta, alpha = eta[:, 0], alpha[:, 0]
            q_t = unit_norm(out["q"]) if self.adaptive_q else q[:, t]
            for key, val in (("k", k), ("v", v), ("eta", eta), ("alpha", alpha), ("q", q_t)):
                gens[key].append(val)
            for n in (names if self.self_modifying else ()) + ("memory",):
                target = mlp_forward(mem[n], v, residual=True)                     # v_hat: M's own target
                grads = clip_gradients(_inner_gradient(mem[n], k, target), self.max_surprise)
                mem[n] = [alpha[:, None, None] * W - eta[:, None, None] * gW for W, gW in zip(mem[n], grads)]
            ys.append(mlp_forward(mem["memory"], q_t, residual=True))
        gen = {key: torch.stack(vals, dim=1) for key, vals in gens.items()}
        projections = [torch.stack([mem[n][layer] for n in names]) for layer in range(2)]
        new = dict(st, projections=projections, projections_anchor=projections,
                   memory=mem["memory"], memory_anchor=mem["memory"])
        return torch.stack(ys, dim=1), gen, new


def _inner_gradient(weights: list[Tensor], k: Tensor, target: Tensor) -> list[Tensor]:
    """grad_W 1/2 |M_W(k) - target|^2 by autograd, per batch row, differentiable for the outer loop.

    The gradient is taken through M(k) only: the target is a constant of the inner problem
    (it still carries the outer gradient to whatever produced it).
    """
    outer = torch.is_grad_enabled()
    with torch.enable_grad():
        # a fresh view is a separate autograd node, so the target's own use of W is not differentiated
        leaves = [w.view_as(w) if (outer and w.requires_grad) else w.detach().requires_grad_() for w in weights]
        loss = 0.5 * (mlp_forward(leaves, k, residual=True) - target).pow(2).sum()
        grads = torch.autograd.grad(loss, leaves, create_graph=outer)
    return list(grads) if outer else [g.detach() for g in grads]
