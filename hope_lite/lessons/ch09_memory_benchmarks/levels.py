"""The levels ablation on the continual-learning stream: how many CMS levels, and how slow the slowest one?

The paper's Fig. 7 (docs/paper.md) ablates HOPE's continuum memory: more levels give a better model,
and of the slowest level's chunk sizes 512 / 2K / 8K, 512 is best while 2K is about as good at a much
lower cost ("a higher lowest frequency: worse but cheaper"). The paper measures this on language
modelling and needles; this module measures it on the **continual** stream of
:mod:`.continual` (:mod:`.needle_levels` asks the same on the pass-key needle)::

    python -m hope_lite.lessons.ch09_memory_benchmarks.levels run --seeds 0 1 2 --jobs 2 \\
        --json results/09-levels.json
    python -m hope_lite.lessons.ch09_memory_benchmarks.levels table results/09-levels.json

**The stream and the learner are continual.py's**, unchanged: its :data:`~.continual.SETTING` (5 tasks of 2
classes, 200 single-sample steps a task, one pass), its ``cms`` learner (:class:`~.continual.LevelledClassifier`,
a residual trunk of K levels, each with its own part of the readout) and its optimizer
(:class:`~.continual.PeriodicSGD`, eq 71: level l sums its gradient over a chunk of C_l steps and applies
the mean once, clipped)::

    theta_l <- theta_l - eta * clip((1 / C_l) sum_{t in chunk} grad_l loss_t)   when (t + 1) % C_l == 0

Only the periods change, so that every difference below is the spectrum's (:data:`CONFIGURATIONS`):

* **the number of levels**, K = 1 .. 4: periods (1,), (1, 8), (1, 8, 64), (1, 8, 64, 512). The hidden width
  of a level is the setting's, so a level adds its parameters (:func:`cms_parameters`: 2,442 a level here,
  7,326 at K = 3), as the paper's levels do; the count is recorded per configuration. K = 4's slowest level
  updates once in the whole stream (1000 steps);
* **the slowest period** at K = 3: (1, 8, 16), (1, 8, 64), (1, 8, 256): the slowest level updates 12-13,
  3 and 0-1 times a task (:func:`expected_updates`). (1, 8, 64) is shared by both axes and run once.

**One tuning rule**, continual.py's (:func:`tuning_sweep`): each configuration's rate is the value of
:data:`~.continual.RATE_GRID` with the best mean final accuracy on :data:`~.continual.TUNING_SEEDS`; the
sweep is kept in the results file. The reported seeds (0 1 2) are never tuned on. (1, 8, 64) is continual.py's
``cms``: its sweep and its runs are the same numbers as continual.py's (tested against both committed files).

**The numbers** per configuration and seed: continual.py's final accuracy, average forgetting and learning
accuracy (:func:`~.continual.final_accuracy`, ...), the parameters, the updates of each level in each task,
the **updates applied** (summed over levels and tasks: the cost the paper's "cheaper" refers to; every level
has the same size here, so updates are proportional to the parameters moved) and the **throughput**: training
samples per second of the training loop alone (the tests after each task are not timed: continual.py's
``train_learner(clock=...)``), one torch thread a process. The throughput is a wall-clock reading: it depends on
what else the machine runs, which the results file's ``environment`` records (jobs, load average at the
start); the runs are ordered seed after seed so that every configuration meets the same load. Note what eq 71
saves: every level's gradient is still computed at every step (it is summed over the chunk), so a slow level
saves its update only (clip and apply), not its forward or backward pass.

**The claims** (:data:`CLAIMS`), each judged by :func:`hope_lite.lessons.ch08_paper_claims.experiments.rule`
(a gap, difference of the means, counts when it exceeds twice the seed spread, the larger sample std):
(1) 4 levels are more accurate than 1; (2)-(4) each added level helps (K = 2 > 1, 3 > 2, 4 > 3); (5) a more
frequent slowest level is more accurate (the paper's "512 best"): (1, 8, 16) over (1, 8, 256); (6) the slower
slowest level is cheaper: (6a) fewer updates applied (an exact count, the same on every seed: no spread),
(6b) more samples per second.

**Budget**: the sweep's 90 runs and the 18 reported runs took 47 s with ``--jobs 2`` on a quiet machine (load
average 0.65 at the start); beside another two-process job and a notebook run on the same two cores (load average
4.1) they took 221 s, with the same accuracies and update counts. ``--fast`` (continual.py's
:data:`~.continual.FAST` stream, no tuning) takes seconds.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from .._args import require_int, require_seeds
from .._cli import experiment_parser, run_command
from ..ch08_paper_claims.experiments import rule
from ..parallel import kept, run_all
from ..results import environment, jsonable, read_results, write_results
from .continual import (FAST, RATE_GRID, SETTING, TUNING_SEEDS, _best, _cell, _check_seed, _stat,
                        check_setting, continual_stream, format_claims, train_learner, updates_per_task)

__all__ = ["SETTING", "FAST", "CONFIGURATIONS", "LABELS", "LEVELS_AXIS", "SLOWEST_AXIS", "CLAIMS", "RESULTS", "RUNS",
           "FORMAT", "KIND", "COMMAND", "check_periods", "periods_of", "check_configurations", "level_setting",
           "cms_parameters", "expected_updates", "configuration_run", "tuning_sweep", "summarize", "claims",
           "levels_experiment", "load_results", "format_levels", "format_sweep", "main"]

FORMAT = 1
KIND = "levels"
RESULTS = "results/09-levels.json"
#: where the command line keeps finished runs (an interrupted command resumes from them)
RUNS = "runs/levels"
COMMAND = ("python -m hope_lite.lessons.ch09_memory_benchmarks.levels run --seeds 0 1 2 --jobs 2 "
           "--json results/09-levels.json")

#: name -> periods of the CMS levels, fastest first, in optimizer steps
CONFIGURATIONS: dict[str, tuple[int, ...]] = {
    "k1": (1,), "k2": (1, 8), "k3": (1, 8, 64), "k4": (1, 8, 64, 512), "k3-16": (1, 8, 16), "k3-256": (1, 8, 256)}
LABELS = {"k1": "1 level", "k2": "2 levels", "k3": "3 levels (continual.py's cms)", "k4": "4 levels",
          "k3-16": "3 levels, slowest period 16", "k3-256": "3 levels, slowest period 256"}
#: the two axes of the ablation; "k3" is on both
LEVELS_AXIS = ("k1", "k2", "k3", "k4")
SLOWEST_AXIS = ("k3-16", "k3", "k3-256")

#: (id, key, a, b, metric, direction, text): the gap is mean(a) - mean(b) of ``metric``; the paper's direction is
#: +1 (a higher) or -1 (a lower)
CLAIMS = (
    ("(1)", "four_over_one", "k4", "k1", "final_accuracy", +1, "4 levels are more accurate than 1 level"),
    ("(2)", "two_over_one", "k2", "k1", "final_accuracy", +1, "a second level helps: 2 levels more accurate than 1"),
    ("(3)", "three_over_two", "k3", "k2", "final_accuracy", +1, "a third level helps: 3 levels more accurate than 2"),
    ("(4)", "four_over_three", "k4", "k3", "final_accuracy", +1, "a fourth level helps: 4 levels more accurate than 3"),
    ("(5)", "frequent_slowest", "k3-16", "k3-256", "final_accuracy", +1,
     "a more frequent slowest level is more accurate (the paper's \"512 best\"): periods (1, 8, 16) over (1, 8, 256)"),
    ("(6a)", "slower_fewer_updates", "k3-256", "k3-16", "updates_applied", -1,
     "the slower slowest level is cheaper: (1, 8, 256) applies fewer updates than (1, 8, 16) "
     "(an exact count, the same on every seed: no spread)"),
    ("(6b)", "slower_more_samples", "k3-256", "k3-16", "samples_per_second", +1,
     "the slower slowest level is cheaper: (1, 8, 256) trains more samples per second than (1, 8, 16)"),
)

_NUMBERS = ("final_accuracy", "forgetting", "learning_accuracy")


# ---------------------------------------------------------------------------------------------
# Configurations and the setting


def check_periods(periods: Any) -> tuple[int, ...]:
    """``periods`` as a tuple of K >= 1 ints, fastest first, each a multiple of the one before (eq 71's chunks
    nest); a bad value is a ValueError that says what to change. One level is allowed (unlike a spectrum)."""
    if isinstance(periods, (int, str)) or not isinstance(periods, Sequence) or not periods:
        raise ValueError(f"periods must list one period or more in optimizer steps, fastest first, e.g. (1,) or "
                         f"(1, 8, 64); got {periods!r}.")
    periods = tuple(require_int("every period", p) for p in periods)
    for fast, slow in zip(periods[:-1], periods[1:]):
        if slow <= fast or slow % fast:
            raise ValueError(f"periods must be increasing, fastest first, each a multiple of the one before, "
                             f"e.g. (1, 8, 64); got {periods}.")
    return periods


def periods_of(configuration: str | Sequence[int]) -> tuple[int, ...]:
    """The periods of a configuration: a name of :data:`CONFIGURATIONS`, or periods of one's own (checked)."""
    if isinstance(configuration, str):
        if configuration not in CONFIGURATIONS:
            raise ValueError(f"unknown configuration {configuration!r}; choose from {list(CONFIGURATIONS)} "
                             f"or give the periods, e.g. (1, 8, 32).")
        return CONFIGURATIONS[configuration]
    return check_periods(configuration)


def check_configurations(names: Any) -> list[str]:
    """A non-empty list of distinct names of :data:`CONFIGURATIONS`."""
    if isinstance(names, str) or not isinstance(names, Sequence) or not names:
        raise ValueError(f"configurations must be a non-empty list of names from {list(CONFIGURATIONS)}, "
                         f"got {names!r}.")
    for name in names:
        if not isinstance(name, str):
            raise ValueError(f"a configuration is named by a string from {list(CONFIGURATIONS)}, got {name!r}.")
        periods_of(name)
    if len(set(names)) != len(names):
        raise ValueError(f"configurations must be distinct, got {list(names)}.")
    return list(names)


def _stream_setting(setting: Mapping[str, Any] | None) -> dict[str, Any]:
    """continual.py's checked setting with ``setting``'s overrides, except the periods (a configuration's)."""
    return check_setting({k: v for k, v in (setting or {}).items() if k != "periods"})


def level_setting(periods: Sequence[int], setting: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """continual.py's checked setting (:data:`SETTING` with ``setting``'s overrides) with the levels' periods
    replaced by ``periods`` (checked by :func:`check_periods`: continual.py's own check wants two at least)."""
    return {**_stream_setting(setting), "periods": check_periods(periods)}


def cms_parameters(cfg: Mapping[str, Any], levels: int) -> int:
    """The parameters of a K-level :class:`~.continual.LevelledClassifier` (per-level readout), as computed::

        K * (dim * hidden + hidden   +   hidden * dim + dim   +   dim * classes + classes)
              W1_l and its bias           W2_l and its bias        R_l and its bias
    """
    dim, hidden, classes = cfg["dim"], cfg["hidden"], cfg["tasks"] * cfg["classes_per_task"]
    readouts = levels if cfg["readout"] == "per-level" else 1
    return levels * (2 * dim * hidden + hidden + dim) + readouts * (dim + 1) * classes


def _steps_per_task(cfg: Mapping[str, Any]) -> int:
    return cfg["classes_per_task"] * cfg["samples_per_class"] // cfg["batch"] * cfg["epochs"]


def expected_updates(periods: Sequence[int], cfg: Mapping[str, Any]) -> list[list[int]]:
    """Eq 71's update counts, per task (rows) and level (columns): level l updates at every step with
    (t + 1) % C_l == 0 (:func:`~.continual.updates_per_task`)."""
    per_level = [updates_per_task(p, _steps_per_task(cfg), cfg["tasks"]) for p in periods]
    return [list(row) for row in zip(*per_level)]


# ---------------------------------------------------------------------------------------------
# One configuration on one seed


def configuration_run(seed: int, configuration: str | Sequence[int], rate: float | None = None,
                      setting: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """continual.py's ``cms`` learner with the periods of ``configuration`` on seed ``seed``'s stream, at ``rate``
    (default: the setting's ``rates["cms"]``); ``setting``: overrides of :data:`SETTING` (e.g. :data:`FAST`).

    Returns ``{"seed", "configuration", "periods", "levels", "rate", "matrix", "final_accuracy", "forgetting",
    "learning_accuracy", "parameters", "updates", "updates_applied", "samples", "timing"}``; ``timing``
    (``train_seconds``, ``samples_per_second``, ``threads``) is the one entry that differs on a rerun.
    """
    seed = _check_seed(seed)
    periods = periods_of(configuration)
    cfg = level_setting(periods, setting)
    stream = continual_stream(seed, cfg)
    clock: list[float] = []
    result = train_learner("cms", cfg, seed, stream, rate=rate, clock=clock)
    samples = sum(len(task["x"]) for task in stream) * cfg["epochs"]
    seconds = float(sum(clock))                                   # the training loops only, not the tests
    name = configuration if isinstance(configuration, str) else "periods " + str(periods)
    return jsonable({
        "seed": seed, "configuration": name, "periods": periods, "levels": len(periods), "rate": result["rates"][0],
        **{k: result[k] for k in ("matrix", *_NUMBERS, "parameters", "updates")},
        "updates_applied": int(np.sum(result["updates"])),          # sum over tasks and levels: the cost
        "samples": samples,
        "timing": {"train_seconds": seconds, "samples_per_second": samples / seconds,
                   "threads": torch.get_num_threads()}})


def _final_accuracy_of(seed: int, configuration: str, rate: float, setting: Mapping[str, Any] | None) -> float:
    """A tuning run: the final accuracy of one configuration at one rate (the sweep's worker)."""
    return configuration_run(seed, configuration, rate, setting)["final_accuracy"]


# ---------------------------------------------------------------------------------------------
# The tuning rule


def tuning_sweep(configurations: Sequence[str] = tuple(CONFIGURATIONS), seeds: Sequence[int] = TUNING_SEEDS, *,
                 jobs: int = 1, setting: Mapping[str, Any] | None = None, keep: str | Path | None = None,
                 progress: bool = False) -> dict[str, Any]:
    """continual.py's rule for every configuration: the rate of :data:`~.continual.RATE_GRID` with the best mean
    final accuracy on ``seeds`` (the first of equals). ``keep``, ``progress``: as for :func:`levels_experiment`.

    Returns ``{"seeds", "grid", "per_seed": {name: [[per seed] per rate]}, "final_accuracy": {name: [mean per
    rate]}, "chosen": {name: rate}, "rule"}``.
    """
    names = check_configurations(configurations)
    seeds = [_check_seed(s, "tuning seed") for s in seeds]
    work = [(s, n, float(r), setting) for n in names for r in RATE_GRID for s in seeds]
    finals = iter(run_all(_final_accuracy_of, work, jobs=require_int("jobs", jobs), keep=kept(keep, "sweep"),
                          progress="tuning" if progress else None))
    per_seed = {n: [[next(finals) for _ in seeds] for _ in RATE_GRID] for n in names}
    means = {n: [float(np.mean(v)) for v in per_seed[n]] for n in names}
    return jsonable({"seeds": seeds, "grid": list(RATE_GRID), "per_seed": per_seed, "final_accuracy": means,
                      "chosen": {n: _best(RATE_GRID, means[n]) for n in names},
                      "rule": "the rate with the best mean final average accuracy (continual.py's)"})


# ---------------------------------------------------------------------------------------------
# Over seeds: summary and claims


def _range(values: Sequence[int]) -> str:
    return str(min(values)) if min(values) == max(values) else f"{min(values)}-{max(values)}"


def summarize(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Per configuration (in the order first met): mean ± sample std over its seeds of the accuracy numbers, the
    samples per second, the training seconds and the updates applied; its periods, parameters, rate and update
    counts (the same on every seed)."""
    by_name: dict[str, list[Mapping[str, Any]]] = {}
    for run in runs:
        by_name.setdefault(run["configuration"], []).append(run)
    out = {}
    for name, rs in by_name.items():
        first = rs[0]
        row = {m: _stat([r[m] for r in rs]) for m in _NUMBERS}
        row["samples_per_second"] = _stat([r["timing"]["samples_per_second"] for r in rs])
        row["train_seconds"] = _stat([r["timing"]["train_seconds"] for r in rs])
        row["updates_applied"] = _stat([r["updates_applied"] for r in rs])
        row.update({"seeds": [r["seed"] for r in rs], "periods": first["periods"], "levels": first["levels"],
                    "parameters": first["parameters"], "rate": first["rate"], "updates": first["updates"],
                    "updates_per_task": [_range([u[l] for u in first["updates"]])
                                         for l in range(first["levels"])]})
        out[name] = row
    return jsonable({"configurations": out})


def claims(summary: Mapping[str, Any], n: int, claim_list: Sequence[tuple] = CLAIMS) -> list[dict[str, Any]]:
    """The claims of ``claim_list`` (default :data:`CLAIMS`) whose configurations were run, each judged by the
    chapter-08 rule over ``n`` seeds: gap = mean(a) - mean(b), spread = the larger sample std, in the claim's
    direction."""
    C, out = summary["configurations"], []
    for cid, key, a, b, metric, direction, text in claim_list:
        if a not in C or b not in C or metric not in C[a] or metric not in C[b]:   # not run, or every seed diverged
            continue
        sa, sb = C[a][metric], C[b][metric]
        gap, spread = sa["mean"] - sb["mean"], max(sa["std"], sb["std"])
        out.append({"id": cid, "key": key, "claim": text, "a": a, "b": b, "metric": metric, "gap": gap,
                    "spread": spread, "n": n, "direction": "higher" if direction > 0 else "lower",
                    "verdict": rule(gap, spread, float(direction), n)})
    return jsonable(out)


# ---------------------------------------------------------------------------------------------
# The whole experiment


def _check_seeds(seeds: Any, tune: bool) -> list[int]:
    seeds = require_seeds(seeds, _check_seed)
    if tune and set(seeds) & set(TUNING_SEEDS):
        raise ValueError(f"the reported seeds {seeds} must differ from the tuning seeds {list(TUNING_SEEDS)}.")
    return seeds


def levels_experiment(seeds: Sequence[int] = (0, 1, 2), json_path: str | Path | None = None, jobs: int = 1, *,
                      configurations: Sequence[str] = tuple(CONFIGURATIONS), tune: bool = True,
                      setting: Mapping[str, Any] | None = None, keep: str | Path | None = None,
                      progress: bool = False, command: str | None = None) -> dict[str, Any]:
    """With ``tune`` the sweep (:func:`tuning_sweep`), then every configuration on every seed at its rate (the
    sweep's, or the setting's ``rates["cms"]``), the summary and the claims; written to ``json_path`` when given.
    ``setting``: overrides of :data:`SETTING` (:data:`FAST` for a look in seconds); ``keep``: a folder where every
    finished run is saved and read back on a rerun (see :func:`~hope_lite.lessons.parallel.run_all`; the saved
    runs keep their timings); ``progress``: tqdm bars over the runs."""
    started = time.perf_counter()
    load = os.getloadavg()[0]                              # what else ran: the throughput is a wall-clock reading
    seeds = _check_seeds(seeds, tune)
    names = check_configurations(configurations)
    jobs = require_int("jobs", jobs)
    setting = dict(setting or {})
    cfg = _stream_setting(setting)
    results: dict[str, Any] = {"format": FORMAT, "kind": KIND, "seeds": seeds, "labels": LABELS,
                               "configurations": {n: CONFIGURATIONS[n] for n in names}}
    rates = {n: cfg["rates"]["cms"] for n in names}
    if tune:
        results["sweep"] = tuning_sweep(names, TUNING_SEEDS, jobs=jobs, setting=setting, keep=keep, progress=progress)
        rates = results["sweep"]["chosen"]
    # seed after seed: every configuration's three runs are spread over the whole command (the same load)
    work = [(s, n, rates[n], setting) for s in seeds for n in names]
    runs = run_all(configuration_run, work, jobs=jobs, keep=kept(keep, "seeds"),
                   progress="configurations" if progress else None)
    summary = summarize(runs)
    results.update({"setting": jsonable({k: v for k, v in cfg.items() if k != "periods"}),
                    "steps_per_task": _steps_per_task(cfg), "summary": summary,
                    "claims": claims(summary, len(seeds)), "runs": runs})
    results["command"] = command or (f"levels_experiment(seeds={seeds}, jobs={jobs}, configurations={names}, "
                                     f"tune={tune}, setting={setting})")
    results["environment"] = {**environment("cpu", started), "jobs": jobs, "load_average_at_start": round(load, 2)}
    results = jsonable(results)
    if json_path is not None:
        write_results(json_path, results)
    return results


# ---------------------------------------------------------------------------------------------
# Reading and printing


def load_results(path: str | Path | None = None) -> dict[str, Any]:
    """The committed results file (default :data:`RESULTS`), as written by :data:`COMMAND`."""
    return read_results(path or RESULTS, what="a levels-ablation results file", fmt=FORMAT, key="summary",
                        command=COMMAND, kind=KIND)


def format_levels(results: Mapping[str, Any]) -> str:
    """Markdown: one row per configuration, then the claims as ``(n) claim: verdict (gap +x.xxx, spread x.xxx)``."""
    if not isinstance(results, Mapping) or results.get("kind") != KIND or "summary" not in results:
        raise ValueError("format_levels takes the dict returned by levels_experiment() or load_results().")
    cfg, env = results["setting"], results.get("environment", {})
    lines = [f"Levels ablation on continual.py's stream: {cfg['tasks']} tasks x {cfg['classes_per_task']} classes, "
             f"dim {cfg['dim']}, hidden {cfg['hidden']} a level, {results['steps_per_task']} steps a task; "
             f"mean ± sample std over seeds {results['seeds']}; samples/s of the training loop, one thread a "
             f"process, {env.get('jobs', 1)} process(es) at a time (load average {env.get('load_average_at_start')} "
             f"at the start).", "",
             "| configuration | periods | params | rate | final accuracy | forgetting | samples/s "
             "| updates per task (per level) | updates applied |",
             "|---|---|---:|---:|---:|---:|---:|---|---:|"]
    for name, r in results["summary"]["configurations"].items():
        lines.append(f"| {results.get('labels', LABELS).get(name, name)} (`{name}`) | {tuple(r['periods'])} | "
                     f"{r['parameters']} | {r['rate']} | {_cell(r['final_accuracy'])} | {_cell(r['forgetting'])} | "
                     f"{_cell(r['samples_per_second'], 0)} | {' / '.join(r['updates_per_task'])} | "
                     f"{r['updates_applied']['mean']:.0f} |")
    lines += ["", "Claims (a gap counts when it exceeds twice the seed spread):", format_claims(results["claims"])]
    return "\n".join(lines)


def format_sweep(results: Mapping[str, Any]) -> str:
    """The tuning sweep of a results file, one line per configuration ("" without a sweep)."""
    sweep = results.get("sweep")
    if not sweep:
        return ""
    lines = [f"Tuning (seeds {sweep['seeds']}; {sweep['rule']}), mean final accuracy per rate:"]
    for name, means in sweep["final_accuracy"].items():
        vals = ", ".join(f"{r}: {a:.3f}" for r, a in zip(sweep["grid"], means))
        lines.append(f"- {name}: {vals} -> chosen {sweep['chosen'][name]}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Command line


def build_parser() -> argparse.ArgumentParser:
    p, r = experiment_parser("ch09_memory_benchmarks.levels",
                             "The levels ablation on the continual stream: 1-4 CMS levels and the slowest period, "
                             "accuracy against samples per second (the paper's Fig. 7).",
                             "tune each configuration's rate on the tuning seeds, run the seeds, print the table",
                             RESULTS, RUNS)
    r.add_argument("--configurations", nargs="+", default=list(CONFIGURATIONS), help="a subset of "
                   f"{list(CONFIGURATIONS)}")
    r.add_argument("--fast", action="store_true", help="continual.py's FAST stream (seconds), without tuning")
    return p


def _print(results: Mapping[str, Any]) -> None:
    print(format_levels(results))
    if results.get("sweep"):
        print("\n" + format_sweep(results))


def _run(args: argparse.Namespace, command: str) -> dict[str, Any]:
    return levels_experiment(args.seeds, json_path=args.json, jobs=args.jobs, configurations=args.configurations,
                             tune=not args.fast, setting=dict(FAST) if args.fast else None,
                             keep=Path(args.out) / ("fast" if args.fast else "full"), progress=not args.no_progress,
                             command=command)


def main(argv: list[str] | None = None) -> int:
    return run_command(build_parser(), argv, run=_run, load=load_results, show=_print)


if __name__ == "__main__":
    sys.exit(main())
