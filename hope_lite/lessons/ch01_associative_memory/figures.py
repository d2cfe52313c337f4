"""Figures of notebook 01 (associative memory): pure functions that return a matplotlib Figure.

Each ``render_*`` draws the numbers of :mod:`.experiments` (pass them, or the parameters to
compute them here); figures are closed in pyplot before they are returned (:mod:`..plotting`).
:data:`FIGURES` maps every static preview the notebook links (``figures/01-*.png``) to the
function that draws it.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..plotting import finish, subplots
from .experiments import (RETRIEVAL_EXPLORER_DEFAULTS, capacity_sweep, deep_vs_matrix, forgetting_curves,
                          interference_sweep, retrieval_errors)

__all__ = ["RULE_COLORS", "render_retrieval", "render_capacity", "render_interference", "render_forgetting",
           "render_deep_vs_matrix", "FIGURES"]

RULE_COLORS = {"hebbian": "#d95f02", "delta": "#1b9e77", "titans": "#7570b3", "floor": "#555555"}


def render_retrieval(n_pairs: int, correlation: float, step: float, rule: str, *, dim: int = 32,
                     alpha: float = 1.0, seed: int = 0, errors: np.ndarray | None = None):
    """Bar chart of :func:`retrieval_errors`, oldest to newest pair (notebook 01, the live explorer).

    Same arguments as :func:`retrieval_errors`; ``errors`` may pass its result to skip recomputing.
    Static preview: ``figures/01-retrieval-explorer.png``; widget: :func:`.explorer.explore_associative_memory`.
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
    fig, ax = subplots(width_in, 3.4)
    fig.subplots_adjust(left=left, right=right, bottom=0.14, top=0.85)
    x = np.arange(1, n_pairs + 1)
    bar_pt = 0.8 * (right - left) * width_in * 72 / (n_pairs + 0.4)
    ax.vlines(x, 0, shown, colors=RULE_COLORS[rule], linewidth=min(bar_pt, 40), alpha=0.85, capstyle="butt")
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
    return finish(fig)


def render_capacity(sweep: dict | None = None, **params: Any):
    """Capacity curves: error vs number of pairs, Hebbian vs delta (notebook 01, §2; ``01-capacity.png``).

    Pass the result of :func:`capacity_sweep`, or its parameters to compute it here.
    """
    sweep = capacity_sweep(**params) if sweep is None else sweep
    dim, ns = sweep["dim"], sweep["n"]
    fig, ax = subplots(7.5, 3.6, layout="constrained")
    for rule in ("hebbian", "delta"):
        ax.plot(ns, sweep[(rule, "orthogonal")], color=RULE_COLORS[rule], lw=2,
                label=f"{rule}, orthogonal keys while n ≤ d")
        ax.plot(ns, sweep[(rule, "random")], color=RULE_COLORS[rule], lw=1.5, ls=":",
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
    return finish(fig)


def render_interference(sweep: dict | None = None, **params: Any):
    """Interference vs key correlation (notebook 01, §2; ``01-interference.png``)."""
    sweep = interference_sweep(**params) if sweep is None else sweep
    cs = sweep["correlation"]
    fig, ax = subplots(7.5, 3.6, layout="constrained")
    ax.plot(cs, sweep["hebbian"], "o-", color=RULE_COLORS["hebbian"], label="hebbian (linear attention)")
    ax.plot(cs, sweep["hebbian_theory"], "--", color=RULE_COLORS["hebbian"], lw=1,
            label="hebbian estimate c·√(n−1)")
    ax.plot(cs, sweep["delta"], "s-", color=RULE_COLORS["delta"], label="delta rule")
    ax.axhline(1.0, color="0.6", lw=0.8)
    ax.set_xlabel("pairwise cosine of the keys")
    ax.set_ylabel("mean relative recall error")
    ax.set_title(f"Interference: {sweep['n_pairs']} pairs in d = {sweep['dim']}; "
                 "the delta rule erases before it writes", fontsize=10)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    return finish(fig)


def render_forgetting(curves: dict | None = None, **params: Any):
    """Forgetting with retention alpha, Hebbian and delta side by side (notebook 01, §2; ``01-forgetting.png``)."""
    from matplotlib.colors import to_rgb

    curves = forgetting_curves(**params) if curves is None else curves
    n, alphas = curves["n_pairs"], curves["alphas"]
    fig, axes = subplots(9.0, 3.5, ncols=2, sharey=True, layout="constrained")
    x = np.arange(1, n + 1)
    shades = np.linspace(1.0, 0.35, len(alphas))
    styles = ["-", "--", ":", "-."]
    for ax, rule in zip(axes, ("hebbian", "delta")):
        base = np.array(to_rgb(RULE_COLORS[rule]))
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
    return finish(fig)


def render_deep_vs_matrix(result: dict | None = None, **params: Any):
    """Error vs passes for the deep and the matrix memory (notebook 01, §4; ``01-deep-vs-matrix.png``)."""
    r = deep_vs_matrix(**params) if result is None else result
    fig, ax = subplots(7.5, 3.6, layout="constrained")
    ax.plot(r["passes"], r["deep"], color=RULE_COLORS["titans"], lw=2,
            label=f"deep memory (Titans MLP {r['dim']}→{r['hidden']}→{r['dim']}, {r['deep_params']} weights)")
    ax.plot(r["passes"], r["matrix"], color=RULE_COLORS["delta"], lw=2,
            label=f"matrix memory (delta rule, {r['matrix_params']} weights)")
    ax.axhline(r["floor"], color=RULE_COLORS["floor"], ls="--", lw=1,
               label=f"best possible matrix (least squares) = {r['floor']:.2f}")
    ax.set_xscale("log")
    ax.set_xlabel("passes over the same pairs (log scale)")
    ax.set_ylabel("mean relative recall error")
    ax.set_title(f"{r['n_pairs']} pairs in d = {r['dim']}, past a matrix's capacity, written again and again",
                 fontsize=10)
    ax.set_ylim(0, max(1.1, float(max(r["deep"].max(), r["matrix"].max())) * 1.05))
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(alpha=0.3, which="both")
    return finish(fig)


FIGURES: dict[str, Callable[[], Any]] = {
    "01-retrieval-explorer.png": lambda: render_retrieval(
        RETRIEVAL_EXPLORER_DEFAULTS["n_pairs"], RETRIEVAL_EXPLORER_DEFAULTS["correlation"],
        RETRIEVAL_EXPLORER_DEFAULTS["step"], RETRIEVAL_EXPLORER_DEFAULTS["rule"],
        alpha=RETRIEVAL_EXPLORER_DEFAULTS["alpha"]),
    "01-capacity.png": lambda: render_capacity(),
    "01-interference.png": lambda: render_interference(),
    "01-forgetting.png": lambda: render_forgetting(),
    "01-deep-vs-matrix.png": lambda: render_deep_vs_matrix(),
}
