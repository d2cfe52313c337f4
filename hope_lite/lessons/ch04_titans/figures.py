"""Figures of notebook 04 (Titans: learning to memorize at test time; docs/paper.md §1.5-1.6).

Pure figure functions: each takes the numbers of :mod:`.experiments` (or computes them with that
module's defaults when called without), draws them and returns a
:class:`matplotlib.figure.Figure` that is already closed in pyplot (display it with
``display(fig)`` or as a cell's last value; save it with ``fig.savefig``), except
:func:`render_shift_run`, whose surprise trace is an interactive plotly figure
(:mod:`hope_lite.lessons.interactive`; shown the same way).

``FIGURES`` maps every static preview PNG that notebook 04 links (``figures/04-*.png``) to a
zero-argument function that draws it.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from ..interactive import new_figure
from ..plotting import finish, subplots
from .experiments import TITANS_EXPLORER_DEFAULTS, chunk_sweep, max_stable_theta, needle_curve, shift_run

__all__ = ["render_shift_run", "render_momentum_forgetting", "render_needle", "render_chunk_sweep",
           "NEEDLE_CHECKPOINTS", "NEEDLE_ALPHAS", "MOMENTUM_ETAS", "FORGET_ALPHAS", "FIGURES"]

NEEDLE_CHECKPOINTS = (0, 1, 4, 16, 64, 256, 1024)
NEEDLE_ALPHAS = (0.0, 0.003, 0.01, 0.03)
MOMENTUM_ETAS = (0.0, 0.5, 0.8, 0.9)
FORGET_ALPHAS = (0.0, 0.01, 0.03)
_ALPHA_COLORS = ("#1b9e77", "#7570b3", "#d95f02", "#e7298a", "#66a61e")


def _describe(settings: dict) -> str:
    return (f"θ = {settings['theta']:.3g}, η = {settings['eta']:.3g}, α = {settings['alpha']:.3g}, "
            f"chunk {settings['chunk_size']}")


def render_shift_run(run: dict | None = None, *, panels: Sequence[str] = ("surprise", "errors"),
                     title: str | None = None, **params: Any):
    """Surprise trace and memory errors of :func:`.experiments.shift_run` (notebook 04, §1-2, §6).

    An interactive plotly figure (:mod:`hope_lite.lessons.interactive`): hover the trace for a
    token's surprise, drag to zoom into the tokens around the shift, double-click to zoom back out.
    ``panels``: ``"surprise"`` (per-token |grad L| at the weights its gradient is taken at, log
    scale, the shift marked) and/or ``"errors"`` (the memory's mean error on fresh keys of rule A
    and rule B after every chunk). ``params`` go to ``shift_run`` when ``run`` is None.
    Static previews: ``figures/04-shift-surprise.png``, ``figures/04-explorer.png``.
    """
    import plotly.graph_objects as go

    if run is None:
        run = shift_run(**params)
    panels = list(panels)
    if not panels or set(panels) - {"surprise", "errors"}:
        raise ValueError(f"panels must be a non-empty subset of ('surprise', 'errors'), got {panels!r}.")
    shift, T = run["shift"], len(run["surprise"])
    ratio = run.get("ratio", float("nan"))
    if title is None:
        title = (f"{_describe(run['settings'])}: surprise ratio at the shift {ratio:.1f}×, "
                 f"error on B at the end {run['error_B']:.3f}")
        if run.get("diverged"):
            title = f"{_describe(run['settings'])}: the memory DIVERGED (lower θ, η or the chunk size)"
    n = len(panels)
    fig = new_figure(900, 240 * n + 110, rows=n, shared_xaxes=True, vertical_spacing=0.1 if n > 1 else 0.0)
    fig.update_layout(title=dict(text=title, font_size=14, x=0.01),
                      legend=dict(orientation="h", x=1.0, xanchor="right", y=-60 / (240 * n + 110), yanchor="top"))
    for row, panel in enumerate(panels, start=1):
        if panel == "surprise":
            s = np.where(np.isfinite(run["surprise"]), run["surprise"], np.nan)
            fig.add_trace(go.Scatter(x=np.arange(T), y=s, mode="lines", line=dict(color="#7570b3", width=1.2),
                                     name="surprise |∇ℓ| of each token", showlegend=False,
                                     hovertemplate="token %{x}<br>surprise |∇ℓ| = %{y:.3g}<extra></extra>"),
                          row=row, col=1)
            fig.update_yaxes(type="log", dtick=1, minor=dict(showgrid=True), title_text="surprise |∇ℓ|", row=row, col=1)
        else:
            for name, color in (("A", "#1b9e77"), ("B", "#d95f02")):
                e = np.asarray(run["probe_errors"][name], dtype=float)
                fig.add_trace(go.Scatter(x=run["ends"], y=np.where(np.isfinite(e), e, np.nan), mode="lines",
                                         line=dict(color=color, width=1.8), name=f"error on rule {name} (fresh keys)",
                                         hovertemplate=f"after token %{{x}}<br>error on rule {name} = %{{y:.3f}}"
                                                       f"<extra></extra>"), row=row, col=1)
            fig.add_trace(go.Scatter(x=[0, T - 1], y=[1.0, 1.0], mode="lines", name="a memory that answers 0",
                                     line=dict(color="#808080", dash="dot", width=1.2), hoverinfo="skip"),
                          row=row, col=1)
            fig.update_yaxes(range=[0, 1.8], title_text="|M(k) − v|", row=row, col=1)
        fig.add_vline(x=shift, line=dict(color="black", dash="dash", width=1.2), row=row, col=1)
    fig.add_annotation(x=shift, y=1.0, xref="x", yref="y domain", text=" rule A → B", showarrow=False,
                       xanchor="left", yanchor="top", font_size=12)
    fig.update_xaxes(range=[0, T - 1], row=n, col=1, title_text="token t")
    return fig


def render_momentum_forgetting(stability: dict[float, float] | None = None, traces: dict[float, dict] | None = None):
    """Momentum sets the effective step; forgetting bounds the weights (notebook 04, §3).

    Left: the largest stable step θ for every momentum decay η
    (:func:`.experiments.max_stable_theta`), next to the 1/(1 − η) law fitted at η = 0.
    Right: the weight norm |M_t| over a shift stream for several forget gates α (``traces``:
    ``{alpha: shift_run(...)}``).
    """
    if stability is None:
        stability = {eta: max_stable_theta(eta) for eta in MOMENTUM_ETAS}
    if traces is None:
        traces = {a: shift_run(theta=0.5, eta=0.0, alpha=a) for a in FORGET_ALPHAS}
    fig, (ax1, ax2) = subplots(10.0, 3.6, ncols=2)
    etas = np.array(sorted(stability))
    thetas = np.array([stability[e] for e in etas])
    ax1.plot(etas, thetas, "o", color="#7570b3", label="measured edge of stability")
    fine = np.linspace(0, etas.max(), 100)
    ax1.plot(fine, thetas[0] * (1 - fine), "--", color="0.4", label="θ_max(0) · (1 − η)")
    ax1.set_xlabel("momentum decay η")
    ax1.set_ylabel("largest stable step θ")
    ax1.set_title("momentum multiplies the step by 1/(1 − η)", fontsize=10)
    ax1.legend(fontsize=8)
    ax1.grid(alpha=0.3)
    for (alpha, run), color in zip(sorted(traces.items()), _ALPHA_COLORS):
        ax2.plot(run["ends"], run["weight_norm"], color=color, lw=1.4,
                 label=f"α = {alpha:g}: error on B at the end {run['error_B']:.2f}")
    shift = next(iter(traces.values()))["shift"]
    ax2.axvline(shift, color="black", ls="--", lw=1)
    ax2.set_xlabel("token t")
    ax2.set_ylabel("weight norm |M_t|")
    ax2.set_title("the forget gate shrinks the memory every token", fontsize=10)
    ax2.legend(fontsize=8)
    ax2.grid(alpha=0.3)
    fig.tight_layout()
    return finish(fig)


def render_needle(errors: np.ndarray | None = None, *, checkpoints: Sequence[int] = NEEDLE_CHECKPOINTS,
                  alphas: Sequence[float] = NEEDLE_ALPHAS, **params: Any):
    """Needle recall error against the number of distractors, one line per forget gate (notebook 04, §4).

    ``errors`` is :func:`.experiments.needle_curve`'s array
    ``(len(alphas), len(checkpoints))``; computed with ``params`` when None.
    """
    if errors is None:
        errors = needle_curve(checkpoints, alphas=alphas, **params)
    errors = np.asarray(errors, dtype=float)
    if errors.shape != (len(alphas), len(checkpoints)):
        raise ValueError(f"errors must have shape {(len(alphas), len(checkpoints))}, got {errors.shape}.")
    fig, ax = subplots(7.5, 3.6)
    x = np.asarray(sorted(checkpoints)) + 1
    for row, alpha, color in zip(errors, alphas, _ALPHA_COLORS):
        ax.plot(x, row, "o-", color=color, lw=1.4, ms=4, label=f"forget α = {alpha:g}")
    ax.axhline(1.0, color="0.5", ls=":", lw=1, label="a memory that answers 0")
    ax.set_xscale("log")
    ax.set_xticks(x)
    ax.set_xticklabels([str(n) for n in sorted(checkpoints)])
    ax.set_xlabel("distractor tokens written after the needle, N")
    ax.set_ylabel("needle error |M(k*) − v*|")
    ax.set_ylim(0, 1.15)
    ax.set_title("retrieving a needle after N distractors (d = 32, depth-2 memory)", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return finish(fig)


def render_chunk_sweep(sweep: dict | None = None, **params: Any):
    """Time per token and error against the per-token reference, per chunk size (notebook 04, §5).

    ``sweep`` is :func:`.experiments.chunk_sweep`'s result (computed with
    ``params`` when None). Diverged chunk sizes are marked with a cross on the error panel.
    """
    if sweep is None:
        sweep = chunk_sweep(**params)
    rows = sweep["rows"]
    C = np.array([r["chunk"] for r in rows])
    us = np.array([r["us_per_token"] for r in rows])
    rel = np.array([r["rel_error"] for r in rows], dtype=float)
    bad = np.array([r["diverged"] for r in rows])
    fig, (ax1, ax2) = subplots(10.0, 3.6, ncols=2)
    ax1.plot(C, us, "o-", color="#7570b3", label="chunked path")
    ax1.axhline(sweep["reference"]["us_per_token"], color="#d95f02", ls="--", label="per-token reference")
    ax1.set_xscale("log", base=2)
    ax1.set_yscale("log")
    ax1.set_xlabel("chunk size C")
    ax1.set_ylabel("µs per token (one thread)")
    ax1.set_title("speed", fontsize=10)
    ax1.legend(fontsize=8)
    ax1.grid(alpha=0.3, which="both")
    ok = ~bad & (C > 1)
    ax2.plot(C[ok], rel[ok], "o-", color="#1b9e77", label="|y_C − y_ref| / |y_ref|")
    if bad.any():
        top = np.nanmax(rel[ok]) * 3 if ok.any() else 1.0
        ax2.plot(C[bad], np.full(bad.sum(), top), "x", color="#b2182b", ms=10, mew=2, label="diverged")
    ax2.set_xscale("log", base=2)
    ax2.set_yscale("log")
    ax2.set_xlabel("chunk size C")
    ax2.set_ylabel("relative output error")
    s = sweep["settings"]
    ax2.set_title(f"fidelity (θ = {s['theta']:g}, η = {s['eta']:g}; C = 1 is exact)", fontsize=10)
    ax2.legend(fontsize=8)
    ax2.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return finish(fig)


FIGURES: dict[str, Callable[[], Any]] = {
    "04-shift-surprise.png": lambda: render_shift_run(),
    "04-momentum-forgetting.png": lambda: render_momentum_forgetting(),
    "04-needle.png": lambda: render_needle(),
    "04-chunk-sweep.png": lambda: render_chunk_sweep(),
    "04-explorer.png": lambda: render_shift_run(**TITANS_EXPLORER_DEFAULTS),
}
