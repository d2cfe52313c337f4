"""Toy-scale experiments: run optimizers on small problems and measure (notebook 03).

Three problems, each small enough for a laptop CPU, each seeded:

* **the toy landscape** of the paper (AX Fig. 4, eq 53; paper_spec §3), a function of a 2-D
  parameter (r, theta) with a narrow, curved valley::

      psi(r, theta) = r^2 + k (r - theta + a sin(omega r))^2

  :func:`run_landscape` runs any optimizer of :data:`OPTIMIZERS` on it and returns the trajectory;
  :func:`steps_to_tolerance` counts the steps to reach (and stay below) a loss; :func:`landscape_sweep`
  is the learning-rate sweep behind the tuned settings :data:`LANDSCAPE_SETTINGS`;
* **a small MLP** regressing a fixed random teacher network (``model="mlp"``);
* **a tiny sequence model** built from hope_lite (token embedding -> :class:`~hope_lite.memory.MemoryBlock`
  with a delta-rule memory -> head) on multi-query associative recall (``model="recall"``).

:func:`train_with` trains either model with any optimizer and measures the loss curve and the
wall time per step (``time.perf_counter``). The default learning rates :data:`DEFAULT_LR` come from
:func:`tune_lr`: the same grid of learning rates and the same number of steps for every optimizer
(``python -m hope_lite.experiments tune`` reruns it).

The optimizers are the real ones of :mod:`hope_lite.optim`, plus ``torch.optim.SGD`` (plain gradient
descent) and ``torch.optim.AdamW`` as references. No weight decay anywhere (AdamW included), so
that every optimizer solves the same problem.

Command line::

    python -m hope_lite.experiments landscape     # the steps-to-tolerance table (with the sweep)
    python -m hope_lite.experiments train         # both models, every optimizer, tuned lr
    python -m hope_lite.experiments tune          # the learning-rate sweeps behind DEFAULT_LR
"""

from __future__ import annotations

import argparse
import inspect
import math
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import optim
from .memory import MemoryBlock

__all__ = [
    "OPTIMIZERS", "LANDSCAPE_OPTIMIZERS", "TRAIN_OPTIMIZERS", "MODELS", "make_optimizer",
    "LANDSCAPE", "LANDSCAPE_START", "LANDSCAPE_MINIMUM", "LANDSCAPE_TOL", "landscape", "landscape_gradient",
    "Trajectory", "run_landscape", "steps_to_tolerance", "LANDSCAPE_LRS", "LANDSCAPE_GRID",
    "LANDSCAPE_STARTS", "LANDSCAPE_SETTINGS", "landscape_sweep", "best_settings", "compare_on_landscape",
    "make_regression_data", "make_mlp", "RecallModel", "make_recall_batch", "make_model",
    "TrainResult", "train_with", "TRAIN_LRS", "DEFAULT_LR", "tune_lr",
    "ns_orthogonality_error", "m3_readings", "main",
]


# ---------------------------------------------------------------------------------------------
# Argument checks (every bad argument names itself)


def _check_int(name: str, value: Any, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}.")
    return int(value)


def _check_positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}.")
    return float(value)


def _check_name(name: str, value: Any, choices: Sequence[str]) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}.")
    return value


# ---------------------------------------------------------------------------------------------
# The optimizers, by name

#: name -> (constructor, takes the model instead of its parameters, one-line description)
OPTIMIZERS: dict[str, tuple[Callable[..., torch.optim.Optimizer], bool, str]] = {
    "sgd": (torch.optim.SGD, False, "torch SGD without momentum: plain gradient descent (reference)"),
    "momentum": (optim.MomentumSGD, False, "momentum: a Hebbian memory of gradients"),
    "preconditioned": (optim.PreconditionedMomentum, False, "momentum of RMS-preconditioned gradients"),
    "delta": (optim.DeltaMomentum, False, "delta-rule momentum: erases along the new gradient"),
    "dmgd": (optim.DeepMomentum, False, "deep momentum: an MLP memory of gradients (DMGD)"),
    "muon": (optim.Muon, False, "Newton-Schulz output on linear momentum (Muon)"),
    "m3": (optim.M3, False, "multi-scale momentum Muon: fast + slow momentum (M3)"),
    "adamw": (torch.optim.AdamW, False, "torch AdamW, weight_decay=0 (reference)"),
    "dgd": (optim.DeltaGradientDescent, True, "delta gradient descent on nn.Linear layers (DGD)"),
}
#: the optimizers drawn on the landscape. DGD is left out: a bare parameter has no layer input x,
#: so DGD's input-dependent decay term is absent and DGD *is* gradient descent ("sgd") there.
LANDSCAPE_OPTIMIZERS = ("sgd", "momentum", "preconditioned", "delta", "dmgd", "muon", "m3", "adamw")
TRAIN_OPTIMIZERS = tuple(OPTIMIZERS)
MODELS = ("mlp", "recall")


def make_optimizer(name: str, model: nn.Module, **hparams: Any) -> torch.optim.Optimizer:
    """Build optimizer ``name`` of :data:`OPTIMIZERS` for ``model`` (keyword hyper-parameters).

    ``"adamw"`` gets ``weight_decay=0`` unless given. Unknown names or hyper-parameters raise
    ValueError naming them; bad values raise the optimizer's own ValueError.
    """
    _check_name("optimizer", name, tuple(OPTIMIZERS))
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be an nn.Module, got {type(model).__name__}.")
    cls, takes_model, _ = OPTIMIZERS[name]
    allowed = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "params", "model")]
    unknown = sorted(set(hparams) - set(allowed))
    if unknown:
        raise ValueError(f"unknown hyper-parameter(s) {unknown} for optimizer {name!r}; choose from {allowed}.")
    if name == "adamw":
        hparams.setdefault("weight_decay", 0.0)
    if takes_model:
        return cls(model, **hparams)
    return cls([p for p in model.parameters() if p.requires_grad], **hparams)


# ---------------------------------------------------------------------------------------------
# The toy landscape (AX Fig. 4, eq 53)

#: Constants of the landscape. The valley floor is theta = r + a sin(omega r), where psi = r^2; across it the
#: curvature is 2 k (1 + a omega cos(omega r))^2, so with k = 10 the valley is narrow: at the minimum the
#: Hessian [[127, -50], [-50, 20]] has eigenvalues 0.27 and 147 (condition number ~540). a omega = 1.5 > 1
#: makes the floor bend back on itself (S-bends), so momentum built up before a bend is "stale" after it.
LANDSCAPE = {"k": 10.0, "a": 0.5, "omega": 3.0}
#: start on the far slope, beyond two bends of the valley
LANDSCAPE_START = (2.5, 0.5)
#: psi >= 0 and psi = 0 exactly when r = 0 and r - theta + a sin(omega r) = 0, i.e. theta = 0.
LANDSCAPE_MINIMUM = (0.0, 0.0)
#: "converged": psi <= LANDSCAPE_TOL (and stays there). psi(start) is about 67: almost 7 decades down.
LANDSCAPE_TOL = 1e-5


def _sin(x: Any):
    return torch.sin(x) if torch.is_tensor(x) else np.sin(x)


def _cos(x: Any):
    return torch.cos(x) if torch.is_tensor(x) else np.cos(x)


def _landscape_constants(params: dict) -> tuple[float, float, float]:
    unknown = set(params) - set(LANDSCAPE)
    if unknown:
        raise ValueError(f"unknown landscape constant(s) {sorted(unknown)}; choose from {sorted(LANDSCAPE)}.")
    c = {**LANDSCAPE, **params}
    k = _check_positive("k", c["k"])
    a = float(c["a"])
    if not math.isfinite(a):
        raise ValueError(f"a must be a finite number, got {c['a']!r}.")
    return k, a, float(c["omega"])


def landscape(r: Any, theta: Any, **constants: float) -> Any:
    """psi(r, theta) = r^2 + k (r - theta + a sin(omega r))^2 (AX eq 53; notebook 03, §8).

    Works on floats, NumPy arrays and torch tensors (autograd-friendly). ``constants`` override
    :data:`LANDSCAPE` (``k``, ``a``, ``omega``). The valley floor is theta = r + a sin(omega r),
    where psi = r^2; the unique minimum is psi(0, 0) = 0.
    """
    k, a, omega = _landscape_constants(constants)
    u = r - theta + a * _sin(omega * r)
    return r * r + k * u * u


def landscape_gradient(r: Any, theta: Any, **constants: float) -> tuple[Any, Any]:
    """(dpsi/dr, dpsi/dtheta) in closed form; the tests hold it equal to autograd.

    dpsi/dr = 2 r + 2 k u (1 + a omega cos(omega r)),  dpsi/dtheta = -2 k u,  u = r - theta + a sin(omega r).
    """
    k, a, omega = _landscape_constants(constants)
    u = r - theta + a * _sin(omega * r)
    return 2 * r + 2 * k * u * (1 + a * omega * _cos(omega * r)), -2 * k * u


@dataclass
class Trajectory:
    """What :func:`run_landscape` returns.

    Attributes:
        optimizer: the optimizer's name; ``hparams``: the hyper-parameters it ran with.
        points: (n + 1, 2) array of (r, theta), the start first.
        losses: (n + 1,) psi at each point. n < steps when the run diverged (then ``diverged``).
    """

    optimizer: str
    hparams: dict
    points: np.ndarray
    losses: np.ndarray
    diverged: bool = False

    @property
    def final_loss(self) -> float:
        return math.inf if self.diverged else float(self.losses[-1])

    def steps_to(self, tol: float = LANDSCAPE_TOL) -> int | None:
        """:func:`steps_to_tolerance` of this trajectory."""
        return steps_to_tolerance(self, tol)


class _Point(nn.Module):
    """A model that is just the 2-D parameter (r, theta)."""

    def __init__(self, start: Sequence[float]) -> None:
        super().__init__()
        self.point = nn.Parameter(torch.tensor([float(s) for s in start], dtype=torch.float64))


#: landscape hyper-parameters used when run_landscape is not given them: each optimizer's best
#: setting of landscape_sweep() (LANDSCAPE_LRS x LANDSCAPE_GRID from LANDSCAPE_START, 400 steps,
#: tol 1e-5; ``python -m hope_lite.experiments landscape`` reproduces it, notebook 03 checks it).
#: Steps to tolerance: sgd never (final 1.9e-2), momentum 141, preconditioned 123, delta 124,
#: dmgd never (final 1.1e-2), muon 141 (= momentum: 1-D fallback), m3 188, adamw 137.
LANDSCAPE_SETTINGS: dict[str, dict[str, Any]] = {
    "sgd": {"lr": 0.01},
    "momentum": {"momentum": 0.9, "lr": 0.01585},
    "preconditioned": {"momentum": 0.9, "lr": 0.1585},
    "delta": {"momentum": 0.9, "erase": 0.1, "lr": 0.01585},
    "dmgd": {"inner_lr": 0.03, "retention": 0.99, "lr": 0.01585},
    "muon": {"momentum": 0.9, "lr": 0.01585},
    "m3": {"alpha": 0.1, "lr": 1.0},
    "adamw": {"betas": (0.9, 0.999), "lr": 1.0},
}


def run_landscape(optimizer: str, steps: int = 400, *, start: Sequence[float] = LANDSCAPE_START,
                  constants: dict | None = None, tuned: bool = True, **hparams: Any) -> Trajectory:
    """Run a real optimizer on the toy landscape and return its :class:`Trajectory` (notebook 03, §8).

    The parameter is one ``nn.Parameter`` of shape (2,) = (r, theta), float64. Each step sets its
    gradient from :func:`landscape_gradient` and calls ``optimizer.step()``.

    Args:
        optimizer: a name of :data:`OPTIMIZERS`.
        steps: number of optimizer steps, >= 1. A run stops early if psi exceeds 1e8 or is not
            finite (``diverged=True``).
        start: the start point (r, theta); default :data:`LANDSCAPE_START`.
        constants: landscape constants overriding :data:`LANDSCAPE`.
        tuned: take the hyper-parameters not given in ``hparams`` from :data:`LANDSCAPE_SETTINGS`
            (the best of the sweep); False uses the optimizer's own defaults for them.
        **hparams: the optimizer's hyper-parameters (``lr``, ``momentum``, ...).

    Notes:
        On a vector parameter the Newton-Schulz optimizers fall back to their plain memory
        (there is no matrix to orthogonalise): ``"muon"`` *is* momentum here, and ``"m3"`` is
        Adam-style fast + slow momentum without orthogonalisation. ``"dgd"`` is gradient descent
        (a bare parameter has no layer input).
    """
    _check_name("optimizer", optimizer, tuple(OPTIMIZERS))
    steps = _check_int("steps", steps)
    constants = dict(constants or {})
    _landscape_constants(constants)
    if len(start) != 2:
        raise ValueError(f"start must be a pair (r, theta), got {start!r}.")
    settings = {**(LANDSCAPE_SETTINGS.get(optimizer, {}) if tuned else {}), **hparams}
    model = _Point(start)
    opt = make_optimizer(optimizer, model, **settings)
    p = model.point
    points, losses = [], []
    diverged = False
    with torch.no_grad():
        for t in range(steps + 1):
            r, theta = p[0].item(), p[1].item()
            loss = float(landscape(r, theta, **constants))
            if not math.isfinite(loss) or loss > 1e8:
                diverged = True
                break
            points.append((r, theta))
            losses.append(loss)
            if t == steps:
                break
            g_r, g_theta = landscape_gradient(r, theta, **constants)
            p.grad = torch.tensor([g_r, g_theta], dtype=p.dtype)
            opt.step()
    return Trajectory(optimizer, settings, np.array(points, dtype=float).reshape(-1, 2), np.array(losses), diverged)


def steps_to_tolerance(run: Trajectory | Sequence[float] | np.ndarray | Tensor, tol: float = LANDSCAPE_TOL, *,
                       sustained: bool = True) -> int | None:
    """Number of steps until the loss is <= ``tol``; None if it never gets there.

    ``run`` is a :class:`Trajectory` or a 1-D sequence of losses with ``losses[t]`` the loss after
    t steps (``losses[0]`` = start). With ``sustained=True`` (default) the loss must also *stay*
    <= tol until the end of the run, so a lucky pass through the tolerance does not count; a
    diverged trajectory never counts. With ``sustained=False`` the first time is returned.
    """
    tol = _check_positive("tol", tol)
    if isinstance(run, Trajectory):
        if run.diverged:
            return None
        losses = run.losses
    else:
        losses = np.asarray(run.detach().cpu() if torch.is_tensor(run) else run, dtype=float)
    if losses.ndim != 1 or losses.size == 0:
        raise ValueError(f"run must be a Trajectory or a non-empty 1-D sequence of losses, got shape {losses.shape}.")
    below = losses <= tol                       # NaN compares False: never "below"
    if not sustained:
        hits = np.flatnonzero(below)
        return int(hits[0]) if hits.size else None
    if not below[-1]:
        return None
    above = np.flatnonzero(~below)
    return 0 if above.size == 0 else int(above[-1]) + 1


#: the learning-rate grid every optimizer gets on the landscape: 18 values 1e-3 .. 3.16, ratio 10^0.2
LANDSCAPE_LRS: tuple[float, ...] = tuple(float(f"{10 ** e:.4g}") for e in np.arange(-3.0, 0.6, 0.2))
#: besides the lr, three settings of each optimizer's own main knob (the same budget for all:
#: 3 x 18 runs; plain gradient descent has no knob, so 18 runs). Other hyper-parameters: defaults,
#: except DMGD's retention 0.99 (its default inner step 0.5 with retention 0.9 diverges here: the
#: gradients reach |g| ~ 50 and its inner problem is not normalised).
LANDSCAPE_GRID: dict[str, list[dict[str, Any]]] = {
    "sgd": [{}],
    "momentum": [{"momentum": b} for b in (0.8, 0.9, 0.95)],
    "preconditioned": [{"momentum": b} for b in (0.8, 0.9, 0.95)],
    "delta": [{"momentum": 0.9, "erase": e} for e in (0.1, 0.3, 0.9)],
    "dmgd": [{"inner_lr": e, "retention": 0.99} for e in (0.01, 0.03, 0.1)],
    "muon": [{"momentum": b} for b in (0.8, 0.9, 0.95)],
    "m3": [{"alpha": a} for a in (0.1, 0.3, 1.0)],
    "adamw": [{"betas": (b, 0.999)} for b in (0.8, 0.9, 0.95)],
}
#: other start points, to check that the tuned settings are not tuned to one start (held out)
LANDSCAPE_STARTS: tuple[tuple[float, float], ...] = (
    (2.5, 0.5), (-2.0, 1.0), (1.5, -2.0), (-2.5, -2.0), (3.0, 3.5), (-1.0, 2.5))


def landscape_sweep(optimizers: Iterable[str] = LANDSCAPE_OPTIMIZERS, *, lrs: Sequence[float] = LANDSCAPE_LRS,
                    grid: dict[str, list[dict]] | None = None, steps: int = 400,
                    tol: float = LANDSCAPE_TOL) -> list[dict[str, Any]]:
    """Every optimizer x every knob setting of ``grid`` x every lr: steps to tolerance (notebook 03, §8).

    Returns one row per run: ``{"optimizer", "hparams" (knob setting + lr), "steps" (int or None),
    "final_loss"}``. Use :func:`best_settings` to pick each optimizer's best row.
    """
    grid = LANDSCAPE_GRID if grid is None else grid
    steps = _check_int("steps", steps)
    tol = _check_positive("tol", tol)
    rows = []
    for name in optimizers:
        _check_name("optimizer", name, tuple(OPTIMIZERS))
        for setting in grid.get(name, [{}]):
            for lr in lrs:
                hp = {**setting, "lr": float(lr)}
                traj = run_landscape(name, steps, tuned=False, **hp)
                rows.append({"optimizer": name, "hparams": hp, "steps": steps_to_tolerance(traj, tol),
                             "final_loss": traj.final_loss})
    return rows


def best_settings(rows: Sequence[dict]) -> dict[str, dict[str, Any]]:
    """Each optimizer's best row of a sweep: fewest steps to tolerance, ties -> lower final loss.

    Optimizers that never reached the tolerance get their lowest final loss, with ``steps=None``.
    """
    best: dict[str, dict] = {}
    for row in rows:
        key = (row["steps"] is None, row["steps"] or 0, row["final_loss"])
        cur = best.get(row["optimizer"])
        if cur is None or key < (cur["steps"] is None, cur["steps"] or 0, cur["final_loss"]):
            best[row["optimizer"]] = row
    return best


def compare_on_landscape(optimizers: Iterable[str] = LANDSCAPE_OPTIMIZERS, *,
                         starts: Sequence[Sequence[float]] = LANDSCAPE_STARTS, steps: int = 400,
                         tol: float = LANDSCAPE_TOL, settings: dict[str, dict] | None = None) -> dict[str, dict]:
    """Steps to tolerance of each optimizer from several start points, with fixed settings.

    ``settings`` maps optimizer -> hyper-parameters (default :data:`LANDSCAPE_SETTINGS`, tuned on
    :data:`LANDSCAPE_START` only, so the other starts are held out). Returns, per optimizer,
    ``{"steps": [int or None per start], "median": median steps (inf counts as never),
    "converged": how many starts reached the tolerance}``.
    """
    steps = _check_int("steps", steps)
    settings = LANDSCAPE_SETTINGS if settings is None else settings
    out = {}
    for name in optimizers:
        _check_name("optimizer", name, tuple(OPTIMIZERS))
        counts = [steps_to_tolerance(run_landscape(name, steps, start=s, tuned=False, **settings.get(name, {})), tol)
                  for s in starts]
        finite = [math.inf if c is None else c for c in counts]
        out[name] = {"steps": counts, "median": float(np.median(finite)),
                     "converged": sum(c is not None for c in counts)}
    return out


# ---------------------------------------------------------------------------------------------
# Newton-Schulz as an inner optimisation (notebook 03, §4)


def ns_orthogonality_error(shape: Sequence[int], max_steps: int = 20, coefficients: str = "quintic", *,
                           seed: int = 0, samples: int = 3) -> np.ndarray:
    """How far ``newton_schulz(G, steps=s)`` is from semi-orthogonal, for s = 0 .. max_steps.

    G is a random Gaussian matrix of ``shape`` (r, c). The error is the RMS distance of the
    short side's Gram matrix from the identity, ``|O O^T - I|_F / sqrt(min(r, c))`` (with
    ``O^T O`` when r > c), averaged over ``samples`` matrices; s = 0 is the normalised input
    G / |G|_F, where NS starts. Computed in float64 with :func:`hope_lite.optim.newton_schulz`.
    """
    if len(shape) != 2:
        raise ValueError(f"shape must be (rows, cols), got {shape!r}.")
    r, c = (_check_int("shape", s) for s in shape)
    max_steps = _check_int("max_steps", max_steps, low=0)
    _check_name("coefficients", coefficients, tuple(optim.NS_COEFFICIENTS))
    gen = torch.Generator().manual_seed(seed)
    n = min(r, c)
    eye = torch.eye(n, dtype=torch.float64)
    out = np.zeros((samples, max_steps + 1))
    for i in range(samples):
        G = torch.randn(r, c, generator=gen, dtype=torch.float64)
        for s in range(max_steps + 1):
            O = G / G.norm() if s == 0 else optim.newton_schulz(G, steps=s, coefficients=coefficients)
            gram = O @ O.T if r <= c else O.T @ O
            out[i, s] = ((gram - eye).norm() / math.sqrt(n)).item()
    return out.mean(0)


# ---------------------------------------------------------------------------------------------
# The small models and their data


def make_regression_data(n: int = 512, dim: int = 8, *, seed: int = 0, split: str = "train") -> tuple[Tensor, Tensor]:
    """Inputs X (n, dim) ~ N(0, 1) and targets y (n, 1) of a fixed random teacher network.

    The teacher, a random tanh network dim -> 32 -> 1, is drawn from a private generator with
    ``seed`` (the global RNG is not touched); ``split="test"`` draws new inputs for the same
    teacher. Targets are scaled by constants of the teacher (mean 0, variance 1 over N(0, 1)
    inputs), so predicting 0 scores an MSE of about 1.
    """
    n, dim = _check_int("n", n), _check_int("dim", dim)
    _check_name("split", split, ("train", "test"))
    gen = torch.Generator().manual_seed(seed)
    W1 = torch.randn(dim, 32, generator=gen) * (1.5 / math.sqrt(dim))
    w2 = torch.randn(32, 1, generator=gen) / math.sqrt(32)
    teacher = lambda X: torch.tanh(X @ W1) @ w2                     # noqa: E731
    ref = teacher(torch.randn(4096, dim, generator=gen))
    gen.manual_seed(seed + (1 if split == "train" else 2) * 7919)
    X = torch.randn(n, dim, generator=gen)
    return X, (teacher(X) - ref.mean()) / ref.std()


def make_mlp(dim: int = 8, hidden: int = 64) -> nn.Module:
    """The student network of the regression task: dim -> hidden -> hidden -> 1, tanh."""
    return nn.Sequential(nn.Linear(dim, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
                         nn.Linear(hidden, 1))


def make_recall_batch(batch: int, *, n_pairs: int = 8, n_queries: int = 4, n_keys: int = 16, n_values: int = 16,
                      generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """Multi-query associative recall: ``k1 v1 k2 v2 ... kn vn q1 ... qm`` -> the value of each query.

    Keys are tokens ``0 .. n_keys-1`` (distinct within a sequence), values ``n_keys ..
    n_keys+n_values-1``. The queries are keys of the sequence; the model must output their
    values at the query positions. Returns ``tokens`` (batch, 2 n_pairs + n_queries) and
    ``targets`` of the same shape, -100 (ignored by cross-entropy) everywhere but at the queries.
    Guessing a value uniformly scores a loss of ln(n_values).
    """
    batch, n_pairs, n_queries = _check_int("batch", batch), _check_int("n_pairs", n_pairs), _check_int("n_queries", n_queries)
    if n_pairs > n_keys:
        raise ValueError(f"n_pairs ({n_pairs}) must be <= n_keys ({n_keys}): keys are distinct in a sequence.")
    if n_queries > n_pairs:
        raise ValueError(f"n_queries ({n_queries}) must be <= n_pairs ({n_pairs}).")
    keys = torch.rand(batch, n_keys, generator=generator).argsort(-1)[:, :n_pairs]          # distinct keys
    values = torch.randint(n_values, (batch, n_pairs), generator=generator) + n_keys
    asked = torch.rand(batch, n_pairs, generator=generator).argsort(-1)[:, :n_queries]     # which pairs
    queries = keys.gather(1, asked)
    answers = values.gather(1, asked)
    tokens = torch.cat([torch.stack([keys, values], -1).reshape(batch, -1), queries], 1)
    targets = torch.full_like(tokens, -100)
    targets[:, 2 * n_pairs:] = answers
    return tokens, targets


class RecallModel(nn.Module):
    """A tiny sequence model built from hope_lite: embeddings -> MemoryBlock("delta") -> head.

    x_t = E[token_t] + E_prev[token_{t-1}] (a one-token shift, so that at a value's position the
    memory can take the key from the previous token and the value from the current one), then a
    residual :class:`~hope_lite.memory.MemoryBlock` with a delta-rule memory (the memory writes
    (k_t, v_t) every token and is read with q_t), a LayerNorm and a linear head over the vocabulary.
    """

    def __init__(self, vocab: int = 32, width: int = 32, heads: int = 2, chunk_size: int = 16) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, width)
        self.embed_prev = nn.Embedding(vocab + 1, width)            # the last id stands for "no previous token"
        self.block = MemoryBlock("delta", width, heads, chunk_size)
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab)

    def forward(self, tokens: Tensor) -> Tensor:                    # (B, T) -> (B, T, vocab)
        prev = F.pad(tokens[:, :-1], (1, 0), value=self.embed_prev.num_embeddings - 1)
        x = self.embed(tokens) + self.embed_prev(prev)              # (B, T, C)
        x = x + self.block(x)
        return self.head(self.norm(x))


def make_model(model: str = "mlp", *, seed: int = 0) -> nn.Module:
    """A freshly initialised ``"mlp"`` or ``"recall"`` model; ``seed`` fixes the initial weights."""
    _check_name("model", model, MODELS)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return make_mlp() if model == "mlp" else RecallModel()


# ---------------------------------------------------------------------------------------------
# Training and timing


@dataclass
class TrainResult:
    """What :func:`train_with` returns.

    Attributes:
        losses: training loss at every step (before that step's update), length ``steps``.
        step_times: wall seconds of every step (zero_grad + forward + backward + optimizer step).
        eval_loss: loss on held-out data after training (``"mlp"``: 512 new points; ``"recall"``:
            256 new sequences); ``accuracy``: recall accuracy at the queries (``"recall"`` only).
        diverged: the loss became NaN/inf (the run stopped there; the curve is cut).
    """

    optimizer: str
    model: str
    lr: float
    seed: int
    losses: np.ndarray
    step_times: np.ndarray
    eval_loss: float
    accuracy: float | None = None
    diverged: bool = False
    hparams: dict = field(default_factory=dict)

    @property
    def ms_per_step(self) -> float:
        """Median wall time of a step in milliseconds (the first 5 steps, warm-up, left out)."""
        t = self.step_times[5:] if self.step_times.size > 10 else self.step_times
        return 1e3 * float(np.median(t))

    @property
    def final_loss(self) -> float:
        """Mean training loss over the last 10 % of the steps (inf if the run diverged)."""
        if self.diverged:
            return math.inf
        n = max(1, len(self.losses) // 10)
        return float(np.mean(self.losses[-n:]))


#: the learning-rate grid of the tuning sweep, the same for every optimizer and model (ratio ~3.2,
#: 12 values; it reaches down to 1e-5 because M3 needs it, up to 3 because DMGD and DGD do)
TRAIN_LRS: tuple[float, ...] = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0)

#: default learning rates: for every optimizer the best of TRAIN_LRS by final training loss
#: (mean of the last 30 of 300 steps, seed 0; ``python -m hope_lite.experiments tune``). Every
#: other hyper-parameter at the optimizer's default (momentum 0.9; delta erase 0.1; Muon 0.95; DMGD hidden 16,
#: inner_lr 0.5, retention 0.9, period 1; M3 betas 0.9/0.999/0.9, alpha 1, f = 10; AdamW
#: weight_decay 0). Final training losses at these rates, seed 0 --
#: mlp (start 1.0): sgd .037, momentum .0017, preconditioned .0019, delta .0036, dmgd .12, muon .0007,
#: m3 .0007, adamw .0010, dgd .23;  recall (chance ln 16 = 2.77): sgd 2.77, momentum 2.77,
#: preconditioned .050, delta 2.77, dmgd 2.84, muon .096, m3 2.28, adamw .047, dgd 2.78.
DEFAULT_LR: dict[str, dict[str, float]] = {
    "mlp": {"sgd": 0.3, "momentum": 0.3, "preconditioned": 1e-3, "delta": 0.3, "dmgd": 0.3, "muon": 0.01,
            "m3": 1e-4, "adamw": 0.01, "dgd": 0.03},
    "recall": {"sgd": 1.0, "momentum": 0.1, "preconditioned": 3e-3, "delta": 0.1, "dmgd": 3.0, "muon": 0.1,
               "m3": 3e-5, "adamw": 0.01, "dgd": 3.0},
}


def _loss_fn(model_name: str) -> Callable[[Tensor, Tensor], Tensor]:
    if model_name == "mlp":
        return F.mse_loss
    return lambda logits, targets: F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def _batches(model_name: str, steps: int, seed: int) -> Callable[[int], tuple[Tensor, Tensor]]:
    """The training data, seeded: the same for every optimizer with the same seed."""
    if model_name == "mlp":
        X, y = make_regression_data(512, seed=seed)
        return lambda t: (X, y)                                     # full batch
    gen = torch.Generator().manual_seed(seed)
    data = [make_recall_batch(32, generator=gen) for _ in range(min(steps, 64))]
    return lambda t: data[t % len(data)]                            # 64 batches, cycled


def _evaluate(model: nn.Module, model_name: str, seed: int) -> tuple[float, float | None]:
    with torch.no_grad():
        if model_name == "mlp":
            X, y = make_regression_data(512, seed=seed, split="test")   # same teacher, new inputs
            return F.mse_loss(model(X), y).item(), None
        gen = torch.Generator().manual_seed(10_000 + seed)
        tokens, targets = make_recall_batch(256, generator=gen)
        logits = model(tokens)
        loss = _loss_fn("recall")(logits, targets).item()
        mask = targets >= 0
        acc = (logits.argmax(-1)[mask] == targets[mask]).float().mean().item()
        return loss, acc


def train_with(optimizer: str, model: str = "mlp", steps: int = 300, lr: float | None = None, seed: int = 0,
               **hparams: Any) -> TrainResult:
    """Train ``model`` with ``optimizer`` for ``steps`` steps; return the loss curve and step times.

    Args:
        optimizer: a name of :data:`OPTIMIZERS`.
        model: ``"mlp"`` (full-batch regression of a random teacher, MSE, 512 points) or
            ``"recall"`` (:class:`RecallModel` on :func:`make_recall_batch`, batches of 32,
            cross-entropy at the query positions).
        steps: optimizer steps, >= 1.
        lr: learning rate, > 0; default :data:`DEFAULT_LR` (tuned).
        seed: seeds the initial weights and the data.
        **hparams: other hyper-parameters of the optimizer.

    Single-threaded timing is steadier for tensors this small: call ``torch.set_num_threads(1)``
    first (the notebook does).
    """
    _check_name("optimizer", optimizer, tuple(OPTIMIZERS))
    _check_name("model", model, MODELS)
    steps = _check_int("steps", steps)
    seed = _check_int("seed", seed, low=0)
    lr = DEFAULT_LR[model].get(optimizer, 1e-2) if lr is None else _check_positive("lr", lr)
    net = make_model(model, seed=seed)
    opt = make_optimizer(optimizer, net, lr=lr, **hparams)
    loss_fn, batch = _loss_fn(model), _batches(model, steps, seed)
    losses, times = [], []
    diverged = False
    for t in range(steps):
        x, y = batch(t)
        start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - start)
        value = loss.item()
        losses.append(value)
        # stop at the first non-finite loss or weight (the memory refuses NaN inputs anyway)
        if not math.isfinite(value) or value > 1e6 or not all(torch.isfinite(p).all() for p in net.parameters()):
            diverged = True
            break
    if isinstance(opt, optim.DeltaGradientDescent):
        opt.remove_hooks()
    if diverged:
        eval_loss, acc = math.inf, None
    else:
        eval_loss, acc = _evaluate(net, model, seed)
        diverged = not math.isfinite(eval_loss)
    return TrainResult(optimizer, model, lr, seed, np.array(losses), np.array(times), eval_loss, acc, diverged,
                       dict(hparams))


def tune_lr(optimizer: str, model: str = "mlp", *, lrs: Sequence[float] = TRAIN_LRS, steps: int = 300,
            seed: int = 0) -> dict[str, Any]:
    """The learning-rate sweep behind :data:`DEFAULT_LR`: every lr of ``lrs``, same steps and seed.

    Returns ``{"best_lr", "final_loss": {lr: final training loss (inf if diverged)}}``; the best
    lr has the lowest final loss.
    """
    finals = {float(lr): train_with(optimizer, model, steps, float(lr), seed).final_loss for lr in lrs}
    best = min(finals, key=lambda lr: (finals[lr], lr))
    return {"optimizer": optimizer, "model": model, "best_lr": best, "final_loss": finals}


def m3_readings(steps: int = 300, lr: float | None = None, *, seed: int = 0, **hparams: Any) -> dict[str, dict]:
    """M3's two readings of Algorithm 1 side by side on the MLP task (paper_spec §9.9; notebook 03, §6).

    Trains the MLP with ``M3(accumulate="ema")`` and ``M3(accumulate="sum")`` at the same ``lr``
    (default: M3's tuned lr) and records, at every step: the training loss, the mean second
    moment V over all parameters, and the RMS size of the update divided by lr, separately for
    the matrices (orthogonalised by Newton-Schulz) and the vectors (biases: no NS).

    Returns ``{"ema" | "sum": {"loss", "second", "update_matrix", "update_vector"}}`` of arrays.
    """
    steps = _check_int("steps", steps)
    lr = DEFAULT_LR["mlp"]["m3"] if lr is None else _check_positive("lr", lr)
    X, y = make_regression_data(seed=seed)
    out = {}
    for accumulate in ("ema", "sum"):
        net = make_model("mlp", seed=seed)
        opt = make_optimizer("m3", net, lr=lr, accumulate=accumulate, **hparams)
        params = list(net.parameters())
        rec: dict[str, list] = {"loss": [], "second": [], "update_matrix": [], "update_vector": []}
        for _ in range(steps):
            opt.zero_grad(set_to_none=True)
            loss = F.mse_loss(net(X), y)
            loss.backward()
            before = [p.detach().clone() for p in params]
            opt.step()
            for key, want in (("update_matrix", True), ("update_vector", False)):
                deltas = [(p.detach() - b) for p, b in zip(params, before) if (p.dim() >= 2) == want]
                sq = sum(d.square().sum().item() for d in deltas)
                rec[key].append(math.sqrt(sq / sum(d.numel() for d in deltas)) / lr)
            rec["second"].append(float(np.mean([opt.state[p]["second"].mean().item() for p in params])))
            rec["loss"].append(loss.item())
        out[accumulate] = {k: np.array(v) for k, v in rec.items()}
    return out


# ---------------------------------------------------------------------------------------------
# Command line


def _format_steps(s: int | None) -> str:
    return "never" if s is None else str(s)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m hope_lite.experiments", description=__doc__.split("\n")[0])
    p.add_argument("what", choices=("landscape", "train", "tune"))
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model", choices=MODELS, default=None)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    if args.what == "landscape":
        rows = landscape_sweep(steps=args.steps or 400)
        for name, row in best_settings(rows).items():
            print(f"{name:>15}  steps to psi <= {LANDSCAPE_TOL:g}: {_format_steps(row['steps']):>6}   "
                  f"final {row['final_loss']:.2e}   {row['hparams']}")
        return 0
    models = [args.model] if args.model else list(MODELS)
    for model in models:
        for name in TRAIN_OPTIMIZERS:
            if args.what == "tune":
                res = tune_lr(name, model, steps=args.steps or 300, seed=args.seed)
                finals = "  ".join(f"{lr:g}:{v:.3g}" for lr, v in res["final_loss"].items())
                print(f"{model:>6} {name:>15}  best lr {res['best_lr']:g}   {finals}", flush=True)
            else:
                r = train_with(name, model, args.steps or 300, seed=args.seed)
                acc = "" if r.accuracy is None else f"  accuracy {r.accuracy:.3f}"
                print(f"{model:>6} {name:>15}  lr {r.lr:<7g} final {r.final_loss:.4f}  eval {r.eval_loss:.4f}"
                      f"{acc}  {r.ms_per_step:.2f} ms/step", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
