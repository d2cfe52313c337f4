"""Experiments of notebook 04 (Titans: learning to memorize at test time; docs/paper.md §1.5-1.6).

Every function here runs a Titans memory (:class:`hope_lite.deep_memory.TitansMemory`) on a seeded
stream (:func:`make_shift_stream`, :func:`make_needle_stream`) and returns plain numbers;
:mod:`.figures` draws them and the notebook asserts on them. Nothing is trained by an outer
optimizer: the memory's initial weights are random (seeded) and everything it knows it learns
*while reading*, by the Titans rule (Titans §3.1)::

    S_t = eta S_{t-1} - theta grad L(M_{t-1}; k_t, v_t)     L = 1/2 |M(k_t) - v_t|^2
    M_t = (1 - alpha) M_{t-1} + S_t

The *surprise* of token t is |grad L(M; k_t, v_t)| at the weights its gradient is taken at: the
weights before the token (chunk size 1) or at the start of its chunk (Titans §3.2).
"""

from __future__ import annotations

import math
import time
from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from hope_lite import TitansMemory

from .._args import require_int
from ..teaching import seeded

__all__ = ["make_needle_stream", "make_shift_stream", "SHIFT_DEFAULTS", "TITANS_EXPLORER_DEFAULTS", "titans_memory",
           "stream_trace", "surprise_ratio", "shift_run", "STABILITY_GRID", "STABILITY_GRID_RATIO", "max_stable_theta",
           "needle_curve", "chunk_sweep"]

# the setting of the shift experiment (sections 1-2 and the figure 04-shift-surprise.png)
SHIFT_DEFAULTS = {"theta": 0.1, "eta": 0.9, "alpha": 0.0, "chunk_size": 1}
#: the start values of explore_titans_memory() (also its static preview, 04-explorer.png): the
#: same gates with chunks of 4 tokens
TITANS_EXPLORER_DEFAULTS = {**SHIFT_DEFAULTS, "chunk_size": 4}


# ---------------------------------------------------------------------------------------------
# Streams for test-time memorization: a needle among distractors, a change of rule


def _unit_rows(n: int, dim: int, gen: torch.Generator) -> Tensor:
    """n independent Gaussian directions of unit norm, in float64."""
    return torch.nn.functional.normalize(torch.randn(n, dim, generator=gen, dtype=torch.float64), dim=-1)


def make_needle_stream(n_distractors: int, dim: int, seed: int = 0, *, needle_at: int = 0,
                       dtype: torch.dtype = torch.float32) -> dict:
    """A single-needle retrieval stream for a memory written at test time (Titans §3; notebook 04).

    The stream has ``n_distractors + 1`` tokens. Token ``needle_at`` is the needle ``(k*, v*)``;
    every other token is a distractor with its own random key and value. After writing the whole
    stream, a memory is asked ``M(k*)`` and should answer ``v*``: the distractors interfere
    (their keys overlap the needle's by about ``1/sqrt(dim)``) and a forget gate erodes it.
    Keys and values are unit vectors, so ``|M(k*) - v*|`` is already a relative error.

    Args:
        n_distractors: distractor tokens, >= 0 (0 gives a stream of the needle alone).
        dim: width of keys and values, >= 1.
        seed: seed of a private generator (the global RNG is not touched); the needle is the
            same for every ``n_distractors`` with one seed, so error-vs-N curves compare like with like.
        needle_at: position of the needle in the stream (default 0: first).
        dtype: floating dtype of the tensors (drawn in float64, then cast).

    Returns:
        dict with ``keys``, ``values`` (T, dim), ``needle_key``, ``needle_value`` (dim,) and
        ``needle_at`` (int).

    >>> s = make_needle_stream(5, 8, seed=1)
    >>> tuple(s["keys"].shape), bool((s["keys"][0] == s["needle_key"]).all())
    ((6, 8), True)
    """
    if isinstance(n_distractors, bool) or not isinstance(n_distractors, int) or n_distractors < 0:
        raise ValueError(f"n_distractors must be an int >= 0, got {n_distractors!r}.")
    require_int("dim", dim)
    if isinstance(needle_at, bool) or not isinstance(needle_at, int) or not 0 <= needle_at <= n_distractors:
        raise ValueError(f"needle_at must be an int in [0, n_distractors={n_distractors}], got {needle_at!r}.")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"seed must be an int, got {seed!r}.")
    gen = torch.Generator().manual_seed(seed)
    needle_key, needle_value = _unit_rows(2, dim, gen)
    # distractors come from their own generator, so a longer stream extends a shorter one
    dgen = torch.Generator().manual_seed(seed + 1_000_003)
    pairs = _unit_rows(2 * n_distractors, dim, dgen).view(n_distractors, 2, dim)   # (key, value) per token
    dk, dv = pairs[:, 0], pairs[:, 1]
    keys = torch.cat([dk[:needle_at], needle_key[None], dk[needle_at:]])
    values = torch.cat([dv[:needle_at], needle_value[None], dv[needle_at:]])
    return {"keys": keys.to(dtype), "values": values.to(dtype), "needle_key": needle_key.to(dtype),
            "needle_value": needle_value.to(dtype), "needle_at": needle_at}


def make_shift_stream(n_before: int, n_after: int, dim: int, seed: int = 0, *,
                      dtype: torch.dtype = torch.float32) -> dict:
    """A stream whose key -> value rule changes once: a distribution shift (Titans §3.1; notebook 04).

    Keys are random unit vectors. The first ``n_before`` values follow rule A, ``v = A k``; from
    token ``n_before`` on they follow rule B, ``v = B k``; A and B are independent random
    orthogonal matrices (so values are unit vectors too). A memory written along the stream
    learns A, and its surprise (the gradient norm of its loss) jumps when the rule changes.

    Returns:
        dict with ``keys``, ``values`` (n_before + n_after, dim), ``shift`` (= n_before) and the
        two rules ``A``, ``B`` (dim, dim), all seeded by ``seed`` (a private generator).
    """
    for name, n in (("n_before", n_before), ("n_after", n_after)):
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"{name} must be an int >= 0, got {n!r}.")
    require_int("dim", dim)
    if n_before + n_after < 1:
        raise ValueError("the stream is empty: n_before + n_after must be >= 1.")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"seed must be an int, got {seed!r}.")
    gen = torch.Generator().manual_seed(seed)
    A, _ = torch.linalg.qr(torch.randn(dim, dim, generator=gen, dtype=torch.float64))
    B, _ = torch.linalg.qr(torch.randn(dim, dim, generator=gen, dtype=torch.float64))
    keys = _unit_rows(n_before + n_after, dim, gen)
    rule = torch.cat([A.expand(n_before, dim, dim), B.expand(n_after, dim, dim)])
    values = torch.einsum("tij,tj->ti", rule, keys)
    return {"keys": keys.to(dtype), "values": values.to(dtype), "shift": n_before,
            "A": A.to(dtype), "B": B.to(dtype)}


# ---------------------------------------------------------------------------------------------
# A Titans memory written along a stream


def titans_memory(dim: int, seed: int = 0, *, depth: int = 2, max_surprise: float | None = None) -> TitansMemory:
    """A seeded depth-2 MLP memory ``d -> 2d -> d`` without the residual (values are not keys).

    The global torch RNG is left as it was, so building a memory never changes later draws.
    """
    with seeded(seed):
        return TitansMemory(dim, dim, chunk_size=1, depth=depth, residual=False, max_surprise=max_surprise)


def _weight_norm(weights: list[Tensor]) -> float:
    return float(sum(w.pow(2).sum() for w in weights).sqrt())


@torch.no_grad()
def stream_trace(memory: TitansMemory, keys: Tensor, values: Tensor, *, theta: float, eta: float,
                 alpha: float, chunk_size: int = 1, probes: dict[str, tuple[Tensor, Tensor]] | None = None) -> dict:
    """Write one stream chunk by chunk and record what the memory sees (Titans §3.1-3.2).

    Args:
        memory: a :class:`TitansMemory` (one stream: batch 1).
        keys, values: ``(T, d)``; the memory reads ``q_t = k_t``.
        theta, eta, alpha: the step, momentum decay and forget gate (constants here).
        chunk_size: tokens per chunk; every gradient of a chunk is taken at its first weights.
        probes: optional ``{name: (probe_keys (n, d), probe_values (n, d))}``: the mean error
            ``|M(k) - v|`` on each is measured after every chunk (the memory is read, not written).

    Returns:
        dict with ``surprise`` (T,) per-token |grad L| at the chunk-start weights,
        ``update`` (n_chunks,) |M_end - M_start| of each chunk, ``weight_norm`` (n_chunks,),
        ``ends`` (n_chunks,) index of each chunk's last token, ``probe_errors`` {name: (n_chunks,)},
        ``state`` (the final memory state) and ``outputs`` (T, d), the reads y_t = M_t(k_t).
    """
    T = keys.shape[0]
    k, v = keys[None], values[None]
    state = None
    surprise, update, wnorm, ends, outputs = [], [], [], [], []
    errors: dict[str, list[float]] = {name: [] for name in (probes or {})}
    for s in range(0, T, chunk_size):
        sl = slice(s, s + chunk_size)
        start = memory.init_state(1, keys.dtype).weights if state is None else state.weights
        surprise.append(memory.surprise(start, k[:, sl], v[:, sl])[0])          # |grad L| at the anchor
        y, state = memory(k[:, sl], k[:, sl], v[:, sl], state=state, chunk_size=chunk_size,
                          theta=theta, eta=eta, alpha=alpha)
        outputs.append(y[0])
        update.append(_weight_norm([a - b for a, b in zip(state.weights, start)]))
        wnorm.append(_weight_norm(state.weights))
        ends.append(min(s + chunk_size, T) - 1)
        for name, (pk, pv) in (probes or {}).items():
            errors[name].append(float((memory.recall(state, pk[None])[0] - pv).norm(dim=-1).mean()))
    return {"surprise": torch.cat(surprise).double().numpy(), "update": np.array(update),
            "weight_norm": np.array(wnorm), "ends": np.array(ends),
            "probe_errors": {n: np.array(e) for n, e in errors.items()},
            "state": state, "outputs": torch.cat(outputs)}


def surprise_ratio(surprise: np.ndarray, shift: int, window: int = 16) -> float:
    """Mean surprise of the ``window`` tokens from the shift on, over the mean of the ``window`` before it."""
    surprise = np.asarray(surprise, dtype=float)
    if not window <= shift <= len(surprise) - window:
        raise ValueError(f"need {window} tokens on both sides of the shift at {shift} (stream of {len(surprise)}).")
    return float(surprise[shift:shift + window].mean() / surprise[shift - window:shift].mean())


def shift_run(theta: float = SHIFT_DEFAULTS["theta"], eta: float = SHIFT_DEFAULTS["eta"],
              alpha: float = SHIFT_DEFAULTS["alpha"], chunk_size: int = SHIFT_DEFAULTS["chunk_size"], *,
              dim: int = 16, n_before: int = 256, n_after: int = 128, n_probes: int = 64, seed: int = 0) -> dict:
    """Write a stream whose rule changes from ``v = A k`` to ``v = B k`` (notebook 04, §2-3 and the explorer).

    Returns :func:`stream_trace`'s dict plus ``shift`` (token index of the change), ``ratio``
    (:func:`surprise_ratio`, NaN if the memory diverged), ``error_A``/``error_B`` (mean probe
    error for each rule after the last token), ``diverged`` and ``ms_per_token``. Probe keys are
    fresh random unit keys (never written), so the errors measure the learned *rule*, not recall
    of seen tokens; 1.0 is what an all-zero memory scores, ~1.4 a random one.
    """
    stream = make_shift_stream(n_before, n_after, dim, seed=seed)
    gen = torch.Generator().manual_seed(seed + 7)
    pk = torch.nn.functional.normalize(torch.randn(n_probes, dim, generator=gen), dim=-1)
    probes = {"A": (pk, pk @ stream["A"].T), "B": (pk, pk @ stream["B"].T)}
    memory = titans_memory(dim, seed)
    start = time.perf_counter()
    out = stream_trace(memory, stream["keys"], stream["values"], theta=theta, eta=eta, alpha=alpha,
                       chunk_size=chunk_size, probes=probes)
    out["ms_per_token"] = 1e3 * (time.perf_counter() - start) / (n_before + n_after)
    out["shift"] = n_before
    out["diverged"] = not bool(np.isfinite(out["surprise"]).all() and np.isfinite(out["weight_norm"]).all())
    out["error_A"], out["error_B"] = (float(out["probe_errors"][n][-1]) for n in ("A", "B"))
    window = min(16, n_before, n_after)
    out["ratio"] = math.nan if out["diverged"] or window < 1 else surprise_ratio(out["surprise"], n_before, window)
    out["settings"] = {"theta": theta, "eta": eta, "alpha": alpha, "chunk_size": chunk_size, "dim": dim}
    return out


#: the default grid of :func:`max_stable_theta`: 73 steps from 0.01 to about 10, each 10 % above the last
STABILITY_GRID_RATIO = 1.1
STABILITY_GRID = tuple(0.01 * STABILITY_GRID_RATIO ** i for i in range(73))


@torch.no_grad()
def max_stable_theta(eta: float, *, dim: int = 16, tokens: int = 128, seed: int = 0,
                     grid: Sequence[float] | None = None, limit: float = 100.0) -> float:
    """The largest step theta of a grid for which the memory stays bounded (notebook 04, §3).

    The memory writes a stream of ``tokens`` tokens of one rule (chunk size 1, no forgetting)
    with momentum decay ``eta``; "stable" means every read stays finite and below ``limit``.
    Every theta of ``grid`` (default :data:`STABILITY_GRID`: 73 values from 0.01 to 10, 10 % apart)
    is one batch row of a single call, so the sweep costs about one run. Returns the largest theta
    below the first unstable one.
    """
    grid = torch.tensor(sorted(grid) if grid is not None else STABILITY_GRID)
    stream = make_shift_stream(tokens, 0, dim, seed=seed)
    n = len(grid)
    k, v = stream["keys"].expand(n, -1, -1), stream["values"].expand(n, -1, -1)
    memory = titans_memory(dim, seed)
    y, _ = memory(k, k, v, chunk_size=1, theta=grid[:, None], eta=eta, alpha=0.0)
    bad = (~torch.isfinite(y)).flatten(1).any(1) | (y.abs().nan_to_num(nan=math.inf).flatten(1).amax(1) >= limit)
    if bad[0]:
        raise ValueError(f"the smallest theta of the grid ({float(grid[0]):.3g}) is already unstable for eta={eta}.")
    first_bad = int(bad.nonzero()[0]) if bad.any() else n
    return float(grid[first_bad - 1])


@torch.no_grad()
def needle_curve(checkpoints: Sequence[int], *, theta: float = 0.5, repeats: int = 8,
                 distractor_theta: float = 0.1, eta: float = 0.0, alphas: Sequence[float] = (0.0,),
                 chunk_size: int = 1, dim: int = 32, seed: int = 0) -> np.ndarray:
    """Recall error of a needle after N distractor tokens, for every N in ``checkpoints`` (notebook 04, §4).

    The needle ``(k*, v*)`` is written ``repeats`` times with step ``theta`` (a needle is a short
    phrase, and a strong write), then distractors (random unit keys and values,
    :func:`make_needle_stream`) are written once each with step
    ``distractor_theta``, with momentum ``eta`` and forget gate alpha throughout. After N
    distractors the memory is read at ``k*`` (no write): the error is ``|M(k*) - v*|`` (values
    are unit vectors, so 1.0 is a memory that answers 0). One stream serves every checkpoint and
    every forget gate of ``alphas`` is one batch row (one memory each).

    Returns:
        errors of shape ``(len(alphas), len(checkpoints))``, checkpoints sorted ascending.
    """
    checkpoints = sorted(int(n) for n in checkpoints)
    if not checkpoints or checkpoints[0] < 0:
        raise ValueError("checkpoints must be a non-empty list of distractor counts >= 0.")
    stream = make_needle_stream(checkpoints[-1], dim, seed=seed)
    n_rows = len(alphas)
    keys = torch.cat([stream["needle_key"].expand(repeats, dim), stream["keys"][1:]]).expand(n_rows, -1, -1)
    values = torch.cat([stream["needle_value"].expand(repeats, dim), stream["values"][1:]]).expand(n_rows, -1, -1)
    thetas = torch.cat([torch.full((repeats,), float(theta)), torch.full((checkpoints[-1],), float(distractor_theta))])
    alpha = torch.tensor([float(a) for a in alphas])[:, None]
    memory = titans_memory(dim, seed)
    state, done, errors = None, 0, []
    for end in [repeats + n for n in checkpoints]:
        if end > done:
            sl = slice(done, end)
            _, state = memory(keys[:, sl], keys[:, sl], values[:, sl], state=state, chunk_size=chunk_size,
                              theta=thetas[None, sl], eta=eta, alpha=alpha)
            done = end
        recalled = memory.recall(state, stream["needle_key"].expand(n_rows, 1, dim))[:, 0]
        errors.append((recalled - stream["needle_value"]).norm(dim=-1))
    return torch.stack(errors, dim=1).double().numpy()


@torch.no_grad()
def chunk_sweep(chunk_sizes: Sequence[int] = (1, 2, 4, 8, 16, 32, 64, 128, 256), *, batch: int = 8,
                tokens: int = 1024, dim: int = 32, theta: float = 0.02, eta: float = 0.9, alpha: float = 0.0,
                repeats: int = 2, seed: int = 0) -> dict:
    """Chunk size as a speed/fidelity knob, measured (notebook 04, §5; Titans §3.2).

    ``batch`` shift streams (rule A for the first half, B for the second; one memory per stream)
    of ``tokens`` tokens are written by the per-token reference (``path="reference"``) and by the
    chunked path for every chunk size. For each: wall time per token (best of ``repeats``,
    current torch threads), the relative output error ``|y_C - y_ref| / |y_ref|`` against the
    reference over the whole stream, and the memory error on rule B after the stream (mean
    ``|M(k) - Bk|`` on 64 fresh keys). A row whose outputs are not finite is marked diverged.

    Returns:
        dict with ``reference`` {"us_per_token", "memory_error"} and ``rows``: a list of dicts
        {"chunk", "us_per_token", "rel_error", "memory_error", "diverged"}.
    """
    streams = [make_shift_stream(tokens // 2, tokens - tokens // 2, dim, seed=seed + i) for i in range(batch)]
    k = torch.stack([s["keys"] for s in streams])
    v = torch.stack([s["values"] for s in streams])
    gen = torch.Generator().manual_seed(seed + 7)
    pk = torch.nn.functional.normalize(torch.randn(64, dim, generator=gen), dim=-1)
    pB = torch.stack([pk @ s["B"].T for s in streams])
    memory = titans_memory(dim, seed)
    gates = {"theta": theta, "eta": eta, "alpha": alpha}

    def timed(**kw) -> tuple[float, Tensor, dict]:
        best, out = math.inf, None
        for _ in range(repeats):
            start = time.perf_counter()
            out = memory(k, k, v, **gates, **kw)
            best = min(best, time.perf_counter() - start)
        return 1e6 * best / (batch * tokens), *out

    def memory_error(state: dict) -> float:
        return float((memory.recall(state, pk.expand(batch, -1, -1)) - pB).norm(dim=-1).mean())

    t_ref, y_ref, s_ref = timed(path="reference")
    rows = []
    for C in chunk_sizes:
        t, y, st = timed(chunk_size=int(C))
        finite = bool(torch.isfinite(y).all())
        rel = float((y - y_ref).norm() / y_ref.norm()) if finite else math.nan
        rows.append({"chunk": int(C), "us_per_token": t, "rel_error": rel,
                     "memory_error": memory_error(st) if finite else math.nan, "diverged": not finite or rel > 1.0})
    return {"reference": {"us_per_token": t_ref, "memory_error": memory_error(s_ref)}, "rows": rows,
            "settings": {"batch": batch, "tokens": tokens, "dim": dim, **gates}}
