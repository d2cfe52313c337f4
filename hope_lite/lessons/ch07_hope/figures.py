"""Figures of notebook 07 (HOPE): pure functions that return a matplotlib or (where hovering helps) a plotly Figure.

* :func:`render_compare` draws a comparison summary (:func:`.experiments.compare`): training
  loss, validation loss along training, final validation perplexity per model and seed.
* :func:`render_level_stream` draws a :class:`.level_stream.LevelStream` as an interactive plotly
  figure (:mod:`hope_lite.lessons.interactive`): which level of the whole model updated at which
  token (from the UpdateRecorder), and the recorded number of updates of each level against the
  number its declared period predicts.

:data:`FIGURES` regenerates the static previews the notebook links (``python -m
hope_lite.lessons.figures --only 07-compare.png``). ``07-compare.png`` is drawn from the committed
``results/07-compare.json``; without it, from a quick tiny-preset run, and its title says so.
matplotlib figures are closed in pyplot before they are returned (:mod:`hope_lite.lessons.plotting`).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

from hope_lite import build_model
from hope_lite.data import corpus_bytes

from ..interactive import new_figure
from ..plotting import finish, subplots
from ..teaching import seeded
from .experiments import LABELS, RESULTS, compare, load_results, locate
from .level_stream import LevelStream

__all__ = ["MODEL_COLORS", "level_label", "render_compare", "render_level_stream", "preview_stream", "LEVELS_PREVIEW",
           "FIGURES"]

MODEL_COLORS = {"hope": "#d95f02", "transformer": "#1b9e77", "titans": "#7570b3", "hope-attention": "#e7298a"}
LN2 = math.log(2)


# ---------------------------------------------------------------------------------------------
# The comparison (section 2)


def render_compare(results: dict, *, title: str | None = None):
    """Three panels from a :func:`.experiments.compare` summary.

    Left: training loss (bits per byte, bin means) against training bytes, one line per run
    (seeds of a model share its colour). Middle: validation bits per byte at every validation.
    Right: final validation perplexity per model, a dot per seed, a bar at the mean with the
    sample standard deviation over seeds. Static preview ``figures/07-compare.png``.
    """
    if not isinstance(results, dict) or "runs" not in results or "summary" not in results:
        raise ValueError("render_compare takes the dict returned by compare() or load_results().")
    st = results["settings"]
    per_step = st["batch"] * st["context"]
    fig, (ax, ax2, ax3) = subplots(12.5, 3.9, ncols=3, gridspec_kw={"width_ratios": [1.25, 1.0, 0.95]})
    seen: set[str] = set()
    for r in results["runs"]:
        color = MODEL_COLORS.get(r["model"], "k")
        label = None if r["model"] in seen else LABELS.get(r["model"], r["model"])
        seen.add(r["model"])
        curve = r["train_curve"]
        ax.plot(np.asarray(curve["step"]) * per_step, np.asarray(curve["loss"]) / LN2, color=color, lw=1.2,
                alpha=0.85, label=label)
        val = r["validation"]
        ax2.plot([v["step"] * per_step for v in val], [v["val_bpb"] for v in val], "o-", ms=3, lw=1.1,
                 color=color, alpha=0.85, label=label)
    for a, what in ((ax, "training loss"), (ax2, "validation loss")):
        a.set_xlabel("training bytes")
        a.set_ylabel(f"{what} (bits per byte)")
        a.grid(alpha=0.3)
        a.ticklabel_format(axis="x", style="sci", scilimits=(0, 3))
    ax.set_title("training loss (mean of each bin of steps)", fontsize=9.5)
    ax2.set_title("validation (first bytes of the held-out split)", fontsize=9.5)
    ax.legend(fontsize=8)
    models = list(results["summary"])
    for i, m in enumerate(models):
        s = results["summary"][m]
        color = MODEL_COLORS.get(m, "k")
        ax3.bar(i, s["val_ppl_mean"], 0.6, color=color, alpha=0.35, yerr=s["val_ppl_std"] or None, capsize=4)
        jitter = np.linspace(-0.12, 0.12, len(s["val_ppl"])) if len(s["val_ppl"]) > 1 else np.zeros(1)
        ax3.plot(i + jitter, s["val_ppl"], "o", color=color, ms=5)
    low = min(min(s["val_ppl"]) for s in results["summary"].values())
    high = max(max(s["val_ppl"]) for s in results["summary"].values())
    pad = max(0.05 * (high - low), 0.02 * high)
    bottom = max(0.0, low - 4 * pad)
    ax3.set_ylim(bottom, high + 2 * pad)
    for i, m in enumerate(models):           # the mean, written inside the bar's foot
        ax3.text(i, bottom + pad, f"{results['summary'][m]['val_ppl_mean']:.2f}", ha="center", va="bottom",
                 fontsize=8)
    ax3.set_xticks(range(len(models)))
    ax3.set_xticklabels([f"{LABELS.get(m, m).replace(' (', chr(10) + '(').replace('-a', '-' + chr(10) + 'a')}"
                         f"\n{results['summary'][m]['parameters'] / 1e3:.0f}K params" for m in models], fontsize=7.5)
    ax3.set_ylabel("validation perplexity per byte")
    n = len(results["seeds"])
    ax3.set_title(f"final validation: {n} seed{'s' if n != 1 else ''} (dots), mean ± std", fontsize=9.5)
    ax3.grid(axis="y", alpha=0.3)
    fig.suptitle(title or (f"{st['preset']} preset, {st['corpus']} corpus, {st['steps']} steps x {st['batch']} x "
                           f"{st['context']} bytes = {st['tokens_per_run']:,} training bytes per run, equal parameters"),
                 fontsize=10)
    fig.tight_layout()
    return finish(fig)


# ---------------------------------------------------------------------------------------------
# The levels of the whole model, read chunk by chunk (section 4)


def level_label(name: str) -> str:
    """'blocks.0.cms.blocks.1.memory' -> 'b0 CMS 2'; 'blocks.1.mixer.eta' -> 'b1 Titans η'."""
    parts = name.split(".")
    greek = {"eta": "η", "alpha": "α", "memory": "memory"}
    if len(parts) >= 5 and parts[0] == "blocks" and parts[2] == "cms":
        return f"b{parts[1]} CMS {int(parts[4]) + 1}"
    if len(parts) >= 4 and parts[0] == "blocks" and parts[2] == "mixer":
        return f"b{parts[1]} Titans {greek.get(parts[3], parts[3])}"
    return name


def _block_order(names: Sequence[str]) -> list[int]:
    """Row order: block by block; inside a block the mixer's memories, then the CMS levels (fastest first)."""
    def key(i: int) -> tuple:
        parts = names[i].split(".")
        block = int(parts[1]) if len(parts) > 1 and parts[0] == "blocks" and parts[1].isdigit() else -1
        return (block, 1 if ".cms." in names[i] else 0, i)
    return sorted(range(len(names)), key=key)


def render_level_stream(stream: Any, *, tokens: int | None = None, blocks: Sequence[int] | None = None,
                        title: str | None = None, fontsize: float | None = None):
    """Which level updated at which token, and recorded vs predicted update counts, for a LevelStream.

    An interactive plotly figure (:mod:`..interactive`): hover a tick for its level, stream
    position and |Δθ|; drag to zoom into a stretch of tokens, double-click to zoom back out.
    Left: rows = the model's token-clock levels (grouped by block: the self-modifying Titans
    memories memory, k, v, η, α, then the CMS levels, fastest first; a dashed line between the two
    groups, a solid one between blocks), columns = stream positions up to ``tokens`` (default: what
    was read); a coloured tick is one recorded update, its colour log10 |Δθ|; dotted lines mark
    where each call of ``stream.chunk`` tokens ended. Right: recorded updates per level (bars) and
    ``position // period`` (black ticks). ``blocks`` keeps only those blocks (one block: its rows
    are labelled without the block prefix, the title names it).

    ``fontsize``: the row labels' size in pixels; rows grow with it. Default: 17 for up to 12 rows
    (one block, readable on a projector: the explorer's default view), 11 above (every block).
    Static preview ``figures/07-levels.png``.
    """
    import plotly.graph_objects as go

    names, periods = stream.names(), [lv.period for lv in stream.levels]
    if not names:
        raise ValueError("this model declares no token-clock levels (a Transformer++ has none): nothing to draw.")
    counts, expected = stream.counts(), stream.expected()
    order = _block_order(names)
    if blocks is not None:
        wanted = {f"blocks.{b}." for b in blocks}
        order = [i for i in order if any(names[i].startswith(w) for w in wanted)]
        if not order:
            raise ValueError(f"no levels in blocks {list(blocks)}.")
    span = max(int(tokens if tokens is not None else stream.position), 1)
    rows = len(order)
    size = float(fontsize) if fontsize is not None else (17.0 if rows <= 12 else 11.0)
    row_px = int(2.2 * size + 6)                       # 17 px labels: 43 px per row; 11 px: 30 px
    one_block = len({names[i].split(".")[1] for i in order if names[i].startswith("blocks.")}) == 1
    labels = []
    for i in order:
        label = level_label(names[i])
        if one_block and label.startswith("b"):
            label = label.split(" ", 1)[1]
        labels.append(f"{label} (C={periods[i]})")
    ts, ys, ms = [], [], []
    for row, i in enumerate(order):
        ev = stream.recorder.events.get(names[i])
        if ev is None:
            continue
        t, m = ev.all_times(), ev.all_magnitudes()
        if m.size != t.size:
            m = np.ones(t.size)
        keep = (t >= 0) & (t < span)
        ts.append(t[keep])
        ys.append(np.full(int(keep.sum()), row))
        ms.append(np.maximum(m[keep], 1e-12))
    t, y, m = (np.concatenate(a) if a else np.zeros(0) for a in (ts, ys, ms))
    logs = np.log10(m) if m.size else np.zeros(0)
    low, high = (float(logs.min()), float(logs.max())) if logs.size else (-3.0, 0.0)
    high = high if high > low else low + 1.0
    ticks = list(range(math.ceil(low), math.floor(high) + 1)) or [round(low, 1)]
    rec = np.array([counts[i] for i in order])
    exp = np.array([expected[i] for i in order])
    ok = int((rec == exp).sum())
    if title is None:
        shown = f" of block {names[order[0]].split('.')[1]}" if one_block and blocks is not None else ""
        title = f"recorded updates of every in-context level{shown} after {stream.position} tokens"
    label_px = int(max(len(label) for label in labels) * size * 0.6) + 20
    fig = new_figure(int(870 + 10 * size), rows * row_px + 150, cols=2, shared_yaxes=True, column_widths=[0.8, 0.2],
                     horizontal_spacing=0.035,
                     subplot_titles=(title, f"bars: recorded, |: position // C<br>{ok} of {rows} equal"))
    fig.update_layout(margin=dict(l=label_px, r=90, t=95, b=60), showlegend=False)
    fig.update_annotations(font_size=size - 1)         # the two panel titles
    fig.layout.annotations[0].update(x=0, xanchor="left")
    fig.add_trace(go.Scatter(
        x=t, y=y, mode="markers", name="updates",
        marker=dict(symbol="line-ns-open", size=row_px * 0.8, line=dict(width=2.5 if size < 14 else 3.0), color=logs,
                    colorscale="Viridis", cmin=low, cmax=high,
                    colorbar=dict(title=dict(text="|Δθ|", side="top"), x=1.0, xpad=12, thickness=14, len=1.0, tickvals=ticks, ticktext=[f"1e{k}" for k in ticks])),
        customdata=np.stack([np.array(labels, dtype=object)[y.astype(int)], m], axis=-1) if y.size else None,
        hovertemplate="%{customdata[0]}<br>stream position %{x}<br>|Δθ| = %{customdata[1]:.3g}<extra></extra>"),
        row=1, col=1)
    previous = None
    for row, i in enumerate(order):
        block = names[i].split(".")[1] if names[i].startswith("blocks.") else None
        group = (block, ".cms." in names[i])
        if previous is not None and block != previous[0]:
            fig.add_hline(y=row - 0.5, line=dict(color="#4d4d4d", width=1.5), row=1, col="all")
        elif previous is not None and group != previous:
            fig.add_hline(y=row - 0.5, line=dict(color="#808080", width=1.2, dash="dash"), row=1, col="all")
        previous = group
    for end in stream.calls:
        if end < span:
            fig.add_vline(x=end - 0.5, line=dict(color="#8c8c8c", width=1, dash="dot"), row=1, col=1)
    colors = ["#d95f02" if ".cms." in names[i] else "#7570b3" for i in order]
    fig.add_trace(go.Bar(x=rec, y=np.arange(rows), orientation="h", marker_color=colors, opacity=0.8, width=0.7,
                         customdata=np.stack([np.array(labels, dtype=object), exp], axis=-1),
                         hovertemplate="%{customdata[0]}<br>recorded %{x} updates<br>position // C = "
                                       "%{customdata[1]}<extra></extra>"), row=1, col=2)
    fig.add_trace(go.Scatter(x=exp, y=np.arange(rows), mode="markers", hoverinfo="skip",
                             marker=dict(symbol="line-ns-open", size=row_px * 0.8, color="black",
                                         line=dict(width=2.5, color="black"))), row=1, col=2)
    fig.update_yaxes(tickvals=list(range(rows)), ticktext=labels, range=[rows - 0.5, -0.5], tickfont_size=size,
                     showgrid=False, zeroline=False, row=1, col=1)
    fig.update_xaxes(range=[-0.5, span - 0.5], title_text=f"stream position (token); dotted: the end of each call of "
                     f"{stream.chunk} tokens", title_font_size=size - 2, tickfont_size=size - 2, row=1, col=1)
    fig.update_xaxes(range=[0, max(1, int(max(rec.max(initial=0), exp.max(initial=0)) * 1.15) + 1)],
                     title_text="updates", title_font_size=size - 2, tickfont_size=size - 2, row=1, col=2)
    return fig


def preview_stream(model: Any = None, *, preset: str = "small", tokens: int = 1024, chunk: int = 64,
                   seed: int = 0):
    """A LevelStream that has read ``tokens`` of the pydoc validation text (untrained ``hope`` by default)."""
    if model is None:
        with seeded(seed):
            model = build_model("hope", preset)
    ids = corpus_bytes("pydoc", "validation")[: tokens + 1]
    stream = LevelStream(model, ids, chunk)
    stream.read(math.ceil(tokens / chunk))
    return stream


# ---------------------------------------------------------------------------------------------
# Static previews


def _compare_figure():
    found = locate(RESULTS)
    if found is not None:
        return render_compare(load_results(found))
    results = compare(seeds=(0,), preset="tiny", steps=30, batch=4, context=64, out=None,
                         log=lambda _: None, eval_bytes=4096)
    return render_compare(results, title="PLACEHOLDER (results/07-compare.json not written yet): tiny preset, "
                                          "30 steps, 1 seed; run `python -m hope_lite.lessons.ch07_hope.experiments "
                                          "compare ...`")


LEVELS_PREVIEW = {"preset": "small", "tokens": 1024, "chunk": 64, "blocks": [0]}
"""What ``figures/07-levels.png`` shows: an untrained HOPE of this preset reads this many bytes in calls of
``chunk``; the explorer's default view (one block); the notebook's sentence about the preview is tested against it."""


def _levels_figure():
    p = LEVELS_PREVIEW
    stream = preview_stream(preset=p["preset"], tokens=p["tokens"], chunk=p["chunk"])
    return render_level_stream(stream, tokens=p["tokens"], blocks=p["blocks"],
                               title=f"untrained '{p['preset']}' HOPE, block {p['blocks'][0]}: "
                                     f"{p['tokens']:,} bytes read in calls of {p['chunk']}")


FIGURES: dict[str, Callable[[], Any]] = {
    "07-compare.png": _compare_figure,
    "07-levels.png": _levels_figure,
}
