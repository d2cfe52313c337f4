"""The toy landscape of notebook 03 (AX Fig. 4, eq 53; docs/paper.md §3): optimizers on a narrow, curved valley.

A function of a 2-D parameter (r, theta)::

    psi(r, theta) = r^2 + k (r - theta + a sin(omega r))^2

:func:`run_landscape` runs any optimizer of :data:`.optimizers.OPTIMIZERS` on it and returns the
trajectory; :func:`steps_to_tolerance` counts the steps to reach (and stay below) a loss;
:func:`landscape_sweep` is the learning-rate sweep behind the tuned settings
:data:`LANDSCAPE_SETTINGS` (``python -m hope_lite.lessons.ch03_deep_optimizers.experiments
landscape`` reruns it), :func:`compare_on_landscape` checks them from held-out start points, and
:func:`knob_profile` does both for every setting of one optimizer's knob (delta momentum's erase
strength, :mod:`.erase`).
:func:`landscape_controls` and :func:`landscape_hparams` translate between an optimizer's
hyper-parameters and the sliders of the chapter's explorer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from .._args import require_choice, require_int, require_positive
from .optimizers import LANDSCAPE_OPTIMIZERS, OPTIMIZERS, make_optimizer

__all__ = ["LANDSCAPE", "LANDSCAPE_START", "LANDSCAPE_MINIMUM", "LANDSCAPE_TOL", "landscape", "landscape_gradient",
           "Trajectory", "run_landscape", "steps_to_tolerance", "LANDSCAPE_SETTINGS", "LANDSCAPE_LRS",
           "LANDSCAPE_GRID", "ERASE_GRID", "MOMENTUM_GRID", "LANDSCAPE_STARTS", "landscape_sweep", "best_settings",
           "compare_on_landscape", "knob_profile", "LANDSCAPE_EXPLORER_DEFAULTS", "landscape_controls",
           "landscape_hparams"]

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
    k = require_positive("k", c["k"])
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
#: tol 1e-5; ``python -m hope_lite.lessons.ch03_deep_optimizers.experiments landscape`` reproduces it,
#: notebook 03 checks it).
#: Steps to tolerance: sgd never (final 1.9e-2), momentum 141, preconditioned 123, delta 80 (erase 0.15 of
#: ERASE_GRID; erase 0.1 needs 124), dmgd never (final 1.1e-2), muon 141 (= momentum: 1-D fallback), m3 188,
#: adamw 137.
#: M3 (default scale="adam") divides its slow sums by f = 10, so its alpha 1 is Algorithm 1's alpha 0.1
#: (the same 188-step path, to rounding); its alpha 0.1 needs 238 steps at best, and without the
#: slow term (alpha 0: Adam) lr 1 needs 137.
LANDSCAPE_SETTINGS: dict[str, dict[str, Any]] = {
    "sgd": {"lr": 0.01},
    "momentum": {"momentum": 0.9, "lr": 0.01585},
    "preconditioned": {"momentum": 0.9, "lr": 0.1585},
    "delta": {"momentum": 0.9, "erase": 0.15, "lr": 0.01585},
    "dmgd": {"inner_lr": 0.03, "retention": 0.99, "lr": 0.01585},
    "muon": {"momentum": 0.9, "lr": 0.01585},
    "m3": {"alpha": 1.0, "lr": 1.0},
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
        Adam with a slow momentum, ``W -= lr (A1 + alpha A2)`` (Algorithm 1 as printed:
        ``W -= lr (M1 + alpha M2) / (sqrt(V) + eps)``). ``"dgd"`` is gradient descent
        (a bare parameter has no layer input).
    """
    require_choice("optimizer", optimizer, tuple(OPTIMIZERS))
    steps = require_int("steps", steps)
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
    tol = require_positive("tol", tol)
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
#: delta momentum's erase strengths gamma (with momentum beta = 0.9): 0 is momentum itself, 0.9 = beta
#: replaces the old momentum's component along the new gradient (notebook 03, §8; :mod:`.erase`)
ERASE_GRID: tuple[float, ...] = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.9)
#: momentum's beta, as many settings as ERASE_GRID: the question of §8 is delta momentum against momentum,
#: and the two get the same budget (Muon, which is momentum on the landscape's vector, gets it too)
MOMENTUM_GRID: tuple[float, ...] = (0.5, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97)
#: besides the lr, settings of each optimizer's own main knob: 8 for delta momentum (ERASE_GRID), momentum
#: and Muon (MOMENTUM_GRID), the optimizers in question; 3 for the others (3 x 18 runs; plain gradient
#: descent has no knob, so 18 runs). Other hyper-parameters: defaults, except DMGD's retention 0.99 (its
#: default inner step 0.5 with retention 0.9 diverges here: the gradients reach |g| ~ 50 and its inner
#: problem is not normalised).
LANDSCAPE_GRID: dict[str, list[dict[str, Any]]] = {
    "sgd": [{}],
    "momentum": [{"momentum": b} for b in MOMENTUM_GRID],
    "preconditioned": [{"momentum": b} for b in (0.8, 0.9, 0.95)],
    "delta": [{"momentum": 0.9, "erase": e} for e in ERASE_GRID],
    "dmgd": [{"inner_lr": e, "retention": 0.99} for e in (0.01, 0.03, 0.1)],
    "muon": [{"momentum": b} for b in MOMENTUM_GRID],
    "m3": [{"alpha": a} for a in (0.1, 0.3, 1.0)],
    "adamw": [{"betas": (b, 0.999)} for b in (0.8, 0.9, 0.95)],
}
#: other start points, to check that the tuned settings are not tuned to one start (held out)
LANDSCAPE_STARTS: tuple[tuple[float, float], ...] = (
    (2.5, 0.5), (-2.0, 1.0), (1.5, -2.0), (-2.5, -2.0), (3.0, 3.5), (-1.0, 2.5))


def landscape_sweep(optimizers: Iterable[str] = LANDSCAPE_OPTIMIZERS, *, lrs: Sequence[float] = LANDSCAPE_LRS,
                    grid: dict[str, list[dict]] | None = None, steps: int = 400,
                    tol: float = LANDSCAPE_TOL, constants: dict | None = None) -> list[dict[str, Any]]:
    """Every optimizer x every knob setting of ``grid`` x every lr: steps to tolerance (notebook 03, §8).

    Runs start at :data:`LANDSCAPE_START`, on the landscape with ``constants`` (default
    :data:`LANDSCAPE`). Returns one row per run: ``{"optimizer", "hparams" (knob setting + lr),
    "steps" (int or None), "final_loss"}``. Use :func:`best_settings` to pick each optimizer's best row.
    """
    grid = LANDSCAPE_GRID if grid is None else grid
    steps = require_int("steps", steps)
    tol = require_positive("tol", tol)
    rows = []
    for name in optimizers:
        require_choice("optimizer", name, tuple(OPTIMIZERS))
        for setting in grid.get(name, [{}]):
            for lr in lrs:
                hp = {**setting, "lr": float(lr)}
                traj = run_landscape(name, steps, tuned=False, constants=constants, **hp)
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
                         tol: float = LANDSCAPE_TOL, settings: dict[str, dict] | None = None,
                         constants: dict | None = None) -> dict[str, dict]:
    """Steps to tolerance of each optimizer from several start points, with fixed settings.

    ``settings`` maps optimizer -> hyper-parameters (default :data:`LANDSCAPE_SETTINGS`, tuned on
    :data:`LANDSCAPE_START` only, so the other starts are held out); ``constants`` change the
    landscape (default :data:`LANDSCAPE`). Returns, per optimizer,
    ``{"steps": [int or None per start], "median": median steps (inf counts as never),
    "converged": how many starts reached the tolerance}``.
    """
    steps = require_int("steps", steps)
    settings = LANDSCAPE_SETTINGS if settings is None else settings
    out = {}
    for name in optimizers:
        require_choice("optimizer", name, tuple(OPTIMIZERS))
        counts = [steps_to_tolerance(run_landscape(name, steps, start=s, tuned=False, constants=constants,
                                                   **settings.get(name, {})), tol)
                  for s in starts]
        finite = [math.inf if c is None else c for c in counts]
        out[name] = {"steps": counts, "median": float(np.median(finite)),
                     "converged": sum(c is not None for c in counts)}
    return out


def knob_profile(optimizer: str, knob: str, *, settings: Sequence[dict] | None = None,
                 lrs: Sequence[float] = LANDSCAPE_LRS, steps: int = 400, tol: float = LANDSCAPE_TOL,
                 starts: Sequence[Sequence[float]] = LANDSCAPE_STARTS, constants: dict | None = None,
                 rows: Sequence[dict] | None = None, best_lrs: dict | None = None) -> list[dict[str, Any]]:
    """Every setting of one knob, each at its own best learning rate, from every start (notebook 03, §8).

    For each setting of ``settings`` (default ``LANDSCAPE_GRID[optimizer]``), the chapter's protocol:
    the lr of ``lrs`` that reaches the tolerance in the fewest steps from :data:`LANDSCAPE_START`
    (:func:`landscape_sweep`, :func:`best_settings`), then that (setting, lr) unchanged from every
    point of ``starts`` (the first is the tuning start). ``rows`` reuses a sweep's rows instead of
    running it; ``best_lrs`` (knob value -> lr) skips the lr choice and only replays the runs from
    the starts. Returns one dict per setting: ``{"value" (the knob's value), "hparams", "lr",
    "steps" (from the tuning start, None = never), "final_loss" (at the tuning start), "per_start"
    (steps from each start), "median" (inf counts as never), "converged" (how many starts)}``.
    """
    require_choice("optimizer", optimizer, tuple(OPTIMIZERS))
    steps = require_int("steps", steps)
    settings = list(LANDSCAPE_GRID.get(optimizer, [{}]) if settings is None else settings)
    if any(knob not in s for s in settings):
        raise ValueError(f"knob {knob!r} is not set by every setting of {optimizer!r}: {settings}.")
    out = []
    for setting in settings:
        value = setting[knob]
        if best_lrs is not None:
            lr = float(best_lrs[value])
            traj = run_landscape(optimizer, steps, tuned=False, constants=constants, **setting, lr=lr)
            best = {"hparams": {**setting, "lr": lr}, "steps": steps_to_tolerance(traj, tol),
                    "final_loss": traj.final_loss}
        else:
            mine = [r for r in rows if r["optimizer"] == optimizer and all(r["hparams"].get(k) == v
                                                                            for k, v in setting.items())] \
                if rows is not None else landscape_sweep([optimizer], lrs=lrs, grid={optimizer: [setting]},
                                                         steps=steps, tol=tol, constants=constants)
            if not mine:
                raise ValueError(f"rows hold no run of {optimizer!r} with {setting}.")
            best = best_settings(mine)[optimizer]
        held = compare_on_landscape([optimizer], starts=starts, steps=steps, tol=tol, constants=constants,
                                    settings={optimizer: best["hparams"]})[optimizer]
        out.append({"value": value, "hparams": dict(best["hparams"]), "lr": best["hparams"]["lr"],
                    "steps": best["steps"], "final_loss": best["final_loss"], "per_start": held["steps"],
                    "median": held["median"], "converged": held["converged"]})
    return out


# ---------------------------------------------------------------------------------------------
# The explorer's sliders <-> an optimizer's hyper-parameters

#: the start values of explore_landscape() (also its static preview, 03-landscape-explorer.png)
LANDSCAPE_EXPLORER_DEFAULTS = {"optimizer": "delta", "steps": 400}


def landscape_controls(optimizer: str) -> dict[str, Any]:
    """The explorer's slider values (lr, beta, erase, period) for an optimizer's tuned landscape settings.

    ``beta`` is the optimizer's decay: momentum (momentum, preconditioned, delta, muon), beta1
    (m3, adamw) or the memory's retention (dmgd); ``period`` is DMGD's period or M3's slow period.
    """
    require_choice("optimizer", optimizer, tuple(OPTIMIZERS))
    s = LANDSCAPE_SETTINGS.get(optimizer, {})
    beta = {"dmgd": s.get("retention", 0.9), "m3": s.get("beta1", 0.9),
            "adamw": s.get("betas", (0.9, 0.999))[0]}.get(optimizer, s.get("momentum", 0.9))
    period = s.get("period", 1) if optimizer == "dmgd" else s.get("slow_period", 10)
    return {"lr": float(s.get("lr", 0.01)), "beta": float(beta), "erase": float(s.get("erase", 0.9)),
            "period": int(period)}


def landscape_hparams(optimizer: str, lr: float, beta: float, erase: float, period: int) -> dict[str, Any]:
    """The optimizer's hyper-parameters for the explorer's sliders (the inverse of :func:`landscape_controls`).

    Knobs the sliders do not show (DMGD's inner step, M3's alpha) keep their tuned values.
    """
    require_choice("optimizer", optimizer, tuple(OPTIMIZERS))
    hp: dict[str, Any] = {"lr": float(lr)}
    if optimizer in ("momentum", "preconditioned", "muon"):
        hp["momentum"] = float(beta)
    elif optimizer == "delta":
        hp.update(momentum=float(beta), erase=float(erase))
    elif optimizer == "dmgd":
        hp.update(inner_lr=LANDSCAPE_SETTINGS.get("dmgd", {}).get("inner_lr", 0.03), retention=float(beta),
                  period=int(period))
    elif optimizer == "m3":
        hp.update(alpha=LANDSCAPE_SETTINGS.get("m3", {}).get("alpha", 1.0), beta1=float(beta),
                  slow_period=int(period))
    elif optimizer == "adamw":
        hp["betas"] = (float(beta), 0.999)
    return hp
