"""The numbers of notebook 01 (associative memory: a memory is an optimizer; docs/paper.md §1).

**The data.** :func:`make_kv_pairs` draws the key-value pairs that the chapter writes into the
memories of :mod:`hope_lite.memory`. The one knob that matters for interference is how similar
the keys are, so the keys are built with a chosen pairwise cosine ``c``:

    k_i = sqrt(c) s + sqrt(1 - c) o_i,

with ``s`` a unit direction shared by every key and ``o_i`` the key's own unit direction.
When the own directions are orthonormal and orthogonal to ``s`` every key has norm exactly 1
and every pair has cosine exactly ``c``. That needs ``n_pairs + 1 <= dim`` directions (or just
``n_pairs <= dim`` when ``c = 0``, where ``s`` plays no part). Past that point the own
directions are independent random unit vectors and the keys are renormalised, so the cosine
is ``c`` on average, with spread about ``1/sqrt(dim)``; this is the over-capacity regime of
the chapter, where no set of keys can be orthogonal any more. Everything is drawn from a
private ``torch.Generator`` seeded with ``seed``: the same call returns the same tensors and
leaves the global random state alone.

**The measurements.** Every function writes pairs into a real memory (Hebbian, delta rule, or a
Titans MLP memory), reads every key back and returns relative recall errors
``|recalled - v| / |v|`` (0: perfect recall; 1: what an empty memory scores):
:func:`retrieval_errors` (the explorer), :func:`capacity_sweep`, :func:`interference_sweep`,
:func:`forgetting_curves` (§2) and :func:`deep_vs_matrix` (§4). :mod:`.figures` draws them.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor

from hope_lite import DeltaRuleMemory, HebbianMemory, TitansMemory

from .._args import require_choice, require_int, require_number
from ..teaching import seeded

__all__ = ["make_kv_pairs", "orthogonal_capacity", "RULES", "RETRIEVAL_EXPLORER_DEFAULTS", "retrieval_errors",
           "capacity_sweep", "interference_sweep", "forgetting_curves", "deep_vs_matrix"]

RULES = ("hebbian", "delta", "titans")
#: the start values of explore_associative_memory() (also its static preview, 01-retrieval-explorer.png)
RETRIEVAL_EXPLORER_DEFAULTS = {"n_pairs": 24, "correlation": 0.1, "step": 1.0, "rule": "hebbian", "alpha": 1.0}


# ---------------------------------------------------------------------------------------------
# The data: seeded key-value pairs


def orthogonal_capacity(dim: int, correlation: float) -> int:
    """The largest ``n_pairs`` for which :func:`make_kv_pairs` gives exactly-structured keys.

    ``dim`` orthonormal keys fit when ``correlation == 0``; with a shared direction one fewer.
    (A single pair is always exact: there is no pair of keys to correlate.)
    """
    return dim if correlation == 0 else max(dim - 1, 1)


def make_kv_pairs(n_pairs: int, dim: int, *, correlation: float = 0.0, seed: int = 0,
                  dtype: torch.dtype = torch.float32, orthogonal: bool = True) -> tuple[Tensor, Tensor]:
    """Seeded key-value pairs for associative recall (docs/paper.md §1; notebook 01).

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
    require_int("n_pairs", n_pairs)
    require_int("dim", dim)
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


# ---------------------------------------------------------------------------------------------
# Writing pairs into a memory and reading them back


def _relative_errors(recalled: Tensor, values: Tensor) -> np.ndarray:
    err = (recalled - values).norm(dim=-1) / values.norm(dim=-1)
    return err.detach().double().cpu().numpy()


def _write_and_recall(memory, keys: Tensor, values: Tensor, **gates: Any) -> np.ndarray:
    """Write the pairs in order (one step each), then read every key: relative errors per pair."""
    with torch.no_grad():
        _, state = memory(keys, keys, values, **gates)
        return _relative_errors(memory.recall(state, keys), values)


def _titans_memory(dim: int, seed: int, *, chunk_size: int = 1, hidden: int | None = None) -> TitansMemory:
    # depth 2, no residual: the values are unrelated to the keys, so "output = key" is no prior.
    with seeded(seed):
        return TitansMemory(dim, dim, chunk_size=chunk_size, depth=2, hidden=hidden, residual=False)


def retrieval_errors(n_pairs: int, correlation: float, step: float, rule: str, *, dim: int = 32,
                     alpha: float = 1.0, seed: int = 0) -> np.ndarray:
    """Per-pair retrieval error after writing ``n_pairs`` pairs into one memory (notebook 01).

    The pairs come from :func:`make_kv_pairs` (keys with pairwise cosine
    ``correlation``); each is written once, oldest first, with the memory's own rule; then every
    key is read with ``memory.recall(state, keys)`` and compared with its value.

    Args:
        n_pairs, correlation, dim, seed: passed to ``make_kv_pairs``.
        step: the step size of one write, >= 0: ``eta`` for ``"hebbian"`` and ``"delta"``,
            ``theta`` for ``"titans"`` (a depth-2 MLP memory without momentum, one exact
            gradient step per pair).
        rule: ``"hebbian"``, ``"delta"`` or ``"titans"``.
        alpha: retention in [0, 1], 1 keeps everything (the forget gate of Titans is ``1 - alpha``).

    Returns:
        relative errors ``|recalled - v| / |v|``, shape ``(n_pairs,)``, oldest pair first.
        0 is perfect recall; 1 is what an empty memory (recall = 0) scores. A step too large
        for the rule makes the memory diverge; the errors are then inf or NaN.
    """
    require_choice("rule", rule, RULES)
    step = require_number("step", step, 0.0, math.inf)
    alpha = require_number("alpha", alpha, 0.0, 1.0)
    keys, values = make_kv_pairs(n_pairs, dim, correlation=correlation, seed=seed)
    if rule == "hebbian":
        return _write_and_recall(HebbianMemory(dim, dim), keys, values, eta=step, alpha=alpha)
    if rule == "delta":
        return _write_and_recall(DeltaRuleMemory(dim, dim), keys, values, eta=step, alpha=alpha)
    memory = _titans_memory(dim, seed)
    return _write_and_recall(memory, keys, values, theta=step, eta=0.0, alpha=1.0 - alpha)


# ---------------------------------------------------------------------------------------------
# Capacity, interference, forgetting (section 2)


def capacity_sweep(dim: int = 32, max_pairs: int | None = None, *, step: float = 1.0, seed: int = 0,
                   repeats: int = 3) -> dict[str, Any]:
    """Mean retrieval error against the number of pairs, Hebbian vs delta (notebook 01, §2).

    Two kinds of keys: ``"orthogonal"`` (orthonormal while ``n <= dim``, random beyond, which is
    the best a d-dimensional key can do) and ``"random"`` (independent random unit keys for every
    n). Errors are averaged over ``repeats`` seeds.

    Returns:
        ``{"dim", "n": array, ("hebbian"|"delta", "orthogonal"|"random"): array of mean errors}``.
    """
    max_pairs = 3 * dim if max_pairs is None else max_pairs
    ns = np.unique(np.linspace(1, max_pairs, min(max_pairs, 48)).round().astype(int))
    out: dict[Any, Any] = {"dim": dim, "n": ns}
    for rule, cls in (("hebbian", HebbianMemory), ("delta", DeltaRuleMemory)):
        for kind in ("orthogonal", "random"):
            means = []
            for n in ns:
                errs = []
                for r in range(repeats):
                    k, v = make_kv_pairs(int(n), dim, seed=seed + r, orthogonal=kind == "orthogonal")
                    errs.append(_write_and_recall(cls(dim, dim), k, v, eta=step).mean())
                means.append(np.mean(errs))
            out[(rule, kind)] = np.array(means)
    return out


def interference_sweep(dim: int = 32, n_pairs: int = 16, correlations: Sequence[float] | None = None, *,
                       step: float = 1.0, seed: int = 0) -> dict[str, Any]:
    """Mean retrieval error against the keys' pairwise cosine, Hebbian vs delta (notebook 01, §2).

    Keys have cosine exactly c (``n_pairs < dim``). For the Hebbian memory the error is known in
    closed form: reading k_j returns v_j + c * sum_{i != j} v_i, an error of c |sum_{i != j} v_i|
    ~ c sqrt(n - 1) for unrelated unit values; ``"hebbian_theory"`` holds that estimate.
    """
    cs = np.round(np.linspace(0.0, 0.9, 19), 4) if correlations is None else np.asarray(correlations, float)
    out: dict[str, Any] = {"dim": dim, "n_pairs": n_pairs, "correlation": cs}
    for rule in ("hebbian", "delta"):
        out[rule] = np.array([retrieval_errors(n_pairs, float(c), step, rule, dim=dim, seed=seed).mean()
                              for c in cs])
    out["hebbian_theory"] = cs * math.sqrt(n_pairs - 1)
    return out


def forgetting_curves(dim: int = 32, n_pairs: int = 64, alphas: Sequence[float] = (1.0, 0.97, 0.9), *,
                      seed: int = 0, repeats: int = 8) -> dict[str, Any]:
    """Per-pair errors with a retention gate alpha, past capacity (``n_pairs > dim``; notebook 01, §2).

    Returns ``{"dim", "n_pairs", "alphas", (rule, alpha): per-pair errors averaged over repeats}``.
    """
    out: dict[Any, Any] = {"dim": dim, "n_pairs": n_pairs, "alphas": tuple(alphas)}
    for rule in ("hebbian", "delta"):
        for a in alphas:
            runs = [retrieval_errors(n_pairs, 0.0, 1.0, rule, dim=dim, alpha=float(a), seed=seed + r)
                    for r in range(repeats)]
            out[(rule, float(a))] = np.mean(runs, axis=0)
    return out


# ---------------------------------------------------------------------------------------------
# Deep vs matrix memory (section 4)


def deep_vs_matrix(passes: int = 200, *, dim: int = 16, n_pairs: int = 48, hidden: int = 64,
                   theta: float = 0.1, eta: float = 0.2, chunk_size: int = 16, seed: int = 0) -> dict[str, Any]:
    """Past capacity (``n_pairs > dim``), rehearsed: a deep memory vs a matrix memory (notebook 01, §4).

    The same ``n_pairs`` random pairs are written ``passes`` times, oldest first, into

    * a depth-2 Titans memory (MLP ``dim -> hidden -> dim``, no momentum, step ``theta``, Titans'
      chunked rule with ``chunk_size``), and
    * a delta-rule matrix memory (step ``eta``),

    and after every pass each key is read back. No matrix can do better than the least-squares
    map ``M* = argmin_M sum_i |M k_i - v_i|^2``, reported as ``"floor"``.

    Returns:
        dict with ``"passes"`` (1..passes), ``"deep"`` and ``"matrix"`` (mean relative error
        after each pass), ``"floor"``, the settings ``"dim"``, ``"n_pairs"``, ``"hidden"``, ``"theta"``,
        ``"eta"``, and the parameter counts ``"deep_params"``, ``"matrix_params"``.
    """
    passes = require_int("passes", passes)
    keys, values = make_kv_pairs(n_pairs, dim, seed=seed)
    deep = _titans_memory(dim, seed, chunk_size=chunk_size, hidden=hidden)
    matrix = DeltaRuleMemory(dim, dim)
    s_deep = s_mat = None
    err_deep, err_mat = [], []
    with torch.no_grad():
        for _ in range(passes):
            _, s_deep = deep(keys, keys, values, state=s_deep, theta=theta, eta=0.0, alpha=0.0)
            _, s_mat = matrix(keys, keys, values, state=s_mat, eta=eta)
            err_deep.append(_relative_errors(deep.recall(s_deep, keys), values).mean())
            err_mat.append(_relative_errors(matrix.recall(s_mat, keys), values).mean())
        best = torch.linalg.lstsq(keys.double(), values.double()).solution          # V ~ K B, M* = B^T
        floor = _relative_errors(keys.double() @ best, values.double()).mean()
    return {"passes": np.arange(1, passes + 1), "deep": np.array(err_deep), "matrix": np.array(err_mat),
            "floor": float(floor), "dim": dim, "n_pairs": n_pairs, "hidden": hidden, "theta": theta, "eta": eta,
            "deep_params": sum(w.numel() for w in deep.initial_weights), "matrix_params": dim * dim}
