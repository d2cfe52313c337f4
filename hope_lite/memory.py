"""Associative memories as optimization problems (docs/paper.md §1; notebook 01).

An associative memory maps keys to values. Nested Learning reads every such memory as the
running solution of an internal objective, updated by one gradient step per token:

==============  =======================================  ================================================
memory          internal objective  L(M; k, v)            one step = the update rule
==============  =======================================  ================================================
Hebbian         -<M k, v>     (dot-product similarity)   M_t = a_t M_{t-1} + eta_t v_t k_t^T
delta rule      1/2 |M k - v|^2  (L2 regression)         M_t = a_t M_{t-1} (I - eta_t k_t k_t^T) + eta_t v_t k_t^T
Titans (deep)   1/2 |M(k) - v|^2, M an MLP               S_t = eta_t S_{t-1} - theta_t grad L(M_{t-1}; k_t, v_t)
                                                         M_t = (1 - alpha_t) M_{t-1} + S_t
==============  =======================================  ================================================

Notation follows the paper *for each memory*, so the gates mean different things:

* Hebbian and delta rule: ``eta`` is the step size (write strength) and ``alpha`` the
  **retention** gate a_t (1 = keep everything, as in linear attention / DeltaNet).
* Titans: ``theta`` is the step size, ``eta`` the **momentum decay** of the surprise S and
  ``alpha`` the **forget** gate (0 = keep everything), exactly as in Titans §3.

Every memory is read *after* it writes the current token, ``y_t = M_t(q_t)``, which is what
linear attention computes, so outputs at position t see tokens 1..t.

Each memory has two paths that compute the same thing:

* ``path="reference"`` — one token at a time with the readable rule (:meth:`write`, :meth:`read`).
* ``path="chunked"`` (default) — the sequence is cut into chunks of ``chunk_size`` tokens and
  each chunk is one batch of matrix products; the Python loop runs over chunks, never over the
  tokens of a chunk. For the linear memories the chunked form is *exact* for every chunk size
  (closed form / WY representation). For the deep memory, Titans' mini-batch rule takes every
  gradient of a chunk at the chunk-start weights (docs/paper.md §1.6), which equals the reference
  at ``chunk_size=1`` and is a deliberate approximation for larger chunks.

Memory state is a typed record (:class:`MatrixState` here, :class:`~hope_lite.deep_memory.DeepMemoryState`
for the deep memory), batched per sequence, so a stream can be processed in several calls:
``y1, s = mem(q1, k1, v1); y2, s = mem(q2, k2, v2, state=s)`` equals one call on the
concatenation (also for the deep memory: the state remembers where its chunk started).

This module holds the base class and the two matrix memories; Titans' deep memory lives in
``hope_lite.deep_memory``, and :func:`~hope_lite.layers.make_memory` builds any of them by name.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import torch
from torch import Tensor, nn

from . import checks
from .chunking import decay_products, pad_to_chunks
from .levels import Level, active_recorder, record_update
from .state import MemoryState, Shape, check_state, state_dtype

__all__ = ["AssociativeMemory", "HebbianMemory", "DeltaRuleMemory", "MatrixState", "PATHS"]

PATHS = ("chunked", "reference")


def check_gate(name: str, value: Any, lead: torch.Size, T: int, like: Tensor, low: float, high: float) -> Tensor:
    """A per-token gate as a tensor of shape (*lead, T); accepts a number or anything broadcastable."""
    # a str, a bool or None is a mistake that torch.as_tensor turns into a cryptic error (or into 1.0)
    if torch.is_tensor(value):
        real = value.dtype != torch.bool and not value.is_complex()
        got = f"a {value.dtype} tensor"
    else:
        real = not isinstance(value, (str, bytes, bool)) and value is not None
        got = f"{type(value).__name__} {value!r}"
    g = None
    if real:
        try:
            g = torch.as_tensor(value, dtype=like.dtype, device=like.device)
        except (TypeError, ValueError, RuntimeError):
            pass
    if g is None:
        raise ValueError(f"{name} must be a number or a tensor broadcastable to (..., T) = {(*lead, T)}, "
                         f"got {got}.")
    try:
        g = torch.broadcast_to(g, (*lead, T))
    except RuntimeError:
        raise ValueError(
            f"{name} must be a number or a tensor broadcastable to (..., T) = {(*lead, T)}, "
            f"got shape {tuple(g.shape)}.") from None
    checks.check_in_range(name, g, low, high)
    return g


def _chunk_start_states(M0: Tensor, decays: Tensor, increments: Tensor) -> tuple[Tensor, Tensor]:
    """The one sequential part of a chunked Hebbian memory: M_{c+1} = decay_c M_c + dM_c.

    ``decays`` is (N, n), ``increments`` (N, n, dv, dk). Returns the state at the start of every
    chunk (N, n, dv, dk) and the final state. ``unbind`` (not indexing) keeps the backward pass
    free of full-size zero tensors.
    """
    starts, M = [], M0
    for decay, dM in zip(decays.unbind(1), increments.unbind(1)):
        starts.append(M)
        M = decay[:, None, None] * M + dM
    return torch.stack(starts, dim=1), M


@dataclasses.dataclass
class MatrixState(MemoryState):
    """State of a Hebbian or delta-rule memory: the matrix M (..., d_value, d_key) and the tokens written."""

    M: Tensor
    position: int = 0


class AssociativeMemory(nn.Module):
    """Base class: shape checks, the choice of path, streaming state and the level declaration.

    Subclasses implement ``init_state``, ``state_spec`` (what a carried state must look like),
    ``_gates``, ``write`` (one token, the rule), ``read``, ``_recall`` (many queries, no write)
    and ``_chunked`` (the whole input, chunk by chunk). Inputs have shape ``(..., T, d)``: any
    leading dims (batch, heads) are batch dims, each with its own memory state.
    """

    rule: str = ""
    objective: str = ""
    update_rule: str = ""

    def __init__(self, d_key: int, d_value: int, chunk_size: int = 64) -> None:
        super().__init__()
        self.d_key, self.d_value = checks.positive_int("d_key", d_key), checks.positive_int("d_value", d_value)
        self.chunk_size = checks.positive_int("chunk_size", chunk_size, " (e.g. 64)")

    # -- levels ---------------------------------------------------------------------------
    def level_period(self) -> int:
        return 1

    def declared_levels(self) -> list[Level]:
        return [Level("memory", "tokens", self.level_period(), "(k_t, v_t) pairs of the sequence",
                      self.objective, self.update_rule)]

    # -- checks ---------------------------------------------------------------------------
    def _check_inputs(self, q: Tensor, k: Tensor, v: Tensor) -> None:
        for name, x in (("q", q), ("k", k), ("v", v)):
            if not torch.is_tensor(x):
                raise ValueError(f"{name} must be a torch.Tensor of shape (..., T, d), got {type(x).__name__}.")
            if x.dim() < 2:
                raise ValueError(f"{name} must have shape (..., T, d) with at least 2 dims, got {tuple(x.shape)}.")
            if not x.is_floating_point():
                raise ValueError(f"{name} must be a floating-point tensor, got dtype {x.dtype}.")
        if k.shape[-1] != self.d_key:
            raise ValueError(f"k has width {k.shape[-1]} but this memory was built with d_key={self.d_key}; "
                             f"project the keys to {self.d_key} or build the memory with d_key={k.shape[-1]}.")
        if q.shape[-1] != self.d_key:
            raise ValueError(f"q has width {q.shape[-1]} but keys have width d_key={self.d_key}; "
                             "queries and keys must share a width.")
        if v.shape[-1] != self.d_value:
            raise ValueError(f"v has width {v.shape[-1]} but this memory was built with d_value={self.d_value}; "
                             f"project the values to {self.d_value} or build it with d_value={v.shape[-1]}.")
        if not (q.shape[:-1] == k.shape[:-1] == v.shape[:-1]):
            raise ValueError("q, k and v must agree in every dim but the last (..., T); got "
                             f"q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)}.")
        if q.shape[-2] < 1:
            raise ValueError("the sequence is empty (T = 0); pass at least one token.")
        if not (q.dtype == k.dtype == v.dtype):
            raise ValueError(f"q, k, v must share a dtype, got {q.dtype}, {k.dtype}, {v.dtype}.")
        for name, x in (("q", q), ("k", k), ("v", v)):
            checks.check_finite(name, x)

    # -- forward --------------------------------------------------------------------------
    def forward(self, q: Tensor, k: Tensor, v: Tensor, *, state: MemoryState | None = None,
                path: str = "chunked", chunk_size: int | None = None, **gates: Any) -> tuple[Tensor, MemoryState]:
        """Write every (k_t, v_t) and read y_t = M_t(q_t); returns ``(y, state)``.

        Args:
            q, k: ``(..., T, d_key)``; v: ``(..., T, d_value)``.
            state: the state returned by a previous call (streaming) or None for a fresh memory.
            path: ``"chunked"`` (fast, default) or ``"reference"`` (one token at a time).
            chunk_size: overrides ``self.chunk_size`` for this call.
            **gates: the rule's per-token gates (see the class docstring), numbers or tensors
                broadcastable to ``(..., T)``.

        Returns:
            y: ``(..., T, d_value)``; state: this memory's typed state, tensors with batch dims ``(...)``.
        """
        checks.choice("path", path, PATHS)
        C = self.chunk_size if chunk_size is None else checks.positive_int("chunk_size", chunk_size, " (e.g. 64)")
        self._check_inputs(q, k, v)
        lead, T = q.shape[:-2], q.shape[-2]
        g = self._gates(gates, lead, T, q)
        N = math.prod(lead)
        flat = lambda x: x.reshape(N, T, x.shape[-1])  # noqa: E731
        q2, k2, v2 = flat(q), flat(k), flat(v)
        g2 = {name: x.reshape(N, T) for name, x in g.items()}
        st = self._flat_state(state, lead, N, q) if state is not None else self.init_state(N, q.dtype, q.device)
        if path == "reference":
            y, st = self._reference(q2, k2, v2, g2, st)
        else:
            y, st = self._chunked(q2, k2, v2, g2, st, C)
        return y.reshape(*lead, T, self.d_value), self._unflat_state(st, lead)

    def _reference(self, q: Tensor, k: Tensor, v: Tensor, g: dict, st: MemoryState) -> tuple[Tensor, MemoryState]:
        """Per-token reference: write token t with the rule, then read it. Slow and obvious."""
        ys, mags = [], []
        for t in range(q.shape[1]):
            st, mag = self.write(st, k[:, t], v[:, t], **{n: x[:, t] for n, x in g.items()})
            ys.append(self.read(st, q[:, t]))
            mags.append(mag)
        self._record(st, q.shape[1], torch.stack(mags) if mags[0] is not None else None)
        return torch.stack(ys, dim=1), st

    def _record(self, st: MemoryState, T: int, magnitudes: Tensor | None) -> None:
        """Log one update event per token of this call, at its position in the stream."""
        if active_recorder() is not None:
            record_update(self, "memory", "tokens", torch.arange(st.position - T, st.position), magnitudes)

    def recall(self, state: MemoryState, queries: Tensor) -> Tensor:
        """Read the memory at many queries without writing: ``(..., n, d_key) -> (..., n, d_value)``.

        ``state`` is the one returned by :meth:`forward`; its batch dims ``(...)`` must match.
        """
        if not torch.is_tensor(queries) or queries.dim() < 2 or queries.shape[-1] != self.d_key:
            raise ValueError(f"queries must be a tensor of shape (..., n, d_key={self.d_key}), "
                             f"got {getattr(queries, 'shape', type(queries).__name__)}.")
        checks.check_finite("queries", queries)
        lead, n = queries.shape[:-2], queries.shape[-2]
        N = math.prod(lead)
        st = self._flat_state(state, lead, N, queries, fresh=False)
        return self._recall(st, queries.reshape(N, n, self.d_key)).reshape(*lead, n, self.d_value)

    # -- subclass hooks -------------------------------------------------------------------
    def _recall(self, state: MemoryState, queries: Tensor) -> Tensor:
        raise NotImplementedError

    def _gates(self, gates: dict, lead: torch.Size, T: int, like: Tensor) -> dict[str, Tensor]:
        raise NotImplementedError

    def init_state(self, batch: int, dtype: torch.dtype = torch.float32, device: Any = None) -> MemoryState:
        raise NotImplementedError

    def state_spec(self, lead: tuple[int, ...]) -> MemoryState:
        """The state this memory carries for inputs with batch dims ``lead``: its class, a Shape per tensor."""
        raise NotImplementedError

    def write(self, state: MemoryState, k: Tensor, v: Tensor, **gates: Tensor) -> tuple[MemoryState, Tensor | None]:
        raise NotImplementedError

    def read(self, state: MemoryState, q: Tensor) -> Tensor:
        raise NotImplementedError

    def _chunked(self, q, k, v, g, st, C):  # pragma: no cover - abstract
        raise NotImplementedError

    # -- state plumbing (batch dims are flattened inside) ----------------------------------
    def _flat_state(self, state: MemoryState, lead: torch.Size, N: int, like: Tensor,
                    fresh: bool = True) -> MemoryState:
        check_state(state, self.state_spec(tuple(lead)), type(self).__name__, device=like.device,
                    dtype=state_dtype(like), fresh=fresh)
        return state.map_tensors(lambda x: x.reshape(N, *x.shape[len(lead):]))

    def _unflat_state(self, st: MemoryState, lead: torch.Size) -> MemoryState:
        return st.map_tensors(lambda x: x.reshape(*lead, *x.shape[1:]))


# ---------------------------------------------------------------------------------------------


class _MatrixMemory(AssociativeMemory):
    """What the two matrix memories share: state M (d_value x d_key), read y = M q, gates eta, alpha."""

    def _gates(self, gates, lead, T, like):
        unknown = set(gates) - {"eta", "alpha"}
        if unknown:
            raise ValueError(f"{type(self).__name__} takes gates eta and alpha, got unknown {sorted(unknown)}.")
        return {"eta": check_gate("eta", gates.get("eta", 1.0), lead, T, like, 0.0, math.inf),
                "alpha": check_gate("alpha", gates.get("alpha", 1.0), lead, T, like, 0.0, 1.0)}

    def init_state(self, batch: int, dtype: torch.dtype = torch.float32, device: Any = None) -> MatrixState:
        return MatrixState(torch.zeros(batch, self.d_value, self.d_key, dtype=dtype, device=device))

    def state_spec(self, lead):
        return MatrixState(Shape(lead, (self.d_value, self.d_key)))

    def read(self, state, q):
        return torch.einsum("nvk,nk->nv", state.M, q)

    def _recall(self, state, queries):
        return queries @ state.M.transpose(1, 2)


class HebbianMemory(_MatrixMemory):
    """Hebbian memory = (gated) linear attention (docs/paper.md §1.2; notebook 01).

    Objective -<M k_t, v_t>; its gradient is -v_t k_t^T, so one step of size eta_t from the
    retained state gives ``M_t = alpha_t M_{t-1} + eta_t v_t k_t^T`` and ``y_t = M_t q_t``.
    With eta = alpha = 1 this is exactly unnormalised causal linear attention:
    ``y_t = sum_{i<=t} v_i (k_i . q_t)``.

    Gates: ``eta`` (write strength, >= 0, default 1), ``alpha`` (retention in [0, 1], default 1).
    """

    rule = "hebbian"
    objective = "-<M k, v>  (dot-product similarity)"
    update_rule = "M_t = alpha_t M_{t-1} + eta_t v_t k_t^T"

    def write(self, state, k, v, *, eta, alpha):
        write = eta[:, None, None] * v[:, :, None] * k[:, None, :]          # eta v k^T   (N, dv, dk)
        M = alpha[:, None, None] * state.M + write
        mag = (eta * v.norm(dim=-1) * k.norm(dim=-1)).mean()                 # |eta v k^T|_F
        return MatrixState(M, state.position + 1), mag

    def _chunked(self, q, k, v, g, st, C):
        """All chunks at once, then a loop over chunks for the state alone.

        For chunk c with start state M_c (rows are tokens):
            Y_c     = diag(gamma) Q M_c^T + (Gamma o Q K^T) (eta o V)
            M_{c+1} = gamma_C M_c + (Gamma_C o eta o V)^T K
        with Gamma[i, j] = prod_{l=j+1..i} alpha_l (zero for j > i), gamma_i = prod_{l<=i} alpha_l.
        Only the second line is sequential; everything else is one batched product over chunks.
        """
        T = q.shape[1]
        Q, K, V, eta, alpha = pad_to_chunks(C, q, k, v, g["eta"], g["alpha"], pad_values=(0, 0, 0, 0, 1))
        Gamma, gamma = decay_products(alpha)                                   # (N,n,C,C), (N,n,C)
        W = eta[..., None] * V                                                  # eta_i v_i
        increments = (Gamma[..., -1, :, None] * W).transpose(-1, -2) @ K        # (N,n,dv,dk)
        starts, M = _chunk_start_states(st.M, gamma[..., -1], increments)
        Y = gamma[..., None] * (Q @ starts.transpose(-1, -2)) + (Gamma * (Q @ K.transpose(-1, -2))) @ W
        new = MatrixState(M, st.position + T)
        if active_recorder() is not None:
            self._record(new, T, (g["eta"] * v.norm(dim=-1) * k.norm(dim=-1)).mean(0))
        return Y.flatten(1, 2)[:, :T], new


class DeltaRuleMemory(_MatrixMemory):
    """Delta-rule memory = gated DeltaNet (docs/paper.md §1.3; notebook 01).

    Objective 1/2 |M k_t - v_t|^2. One gradient step of size eta_t taken from the retained
    state alpha_t M_{t-1} gives

        M_t = alpha_t M_{t-1} (I - eta_t k_t k_t^T) + eta_t v_t k_t^T,      y_t = M_t q_t.

    Unlike Hebbian, the write depends on the state: it first erases what the memory currently
    returns for k_t. With unit-norm keys and eta in [0, 1] the factor (I - eta k k^T) is a
    contraction, so the state stays bounded (notebook 01 shows the capacity this buys).

    Gates: ``eta`` (step size, default 1), ``alpha`` (retention in [0, 1], default 1).
    """

    rule = "delta"
    objective = "1/2 |M k - v|^2  (L2 regression)"
    update_rule = "M_t = alpha_t M_{t-1} (I - eta_t k_t k_t^T) + eta_t v_t k_t^T"

    def write(self, state, k, v, *, eta, alpha):
        M = alpha[:, None, None] * state.M                                   # retain
        error = torch.einsum("nvk,nk->nv", M, k) - v                             # M k - v
        u = -eta[:, None] * error                                                # the write u_t
        M = M + u[:, :, None] * k[:, None, :]                                    # - eta grad L
        return MatrixState(M, state.position + 1), (u.norm(dim=-1) * k.norm(dim=-1)).mean()

    def _chunked(self, q, k, v, g, st, C):
        """Exact chunkwise delta rule (WY form). Within chunk c (start state M_c) the state is

            M_i = gamma_i M_c + sum_{j<=i} Gamma[i, j] u_j k_j^T,
        and the writes u solve the unit lower-triangular system (A strictly lower)
            (I + A) U = diag(eta) (V - diag(gamma) K M_c^T),   A[i, j] = eta_i Gamma[i, j] (k_i . k_j).
        The solve is linear in M_c: with S = (I + A)^{-1} diag(eta), U = S V - S diag(gamma) K M_c^T,
        so S, S V and S diag(gamma) K are one batched solve and two products for all chunks.
        Only a short loop over chunks remains:
            U_c = S V - (S diag(gamma) K) M_c^T,     M_{c+1} = gamma_C M_c + U_c^T diag(Gamma_C) K,
        and the outputs follow in one batch: Y = diag(gamma) Q M_c^T + (Gamma o Q K^T) U.
        """
        T = q.shape[1]
        Q, K, V, eta, alpha = pad_to_chunks(C, q, k, v, g["eta"], g["alpha"], pad_values=(0, 0, 0, 0, 1))
        Gamma, gamma = decay_products(alpha)                                   # (N,n,C,C), (N,n,C)
        A = (eta[..., None] * Gamma * (K @ K.transpose(-1, -2))).tril(-1)
        # the solve runs in float32 at least: triangular_solve has no half-precision kernel
        work = torch.promote_types(A.dtype, torch.float32)
        eye = torch.eye(C, dtype=work, device=A.device)
        S = torch.linalg.solve_triangular(eye + A.to(work), torch.diag_embed(eta.to(work)), upper=False,
                                          unitriangular=True).to(A.dtype)
        U_v, W_k = S @ V, S @ (gamma[..., None] * K)                            # (N,n,C,dv), (N,n,C,dk)
        K_end = Gamma[..., -1, :, None] * K                                     # keys decayed to the chunk end
        M, starts, writes = st.M, [], []
        for Uv, Wk, Ke, g_end in zip(U_v.unbind(1), W_k.unbind(1), K_end.unbind(1), gamma[..., -1].unbind(1)):
            starts.append(M)
            U = Uv - Wk @ M.transpose(1, 2)                                     # the writes u_i of chunk c
            writes.append(U)
            M = g_end[:, None, None] * M + U.transpose(1, 2) @ Ke
        starts, U = torch.stack(starts, dim=1), torch.stack(writes, dim=1)
        Y = gamma[..., None] * (Q @ starts.transpose(-1, -2)) + (Gamma * (Q @ K.transpose(-1, -2))) @ U
        new = MatrixState(M, st.position + T)
        if active_recorder() is not None:
            u = U.flatten(1, 2)[:, :T]
            self._record(new, T, (u.norm(dim=-1) * k.norm(dim=-1)).mean(0))
        return Y.flatten(1, 2)[:, :T], new


