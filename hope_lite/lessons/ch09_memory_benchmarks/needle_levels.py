"""The levels ablation on the needle task: how many CMS levels, and how slow the slowest, for HOPE reading haystacks.

The paper's Fig. 7 (docs/paper.md) ablates HOPE's continuum memory on long-context tasks: more levels help, and of
the slowest level's chunk sizes 512 / 2K / 8K, 512 is the most accurate while 2K is about as good at a lower cost.
:mod:`.levels` asks the same on the continual stream; this module asks it on the pass-key needle of §4::

    python -m hope_lite.lessons.ch09_memory_benchmarks.needle_levels run --seeds 0 1 2 --jobs 2 \\
        --json results/09-levels-niah.json
    python -m hope_lite.lessons.ch09_memory_benchmarks.needle_levels table results/09-levels-niah.json

**The task, the model and the training are §4's** (``benchmarks.FAMILIES["niah"]``): HOPE at
:data:`~.benchmarks.NIAH_SHAPE`, 500 AdamW steps of 8 haystacks of 256 bytes at lr 1e-3, 16 test haystacks per
length from 256 bytes to 8K read 512 bytes at a time with the state carried. Two things change: the needle is the
**pass key alone** (§4's models learn three kinds in turn, so each configuration here sees three times as many
pass-key haystacks), and the **CMS periods** (:data:`CONFIGURATIONS`), in bytes:

* the number of levels, K = 1 .. 4: (32,), (32, 128), (32, 128, 512), (32, 128, 512, 2048);
* the slowest period at K = 3: 256, 512 or 2048 bytes. (32, 128, 512) is §4's shape and is on both axes.

**At equal parameters**, as every benchmark model of this chapter: the preset solves the CMS levels' hidden width for
Transformer++'s budget, so more levels are narrower levels (hidden 340 for one level, 138, 70 and 37 each for two,
three and four; the counts, within 0.25 % of each other, are recorded per configuration). The paper's levels add
weights; here a level is bought with width, so a gain is the spectrum's and not the size's (:mod:`.levels` adds
weights with each level, as the paper does).

A level of period C updates at the last byte of each of its chunks (eq 71), so in training (256 bytes) a level
of period 256 or slower never changes an output: its MLP is learned by the outer loop alone, and it first writes
at test time, in the longer haystacks. So the three slowest periods **train the same model**, to the last bit
(tests/lessons/test_ch09_needle_levels.py trains them side by side; the first run of :data:`COMMAND`, which
trained all six configurations, gave the numbers the shared model gives): the run trains it once, as ``k3``, and
reads the test haystacks with it three times, at periods 512, 256 and 2048 (:func:`training_twins`). No tuning: every
configuration uses §4's rate (HOPE diverged at 3e-3 in a pilot).

**The numbers** per configuration and seed: whole answers and answer bytes right at every length; the
**long-context accuracy**, the answer bytes right averaged over the lengths the model never trained on (1K to
8K: whole answers are zero at this budget, see §4); the **training tokens per second** (the training loop alone,
one thread a process: a wall-clock reading, with the load average at the start recorded; one reading for the
three slowest periods, which train as one); the **reading bytes per second** over the 8K haystacks (the same
kind of reading); and the **level updates applied while reading one 8K haystack**, sum over levels of 8192 // C
(exact; every level has the same width, so the count is proportional to the weights written).

**The claims** (:data:`CLAIMS`), judged by :func:`.levels.claims` (the chapter-08 rule: a gap counts when it
exceeds twice the seed spread): (1) 4 levels beat 1 on long-context accuracy; (2)-(4) each added level helps;
(5) a more frequent slowest level is more accurate (the paper's "512 best"): period 256 over 2048; (6) the slower
one is cheaper: (6a) fewer updates while reading (exact, no spread), (6b) more bytes read per second. (Training
cannot be cheaper: at 256 bytes the three train as one.)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from hope_lite.models import preset_config

from .._args import require_int, require_seeds
from .._cli import experiment_parser, run_command
from ..parallel import run_all
from ..results import environment, jsonable, read_results, write_results
from ..task_training import TaskTraining
from . import benchmarks as bm
from .continual import _cell, _stat, format_claims
from .levels import claims as judge

__all__ = ["CONFIGURATIONS", "LABELS", "LEVELS_AXIS", "SLOWEST_AXIS", "CLAIMS", "LONG_BINS", "READ_LENGTH",
           "RESULTS", "RUNS", "KIND", "FORMAT", "COMMAND", "FAST", "needle_family", "level_hidden", "updates_reading",
           "training_twins",
           "needle_levels_experiment", "summarize", "load_results", "format_needle_levels", "main"]

FORMAT = 1
KIND = "levels-niah"
RESULTS = "results/09-levels-niah.json"
RUNS = "runs/levels-niah"
COMMAND = ("python -m hope_lite.lessons.ch09_memory_benchmarks.needle_levels run --seeds 0 1 2 --jobs 2 "
           "--json results/09-levels-niah.json")

#: name -> CMS periods in bytes, fastest first
CONFIGURATIONS: dict[str, tuple[int, ...]] = {
    "k1": (32,), "k2": (32, 128), "k3": (32, 128, 512), "k4": (32, 128, 512, 2048),
    "k3-256": (32, 128, 256), "k3-2048": (32, 128, 2048)}
LABELS = {"k1": "1 level", "k2": "2 levels", "k3": "3 levels (§4's HOPE)", "k4": "4 levels",
          "k3-256": "3 levels, slowest period 256", "k3-2048": "3 levels, slowest period 2048"}
LEVELS_AXIS = ("k1", "k2", "k3", "k4")
SLOWEST_AXIS = ("k3-256", "k3", "k3-2048")
#: the test lengths the models never trained on: the long-context accuracy is the mean over these
LONG_BINS = ("1K", "2K", "4K", "8K")
#: the haystack length over which the level updates are counted
READ_LENGTH = 8192

CLAIMS = (
    ("(1)", "four_over_one", "k4", "k1", "long_accuracy", +1, "4 levels are more accurate at long context than 1"),
    ("(2)", "two_over_one", "k2", "k1", "long_accuracy", +1, "a second level helps: 2 levels more accurate than 1"),
    ("(3)", "three_over_two", "k3", "k2", "long_accuracy", +1, "a third level helps: 3 levels more accurate than 2"),
    ("(4)", "four_over_three", "k4", "k3", "long_accuracy", +1, "a fourth level helps: 4 levels more accurate than 3"),
    ("(5)", "frequent_slowest", "k3-256", "k3-2048", "long_accuracy", +1,
     "a more frequent slowest level is more accurate (the paper's \"512 best\"): slowest period 256 over 2048"),
    ("(6a)", "slower_fewer_updates", "k3-2048", "k3-256", "updates_reading", -1,
     "the slower slowest level is cheaper: period 2048 applies fewer updates reading an 8K haystack than 256 "
     "(an exact count, the same on every seed: no spread)"),
    ("(6b)", "slower_reads_faster", "k3-2048", "k3-256", "reading_bytes_per_second", +1,
     "the slower slowest level is cheaper: period 2048 reads 8K haystacks at more bytes per second than 256"),
)

#: a look in seconds (FAST mode, tests): the tiny preset, 2 steps of 2 haystacks, 2 test haystacks up to 1K
FAST = {"preset": "tiny", "training": TaskTraining(steps=2, batch=2, lr=1e-3), "test_size": 2, "longest": 1024}


def needle_family(training: TaskTraining | None = None, test_size: int | None = None,
                  longest: int = READ_LENGTH) -> bm.Family:
    """§4's needle family with the pass key alone (``training``, ``test_size`` and the longest bin for quick
    versions); one run per (configuration, seed), so not shared."""
    spec = bm.FAMILIES["niah"]
    family = bm.stand_in("niah", ["pass_key"], training or spec.training, test_size or spec.test_size, longest)
    return replace(family, shared=False)


def updates_reading(periods: Sequence[int], length: int = READ_LENGTH) -> int:
    """Level updates applied while reading ``length`` bytes from a fresh state: sum over levels of length // C."""
    return int(sum(length // p for p in periods))


def training_twins(names: Sequence[str], train_length: int) -> dict[str, list[str]]:
    """{configuration that trains: [configurations that train exactly as it does]}, in the order of ``names``.

    A level whose period is at least the training length never changes a training output (its one update, if any,
    falls on the last token), so such periods are all alike in training: configurations whose periods agree once
    each is capped at ``train_length`` train the same model. The first of each group is trained; the others read
    the tests with its weights."""
    groups: dict[tuple[int, ...], list[str]] = {}
    for name in names:
        groups.setdefault(tuple(min(p, train_length) for p in CONFIGURATIONS[name]), []).append(name)
    return {group[0]: group[1:] for group in groups.values()}


def level_hidden(name: str, preset: str = "small") -> int:
    """The hidden width of each CMS level of configuration ``name`` (solved by the preset for the parameter budget)."""
    return preset_config("hope", preset, **{**bm.NIAH_SHAPE, "cms_periods": CONFIGURATIONS[name]}).channel_hidden


def _check_names(names: Any) -> list[str]:
    if isinstance(names, str) or not isinstance(names, Sequence) or not names:
        raise ValueError(f"configurations must be a non-empty list of names from {list(CONFIGURATIONS)}, "
                         f"got {names!r}.")
    unknown = [n for n in names if n not in CONFIGURATIONS]
    if unknown or len(set(names)) != len(names):
        raise ValueError(f"configurations must be distinct names from {list(CONFIGURATIONS)}, got {list(names)}.")
    return list(names)


def _read_bin(family: bm.Family) -> str:
    """The test length over which reading speed is measured: 8K, or the longest the family has (FAST)."""
    bins = family.tasks[0].bins
    return "8K" if "8K" in bins else max(bins, key=lambda b: bins[b][1])


def _record(name: str, run: Mapping[str, Any], family: bm.Family, trained_as: str) -> dict[str, Any]:
    """Configuration ``name``'s numbers from the run of :func:`~.benchmarks.train_and_score` that trained
    ``trained_as`` (itself, or the training twin whose weights it read the tests with), with what the ablation
    reads from them."""
    periods = CONFIGURATIONS[name]
    task = family.tasks[0]
    long_bins = [b for b in LONG_BINS if b in task.bins]
    tokens = family.training.steps * family.training.batch * task.train[1]
    if name != trained_as and "diverged" not in run:
        run = {**run, **run["variants"][name]}        # its own test scores and reading seconds
    out = {"configuration": name, "periods": periods, "levels": len(periods), "trained_as": trained_as,
           **{k: v for k, v in run.items() if k != "variants"}, "updates_reading": updates_reading(periods)}
    if "diverged" not in run:
        read = _read_bin(family)
        out["long_accuracy"] = float(np.mean([run["acc"][b] for b in long_bins]))
        out["tokens_per_second"] = tokens / run["train_seconds"]
        out["reading_bytes_per_second"] = family.test_size * task.bins[read][1] / run["test_seconds"][read]
    return jsonable(out)


def summarize(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Per configuration (in the order first met): mean ± sample std over seeds of the long-context accuracy, the
    training tokens and reading bytes per second and, per length, the answer bytes and whole answers right; its
    periods, parameters, update count, the configuration it trained as and the number of diverged runs (left out
    of the means)."""
    by_name: dict[str, list[Mapping[str, Any]]] = {}
    for run in runs:
        by_name.setdefault(run["configuration"], []).append(run)
    out = {}
    for name, rs in by_name.items():
        ok = [r for r in rs if "diverged" not in r]
        row: dict[str, Any] = {"seeds": [r["seed"] for r in rs], "periods": rs[0]["periods"],
                               "levels": rs[0]["levels"], "parameters": rs[0]["parameters"],
                               "trained_as": rs[0]["trained_as"], "diverged": len(rs) - len(ok),
                               "updates_reading": _stat([r["updates_reading"] for r in rs])}
        if ok:
            row["long_accuracy"] = _stat([r["long_accuracy"] for r in ok])
            row["tokens_per_second"] = _stat([r["tokens_per_second"] for r in ok])
            row["reading_bytes_per_second"] = _stat([r["reading_bytes_per_second"] for r in ok])
            row["acc"] = {b: _stat([r["acc"][b] for r in ok]) for b in ok[0]["acc"]}
            row["exact"] = {b: _stat([r["exact"][b] for r in ok]) for b in ok[0]["exact"]}
        out[name] = row
    return jsonable({"configurations": out})


def needle_levels_experiment(seeds: Sequence[int] = (0, 1, 2), json_path: str | Path | None = None, jobs: int = 1,
                             *, configurations: Sequence[str] = tuple(CONFIGURATIONS), fast: bool = False,
                             out: str | Path | None = RUNS, progress: bool = False,
                             command: str | None = None) -> dict[str, Any]:
    """Train and score HOPE with every configuration's periods on every seed (``fast``: :data:`FAST`), summarise and
    judge the claims whose configurations ran; written to ``json_path`` when given. ``out``: a folder where every
    finished run is kept and read back on a rerun (None: keep nothing); ``progress``: a tqdm bar over the runs."""
    started = time.perf_counter()
    load = os.getloadavg()[0]                              # what else ran: the throughput is a wall-clock reading
    seeds, names, jobs = require_seeds(seeds), _check_names(configurations), require_int("jobs", jobs)
    preset = FAST["preset"] if fast else "small"
    family = needle_family(FAST["training"], FAST["test_size"], FAST["longest"]) if fast else needle_family()
    task = family.tasks[0]
    folder = None if out is None else Path(out) / ("fast" if fast else "full")
    twins = training_twins(names, task.train[1])
    order = [(s, n) for s in seeds for n in twins]    # seed after seed: every configuration meets the same load
    work = [(family, task, "hope", s, preset, {**family.shape, "cms_periods": CONFIGURATIONS[n]}, family.training,
             None if folder is None else folder / n, "cpu", print,
             {twin: {"cms_periods": CONFIGURATIONS[twin]} for twin in twins[n]}) for s, n in order]
    trained = run_all(bm.train_and_score, work, jobs=jobs, progress="needle levels" if progress else None)
    by_run = {(s, twin): _record(twin, run, family, n)
              for (s, n), run in zip(order, trained) for twin in (n, *twins[n])}
    runs = [by_run[s, n] for s in seeds for n in names]
    summary = summarize(runs)
    results = jsonable({
        "format": FORMAT, "kind": KIND, "seeds": seeds, "labels": LABELS, "preset": preset,
        "configurations": {n: CONFIGURATIONS[n] for n in names}, "shape": family.shape,
        "level_hidden": {n: level_hidden(n, preset) for n in names},
        "training": {"steps": family.training.steps, "batch": family.training.batch, "lr": family.training.lr},
        "test_size": family.test_size, "bins": list(task.bins), "long_bins": [b for b in LONG_BINS if b in task.bins],
        "read_bin": _read_bin(family),
        "eval_chunk": family.eval_chunk, "summary": summary, "claims": judge(summary, len(seeds), CLAIMS),
        "runs": runs,
        "command": command or f"needle_levels_experiment(seeds={seeds}, jobs={jobs}, configurations={names}, "
                              f"fast={fast})",
        "environment": {**environment("cpu", started), "jobs": jobs, "load_average_at_start": round(load, 2)}})
    if json_path is not None:
        write_results(json_path, results)
    return results


def load_results(path: str | Path | None = None) -> dict[str, Any]:
    """The committed results file (default :data:`RESULTS`), as written by :data:`COMMAND`."""
    return read_results(path or RESULTS, what="a needle levels-ablation results file", fmt=FORMAT, key="summary",
                        command=COMMAND, kind=KIND)


def format_needle_levels(results: Mapping[str, Any]) -> str:
    """Markdown: one row per configuration (answer bytes right in %, per length), then the claims."""
    if not isinstance(results, Mapping) or results.get("kind") != KIND or "summary" not in results:
        raise ValueError("format_needle_levels takes the dict returned by needle_levels_experiment() or "
                         "load_results().")
    tr, env, bins = results["training"], results.get("environment", {}), results["bins"]
    pct = lambda s: "–" if s is None else f"{100 * s['mean']:.1f} ± {100 * s['std']:.1f}"  # noqa: E731
    lines = [f"HOPE on the pass-key needle, {tr['steps']} steps x {tr['batch']} haystacks of 256 bytes, "
             f"{results['test_size']} test haystacks per length read {results['eval_chunk']} bytes at a time; answer "
             f"bytes right in %, mean ± sample std over seeds {results['seeds']}; long context = the mean over "
             f"{', '.join(results['long_bins'])}; tokens/s of the training loop and bytes/s reading the "
             f"{results['read_bin']} haystacks, one thread a process, {env.get('jobs', 1)} process(es) at a time (load "
             f"average {env.get('load_average_at_start')} at the start); a configuration \"trained as\" another "
             f"trains the same model, so it was trained once and read the tests with its own periods.", "",
             "| configuration | periods | hidden a level | params | " + " | ".join(bins) + " | long context | whole answers "
             "| training tokens/s | reading bytes/s | updates reading 8K |",
             "|---|---|---:|---:|" + "---:|" * len(bins) + "---:|---:|---:|---:|---:|"]
    for name, r in results["summary"]["configurations"].items():
        acc = r.get("acc", {})
        whole = max((s["mean"] for s in r.get("exact", {}).values()), default=0.0)
        diverged = f" ({r['diverged']} diverged)" if r["diverged"] else ""
        twin = "" if r.get("trained_as", name) == name else f", trained as `{r['trained_as']}`"
        lines.append(f"| {results['labels'].get(name, name)} (`{name}`{twin}){diverged} | {tuple(r['periods'])} | "
                     f"{results['level_hidden'][name]} | {r['parameters']:,} | " + " | ".join(pct(acc.get(b)) for b in bins) + " | "
                     f"{pct(r.get('long_accuracy'))} | {'none' if whole == 0 else f'up to {100 * whole:.1f} %'} | "
                     + " | ".join(_cell(r[key], 0) if key in r else "–"
                                  for key in ("tokens_per_second", "reading_bytes_per_second")) + " | "
                     f"{r['updates_reading']['mean']:.0f} |")
    lines += ["", "Claims (a gap counts when it exceeds twice the seed spread):", format_claims(results["claims"])]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Command line


def build_parser() -> argparse.ArgumentParser:
    p, r = experiment_parser("ch09_memory_benchmarks.needle_levels",
                             "The levels ablation on the pass-key needle: 1-4 CMS levels and the slowest period, "
                             "long-context accuracy against tokens per second (the paper's Fig. 7).",
                             "train and score every configuration on every seed, print the table", RESULTS, RUNS)
    r.add_argument("--configurations", nargs="+", default=list(CONFIGURATIONS),
                   help=f"a subset of {list(CONFIGURATIONS)}")
    r.add_argument("--fast", action="store_true", help="the tiny FAST setting (seconds)")
    return p


def _run(args: argparse.Namespace, command: str) -> dict[str, Any]:
    return needle_levels_experiment(args.seeds, json_path=args.json, jobs=args.jobs,
                                    configurations=args.configurations, fast=args.fast, out=args.out,
                                    progress=not args.no_progress, command=command)


def main(argv: list[str] | None = None) -> int:
    return run_command(build_parser(), argv, run=_run, load=load_results,
                       show=lambda results: print(format_needle_levels(results)))


if __name__ == "__main__":
    sys.exit(main())
