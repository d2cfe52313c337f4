"""Figures of notebook 03 (deep optimizers): pure functions that return a matplotlib Figure, or a plotly one
for a single optimizer's path on the landscape (:func:`render_landscape`: hover a step, zoom into the valley).

The numbers come from :mod:`.experiments` and :mod:`.landscape` (one source of truth); these
functions only draw them: the toy landscape with the optimizers' trajectories and delta momentum's erase
strength (§8), Newton-Schulz
as an inner optimisation (§4), training curves with step times (§9) and M3's two readings (§6).
:data:`FIGURES` maps every static preview the notebook links (``figures/03-*.png``) to the
function that draws it.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np
import torch

from hope_lite.optim import newton_schulz

from ..interactive import new_figure
from ..plotting import finish, subplots
from .experiments import TRAIN_OPTIMIZERS, m3_readings, ns_orthogonality_error, train_with
from .landscape import (LANDSCAPE, LANDSCAPE_EXPLORER_DEFAULTS, LANDSCAPE_TOL, landscape, run_landscape,
                        steps_to_tolerance)
from .optimizers import LANDSCAPE_OPTIMIZERS

__all__ = ["OPTIMIZER_COLORS", "describe_hparams", "render_landscape", "render_landscape_runs", "newton_schulz_curves",
           "render_newton_schulz", "render_training_runs", "render_m3_readings", "render_erase_study", "FIGURES"]

OPTIMIZER_COLORS = {
    "sgd": "#888888", "momentum": "#1f77b4", "preconditioned": "#17becf", "delta": "#d62728",
    "dmgd": "#9467bd", "muon": "#2ca02c", "m3": "#ff7f0e", "adamw": "#8c564b", "dgd": "#e377c2",
}
_LANDSCAPE_VIEW = (-1.7, 3.1, -1.7, 2.7)       # r_min, r_max, theta_min, theta_max


def _draw_landscape(ax, constants: dict | None = None, *, view: Sequence[float] = _LANDSCAPE_VIEW) -> None:
    """Contour lines of psi (log-spaced levels), the valley floor and the minimum."""
    constants = constants or {}
    r = np.linspace(view[0], view[1], 200)
    th = np.linspace(view[2], view[3], 200)
    R, TH = np.meshgrid(r, th)
    Z = landscape(R, TH, **constants)
    ax.contour(R, TH, np.log10(Z + 1e-12), levels=np.arange(-1.5, 2.6, 0.5), colors="0.7", linewidths=0.6)
    a, omega = constants.get("a", LANDSCAPE["a"]), constants.get("omega", LANDSCAPE["omega"])
    ax.plot(r, r + a * np.sin(omega * r), color="0.45", lw=0.8, ls=(0, (4, 3)))
    ax.plot([0], [0], marker="*", ms=11, color="black", zorder=5)
    ax.set_xlim(view[0], view[1])
    ax.set_ylim(view[2], view[3])
    ax.set_aspect("equal")


def describe_hparams(hparams: dict) -> str:
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

    An interactive plotly figure (:mod:`hope_lite.lessons.interactive`): hover a point of the path
    for its step, (r, θ) and ψ; drag to zoom into the valley, double-click to zoom back out.
    Runs :func:`.landscape.run_landscape` ``(optimizer, steps, **hparams)`` unless
    ``trajectory`` (its result) is given. The live explorer is :func:`.explorer.explore_landscape`;
    static preview ``figures/03-landscape-explorer.png``.
    """
    import plotly.graph_objects as go

    tol = LANDSCAPE_TOL if tol is None else tol
    traj = run_landscape(optimizer, steps, **hparams) if trajectory is None else trajectory
    reached = steps_to_tolerance(traj, tol)
    color = OPTIMIZER_COLORS.get(traj.optimizer, "black")
    constants = (hparams.get("constants") if trajectory is None else None) or {}
    view = _LANDSCAPE_VIEW
    fig = new_figure(1000, 470, cols=2, column_widths=[0.45, 0.55], horizontal_spacing=0.09,
                     subplot_titles=("path on ψ(r, θ) (contours: log-spaced; dashed: valley floor)",
                                     "ψ per step"))
    fig.update_annotations(font_size=12)
    fig.update_layout(title=dict(text=f"{traj.optimizer}: {describe_hparams(traj.hparams)}<br>final ψ = "
                                      f"{traj.final_loss:.2e};  {_steps_phrase(reached, tol)}", font_size=13, x=0.01),
                      margin=dict(t=95), showlegend=False)
    r = np.linspace(view[0], view[1], 160)
    th = np.linspace(view[2], view[3], 160)
    R, TH = np.meshgrid(r, th)
    fig.add_trace(go.Contour(x=r, y=th, z=np.log10(landscape(R, TH, **constants) + 1e-12), showscale=False,
                             contours=dict(coloring="lines", start=-1.5, end=2.5, size=0.5),
                             colorscale=[[0, "#b3b3b3"], [1, "#b3b3b3"]], line=dict(width=0.8),
                             hovertemplate="r %{x:.2f}, θ %{y:.2f}<br>log10 ψ = %{z:.2f}<extra></extra>"),
                  row=1, col=1)
    a, omega = constants.get("a", LANDSCAPE["a"]), constants.get("omega", LANDSCAPE["omega"])
    fig.add_trace(go.Scatter(x=r, y=r + a * np.sin(omega * r), mode="lines", hoverinfo="skip",
                             line=dict(color="#737373", width=1, dash="dash")), row=1, col=1)
    pts = traj.points
    fig.add_trace(go.Scatter(x=pts[:, 0], y=pts[:, 1], mode="lines+markers", line=dict(color=color, width=1.5),
                             marker=dict(size=4, color=color), customdata=np.stack(
                                 [np.arange(len(pts)), traj.losses[:len(pts)]], axis=-1),
                             hovertemplate="step %{customdata[0]}<br>r %{x:.4g}, θ %{y:.4g}<br>"
                                           "ψ = %{customdata[1]:.3g}<extra></extra>"), row=1, col=1)
    fig.add_trace(go.Scatter(x=pts[:1, 0], y=pts[:1, 1], mode="markers", hovertemplate="start<extra></extra>",
                             marker=dict(size=10, color="white", line=dict(color=color, width=2))), row=1, col=1)
    fig.add_trace(go.Scatter(x=[0], y=[0], mode="markers", hovertemplate="the minimum ψ(0, 0) = 0<extra></extra>",
                             marker=dict(symbol="star", size=15, color="black")), row=1, col=1)
    fig.update_xaxes(range=[view[0], view[1]], title_text="r", constrain="domain", showgrid=False, row=1, col=1)
    fig.update_yaxes(range=[view[2], view[3]], title_text="θ", scaleanchor="x", scaleratio=1, showgrid=False,
                     row=1, col=1)
    t = np.arange(len(traj.losses))
    fig.add_trace(go.Scatter(x=t, y=np.maximum(traj.losses, 1e-30), mode="lines", line=dict(color=color, width=2),
                             hovertemplate="step %{x}<br>ψ = %{y:.3g}<extra></extra>"), row=1, col=2)
    fig.add_hline(y=tol, line=dict(color="#4d4d4d", dash="dash", width=1.2), row=1, col=2)
    fig.add_annotation(x=1, xref="x2 domain", y=math.log10(tol), yref="y2", text=f"tolerance {tol:g}",  # log axis: log10
                       showarrow=False, xanchor="right", yanchor="bottom", font=dict(size=11, color="#4d4d4d"))
    if reached is not None:
        fig.add_vline(x=reached, line=dict(color=color, dash="dot", width=1.2), row=1, col=2)
    if traj.diverged:
        fig.add_annotation(x=0.5, y=0.5, xref="x2 domain", yref="y2 domain", showarrow=False,
                           text=f"diverged after {len(traj.losses) - 1} steps: lower lr",
                           font=dict(size=16, color="#b2182b"))
    fig.update_xaxes(range=[0, max(steps, 1)], title_text="step", row=1, col=2)
    fig.update_yaxes(type="log", range=[-12, 3], dtick=3, exponentformat="e", title_text="ψ (log scale)", row=1, col=2)
    return fig


def render_landscape_runs(trajectories: dict | None = None, *, steps: int = 400, tol: float | None = None):
    """Every optimizer on the toy landscape, each in its own panel, and all loss curves (notebook 03, §8).

    ``trajectories`` maps names to :class:`.landscape.Trajectory`; by default every
    optimizer of ``LANDSCAPE_OPTIMIZERS`` runs ``steps`` steps with its tuned settings.
    Static preview ``figures/03-landscape.png``.
    """
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
    return finish(fig)


def newton_schulz_curves(shapes: Sequence[Sequence[int]] = ((32, 32), (32, 128), (128, 32)), *,
                         max_steps: int = 20, seed: int = 0, samples: int = 3, spectrum_steps: int = 5) -> dict[str, Any]:
    """Orthogonality error vs Newton-Schulz steps, cubic and quintic, for several shapes (notebook 03, §4).

    Returns ``{"steps": 0..max_steps, "shapes": [...], (shape, coefficients): error array, "spectrum":
    {"input" | "cubic" | "quintic": singular values}, "spectrum_steps", "spectrum_shape"}``. Errors
    come from :func:`.experiments.ns_orthogonality_error`; the spectrum is that of one
    random matrix of the first shape, normalised (where NS starts) and after ``spectrum_steps`` steps.
    """
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
    fig, (ax, ax2) = subplots(11.0, 4.0, ncols=2, gridspec_kw={"width_ratios": [1.45, 1.0]})
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
    fig.suptitle("Newton–Schulz on random Gaussian matrices: the quintic (Muon's) lifts the singular values into "
                 "a band around 1 within ~5 steps but never converges;\nthe cubic converges to exactly orthogonal, "
                 "slowly where singular values are small (square matrices)", fontsize=9.5)
    return finish(fig)


def render_training_runs(results: dict | None = None, *, model: str = "mlp", steps: int = 300, seed: int = 0):
    """Loss curves and time per step of every optimizer on one model (notebook 03, §9).

    ``results`` maps optimizer names to :class:`.experiments.OptimizerRun` (all for the
    same model); by default every optimizer of ``TRAIN_OPTIMIZERS`` is trained with its default lr.
    Static previews ``figures/03-training-mlp.png`` and ``figures/03-training-recall.png``.
    """
    if results is None:
        results = {name: train_with(name, model, steps, seed=seed) for name in TRAIN_OPTIMIZERS}
    if not results:
        raise ValueError("render_training_runs needs at least one OptimizerRun.")
    model = next(iter(results.values())).model
    fig, (ax, ax2) = subplots(11.0, 4.9, ncols=2, gridspec_kw={"width_ratios": [1.7, 1.0]})
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
    return finish(fig)


def render_m3_readings(readings: dict | None = None, **params: Any):
    """M3 with moving averages ("ema") vs Algorithm 1's running sums ("sum") on the MLP (notebook 03, §6).

    Pass the result of :func:`.experiments.m3_readings`, or its parameters (by default Algorithm 1 as
    printed, ``M3(scale="algorithm1")``, at its tuned lr).
    Three panels: training loss; the mean second moment V; the update size / lr for matrices
    (solid) and vectors (dashed).
    """
    r = m3_readings(**params) if readings is None else readings
    fig, axes = subplots(11.0, 3.5, ncols=3, layout="constrained")
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
    return finish(fig)


def render_erase_study(study: dict | None = None):
    """Delta momentum's erase strength gamma against momentum, on the curved and the straight valley (§8).

    ``study`` is :func:`.erase.erase_study`'s result (default: the committed
    ``results/03-erase-sweep.json``, or computed if absent). One panel per landscape: for every gamma,
    the steps to tolerance from the tuning start (dots) and the median over the starts (line), each
    gamma at its own best lr; "never" at the top; the grey band spans momentum's best beta (tuning
    start to median). Static preview ``figures/03-erase-sweep.png``.
    """
    from .erase import erase_study_or_load, erase_verdict

    study = erase_study_or_load()[0] if study is None else study
    names = list(study["landscapes"])
    fig, axes = subplots(10.0, 3.9, ncols=len(names), sharey=True)
    fig.subplots_adjust(left=0.07, right=0.985, bottom=0.14, top=0.8, wspace=0.08)
    axes = np.atleast_1d(axes)
    top = study["steps"]
    never = top * 1.08
    color = OPTIMIZER_COLORS["delta"]
    for ax, name in zip(axes, names):
        rows = study["landscapes"][name]["delta"]
        verdict = erase_verdict(study, name)
        base = verdict["momentum"]
        x = np.arange(len(rows))
        first = [never if r["steps"] is None else r["steps"] for r in rows]
        median = [never if not math.isfinite(r["median"]) else r["median"] for r in rows]
        lo, hi = sorted((never if base["steps"] is None else base["steps"],
                         never if not math.isfinite(base["median"]) else base["median"]))
        ax.axhspan(lo - 2, hi + 2, color=OPTIMIZER_COLORS["momentum"], alpha=0.18, lw=0)
        ax.text(0.98, lo - 4, f"momentum at its best β = {base['value']:g}", ha="right", va="top", fontsize=8,
                color=OPTIMIZER_COLORS["momentum"], transform=ax.get_yaxis_transform())
        ax.plot(x, median, "-", color=color, lw=1.8, label=f"median over {len(study['starts'])} starts")
        ax.plot(x, first, "o", color=color, ms=5, mfc="white", mew=1.4, label="from the tuning start")
        best = rows.index(verdict["best"])
        ax.plot([best], [first[best]], "o", color=color, ms=7)
        ax.axhline(never, color="0.5", lw=0.8, ls=":")
        ax.set_xticks(x)
        ax.set_xticklabels([f"{r['value']:g}" for r in rows])
        ax.set_xlabel(f"erase strength γ (β = {study['delta_momentum']:g}; each γ at its own best lr)")
        ax.set_title(f"{name} valley (a = {study['landscapes'][name]['constants']['a']:g})", fontsize=9.5)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"steps to ψ ≤ {study['tol']:g}")
    axes[0].set_ylim(0, never * 1.07)
    axes[0].text(0.02, never, "never", transform=axes[0].get_yaxis_transform(), va="bottom", fontsize=8, color="0.4")
    axes[0].legend(fontsize=8, loc="upper left", bbox_to_anchor=(0.0, 0.93))
    fig.suptitle(f"Delta momentum's erase strength γ against momentum: {len(study['erase_grid'])} values of γ and "
                 f"{len(study['momentum_grid'])} of momentum's β, each at its best of {len(study['lrs'])} learning rates"
                 f"\n(band: momentum at its best β, from the tuning start to the median; filled dot: the γ the sweep "
                 f"picks)", fontsize=9.5)
    return finish(fig)


FIGURES: dict[str, Callable[[], Any]] = {
    "03-erase-sweep.png": lambda: render_erase_study(),
    "03-landscape.png": lambda: render_landscape_runs(),
    "03-landscape-explorer.png": lambda: render_landscape(**LANDSCAPE_EXPLORER_DEFAULTS),
    "03-newton-schulz.png": lambda: render_newton_schulz(),
    "03-training-mlp.png": lambda: render_training_runs(model="mlp"),
    "03-training-recall.png": lambda: render_training_runs(model="recall"),
    "03-m3-readings.png": lambda: render_m3_readings(),
}
