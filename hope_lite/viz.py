"""Pure figure functions for the notebooks, and ``python -m hope_lite.viz --out figures``.

Every figure has two layers (docs/TEACHING.md):

* a function that computes the numbers (``retrieval_errors``, ``capacity_sweep``, ...), the one
  source of truth that notebooks assert on and tests check;
* a ``render_*`` function that draws them and returns a :class:`matplotlib.figure.Figure`.

Render functions never call ``plt.show()``. They build the figure through pyplot (so a notebook
backend sets up its display hooks) and close it before returning, so nothing piles up in pyplot:
show a figure with ``display(fig)`` or as the last value of a cell, save it with
``fig.savefig``.

The command line regenerates every static preview PNG linked from the notebooks and README::

    python -m hope_lite.viz --out figures        # (= make figures)

Figures are named ``NN-slug.png`` after the notebook that shows them and are deterministic
(seeded). This module also holds the repository coordinates used by the Colab/Binder badges.
"""

from __future__ import annotations

import argparse
import math
import sys
import textwrap
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from .data import make_kv_pairs
from .levels import Level
from .memory import DeltaRuleMemory, HebbianMemory, TitansMemory

__all__ = [
    "REPOSITORY", "BRANCH", "colab_url", "binder_url", "badges_markdown",
    "RULES", "retrieval_errors", "render_retrieval",
    "capacity_sweep", "render_capacity",
    "interference_sweep", "render_interference",
    "forgetting_curves", "render_forgetting",
    "deep_vs_matrix", "render_deep_vs_matrix",
    "render_levels", "EXPLORER_DEFAULTS", "FIGURES", "all_figures", "main",
]

# ---------------------------------------------------------------------------------------------
# Where the notebooks live online (one place for every badge)

REPOSITORY = "hope-lite/hope_lite"
BRANCH = "main"
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
BINDER_BADGE = "https://mybinder.org/badge_logo.svg"


def colab_url(notebook: str) -> str:
    """Colab link of ``notebooks/<notebook>`` on GitHub, e.g. ``colab_url("01_associative_memory.ipynb")``."""
    return f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/notebooks/{notebook}"


def binder_url(notebook: str) -> str:
    """Binder link that opens ``notebooks/<notebook>`` in JupyterLab."""
    return f"https://mybinder.org/v2/gh/{REPOSITORY}/{BRANCH}?labpath=notebooks%2F{notebook}"


def badges_markdown(notebook: str) -> str:
    """The Colab and Binder badges of a notebook, as one line of markdown."""
    return (f"[![Open In Colab]({COLAB_BADGE})]({colab_url(notebook)}) "
            f"[![Binder]({BINDER_BADGE})]({binder_url(notebook)})")


# ---------------------------------------------------------------------------------------------
# Shared helpers

RULES = ("hebbian", "delta", "titans")
COLORS = {"hebbian": "#d95f02", "delta": "#1b9e77", "titans": "#7570b3", "floor": "#555555"}


def _new_figure(width: float, height: float, ncols: int = 1, **kwargs: Any):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, ncols, figsize=(width, height), **kwargs)
    return fig, axes


def _finish(fig):
    """Close the figure in pyplot (it stays drawable) and return it."""
    import matplotlib.pyplot as plt

    plt.close(fig)
    return fig


def _relative_errors(recalled: torch.Tensor, values: torch.Tensor) -> np.ndarray:
    err = (recalled - values).norm(dim=-1) / values.norm(dim=-1)
    return err.detach().double().cpu().numpy()


def _seeded(seed: int, build: Callable[[], Any]) -> Any:
    """Build something that draws from torch's global RNG with ``seed``, leaving that RNG as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def _check_rule(rule: Any, allowed: Sequence[str] = RULES) -> str:
    if rule not in allowed:
        raise ValueError(f"rule must be one of {tuple(allowed)}, got {rule!r}.")
    return rule


def _check_number(name: str, value: Any, low: float, high: float, *, high_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}.")
    if value < low or value > high or (high_open and value == high):
        interval = f"[{low}, {high})" if high_open else f"[{low}, {high}]"
        raise ValueError(f"{name} must lie in {interval}, got {value!r}.")
    return float(value)


def _write_and_recall(memory, keys: torch.Tensor, values: torch.Tensor, **gates: Any) -> np.ndarray:
    """Write the pairs in order (one step each), then read every key: relative errors per pair."""
    with torch.no_grad():
        _, state = memory(keys, keys, values, **gates)
        return _relative_errors(memory.recall(state, keys), values)


# ---------------------------------------------------------------------------------------------
# Notebook 01: the retrieval explorer


def _titans_memory(dim: int, seed: int, *, chunk_size: int = 1, hidden: int | None = None) -> TitansMemory:
    # depth 2, no residual: the values are unrelated to the keys, so "output = key" is no prior.
    return _seeded(seed, lambda: TitansMemory(dim, dim, chunk_size=chunk_size, depth=2,
                                              hidden=hidden, residual=False))


def retrieval_errors(n_pairs: int, correlation: float, step: float, rule: str, *, dim: int = 32,
                     alpha: float = 1.0, seed: int = 0) -> np.ndarray:
    """Per-pair retrieval error after writing ``n_pairs`` pairs into one memory (notebook 01).

    The pairs come from :func:`hope_lite.data.make_kv_pairs` (keys with pairwise cosine
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
    _check_rule(rule)
    step = _check_number("step", step, 0.0, math.inf)
    alpha = _check_number("alpha", alpha, 0.0, 1.0)
    keys, values = make_kv_pairs(n_pairs, dim, correlation=correlation, seed=seed)
    if rule == "hebbian":
        return _write_and_recall(HebbianMemory(dim, dim), keys, values, eta=step, alpha=alpha)
    if rule == "delta":
        return _write_and_recall(DeltaRuleMemory(dim, dim), keys, values, eta=step, alpha=alpha)
    memory = _titans_memory(dim, seed)
    return _write_and_recall(memory, keys, values, theta=step, eta=0.0, alpha=1.0 - alpha)


def render_retrieval(n_pairs: int, correlation: float, step: float, rule: str, *, dim: int = 32,
                     alpha: float = 1.0, seed: int = 0, errors: np.ndarray | None = None):
    """Bar chart of :func:`retrieval_errors`, oldest to newest pair (notebook 01, the live explorer).

    Same arguments as :func:`retrieval_errors`; ``errors`` may pass its result to skip recomputing.
    Static preview: ``figures/01-retrieval-explorer.png``; widget: ``hope_lite.widgets.explore_associative_memory``.
    """
    from matplotlib.ticker import MaxNLocator

    if errors is None:
        errors = retrieval_errors(n_pairs, correlation, step, rule, dim=dim, alpha=alpha, seed=seed)
    errors = np.asarray(errors, dtype=float)
    if errors.shape != (n_pairs,):
        raise ValueError(f"errors must have shape ({n_pairs},), got {errors.shape}.")
    finite = np.isfinite(errors)
    shown = np.where(finite, errors, 0.0)
    top = float(shown.max()) if n_pairs else 0.0
    # no constrained layout and one LineCollection for the bars: the explorer re-draws in ~0.2 s
    width_in, left, right = 7.5, 0.085, 0.985
    fig, ax = _new_figure(width_in, 3.4)
    fig.subplots_adjust(left=left, right=right, bottom=0.14, top=0.85)
    x = np.arange(1, n_pairs + 1)
    bar_pt = 0.8 * (right - left) * width_in * 72 / (n_pairs + 0.4)
    ax.vlines(x, 0, shown, colors=COLORS[rule], linewidth=min(bar_pt, 40), alpha=0.85, capstyle="butt")
    ax.axhline(1.0, color="0.35", lw=1, ls="--", label="empty memory (recalls 0)")
    if finite.all():
        ax.axhline(errors.mean(), color="black", lw=1.2, label=f"mean = {errors.mean():.3f}")
    else:
        ax.text(0.5, 0.5, "the memory diverged (inf / NaN): lower the step", transform=ax.transAxes,
                ha="center", va="center", fontsize=12, color="#b2182b")
    ax.legend(fontsize=8, loc="upper left", framealpha=0.9)
    ax.set_xlim(0.3, n_pairs + 0.7)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, max(1.45, 1.25 * top))
    ax.set_xlabel("pair (oldest → newest)")
    ax.set_ylabel("relative error |M(k) − v| / |v|")
    step_name = "θ" if rule == "titans" else "η"
    ax.set_title(f"{rule}: {n_pairs} pair{'s' if n_pairs != 1 else ''} in d = {dim}, key cosine {correlation:.2f}, "
                 f"{step_name} = {step:.2f}, retention {alpha:.2f}\n"
                 f"mean retrieval error = {errors.mean():.4f}", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    return _finish(fig)


# ---------------------------------------------------------------------------------------------
# Notebook 01: capacity, interference, forgetting


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


def render_capacity(sweep: dict | None = None, **params: Any):
    """Capacity curves: error vs number of pairs, Hebbian vs delta (notebook 01, §2; ``01-capacity.png``).

    Pass the result of :func:`capacity_sweep`, or its parameters to compute it here.
    """
    sweep = capacity_sweep(**params) if sweep is None else sweep
    dim, ns = sweep["dim"], sweep["n"]
    fig, ax = _new_figure(7.5, 3.6, layout="constrained")
    for rule in ("hebbian", "delta"):
        ax.plot(ns, sweep[(rule, "orthogonal")], color=COLORS[rule], lw=2,
                label=f"{rule}, orthogonal keys while n ≤ d")
        ax.plot(ns, sweep[(rule, "random")], color=COLORS[rule], lw=1.5, ls=":",
                label=f"{rule}, random keys")
    ax.axvline(dim, color="0.3", lw=1, ls="--")
    ax.text(dim, 0.98, "  n = d", transform=ax.get_xaxis_transform(), va="top", fontsize=9, color="0.3")
    ax.axhline(1.0, color="0.6", lw=0.8)
    ax.set_xlabel(f"number of pairs n written into a {dim}×{dim} matrix memory")
    ax.set_ylabel("mean relative recall error")
    ax.set_title("Capacity: d orthogonal pairs fit exactly; past n = d every memory interferes", fontsize=10)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    return _finish(fig)


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


def render_interference(sweep: dict | None = None, **params: Any):
    """Interference vs key correlation (notebook 01, §2; ``01-interference.png``)."""
    sweep = interference_sweep(**params) if sweep is None else sweep
    cs = sweep["correlation"]
    fig, ax = _new_figure(7.5, 3.6, layout="constrained")
    ax.plot(cs, sweep["hebbian"], "o-", color=COLORS["hebbian"], label="hebbian (linear attention)")
    ax.plot(cs, sweep["hebbian_theory"], "--", color=COLORS["hebbian"], lw=1,
            label="hebbian estimate c·√(n−1)")
    ax.plot(cs, sweep["delta"], "s-", color=COLORS["delta"], label="delta rule")
    ax.axhline(1.0, color="0.6", lw=0.8)
    ax.set_xlabel("pairwise cosine of the keys")
    ax.set_ylabel("mean relative recall error")
    ax.set_title(f"Interference: {sweep['n_pairs']} pairs in d = {sweep['dim']}; "
                 "the delta rule erases before it writes", fontsize=10)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    return _finish(fig)


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


def render_forgetting(curves: dict | None = None, **params: Any):
    """Forgetting with retention alpha, Hebbian and delta side by side (notebook 01, §2; ``01-forgetting.png``)."""
    from matplotlib.colors import to_rgb

    curves = forgetting_curves(**params) if curves is None else curves
    n, alphas = curves["n_pairs"], curves["alphas"]
    fig, axes = _new_figure(9.0, 3.5, ncols=2, sharey=True, layout="constrained")
    x = np.arange(1, n + 1)
    shades = np.linspace(1.0, 0.35, len(alphas))
    styles = ["-", "--", ":", "-."]
    for ax, rule in zip(axes, ("hebbian", "delta")):
        base = np.array(to_rgb(COLORS[rule]))
        for i, (a, s) in enumerate(zip(alphas, shades)):
            err = curves[(rule, float(a))]
            ax.plot(x, err, color=tuple(base * s), lw=1.7, ls=styles[i % len(styles)],
                    label=f"α = {a:g}  (mean {err.mean():.2f})")
        ax.axhline(1.0, color="0.6", lw=0.8)
        ax.set_title(f"{rule}: {n} pairs in d = {curves['dim']}", fontsize=10)
        ax.set_xlabel("pair (oldest → newest)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower left")
    axes[0].set_ylabel("relative recall error")
    axes[0].set_ylim(bottom=0)
    fig.suptitle("Forgetting gate: retention α < 1 fades old pairs and frees room for new ones", fontsize=10)
    return _finish(fig)


# ---------------------------------------------------------------------------------------------
# Notebook 01: deep vs matrix memory


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
        after each pass), ``"floor"``, and the parameter counts ``"deep_params"``, ``"matrix_params"``.
    """
    if isinstance(passes, bool) or not isinstance(passes, int) or passes < 1:
        raise ValueError(f"passes must be an int >= 1, got {passes!r}.")
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
            "floor": float(floor), "dim": dim, "n_pairs": n_pairs, "hidden": hidden,
            "deep_params": sum(w.numel() for w in deep.initial_weights), "matrix_params": dim * dim}


def render_deep_vs_matrix(result: dict | None = None, **params: Any):
    """Error vs passes for the deep and the matrix memory (notebook 01, §4; ``01-deep-vs-matrix.png``)."""
    r = deep_vs_matrix(**params) if result is None else result
    fig, ax = _new_figure(7.5, 3.6, layout="constrained")
    ax.plot(r["passes"], r["deep"], color=COLORS["titans"], lw=2,
            label=f"deep memory (Titans MLP {r['dim']}→{r['hidden']}→{r['dim']}, {r['deep_params']} weights)")
    ax.plot(r["passes"], r["matrix"], color=COLORS["delta"], lw=2,
            label=f"matrix memory (delta rule, {r['matrix_params']} weights)")
    ax.axhline(r["floor"], color=COLORS["floor"], ls="--", lw=1,
               label=f"best possible matrix (least squares) = {r['floor']:.2f}")
    ax.set_xscale("log")
    ax.set_xlabel("passes over the same pairs (log scale)")
    ax.set_ylabel("mean relative recall error")
    ax.set_title(f"{r['n_pairs']} pairs in d = {r['dim']}, past a matrix's capacity, written again and again",
                 fontsize=10)
    ax.set_ylim(0, max(1.1, float(max(r["deep"].max(), r["matrix"].max())) * 1.05))
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(alpha=0.3, which="both")
    return _finish(fig)


# ---------------------------------------------------------------------------------------------
# Notebook 00: the level diagram


def _describe_clock(level: Level) -> str:
    unit = "token" if level.clock == "tokens" else "optimizer step"
    if level.period == 1:
        return f"updates every {unit}   (f = 1 per {level.clock[:-1]})"
    return f"updates every {level.period} {unit}s   (f = 1/{level.period} per {level.clock[:-1]})"


def render_levels(levels: Sequence[Level], *, title: str | None = None):
    """The nested-level diagram of a model + optimizer, fastest level on top (notebooks 00 and 01).

    Draw it from real objects: ``render_levels(levels_of(model, optimizer))``. Each box shows the
    level's name, its clock and period, its context flow, its objective and its update rule.
    Static preview: ``figures/00-levels.png``.
    """
    levels = list(levels)
    if not levels:
        raise ValueError("render_levels needs at least one Level; levels_of(model, optimizer) found none.")
    if not all(isinstance(lv, Level) for lv in levels):
        raise ValueError("render_levels takes hope_lite.levels.Level objects, e.g. from levels_of(...).")
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    box_h, gap = 1.1, 0.35
    height = len(levels) * (box_h + gap) + 0.3
    fig, ax = _new_figure(9.0, 0.9 + 0.95 * height)
    ax.set_xlim(0, 10)
    ax.set_ylim(0, height)
    ax.axis("off")
    fill = {"tokens": "#e8f1fb", "steps": "#fdf0e2"}
    edge = {"tokens": "#3b78c2", "steps": "#d9822b"}
    wrap = lambda s, w: "\n".join(textwrap.wrap(s, w)) if s else "—"  # noqa: E731
    for i, lv in enumerate(levels):
        top = height - 0.15 - i * (box_h + gap)
        y0 = top - box_h
        ax.add_patch(FancyBboxPatch((1.0, y0), 8.9, box_h, boxstyle="round,pad=0.02,rounding_size=0.12",
                                    fc=fill[lv.clock], ec=edge[lv.clock], lw=1.5))
        ax.text(1.2, top - 0.12, f"level {i + 1}: {lv.qualified_name}", fontsize=11, fontweight="bold",
                va="top", ha="left")
        ax.text(9.75, top - 0.12, _describe_clock(lv),
                fontsize=9, va="top", ha="right", color=edge[lv.clock])
        body = (f"context flow: {wrap(lv.context_flow, 90)}\n"
                f"objective:     {wrap(lv.objective, 90)}\n"
                f"update:        {wrap(lv.update_rule, 90)}")
        ax.text(1.2, top - 0.45, body, fontsize=8.5, va="top", ha="left", family="monospace", linespacing=1.35)
        if i < len(levels) - 1:
            ax.add_patch(FancyArrowPatch((5.45, y0 - 0.02), (5.45, y0 - gap + 0.02), arrowstyle="-|>",
                                         mutation_scale=12, color="0.45", lw=1))
    ax.add_patch(FancyArrowPatch((0.45, height - 0.2), (0.45, 0.2), arrowstyle="-|>", mutation_scale=16,
                                 color="0.3", lw=1.5))
    ax.text(0.25, height / 2, "update frequency: faster → slower", rotation=90, va="center", ha="center",
            fontsize=9, color="0.3")
    ax.set_title(title or "Levels of a nested system, fastest first (from levels_of)", fontsize=11)
    fig.subplots_adjust(left=0.01, right=0.99, top=0.93, bottom=0.01)
    return _finish(fig)


# ---- notebook 02: nested optimization ----
# Momentum's short memory, a tiny sequence model trained under an UpdateRecorder, and the update
# timeline drawn from the recorded events (paper_spec §2.2; notebook 02).

__all__ += [
    "momentum_share", "momentum_horizon", "momentum_impulse_weights", "render_momentum_memory",
    "running_mean_task", "NestedToyModel", "NESTED_OPTIMIZERS", "NESTED_MEMORIES", "make_nested_optimizer",
    "nested_training_run", "update_timeline", "render_update_timeline", "NESTED_EXPLORER_DEFAULTS",
]


def _nested_check_beta(beta: Any) -> float:
    return _check_number("beta", beta, 0.0, 1.0, high_open=True)


def momentum_share(beta: float, k: int) -> float:
    """Share of the momentum's weight carried by the last ``k`` gradients, the current one included.

    The momentum m_t = beta m_{t-1} + g_t unrolls to m_t = sum_j beta^j g_{t-j}: the gradient j steps
    back has weight beta^j, all of them together 1 / (1 - beta) (after many steps). The last k carry
    (1 - beta^k) of it (paper_spec §2.2: "momentum has a short memory"; notebook 02, §2).
    """
    beta = _nested_check_beta(beta)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
        raise ValueError(f"k must be an int >= 0, got {k!r}.")
    return 1.0 - beta ** int(k)


def momentum_horizon(beta: float, share: float) -> int:
    """The fewest recent gradients (current one included) that carry at least ``share`` of the weight.

    >>> momentum_horizon(0.9, 0.5), momentum_horizon(0.9, 0.99)
    (7, 44)

    i.e. with beta = 0.9 the current gradient and the 6 before it carry half the momentum, the
    current one and the 43 before it 99 % (the paper's "~6" and "~43" past gradients).
    """
    beta = _nested_check_beta(beta)
    share = _check_number("share", share, 0.0, 1.0, high_open=True)
    if share == 0.0:
        return 0
    if beta == 0.0:
        return 1
    k = max(1, math.ceil(math.log1p(-share) / math.log(beta)))
    while k > 1 and momentum_share(beta, k - 1) >= share:   # guard the float rounding of the log ratio
        k -= 1
    while momentum_share(beta, k) < share:
        k += 1
    return k


def momentum_impulse_weights(beta: float, n: int) -> np.ndarray:
    """The weight a real :class:`~hope_lite.optim.MomentumSGD` gives to each of its last ``n`` gradients.

    Measured, not computed from the formula: a parameter of ``n`` coordinates receives the one-hot
    gradient e_i at step i (i = 1..n), so after n steps coordinate i of the momentum holds the weight
    of the gradient of step i. Returned newest first: entry j is the weight of the gradient j steps
    back (= beta^j).
    """
    from .optim import MomentumSGD

    beta = _nested_check_beta(beta)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an int >= 1, got {n!r}.")
    p = torch.zeros(n, dtype=torch.float64, requires_grad=True)
    opt = MomentumSGD([p], lr=0.0, momentum=beta)             # lr = 0: watch the memory, leave p alone
    for i in range(n):
        p.grad = torch.nn.functional.one_hot(torch.tensor(i), n).to(torch.float64)
        opt.step()
    return opt.state[p]["momentum"].flip(0).numpy().copy()


def render_momentum_memory(beta: float = 0.9, *, n: int = 60, betas: Sequence[float] = (0.5, 0.9, 0.99)):
    """Momentum is a short memory of gradients (notebook 02, §2; ``02-momentum-memory.png``).

    Left: the weight of each past gradient in a real ``MomentumSGD`` (measured with one-hot
    gradients, :func:`momentum_impulse_weights`), as a share of the total, with the gradients that
    carry 50 % and 99 % of it marked. Right: the share carried by the last k gradients for several beta.
    """
    beta = _nested_check_beta(beta)
    measured = momentum_impulse_weights(beta, max(n, 400))
    share = measured / measured.sum()
    k50, k99 = momentum_horizon(beta, 0.5), momentum_horizon(beta, 0.99)
    fig, (ax, ax2) = _new_figure(10.0, 3.7, ncols=2, layout="constrained",
                                 gridspec_kw={"width_ratios": [1.35, 1]})
    j = np.arange(n)
    color = np.where(j < k50, "#08519c", np.where(j < k99, "#6baed6", "#c6dbef"))
    ax.bar(j, 100 * share[:n], width=0.85, color=color)
    ax.plot(j, 100 * (1 - beta) * beta ** j, color="black", lw=1, ls="--", label=r"$(1-\beta)\,\beta^j$")
    ax.set_xlabel("gradient j steps back (0 = the current gradient)")
    ax.set_ylabel("share of the momentum's weight (%)")
    ax.set_title(f"β = {beta:g}: the last {k50} gradients carry 50 %, the last {k99} carry 99 %",
                 fontsize=10)
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(color="#08519c", label=f"last {k50}: ≥ 50 %"),
                       Patch(color="#6baed6", label=f"last {k99}: ≥ 99 %"),
                       Patch(color="#c6dbef", label="the rest: < 1 %"),
                       ax.get_lines()[0]], fontsize=8, loc="upper right")
    ax.set_xlim(-0.7, n - 0.3)
    ax.grid(axis="y", alpha=0.3)
    ks = np.unique(np.geomspace(1, 400, 120).round().astype(int))
    for b, ls in zip(betas, ["-", "--", ":", "-."]):
        ax2.plot(ks, [100 * momentum_share(float(b), int(k)) for k in ks], lw=1.8, ls=ls,
                 color="#08519c" if b == beta else "0.45", label=f"β = {b:g}")
    for level, k in ((50, k50), (99, k99)):
        ax2.axhline(level, color="0.7", lw=0.8)
        ax2.plot([k], [100 * momentum_share(beta, k)], "o", color="#08519c", ms=5)
        ax2.annotate(f"k = {k}", (k, level), xytext=(6, -14), textcoords="offset points", fontsize=8,
                     color="#08519c")
    ax2.set_xscale("log")
    ax2.set_xlim(1, 400)
    ax2.set_ylim(0, 103)
    ax2.set_xlabel("k most recent gradients (log scale)")
    ax2.set_ylabel("share they carry (%)")
    ax2.set_title(r"share of the last k gradients: $1 - \beta^k$", fontsize=10)
    ax2.legend(fontsize=8, loc="lower right")
    ax2.grid(alpha=0.3)
    return _finish(fig)


# -- a tiny sequence model trained by a deep optimizer, under a recorder -------------------------

NESTED_OPTIMIZERS = ("MomentumSGD", "PreconditionedMomentum", "DeltaMomentum", "DeepMomentum", "Muon", "M3")
NESTED_MEMORIES = ("hebbian", "delta", "titans")


def running_mean_task(batch: int = 4, tokens: int = 16, width: int = 16, *, seed: int = 0):
    """Sequences x (batch, tokens, width) and targets y_t = mean(x_1..x_t): a task that needs the context.

    A model can only predict the average of the tokens so far by remembering them, so its
    in-context memory has work to do. Seeded, independent of torch's global RNG.
    """
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, tokens, width, generator=gen)
    y = torch.cumsum(x, dim=1) / torch.arange(1, tokens + 1, dtype=x.dtype)[:, None]
    return x, y


class NestedToyModel(torch.nn.Module):
    """A memory block (:class:`~hope_lite.memory.MemoryBlock`) with a residual and a linear head.

    ``y = head(x + block(x))``: the smallest model with three kinds of level: the block's memory
    (token clock), the optimizer's state and the weights (step clock). Notebook 02, §3-5.
    """

    def __init__(self, memory: str = "hebbian", width: int = 16, heads: int = 2, chunk_size: int = 4) -> None:
        from .memory import MemoryBlock

        super().__init__()
        _check_rule(memory, NESTED_MEMORIES)
        self.block = MemoryBlock(memory, width, heads, chunk_size)
        self.head = torch.nn.Linear(width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x + self.block(x))                       # (B, T, C)


def make_nested_optimizer(name: str, params: Any, *, period: int = 4):
    """One of the deep optimizers of :mod:`hope_lite.optim`, with a learning rate that suits the toy model.

    ``period`` is the slow level's period where there is one: M3's ``slow_period`` and
    DeepMomentum's ``period``; the other optimizers ignore it. M3 divides a Newton-Schulz output
    (entries of size ~1/sqrt(width), whatever the gradient) by sqrt(V): coordinates with tiny
    gradients would take huge steps (with the default eps = 1e-8 the toy model diverges), so it gets
    eps = 1e-2 here.
    """
    from . import optim

    if name not in NESTED_OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {NESTED_OPTIMIZERS}, got {name!r}.")
    if isinstance(period, bool) or not isinstance(period, int) or period < 1:
        raise ValueError(f"period must be an int >= 1, got {period!r}.")
    build = {
        "MomentumSGD": lambda: optim.MomentumSGD(params, lr=0.05, momentum=0.9),
        "PreconditionedMomentum": lambda: optim.PreconditionedMomentum(params, lr=3e-3, momentum=0.9),
        "DeltaMomentum": lambda: optim.DeltaMomentum(params, lr=0.05, momentum=0.9),
        "DeepMomentum": lambda: optim.DeepMomentum(params, lr=0.05, period=period),
        "Muon": lambda: optim.Muon(params, lr=0.02),
        "M3": lambda: optim.M3(params, lr=3e-4, eps=1e-2, slow_period=period),
    }
    return build[name]()


def nested_training_run(optimizer: str = "M3", *, memory: str = "titans", period: int = 4, chunk: int = 4,
                        steps: int = 12, tokens: int = 16, width: int = 16, heads: int = 2, batch: int = 4,
                        seed: int = 0) -> dict[str, Any]:
    """Train a :class:`NestedToyModel` for ``steps`` steps on :func:`running_mean_task`, recording every update.

    One forward pass over ``batch`` sequences of ``tokens`` tokens per optimizer step, all inside
    ``UpdateRecorder(model, optimizers=[opt])`` (notebook 02, §4-5).

    If the loss or a weight stops being finite, training stops there (``"diverged"`` is True and
    ``"losses"`` is shorter than ``steps``), so that an explorer shows it rather than raising.

    Returns:
        dict with ``"model"``, ``"optimizer"``, ``"recorder"``, ``"levels"`` (``levels_of(model,
        optimizer)``), ``"losses"`` (one per step), ``"counts"`` (``recorder.counts()``),
        ``"diverged"`` and the settings.
    """
    from .levels import UpdateRecorder, levels_of

    for name, value, low in (("steps", steps, 1), ("tokens", tokens, 1), ("chunk", chunk, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an int >= {low}, got {value!r}.")
    model = _seeded(seed, lambda: NestedToyModel(memory, width, heads, chunk))
    opt = make_nested_optimizer(optimizer, model.parameters(), period=period)
    x, y = running_mean_task(batch, tokens, width, seed=seed)
    recorder = UpdateRecorder(model, optimizers=[opt])
    losses, diverged = [], False
    with recorder:
        for _ in range(steps):
            opt.zero_grad()
            loss = (model(x) - y).pow(2).mean()
            if not torch.isfinite(loss):
                diverged = True
                break
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if not all(torch.isfinite(p).all() for p in model.parameters()):
                diverged = True
                break
    return {"model": model, "optimizer": opt, "recorder": recorder, "levels": levels_of(model, opt),
            "losses": np.array(losses), "counts": recorder.counts(), "diverged": diverged,
            "optimizer_name": optimizer, "memory": memory, "period": period, "chunk": chunk, "steps": steps,
            "tokens": tokens}


# -- the update timeline: drawn from recorded events only ---------------------------------------


def update_timeline(recorder: Any, *, tokens_per_step: int | None = None) -> dict[str, dict[str, Any]]:
    """Where each recorded update sits on one time axis measured in optimizer steps (notebook 02, §4).

    Step-clock events (weights, optimizer state) sit at their step number s = 1, 2, ...
    Token-clock events (in-context memories) are logged per forward call with their token
    position t; the events of the i-th call (i = 0, 1, ...) belong to the forward pass that
    produced the gradient of step i + 1, so they are placed inside that step at
    ``i + (t + 1) / tokens_per_step``. That needs one forward pass per step (the usual training
    loop); ``tokens_per_step`` defaults to the largest recorded position + 1.

    Args:
        recorder: an :class:`~hope_lite.levels.UpdateRecorder` after a run.
        tokens_per_step: tokens of one forward pass (sequence length), if not inferable.

    Returns:
        ``{level name: {"clock", "times" (raw clock times), "x" (position in steps), "count",
        "gap" (median clock ticks between updates, or None), "calls"}}`` in recording order.
    """
    if not hasattr(recorder, "events"):
        raise ValueError(f"update_timeline takes an UpdateRecorder, got {type(recorder).__name__}.")
    events = recorder.events
    step_times = [ev.all_times() for ev in events.values() if ev.clock == "steps"]
    n_steps = int(max((t.max() for t in step_times if t.size), default=0))
    token_levels = [ev for ev in events.values() if ev.clock == "tokens"]
    if tokens_per_step is None:
        top = [int(c.max()) for ev in token_levels for c in ev.times if c.size]
        tokens_per_step = max(top) + 1 if top else 1
    elif isinstance(tokens_per_step, bool) or not isinstance(tokens_per_step, int) or tokens_per_step < 1:
        raise ValueError(f"tokens_per_step must be an int >= 1, got {tokens_per_step!r}.")
    out: dict[str, dict[str, Any]] = {}
    for name, ev in events.items():
        times = ev.all_times()
        if ev.clock == "steps":
            x = times.astype(float)
            gaps = np.diff(np.sort(times))
        else:
            calls = len(ev.times)
            if n_steps and calls not in (n_steps, n_steps + 1):   # + 1: a last pass whose step never came
                raise ValueError(
                    f"level {name!r} logged {calls} forward passes but the optimizer took {n_steps} steps; "
                    "update_timeline places token events inside steps, so it needs one forward pass per step "
                    "(run evaluation passes outside the recorder).")
            x = np.concatenate([i + (c.astype(float) + 1) / tokens_per_step for i, c in enumerate(ev.times)]) \
                if calls else np.zeros(0)
            gaps = np.concatenate([np.diff(np.sort(c)) for c in ev.times]) if calls else np.zeros(0)
            if not gaps.size and calls > 1 and all(c.size == 1 for c in ev.times):
                gaps = np.array([tokens_per_step])            # one update per pass
        out[name] = {"clock": ev.clock, "times": times, "x": x, "count": int(times.size),
                     "gap": int(np.median(gaps)) if gaps.size else None, "calls": len(ev.times)}
    out["__meta__"] = {"steps": n_steps, "tokens_per_step": tokens_per_step}
    return out


def _nested_every(gap: int | None, clock: str) -> str:
    unit = "token" if clock == "tokens" else "step"
    if gap is None:
        return "—"
    return f"every {unit}" if gap == 1 else f"every {gap} {unit}s"


def render_update_timeline(source: Any, levels: Sequence[Level] | None = None, *,
                           tokens_per_step: int | None = None, title: str | None = None):
    """The recorded updates of every level on one time axis, fastest level on top (notebook 02, §4-5).

    Built only from recorded events: ``source`` is an :class:`~hope_lite.levels.UpdateRecorder`
    after a run (or the result of :func:`update_timeline`). One row per level, one tick per
    recorded update (each tick is one entry of ``recorder.times(level)``); token-clock updates are
    drawn inside the step whose forward pass made them. ``levels`` (from ``levels_of(model,
    optimizer)``) orders the rows and adds each level's *declared* period next to the *recorded*
    one; without it rows are ordered by clock, then by how often they updated.
    Static preview: ``figures/02-update-timeline.png``.
    """
    data = update_timeline(source, tokens_per_step=tokens_per_step) if hasattr(source, "events") else source
    if not isinstance(data, dict) or "__meta__" not in data:
        raise ValueError("render_update_timeline takes an UpdateRecorder or the dict of update_timeline(...).")
    meta = data["__meta__"]
    names = [n for n in data if n != "__meta__"]
    if levels is not None and not all(isinstance(lv, Level) for lv in levels):
        raise ValueError("levels must be hope_lite.levels.Level objects, e.g. from levels_of(model, optimizer).")
    declared = {lv.qualified_name: lv for lv in (levels or [])}
    if declared:
        order = [n for n in declared] + [n for n in names if n not in declared]
    else:
        order = sorted(names, key=lambda n: (data[n]["clock"] != "tokens", -data[n]["count"]))
    if not order:
        raise ValueError("nothing to draw: the recorder holds no events and no levels were given.")
    n_steps = max(int(meta["steps"]), max((float(np.max(data[n]["x"])) for n in names if data[n]["count"]),
                                          default=1.0))
    n_steps = int(math.ceil(n_steps))
    rows = len(order)
    height = 1.05 + 0.6 * rows
    fig, ax = _new_figure(10.0, height)
    fig.subplots_adjust(left=0.19, right=0.755, top=1 - 0.38 / height, bottom=0.6 / height)
    edge = {"tokens": "#3b78c2", "steps": "#d9822b"}
    for s in range(n_steps):
        if s % 2:
            ax.axvspan(s, s + 1, color="0.94", lw=0, zorder=0)
    for row, name in enumerate(order):
        y = rows - 1 - row
        entry = data.get(name)
        lv = declared.get(name)
        clock = entry["clock"] if entry else lv.clock
        x = entry["x"] if entry else np.zeros(0)
        coll = ax.eventplot([x], lineoffsets=[y], linelengths=0.62, colors=[edge[clock]],
                            linewidths=1.0 if clock == "tokens" else 2.2)[0]
        coll.set_label(name)
        count = entry["count"] if entry else 0
        recorded = _nested_every(entry["gap"], clock) if entry else "—"
        note = f"{count} update{'s' if count != 1 else ''}, recorded {recorded}"
        if lv is not None:
            want = _nested_every(lv.period, lv.clock)
            ok = entry is not None and entry["gap"] == lv.period
            note += f"\ndeclared {want}" + ("  ✓" if ok else ("" if count < 2 else "  ✗"))
        ax.text(1.015, y, note, transform=ax.get_yaxis_transform(), va="center", ha="left", fontsize=8.5,
                color="0.2")

    def label(name: str) -> str:
        clock = data[name]["clock"] if name in data else declared[name].clock
        owner, _, level = name.rpartition(".")
        return f"{level}\n{owner + ' · ' if owner else ''}{clock} clock"

    ax.set_yticks(range(rows))
    ax.set_yticklabels([label(n) for n in reversed(order)], fontsize=8.5)
    ax.set_ylim(-0.6, rows - 0.4)
    ax.set_xlim(0, n_steps + 0.12)
    ax.set_xticks(range(0, n_steps + 1))
    ax.tick_params(axis="x", labelsize=8)
    ax.set_xlabel(f"optimizer step   (a token-clock update at position t of the step's forward pass is drawn at "
                  f"step − 1 + (t+1)/{meta['tokens_per_step']})", fontsize=8.5)
    ax.set_title(title or "Recorded updates of every level (UpdateRecorder), fastest level on top", fontsize=10)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return _finish(fig)


# default setting of hope_lite.widgets.explore_nested_levels (also its static preview)
NESTED_EXPLORER_DEFAULTS = {"optimizer": "DeepMomentum", "memory": "titans", "period": 3, "chunk": 8, "steps": 12}


def _nested_timeline_figure(title: str | None = None, **settings: Any):
    run = nested_training_run(**settings)
    return render_update_timeline(run["recorder"], run["levels"], title=title)


def _linear_attention_levels():
    """The example of notebook 02, §3: a Hebbian (linear-attention) block + head, trained by MomentumSGD."""
    from .levels import levels_of

    model = _seeded(0, lambda: NestedToyModel("hebbian", 16, 2, 4))
    return levels_of(model, make_nested_optimizer("MomentumSGD", model.parameters()))


# ---- end of notebook 02 ----


# ---- notebook 03: deep optimizers ----
# The toy landscape with the optimizers' trajectories, Newton-Schulz as an inner optimisation,
# and training curves with step times. The numbers come from hope_lite.experiments (one source
# of truth); these functions only draw them (notebook 03).

__all__ += [
    "OPTIMIZER_COLORS", "render_landscape", "render_landscape_runs", "newton_schulz_curves",
    "render_newton_schulz", "render_training_runs", "render_m3_readings", "LANDSCAPE_EXPLORER_DEFAULTS",
    "landscape_controls", "landscape_hparams",
]

OPTIMIZER_COLORS = {
    "sgd": "#888888", "momentum": "#1f77b4", "preconditioned": "#17becf", "delta": "#d62728",
    "dmgd": "#9467bd", "muon": "#2ca02c", "m3": "#ff7f0e", "adamw": "#8c564b", "dgd": "#e377c2",
}
_LANDSCAPE_VIEW = (-1.7, 3.1, -1.7, 2.7)       # r_min, r_max, theta_min, theta_max


def _draw_landscape(ax, constants: dict | None = None, *, view: Sequence[float] = _LANDSCAPE_VIEW) -> None:
    """Contour lines of psi (log-spaced levels), the valley floor and the minimum."""
    from .experiments import landscape

    constants = constants or {}
    r = np.linspace(view[0], view[1], 200)
    th = np.linspace(view[2], view[3], 200)
    R, TH = np.meshgrid(r, th)
    Z = landscape(R, TH, **constants)
    ax.contour(R, TH, np.log10(Z + 1e-12), levels=np.arange(-1.5, 2.6, 0.5), colors="0.7", linewidths=0.6)
    from .experiments import LANDSCAPE

    a, omega = constants.get("a", LANDSCAPE["a"]), constants.get("omega", LANDSCAPE["omega"])
    ax.plot(r, r + a * np.sin(omega * r), color="0.45", lw=0.8, ls=(0, (4, 3)))
    ax.plot([0], [0], marker="*", ms=11, color="black", zorder=5)
    ax.set_xlim(view[0], view[1])
    ax.set_ylim(view[2], view[3])
    ax.set_aspect("equal")


def _describe_hparams(hparams: dict) -> str:
    def fmt(v: Any) -> str:
        if isinstance(v, tuple):
            return "(" + ", ".join(fmt(x) for x in v) + ")"
        return f"{v:g}" if isinstance(v, float) else str(v)

    return ", ".join(f"{k} {fmt(v)}" for k, v in hparams.items())


def _steps_phrase(steps: int | None, tol: float) -> str:
    return f"ψ ≤ {tol:g} after {steps} steps" if steps is not None else f"ψ ≤ {tol:g} not reached"


def render_landscape(optimizer: str = "delta", steps: int = 400, *, trajectory: Any = None,
                     tol: float | None = None, **hparams: Any):
    """One optimizer on the toy landscape: its path on the contours and its loss per step (notebook 03, §8).

    Runs :func:`hope_lite.experiments.run_landscape` ``(optimizer, steps, **hparams)`` unless
    ``trajectory`` (its result) is given. The live explorer is :func:`hope_lite.widgets.explore_landscape`;
    static preview ``figures/03-landscape-explorer.png``.
    """
    from .experiments import LANDSCAPE_TOL, run_landscape, steps_to_tolerance

    tol = LANDSCAPE_TOL if tol is None else tol
    traj = run_landscape(optimizer, steps, **hparams) if trajectory is None else trajectory
    reached = steps_to_tolerance(traj, tol)
    color = OPTIMIZER_COLORS.get(traj.optimizer, "black")
    fig, (ax, ax2) = _new_figure(10.0, 4.3, ncols=2, gridspec_kw={"width_ratios": [1.0, 1.15]})
    fig.subplots_adjust(left=0.06, right=0.985, bottom=0.13, top=0.83, wspace=0.22)
    _draw_landscape(ax)
    pts = traj.points
    ax.plot(pts[:, 0], pts[:, 1], "-", color=color, lw=1.2, marker=".", ms=2.5)
    ax.plot(pts[:1, 0], pts[:1, 1], "o", color=color, ms=6, mfc="white", mew=1.5)
    ax.set_xlabel("r")
    ax.set_ylabel("θ")
    ax.set_title("path on ψ(r, θ) (contours: log-spaced; dashed: valley floor)", fontsize=9)
    t = np.arange(len(traj.losses))
    ax2.semilogy(t, np.maximum(traj.losses, 1e-30), color=color, lw=1.6)
    ax2.axhline(tol, color="0.3", ls="--", lw=1)
    ax2.text(0.99, tol, f" tolerance {tol:g}", transform=ax2.get_yaxis_transform(), ha="right", va="bottom",
             fontsize=8, color="0.3")
    if reached is not None:
        ax2.axvline(reached, color=color, ls=":", lw=1)
    if traj.diverged:
        ax2.text(0.5, 0.5, f"diverged after {len(traj.losses) - 1} steps: lower lr", transform=ax2.transAxes,
                 ha="center", va="center", fontsize=12, color="#b2182b")
    ax2.set_xlim(0, max(steps, 1))
    ax2.set_ylim(1e-12, 1e3)
    ax2.set_xlabel("step")
    ax2.set_ylabel("ψ (log scale)")
    ax2.grid(alpha=0.3, which="major")
    fig.suptitle(f"{traj.optimizer}: {_describe_hparams(traj.hparams)}\n"
                 f"final ψ = {traj.final_loss:.2e};  {_steps_phrase(reached, tol)}", fontsize=10)
    return _finish(fig)


def render_landscape_runs(trajectories: dict | None = None, *, steps: int = 400, tol: float | None = None):
    """Every optimizer on the toy landscape, each in its own panel, and all loss curves (notebook 03, §8).

    ``trajectories`` maps names to :class:`~hope_lite.experiments.Trajectory`; by default every
    optimizer of ``LANDSCAPE_OPTIMIZERS`` runs ``steps`` steps with its tuned settings.
    Static preview ``figures/03-landscape.png``.
    """
    from .experiments import LANDSCAPE_OPTIMIZERS, LANDSCAPE_TOL, run_landscape, steps_to_tolerance

    tol = LANDSCAPE_TOL if tol is None else tol
    if trajectories is None:
        trajectories = {name: run_landscape(name, steps) for name in LANDSCAPE_OPTIMIZERS}
    if not trajectories:
        raise ValueError("render_landscape_runs needs at least one trajectory.")
    import matplotlib.pyplot as plt

    names = list(trajectories)
    ncols = 4
    nrows = math.ceil(len(names) / ncols)
    fig = plt.figure(figsize=(10.0, 2.5 * nrows + 2.7))
    grid = fig.add_gridspec(nrows + 1, ncols, height_ratios=[1.0] * nrows + [0.95], hspace=0.38, wspace=0.1,
                            left=0.075, right=0.985, top=0.9, bottom=0.07)
    reached = {n: steps_to_tolerance(tr, tol) for n, tr in trajectories.items()}
    for i, name in enumerate(names):
        ax = fig.add_subplot(grid[i // ncols, i % ncols])
        _draw_landscape(ax)
        pts = trajectories[name].points
        color = OPTIMIZER_COLORS.get(name, "black")
        ax.plot(pts[:, 0], pts[:, 1], "-", color=color, lw=1.0)
        ax.plot(pts[:1, 0], pts[:1, 1], "o", color=color, ms=5, mfc="white", mew=1.3)
        r = reached[name]
        ax.set_title(f"{name}: " + (f"{r} steps" if r is not None else "never (" +
                                    ("diverged" if trajectories[name].diverged else
                                     f"final ψ {trajectories[name].final_loss:.0e}") + ")"), fontsize=9.5,
                     color=color)
        ax.tick_params(labelsize=7)
        if i % ncols:
            ax.set_yticklabels([])
    ax = fig.add_subplot(grid[nrows, :])
    for name in names:
        tr = trajectories[name]
        ax.semilogy(np.arange(len(tr.losses)), np.maximum(tr.losses, 1e-30), color=OPTIMIZER_COLORS.get(name, "k"),
                    lw=1.1, label=name, ls="--" if name == "muon" else "-")
    ax.axhline(tol, color="0.3", ls="--", lw=1)
    ax.set_ylim(1e-12, 1e3)
    ax.set_xlim(0, max(len(tr.losses) for tr in trajectories.values()) - 1)
    ax.set_xlabel("step")
    ax.set_ylabel("ψ (log scale)")
    ax.grid(alpha=0.3)
    ax.legend(ncol=len(names), fontsize=8, loc="upper center", bbox_to_anchor=(0.5, 1.2), frameon=False)
    fig.suptitle(f"The toy landscape ψ(r, θ) = r² + k (r − θ + a sin ωr)²  (★ minimum, ○ start, dashed: valley floor)\n"
                 f"each optimizer at its best setting of the learning-rate sweep; panel titles: steps to ψ ≤ {tol:g}",
                 fontsize=10)
    return _finish(fig)


def newton_schulz_curves(shapes: Sequence[Sequence[int]] = ((32, 32), (32, 128), (128, 32)), *,
                         max_steps: int = 20, seed: int = 0, samples: int = 3, spectrum_steps: int = 5) -> dict[str, Any]:
    """Orthogonality error vs Newton-Schulz steps, cubic and quintic, for several shapes (notebook 03, §4).

    Returns ``{"steps": 0..max_steps, "shapes": [...], (shape, coefficients): error array, "spectrum":
    {"input" | "cubic" | "quintic": singular values}, "spectrum_steps", "spectrum_shape"}``. Errors
    come from :func:`hope_lite.experiments.ns_orthogonality_error`; the spectrum is that of one
    random matrix of the first shape, normalised (where NS starts) and after ``spectrum_steps`` steps.
    """
    from .experiments import ns_orthogonality_error
    from .optim import newton_schulz

    out: dict[Any, Any] = {"steps": np.arange(max_steps + 1), "shapes": [tuple(s) for s in shapes]}
    for shape in out["shapes"]:
        for coeff in ("cubic", "quintic"):
            out[(shape, coeff)] = ns_orthogonality_error(shape, max_steps, coeff, seed=seed, samples=samples)
    G = torch.randn(*out["shapes"][0], generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    out["spectrum"] = {"input": torch.linalg.svdvals(G / G.norm()).numpy()}
    for coeff in ("cubic", "quintic"):
        out["spectrum"][coeff] = torch.linalg.svdvals(newton_schulz(G, spectrum_steps, coeff)).numpy()
    out["spectrum_steps"], out["spectrum_shape"] = spectrum_steps, out["shapes"][0]
    return out


def render_newton_schulz(curves: dict | None = None, **params: Any):
    """NS as an inner optimisation: orthogonality error per step, and the singular values it produces.

    Left: ``|O O^T - I|_F / sqrt(n)`` against NS steps for every shape, cubic (solid) and quintic
    (dashed). Right: singular values of one matrix after a few steps. Notebook 03, §4;
    ``figures/03-newton-schulz.png``.
    """
    curves = newton_schulz_curves(**params) if curves is None else curves
    fig, (ax, ax2) = _new_figure(11.0, 4.0, ncols=2, gridspec_kw={"width_ratios": [1.45, 1.0]})
    fig.subplots_adjust(left=0.07, right=0.985, bottom=0.13, top=0.83, wspace=0.25)
    palette = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e"]
    for i, shape in enumerate(curves["shapes"]):
        c = palette[i % len(palette)]
        for coeff, ls in (("cubic", "-"), ("quintic", "--")):
            ax.semilogy(curves["steps"], np.maximum(curves[(shape, coeff)], 1e-16), ls, color=c, lw=1.8,
                        marker="o" if coeff == "quintic" else None, ms=3,
                        label=f"{shape[0]}×{shape[1]}, {coeff}")
    ax.set_xlabel("Newton–Schulz steps (inner optimisation steps)")
    ax.set_ylabel("orthogonality error  ‖OOᵀ − I‖ / √n")
    ax.set_title("error per step (solid: cubic, dashed: quintic)", fontsize=9.5)
    ax.set_xticks(curves["steps"][::2])
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7.5, ncol=2, loc="lower left")
    spec, k = curves["spectrum"], curves["spectrum_steps"]
    rank = np.arange(1, len(spec["input"]) + 1)
    ax2.plot(rank, spec["input"], color="0.55", lw=1.5, label="input G/‖G‖ (where NS starts)")
    ax2.plot(rank, spec["cubic"], color="#1b9e77", lw=1.8, label=f"cubic, {k} steps")
    ax2.plot(rank, spec["quintic"], color="#1b9e77", lw=1.8, ls="--", marker="o", ms=3, label=f"quintic, {k} steps")
    ax2.axhline(1.0, color="0.3", lw=0.8, ls=":")
    ax2.set_xlabel("singular value index (largest first)")
    ax2.set_ylabel("singular value")
    r, c = curves["spectrum_shape"]
    ax2.set_title(f"singular values of one {r}×{c} matrix", fontsize=9.5)
    ax2.set_ylim(0, 1.3)
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize=7.5, loc="lower left")
    fig.suptitle("Newton–Schulz on random Gaussian matrices: the quintic (Muon's) lifts every singular value into "
                 "a band around 1 within ~5 steps but never converges;\nthe cubic converges to exactly orthogonal, "
                 "slowly where singular values are small (square matrices)", fontsize=9.5)
    return _finish(fig)


def render_training_runs(results: dict | None = None, *, model: str = "mlp", steps: int = 300, seed: int = 0):
    """Loss curves and time per step of every optimizer on one model (notebook 03, §9).

    ``results`` maps optimizer names to :class:`~hope_lite.experiments.TrainResult` (all for the
    same model); by default every optimizer of ``TRAIN_OPTIMIZERS`` is trained with its default lr.
    Static previews ``figures/03-training-mlp.png`` and ``figures/03-training-recall.png``.
    """
    from .experiments import TRAIN_OPTIMIZERS, train_with

    if results is None:
        results = {name: train_with(name, model, steps, seed=seed) for name in TRAIN_OPTIMIZERS}
    if not results:
        raise ValueError("render_training_runs needs at least one TrainResult.")
    model = next(iter(results.values())).model
    fig, (ax, ax2) = _new_figure(11.0, 4.9, ncols=2, gridspec_kw={"width_ratios": [1.7, 1.0]})
    fig.subplots_adjust(left=0.065, right=0.985, bottom=0.3, top=0.9, wspace=0.3)
    names = list(results)
    for name in names:
        r = results[name]
        label = f"{name} (lr {r.lr:g}): " + ("diverged" if r.diverged else f"{r.final_loss:.3g}")
        ax.semilogy(np.arange(1, len(r.losses) + 1), r.losses, color=OPTIMIZER_COLORS.get(name, "k"), lw=1.3,
                    label=label, ls="--" if name in ("sgd", "adamw") else "-")
    if model == "recall":
        ax.axhline(math.log(16), color="0.3", ls=":", lw=1)
        ax.text(0.99, math.log(16), "chance: ln 16 ", transform=ax.get_yaxis_transform(), ha="right", va="bottom",
                fontsize=8, color="0.3")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss (log scale)")
    ax.grid(alpha=0.3, which="major")
    low, high = ax.get_ylim()
    if high < 10 * low:                       # less than a decade: label the ticks as plain numbers
        from matplotlib.ticker import FuncFormatter

        plain = FuncFormatter(lambda v, _: f"{v:g}")
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(plain)
    ax.legend(fontsize=8, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False,
              title="optimizer (tuned lr): final training loss (mean of the last 10 % of steps)", title_fontsize=8)
    ms = [results[n].ms_per_step for n in names]
    y = np.arange(len(names))
    ax2.barh(y, ms, color=[OPTIMIZER_COLORS.get(n, "k") for n in names], alpha=0.85)
    for yi, v in zip(y, ms):
        ax2.text(v, yi, f" {v:.2f}", va="center", fontsize=8)
    ax2.set_yticks(y)
    ax2.set_yticklabels(names, fontsize=8.5)
    ax2.invert_yaxis()
    ax2.set_xlim(0, max(ms) * 1.25)
    ax2.set_xlabel("ms per step (median, 1 thread)")
    ax2.set_title("forward + backward + optimizer step", fontsize=9)
    ax2.grid(axis="x", alpha=0.3)
    what = {"mlp": "MLP regression (full batch, MSE)",
            "recall": "tiny sequence model (embedding → delta-rule MemoryBlock → head), associative recall"}[model]
    fig.suptitle(f"{what}: every optimizer at its tuned learning rate", fontsize=10)
    return _finish(fig)


def render_m3_readings(readings: dict | None = None, **params: Any):
    """M3 with moving averages ("ema") vs Algorithm 1's running sums ("sum") on the MLP (notebook 03, §6).

    Pass the result of :func:`hope_lite.experiments.m3_readings`, or its parameters.
    Three panels: training loss; the mean second moment V; the update size / lr for matrices
    (solid) and vectors (dashed).
    """
    from .experiments import m3_readings

    r = m3_readings(**params) if readings is None else readings
    fig, axes = _new_figure(11.0, 3.5, ncols=3, layout="constrained")
    colors = {"ema": "#ff7f0e", "sum": "#6a3d9a"}
    for name, rec in r.items():
        t = np.arange(1, len(rec["loss"]) + 1)
        c = colors.get(name, "k")
        axes[0].semilogy(t, rec["loss"], color=c, lw=1.6, label=f"M3, {name}")
        axes[1].semilogy(t, rec["second"], color=c, lw=1.6, label=f"{name}")
        axes[2].semilogy(t, rec["update_matrix"], color=c, lw=1.6, label=f"{name}: matrices (after NS)")
        axes[2].semilogy(t, rec["update_vector"], color=c, lw=1.3, ls="--", label=f"{name}: vectors (no NS)")
    titles = ("training loss", "mean second moment V", "update RMS / lr")
    for ax, title in zip(axes, titles):
        ax.set_title(title, fontsize=9.5)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3, which="major")
    axes[0].legend(fontsize=8)
    axes[1].legend(fontsize=8)
    top = max(float(np.max(rec["update_matrix"])) for rec in r.values())
    axes[2].set_ylim(top=30 * top)                                   # room for the legend above the curves
    axes[2].legend(fontsize=7.5, ncol=2, loc="upper center")
    fig.suptitle("M3 on the MLP, same lr: moving averages (ema) keep V bounded; running sums (Algorithm 1 as printed) "
                 "let V grow with t,\nso matrix steps shrink (like 1/√t) while vector steps (no Newton–Schulz) grow",
                 fontsize=9.5)
    return _finish(fig)


# default setting of hope_lite.widgets.explore_landscape (also its static preview)
LANDSCAPE_EXPLORER_DEFAULTS = {"optimizer": "delta", "steps": 400}


def landscape_controls(optimizer: str) -> dict[str, Any]:
    """The explorer's slider values (lr, beta, erase, period) for an optimizer's tuned landscape settings.

    ``beta`` is the optimizer's decay: momentum (momentum, preconditioned, delta, muon), beta1
    (m3, adamw) or the memory's retention (dmgd); ``period`` is DMGD's period or M3's slow period.
    """
    from .experiments import LANDSCAPE_SETTINGS, OPTIMIZERS

    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {tuple(OPTIMIZERS)}, got {optimizer!r}.")
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
    from .experiments import LANDSCAPE_SETTINGS, OPTIMIZERS

    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {tuple(OPTIMIZERS)}, got {optimizer!r}.")
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

# ---- end of notebook 03 ----


# ---------------------------------------------------------------------------------------------
# Command line: every static preview


def _index_levels():
    """The example of notebook 00: a Titans memory block trained by SGD with momentum."""
    from .memory import MemoryBlock
    from .levels import levels_of

    block = _seeded(0, lambda: MemoryBlock("titans", width=32, heads=2, chunk_size=16))
    optimizer = torch.optim.SGD(block.parameters(), lr=0.01, momentum=0.9)
    return levels_of(block, optimizer)


# default explorer setting of hope_lite.widgets (also its static preview)
EXPLORER_DEFAULTS = {"n_pairs": 24, "correlation": 0.1, "step": 1.0, "rule": "hebbian", "alpha": 1.0}

FIGURES: dict[str, Callable[[], Any]] = {
    "00-levels.png": lambda: render_levels(_index_levels(),
                                           title="Levels of a Titans memory block + SGD(momentum=0.9)"),
    "01-retrieval-explorer.png": lambda: render_retrieval(
        EXPLORER_DEFAULTS["n_pairs"], EXPLORER_DEFAULTS["correlation"], EXPLORER_DEFAULTS["step"],
        EXPLORER_DEFAULTS["rule"], alpha=EXPLORER_DEFAULTS["alpha"]),
    "01-capacity.png": lambda: render_capacity(),
    "01-interference.png": lambda: render_interference(),
    "01-forgetting.png": lambda: render_forgetting(),
    "01-deep-vs-matrix.png": lambda: render_deep_vs_matrix(),
    "02-momentum-memory.png": lambda: render_momentum_memory(),
    "02-levels-linear-attention.png": lambda: render_levels(
        _linear_attention_levels(), title="Linear attention (Hebbian memory) trained by MomentumSGD: three levels"),
    "02-update-timeline.png": lambda: _nested_timeline_figure(
        optimizer="M3", memory="titans", period=4, chunk=4, steps=12,
        title="M3 (slow period 4) training a Titans memory block (chunk 4): recorded updates"),
    "02-nested-levels-explorer.png": lambda: _nested_timeline_figure(
        **NESTED_EXPLORER_DEFAULTS, title="explore_nested_levels() at its start values: DeepMomentum (period 3), "
                                          "Titans memory (chunk 8)"),
    # notebook 03: deep optimizers
    "03-landscape.png": lambda: render_landscape_runs(),
    "03-landscape-explorer.png": lambda: render_landscape(**LANDSCAPE_EXPLORER_DEFAULTS),
    "03-newton-schulz.png": lambda: render_newton_schulz(),
    "03-training-mlp.png": lambda: render_training_runs(model="mlp"),
    "03-training-recall.png": lambda: render_training_runs(model="recall"),
    "03-m3-readings.png": lambda: render_m3_readings(),
}


def all_figures() -> dict[str, Callable[[], Any]]:
    """Every chapter's static figures: this module's (00-03) and the chapter modules' (04-05).

    Chapters 04 and 05 keep their figures next to their experiments (``viz_titans``,
    ``viz_self_modifying``); they are imported here, not at the top, so that importing
    ``hope_lite.viz`` stays light.
    """
    from . import viz_cms, viz_hope, viz_self_modifying, viz_titans

    return {**FIGURES, **viz_titans.FIGURES, **viz_self_modifying.FIGURES, **viz_cms.FIGURES, **viz_hope.FIGURES}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m hope_lite.viz",
                                description="Regenerate the static preview PNGs of the notebooks.")
    p.add_argument("--out", default="figures", help="output folder (default: figures)")
    p.add_argument("--only", default="", help="comma-separated subset of file names")
    p.add_argument("--dpi", type=int, default=110)
    args = p.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    torch.set_num_threads(1)  # tiny tensors: one thread is faster and steadier
    figures = all_figures()
    wanted = [s.strip() for s in args.only.split(",") if s.strip()] or list(figures)
    unknown = [w for w in wanted if w not in figures]
    if unknown:
        p.error(f"unknown figure(s) {unknown}; choose from {list(figures)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in wanted:
        fig = figures[name]()
        path = out / name
        # fixed metadata: the same inputs give byte-identical files
        fig.savefig(path, dpi=args.dpi, metadata={"Software": None})
        print(f"{path}  {path.stat().st_size / 1024:.0f} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
