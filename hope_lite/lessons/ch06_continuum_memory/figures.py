"""Figures of notebook 06 (Continuum Memory System): pure functions that return a matplotlib or a plotly Figure.

Every figure is drawn from recorded or measured numbers: token timelines of the updates an
:class:`~hope_lite.levels.UpdateRecorder` saw in a real forward pass (:func:`render_token_timeline`,
an interactive plotly figure: :mod:`hope_lite.lessons.interactive`), forgetting curves from :func:`.experiments.forgetting_run`. Called without data, a ``render_*``
runs the default experiment itself, so :data:`FIGURES` regenerates every static preview the
notebook links::

    python -m hope_lite.lessons.figures --only 06-update-timeline.png

matplotlib figures are closed in pyplot before they are returned (:mod:`hope_lite.lessons.plotting`).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import torch

from hope_lite import UpdateRecorder, build_model, levels_of

from ..interactive import new_figure
from ..plotting import finish, subplots
from ..teaching import seeded
from .experiments import CMS_TIMELINE_EXPLORER_DEFAULTS, forgetting_run, timeline_run

__all__ = ["LEARNER_COLORS", "LEARNER_LABELS", "LEVEL_PALETTE", "SECTION1_TIMELINE", "update_grid",
           "render_token_timeline", "timeline_figure",
           "render_forgetting", "hope_recorded_run", "hope_label", "render_hope_timeline", "explorer_periods", "FIGURES"]

LEARNER_COLORS = {"single": "#7570b3", "cms": "#d95f02", "cms-equal": "#1b9e77"}
LEARNER_LABELS = {"single": "one MLP (period 4)", "cms": "CMS, η_l ∝ C_l", "cms-equal": "CMS, equal η_l"}
#: the colours of the levels, fastest first
LEVEL_PALETTE = ["#d95f02", "#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#e6ab02"]


# ---------------------------------------------------------------------------------------------
# The token timeline of the updates (sections 1, 3 and 6)


def update_grid(recorder: Any, tokens: int, names: Sequence[str] | None = None) -> tuple[list[str], np.ndarray]:
    """Levels x tokens array of recorded update magnitudes; NaN where a level did not update.

    ``names`` picks and orders the rows (default: every recorded level, in recording order); a
    name with no events gives an all-NaN row. A level recorded without magnitudes gets 1.0 at its
    update times. Times outside ``[0, tokens)`` are ignored.
    """
    if not hasattr(recorder, "events"):
        raise ValueError("update_grid takes an UpdateRecorder (after a run inside `with UpdateRecorder(model):`).")
    if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 1:
        raise ValueError(f"tokens must be a positive int, got {tokens!r}.")
    names = list(recorder.events) if names is None else list(names)
    grid = np.full((len(names), tokens), np.nan)
    for row, name in enumerate(names):
        ev = recorder.events.get(name)
        if ev is None:
            continue
        times = ev.all_times()
        mags = ev.all_magnitudes()
        if mags.size != times.size:
            mags = np.ones(times.size)
        keep = (times >= 0) & (times < tokens)
        grid[row, times[keep]] = mags[keep]
    return names, grid


def render_token_timeline(recorder: Any, tokens: int, *, names: Sequence[str] | None = None,
                           labels: Sequence[str] | None = None, periods: Sequence[int] | None = None,
                           switch: int | None = None, title: str | None = None, magnitudes: bool = True,
                           before_clip: dict[str, np.ndarray] | None = None, clipped: dict[str, np.ndarray] | None = None,
                           clip_limit: float | None = None):
    """Which level updates at which token, and by how much: a heat map drawn from recorded events.

    An interactive plotly figure (:mod:`hope_lite.lessons.interactive`): hover a cell or a marker
    for its level, token and step; drag to zoom, double-click to zoom back out.
    Top: rows = levels (fastest on top), columns = tokens; a coloured cell is one recorded update,
    its colour the step taken |Δθ| (Frobenius norm over the level's weights, mean over the batch);
    white = no update (the weights are frozen there); each row's count of updates on its right.
    Bottom (``magnitudes=True``): each level's steps against the token of the update. With
    ``before_clip`` ({name: η|g| per recorded update, from :func:`.experiments.update_norms`}) the
    bottom panel shows the step each update **asked for** before the clip instead, ``clipped``
    ({name: bool per update}) draws the clipped ones hollow, and ``clip_limit`` (η · max_update)
    is drawn as a dotted line: a clipped update took a step of exactly that size. ``periods`` adds
    each level's declared period to its label; ``switch`` marks a task switch with a dashed line.
    Static previews: ``figures/06-update-timeline.png``, ``06-explorer.png``, ``06-hope-levels.png``.
    """
    import plotly.graph_objects as go

    names, grid = update_grid(recorder, tokens, names)
    if not names:
        raise ValueError("nothing to draw: no level names and no recorded events.")
    if labels is None:
        labels = [n.replace(".memory", "") for n in names]
    if len(labels) != len(names) or (periods is not None and len(periods) != len(names)):
        raise ValueError("labels and periods need one entry per level.")
    counts = np.isfinite(grid).sum(1)
    if before_clip is not None:                      # checked before any figure exists
        for name, count in zip(names, counts):
            got = np.asarray(before_clip.get(name, np.zeros(0))).size
            if got != count:
                raise ValueError(f"before_clip[{name!r}] has {got} values for {count} recorded updates.")
    rows = len(names)
    rows_label = [f"{lab}" + (f" (C = {p})" if periods is not None else "")
                  for lab, p in zip(labels, periods if periods is not None else [None] * rows)]
    heat_px, lower_px = 60 + 26 * rows, (230 if magnitudes else 0)
    height = heat_px + lower_px + 150
    title = title or "Recorded updates of every level (UpdateRecorder), fastest level on top"
    if magnitudes:
        fig = new_figure(1000, height, rows=2, shared_xaxes=True, vertical_spacing=110 / height,
                         row_heights=[heat_px, lower_px])
    else:
        fig = new_figure(1000, height)
    label_px = max(len(lab) for lab in rows_label) * 7 + 20
    fig.update_layout(title=dict(text=title, font_size=14, x=0.01), margin=dict(l=label_px, r=175, t=60, b=50),
                      legend=dict(orientation="h", x=0.5, xanchor="center", yanchor="bottom",    # above the lower panel
                                  y=fig.layout.yaxis2.domain[1] + 0.005) if magnitudes else {})
    finite = grid[np.isfinite(grid)]
    vmax = float(finite.max()) if finite.size else 1.0
    heat = {"row": 1, "col": 1} if magnitudes else {}      # the heat map's panel (the only one without magnitudes)
    fig.add_trace(go.Heatmap(
        z=grid, x=np.arange(tokens), y=np.arange(rows), zmin=0.0, zmax=vmax if vmax > 0 else 1.0,
        colorscale="Viridis", hoverongaps=False, xgap=0, ygap=1, showlegend=False,
        customdata=np.repeat(np.array(rows_label, dtype=object)[:, None], tokens, axis=1),
        colorbar=dict(title=dict(text="|Δθ|: step taken", side="right"), x=1.12, thickness=12,
                      len=heat_px / height, y=1.0, yanchor="top"),
        hovertemplate="%{customdata}<br>token %{x}<br>|Δθ| = %{z:.3g}<extra></extra>"),
        **heat)
    fig.update_yaxes(tickvals=list(range(rows)), ticktext=rows_label, range=[rows - 0.5, -0.5], showgrid=False,
                     zeroline=False, tickfont_size=12, **heat)
    for r in range(rows):                            # the count of updates, right of each row
        fig.add_annotation(x=1.005, xref="paper", y=r, yref="y", xanchor="left", showarrow=False,
                           text=f"{counts[r]} update{'s' if counts[r] != 1 else ''}", font=dict(size=11, color="#333"))
    fig.update_xaxes(range=[-0.5, tokens - 0.5], **heat,
                     **({} if magnitudes else {"title_text": "token t (a coloured cell: the level applied its "
                                                             "accumulated chunk gradient at t)"}))
    if switch is not None:
        fig.add_vline(x=switch - 0.5, line=dict(color="#4d4d4d", dash="dash", width=1.2))
    if magnitudes:
        top = vmax
        for r, (lab, name) in enumerate(zip(labels, names)):
            t = np.flatnonzero(np.isfinite(grid[r]))
            if not t.size:
                continue
            color = LEVEL_PALETTE[r % len(LEVEL_PALETTE)]
            if before_clip is None:
                fig.add_trace(go.Scatter(x=t, y=grid[r, t], mode="lines+markers", name=lab, line_color=color,
                                         marker=dict(size=6, color=color), legendgroup=lab,
                                         hovertemplate=f"{lab}<br>token %{{x}}<br>|Δθ| = %{{y:.3g}}<extra></extra>"),
                              row=2, col=1)
                continue
            asks = np.asarray(before_clip[name], dtype=float)
            cut = (np.zeros(t.size, bool) if clipped is None or name not in clipped
                   else np.asarray(clipped[name], dtype=bool))
            top = max(top, float(asks.max()))
            fig.add_trace(go.Scatter(
                x=t, y=asks, mode="lines+markers", name=lab, line=dict(color=color, width=1.5), legendgroup=lab,
                marker=dict(size=np.where(cut, 9, 7), color=np.where(cut, "white", color),
                            line=dict(color=color, width=np.where(cut, 1.8, 0))),
                customdata=np.where(cut, "clipped: took η·max_update", "not clipped"),
                hovertemplate=f"{lab}<br>token %{{x}}<br>η|g| asked = %{{y:.3g}}<br>%{{customdata}}<extra></extra>"),
                row=2, col=1)
        if before_clip is not None:
            if clip_limit is not None:
                fig.add_trace(go.Scatter(x=[-0.5, tokens - 0.5], y=[clip_limit, clip_limit], mode="lines",
                                         name=f"clip η·max_update = {clip_limit:g}", hoverinfo="skip",
                                         line=dict(color="#404040", dash="dot", width=1.5)), row=2, col=1)
                fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name="clipped: step taken = the clip",
                                         marker=dict(size=9, color="white", line=dict(color="#4d4d4d", width=1.8))),
                              row=2, col=1)
            fig.update_yaxes(title_text="η|g| asked<br>(before the clip)", row=2, col=1)
        else:
            fig.update_yaxes(title_text="|Δθ| per update", row=2, col=1)
        top = 1.15 * top if top > 0 else 1.0
        fig.update_yaxes(range=[0, top], title_font_size=12, row=2, col=1)
        if switch is not None:
            fig.add_annotation(x=switch, y=0.04 * top, xref="x2", yref="y2", text="task switch", showarrow=False,
                               xanchor="left", yanchor="bottom", font=dict(size=11, color="#4d4d4d"))
        fig.update_xaxes(range=[-0.5, tokens - 0.5], title_text="token t (a coloured cell above: the level applied "
                         "its accumulated chunk gradient at t)", title_font_size=12, showticklabels=True, row=2, col=1)
        fig.update_xaxes(showticklabels=True, row=1, col=1)
    return fig


def timeline_figure(run: dict[str, Any], *, title: str | None = None):
    """:func:`render_token_timeline` of a :func:`.experiments.timeline_run`: recorded updates, steps asked, clip."""
    return render_token_timeline(run["recorder"], run["tokens"], names=run["names"],
                                  labels=[f"level {i + 1}" for i in range(len(run["periods"]))],
                                  periods=run["periods"], switch=run["switch"], title=title,
                                  before_clip=run["before_clip"], clipped=run["clipped"],
                                  clip_limit=run["clip_limit"])


def explorer_periods(levels: int, exponents: Sequence[int], max_exponent: int = 9) -> tuple[tuple[int, ...], bool]:
    """Periods 2^e for the first ``levels`` exponents, repaired to be strictly increasing powers of two.

    The library requires periods fastest first, each a multiple of the one before; with powers of
    two that means strictly increasing exponents. An exponent not above the previous one is raised
    to previous + 1; if that passes ``max_exponent``, the earlier ones are lowered. Returns
    (periods, repaired?).
    """
    if isinstance(levels, bool) or not isinstance(levels, int) or not 1 <= levels <= len(exponents):
        raise ValueError(f"levels must be an int in 1..{len(exponents)}, got {levels!r}.")
    wanted = [int(e) for e in exponents[:levels]]
    fixed = list(wanted)
    for i in range(1, levels):
        fixed[i] = max(fixed[i], fixed[i - 1] + 1)
    if fixed[-1] > max_exponent:                       # push down from the top
        fixed[-1] = max_exponent
        for i in range(levels - 2, -1, -1):
            fixed[i] = min(fixed[i], fixed[i + 1] - 1)
    if fixed[0] < 0:
        raise ValueError(f"cannot fit {levels} levels below 2^{max_exponent}.")
    return tuple(2 ** e for e in fixed), fixed != wanted


def _explorer_preview():
    d = CMS_TIMELINE_EXPLORER_DEFAULTS
    periods, _ = explorer_periods(d["levels"], d["exponents"])
    run = timeline_run(periods, d["tokens"], max_update=d["max_update"])
    return timeline_figure(run, title=f"explore_cms_timeline() at its start values: {len(periods)} levels, "
                                      f"{run['tokens']} tokens (task A, then task B)")


#: section 1's demonstration: four levels over 128 tokens, the slowest never updates
SECTION1_TIMELINE: dict[str, Any] = {"periods": (4, 16, 64, 256), "tokens": 128}


def _section1_timeline():
    periods, tokens = SECTION1_TIMELINE["periods"], SECTION1_TIMELINE["tokens"]
    run = timeline_run(periods, tokens)
    return timeline_figure(run, title=f"A ContinuumMemory with periods {periods} reads {tokens} tokens: recorded "
                                      f"updates (the level with C = {periods[-1]} never updates)")


# ---------------------------------------------------------------------------------------------
# Forgetting (section 4)


def render_forgetting(run: dict | None = None, **params: Any):
    """Error on the first task along the stream for every learner, and each CMS level's error on it.

    ``run`` is a :func:`.experiments.forgetting_run` result (default: seed 0 of the
    notebook's setting). Left: error on task A after every segment, phases shaded. Right: the error
    on A of each level of the CMS (η_l ∝ C_l) alone at the end of each phase.
    Static preview ``figures/06-forgetting.png``.
    """
    r = forgetting_run(**params) if run is None else run
    tasks, per = r["tasks"], r["tokens_per_task"]
    first = tasks[0]
    fig, (ax, ax2) = subplots(11.0, 4.0, ncols=2, gridspec_kw={"width_ratios": [1.7, 1.0]})
    for i, t in enumerate(tasks):
        if i % 2:
            ax.axvspan(i * per, (i + 1) * per, color="0.93", lw=0)
        ax.text((i + 0.5) * per, 1.0, f"task {t}", transform=ax.get_xaxis_transform(), ha="center", va="bottom",
                fontsize=8.5, color="0.3")
    for name, errs in r["errors"].items():
        ax.plot(np.r_[0, r["tokens"]], np.r_[r["initial"][name][first], errs[first]], "o-", ms=3, lw=1.6,
                color=LEARNER_COLORS.get(name, "k"),
                label=f"{LEARNER_LABELS.get(name, name)}: {r['parameters'][name]} params")
    ax.set_xlabel("tokens read")
    ax.set_ylabel(f"error on task {first} (held-out inputs)")
    ax.set_ylim(bottom=0)
    ax.set_xlim(0, len(tasks) * per)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper right")
    name = "cms" if "cms" in r["levels_on_first"] else next(iter(r["levels_on_first"]))
    levels = np.asarray(r["levels_on_first"][name])            # (phases, levels)
    periods = r["periods"][name]
    width = 0.8 / levels.shape[1]
    x = np.arange(levels.shape[0])
    for j in range(levels.shape[1]):
        ax2.bar(x + (j - (levels.shape[1] - 1) / 2) * width, levels[:, j], width,
                color=LEVEL_PALETTE[j % len(LEVEL_PALETTE)], label=f"level {j + 1} (C = {periods[j]}) alone")
    ax2.set_xticks(x)
    ax2.set_xticklabels([f"after {t}" for t in tasks], fontsize=8.5)
    ax2.set_ylabel(f"error on task {first}")
    ax2.set_title(f"{LEARNER_LABELS.get(name, name)}: each level's own answer", fontsize=9.5)
    ax2.grid(axis="y", alpha=0.3)
    ax2.legend(fontsize=7.5)
    fig.suptitle(f"A stream of tasks {', '.join(tasks)} ({per} tokens each), learned in context only: "
                 f"how much of task {first} is left?", fontsize=10)
    fig.tight_layout()
    return finish(fig)


# ---------------------------------------------------------------------------------------------
# HOPE's levels (section 6)


@torch.no_grad()
def hope_recorded_run(tokens: int = 64, *, preset: str = "tiny", seed: int = 0) -> dict[str, Any]:
    """One forward pass of an untrained HopeLM under an UpdateRecorder; its declared levels too.

    Returns ``{"model", "levels" (levels_of(model), token-clock ones), "recorder", "tokens"}``.
    """
    with seeded(seed):
        model = build_model("hope", preset)
        x = torch.randint(0, model.config.vocab_size, (1, tokens))
    with UpdateRecorder(model) as rec:
        model(x)
    levels = [lv for lv in levels_of(model) if lv.clock == "tokens"]
    return {"model": model, "levels": levels, "recorder": rec, "tokens": tokens}


def hope_label(name: str) -> str:
    """'blocks.0.cms.blocks.1.memory' -> 'block 0 · CMS level 2'; 'blocks.1.mixer.k' -> 'block 1 · Titans k'."""
    parts = name.split(".")
    if len(parts) >= 5 and parts[2] == "cms":
        return f"block {parts[1]} · CMS level {int(parts[4]) + 1}"
    if len(parts) >= 4 and parts[2] == "mixer":
        return f"block {parts[1]} · Titans {parts[3]}"
    return name


def render_hope_timeline(run: dict | None = None, **params: Any):
    """The recorded updates of every token-clock level of a tiny HopeLM in one forward pass.

    Rows follow ``levels_of(model)`` (fastest first): the self-modifying Titans memories and the
    CMS levels of each block. Static preview ``figures/06-hope-levels.png``.
    """
    r = hope_recorded_run(**params) if run is None else run
    names = [lv.qualified_name for lv in r["levels"]]
    labels = [hope_label(n) for n in names]
    return render_token_timeline(r["recorder"], r["tokens"], names=names, labels=labels,
                                  periods=[lv.period for lv in r["levels"]], magnitudes=False,
                                  title=f"build_model('hope', 'tiny'): every in-context level in one forward pass "
                                        f"of {r['tokens']} tokens")


FIGURES: dict[str, Callable[[], Any]] = {
    "06-update-timeline.png": _section1_timeline,
    "06-explorer.png": _explorer_preview,
    "06-forgetting.png": lambda: render_forgetting(),
    "06-hope-levels.png": lambda: render_hope_timeline(),
}
