"""Figures of notebook 09 (memory benchmarks): pure functions that return a matplotlib Figure.

* :func:`render_spectrum` draws the designed experiment (:func:`.spectrum.spectrum_experiment`): the error on
  task A and on task B along the stream A | B | A for every learner (mean over seeds), and what resetting or
  freezing each CMS level costs on A at the return.
* :func:`render_replay` draws one replayed stream (:func:`replay`, what the explorer shows): when each level
  updates, and each level's own error on A and on B as the stream goes, beside the whole memory's.
* :func:`render_benchmark` draws a benchmark family (:func:`.benchmarks.run_family`): accuracy per task
  (and test bin), one bar per model (mean over seeds, the seed std as error bar, a dot per seed), the
  paper's HOPE number as a black tick, chance as a dashed line where a task has one, and each task
  labelled with the verdict of its claims.

:data:`FIGURES` regenerates the static previews the notebook links (``python -m hope_lite.lessons.figures
--only 09-formal.png``), each from its committed ``results/09-*.json``; without it, from a quick tiny-preset
run, and its title says so. Figures are closed in pyplot before they are returned
(:mod:`hope_lite.lessons.plotting`).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..ch06_continuum_memory.experiments import expected_update_times
from ..ch08_paper_claims.figures import short_call
from ..plotting import finish, subplots
from ..results import find_in_repository
from ..task_training import TaskTraining
from . import benchmarks as bm
from . import continual as cl
from . import levels as lv
from . import needle_levels as nl
from . import spectrum as sp

__all__ = ["MODEL_COLORS", "CHANCE", "LEARNER_COLORS", "CONTINUAL_COLORS", "LEVEL_COLORS", "benchmark_title", "render_benchmark", "render_needles", "render_continual", "render_levels",
           "render_spectrum", "replay", "render_replay", "FIGURES"]

MODEL_COLORS = {"hope": "#d95f02", "hope-attention": "#e6ab02", "transformer": "#1b9e77", "titans": "#7570b3"}
LEARNER_COLORS = {"cms": "#d95f02", "cms-flat": "#e6ab02", "mlp-fast": "#1b9e77", "mlp-slow": "#7570b3"}
CONTINUAL_COLORS = {"cms": "#d95f02", "one-level": "#e6ab02", "mlp": "#1b9e77", "ewc": "#386cb0", "icl": "#7570b3"}
LEVEL_COLORS = ("#1b9e77", "#386cb0", "#d95f02", "#e7298a", "#666666")       # fastest level first
CHANCE = {"formal": 50.0}
"""Accuracy a blind guess reaches, per family where one number holds for every task (a yes/no answer)."""


def benchmark_title(results: dict) -> str:
    """The default title of :func:`render_benchmark`: the paper's table, and our budget."""
    tr, n = results["training"], len(results["seeds"])
    return (f"the paper's {results['source']}\nours: {results['preset']} preset with {bm.shape_words(results['shape'])}, {n} seed"
            f"{'s' if n != 1 else ''}, {tr['steps']} steps x {tr['batch']} sequences per run")


def render_benchmark(results: dict, *, title: str | None = None):
    """Accuracy per task of a family, one panel per test bin: grouped bars by model (see the module docstring).
    Static previews ``figures/09-formal.png`` and ``09-mad.png``."""
    if not isinstance(results, dict) or results.get("kind") != "benchmark" or not results.get("summary"):
        kind = results.get("kind") if isinstance(results, dict) else type(results).__name__
        raise ValueError(f"render_benchmark takes the dict returned by run_family() or load_results() (kind "
                         f"'benchmark'), got {kind!r}.")
    models, tasks = results["models"], results["tasks"]
    bins = list(dict.fromkeys(b for t in tasks for b in t["bins"]))
    by_key = {(r["task"], r["bin"], r["model"]): r for r in results["summary"]}
    calls = {}
    for c in results["claims"]:
        calls.setdefault((c["task"], c["bin"]), []).append(f"vs {bm.LABELS[c['against']]}:\n{short_call(c['call'])}")
    fig, axes = subplots(max(8.0, 1.9 * len(tasks) + 1.5), 0.9 + 3.7 * len(bins), nrows=len(bins), squeeze=False)
    width = 0.8 / len(models)
    for ax, bin in zip(axes[:, 0], bins):
        for g, task in enumerate(tasks):
            for i, m in enumerate(models):
                r = by_key.get((task["name"], bin, m))
                if r is None or r["acc_mean"] is None:
                    continue
                x = g + (i - (len(models) - 1) / 2) * width
                ax.bar(x, r["acc_mean"], width * 0.92, yerr=r["acc_std"], color=MODEL_COLORS[m], alpha=0.85,
                       capsize=2, label=bm.LABELS[m] if g == 0 else None)
                seeds = list(r["acc"].values())
                ax.scatter([x] * len(seeds), seeds, s=8, color="black", zorder=3,
                           label="a seed" if g == 0 and i == 0 else None)
                if r.get("paper") is not None:             # the paper's number for this model, task and bin
                    ax.plot([x - width * 0.45, x + width * 0.45], [r["paper"], r["paper"]], color="black", lw=2.2,
                            label="the paper" if "the paper" not in [h.get_label() for h in ax.lines] else None)
        if results["family"] in CHANCE:
            ax.axhline(CHANCE[results["family"]], ls="--", lw=1, color="0.5", label="chance")
        names = [task["label"] + "\n" + "\n".join(calls.get((task["name"], bin), [])) for task in tasks]
        ax.set_xticks(range(len(tasks)), names, fontsize=8)
        ax.set_xlim(-0.6, len(tasks) - 0.4)
        ax.set_ylim(0, 108)
        ax.set_ylabel("accuracy (%)")
        if bin != "test":
            ax.set_title(f"test bin: {bin}", fontsize=9.5)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8, frameon=False)
    fig.suptitle(title or benchmark_title(results), fontsize=10)
    fig.tight_layout(rect=(0, 0.45 / (0.9 + 3.7 * len(bins)), 1, 1))
    return finish(fig)


_BRIEF = {"holds": "holds", "does not hold": "fails", "not testable at this scale": "n.t."}


def render_needles(results: dict, *, title: str | None = None):
    """The needle family: whole-answer accuracy against haystack length, one panel per needle kind, a line per model
    (mean over seeds, the seed std as a band, a dot per seed), the paper's and Titans' numbers as black-edged markers,
    and under each panel the verdicts against each compared model, bin by bin. Static preview
    ``figures/09-niah.png``."""
    if not isinstance(results, dict) or results.get("kind") != "benchmark" or not results.get("shared"):
        kind = results.get("kind") if isinstance(results, dict) else type(results).__name__
        raise ValueError(f"render_needles takes the needle family's results (run_family('niah') or "
                         f"load_results('niah')), got {kind!r}.")
    models, tasks = results["models"], results["tasks"]
    by_key = {(r["task"], r["bin"], r["model"]): r for r in results["summary"]}
    fig, axes = subplots(4.2 * len(tasks), 4.6, ncols=len(tasks), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        bins = list(task["bins"])
        lengths = [task["bins"][b][1] for b in bins]
        for m in models:
            rows = [by_key.get((task["name"], b, m)) for b in bins]
            shown = [(x, r) for x, r in zip(lengths, rows) if r is not None and r["acc_mean"] is not None]
            if not shown:
                continue
            xs = [x for x, _ in shown]
            mean = np.array([r["acc_mean"] for _, r in shown])
            std = np.array([r["acc_std"] for _, r in shown])
            ax.plot(xs, mean, "o-", color=MODEL_COLORS[m], lw=1.6, ms=3.5, label=bm.LABELS[m])
            ax.fill_between(xs, mean - std, mean + std, color=MODEL_COLORS[m], alpha=0.15, lw=0)
            for x, r in shown:
                ax.scatter([x] * len(r["acc"]), list(r["acc"].values()), s=6, color=MODEL_COLORS[m], alpha=0.6)
        for m, numbers in task["paper"].items():       # Titans' Table 2, the paper's Table 1
            xs = [task["bins"][b][1] for b in numbers if b in task["bins"]]
            ax.scatter(xs, [numbers[b] for b in numbers if b in task["bins"]], marker="D", s=30,
                       color=MODEL_COLORS.get(m, "0.5"), edgecolors="black", zorder=4,
                       label=f"{bm.LABELS[m]}, paper" if task is tasks[0] or m not in tasks[0]["paper"] else None)
        ax.set_xscale("log", base=2)
        ax.set_xticks(lengths, bins)
        ax.set_ylim(-4, 104)
        ax.set_xlabel("haystack length (bytes)")
        verdicts = [f"vs {bm.LABELS[other]}: " + ", ".join(
            f"{c['bin']} {_BRIEF[c['call']]}" for c in results["claims"]
            if c["task"] == task["name"] and c["against"] == other) for other in dict.fromkeys(
            c["against"] for c in results["claims"])]
        ax.set_title(f"{task['label']}\n" + "\n".join(verdicts), fontsize=8)
    axes[0, 0].set_ylabel("whole answers right (%)")
    handles, labels = [], []
    for ax in axes[0]:
        for h, l in zip(*ax.get_legend_handles_labels()):
            if l not in labels:
                handles.append(h), labels.append(l)
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 4), fontsize=8, frameon=False)
    fig.suptitle((title or benchmark_title(results)) + "\nverdicts per length: holds, fails (does not hold), n.t. (not "
                 "testable at this scale)", fontsize=10)
    fig.tight_layout(rect=(0, 0.13, 1, 1))
    return finish(fig)


def render_continual(results: dict, *, title: str | None = None):
    """The continual-learning experiment (:func:`.continual.continual_experiment`): one forgetting matrix per learner
    (accuracy on task j, columns, after learning task i, rows; mean over seeds; above the diagonal: classes not seen
    yet), and the final average accuracy of every learner and reference (mean, seed std, a dot per seed) with each
    claim's verdict. Static preview ``figures/09-continual.png``."""
    if not isinstance(results, dict) or results.get("kind") != "continual" or not results.get("summary"):
        kind = results.get("kind") if isinstance(results, dict) else type(results).__name__
        raise ValueError(f"render_continual takes the dict returned by continual_experiment() or "
                         f"continual.load_results() (kind 'continual'), got {kind!r}.")
    learners = results["summary"]["learners"]
    references = results["summary"].get("references", {})
    fig, axes = subplots(2.5 * len(learners), 8.0, ncols=len(learners), squeeze=False)
    fig.subplots_adjust(left=0.05, right=0.98, top=0.86, bottom=0.5, wspace=0.35)
    ax_bars = fig.add_axes((0.3, 0.07, 0.62, 0.3))                # the final accuracies, under the matrices
    for ax, (name, row) in zip(axes[0], learners.items()):
        matrix = np.array(row["matrix"]["mean"])
        ax.imshow(matrix, vmin=0, vmax=1, cmap="viridis")
        for i in range(matrix.shape[0]):
            for j in range(matrix.shape[1]):
                ax.text(j, i, f"{matrix[i, j]:.2f}".lstrip("0"), ha="center", va="center", fontsize=6.5,
                        color="white" if matrix[i, j] < 0.55 else "black")
        ax.set_title(f"{results['labels'][name]}\nfinal {row['final_accuracy']['mean']:.3f}, forgetting "
                     f"{row['forgetting']['mean']:.3f}", fontsize=8)
        ax.set_xlabel("task tested", fontsize=8)
        ax.set_xticks(range(matrix.shape[1]))
        ax.set_yticks(range(matrix.shape[0]))
    axes[0, 0].set_ylabel("after learning task", fontsize=8)
    ax = ax_bars
    bars = [(results["labels"][n], r["final_accuracy"], CONTINUAL_COLORS.get(n, "0.45")) for n, r in learners.items()]
    bars += [(results["labels"][n], r["final_accuracy"], "0.8") for n, r in references.items()]
    for k, (label, stat, color) in enumerate(bars):
        ax.barh(k, stat["mean"], xerr=stat["std"], color=color, capsize=2)
        ax.scatter(stat["values"], [k] * len(stat["values"]), s=7, color="black", zorder=3)
    ax.set_yticks(range(len(bars)), [b[0] for b in bars], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("final average accuracy", fontsize=8)
    ax.set_title("claims: " + ", ".join(f"{c['id']} {short_call(c['verdict'])}" for c in results["claims"]), fontsize=8)
    fig.suptitle(title or "class-incremental stream: accuracy on every task after each new one "
                 f"({len(results['seeds'])} seeds; a reference bar in grey)", fontsize=10)
    return finish(fig)


#: per kind of levels-ablation results: its module, (x metric, x label), (y metric, y label), the stream's name
_ABLATIONS = {
    lv.KIND: (lv, ("samples_per_second", "training samples per second (one thread)"),
              ("final_accuracy", "final average accuracy"), "the continual stream"),
    # the three slowest periods train as one model: they differ in reading speed, not in training speed
    nl.KIND: (nl, ("reading_bytes_per_second", "bytes read per second, longest haystacks (one thread)"),
              ("long_accuracy", "answer bytes right, 1K-8K (long context)"), "the pass-key needle"),
}


def render_levels(results: dict, *, title: str | None = None):
    """A levels ablation (:func:`.levels.levels_experiment` on the continual stream, or
    :func:`.needle_levels.needle_levels_experiment` on the needle): accuracy against throughput (training samples
    per second on the stream, bytes read per second on the needle), one point per configuration (mean over seeds,
    the seed std as error bars), the number-of-levels axis joined by a line and the slowest-period axis by another.
    Static previews ``figures/09-levels.png`` and ``figures/09-levels-niah.png``."""
    if not isinstance(results, dict) or results.get("kind") not in _ABLATIONS or not results.get("summary"):
        kind = results.get("kind") if isinstance(results, dict) else type(results).__name__
        raise ValueError(f"render_levels takes the dict returned by levels_experiment(), needle_levels_experiment() "
                         f"or their load_results() (kind 'levels' or 'levels-niah'), got {kind!r}.")
    module, (x_key, x_label), (y_key, y_label), stream = _ABLATIONS[results["kind"]]
    rows = {n: r for n, r in results["summary"]["configurations"].items() if y_key in r}    # a diverged one: none
    fig, ax = subplots(7.5, 4.6)
    for axis, color, what in ((module.LEVELS_AXIS, "#d95f02", "number of levels"),
                              (module.SLOWEST_AXIS, "#386cb0", "slowest period (3 levels)")):
        shown = [n for n in axis if n in rows]
        xs = [rows[n][x_key]["mean"] for n in shown]
        ys = [rows[n][y_key]["mean"] for n in shown]
        ax.errorbar(xs, ys, xerr=[rows[n][x_key]["std"] for n in shown], yerr=[rows[n][y_key]["std"] for n in shown],
                    fmt="o-", color=color, capsize=2, lw=1.2, label=what)
        for j, (n, x, y) in enumerate(zip(shown, xs, ys)):
            # the slowest-period points can sit on one another: their labels go below, one line each
            dy = 5 if axis is module.LEVELS_AXIS else -12 - 10 * j
            ax.annotate(f"{n} {tuple(rows[n]['periods'])}", (x, y), textcoords="offset points", xytext=(5, dy),
                        fontsize=7.5, color=color)
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    ax.legend(fontsize=8, frameon=False)
    ax.set_title("claims: " + ", ".join(f"{c['id']} {short_call(c['verdict'])}" for c in results["claims"]), fontsize=8)
    env = results.get("environment", {})
    fig.suptitle(title or f"levels ablation on {stream} ({len(results['seeds'])} seeds; load average "
                          f"{env.get('load_average_at_start')} when the run started)", fontsize=10)
    fig.tight_layout()
    return finish(fig)


def _phases(ax, switch: int, back: int) -> None:
    """Shade task B's phase and label the three phases on an axis whose x is the token."""
    ax.axvspan(switch, back, color="0.9", zorder=0)
    ax.axvline(back, color="0.4", lw=0.8, ls=":")


def _check_spectrum(results: Any) -> None:
    if not isinstance(results, dict) or results.get("kind") != "spectrum" or not results.get("runs"):
        kind = results.get("kind") if isinstance(results, dict) else type(results).__name__
        raise ValueError(f"render_spectrum takes the dict returned by spectrum_experiment() or spectrum.load_results() "
                         f"(kind 'spectrum'), got {kind!r}.")


def render_spectrum(results: dict, *, title: str | None = None):
    """Three panels for the designed experiment: the error on A and on B along the stream, every learner (mean
    over seeds, a band of ± one seed std), task B's phase shaded; and per CMS level, the loss on A at the return
    when the level is reset at the return or frozen during B (mean ± std, a dot per seed). Static preview
    ``figures/09-spectrum.png``."""
    _check_spectrum(results)
    tokens, switch, back = np.asarray(results["tokens"]), results["switch"], results["return"]
    fig, axes = subplots(15.0, 4.4, ncols=3)
    for ax, curve, task in ((axes[0], "curve_a", "A"), (axes[1], "curve_b", "B")):
        for name in results["runs"][0]["learners"]:
            values = np.array([run["learners"][name][curve] for run in results["runs"]], dtype=float)
            mean, std = values.mean(0), values.std(0, ddof=1) if len(values) > 1 else np.zeros(values.shape[1])
            ax.plot(tokens, mean, color=LEARNER_COLORS.get(name, "0.3"), lw=1.6, label=results["labels"].get(name, name))
            ax.fill_between(tokens, mean - std, mean + std, color=LEARNER_COLORS.get(name, "0.3"), alpha=0.2, lw=0)
        _phases(ax, switch, back)
        ax.set_yscale("log")
        ax.set_xlabel("token of the stream (A | B shaded | A again)")
        ax.set_ylabel(f"error on task {task} (relative, held-out)")
        ax.set_title(f"error on task {task}", fontsize=10)
    axes[0].legend(fontsize=8, frameon=False)
    ax = axes[2]
    summary = results["summary"]
    cms = summary["learners"]["cms"]
    levels = len(cms["periods"])
    for k, (change, label) in enumerate((("reset", "reset at the return"), ("freeze", "frozen during B"))):
        rows = summary["changes"].get(change, {})
        for l in range(levels):
            stat = rows.get(str(l), {}).get("loss")
            if stat is None:
                continue
            x = l + (k - 0.5) * 0.38
            ax.bar(x, stat["mean"], 0.36, yerr=stat["std"], capsize=2, color=LEVEL_COLORS[l % len(LEVEL_COLORS)],
                   alpha=0.85 if change == "reset" else 0.35, hatch=None if change == "reset" else "//",
                   label=label if l == 0 else None)
            ax.scatter([x] * len(stat["values"]), stat["values"], s=8, color="black", zorder=3)
    ax.axhline(0, color="0.3", lw=0.8)
    ax.set_xticks(range(levels), [f"level {l + 1}\nperiod {p}" for l, p in enumerate(cms["periods"])], fontsize=8)
    ax.set_ylabel("error on A at the return, changed CMS - CMS")
    ax.set_title("what each level keeps: the cost on A of\nresetting it (solid) or freezing it during B (hatched)",
                 fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    cfg = results["setting"]
    fig.suptitle(title or f"a stream A {cfg['tokens_a']} | B {cfg['tokens_b']} | A {cfg['tokens_return']} tokens, "
                          f"width {cfg['width']}, {len(results['seeds'])} seeds; CMS periods "
                          f"{'/'.join(map(str, cms['periods']))}, every learner of the same parameter count",
                 fontsize=10)
    fig.tight_layout()
    return finish(fig)


def replay(learner: str = "cms", change: tuple[str, int] | None = None, seed: int = 0,
           setting: dict | None = None) -> dict:
    """One learner on one seed's stream, with each level's own error at every point (and ``change`` applied):
    :func:`.spectrum.run_learner` with ``per_level=True``, plus ``"learner"``, ``"change"``, ``"seed"``,
    ``"periods"``, ``"tokens"``, ``"switch"``, ``"return"`` and ``"updates"`` (per level, the update times, eq 71)."""
    cfg = sp.check_setting(setting or {})
    stream = sp.spectrum_stream(seed, cfg)
    memory = sp.make_learner(learner, cfg, seed)
    run = sp.run_learner(memory, stream, cfg["every"], change, per_level=True)
    T = stream["x"].shape[1]
    periods = [block.period for block in memory.blocks]
    run.update({"learner": learner, "change": change, "seed": seed, "periods": periods,
                "tokens": list(range(0, T + 1, cfg["every"])), "switch": stream["switch"], "return": stream["return"],
                "updates": [expected_update_times(p, T) for p in periods]})
    return run


def render_replay(run: dict, *, title: str | None = None):
    """One replayed stream (:func:`replay`): top, a tick at every update of every level; below, the error on A and
    on B of the whole memory (black) and of each level alone (coloured, fastest first), task B's phase shaded."""
    tokens, switch, back = np.asarray(run["tokens"]), run["switch"], run["return"]
    levels = len(run["periods"])
    fig, axes = subplots(11.0, 7.2, nrows=3, sharex=True, gridspec_kw={"height_ratios": [0.55 + 0.25 * levels, 2, 2]})
    ax = axes[0]
    for l, (period, times) in enumerate(zip(run["periods"], run["updates"])):
        ax.eventplot([times], lineoffsets=l, linelengths=0.7, colors=LEVEL_COLORS[l % len(LEVEL_COLORS)],
                     linewidths=0.8 if len(times) < 200 else 0.4)
    _phases(ax, switch, back)
    ax.set_yticks(range(levels), [f"level {l + 1} (every {p})" for l, p in enumerate(run["periods"])], fontsize=8)
    ax.set_ylim(-0.6, levels - 0.4)
    ax.invert_yaxis()
    ax.set_title("when each level updates (eq 71: at the last token of each of its chunks)", fontsize=9.5)
    for ax, whole, per, task in ((axes[1], "curve_a", "levels_curve_a", "A"), (axes[2], "curve_b", "levels_curve_b", "B")):
        per_level = np.asarray(run[per], dtype=float)
        for l in range(levels):
            ax.plot(tokens, per_level[:, l], color=LEVEL_COLORS[l % len(LEVEL_COLORS)], lw=1.2,
                    label=f"level {l + 1} alone")
        ax.plot(tokens, run[whole], color="black", lw=2, label="the whole memory (mean of the levels)")
        _phases(ax, switch, back)
        ax.set_yscale("log")
        ax.set_ylabel(f"error on task {task}")
    axes[1].legend(fontsize=8, frameon=False, ncol=levels + 1)
    axes[2].set_xlabel("token of the stream (A | B shaded | A again)")
    change = run.get("change")
    what = "" if change is None else f", level {change[1] + 1} {'frozen during B' if change[0] == 'freeze' else 'reset at the return'}"
    fig.suptitle(title or f"{sp.LABELS.get(run['learner'], run['learner'])}{what}, seed {run['seed']}", fontsize=10.5)
    fig.tight_layout()
    return finish(fig)


def _quiet(*_: Any) -> None:
    pass


def _benchmark_figure(family: str):
    render = render_needles if bm.FAMILIES[family].shared else render_benchmark
    if find_in_repository(bm.RESULTS[family]) is not None:
        return render(bm.load_results(family))
    quick = bm.stand_in(family, [t.name for t in bm.FAMILIES[family].tasks[:2]], TaskTraining(steps=2, batch=4, lr=1e-3),
                        test_size=16)
    results = bm.run_family(quick, (0, 1), preset="tiny", out=None, log=_quiet)
    return render(results, title=f"PLACEHOLDER ({bm.RESULTS[family]} not written yet): tiny preset, 2 steps, "
                                           f"2 seeds; run `python -m hope_lite.lessons.ch09_memory_benchmarks."
                                           f"benchmarks {family} ...`")


def _continual_figure():
    if find_in_repository(cl.RESULTS) is not None:
        return render_continual(cl.load_results())
    results = cl.continual_experiment((0, 1), tune=False, tried=False, setting=cl.FAST)
    return render_continual(results, title=f"PLACEHOLDER ({cl.RESULTS} not written yet): the FAST setting, 2 seeds; "
                                           f"run `{cl.COMMAND}`")


def _levels_figure():
    if find_in_repository(lv.RESULTS) is not None:
        return render_levels(lv.load_results())
    results = lv.levels_experiment((0, 1), tune=False, setting=lv.FAST)
    return render_levels(results, title=f"PLACEHOLDER ({lv.RESULTS} not written yet): the FAST stream, 2 seeds; "
                                        f"run `{lv.COMMAND}`")


def _needle_levels_figure():
    if find_in_repository(nl.RESULTS) is not None:
        return render_levels(nl.load_results())
    results = nl.needle_levels_experiment((0, 1), fast=True, out=None)
    return render_levels(results, title=f"PLACEHOLDER ({nl.RESULTS} not written yet): the tiny FAST setting, 2 seeds; "
                                        f"run `{nl.COMMAND}`")


def _spectrum_figure():
    if find_in_repository(sp.RESULTS) is not None:
        return render_spectrum(sp.load_results())
    results = sp.spectrum_experiment((0, 1), tried=False, trade=False, setting=sp.FAST)
    return render_spectrum(results, title=f"PLACEHOLDER ({sp.RESULTS} not written yet): the FAST setting, 2 seeds; "
                                          f"run `{sp.COMMAND}`")


FIGURES: dict[str, Callable[[], Any]] = {
    "09-formal.png": lambda: _benchmark_figure("formal"),
    "09-mad.png": lambda: _benchmark_figure("mad"),
    "09-niah.png": lambda: _benchmark_figure("niah"),
    "09-continual.png": _continual_figure,
    "09-levels.png": _levels_figure,
    "09-levels-niah.png": _needle_levels_figure,
    "09-spectrum.png": _spectrum_figure,
    "09-spectrum-explorer.png": lambda: render_replay(replay("cms", None, 0)),
}
