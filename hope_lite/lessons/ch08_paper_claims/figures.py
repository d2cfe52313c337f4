"""Figures of notebook 08 (the paper's claims): pure functions that return a matplotlib Figure.

* :func:`render_ablation` draws an ablation table (:func:`.experiments.ablation`): every row's change
  from the full model, ours (mean ± seed std, a dot per seed) beside the paper's, in validation
  perplexity (percent) and in recall accuracy (percentage points), each row labelled with its verdict,
  over the band of seed noise the verdict rule needs a gap to leave.
* :func:`render_context` draws the context-use results (:func:`.experiments.context_use`, the paper's
  Fig. 10): loss (bits per byte) against position in the document, one line per model, the training
  context marked.
* :func:`render_training` draws the training-loss curves of chosen rows, one line per seed.

:data:`FIGURES` regenerates the static previews the notebook links (``python -m hope_lite.lessons.figures
--only 08-context.png``), each from its committed ``results/08-*.json``; without it, from a quick
tiny-preset run, and its title says so. Figures are closed in pyplot before they are returned
(:mod:`hope_lite.lessons.plotting`).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..plotting import finish, subplots
from ..results import find_in_repository
from . import experiments as ex

__all__ = ["CALL_COLORS", "CONTEXT_COLORS", "START_ROWS", "short_call", "ablation_title", "render_ablation", "render_context",
           "render_training", "FIGURES"]

LN2 = math.log(2)

#: our bar's colour: the verdict of the rule at a glance (the full model has no verdict; a row of your own,
#: Table.with_row, has no paper numbers, so its calls are "a gap that counts" or "within the seed spread")
CALL_COLORS = {"holds": "#1b9e77", "does not hold": "#d95f02", "not testable at this scale": "#8c8c8c",
               "a gap that counts": "#386cb0", "within the seed spread": "#8c8c8c", None: "#4d4d4d"}
#: the context figure's models (the labels of experiments.CONTEXT_MODELS); others are drawn in grey
CONTEXT_COLORS = {"HOPE": "#d95f02", "HOPE w/o CMS": "#e6ab02", "HOPE with plain GD": "#e7298a",
                  "Titans (LMM)": "#7570b3", "Transformer++": "#1b9e77"}
PAPER_EDGE = "0.35"


def short_call(call: str | None) -> str:
    """'not testable at this scale' -> 'not testable' (a row label has little room); None: 'full model'."""
    if call is None:
        return "full model"
    return "not testable" if call.startswith("not testable") else call


def _check_ablation(results: Any, who: str) -> None:
    if not isinstance(results, dict) or results.get("kind") != "ablation" or not results.get("summary") \
            or "verdicts" not in results:
        kind = results.get("kind") if isinstance(results, dict) else type(results).__name__
        raise ValueError(f"{who} takes the dict returned by ablation() or load_results('hope' / 'titans') "
                         f"(kind 'ablation'), got {kind!r}.")


def _check_context(results: Any, who: str) -> None:
    if not isinstance(results, dict) or results.get("kind") != "context" or not results.get("models"):
        kind = results.get("kind") if isinstance(results, dict) else type(results).__name__
        raise ValueError(f"{who} takes the dict returned by context_use() or load_results('context') "
                         f"(kind 'context'), got {kind!r}.")


def ablation_title(results: dict) -> str:
    """The default title of :func:`render_ablation`: the paper's table, and our budget."""
    st, n, rc = results["settings"], len(results["seeds"]), results.get("recall", {})
    recall = f"; recall: {rc['steps']} steps x {rc['batch']}" if rc else ""
    return (f"{results['source']}\nours: {st['preset']} preset, {n} seed{'s' if n != 1 else ''}, {st['steps']} steps x "
            f"{st['batch']} x {st['context']} bytes = {st['tokens_per_run']:,} training bytes per run{recall}")


def _row_label(row: dict, call: str | None, metric: str, full: bool = False) -> str:
    """'w/o CMS — not testable', 'HOPE (full model)', with '(diverged: 1 of 3 seeds)' where seeds are missing."""
    label = f"{row['label']} (full model)" if full else f"{row['label']} — {short_call(call)}"
    missing = len(row["seeds"]) - len(row.get(metric) or {})
    if missing:          # the LM run or the recall run of these seeds stopped at a non-finite loss
        label += f" (diverged: {missing} of {len(row['seeds'])} seeds)" if missing < len(row["seeds"]) \
            else " (diverged)"
    return label


def _ablation_panel(ax, rows: list[dict], calls: dict, metric: str, scale: Callable[[float], float],
                    paper_change: Callable[[dict], float], band: float | None, xlabel: str) -> None:
    """One panel: per row, our change (bar, error bar, dots per seed) above the paper's (hatched bar)."""
    full = rows[0]
    base = full[f"{metric}_mean"]
    y = np.arange(len(rows))
    ours, ours_y, ours_err, colors = [], [], [], []
    dots = "ours: a seed"
    for i, row in enumerate(rows):
        if base is None or row[f"{metric}_mean"] is None:
            continue
        ours.append(scale(row[f"{metric}_mean"] - base))
        ours_err.append(abs(scale(row[f"{metric}_std"] or 0.0)))
        ours_y.append(i - 0.19)
        colors.append(CALL_COLORS.get(calls.get(row["row"]), CALL_COLORS[None]))
        seeds = [scale(v - base) for v in (row[metric] or {}).values()]
        ax.plot(seeds, np.full(len(seeds), i - 0.19), "o", ms=4.5, color="k", alpha=0.75, zorder=4,
                label=dots if seeds else None)
        dots = dots if not seeds else None          # one legend entry
    if band:
        ax.axvspan(-band, band, color="#9ecae1", alpha=0.35, lw=0, zorder=0,
                   label="±2 × full model's seed std: the spread the rule needs")
    ax.barh(ours_y, ours, 0.36, color=colors, alpha=0.8, xerr=ours_err, capsize=3, zorder=3,
            error_kw={"lw": 1.0, "zorder": 5}, label="ours: mean ± seed std")
    paper = [paper_change(r) for r in rows]
    ax.barh(y + 0.19, [0.0 if math.isnan(p) else p for p in paper], 0.36, facecolor="none", edgecolor=PAPER_EDGE,
            hatch="////", lw=0.9, zorder=2, label="the paper")
    for i, p in enumerate(paper):
        if math.isnan(p):        # a row of your own: the paper never ran it
            ax.text(0, i + 0.19, " no paper number", va="center", ha="left", fontsize=7.5, color=PAPER_EDGE)
    ax.axvline(0, color="k", lw=0.8)
    ax.set_yticks(y)
    ax.set_yticklabels([_row_label(r, calls.get(r["row"]), metric, full=i == 0) for i, r in enumerate(rows)],
                       fontsize=8.5)
    ax.set_ylim(len(rows) - 0.5, -0.5)              # the table's order, top to bottom
    ax.set_xlabel(xlabel, fontsize=9)
    ax.grid(axis="x", alpha=0.3)


def render_ablation(results: dict, *, title: str | None = None):
    """Two panels for an ablation table (the dict of :func:`.experiments.ablation`).

    Left: each row's change from the full model in validation perplexity, in percent of the full
    model's mean: ours as a bar (mean over seeds, coloured by its verdict) with the seed std as error
    bar and a dot per seed; below it the paper's change, ``(row - full) / full`` of its perplexities,
    as a hatched bar. Right: the same for recall accuracy, in percentage points (the paper's column is
    its reasoning accuracy). Rows in the table's order top to bottom, the full model at 0; the shaded
    band is ± twice the full model's seed std, the least gap the verdict rule can count. Each row's
    label carries its verdict for that panel's metric (:func:`.experiments.verdict`), and "diverged"
    where seeds did not finish. Static previews ``figures/08-hope-ablation.png``, ``08-titans-ablation.png``.
    """
    from matplotlib.patches import Patch

    _check_ablation(results, "render_ablation")
    rows = results["summary"]
    calls = {v["row"]: v for v in results["verdicts"]}
    full = rows[0]
    fig, (ax, ax2) = subplots(14.5, 1.8 + 0.5 * len(rows), ncols=2)
    base = full["val_ppl_mean"]
    paper_ppl = full["paper"]["ppl"]
    _ablation_panel(ax, rows, {k: v["ppl"]["call"] for k, v in calls.items()}, "val_ppl",
                    (lambda d: 100.0 * d / base) if base else (lambda d: d),
                    lambda r: 100.0 * (r["paper"]["ppl"] - paper_ppl) / paper_ppl,
                    200.0 * full["val_ppl_std"] / base if base and full["val_ppl_std"] else None,
                    "change from the full model\n(% of its perplexity; lower is better)")
    ax.set_title("validation perplexity" + (f"; full model {base:.2f}\n(the paper: its perplexity)" if base is not None
                                             else "\nthe full model has no finished seed: no change to draw"),
                 fontsize=9.5)
    acc_base, acc_std = full["recall_acc_mean"], full["recall_acc_std"]
    paper_acc = full["paper"]["acc"]
    _ablation_panel(ax2, rows, {k: v["acc"]["call"] for k, v in calls.items()}, "recall_acc",
                    lambda d: 100.0 * d, lambda r: r["paper"]["acc"] - paper_acc,
                    200.0 * acc_std if acc_std else None,
                    "change from the full model\n(percentage points; higher is better)")
    shown = f"; full model {100 * acc_base:.1f} %" if acc_base is not None else ""
    ax2.set_title(f"in-context recall accuracy{shown}\n(the paper: its reasoning accuracy)", fontsize=9.5)

    found = dict(zip(*reversed(ax.get_legend_handles_labels())))
    order = [name for name in ("ours: mean ± seed std", "ours: a seed", "the paper") if name in found]
    order += [name for name in found if name not in order]
    handles, labels = [found[name] for name in order], order
    for call in ("holds", "does not hold", "not testable at this scale"):     # what the bars' colours mean
        handles.append(Patch(color=CALL_COLORS[call], alpha=0.8))
        labels.append(f"verdict: {short_call(call)}")
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8, frameon=False,
               handlelength=1.6, columnspacing=1.2)
    fig.suptitle(title or ablation_title(results), fontsize=10)
    fig.tight_layout(rect=(0, 0.4 / (1.8 + 0.5 * len(rows)), 1, 1))        # room at the foot for the legend
    return finish(fig)


def render_context(results: dict, *, title: str | None = None, labels: Sequence[str] | None = None):
    """Loss by position (the dict of :func:`.experiments.context_use`, the paper's Fig. 10).

    Mean loss over seeds in bits per byte (nats / ln 2) at the end of every block of positions, one
    line per model (only ``labels`` when given), a band of ± the seed std, and the training context
    (``results["settings"]["context"]``) as a vertical dashed line: a curve that keeps falling right
    of it uses context the model never trained on. Static preview ``figures/08-context.png``.
    """
    _check_context(results, "render_context")
    models = results["models"]
    if labels is not None:
        known = [m["label"] for m in models]
        unknown = [label for label in labels if label not in known]
        if unknown:
            raise ValueError(f"no model {unknown} in these context results; they hold {known}.")
        if not labels:
            raise ValueError(f"labels is empty: choose from {known}.")
        models = [m for m in models if m["label"] in labels]
    x = np.asarray(results["positions"])
    fig, ax = subplots(8.0, 4.3)
    for m in models:
        if not m["loss_mean"]:         # every seed of this model diverged: nothing to draw, the legend says so
            ax.plot([], [], color=CONTEXT_COLORS.get(m["label"], "0.4"), label=f"{m['label']} (diverged)")
            continue
        mean, std = np.asarray(m["loss_mean"]) / LN2, np.asarray(m["loss_std"]) / LN2
        color = CONTEXT_COLORS.get(m["label"], "0.4")
        ax.plot(x, mean, "o-", ms=3, lw=1.5, color=color, label=f"{m['label']} ({m['read']})")
        ax.fill_between(x, mean - std, mean + std, color=color, alpha=0.18, lw=0)
    trained = results["settings"]["context"]
    ax.axvline(trained, color="k", ls="--", lw=1.0, label=f"training context ({trained} bytes)")
    ax.set_xlabel(f"position in the document (end of each block of {results['block']} bytes)")
    ax.set_ylabel("mean loss in the block (bits per byte)")
    ax.set_xlim(0, x[-1] + results["block"] / 2)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    st, n = results["settings"], len(results["seeds"])
    ax.set_title(title or (f"loss by position in {results['length']:,}-byte documents ({results['documents']} of "
                           f"them), mean ± std of {n} seed{'s' if n != 1 else ''}\n{st['preset']} preset, trained "
                           f"{st['steps']} steps on {trained}-byte windows"), fontsize=9.5)
    fig.tight_layout()
    return finish(fig)


def render_training(runs_by_label: Mapping[str, Sequence[dict]], *, title: str | None = None,
                    bytes_per_step: int | None = None):
    """Training loss (bits per byte) against training bytes, one line per run (a row's seeds share a colour).

    ``runs_by_label``: row label -> its run records (the ``"runs"`` entries of an ablation results dict,
    one per seed). A step is ``bytes_per_step`` bytes (batch x context of the results' settings); by
    default each run's own ``tokens / steps``. Runs that diverged have no curve and are named in the legend.
    """
    import matplotlib

    if not isinstance(runs_by_label, Mapping) or not runs_by_label:
        raise ValueError("render_training takes {row label: [run records]} with at least one label.")
    for label, runs in runs_by_label.items():
        if isinstance(runs, dict) or not isinstance(runs, Sequence) or not all(isinstance(r, dict) for r in runs):
            raise ValueError(f"the runs of {label!r} must be a list of run records (dicts), got {type(runs).__name__}.")
    fig, ax = subplots(8.0, 4.3)
    palette = matplotlib.colormaps["tab10"]
    drawn = 0
    for i, (label, runs) in enumerate(runs_by_label.items()):
        color = palette(i % 10)
        first = True
        diverged = [r.get("seed") for r in runs if "train_curve" not in r]
        for r in sorted((r for r in runs if "train_curve" in r), key=lambda r: r.get("seed", 0)):
            per_step = bytes_per_step or r["tokens"] / r["steps"]
            curve = r["train_curve"]
            name = label + (f" (diverged: seed {', '.join(map(str, diverged))})" if diverged else "")
            ax.plot(np.asarray(curve["step"]) * per_step, np.asarray(curve["loss"]) / LN2, color=color, lw=1.2,
                    alpha=0.85, label=name if first else None)
            first, drawn = False, drawn + 1
        if first and diverged:        # no curve at all: still say what happened to the row
            ax.plot([], [], color=color, label=f"{label} (diverged: every seed)")
    ax.set_xlabel("training bytes")
    ax.set_ylabel("training loss (bits per byte)")
    ax.ticklabel_format(axis="x", style="sci", scilimits=(0, 3))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title or f"training loss of {len(runs_by_label)} row{'s' if len(runs_by_label) != 1 else ''}: "
                          f"{drawn} runs, one line per seed (mean of each bin of steps)", fontsize=9.5)
    fig.tight_layout()
    return finish(fig)


# ---------------------------------------------------------------------------------------------
# Static previews


def _quiet(*_: Any) -> None:
    pass


TINY = dict(preset="tiny", steps=4, batch=2, context=32, eval_bytes=256)


def _placeholder(which: str, what: str) -> str:
    return (f"PLACEHOLDER ({ex.RESULTS[which]} not written yet): {what}; run "
            f"`python -m hope_lite.lessons.ch08_paper_claims.experiments "
            f"{'context' if which == 'context' else 'ablation --table ' + which} ...`")


def _ablation_figure(which: str):
    if find_in_repository(ex.RESULTS[which]) is not None:
        return render_ablation(ex.load_results(which))
    results = ex.ablation(which, (0, 1), recall=ex.Recall(steps=2, batch=4, test=16), out=None, log=_quiet, **TINY)
    return render_ablation(results, title=_placeholder(which, "tiny preset, 4 steps, 2 seeds"))


def _context_figure():
    if find_in_repository(ex.RESULTS["context"]) is not None:
        return render_context(ex.load_results("context"))
    results = ex.context_use((0, 1), out=None, log=_quiet, length=512, block=64, **TINY)
    return render_context(results, title=_placeholder("context", "tiny preset, 4 steps, 2 seeds, 512-byte documents"))


#: the rows the explorer starts with (and its static preview shows): the full model and two rows per table
START_ROWS = {"hope": ("full", "plain_gd", "no_cms"), "titans": ("full", "no_momentum", "no_weight_decay")}


def _explorer_preview():
    """The explorer's first figure at its start values: the HOPE table's START_ROWS, every seed."""
    if find_in_repository(ex.RESULTS["hope"]) is not None:
        results, title = ex.load_results("hope"), None
    else:
        results = ex.ablation("hope", (0, 1), rows=START_ROWS["hope"], recall=ex.Recall(steps=2, batch=4, test=16),
                              out=None, log=_quiet, **TINY)
        title = _placeholder("hope", "tiny preset, 4 steps, 2 seeds")
    st = results["settings"]
    chosen = [r for r in results["summary"] if r["row"] in START_ROWS["hope"]]
    runs = {r["label"]: [run for run in results["runs"] if run["row"] == r["row"]] for r in chosen}
    return render_training(runs, bytes_per_step=st["batch"] * st["context"],
                           title=title or f"HOPE table: training loss of {', '.join(runs)}, one line per seed "
                                          f"({st['preset']} preset, {st['steps']} steps)")


FIGURES: dict[str, Callable[[], Any]] = {
    "08-hope-ablation.png": lambda: _ablation_figure("hope"),
    "08-titans-ablation.png": lambda: _ablation_figure("titans"),
    "08-context.png": _context_figure,
    "08-claims-explorer.png": _explorer_preview,
}
