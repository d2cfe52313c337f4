"""Figures of notebook 07 (HOPE): pure functions that return a matplotlib Figure.

* :func:`render_compare` draws a comparison summary (:func:`.experiments.compare`): training
  loss, validation loss along training, final validation perplexity per model and seed.
* :func:`render_level_stream` draws a :class:`.level_stream.LevelStream`: which level of the
  whole model updated at which token (from the UpdateRecorder), and the recorded number of
  updates of each level against the number its declared period predicts.

:data:`FIGURES` regenerates the static previews the notebook links (``python -m
hope_lite.lessons.figures --only 07-compare.png``). ``07-compare.png`` is drawn from the committed
``results/07-compare.json``; without it, from a quick tiny-preset run, and its title says so.
Figures are closed in pyplot before they are returned (:mod:`hope_lite.lessons.plotting`).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

from hope_lite import build_model
from hope_lite.data import corpus_bytes

from ..plotting import finish, subplots, update_colormap
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

    Left: rows = the model's token-clock levels (grouped by block: the self-modifying Titans
    memories memory, k, v, η, α, then the CMS levels, fastest first; a dashed line between the two
    groups, a solid one between blocks), columns = stream positions up to ``tokens`` (default: what
    was read); a coloured tick is one recorded update, its colour |Δθ| (log scale); dotted lines
    mark where each call of ``stream.chunk`` tokens ended. Right: recorded updates per level (bars)
    and ``position // period`` (black ticks). ``blocks`` keeps only those blocks (one block: its
    rows are labelled without the block prefix, the title names it).

    ``fontsize``: the labels' size in points; rows grow with it. Default: 13 for up to 12 rows (one
    block, readable on a projector: the explorer's default view), 8 above (every block at once).
    Static preview ``figures/07-levels.png``.
    """
    from matplotlib.colors import LogNorm

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
    size = float(fontsize) if fontsize is not None else (13.0 if rows <= 12 else 8.0)
    row_inches = 0.032 * size + 0.06                       # 13 pt: 0.48 in per row; 8 pt: 0.32 in
    top, bottom = 0.25 + 0.04 * size, 0.2 + 0.045 * size    # title and x label, in inches
    height = rows * row_inches + top + bottom
    width = 9.0 + 0.35 * size
    fig, (ax, ax2) = subplots(width, height, ncols=2, gridspec_kw={"width_ratios": [3.0, 1.0]})
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
    if m.size:
        lo, hi = float(m.min()), float(m.max())
        norm = LogNorm(lo, hi if hi > lo else lo * 10)
    else:
        norm = LogNorm(1e-3, 1.0)
    # one vertical tick per recorded update (a marker, so that even 1 token of 1024 stays visible)
    row_points = 72 * row_inches * 0.8
    image = ax.scatter(t, y, c=m, cmap=update_colormap(), norm=norm, marker="|", s=row_points ** 2,
                       linewidths=2.0 if size < 10 else 2.6)
    ax.set_ylim(rows - 0.5, -0.5)
    one_block = len({names[i].split(".")[1] for i in order if names[i].startswith("blocks.")}) == 1
    labels = []
    for i in order:
        label = level_label(names[i])
        if one_block and label.startswith("b"):
            label = label.split(" ", 1)[1]
        labels.append(f"{label} (C={periods[i]})")
    ax.set_yticks(range(rows))
    ax.set_yticklabels(labels, fontsize=size)
    previous = None
    for row, i in enumerate(order):
        block = names[i].split(".")[1] if names[i].startswith("blocks.") else None
        group = (block, ".cms." in names[i])
        if previous is not None and block != previous[0]:
            ax.axhline(row - 0.5, color="0.3", lw=1.2)
        elif previous is not None and group != previous:
            ax.axhline(row - 0.5, color="0.5", lw=0.9, ls="--")
        previous = group
    for end in stream.calls:
        if end < span:
            ax.axvline(end - 0.5, color="0.55", lw=0.8, ls=":")
    ax.set_xlim(-0.5, span - 0.5)
    ax.grid(axis="x", alpha=0.2)
    ax.tick_params(axis="x", labelsize=size - 1)
    ax.set_xlabel(f"stream position (token); dotted: the end of each call of {stream.chunk} tokens", fontsize=size - 1)
    bar = fig.colorbar(image, ax=ax, pad=0.01, fraction=0.025)
    bar.set_label("|Δθ| (log scale)", fontsize=size - 2)
    bar.ax.tick_params(labelsize=size - 3)
    if title is None:
        shown = f" of block {names[order[0]].split('.')[1]}" if one_block and blocks is not None else ""
        title = f"recorded updates of every in-context level{shown} after {stream.position} tokens"
    ax.set_title(title, fontsize=size, loc="left")
    y = np.arange(rows)
    rec = np.array([counts[i] for i in order])
    exp = np.array([expected[i] for i in order])
    ax2.barh(y, rec, 0.7, color=["#d95f02" if ".cms." in names[i] else "#7570b3" for i in order], alpha=0.8)
    ax2.plot(exp, y, "|", color="k", ms=row_points * 0.9, mew=2.0)
    ax2.set_ylim(rows - 0.5, -0.5)
    ax2.set_yticks(range(rows))
    ax2.set_yticklabels([])
    ax2.tick_params(axis="x", labelsize=size - 1)
    ax2.set_xlabel("updates", fontsize=size - 1)
    ax2.set_xlim(0, max(1, int(max(rec.max(initial=0), exp.max(initial=0)) * 1.15) + 1))
    ax2.grid(axis="x", alpha=0.3)
    ok = int((rec == exp).sum())
    ax2.set_title(f"bars: recorded, |: position // C\n{ok} of {rows} equal", fontsize=size - 1)
    label_inches = max(len(label) for label in labels) * size * 0.58 / 72 + 0.3      # room for the row labels
    fig.subplots_adjust(left=min(0.4, label_inches / width), right=0.985, top=1 - top / height,
                        bottom=bottom / height, wspace=0.3)
    return finish(fig)


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
