"""Associative memories as optimization problems (paper_spec §1; notebook 01).

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
  gradient of a chunk at the chunk-start weights (paper_spec §1.6), which equals the reference
  at ``chunk_size=1`` and is a deliberate approximation for larger chunks.

Memory state is a plain dict of tensors, batched per sequence, so a stream can be processed in
several calls: ``y1, s = mem(q1, k1, v1); y2, s = mem(q2, k2, v2, state=s)`` equals one call on
the concatenation (also for the deep memory: the state remembers where its chunk started).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from .levels import Level, active_recorder, record_update

__all__ = [
    "AssociativeMemory",
    "HebbianMemory",
    "DeltaRuleMemory",
    "TitansMemory",
    "DataDependentGates",
    "mlp_forward",
    "mlp_surprise_factors",
    "surprise_scale",
    "clip_gradients",
    "deep_memory_chunk",
    "weight_change",
    "MemoryBlock",
    "unit_norm",
    "MEMORY_RULES",
    "make_memory",
]

PATHS = ("chunked", "reference")


# ---------------------------------------------------------------------------------------------
# Input checking: every public entry point says which argument is wrong and what to change.


def _check_finite(name: str, x: Tensor) -> None:
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or inf values; clean or rescale the inputs before the memory.")


def _check_chunk_size(chunk_size: Any) -> int:
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive int (e.g. 64), got {chunk_size!r}.")
    return chunk_size


def _gate(name: str, value: Any, lead: torch.Size, T: int, like: Tensor, low: float, high: float) -> Tensor:
    """A per-token gate as a tensor of shape (*lead, T); accepts a number or anything broadcastable."""
    g = torch.as_tensor(value, dtype=like.dtype, device=like.device)
    try:
        g = torch.broadcast_to(g, (*lead, T))
    except RuntimeError:
        raise ValueError(
            f"{name} must be a number or a tensor broadcastable to (..., T) = {(*lead, T)}, "
            f"got shape {tuple(g.shape)}.") from None
    _check_finite(name, g)
    if (g < low).any() or (g > high).any():
        raise ValueError(f"{name} must lie in [{low}, {high}], got values in "
                         f"[{g.min().item():.4g}, {g.max().item():.4g}].")
    return g


def _segment_log_sums(log_a: Tensor) -> Tensor:
    """S[..., i, j] = sum_{l=j+1..i} log_a[..., l] for j <= i, and -inf above the diagonal.

    exp(S) is the decay from token j to token i inside a chunk. Summing a masked copy (rather
    than differencing a cumulative sum) keeps long products of small gates accurate.
    """
    C = log_a.shape[-1]
    x = log_a.unsqueeze(-1).expand(*log_a.shape, C)  # x[..., l, j] = log_a[..., l]
    strictly_lower = torch.ones(C, C, dtype=torch.bool, device=log_a.device).tril(-1)
    sums = torch.where(strictly_lower, x, torch.zeros((), dtype=x.dtype, device=x.device)).cumsum(-2)
    lower = torch.ones(C, C, dtype=torch.bool, device=log_a.device).tril()
    return sums.masked_fill(~lower, float("-inf"))


def _decay_matrices(a: Tensor) -> tuple[Tensor, Tensor]:
    """For per-token multipliers a (..., C): Gamma[i, j] = prod_{l=j+1..i} a_l and gamma_i = prod_{l<=i} a_l."""
    log_a = torch.log(a)
    return torch.exp(_segment_log_sums(log_a)), torch.exp(torch.cumsum(log_a, dim=-1))


def _as_chunks(C: int, *xs: Tensor, pad_values: tuple[float, ...]) -> list[Tensor]:
    """Pad the time dim (dim 1) to a multiple of C and view it as (N, n_chunks, C, ...).

    The padding values are chosen by the caller so that padded tokens change nothing
    (zero write, retention 1); their outputs are cut off afterwards.
    """
    T = xs[0].shape[1]
    pad = -T % C
    out = []
    for x, value in zip(xs, pad_values):
        if pad:
            filler = x.new_full((x.shape[0], pad, *x.shape[2:]), value)
            x = torch.cat([x, filler], dim=1)
        out.append(x.reshape(x.shape[0], -1, C, *x.shape[2:]))
    return out


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


# ---------------------------------------------------------------------------------------------


class AssociativeMemory(nn.Module):
    """Base class: shape checks, the choice of path, streaming state and the level declaration.

    Subclasses implement ``init_state``, ``write`` (one token, the rule), ``read`` and
    ``_chunk`` (one chunk in parallel). Inputs have shape ``(..., T, d)``: any leading dims
    (batch, heads) are batch dims, each with its own memory state.
    """

    rule: str = ""
    objective: str = ""
    update_rule: str = ""

    def __init__(self, d_key: int, d_value: int, chunk_size: int = 64) -> None:
        super().__init__()
        for name, d in (("d_key", d_key), ("d_value", d_value)):
            if isinstance(d, bool) or not isinstance(d, int) or d < 1:
                raise ValueError(f"{name} must be a positive int, got {d!r}.")
        self.d_key, self.d_value = d_key, d_value
        self.chunk_size = _check_chunk_size(chunk_size)

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
            _check_finite(name, x)

    # -- forward --------------------------------------------------------------------------
    def forward(self, q: Tensor, k: Tensor, v: Tensor, *, state: dict | None = None,
                path: str = "chunked", chunk_size: int | None = None, **gates: Any) -> tuple[Tensor, dict]:
        """Write every (k_t, v_t) and read y_t = M_t(q_t); returns ``(y, state)``.

        Args:
            q, k: ``(..., T, d_key)``; v: ``(..., T, d_value)``.
            state: the state returned by a previous call (streaming) or None for a fresh memory.
            path: ``"chunked"`` (fast, default) or ``"reference"`` (one token at a time).
            chunk_size: overrides ``self.chunk_size`` for this call.
            **gates: the rule's per-token gates (see the class docstring), numbers or tensors
                broadcastable to ``(..., T)``.

        Returns:
            y: ``(..., T, d_value)``; state: dict of tensors with batch dims ``(...)``.
        """
        if path not in PATHS:
            raise ValueError(f"path must be one of {PATHS}, got {path!r}.")
        C = self.chunk_size if chunk_size is None else _check_chunk_size(chunk_size)
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

    def _reference(self, q: Tensor, k: Tensor, v: Tensor, g: dict, st: dict) -> tuple[Tensor, dict]:
        """Per-token reference: write token t with the rule, then read it. Slow and obvious."""
        ys, mags = [], []
        for t in range(q.shape[1]):
            st, mag = self.write(st, k[:, t], v[:, t], **{n: x[:, t] for n, x in g.items()})
            ys.append(self.read(st, q[:, t]))
            mags.append(mag)
        self._record(st, q.shape[1], torch.stack(mags) if mags[0] is not None else None)
        return torch.stack(ys, dim=1), st

    def _record(self, st: dict, T: int, magnitudes: Tensor | None) -> None:
        """Log one update event per token of this call, at its position in the stream."""
        if active_recorder() is not None:
            record_update(self, "memory", "tokens", torch.arange(st["position"] - T, st["position"]), magnitudes)

    def recall(self, state: dict, queries: Tensor) -> Tensor:
        """Read the memory at many queries without writing: ``(..., n, d_key) -> (..., n, d_value)``.

        ``state`` is the one returned by :meth:`forward`; its batch dims ``(...)`` must match.
        """
        if not torch.is_tensor(queries) or queries.dim() < 2 or queries.shape[-1] != self.d_key:
            raise ValueError(f"queries must be a tensor of shape (..., n, d_key={self.d_key}), "
                             f"got {getattr(queries, 'shape', type(queries).__name__)}.")
        _check_finite("queries", queries)
        lead, n = queries.shape[:-2], queries.shape[-2]
        N = math.prod(lead)
        st = self._flat_state(state, lead, N, queries)
        return self._recall(st, queries.reshape(N, n, self.d_key)).reshape(*lead, n, self.d_value)

    # -- subclass hooks -------------------------------------------------------------------
    def _recall(self, state: dict, queries: Tensor) -> Tensor:
        raise NotImplementedError

    def _gates(self, gates: dict, lead: torch.Size, T: int, like: Tensor) -> dict[str, Tensor]:
        raise NotImplementedError

    def init_state(self, batch: int, dtype: torch.dtype = torch.float32, device: Any = None) -> dict:
        raise NotImplementedError

    def write(self, state: dict, k: Tensor, v: Tensor, **gates: Tensor) -> tuple[dict, Tensor | None]:
        raise NotImplementedError

    def read(self, state: dict, q: Tensor) -> Tensor:
        raise NotImplementedError

    def _chunked(self, q, k, v, g, st, C):  # pragma: no cover - abstract
        raise NotImplementedError

    # -- state plumbing (batch dims are flattened inside) ----------------------------------
    _STATE_TENSORS: tuple[str, ...] = ()

    def _flat_state(self, state: dict, lead: torch.Size, N: int, like: Tensor) -> dict:
        if not isinstance(state, dict) or "position" not in state:
            raise ValueError("state must be the dict returned by a previous call of this memory (or None).")
        out = dict(state)
        for key in self._STATE_TENSORS:
            xs = state[key]
            single = torch.is_tensor(xs)
            xs = [xs] if single else list(xs)
            flat = []
            for x in xs:
                if tuple(x.shape[:len(lead)]) != tuple(lead):
                    raise ValueError(f"state[{key!r}] has batch dims {tuple(x.shape[:len(lead)])} but the inputs "
                                     f"have {tuple(lead)}; carry the state of the same batch of sequences.")
                flat.append(x.reshape(N, *x.shape[len(lead):]).to(like.dtype))
            out[key] = flat[0] if single else flat
        return out

    def _unflat_state(self, st: dict, lead: torch.Size) -> dict:
        out = dict(st)
        for key in self._STATE_TENSORS:
            xs = st[key]
            if torch.is_tensor(xs):
                out[key] = xs.reshape(*lead, *xs.shape[1:])
            else:
                out[key] = [x.reshape(*lead, *x.shape[1:]) for x in xs]
        return out


# ---------------------------------------------------------------------------------------------


class _MatrixMemory(AssociativeMemory):
    """What the two matrix memories share: state M (d_value x d_key), read y = M q, gates eta, alpha."""

    _STATE_TENSORS = ("M",)

    def _gates(self, gates, lead, T, like):
        unknown = set(gates) - {"eta", "alpha"}
        if unknown:
            raise ValueError(f"{type(self).__name__} takes gates eta and alpha, got unknown {sorted(unknown)}.")
        return {"eta": _gate("eta", gates.get("eta", 1.0), lead, T, like, 0.0, math.inf),
                "alpha": _gate("alpha", gates.get("alpha", 1.0), lead, T, like, 0.0, 1.0)}

    def init_state(self, batch: int, dtype: torch.dtype = torch.float32, device: Any = None) -> dict:
        return {"M": torch.zeros(batch, self.d_value, self.d_key, dtype=dtype, device=device), "position": 0}

    def read(self, state, q):
        return torch.einsum("nvk,nk->nv", state["M"], q)

    def _recall(self, state, queries):
        return queries @ state["M"].transpose(1, 2)


class HebbianMemory(_MatrixMemory):
    """Hebbian memory = (gated) linear attention (paper_spec §1.2; notebook 01).

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
        M = alpha[:, None, None] * state["M"] + write
        mag = (eta * v.norm(dim=-1) * k.norm(dim=-1)).mean()                 # |eta v k^T|_F
        return {"M": M, "position": state["position"] + 1}, mag

    def _chunked(self, q, k, v, g, st, C):
        """All chunks at once, then a loop over chunks for the state alone.

        For chunk c with start state M_c (rows are tokens):
            Y_c     = diag(gamma) Q M_c^T + (Gamma o Q K^T) (eta o V)
            M_{c+1} = gamma_C M_c + (Gamma_C o eta o V)^T K
        with Gamma[i, j] = prod_{l=j+1..i} alpha_l (zero for j > i), gamma_i = prod_{l<=i} alpha_l.
        Only the second line is sequential; everything else is one batched product over chunks.
        """
        N, T, _ = q.shape
        Q, K, V, eta, alpha = _as_chunks(C, q, k, v, g["eta"], g["alpha"], pad_values=(0, 0, 0, 0, 1))
        Gamma, gamma = _decay_matrices(alpha)                                   # (N,n,C,C), (N,n,C)
        W = eta[..., None] * V                                                  # eta_i v_i
        increments = (Gamma[..., -1, :, None] * W).transpose(-1, -2) @ K        # (N,n,dv,dk)
        starts, M = _chunk_start_states(st["M"], gamma[..., -1], increments)
        Y = gamma[..., None] * (Q @ starts.transpose(-1, -2)) + (Gamma * (Q @ K.transpose(-1, -2))) @ W
        new = {"M": M, "position": st["position"] + T}
        if active_recorder() is not None:
            self._record(new, T, (g["eta"] * v.norm(dim=-1) * k.norm(dim=-1)).mean(0))
        return Y.reshape(N, -1, self.d_value)[:, :T], new


class DeltaRuleMemory(_MatrixMemory):
    """Delta-rule memory = gated DeltaNet (paper_spec §1.3; notebook 01).

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
        M = alpha[:, None, None] * state["M"]                                   # retain
        error = torch.einsum("nvk,nk->nv", M, k) - v                             # M k - v
        u = -eta[:, None] * error                                                # the write u_t
        M = M + u[:, :, None] * k[:, None, :]                                    # - eta grad L
        return {"M": M, "position": state["position"] + 1}, (u.norm(dim=-1) * k.norm(dim=-1)).mean()

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
        N, T, _ = q.shape
        Q, K, V, eta, alpha = _as_chunks(C, q, k, v, g["eta"], g["alpha"], pad_values=(0, 0, 0, 0, 1))
        Gamma, gamma = _decay_matrices(alpha)                                   # (N,n,C,C), (N,n,C)
        A = (eta[..., None] * Gamma * (K @ K.transpose(-1, -2))).tril(-1)
        eye = torch.eye(C, dtype=A.dtype, device=A.device)
        S = torch.linalg.solve_triangular(eye + A, torch.diag_embed(eta), upper=False, unitriangular=True)
        U_v, W_k = S @ V, S @ (gamma[..., None] * K)                            # (N,n,C,dv), (N,n,C,dk)
        K_end = Gamma[..., -1, :, None] * K                                     # keys decayed to the chunk end
        M, starts, writes = st["M"], [], []
        for Uv, Wk, Ke, g_end in zip(U_v.unbind(1), W_k.unbind(1), K_end.unbind(1), gamma[..., -1].unbind(1)):
            starts.append(M)
            U = Uv - Wk @ M.transpose(1, 2)                                     # the writes u_i of chunk c
            writes.append(U)
            M = g_end[:, None, None] * M + U.transpose(1, 2) @ Ke
        starts, U = torch.stack(starts, dim=1), torch.stack(writes, dim=1)
        Y = gamma[..., None] * (Q @ starts.transpose(-1, -2)) + (Gamma * (Q @ K.transpose(-1, -2))) @ U
        new = {"M": M, "position": st["position"] + T}
        if active_recorder() is not None:
            u = U.reshape(N, -1, self.d_value)[:, :T]
            self._record(new, T, (u.norm(dim=-1) * k.norm(dim=-1)).mean(0))
        return Y.reshape(N, -1, self.d_value)[:, :T], new


# ---------------------------------------------------------------------------------------------


def _silu_grad(h: Tensor) -> Tensor:
    """d/dh [h sigmoid(h)] = s (1 + h (1 - s)), s = sigmoid(h)."""
    s = torch.sigmoid(h)
    return s * (1 + h * (1 - s))


def weight_change(new: list[Tensor], old: list[Tensor]) -> Tensor:
    """How far a memory moved: sqrt(sum over its weight tensors of |new - old|^2), per batch row, averaged.

    This is the magnitude every memory logs with its update events (the recorder's ``magnitudes``).
    """
    return sum((a - b).flatten(1).pow(2).sum(1) for a, b in zip(new, old)).sqrt().mean()


def mlp_forward(weights: list[Tensor], z: Tensor, residual: bool) -> Tensor:
    """M(z) = [z +] W_L s(... s(W_1 z)) for batched weights (N, d_out, d_in), inputs (N, ..., d_in); s = SiLU."""
    x = z
    for i, W in enumerate(weights):
        h = x @ W.transpose(-1, -2) if x.dim() == 3 else torch.einsum("noi,ni->no", W, x)
        x = torch.nn.functional.silu(h) if i < len(weights) - 1 else h
    return x + z if residual else x


def surprise_scale(norms: Tensor, max_norm: float | None) -> Tensor | None:
    """Factor min(1, max_norm / |g|) that clips a per-token surprise to norm ``max_norm`` (None: no clip).

    Written as max_norm / max(|g|, max_norm), which is smooth enough for the outer gradient and
    never divides by zero. Clipping bounds every write, so a burst of huge inputs can grow the
    memory at most linearly, never exponentially (the stability test of notebook 04).
    """
    if max_norm is None:
        return None
    return max_norm / norms.clamp_min(max_norm)


def clip_gradients(grads: list[Tensor], max_norm: float | None) -> list[Tensor]:
    """Clip each batch row's gradient (a list over layers of (N, d_out, d_in)) to norm ``max_norm``."""
    if max_norm is None:
        return grads
    norms = sum(g.flatten(1).pow(2).sum(1) for g in grads).sqrt()
    scale = surprise_scale(norms, max_norm)
    return [g * scale[:, None, None] for g in grads]


def mlp_surprise_factors(weights: list[Tensor], K: Tensor, V: Tensor, residual: bool,
                         max_norm: float | None = None) -> tuple[list[Tensor], list[Tensor]]:
    """Per-token gradient of 1/2|M(k_i) - v_i|^2 at ``weights`` as rank-1 factors.

    grad W_l (token i) = delta_l[i] z_{l-1}[i]^T, returned as lists (inputs z, signals delta),
    each (N, C, width): backpropagation written out for the whole chunk at once. V is the
    target: no gradient is taken through it. With ``max_norm`` each token's whole gradient is
    clipped to that norm (|grad|^2 = sum_l |delta_l|^2 |z_l|^2 for rank-1 factors).
    """
    zs, hs, x = [], [], K
    for i, W in enumerate(weights):
        zs.append(x)
        h = x @ W.transpose(1, 2)
        hs.append(h)
        x = torch.nn.functional.silu(h) if i < len(weights) - 1 else h
    delta = (x + K if residual else x) - V                                      # dL/d output
    deltas = [delta]
    for i in range(len(weights) - 1, 0, -1):
        delta = (delta @ weights[i]) * _silu_grad(hs[i - 1])
        deltas.append(delta)
    deltas = deltas[::-1]
    if max_norm is not None:
        norms = sum(d.pow(2).sum(-1) * z.pow(2).sum(-1) for z, d in zip(zs, deltas)).sqrt()
        scale = surprise_scale(norms, max_norm)[..., None]
        deltas = [d * scale for d in deltas]
    return zs, deltas


def deep_memory_chunk(Q: Tensor, K: Tensor, V: Tensor, theta: Tensor, eta: Tensor, alpha: Tensor,
                      W0: list[Tensor], S0: list[Tensor], WA: list[Tensor],
                      residual: bool, max_surprise: float | None = None) -> tuple[Tensor, list[Tensor], list[Tensor]]:
    """One chunk of n tokens of a deep (MLP) memory, all gradients at the anchor weights WA.

    Unrolling S and M over the chunk (indices 1..n, start state W0, S0):
        M_t = D[t,0] W0 + c_t S0 - sum_{i<=t} G[t,i] theta_i u_i
        S_n = P[n,0] S0 - sum_i P[n,i] theta_i u_i
    with D[t,s] = prod_{s<j<=t} (1 - alpha_j), P[s,i] = prod_{i<j<=s} eta_j, G = D @ P and
    c = D @ P[:,0]. Since u_i = delta_i z_i^T per layer, reading layer l at token t is
        h_t = D[t,0] W0 z + c_t S0 z - sum_i G[t,i] theta_i (z_i . z) delta_i.
    """
    D, d0 = _decay_matrices(1 - alpha)                   # (N,n,n), (N,n)
    P, p0 = _decay_matrices(eta)
    G = D @ P                                            # (N,n,n) lower-triangular
    c = (D @ p0[:, :, None]).squeeze(-1)                 # (N,n)
    Wt = G * theta[:, None, :]                           # weight of u_i in M_t
    zs, deltas = mlp_surprise_factors(WA, K, V, residual, max_surprise)
    x, new_W, new_S = Q, [], []
    for i, (W, S, Zw, Dl) in enumerate(zip(W0, S0, zs, deltas)):
        h = (d0[:, :, None] * (x @ W.transpose(1, 2)) + c[:, :, None] * (x @ S.transpose(1, 2))
             - (Wt * (x @ Zw.transpose(1, 2))) @ Dl)
        new_W.append(d0[:, -1, None, None] * W + c[:, -1, None, None] * S
                     - (Wt[:, -1, :, None] * Dl).transpose(1, 2) @ Zw)
        new_S.append(p0[:, -1, None, None] * S - ((P[:, -1] * theta)[:, :, None] * Dl).transpose(1, 2) @ Zw)
        x = torch.nn.functional.silu(h) if i < len(W0) - 1 else h
    y = x + Q if residual else x
    return y, new_W, new_S


class TitansMemory(AssociativeMemory):
    """Titans' deep long-term memory (paper_spec §1.5-1.6; Titans §3; notebook 01, 04).

    The memory is an MLP ``M(z) = [z +] W_L s(... s(W_1 z))`` (s = SiLU; the residual ``z +`` when
    ``residual=True``), whose weights are the state. Objective 1/2 |M(k_t) - v_t|^2; its gradient is
    the *surprise*. Titans keeps a momentum of surprise and a forget gate:

        S_t = eta_t S_{t-1} - theta_t grad L(M_{t-1}; k_t, v_t)      (past + momentary surprise)
        M_t = (1 - alpha_t) M_{t-1} + S_t                            (forgetting)
        y_t = M_t(q_t)

    Gates (per token, data-dependent in a model — see :class:`DataDependentGates`):
    ``theta`` step size >= 0 (default 0.1), ``eta`` momentum decay in [0, 1] (default 0.9),
    ``alpha`` forget gate in [0, 1] (default 0).

    The initial weights ``M_0`` are ``nn.Parameter``s: the outer optimizer meta-learns them
    (knowledge transfer by initialisation, paper_spec §2.3). Per-token gradients of an MLP are
    outer products ``delta_i z_i^T`` per layer, so the chunked path never builds a weight per
    token: reading with the updated weights becomes attention-like products (TTT's dual form).

    Chunked semantics (Titans §3.2): every gradient in a chunk is taken at the weights of the
    chunk start; ``chunk_size=1`` is exactly the per-token rule. Since nothing inside a chunk
    corrects the gradient, a chunk of C similar tokens acts like one step of about C * theta:
    a step size that is stable per token can diverge with large chunks. This memory's level therefore
    has period ``chunk_size``: the state its gradients see advances once per chunk.
    """

    rule = "titans"
    objective = "1/2 |M(k) - v|^2, M an MLP"
    update_rule = "S_t = eta_t S_{t-1} - theta_t grad L(M_{t-1}); M_t = (1 - alpha_t) M_{t-1} + S_t"
    _STATE_TENSORS = ("weights", "momentum", "anchor")

    def __init__(self, d_key: int, d_value: int, chunk_size: int = 16, *, depth: int = 2,
                 hidden: int | None = None, residual: bool | None = None,
                 max_surprise: float | None = None) -> None:
        super().__init__(d_key, d_value, chunk_size)
        if max_surprise is not None and (isinstance(max_surprise, bool) or not isinstance(max_surprise, (int, float))
                                         or not 0 < max_surprise < math.inf):
            raise ValueError(f"max_surprise must be None (no clipping) or a positive finite number, got {max_surprise!r}.")
        self.max_surprise = None if max_surprise is None else float(max_surprise)
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
            raise ValueError(f"depth must be an int >= 1 (1 = linear memory), got {depth!r}.")
        hidden = 2 * d_key if hidden is None else hidden
        if isinstance(hidden, bool) or not isinstance(hidden, int) or hidden < 1:
            raise ValueError(f"hidden must be a positive int, got {hidden!r}.")
        residual = (d_key == d_value) if residual is None else residual
        if residual and d_key != d_value:
            raise ValueError(f"residual=True needs d_key == d_value (got {d_key} and {d_value}); "
                             "pass residual=False or equal widths.")
        self.depth, self.hidden, self.residual = depth, hidden, residual
        widths = [d_key] + [hidden] * (depth - 1) + [d_value]
        # M_0, the meta-learned initial weights; small last layer so M_0(z) ~ z when residual.
        self.initial_weights = nn.ParameterList()
        for i, (d_in, d_out) in enumerate(zip(widths[:-1], widths[1:])):
            scale = (0.1 if (residual and i == depth - 1) else 1.0) / math.sqrt(d_in)
            self.initial_weights.append(nn.Parameter(torch.randn(d_out, d_in) * scale))

    def level_period(self) -> int:
        return self.chunk_size

    def _gates(self, gates, lead, T, like):
        unknown = set(gates) - {"theta", "eta", "alpha"}
        if unknown:
            raise ValueError(f"TitansMemory takes gates theta, eta and alpha, got unknown {sorted(unknown)}.")
        return {"theta": _gate("theta", gates.get("theta", 0.1), lead, T, like, 0.0, math.inf),
                "eta": _gate("eta", gates.get("eta", 0.9), lead, T, like, 0.0, 1.0),
                "alpha": _gate("alpha", gates.get("alpha", 0.0), lead, T, like, 0.0, 1.0)}

    def init_state(self, batch: int, dtype: torch.dtype = torch.float32, device: Any = None) -> dict:
        weights = [w.to(dtype=dtype, device=device if device is not None else w.device).expand(batch, *w.shape)
                   for w in self.initial_weights]
        momentum = [torch.zeros_like(w) for w in weights]
        # anchor: weights at the last chunk boundary (where gradients are taken); position of it
        return {"weights": weights, "momentum": momentum, "anchor": list(weights),
                "position": 0, "anchor_position": 0}

    # -- the MLP and its per-token gradient ------------------------------------------------
    def mlp(self, weights: list[Tensor], z: Tensor) -> Tensor:
        """M(z) for batched weights (N, d_out, d_in) and inputs (N, ..., d_in)."""
        return mlp_forward(weights, z, self.residual)

    def _surprise_factors(self, weights: list[Tensor], K: Tensor, V: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        return mlp_surprise_factors(weights, K, V, self.residual)

    def surprise(self, weights: list[Tensor], k: Tensor, v: Tensor) -> Tensor:
        """Titans' momentary surprise |grad L(M; k_i, v_i)| of every token at ``weights``, (N, n).

        The per-token gradient is rank one per layer, delta_i z_i^T, so its Frobenius norm is
        sqrt(sum_l |delta_l,i|^2 |z_l,i|^2): no per-token weight tensor is built.
        """
        zs, deltas = mlp_surprise_factors(weights, k, v, self.residual)
        return sum(d.pow(2).sum(-1) * z.pow(2).sum(-1) for z, d in zip(zs, deltas)).sqrt()

    # -- reference: one token at a time, gradients by autograd ----------------------------
    def write(self, state, k, v, *, theta, eta, alpha):
        weights = state["weights"]
        outer_grad = torch.is_grad_enabled()
        with torch.enable_grad():
            # outside autograd (no_grad), views of the initial Parameters still claim requires_grad:
            # take the inner gradient on detached leaves then.
            w_req = [w if (w.requires_grad and outer_grad) else w.detach().requires_grad_() for w in weights]
            loss = 0.5 * (self.mlp(w_req, k) - v).pow(2).sum()                   # sum over the batch
            grads = torch.autograd.grad(loss, w_req, create_graph=outer_grad)
        if not outer_grad:
            grads = [gr.detach() for gr in grads]
        grads = clip_gradients(list(grads), self.max_surprise)
        momentum = [eta[:, None, None] * S - theta[:, None, None] * gr for S, gr in zip(state["momentum"], grads)]
        new_weights = [(1 - alpha[:, None, None]) * W + S for W, S in zip(weights, momentum)]
        mag = weight_change(new_weights, weights)
        pos = state["position"] + 1
        return {"weights": new_weights, "momentum": momentum, "anchor": new_weights,
                "position": pos, "anchor_position": pos}, mag

    def read(self, state, q):
        return self.mlp(state["weights"], q)

    def _recall(self, state, queries):
        return self.mlp(state["weights"], queries)

    # -- chunked ----------------------------------------------------------------------------
    def _chunked(self, q, k, v, g, st, C):
        T, ys = q.shape[1], []
        weights, momentum, anchor = st["weights"], st["momentum"], st["anchor"]
        pos, anchor_pos = st["position"], st["anchor_position"]
        done = pos - anchor_pos                  # tokens of the current chunk already written
        if done >= C:                            # chunk size changed between calls: start a new chunk
            done, anchor, anchor_pos = 0, weights, pos
        # chunk lengths: finish the open chunk, then full chunks, then what is left
        first = min(C - done, T)
        sizes = [first] + [C] * ((T - first) // C) + ([(T - first) % C] if (T - first) % C else [])
        # split (not slicing in the loop) keeps the backward pass free of full-size zero tensors
        pieces = zip(*(x.split(sizes, dim=1) for x in (q, k, v, g["theta"], g["eta"], g["alpha"])))
        events, mags = [], []
        for Qc, Kc, Vc, theta, eta, alpha in pieces:
            n = Qc.shape[1]
            y, weights_new, momentum = self._chunk(Qc, Kc, Vc, theta, eta, alpha, weights, momentum, anchor)
            ys.append(y)
            done, pos = done + n, pos + n
            if done == C:                        # chunk complete: its end state is the next anchor
                if active_recorder() is not None:
                    events.append(pos - 1)
                    mags.append(weight_change(weights_new, anchor))
                anchor, anchor_pos, done = weights_new, pos, 0
            weights = weights_new
        if events:
            record_update(self, "memory", "tokens", events, torch.stack(mags))
        new = {"weights": weights, "momentum": momentum, "anchor": anchor,
               "position": pos, "anchor_position": anchor_pos}
        return torch.cat(ys, dim=1), new

    def _chunk(self, Q, K, V, theta, eta, alpha, W0, S0, WA):
        return deep_memory_chunk(Q, K, V, theta, eta, alpha, W0, S0, WA, self.residual, self.max_surprise)


# ---------------------------------------------------------------------------------------------


class DataDependentGates(nn.Module):
    """Per-token gates from the input: ``gate_t = max * sigmoid(x_t w + b)``, one scalar per head.

    Titans makes theta, eta and alpha functions of x_t (paper_spec §1.5; the paper gives no
    parameterisation, public code uses linear -> sigmoid). Returns a dict of tensors of shape
    ``(B, heads, T)`` ready for a memory that takes inputs ``(B, heads, T, d)``.
    """

    def __init__(self, d_model: int, heads: int = 1, **maxima: float) -> None:
        super().__init__()
        if not maxima:
            raise ValueError("name at least one gate and its maximum, e.g. DataDependentGates(64, eta=1.0).")
        for name, hi in maxima.items():
            if not (isinstance(hi, (int, float)) and hi > 0):
                raise ValueError(f"the maximum of gate {name} must be a positive number, got {hi!r}.")
        self.names, self.heads = list(maxima), heads
        self.register_buffer("maxima", torch.tensor([float(maxima[n]) for n in self.names]), persistent=False)
        self.proj = nn.Linear(d_model, len(self.names) * heads)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        B, T, _ = x.shape
        g = torch.sigmoid(self.proj(x)).view(B, T, len(self.names), self.heads) * self.maxima[:, None]
        return {n: g[:, :, i].transpose(1, 2) for i, n in enumerate(self.names)}


# gate maxima of each memory's data-dependent gates (sigmoid * max)
MEMORY_BLOCK_GATES = {
    "hebbian": {"alpha": 1.0},
    "delta": {"eta": 1.0, "alpha": 1.0},
    "titans": {"theta": 0.5, "eta": 1.0, "alpha": 0.1},
}


def unit_norm(x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """l2-normalise the last dim (cheaper than F.normalize's zero-norm handling, same result)."""
    return x * torch.rsqrt(x.square().sum(-1, keepdim=True) + eps)


class MemoryBlock(nn.Module):
    """A sequence layer around a memory: x -> (q, k, v, gates) -> memory -> output projection.

    q and k are l2-normalised (unit keys keep the delta rule a contraction); the gates are
    data-dependent (:class:`DataDependentGates`); heads are batch dims of the memory. Used by the
    benchmark, the level diagram of notebook 00 and the small sequence models of notebook 03.
    ``forward`` returns the output only; the memory state starts fresh on every call.
    """

    def __init__(self, rule: str, width: int, heads: int, chunk_size: int) -> None:
        super().__init__()
        if width % heads:
            raise ValueError(f"width {width} must be divisible by heads {heads}.")
        self.heads, self.dh = heads, width // heads
        self.qkv = nn.Linear(width, 3 * width, bias=False)
        self.gates = DataDependentGates(width, heads, **MEMORY_BLOCK_GATES[rule])
        self.memory = make_memory(rule, self.dh, chunk_size=chunk_size)
        self.out = nn.Linear(width, width, bias=False)
        self.path = "chunked"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, D = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.heads, self.dh).permute(2, 0, 3, 1, 4)  # (B, H, T, dh) each
        q, k = unit_norm(q), unit_norm(k)
        y, _ = self.memory(q, k, v, path=self.path, **self.gates(x))
        return self.out(y.transpose(1, 2).reshape(B, T, D))


MEMORY_RULES = {"hebbian": HebbianMemory, "delta": DeltaRuleMemory, "titans": TitansMemory}


def make_memory(rule: str, d_key: int, d_value: int | None = None, **kwargs: Any) -> AssociativeMemory:
    """Build a memory by rule name: ``"hebbian"``, ``"delta"`` or ``"titans"``."""
    if rule not in MEMORY_RULES:
        raise ValueError(f"unknown memory rule {rule!r}; choose one of {sorted(MEMORY_RULES)}.")
    return MEMORY_RULES[rule](d_key, d_key if d_value is None else d_value, **kwargs)
