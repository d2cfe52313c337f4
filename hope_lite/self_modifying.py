"""Self-modifying Titans: every projection is a memory that learns in context (docs/paper.md §4; notebook 05).

AX §8.1-8.2, eqs 83-91: memories for k, v, eta, alpha and the output memory, each a 2-layer
residual MLP ``M(z) = z + W_1 s(W_2 z)`` that starts close to its static input map and learns
in-context corrections to it, each trained on targets it generates itself, ``v_hat = M(v)``. The
layer declares its levels (each memory's chunk size is its period on the token clock) and logs
its real updates to an active :class:`~hope_lite.levels.UpdateRecorder`.
"""

from __future__ import annotations

import dataclasses
import math

import torch
from torch import Tensor, nn

from . import checks
from .checks import check_sequence_input
from .chunking import ChunkClock, UpdateLog, common_pieces, recompute_setting, recomputes, run_piece
from .deep_memory import OBJECTIVES, autograd_inner_gradient, clip_gradients, mlp_forward, unrolled_chunk
from .layers import CausalConv, check_input_matches, rms_norm, unit_norm, width_per_head
from .levels import Level
from .state import MemoryState, Shape, check_state, state_dtype

__all__ = ["SelfModifyingTitans", "SelfModifyingState", "merge_heads"]


def merge_heads(y: Tensor, batch: int, heads: int) -> Tensor:
    """(B * H, T, dh) -> (B, T, H * dh); ``heads`` is given, since B * H = 0 rows cannot tell it."""
    _, T, dh = y.shape
    return y.view(batch, heads, T, dh).transpose(1, 2).reshape(batch, T, heads * dh)


@dataclasses.dataclass
class SelfModifyingState(MemoryState):
    """State of a :class:`SelfModifyingTitans` layer.

    ``projections`` / ``projections_anchor``: the projection memories' weights now and at their
    last chunk boundary, per layer (M, B*H, d_out, d_in); ``memory`` / ``memory_anchor``: the
    output memory's, per layer (B*H, d_out, d_in); ``conv``: the convolution cache (None before
    the first call); the clock: tokens written, and of them since each anchor. With
    ``inner_momentum``: ``projections_momentum`` / ``memory_momentum``, each memory's surprise
    momentum S (shaped like its weights; None without momentum).
    """

    projections: list[Tensor]
    projections_anchor: list[Tensor]
    memory: list[Tensor]
    memory_anchor: list[Tensor]
    conv: Tensor | None = None
    position: int = 0
    projections_done: int = 0
    memory_done: int = 0
    projections_momentum: list[Tensor] | None = None
    memory_momentum: list[Tensor] | None = None

    def batch_tensor(self) -> Tensor:
        return self.memory[0]


class SelfModifyingTitans(nn.Module):
    """Self-modifying Titans (docs/paper.md §4; AX §8.1-8.2, eqs 83-91).

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

    Each memory is ``M(z) = z + W_1 s(W_2 z)`` (eq 89) with its own meta-learned initial state per
    head (``nn.Parameter``s; the outer optimizer trains them through the unrolled updates). The
    output memory updates every ``chunk_size`` tokens, the others every ``projection_chunk_size``
    (eq 90's two chunk sizes). With both chunk sizes 1 the chunked path equals the per-token
    reference. ``self_modifying=False`` freezes the projection memories at their initial state
    (static projections, the baseline of notebook 05); ``forward(..., freeze_projections=True)``
    does the same for one call.

    Two paths: ``path="reference"`` writes one token at a time with autograd's inner gradients;
    ``path="chunked"`` cuts the stream at every boundary of either clock and, in each piece, lets
    every memory write in one stacked call of :func:`~hope_lite.deep_memory.unrolled_chunk` (the
    output memory stacked last, the only one read). Inside a memory's chunk its anchor does not
    move, so cutting a chunk into pieces changes no number. ``recompute_chunks=True`` (a plain
    attribute, settable at any time; ``"auto"``: for calls of
    :data:`~hope_lite.chunking.RECOMPUTE_FROM_TOKENS` tokens or more) keeps only each
    piece's inputs for the backward pass and recomputes the rest there
    (:func:`~hope_lite.chunking.run_piece`): less training memory for about one more forward pass
    of the layer; numbers unchanged.

    Ablation switches (paper Table 6; docs/reading.md, one row each), all off by default:

    * ``inner_rule="dot"``: every memory steps on -<M_A(k_t), v_hat_t> instead of the L2 loss, so the
      surprise is -v_hat (plain gradient descent; a linear memory would do M <- a M + eta v_hat k^T).
    * ``retention=False``: a_t = 1; the alpha memory, its input map and its gate read-out are gone.
    * ``static_projections`` (subset of "k", "v", "q"): that projection is its static input map,
      k_t = l2norm(u_k,t), v_t = u_v,t, q_t = l2norm(u_q,t); its memory is gone. q is static
      unless ``adaptive_q``, so "q" matters only with ``adaptive_q=True``.
    * ``inner_momentum=True``: Titans' surprise momentum in every memory,
      S_t = m_t S_{t-1} - eta_t grad,  M_t = a_t M_{t-1} + S_t, with a third gate
      m_t = sigmoid(w_m . l2norm(M_eta,A(u_eta,t)) + b_m) (m ~ 0.5 at init).
    """

    PROJECTIONS = ("k", "v", "eta", "alpha")
    STATIC_ABLE = ("k", "v", "q")

    def __init__(self, width: int, heads: int = 4, chunk_size: int = 64, projection_chunk_size: int = 64, *,
                 hidden: int | None = None, conv_window: int = 4, adaptive_q: bool = False,
                 max_step: float = 0.5, max_surprise: float | None = 1.0, self_modifying: bool = True,
                 output_gate: bool = True, inner_rule: str = "l2", retention: bool = True,
                 static_projections: tuple[str, ...] = (), inner_momentum: bool = False,
                 recompute_chunks: bool | str = False) -> None:
        super().__init__()
        self.recompute_chunks = recompute_setting(recompute_chunks)
        self.head_dim = dh = width_per_head(width, heads)
        self.width, self.heads = width, heads
        self.chunk_size = checks.positive_int("chunk_size", chunk_size, " (e.g. 64)")
        self.projection_chunk_size = checks.positive_int("projection_chunk_size", projection_chunk_size, " (e.g. 64)")
        self.hidden = dh if hidden is None else checks.positive_int("hidden", hidden)
        self.max_step = checks.positive_finite("max_step", max_step)
        self.max_surprise = checks.optional_positive_finite("max_surprise", max_surprise, "no clipping")
        self.adaptive_q, self.self_modifying = bool(adaptive_q), bool(self_modifying)
        self.inner_rule = checks.choice("inner_rule", inner_rule, OBJECTIVES)
        self.retention = bool(retention)
        self.static_projections = self._check_static(static_projections)
        static = set(self.static_projections) | ({"q"} if not self.adaptive_q else set())
        # the memories that exist: no alpha memory without retention, none for a static projection
        self.projections = tuple(n for n in self.PROJECTIONS + ("q",) if n not in static
                                 and not (n == "alpha" and not self.retention))
        self.statics = tuple(n for n in self.STATIC_ABLE if n in static)
        # one static input map per memory and per static projection, then a short causal convolution
        self.roles = self.projections + self.statics
        self.inputs = nn.Linear(width, len(self.roles) * width, bias=False)
        self.conv = CausalConv(len(self.roles) * width, conv_window)
        # meta-learned initial states M_[m],0, one per head: W_2 (hidden x dh), W_1 (dh x hidden, small)
        self.initial_states = nn.ParameterDict({
            name: nn.ParameterList([
                nn.Parameter(torch.randn(heads, self.hidden, dh) / math.sqrt(dh)),
                nn.Parameter(0.1 * torch.randn(heads, dh, self.hidden) / math.sqrt(self.hidden))])
            for name in self.projections + ("memory",)})
        # static read-outs that turn the eta / alpha memories' outputs into one gate per head
        gates = 2 if self.retention else 1
        self.gate_readout = nn.Parameter(torch.randn(gates, heads, dh))
        bias = torch.tensor([[-2.0], [4.0]])[:gates]                              # eta ~ 0.06, a ~ 0.98
        self.gate_bias = nn.Parameter(bias.expand(gates, heads).clone())
        self.out_norm = nn.Parameter(torch.ones(dh))
        self.gate = nn.Linear(width, width) if output_gate else None
        self.out = nn.Linear(width, width, bias=False)
        # Titans-style momentum decay, read out of the eta memory like the step (created last: the
        # default layer draws the same random numbers as before the switch existed)
        self.inner_momentum = bool(inner_momentum)
        self.momentum_readout = nn.Parameter(torch.randn(heads, dh)) if self.inner_momentum else None
        self.momentum_bias = nn.Parameter(torch.zeros(heads)) if self.inner_momentum else None

    def _check_static(self, names) -> tuple[str, ...]:
        if isinstance(names, str) or not all(n in self.STATIC_ABLE for n in names):
            raise ValueError(f"static_projections must be a tuple of names from {self.STATIC_ABLE} "
                             f"(e.g. ('k',)), got {names!r}.")
        return tuple(n for n in self.STATIC_ABLE if n in names)

    # -- levels ---------------------------------------------------------------------------
    def declared_levels(self) -> list[Level]:
        loss = "-<M(k), M(v)>" if self.inner_rule == "dot" else "1/2 |M(k) - M(v)|^2"
        a = "a_t " if self.retention else ""
        grad = f"grad {loss.replace('M(', 'M_A(')}"
        rule = (f"S_t = m_t S_{{t-1}} - eta_t {grad}; M_t = {a}M_{{t-1}} + S_t" if self.inner_momentum
                else f"M_t = {a}M_{{t-1}} - eta_t {grad}")
        levels = [Level("memory", "tokens", self.chunk_size, "(q_t, k_t, v_t) generated by the other memories",
                        f"{loss} (self-generated target)", rule)]
        if self.self_modifying:
            levels += [Level(name, "tokens", self.projection_chunk_size, f"its input u_{name},t = conv(x W_{name})",
                             f"{loss.replace('M(', f'M_{name}(')} (self-generated target)", rule)
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

    def _gates(self, eta_out: Tensor, alpha_out: Tensor | None, batch: int) -> tuple[Tensor, Tensor]:
        """(B * H, n, dh) outputs of M_eta, M_alpha -> eta_t, a_t of shape (B * H, n)."""
        def readout(out: Tensor, i: int) -> Tensor:
            # the direction of the memory's output sets the gate, so input scale cannot saturate it
            out = unit_norm(out).view(batch, self.heads, *out.shape[1:])
            logit = (out * self.gate_readout[i][:, None, :]).sum(-1) + self.gate_bias[i][:, None]
            return logit.flatten(0, 1)
        eta = self.max_step * torch.sigmoid(readout(eta_out, 0))
        if alpha_out is None:                  # retention off: a_t = 1, nothing is forgotten
            return eta, torch.ones_like(eta)
        return eta, torch.sigmoid(readout(alpha_out, 1))

    def _project(self, out: dict[str, Tensor], static: dict[str, Tensor], batch: int) -> dict[str, Tensor | None]:
        """k, v, eta, alpha, q from the memories' outputs ``out`` and the static inputs ``static`` (N, n, dh)."""
        both = {**out, **static}
        eta, alpha = self._gates(out["eta"], out.get("alpha"), batch)
        momentum = None
        if self.inner_momentum:
            direction = unit_norm(out["eta"]).view(batch, self.heads, *out["eta"].shape[1:])
            logit = (direction * self.momentum_readout[:, None, :]).sum(-1) + self.momentum_bias[:, None]
            momentum = torch.sigmoid(logit).flatten(0, 1)
        return {"k": unit_norm(both["k"]), "v": both["v"], "eta": eta, "alpha": alpha, "q": unit_norm(both["q"]),
                "momentum": momentum}

    def _generate(self, weights: list[Tensor], u: Tensor, static: dict[str, Tensor], batch: int) -> dict[str, Tensor]:
        """Every projection memory's output at its input u (M, N, n, dh), from the stacked anchor weights."""
        out = mlp_forward([w.flatten(0, 1) for w in weights], u.flatten(0, 1), residual=True)
        return self._project(dict(zip(self.projections, out.view(u.shape))), static, batch)

    def init_state(self, batch: int, dtype: torch.dtype = torch.float32) -> SelfModifyingState:
        proj = self._initial(self.projections, batch, dtype)
        memory = [w[0] for w in self._initial(("memory",), batch, dtype)]
        if not self.inner_momentum:
            return SelfModifyingState(proj, proj, memory, memory)
        zeros = lambda ws: [torch.zeros_like(w) for w in ws]   # noqa: E731
        return SelfModifyingState(proj, proj, memory, memory, projections_momentum=zeros(proj),
                                  memory_momentum=zeros(memory))

    def state_spec(self, batch: int) -> SelfModifyingState:
        """What a carried state must look like for ``batch`` sequences (see :func:`~hope_lite.state.check_state`)."""
        rows, per_layer = (batch * self.heads,), [(self.hidden, self.head_dim), (self.head_dim, self.hidden)]
        projections = [Shape(rows, s, head=(len(self.projections),), per_sequence=self.heads) for s in per_layer]
        memory = [Shape(rows, s, per_sequence=self.heads) for s in per_layer]
        conv = Shape((batch,), (self.conv.window - 1, len(self.roles) * self.width), optional=True, cast=True)
        if not self.inner_momentum:
            return SelfModifyingState(projections, list(projections), memory, list(memory), conv)
        return SelfModifyingState(projections, list(projections), memory, list(memory), conv,
                                  projections_momentum=list(projections), memory_momentum=list(memory))

    # -- forward ----------------------------------------------------------------------------
    def forward(self, x: Tensor, *, state: SelfModifyingState | None = None, path: str = "chunked",
                return_generated: bool = False, freeze_projections: bool = False,
                chunk_size: int | None = None, projection_chunk_size: int | None = None):
        """``(B, T, width) -> (y, state)``; with ``return_generated`` also the per-token k, v, eta, alpha.

        Per call: ``freeze_projections`` keeps the projection memories from writing;
        ``chunk_size`` / ``projection_chunk_size`` override the layer's two chunk sizes. A chunk left
        open by a previous call continues under this call's size; if it already holds that many
        tokens or more, it is closed at the current weights (no update event is logged for it).
        The generated dict holds ``k``, ``v`` (B, H, T, dh) and ``eta``, ``alpha`` (B, H, T).
        """
        check_sequence_input(x, self.width, path)
        C_mem = self.chunk_size if chunk_size is None else checks.positive_int("chunk_size", chunk_size)
        C_proj = (self.projection_chunk_size if projection_chunk_size is None
                  else checks.positive_int("projection_chunk_size", projection_chunk_size))
        check_input_matches(x, self.inputs.weight, "SelfModifyingTitans")
        B, T, _ = x.shape
        if state is None:
            state = self.init_state(B, x.dtype)
        else:
            check_state(state, self.state_spec(B), "SelfModifyingTitans", device=x.device, dtype=state_dtype(x))
        u, conv_cache = self.conv(self.inputs(x), state.conv)                     # (B, T, roles * width)
        R = len(self.roles)
        per_role = u.view(B, T, R, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)   # (R, B, H, T, dh)
        per_role = per_role.reshape(R, B * self.heads, T, self.head_dim)               # one copy, heads as rows
        M = len(self.projections)
        # split, not two slices: a slice's backward writes a zero tensor of the whole (R, ...) size
        uh, rest = per_role.split([M, R - M])                                     # (M, B*H, T, dh)
        static = dict(zip(self.statics, rest))                                    # static inputs (B*H, T, dh)
        write_projections = self.self_modifying and not freeze_projections
        if path == "reference":
            y, gen, new = self._reference(uh, static, state, B, write_projections)
        else:
            y, gen, new = self._chunked(uh, static, state, B, C_mem, C_proj, write_projections)
        new.conv = conv_cache
        y = merge_heads(rms_norm(y, self.out_norm), B, self.heads)
        if self.gate is not None:
            y = y * torch.sigmoid(self.gate(x))
        y = self.out(y)
        if not return_generated:
            return y, new
        view = lambda t: t.view(B, self.heads, *t.shape[1:])  # noqa: E731
        return y, new, {n: view(gen[n]) for n in ("k", "v", "eta", "alpha")}

    # -- chunked: every memory writes in one stacked call per piece --------------------------
    def _chunked(self, uh: Tensor, static: dict[str, Tensor], st: SelfModifyingState, batch: int, C_mem: int,
                 C_proj: int, write_projections: bool) -> tuple[Tensor, dict, SelfModifyingState]:
        M = len(self.projections)
        proj_clock = ChunkClock(C_proj, st.position, st.projections_done if st.projections_done < C_proj else 0)
        mem_clock = ChunkClock(C_mem, st.position, st.memory_done if st.memory_done < C_mem else 0)
        # projection memories then the output memory, stacked: (M + 1, B*H, d_out, d_in) per layer
        weights = [torch.cat([p, m[None]]) for p, m in zip(st.projections, st.memory)]
        anchor = [torch.cat([p, m[None]]) for p, m in zip(
            st.projections if proj_clock.done == 0 else st.projections_anchor,
            st.memory if mem_clock.done == 0 else st.memory_anchor)]
        # surprise momentum, stacked like the weights (None without inner momentum)
        momentum = None if st.memory_momentum is None else [
            torch.cat([p, m[None]]) for p, m in zip(st.projections_momentum, st.memory_momentum)]
        writers = slice(0, M + 1) if write_projections else slice(M, M + 1)
        n_writers = M + 1 if write_projections else 1
        proj_log, mem_log, gens, ys = UpdateLog(), UpdateLog(), [], []
        pieces = common_pieces(uh.shape[2], proj_clock, mem_clock)
        # split the inputs once: a slice per piece would make each piece's backward write a full-length zero tensor
        # (a cost that grows with T^2 / C)
        uh_pieces = uh.split(pieces, dim=2)
        static_pieces = {r: u.split(pieces, dim=1) for r, u in static.items()}
        recompute = recomputes(self.recompute_chunks, uh.shape[2])
        for i, n in enumerate(pieces):
            g, y, new, new_S = run_piece(self._piece, anchor, weights, momentum, uh_pieces[i],
                                         {r: u[i] for r, u in static_pieces.items()}, batch, writers,
                                         recompute=recompute)
            gens.append(g)
            ys.append(y)
            unstack = lambda ws, old: (  # noqa: E731  writers' rows back into the stack
                [w.view(n_writers, batch * self.heads, *w.shape[1:]) for w in ws] if write_projections
                else [torch.cat([o[:M], w[None]]) for o, w in zip(old, ws)])
            weights = unstack(new, weights)
            if momentum is not None:
                momentum = unstack(new_S, momentum)
            proj_done, mem_done = proj_clock.tick(n), mem_clock.tick(n)
            if proj_done and write_projections:
                proj_log.add(proj_clock.position, [w[:M] for w in weights], [a[:M] for a in anchor], stacked=True)
            if mem_done:
                mem_log.add(mem_clock.position, [w[M] for w in weights], [a[M] for a in anchor])
            if proj_done and mem_done:
                anchor = weights
            elif proj_done:                   # only one clock ticked: move that part of the anchor
                anchor = [torch.cat([w[:M], a[M:]]) for w, a in zip(weights, anchor)]
            elif mem_done:
                anchor = [torch.cat([a[:M], w[M:]]) for w, a in zip(weights, anchor)]
        for i, name in enumerate(self.projections):
            proj_log.flush(self, name, index=i)
        mem_log.flush(self, "memory")
        gen = {key: torch.cat([g[key] for g in gens], dim=1) for key in gens[0] if gens[0][key] is not None}
        new_state = SelfModifyingState([w[:M] for w in weights], [a[:M] for a in anchor],
                                       [w[M] for w in weights], [a[M] for a in anchor], None,
                                       mem_clock.position, proj_clock.done, mem_clock.done,
                                       None if momentum is None else [s[:M] for s in momentum],
                                       None if momentum is None else [s[M] for s in momentum])
        return torch.cat(ys, dim=1), gen, new_state

    def _piece(self, anchor: list[Tensor], weights: list[Tensor], momentum: list[Tensor] | None, u: Tensor,
               static: dict[str, Tensor], batch: int, writers: slice) -> tuple[dict, Tensor, list[Tensor], list | None]:
        """One piece of the chunked path: generate k, v, eta, a, q at the anchor, then every writer's update.

        Returns (generated, reads of the output memory, writers' new weights, their new momentum or None).
        """
        M = len(self.projections)
        g = self._generate([a[:M] for a in anchor], u, static, batch)
        n_writers = writers.stop - writers.start
        # every memory writes unless the projections are frozen; indexing all rows would still record a slice
        # whose backward fills a zero tensor, so the full stack is passed as it is
        writing = (lambda ws: ws) if n_writers == M + 1 else (lambda ws: [w[writers] for w in ws])  # noqa: E731
        A, W0 = [a.flatten(0, 1) for a in writing(anchor)], [w.flatten(0, 1) for w in writing(weights)]
        repeat = lambda t: t.repeat(n_writers, *([1] * (t.dim() - 1)))   # noqa: E731  the same k for every writer
        v_hat = mlp_forward(A, repeat(g["v"]), residual=True)               # each memory's own target
        # eqs 88-89 for every writing memory, all stepping with the same eta_t, a_t (and m_t): the gates are
        # passed once and shared; only the output memory (the last B*H rows) is read at q
        S0 = None if momentum is None else [s.flatten(0, 1) for s in writing(momentum)]
        y, new, new_S = unrolled_chunk(g["q"], repeat(g["k"]), v_hat, g["eta"], g["alpha"], W0, A,
                                       residual=True, max_surprise=self.max_surprise, objective=self.inner_rule,
                                       momentum=g["momentum"], S0=S0)
        return g, y, new, new_S

    # -- reference: one token at a time, inner gradients by autograd ----------------------------
    def _reference(self, uh: Tensor, static: dict[str, Tensor], st: SelfModifyingState, batch: int,
                   write_projections: bool) -> tuple[Tensor, dict, SelfModifyingState]:
        """Per-token rule, written plainly: generate, make self-targets, take one DGD step, read.

        Equals the chunked path when both chunk sizes are 1 (tested in float64).
        """
        names = self.projections
        if st.projections_done or st.memory_done:
            raise ValueError("path='reference' updates every token; carry on a state from the reference path "
                             "or from chunk sizes of 1.")
        mem = {n: [w[i] for w in st.projections] for i, n in enumerate(names)}
        mem["memory"] = list(st.memory)
        S = None
        if self.inner_momentum:
            S = {n: [s[i] for s in st.projections_momentum] for i, n in enumerate(names)}
            S["memory"] = list(st.memory_momentum)
        ys, gens = [], {key: [] for key in ("k", "v", "eta", "alpha", "q")}
        for t in range(uh.shape[2]):
            u = uh[:, :, t]                                                         # (M, N, dh)
            out = {n: mlp_forward(mem[n], u[i, :, None], residual=True) for i, n in enumerate(names)}
            g = {key: val[:, 0] for key, val in self._project(out, {r: s[:, t:t + 1] for r, s in static.items()},
                                                              batch).items() if val is not None}
            k, v, eta, alpha, q_t = g["k"], g["v"], g["eta"], g["alpha"], g["q"]
            for key, val in (("k", k), ("v", v), ("eta", eta), ("alpha", alpha), ("q", q_t)):
                gens[key].append(val)
            for n in (names if write_projections else ()) + ("memory",):
                target = mlp_forward(mem[n], v, residual=True)                     # v_hat: M's own target
                grads = clip_gradients(autograd_inner_gradient(mem[n], k, target, residual=True,
                                                               objective=self.inner_rule), self.max_surprise)
                if S is None:
                    mem[n] = [alpha[:, None, None] * W - eta[:, None, None] * gW for W, gW in zip(mem[n], grads)]
                else:                      # Titans: S_t = m_t S_{t-1} - eta_t grad, M_t = a_t M_{t-1} + S_t
                    m = g["momentum"][:, None, None]
                    S[n] = [m * s - eta[:, None, None] * gW for s, gW in zip(S[n], grads)]
                    mem[n] = [alpha[:, None, None] * W + s for W, s in zip(mem[n], S[n])]
            ys.append(mlp_forward(mem["memory"], q_t, residual=True))
        gen = {key: torch.stack(vals, dim=1) for key, vals in gens.items()}
        projections = [torch.stack([mem[n][layer] for n in names]) for layer in range(2)]
        new = SelfModifyingState(projections, projections, mem["memory"], mem["memory"], None,
                                 st.position + uh.shape[2])
        if S is not None:
            new.projections_momentum = [torch.stack([S[n][layer] for n in names]) for layer in range(2)]
            new.memory_momentum = S["memory"]
        return torch.stack(ys, dim=1), gen, new
