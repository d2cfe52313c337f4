"""Least squares: why M3's default step is not Algorithm 1's (notebook 03, section 6).

A linear map 16 -> 8 fitted to 32 noisy points, full batch: the smallest problem on which M3 as
printed (orthogonalised momentum divided element-wise by sqrt(V)) does not converge, and the
default (Newton-Schulz direction, Adam-sized step) does. ``python -m
hope_lite.lessons.ch03_deep_optimizers.experiments least-squares`` prints the table.
"""

from __future__ import annotations

import inspect
import math
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._args import require_choice, require_int, require_positive
from ..fit import fit
from ..teaching import seeded
from .optimizers import make_optimizer

__all__ = ["LEAST_SQUARES_OPTIMIZERS", "make_least_squares", "least_squares_floor", "least_squares_comparison",
           "format_least_squares"]



#: the optimizers of :func:`least_squares_comparison`: label -> (name in OPTIMIZERS, hyper-parameters)
LEAST_SQUARES_OPTIMIZERS: dict[str, tuple[str, dict[str, Any]]] = {
    "m3": ("m3", {}),                                       # hope_lite's default, scale="adam"
    "m3 algorithm1": ("m3", {"scale": "algorithm1"}),       # Algorithm 1 as printed
    "muon": ("muon", {}),
    "adamw": ("adamw", {}),                                 # weight_decay 0 (make_optimizer)
}


def make_least_squares(seed: int = 0, *, rows: int = 32, inputs: int = 16, outputs: int = 8,
                       noise: float = 0.1) -> tuple[Tensor, Tensor, nn.Linear]:
    """A noisy linear regression and a fresh student for it: ``(X, Y, student)``, float32.

    X (rows, inputs) ~ N(0, 1), then the noise, from ``torch.Generator().manual_seed(seed)``; the
    teacher is an ``nn.Linear(inputs, outputs)`` with PyTorch's default initialisation under seed
    ``seed + 1000``, and ``Y = teacher(X) + noise * N(0, 1)``; the student is an
    ``nn.Linear(inputs, outputs)`` initialised under ``seed``. The global RNG is left as it was.
    """
    rows, inputs, outputs = (require_int(n, v) for n, v in (("rows", rows), ("inputs", inputs), ("outputs", outputs)))
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(rows, inputs, generator=gen)
    with seeded(seed + 1000):
        teacher = nn.Linear(inputs, outputs)
    with torch.no_grad():
        Y = teacher(X) + noise * torch.randn(rows, outputs, generator=gen)
    with seeded(seed):
        student = nn.Linear(inputs, outputs)
    return X, Y, student


def least_squares_floor(X: Tensor, Y: Tensor) -> float:
    """The noise floor: the MSE of the exact least-squares solution (weights and bias), in float64."""
    A = torch.cat([X.double(), torch.ones(len(X), 1, dtype=torch.float64)], dim=1)
    solution = torch.linalg.lstsq(A, Y.double()).solution
    return F.mse_loss(A @ solution, Y.double()).item()


def least_squares_comparison(steps: int = 300, lrs: Sequence[float] = (1e-2, 1e-3), seeds: Sequence[int] = (0, 1, 2),
                             optimizers: Sequence[str] = tuple(LEAST_SQUARES_OPTIMIZERS)) -> dict[str, Any]:
    """M3's default step against Algorithm 1 as printed, Muon and AdamW on least squares (notebook 03, §6).

    For every seed, :func:`make_least_squares` (16 -> 8, 32 rows, noise 0.1) is fitted full batch
    with MSE for ``steps`` steps (:func:`hope_lite.lessons.fit.fit`) by every optimizer of
    ``optimizers`` (labels of :data:`LEAST_SQUARES_OPTIMIZERS`) at every lr of ``lrs``.

    Returns ``{"steps", "lrs", "seeds", "optimizers", "start": loss before training, "floor":
    :func:`least_squares_floor`, "final": {(label, lr): loss after the last step}, "min": {(label,
    lr): lowest loss of the run, start included}, "losses": {(label, lr): [curve of steps + 1
    losses]}}``; start, floor, final and min are arrays with one entry per seed (final is inf if a
    run diverged).
    """
    steps = require_int("steps", steps)
    lrs = [require_positive("lr", lr) for lr in lrs]
    seeds = [require_int("seed", s, low=0) for s in seeds]
    if not lrs or not seeds:
        raise ValueError("lrs and seeds must each name at least one value.")
    for label in optimizers:
        require_choice("optimizer", label, tuple(LEAST_SQUARES_OPTIMIZERS))
    out: dict[str, Any] = {"steps": steps, "lrs": lrs, "seeds": seeds, "optimizers": list(optimizers),
                           "start": [], "floor": [], "final": {}, "min": {}, "losses": {}}
    for seed in seeds:
        X, Y, student = make_least_squares(seed)
        with torch.no_grad():
            out["start"].append(F.mse_loss(student(X), Y).item())
        out["floor"].append(least_squares_floor(X, Y))
        for label in optimizers:
            name, hparams = LEAST_SQUARES_OPTIMIZERS[label]
            for lr in lrs:
                _, _, student = make_least_squares(seed)
                run = fit(student, make_optimizer(name, student, lr=lr, **hparams), lambda step: (X, Y), steps,
                          F.mse_loss)
                with torch.no_grad():
                    last = math.inf if run.diverged else F.mse_loss(student(X), Y).item()
                curve = run.losses + [last]
                out["final"].setdefault((label, lr), []).append(last)
                out["min"].setdefault((label, lr), []).append(min(curve))
                out["losses"].setdefault((label, lr), []).append(curve)
    for key in ("start", "floor"):
        out[key] = np.array(out[key])
    for key in ("final", "min"):
        out[key] = {k: np.array(v) for k, v in out[key].items()}
    return out


def format_least_squares(result: dict[str, Any]) -> str:
    """The table of :func:`least_squares_comparison`: final and lowest loss per optimizer, lr and seed."""
    nums = lambda values: "[" + " ".join(f"{v:.3g}" for v in values) + "]"          # noqa: E731
    problem = {k: v.default for k, v in inspect.signature(make_least_squares).parameters.items() if k != "seed"}
    lines = [f"least squares {problem['inputs']} -> {problem['outputs']}, {problem['rows']} rows, noise "
             f"{problem['noise']:g}, {result['steps']} full-batch steps, "
             f"seeds {', '.join(map(str, result['seeds']))} (float32)",
             f"{'start':>26}  {nums(result['start'])}",
             f"{'noise floor (exact fit)':>26}  {nums(result['floor'])}"]
    for lr in result["lrs"]:
        for label in result["optimizers"]:
            lines.append(f"lr {lr:<6g} {label:>16}  final {nums(result['final'][(label, lr)])}  "
                         f"min {nums(result['min'][(label, lr)])}")
    return "\n".join(lines)
