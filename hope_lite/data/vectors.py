"""Synthetic key and value *vectors* for the memory notebooks (associative recall, notebook 01;
test-time memorization streams, notebook 04).

:func:`make_kv_pairs` draws the key-value pairs that notebook 01 writes into the memories of
:mod:`hope_lite.memory`. The one knob that matters for interference is how similar the keys
are, so the keys are built with a chosen pairwise cosine ``c``:

    k_i = sqrt(c) s + sqrt(1 - c) o_i,

with ``s`` a unit direction shared by every key and ``o_i`` the key's own unit direction.
When the own directions are orthonormal and orthogonal to ``s`` every key has norm exactly 1
and every pair has cosine exactly ``c``. That needs ``n_pairs + 1 <= dim`` directions (or just
``n_pairs <= dim`` when ``c = 0``, where ``s`` plays no part). Past that point the own
directions are independent random unit vectors and the keys are renormalised, so the cosine
is ``c`` on average, with spread about ``1/sqrt(dim)``; this is the over-capacity regime of
notebook 01, where no set of keys can be orthogonal any more.

Everything is drawn from a private ``torch.Generator`` seeded with ``seed``: the same call
returns the same tensors and leaves the global random state alone.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["make_kv_pairs", "orthogonal_capacity"]


def orthogonal_capacity(dim: int, correlation: float) -> int:
    """The largest ``n_pairs`` for which :func:`make_kv_pairs` gives exactly-structured keys.

    ``dim`` orthonormal keys fit when ``correlation == 0``; with a shared direction one fewer.
    (A single pair is always exact: there is no pair of keys to correlate.)
    """
    return dim if correlation == 0 else max(dim - 1, 1)


def _check_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}.")
    return value


def make_kv_pairs(n_pairs: int, dim: int, *, correlation: float = 0.0, seed: int = 0,
                  dtype: torch.dtype = torch.float32, orthogonal: bool = True) -> tuple[Tensor, Tensor]:
    """Seeded key-value pairs for associative recall (paper_spec §1; notebook 01).

    Args:
        n_pairs: number of pairs, >= 1.
        dim: width of keys and values, >= 1.
        correlation: pairwise cosine of the keys, in [0, 1). 0 gives orthonormal keys while
            ``n_pairs <= dim``; larger values make every key share a common direction, which is
            what makes a Hebbian memory confuse them.
        seed: seed of the private generator (the global torch RNG is not touched).
        dtype: floating dtype of the returned tensors (computed in float64, then cast).
        orthogonal: True (default) uses orthonormal own directions whenever they fit, so the
            cosines are exact; False always draws independent random directions (cosine
            ``correlation`` on average), e.g. to compare with the orthogonal case.

    Returns:
        ``(keys, values)``, each of shape ``(n_pairs, dim)``. Keys have unit norm and pairwise
        cosine exactly ``correlation`` when ``n_pairs <= orthogonal_capacity(dim, correlation)``,
        about ``correlation`` beyond. Values are independent Gaussian directions scaled to unit
        norm, so a retrieval error ``|recalled - v|`` is already relative.

    Raises:
        ValueError: for ``n_pairs < 1``, ``dim < 1``, ``correlation`` outside [0, 1) or a
            non-floating ``dtype``.

    >>> k, v = make_kv_pairs(4, 8, correlation=0.5)
    >>> round(float(k[0] @ k[1]), 6), tuple(v.shape)
    (0.5, (4, 8))
    """
    _check_int("n_pairs", n_pairs)
    _check_int("dim", dim)
    if isinstance(correlation, bool) or not isinstance(correlation, (int, float)) \
            or not math.isfinite(correlation) or not 0.0 <= correlation < 1.0:
        raise ValueError(f"correlation must be a number in [0, 1) (the pairwise cosine of the keys), "
                         f"got {correlation!r}.")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"seed must be an int, got {seed!r}.")
    if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise ValueError(f"dtype must be a floating torch dtype such as torch.float32, got {dtype!r}.")
    c = float(correlation)
    gen = torch.Generator().manual_seed(seed)
    f64 = torch.float64

    if orthogonal and (n_pairs == 1 or n_pairs <= orthogonal_capacity(dim, c)):
        # QR of a Gaussian matrix: orthonormal columns; column 0 is the shared direction s.
        n_cols = min(n_pairs + 1, dim)
        basis, _ = torch.linalg.qr(torch.randn(dim, n_cols, generator=gen, dtype=f64))
        if c == 0.0 or n_pairs == 1:
            keys = basis[:, n_cols - n_pairs:].T                                 # orthonormal rows
        else:
            shared, own = basis[:, 0], basis[:, 1:n_pairs + 1].T
            keys = math.sqrt(c) * shared + math.sqrt(1.0 - c) * own              # unit norm, cosine c
    else:
        shared = torch.nn.functional.normalize(torch.randn(dim, generator=gen, dtype=f64), dim=0)
        own = torch.nn.functional.normalize(torch.randn(n_pairs, dim, generator=gen, dtype=f64), dim=-1)
        mixed = math.sqrt(c) * shared + math.sqrt(1.0 - c) * own
        degenerate = mixed.norm(dim=-1, keepdim=True) < 1e-6                    # only in tiny dims
        keys = torch.nn.functional.normalize(torch.where(degenerate, own, mixed), dim=-1)

    values = torch.nn.functional.normalize(torch.randn(n_pairs, dim, generator=gen, dtype=f64), dim=-1)
    return keys.to(dtype), values.to(dtype)


# ---- notebook 04: Titans (streams for test-time memorization) ----

__all__ += ["make_needle_stream", "make_shift_stream"]


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
    _check_int("dim", dim)
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
    _check_int("dim", dim)
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
