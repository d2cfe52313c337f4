"""Deep (MLP) memories: the inner gradient, the one unrolled-chunk kernel, and Titans' memory.

Three things every deep memory of hope_lite shares, written once:

* :func:`mlp_forward` — the memory ``M(z) = [z +] W_L s(... s(W_1 z))`` (s = SiLU) for batched weights;
* :func:`mlp_surprise_factors` — the inner gradient of ``1/2 |M(k_i) - v_i|^2`` for every token of a
  chunk as rank-one factors ``delta_i z_i^T`` per layer (backpropagation written out for the
  whole chunk); :func:`autograd_inner_gradient` is the same gradient by autograd, one token at a
  time, for the reference paths;
* :func:`unrolled_chunk` — one chunk of the rule, every gradient at the anchor weights, with an
  optional momentum (Titans) — used by :class:`TitansMemory` and
  :class:`~hope_lite.self_modifying.SelfModifyingTitans`. The CMS (``hope_lite.cms``) freezes its
  weights inside a chunk, so it needs only the factors.

Introduced in notebooks 01 (Titans' memory), 04 and 05.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import checks
from .chunking import (ChunkClock, UpdateLog, decay_products, recompute_setting, recomputes, run_piece,
                       suffix_products, weight_change)
from .memory import AssociativeMemory, check_gate
from .state import MemoryState, Shape

__all__ = ["mlp_forward", "mlp_surprise_factors", "autograd_inner_gradient", "surprise_scale", "clip_gradients",
           "unrolled_chunk", "TitansMemory", "DeepMemoryState"]


def mlp_forward(weights: list[Tensor], z: Tensor, residual: bool) -> Tensor:
    """M(z) = [z +] W_L s(... s(W_1 z)) for batched weights (N, d_out, d_in), inputs (N, ..., d_in); s = SiLU."""
    # torch.bmm rather than @ here and in the kernels below: matmul's broadcasting adds expand and reshape nodes
    # to autograd's graph for every product, an overhead these small per-chunk products feel
    x = z
    for i, W in enumerate(weights):
        h = torch.bmm(x, W.transpose(1, 2)) if x.dim() == 3 else torch.einsum("noi,ni->no", W, x)
        x = F.silu(h) if i < len(weights) - 1 else h
    return x + z if residual else x


def _silu_grad(h: Tensor, silu_h: Tensor) -> Tensor:
    """d/dh [h sigmoid(h)] = s (1 + h (1 - s)) = s + silu(h) (1 - s), s = sigmoid(h); silu(h) is given (the
    forward pass has it), which saves two passes over the tensor."""
    s = torch.sigmoid(h)
    return torch.addcmul(s, silu_h, 1 - s)


def surprise_scale(norms: Tensor, max_norm: float | None) -> Tensor | None:
    """Factor min(1, max_norm / |g|) that clips a per-token surprise to norm ``max_norm`` (None: no clip).

    Written as max_norm / max(|g|, max_norm), which is smooth enough for the outer gradient and
    never divides by zero. Clipping bounds every write, so a burst of huge inputs can grow the
    memory at most linearly, never exponentially (the stability test of notebook 04).
    """
    if max_norm is None:
        return None
    return max_norm / norms.clamp_min(max_norm)


def _norm_from_squares(squares: Tensor) -> Tensor:
    """sqrt(squares) with a finite gradient at zero.

    sqrt'(0) is infinite, so a surprise that is exactly zero (or whose square underflows to zero, as it does on
    long sequences in float32, sooner with denormals flushed) made the backward pass 0 * inf = NaN. Squares below
    the smallest normal float are raised to it: the norm changes by less than 1e-19 there, where it only feeds
    ``surprise_scale`` (which does not clip so small a norm), and its gradient is zero, as the clip's is.
    """
    return squares.clamp_min(torch.finfo(squares.dtype).tiny).sqrt()


def clip_gradients(grads: list[Tensor], max_norm: float | None) -> list[Tensor]:
    """Clip each batch row's gradient (a list over layers of (N, d_out, d_in)) to norm ``max_norm``."""
    if max_norm is None:
        return grads
    norms = _norm_from_squares(sum(g.flatten(1).pow(2).sum(1) for g in grads))
    scale = surprise_scale(norms, max_norm)
    return [g * scale[:, None, None] for g in grads]


def _gradient_norms(zs: list[Tensor], deltas: list[Tensor]) -> Tensor:
    """|grad| per token of rank-1 factors: sqrt(sum_l |delta_l|^2 |z_l|^2), no per-token weight built.

    Each factor's norm is one fused reduction whose backward is one pass (x * grad / |x|, zero at |x| = 0);
    squaring the big factors first cost two passes forward and three backward.
    """
    norm = torch.linalg.vector_norm
    return _norm_from_squares(sum((norm(d, dim=-1) * norm(z, dim=-1)).square() for z, d in zip(zs, deltas)))


OBJECTIVES = ("l2", "dot")


def output_signal(out: Tensor, V: Tensor, objective: str) -> Tensor:
    """dL/dM(k) of the inner objective: ``"l2"`` 1/2|M(k) - v|^2 -> M(k) - v; ``"dot"`` -<M(k), v> -> -v.

    The dot-product objective is plain gradient descent without the erase term: for a linear memory
    one step is ``M <- a M + eta v k^T`` (Hebbian), where the L2 step is the delta rule.
    """
    return out - V if objective == "l2" else -V


def mlp_surprise_factors(weights: list[Tensor], K: Tensor, V: Tensor, residual: bool,
                         max_norm: float | None = None, objective: str = "l2") -> tuple[list[Tensor], list[Tensor]]:
    """Per-token gradient of 1/2|M(k_i) - v_i|^2 (``objective="dot"``: -<M(k_i), v_i>) as rank-1 factors.

    grad W_l (token i) = delta_l[i] z_{l-1}[i]^T, returned as lists (inputs z, signals delta),
    each (N, C, width). V is the target: no gradient is taken through it. With ``max_norm`` each
    token's whole gradient is clipped to that norm (|grad|^2 = sum_l |delta_l|^2 |z_l|^2).
    Without clipping the last L2 signal is M(k) - v, so the read at the anchor is ``deltas[-1] + V``
    for free (what the CMS uses).
    """
    zs, hs, x = [], [], K
    for i, W in enumerate(weights):
        zs.append(x)
        h = torch.bmm(x, W.transpose(1, 2))
        hs.append(h)
        x = F.silu(h) if i < len(weights) - 1 else h
    delta = output_signal(x + K if residual else x, V, objective)              # dL/d output
    deltas = [delta]
    for i in range(len(weights) - 1, 0, -1):
        delta = torch.bmm(delta, weights[i]) * _silu_grad(hs[i - 1], zs[i])               # zs[i] = silu(hs[i - 1])
        deltas.append(delta)
    deltas = deltas[::-1]
    if max_norm is not None:
        norms = _gradient_norms(zs, deltas)
        scale = surprise_scale(norms, max_norm)[..., None]
        deltas = [d * scale for d in deltas]
    return zs, deltas


def autograd_inner_gradient(weights: list[Tensor], k: Tensor, target: Tensor, residual: bool,
                            objective: str = "l2") -> list[Tensor]:
    """grad_W 1/2 |M_W(k) - target|^2 (``objective="dot"``: grad_W -<M_W(k), target>) by autograd, per
    batch row, kept differentiable for the outer loop.

    The reference paths' inner gradient: slow and obviously right. The gradient is taken through
    M(k) only — the target is a constant of the inner problem (it still carries the outer
    gradient to whatever produced it).
    """
    outer = torch.is_grad_enabled()
    with torch.enable_grad():
        # a fresh view is a separate autograd node, so a target computed from W is not differentiated;
        # outside autograd, views of Parameters still claim requires_grad: take detached leaves then
        leaves = [w.view_as(w) if (outer and w.requires_grad) else w.detach().requires_grad_() for w in weights]
        out = mlp_forward(leaves, k, residual)
        loss = 0.5 * (out - target).pow(2).sum() if objective == "l2" else -(out * target).sum()
        grads = torch.autograd.grad(loss, leaves, create_graph=outer)
    return list(grads) if outer else [g.detach() for g in grads]


def unrolled_chunk(Q: Tensor | None, K: Tensor, V: Tensor, step: Tensor, retention: Tensor,
                   W0: list[Tensor], WA: list[Tensor], *, residual: bool, momentum: Tensor | None = None,
                   S0: list[Tensor] | None = None, max_surprise: float | None = None, objective: str = "l2"
                   ) -> tuple[Tensor | None, list[Tensor], list[Tensor] | None]:
    """One chunk of n tokens of a deep memory, every inner gradient u_i at the anchor weights WA.

    The rule, per token (a_t retention, theta_t step; with ``momentum`` m_t, Titans' surprise S)::

        without momentum:  M_t = a_t M_{t-1} - theta_t u_t
        with momentum:     S_t = m_t S_{t-1} - theta_t u_t,   M_t = a_t M_{t-1} + S_t

    Unrolled from the chunk-start state (W0, S0), with D[t,i] = prod_{i<j<=t} a_j, P[t,i] =
    prod_{i<j<=t} m_j, G = D P (G = D without momentum) and c = D P[:, 0]::

        M_t = D[t,0] W0 + c_t S0 - sum_{i<=t} G[t,i] theta_i u_i,    S_n = P[n,0] S0 - sum_i P[n,i] theta_i u_i

    Since u_i = delta_i z_i^T per layer, reading layer l at token t after its write is
    ``h_t = D[t,0] W0 z + c_t S0 z - sum_i G[t,i] theta_i (z_i . z) delta_i``: attention-like
    products, no weight per token. Shapes: Q, K, V (N, n, d); step, retention, momentum (N_g, n);
    weights (N, d_out, d_in) per layer. ``Q=None`` computes the end state only; a Q with N_q < N
    rows reads only the memories of the last N_q rows (the others are only written).

    The gates may be shared: with N = copies x N_g rows stacked copy-major (self-modifying Titans'
    memories, which all step with one eta_t and one a_t), row r uses the gates of row r mod N_g, and
    D, P and G are computed once per gate row, not once per memory. Q then reads rows of the last
    copy (N_q <= N_g).

    ``objective`` picks the inner loss whose gradient u_i is (see :func:`output_signal`).

    Returns (reads y_t = M_t(q_t), end weights M_n, end momentum S_n or None).
    """
    N, N_gates = K.shape[0], step.shape[0]
    copies = N // max(N_gates, 1)
    if copies * N_gates != N:
        raise ValueError(f"unrolled_chunk: {N} memories cannot share gates of {N_gates} rows: N must be a multiple "
                         "of the gates' rows (pass one row of gates per memory, or per memory of one copy).")
    if Q is not None and Q.shape[0] > N_gates:
        raise ValueError(f"unrolled_chunk: Q has {Q.shape[0]} rows but the gates {N_gates}: Q may read only rows of "
                         "the last copy (pass Q for at most as many memories as there are rows of gates).")
    by_copy = lambda t: t.view(copies, N_gates, *t.shape[1:])   # noqa: E731  (copies, N_g, ...): gates broadcast
    zs, deltas = mlp_surprise_factors(WA, K, V, residual, max_surprise, objective)
    if momentum is None:
        if Q is None:              # end state only: the last row of D, without the (n, n) matrix
            after, total = suffix_products(retention)
            end_w, end_c, G_end = total[:, 0], None, after * step
        else:
            D, d0 = decay_products(retention)
            G, c, end_w, end_c, G_end = D, None, d0[:, -1], None, D[:, -1] * step
    else:
        D, d0 = decay_products(retention)
        P, p0 = decay_products(momentum)
        G = torch.bmm(D, P)                                                     # (N_g, n, n)
        c = torch.bmm(D, p0[:, :, None]).squeeze(-1)                            # (N_g, n)
        end_w, end_c, G_end = d0[:, -1], c[:, -1], G[:, -1] * step

    def written(start: list[Tensor], start_scale: Tensor, update_weight: Tensor) -> list[Tensor]:
        """start_scale * start - sum_i update_weight_i u_i per layer, u_i = delta_i z_i^T (gates broadcast per copy)."""
        out = []
        for W, Zw, Dl in zip(start, zs, deltas):
            weighted = (by_copy(Dl) * update_weight[:, :, None]).flatten(0, 1)            # (N, n, d_out)
            scaled = (start_scale[:, None, None] * by_copy(W)).flatten(0, 1)
            out.append(scaled - torch.bmm(weighted.transpose(1, 2), Zw))
        return out

    new_W = written(W0, end_w, G_end)
    new_S = None
    if momentum is not None:
        new_W = [w + (end_c[:, None, None] * by_copy(S)).flatten(0, 1) for w, S in zip(new_W, S0)]
        new_S = written(S0, p0[:, -1], P[:, -1] * step)
    if Q is None:
        return None, new_W, new_S
    N_q = Q.shape[0]
    last = lambda t: t if t.shape[0] == N_q else t[t.shape[0] - N_q:]   # noqa: E731  the rows Q reads
    weight_of_update = last(G * step[:, None, :])                              # weight of u_i in M_t
    x, d0r = Q, last(d0)[:, :, None]
    for i, (W, Zw, Dl) in enumerate(zip(W0, zs, deltas)):
        scores = weight_of_update * torch.bmm(x, last(Zw).transpose(1, 2))       # G[t,i] theta_i (z_i . z_t)
        h = d0r * torch.bmm(x, last(W).transpose(1, 2)) - torch.bmm(scores, last(Dl))
        if momentum is not None:
            h = h + last(c)[:, :, None] * torch.bmm(x, last(S0[i]).transpose(1, 2))
        x = F.silu(h) if i < len(W0) - 1 else h
    return (x + Q if residual else x), new_W, new_S


@dataclasses.dataclass
class DeepMemoryState(MemoryState):
    """State of a :class:`TitansMemory`: MLP weights, surprise momentum, the anchor (weights at the
    last chunk boundary, where gradients are taken) and the clock (tokens written, of them since the anchor)."""

    weights: list[Tensor]
    momentum: list[Tensor]
    anchor: list[Tensor]
    position: int = 0
    done: int = 0


class TitansMemory(AssociativeMemory):
    """Titans' deep long-term memory (docs/paper.md §1.5-1.6; Titans §3; notebook 01, 04).

    The memory is an MLP ``M(z) = [z +] W_L s(... s(W_1 z))`` (s = SiLU; the residual ``z +`` when
    ``residual=True``), whose weights are the state. Objective 1/2 |M(k_t) - v_t|^2; its gradient is
    the *surprise*. Titans keeps a momentum of surprise and a forget gate:

        S_t = eta_t S_{t-1} - theta_t grad L(M_{t-1}; k_t, v_t)      (past + momentary surprise)
        M_t = (1 - alpha_t) M_{t-1} + S_t                            (forgetting)
        y_t = M_t(q_t)

    Gates (per token, data-dependent in a model — see :class:`DataDependentGates`):
    ``theta`` step size >= 0 (default 0.1), ``eta`` momentum decay in [0, 1] (default 0.9),
    ``alpha`` forget gate in [0, 1] (default 0).

    ``momentum=False`` (Titans Table 5, "w/o momentum") is eta = 0 built in: ``M_t = (1 - alpha_t)
    M_{t-1} - theta_t grad L``, no eta gate and no momentum in the state (``state.momentum == []``).
    ``depth=1`` is the linear memory (Table 5, "linear memory"): ``M(z) = [z +] W z``.

    The initial weights ``M_0`` are ``nn.Parameter``s: the outer optimizer meta-learns them
    (knowledge transfer by initialisation, docs/paper.md §2.3). Per-token gradients of an MLP are
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

    def __init__(self, d_key: int, d_value: int, chunk_size: int = 16, *, depth: int = 2,
                 hidden: int | None = None, residual: bool | None = None,
                 max_surprise: float | None = None, momentum: bool = True,
                 recompute_chunks: bool | str = False) -> None:
        super().__init__(d_key, d_value, chunk_size)
        # activation checkpointing per piece (hope_lite.chunking.run_piece): same numbers, flat memory
        self.recompute_chunks = recompute_setting(recompute_chunks)
        self.momentum = checks.boolean("momentum", momentum)
        if not momentum:        # the rule without S: one gradient step from the retained weights
            self.update_rule = "M_t = (1 - alpha_t) M_{t-1} - theta_t grad L(M_{t-1})"
        self.max_surprise = checks.optional_positive_finite("max_surprise", max_surprise, "no clipping")
        checks.positive_int("depth", depth, " (1 = linear memory)")
        hidden = checks.positive_int("hidden", 2 * d_key if hidden is None else hidden)
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
        names = ("theta", "eta", "alpha") if self.momentum else ("theta", "alpha")
        unknown = set(gates) - set(names)
        if unknown:
            raise ValueError(f"this TitansMemory takes gates {', '.join(names)}, got unknown {sorted(unknown)}"
                             + ("" if self.momentum else " (momentum=False: no eta)") + ".")
        g = {"theta": check_gate("theta", gates.get("theta", 0.1), lead, T, like, 0.0, math.inf)}
        if self.momentum:
            g["eta"] = check_gate("eta", gates.get("eta", 0.9), lead, T, like, 0.0, 1.0)
        g["alpha"] = check_gate("alpha", gates.get("alpha", 0.0), lead, T, like, 0.0, 1.0)
        return g

    def init_state(self, batch: int, dtype: torch.dtype = torch.float32, device: Any = None) -> DeepMemoryState:
        weights = [w.to(dtype=dtype, device=device if device is not None else w.device).expand(batch, *w.shape)
                   for w in self.initial_weights]
        momentum = [torch.zeros_like(w) for w in weights] if self.momentum else []
        return DeepMemoryState(weights, momentum, list(weights))

    def state_spec(self, lead):
        shapes = [Shape(lead, tuple(w.shape)) for w in self.initial_weights]
        return DeepMemoryState(shapes, list(shapes) if self.momentum else [], list(shapes))

    # -- the MLP and its per-token gradient ------------------------------------------------
    def mlp(self, weights: list[Tensor], z: Tensor) -> Tensor:
        """M(z) for batched weights (N, d_out, d_in) and inputs (N, ..., d_in)."""
        return mlp_forward(weights, z, self.residual)

    def surprise(self, weights: list[Tensor], k: Tensor, v: Tensor) -> Tensor:
        """Titans' momentary surprise |grad L(M; k_i, v_i)| of every token at ``weights``, (N, n).

        The per-token gradient is rank one per layer, delta_i z_i^T, so its Frobenius norm is
        sqrt(sum_l |delta_l,i|^2 |z_l,i|^2): no per-token weight tensor is built.
        """
        zs, deltas = mlp_surprise_factors(weights, k, v, self.residual)
        return _gradient_norms(zs, deltas)

    # -- reference: one token at a time, gradients by autograd ----------------------------
    def _reference(self, q, k, v, g, st):
        if st.done:     # the reference takes every gradient at the current weights: no open chunk
            raise ValueError("path='reference' updates every token; carry on a state from the reference path "
                             "or from chunk_size=1.")
        return super()._reference(q, k, v, g, st)

    def write(self, state, k, v, *, theta, alpha, eta=None):
        weights = state.weights
        grads = clip_gradients(autograd_inner_gradient(weights, k, v, self.residual), self.max_surprise)
        if self.momentum:
            momentum = [eta[:, None, None] * S - theta[:, None, None] * gr for S, gr in zip(state.momentum, grads)]
            new_weights = [(1 - alpha[:, None, None]) * W + S for W, S in zip(weights, momentum)]
        else:       # eta = 0: the surprise is the momentary one, S_t = -theta_t grad
            momentum = []
            new_weights = [(1 - alpha[:, None, None]) * W - theta[:, None, None] * gr for W, gr in zip(weights, grads)]
        new = DeepMemoryState(new_weights, momentum, new_weights, state.position + 1)
        return new, weight_change(new_weights, weights)

    def read(self, state, q):
        return self.mlp(state.weights, q)

    _recall = read            # M(z) reads any number of queries

    # -- chunked ----------------------------------------------------------------------------
    def _piece(self, Qc, Kc, Vc, theta, alpha, eta, weights, anchor, momentum):
        """One piece of a chunk: its reads, and the weights and momentum after it (Titans' rule, unrolled)."""
        return unrolled_chunk(Qc, Kc, Vc, theta, 1 - alpha, weights, anchor, residual=self.residual,
                              momentum=eta, S0=momentum if self.momentum else None, max_surprise=self.max_surprise)

    def _chunked(self, q, k, v, g, st, C):
        weights, momentum, anchor = st.weights, st.momentum, st.anchor
        done = st.done
        if done >= C:                            # chunk size changed between calls: start a new chunk
            done, anchor = 0, weights
        clock, log, ys = ChunkClock(C, st.position, done), UpdateLog(), []
        # split (not slicing in the loop) keeps the backward pass free of full-size zero tensors
        sizes = clock.sizes(q.shape[1])
        etas = g["eta"].split(sizes, dim=1) if self.momentum else [None] * len(sizes)   # None: no momentum
        pieces = zip(*(x.split(sizes, dim=1) for x in (q, k, v, g["theta"], g["alpha"])), etas)
        recompute = recomputes(self.recompute_chunks, q.shape[1])
        for Qc, Kc, Vc, theta, alpha, eta in pieces:
            y, weights, S = run_piece(self._piece, Qc, Kc, Vc, theta, alpha, eta, weights, anchor, momentum,
                                      recompute=recompute)
            momentum = S if self.momentum else []
            ys.append(y)
            if clock.tick(Qc.shape[1]):          # chunk complete: its end state is the next anchor
                log.add(clock.position, weights, anchor)
                anchor = weights
        log.flush(self)
        return torch.cat(ys, dim=1), DeepMemoryState(weights, momentum, anchor, clock.position, clock.done)
