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
    "render_levels", "EXPLORER_DEFAULTS", "FIGURES", "main",
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
}


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
    wanted = [s.strip() for s in args.only.split(",") if s.strip()] or list(FIGURES)
    unknown = [w for w in wanted if w not in FIGURES]
    if unknown:
        p.error(f"unknown figure(s) {unknown}; choose from {list(FIGURES)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in wanted:
        fig = FIGURES[name]()
        path = out / name
        # fixed metadata: the same inputs give byte-identical files
        fig.savefig(path, dpi=args.dpi, metadata={"Software": None})
        print(f"{path}  {path.stat().st_size / 1024:.0f} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
