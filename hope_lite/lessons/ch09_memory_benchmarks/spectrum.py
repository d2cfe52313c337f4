"""A spectrum of update frequencies, in one designed experiment: does a slow level keep what a fast level loses?

The paper's Continuum Memory System (CMS, :class:`hope_lite.cms.ContinuumMemory`) is a set of MLP
memories ("levels") that learn in context, level l every C_l tokens (eq 71), fastest first. Its
central claim: a spectrum of periods lets the fast levels adapt to what is happening now while the
slow levels keep what was learned long ago. Chapter 06 measured forgetting on a stream A B C A and
found the CMS forgets as much as one MLP of equal size. This module builds a setting in which the
mechanism has a fair chance to show, and measures it on three seeds::

    python -m hope_lite.lessons.ch09_memory_benchmarks.spectrum run --seeds 0 1 2 --threads 1 \\
        --json results/09-spectrum.json
    python -m hope_lite.lessons.ch09_memory_benchmarks.spectrum table results/09-spectrum.json

**The stream.** Every learner learns in context only (no outer training), as in chapter 06: task
tau's inputs lie in its own random ``rank``-dimensional subspace of R^width, and every level's target
is one shared value map, v_t = n_t W_v (:func:`hope_lite.lessons.ch06_continuum_memory.experiments.task_error`).
The stream is task A for a long time, task B for a short time, then A again::

    A (tokens_a = 2048)  |  B (tokens_b = 256)  |  A again (tokens_return = 256)
                       switch                 return

**The learners** (:data:`LEARNERS`), all of (about) equal parameter count, all the independent
variant (eq 74: every level reads the input, the answer is the mean of the levels' outputs):

* ``"cms"``: three levels of periods (8, 64, 512). The slowest level updates 4 times in A and never
  in B (its chunk that holds B ends 256 tokens after the return), the middle one 4 times in B, the
  fastest 32 times in B;
* ``"cms-flat"``: the same three levels, all at the fastest period and rate -- the CMS without its
  spectrum (a control: is it the spectrum that helps, or the averaging of three memories?);
* ``"mlp-fast"`` / ``"mlp-slow"``: one MLP, hidden width chosen to match the CMS's parameters
  (:func:`~hope_lite.lessons.ch06_continuum_memory.experiments.matched_hidden`), updating at the
  fastest / slowest period.

**The rates, one rule for every memory.** Each CMS level and each single MLP gets, from :data:`RATE_GRID`,
the *largest* rate with which it still learns A nearly as well as it can alone: an error on A at the
end of A within :data:`RATE_TOLERANCE` (25 %) of its best rate's, on the tuning seeds
:data:`TUNING_SEEDS` (:func:`rate_sweep`; the results file holds the whole sweep). Learn A, and
among the rates that do, be as plastic as possible: a memory in a stream must also adapt. (The
first rule, the best rate itself, is in :data:`TRIED`: it gives the fast level 0.3, with which it
barely loses A, and claim 3 then stays within the seed spread. Any tolerance from about 16 % to 69 %
picks the same rates.) The step is eq 71 with the library's clip, theta <- theta - eta * clip(g, max_update).

**The mechanism, level by level.** For each level l of the CMS, two changes (nothing else moves:
in the independent variant each level learns from its own error, so the other levels are untouched):

* FREEZE: level l learns nothing during B (rate 0 during B; at the return its weights and its open
  chunk's gradient are those it had at the switch);
* RESET: at the return, level l goes back to its initial weights theta_0.

The *loss on A* of a change is the error on A's held-out probes right at the return, changed CMS
minus unchanged CMS. The expected picture: resetting the slow level loses A; resetting the fast level
loses little (it held B); freezing the fast level keeps A.

**The claims and the rule.** (1) the CMS's error on A right at the return is lower than
``mlp-fast``'s; (2) the CMS's error on B during B is lower than ``mlp-slow``'s (it adapts);
(3) resetting the slowest level raises the error on A more than resetting the fastest; (4, a
control added here) the CMS's error on A at the return is lower than ``cms-flat``'s. Each is judged
by :func:`hope_lite.lessons.ch08_paper_claims.experiments.rule`: a gap (difference of the means over
seeds) counts when it exceeds twice the seed spread (the larger sample std of the two sides); a
counted gap in the claim's direction *holds*, the other way *does not hold*, a gap within the spread
is *not testable at this scale*.

**The trade-off** (:func:`tradeoff`): a memory's rate trades claim 1 against claim 2 (a low rate keeps A
and follows B slowly), so the CMS is also compared, on both numbers, with ``mlp-fast`` and ``cms-flat``
at every fast rate of :data:`TRADEOFF_GRID`, on the reported seeds.

**How the setting was found** (:data:`TRIED`): every variant is rerun on the tuning seeds by the same
command and written under ``"tried"``, one line each; the reported seeds 0 1 2 were never tuned on.
Chapter 09; the design note with the numbers and what they do not show is docs/09-spectrum.md.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from torch import Tensor

from hope_lite import ContinuumMemory
from hope_lite.cms import CMSState

from .._args import require_choice, require_int, require_positive, require_seeds
from .._cli import experiment_parser, run_command
from ..ch06_continuum_memory.experiments import level_errors, matched_hidden, task_bases, task_error
from ..ch08_paper_claims.experiments import rule
from ..parallel import run_all
from ..results import environment, jsonable, read_results, sample_std, write_results
from ..teaching import seeded

__all__ = ["SPECTRUM", "FAST", "LEARNERS", "LABELS", "CHANGES", "TUNING_SEEDS", "RATE_GRID", "RATE_TOLERANCE",
           "TRADEOFF_GRID", "TRIED", "RESULTS", "FORMAT", "COMMAND", "check_setting", "spectrum_stream",
           "make_learner", "level_rates", "updates_per_phase", "run_learner", "spectrum_run", "rate_sweep",
           "tradeoff", "summarize", "claims", "spectrum_experiment", "format_spectrum", "format_tried",
           "load_results", "main"]

FORMAT = 1
RESULTS = "results/09-spectrum.json"
COMMAND = ("python -m hope_lite.lessons.ch09_memory_benchmarks.spectrum run --seeds 0 1 2 --threads 1 "
           "--json results/09-spectrum.json")

#: the chosen setting. width 128 is the ``small`` preset's; a CMS level has hidden width 128 and the single MLPs
#: 513 (parameter-matched; the ``small`` preset's FFN has 512). ``rates``: one per CMS level, fastest first;
#: ``mlp_rates``: (mlp-fast, mlp-slow). Both are :func:`rate_sweep`'s choice on the tuning seeds (module docstring).
SPECTRUM: dict[str, Any] = {"width": 128, "rank": 16, "batch": 8, "probes": 64,
                            "tokens_a": 2048, "tokens_b": 256, "tokens_return": 256,
                            "periods": (8, 64, 512), "hidden": 128, "rates": (1.0, 1.0, 2.0), "mlp_rates": (0.3, 1.0),
                            "max_update": 1.0, "every": 32}

#: a tiny setting of the same shape, for tests and a quick look (seconds): the slowest level updates twice in A,
#: never in B
FAST: dict[str, Any] = {"width": 16, "rank": 4, "batch": 2, "probes": 16, "tokens_a": 128, "tokens_b": 32,
                        "tokens_return": 32, "periods": (4, 16, 64), "hidden": 16, "rates": (1.0, 1.0, 2.0),
                        "mlp_rates": (0.3, 1.0), "max_update": 1.0, "every": 16}

LEARNERS = ("cms", "cms-flat", "mlp-fast", "mlp-slow")
LABELS = {"cms": "CMS", "cms-flat": "CMS without spectrum", "mlp-fast": "one MLP, fast", "mlp-slow": "one MLP, slow"}
CHANGES = ("freeze", "reset")

TUNING_SEEDS = (100, 101, 102)
RATE_GRID = (0.1, 0.3, 1.0, 2.0, 4.0)
#: a memory's rate: the largest of RATE_GRID whose error on A at the end of A is within this fraction of its best
RATE_TOLERANCE = 0.25
#: the fast rates of the trade-off table (:func:`tradeoff`): a fast memory's rate trades keeping A for adapting to B
TRADEOFF_GRID = (0.03, 0.1, 0.3, 1.0, 2.0)

#: every variant of the setting that was tried while designing the experiment: (label, overrides of SPECTRUM,
#: why it was tried). The command reruns each on TUNING_SEEDS and records its outcome under "tried".
TRIED: tuple[tuple[str, dict, str], ...] = (
    ("final setting", {}, "the chosen setting, on the tuning seeds"),
    ("every memory at its best rate", {"rates": (0.3, 1.0, 2.0)},
     "the first rule: the rate with the lowest error on A at the end of A (the fast level's best is 0.3)"),
    ("fast level at rate 0.1", {"rates": (0.1, 1.0, 2.0)}, "a fast level less plastic still"),
    ("chapter 06's rates", {"rates": (1.0, 8.0, 64.0)},
     "eq 71 with one per-token rate, eta_l = eta_1 C_l / C_1 (chapter 06's 'cms')"),
    ("equal rates", {"rates": (1.0, 1.0, 1.0)},
     "the library's default form: one eta for every level (a slow level moves C_l / C_1 times less per token)"),
    ("MLPs at the CMS's rates", {"mlp_rates": (1.0, 2.0)},
     "each single MLP at the rate of the CMS level of its period"),
    ("fast MLP at rate 0.1", {"mlp_rates": (0.1, 1.0)},
     "a less plastic fast MLP: at the end of A within 15 % of its best (0.3), and it forgets less"),
    ("no clip", {"max_update": None}, "eq 71 without the library's clip"),
    ("rank 4", {"rank": 4}, "task subspaces 4-dimensional: less overlap between A and B"),
    ("rank 64", {"rank": 64}, "task subspaces 64-dimensional: more overlap, a harder map to learn"),
    ("B of 512 tokens", {"tokens_b": 512}, "the slowest level updates once on B (its chunk is all B)"),
    ("periods (8, 32, 256)", {"periods": (8, 32, 256)}, "the slowest level updates once on B (at B's last token)"),
)

_INT_KEYS = ("width", "rank", "batch", "probes", "tokens_a", "tokens_b", "tokens_return", "hidden", "every")


# ---------------------------------------------------------------------------------------------
# The setting and the stream


def check_setting(setting: Mapping[str, Any] | None = None, base: Mapping[str, Any] = SPECTRUM) -> dict[str, Any]:
    """``base`` with ``setting``'s overrides, checked: every bad value is a ValueError that says what to change."""
    setting = dict(setting or {})
    unknown = set(setting) - set(SPECTRUM)
    if unknown:
        raise ValueError(f"unknown setting(s) {sorted(unknown)}; choose from {sorted(SPECTRUM)}.")
    cfg = {**base, **setting}
    for name in _INT_KEYS:
        cfg[name] = require_int(name, cfg[name])
    if cfg["rank"] > cfg["width"]:
        raise ValueError(f"rank ({cfg['rank']}) cannot exceed width ({cfg['width']}); lower rank.")
    periods = cfg["periods"]
    if isinstance(periods, (int, str)) or not isinstance(periods, Sequence) or len(periods) < 2:
        raise ValueError(f"periods must list at least two periods, fastest first (a spectrum), e.g. (8, 64, 512); "
                         f"got {periods!r}.")
    periods = tuple(require_int("every period", p) for p in periods)
    for fast, slow in zip(periods[:-1], periods[1:]):
        if slow <= fast or slow % fast:
            raise ValueError(f"periods must be listed fastest first, each a multiple of the one before, "
                             f"e.g. (8, 64, 512); got {periods}.")
    cfg["periods"] = periods
    for name, count in (("rates", len(periods)), ("mlp_rates", 2)):
        rates = cfg[name]
        if isinstance(rates, (int, float, str)) or not isinstance(rates, Sequence) or len(rates) != count:
            what = "one per level, fastest first" if name == "rates" else "(mlp-fast's, mlp-slow's)"
            raise ValueError(f"{name} must give {count} learning rates, {what}; got {rates!r}.")
        cfg[name] = tuple(require_positive(f"every rate in {name}", r) for r in rates)
    if cfg["max_update"] is not None:
        cfg["max_update"] = require_positive("max_update (or None: no clip)", cfg["max_update"])
    for name in ("tokens_a", "tokens_b", "tokens_return"):
        if cfg[name] % cfg["every"]:
            raise ValueError(f"every ({cfg['every']}) must divide {name} ({cfg[name]}), so that the switch and the "
                             f"return fall on a measurement; change every or {name}.")
    if cfg["tokens_a"] < periods[-1]:
        raise ValueError(f"the slowest level (period {periods[-1]}) would never update during A "
                         f"(tokens_a = {cfg['tokens_a']}); make tokens_a at least {periods[-1]}.")
    return cfg


def spectrum_stream(seed: int, cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The stream A | B | A of ``cfg`` (batch, T, width), A's and B's held-out probes, and the phase bounds.

    Task tau's inputs are ``U_tau z``, z ~ N(0, I_rank), U_tau a random orthonormal basis (chapter 06's
    :func:`~hope_lite.lessons.ch06_continuum_memory.experiments.task_bases`). Returns ``{"x", "probes":
    {"A", "B"}, "switch", "return"}`` (switch: the first token of B; return: the first token of A again).
    """
    g = torch.Generator().manual_seed(seed)
    bases = task_bases("AB", cfg["width"], cfg["rank"], g)

    def sample(task: str, n: int) -> Tensor:
        return torch.randn(cfg["batch"], n, cfg["rank"], generator=g) @ bases[task].T

    probes = {t: sample(t, cfg["probes"]) for t in "AB"}
    x = torch.cat([sample("A", cfg["tokens_a"]), sample("B", cfg["tokens_b"]), sample("A", cfg["tokens_return"])], 1)
    switch = cfg["tokens_a"]
    return {"x": x, "probes": probes, "switch": switch, "return": switch + cfg["tokens_b"]}


# ---------------------------------------------------------------------------------------------
# The learners


def level_rates(name: str, cfg: Mapping[str, Any]) -> tuple[tuple[int, ...], tuple[float, ...], int]:
    """(periods, learning rates, hidden width) of learner ``name`` under ``cfg``."""
    require_choice("learner", name, LEARNERS)
    periods, rates, hidden = cfg["periods"], cfg["rates"], cfg["hidden"]
    single = matched_hidden(cfg["width"], hidden, len(periods))    # one MLP with the CMS's parameter count
    if name == "cms":
        return periods, rates, hidden
    if name == "cms-flat":
        return (periods[0],) * len(periods), (rates[0],) * len(periods), hidden
    if name == "mlp-fast":
        return periods[:1], cfg["mlp_rates"][:1], single
    return periods[-1:], cfg["mlp_rates"][1:], single


def make_learner(name: str, cfg: Mapping[str, Any], seed: int) -> ContinuumMemory:
    """One of :data:`LEARNERS`, seeded; every level shares one value map W_v (the same target for all).

    ``cms-flat`` is built as the CMS and its levels then given the fastest period: the constructor asks for
    increasing periods (it builds a spectrum), and the independent variant runs every level on its own clock
    (``block.period``), so three levels of one period are exactly three one-period memories.
    """
    periods, rates, hidden = level_rates(name, cfg)
    width = cfg["width"]
    built = periods if name != "cms-flat" else cfg["periods"]
    # the target map from its own generator: the same for every learner of a seed, whatever its shape (drawn
    # after the memory from one stream, it would depend on how many numbers the memory's shape drew first)
    value = torch.randn(width, width, generator=torch.Generator().manual_seed(seed)) / math.sqrt(width)
    with seeded(seed):
        memory = ContinuumMemory(width, built, hidden=hidden, learning_rates=list(rates), variant="independent",
                                 max_update=cfg["max_update"])
    with torch.no_grad():
        for block in memory.blocks:
            block.value.copy_(value)
    if name == "cms-flat":
        for block, period in zip(memory.blocks, periods):
            block.period = period
        memory.periods = periods
    return memory


def updates_per_phase(period: int, switch: int, back: int, total: int) -> list[int]:
    """How many times a level of period C updates in A, in B and in A again (eq 71: at every t with (t+1) % C == 0)."""
    return [(b // period) - (a // period) for a, b in ((0, switch), (switch, back), (back, total))]


# ---------------------------------------------------------------------------------------------
# One learner on the stream


def _online(y: Tensor, x: Tensor, v: Tensor) -> Tensor:
    """Each token's relative squared error |(y - x) - v|^2 / |v|^2 before it is learned (mean over the batch)."""
    return ((y - x - v).pow(2).sum(-1) / v.pow(2).sum(-1)).mean(0)


@torch.no_grad()
def run_learner(memory: ContinuumMemory, stream: Mapping[str, Any], every: int,
                change: tuple[str, int] | None = None, *, per_level: bool = False) -> dict[str, Any]:
    """Feed the stream to ``memory`` in pieces of ``every`` tokens (state carried: the same as one call).

    After each piece the error on A's and B's held-out probes is read with the weights frozen
    (:func:`~hope_lite.lessons.ch06_continuum_memory.experiments.task_error`). ``change``:
    ``("freeze", l)`` or ``("reset", l)`` (see the module docstring). Returns the curves (one point
    at token 0 and after each piece), the per-phase online error, and the numbers the claims read:
    ``a_end_of_a`` (error on A at the switch), ``a_at_return`` (at the return, after the change),
    ``a_return_phase`` (mean over the points of the last phase, the return included), ``a_end``,
    ``b_during`` (mean error on B over the points inside B, its last token included, before the
    change), ``b_end_of_b``, and the per-level errors on A at the switch and at the return.
    ``per_level``: also ``levels_curve_a`` / ``levels_curve_b``, each level's own error on A / B at every
    point of the curves (what the explorer draws: what each level holds as the stream goes).
    """
    x, probes, switch, back = stream["x"], stream["probes"], stream["switch"], stream["return"]
    T = x.shape[1]
    if change is not None:
        require_choice("change", change[0], CHANGES)
        if not 0 <= change[1] < len(memory.blocks):
            raise ValueError(f"level must be in 0..{len(memory.blocks) - 1} (fastest first), got {change[1]}.")
    state = memory.init_state(x.shape[0], x.dtype)
    _, v = memory.blocks[0].keys_values(x)                 # the shared target v_t = n_t W_v of every token
    curve_a, curve_b = [task_error(memory, state, probes["A"])], [task_error(memory, state, probes["B"])]
    levels_a, levels_b = [], []

    def read_levels() -> None:
        if per_level:
            levels_a.append(level_errors(memory, state, probes["A"]))
            levels_b.append(level_errors(memory, state, probes["B"]))

    read_levels()
    online, out, saved, rate, frozen = [], {}, None, None, None
    try:
        for s in range(0, T, every):
            if s == switch:
                out["levels_a_end_of_a"] = level_errors(memory, state, probes["A"])
                if change is not None and change[0] == "freeze":   # level l sits B out: rate 0, state kept aside
                    frozen = memory.blocks[change[1]]
                    saved, rate, frozen.learning_rate = state.levels[change[1]], frozen.learning_rate, 0.0
            if s == back:
                out["b_end_of_b"] = curve_b[-1]                     # B is measured before the change
                if change is not None:
                    levels = list(state.levels)
                    if change[0] == "freeze":                      # as it was at the switch: B never reached it
                        frozen.learning_rate, frozen = rate, None
                        levels[change[1]] = saved
                    else:                                           # back to theta_0, an empty chunk
                        levels[change[1]] = memory.blocks[change[1]].init_state(x.shape[0], x.dtype)
                    state = CMSState(levels, state.position)
                    curve_a[-1] = task_error(memory, state, probes["A"])
                    curve_b[-1] = task_error(memory, state, probes["B"])
                    if per_level:                                   # the point at the return, after the change
                        levels_a.pop(), levels_b.pop()
                        read_levels()
                out["levels_a_at_return"] = level_errors(memory, state, probes["A"])
            y, state = memory(x[:, s:s + every], state=state)
            online.append(_online(y, x[:, s:s + every], v[:, s:s + every]))
            curve_a.append(task_error(memory, state, probes["A"]))
            curve_b.append(task_error(memory, state, probes["B"]))
            read_levels()
    finally:
        if frozen is not None:                                      # an interrupted run leaves the rate as it was
            frozen.learning_rate = rate
    online_t = torch.cat(online).numpy()
    k_switch, k_back = switch // every, back // every            # curve index of the switch and of the return
    out.update({
        "curve_a": curve_a, "curve_b": curve_b, **({"levels_curve_a": levels_a, "levels_curve_b": levels_b}
                                                   if per_level else {}),
        "online_curve": [float(online_t[s:s + every].mean()) for s in range(0, T, every)],
        "online": {"A": float(online_t[:switch].mean()), "B": float(online_t[switch:back].mean()),
                   "A again": float(online_t[back:].mean())},
        "a_end_of_a": curve_a[k_switch], "a_at_return": curve_a[k_back],
        "a_return_phase": float(np.mean(curve_a[k_back:])), "a_end": curve_a[-1],
        "b_during": float(np.mean(curve_b[k_switch + 1:k_back] + [out["b_end_of_b"]]))})
    return out


def spectrum_run(seed: int = 0, *, learners: Sequence[str] = LEARNERS, changes: Sequence[str] = CHANGES,
                 levels: Sequence[int] | None = None, **setting: Any) -> dict[str, Any]:
    """Every learner on one seed's stream, and every change (freeze, reset) of every CMS level.

    ``setting`` overrides :data:`SPECTRUM`; ``levels``: the CMS levels to change (default all; negative
    indices count from the slowest). Returns::

        {"seed", "setting", "tokens": measurement points, "switch", "return",
         "learners": {name: run_learner's dict + "periods", "rates", "hidden", "parameters", "updates"},
         "changes": {"freeze" / "reset": {level: run_learner's dict}},
         "loss": {"freeze" / "reset": {level: error on A at the return, changed CMS minus CMS}}}
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}.")
    cfg = check_setting(setting)
    for name in learners:
        require_choice("learner", name, LEARNERS)
    for kind in changes:
        require_choice("change", kind, CHANGES)
    if changes and "cms" not in learners:
        raise ValueError("the changes are measured against the CMS: keep 'cms' in learners, or pass changes=().")
    L = len(cfg["periods"])
    levels = list(range(L)) if levels is None else [int(l) % L if -L <= int(l) < L else int(l) for l in levels]
    for l in levels:
        if not 0 <= l < L:
            raise ValueError(f"levels must be in 0..{L - 1} (fastest first; negative counts from the slowest), "
                             f"got {l}.")
    stream = spectrum_stream(seed, cfg)
    T = stream["x"].shape[1]
    out: dict[str, Any] = {"seed": seed, "setting": jsonable(cfg), "tokens": list(range(0, T + 1, cfg["every"])),
                           "switch": stream["switch"], "return": stream["return"], "learners": {},
                           "changes": {k: {} for k in changes}, "loss": {k: {} for k in changes}}
    for name in learners:
        memory = make_learner(name, cfg, seed)
        result = run_learner(memory, stream, cfg["every"])
        periods, rates, hidden = level_rates(name, cfg)
        result.update({"periods": list(periods), "rates": list(rates), "hidden": hidden,
                       "parameters": sum(p.numel() for p in memory.parameters()),
                       "updates": [updates_per_phase(p, stream["switch"], stream["return"], T) for p in periods]})
        out["learners"][name] = result
    for kind in changes:
        for l in levels:
            changed = run_learner(make_learner("cms", cfg, seed), stream, cfg["every"], (kind, l))
            out["changes"][kind][str(l)] = changed
            out["loss"][kind][str(l)] = _minus(changed["a_at_return"], out["learners"]["cms"]["a_at_return"])
    return jsonable(out)


# ---------------------------------------------------------------------------------------------
# Choosing the rates


def _sweep_one(seed: int, rate: float, setting: Mapping[str, Any]) -> dict[str, Any]:
    """Every memory at ``rate``: the CMS's levels (each alone, read from one CMS with that rate at every level)
    and the two single MLPs; error on A at the end of A and at the return."""
    cfg = check_setting({**setting, "rates": (rate,) * len(setting.get("periods", SPECTRUM["periods"])),
                         "mlp_rates": (rate, rate)})
    stream = spectrum_stream(seed, cfg)
    rows = {}
    cms = run_learner(make_learner("cms", cfg, seed), stream, cfg["every"])
    for l, p in enumerate(cfg["periods"]):
        rows[f"level {l + 1} (period {p})"] = {"a_end_of_a": cms["levels_a_end_of_a"][l],
                                               "a_at_return": cms["levels_a_at_return"][l]}
    for name in ("mlp-fast", "mlp-slow"):
        run = run_learner(make_learner(name, cfg, seed), stream, cfg["every"])
        rows[name] = {"a_end_of_a": run["a_end_of_a"], "a_at_return": run["a_at_return"]}
    return rows


def rate_sweep(seeds: Sequence[int] = TUNING_SEEDS, grid: Sequence[float] = RATE_GRID, *, jobs: int = 1,
               tolerance: float = RATE_TOLERANCE, **setting: Any) -> dict[str, Any]:
    """How well each memory learns A alone at every rate of ``grid`` (the tuning that chose the rates).

    Returns ``{"grid", "seeds", "tolerance", "memories": {memory: {"a_end_of_a": [mean per rate],
    "a_at_return": [...]}}, "best": {memory: the rate with the lowest mean error on A at the end of A},
    "chosen": {memory: the largest rate whose error is within (1 + tolerance) x the best one's}}``.
    """
    check_setting(setting)
    work = [(s, float(r), dict(setting)) for r in grid for s in seeds]
    runs = run_all(_sweep_one, work, jobs=jobs)
    memories: dict[str, dict[str, list[float]]] = {}
    for i, r in enumerate(grid):
        per_seed = runs[i * len(seeds):(i + 1) * len(seeds)]
        for memory in per_seed[0]:
            row = memories.setdefault(memory, {"a_end_of_a": [], "a_at_return": []})
            for key in row:
                row[key].append(_nanmean([p[memory][key] for p in per_seed]))
    best = {m: grid[int(np.nanargmin(row["a_end_of_a"]))] for m, row in memories.items()}
    chosen = {m: max(r for r, e in zip(grid, row["a_end_of_a"])
                     if math.isfinite(e) and e <= (1 + tolerance) * min(row["a_end_of_a"]))
              for m, row in memories.items()}
    return jsonable({"grid": list(grid), "seeds": list(seeds), "tolerance": tolerance, "memories": memories,
                      "best": best, "chosen": chosen})


# ---------------------------------------------------------------------------------------------
# Over seeds: summary and claims


def _minus(a: float | None, b: float | None) -> float:
    """a - b, NaN when either side diverged (None in a results file)."""
    return math.nan if a is None or b is None else float(a) - float(b)


def _nanmean(values: Sequence[float | None]) -> float:
    vals = [math.nan if v is None else float(v) for v in values]
    return float(np.mean(vals))


def _stat(values: Sequence[float | None]) -> dict[str, Any]:
    """Per-seed values, their mean and their sample std (NaN/None when a seed diverged)."""
    vals = [math.nan if v is None else float(v) for v in values]
    finite = all(math.isfinite(v) for v in vals)
    return {"values": vals, "mean": float(np.mean(vals)) if finite else math.nan,
            "std": sample_std(vals) if finite else math.nan}


_METRICS = ("a_end_of_a", "a_at_return", "a_return_phase", "a_end", "b_during", "b_end_of_b")


def summarize(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Mean ± std over seeds of every learner's numbers and of every change's loss on A."""
    first = runs[0]
    learners = {}
    for name, r in first["learners"].items():
        row = {m: _stat([run["learners"][name][m] for run in runs]) for m in _METRICS}
        row["online"] = {p: _stat([run["learners"][name]["online"][p] for run in runs]) for p in r["online"]}
        row["levels_a_at_return"] = [_stat([run["learners"][name]["levels_a_at_return"][l] for run in runs])
                                     for l in range(len(r["periods"]))]
        row.update({k: r[k] for k in ("periods", "rates", "hidden", "parameters", "updates")})
        learners[name] = row
    changes = {kind: {l: {"loss": _stat([run["loss"][kind][l] for run in runs]),
                          "loss_return_phase": _stat([_minus(run["changes"][kind][l]["a_return_phase"],
                                                             run["learners"]["cms"]["a_return_phase"])
                                                      for run in runs]),
                          "b_during": _stat([run["changes"][kind][l]["b_during"] for run in runs])}
                      for l in first["loss"][kind]} for kind in first["loss"]}
    return jsonable({"learners": learners, "changes": changes})


def _claim(key: str, text: str, a: Mapping, b: Mapping, direction: float, n: int, what: str) -> dict[str, Any]:
    num = lambda v: math.nan if v is None else float(v)           # a diverged side has no mean (None)
    gap = num(a["mean"]) - num(b["mean"])
    spread = max(num(a["std"]), num(b["std"]))
    call = rule(gap, spread, direction, n) if math.isfinite(gap) and math.isfinite(spread) \
        else "not testable at this scale"
    label = text.split(")")[0] + ")" if text.startswith("(") else ""          # "(1)" ... "(4, control)"
    return {"key": key, "id": label, "claim": text, "measured": what, "a": num(a["mean"]), "b": num(b["mean"]),
            "gap": gap,
            "spread": spread, "n": n, "direction": "lower" if direction < 0 else "higher", "verdict": call}


def claims(summary: Mapping[str, Any], n: int) -> list[dict[str, Any]]:
    """The four claims of the module docstring, each judged by the chapter-08 rule over ``n`` seeds."""
    L, out = summary["learners"], []
    if {"cms", "mlp-fast"} <= set(L):
        out.append(_claim("keeps_a", "(1) the CMS's error on A right after the return is lower than the fast MLP's",
                          L["cms"]["a_at_return"], L["mlp-fast"]["a_at_return"], -1.0, n,
                          "error on A at the return: CMS - mlp-fast"))
    if {"cms", "mlp-slow"} <= set(L):
        out.append(_claim("adapts_b", "(2) the CMS's error on B during B is lower than the slow MLP's (it adapts)",
                          L["cms"]["b_during"], L["mlp-slow"]["b_during"], -1.0, n,
                          "mean error on B over B: CMS - mlp-slow"))
    reset = summary["changes"].get("reset", {})
    if reset:
        slow, fast = max(reset, key=int), min(reset, key=int)
        if slow != fast:
            out.append(_claim("slow_holds_a", "(3) resetting the slowest level raises the error on A more than "
                              "resetting the fastest", reset[slow]["loss"], reset[fast]["loss"], +1.0, n,
                              f"loss on A at the return: reset level {int(slow) + 1} - reset level {int(fast) + 1}"))
    if {"cms", "cms-flat"} <= set(L):
        out.append(_claim("spectrum", "(4, control) the CMS's error on A right after the return is lower than the "
                          "same levels at one period's", L["cms"]["a_at_return"], L["cms-flat"]["a_at_return"],
                          -1.0, n, "error on A at the return: CMS - cms-flat"))
    return jsonable(out)


def _tried_run(seed: int, overrides: dict) -> dict:
    L = len(overrides.get("periods", SPECTRUM["periods"]))
    return spectrum_run(seed, changes=("reset",), levels=(0, L - 1), **overrides)


def _tried(jobs: int) -> list[dict[str, Any]]:
    """:data:`TRIED`, each rerun on :data:`TUNING_SEEDS`: its numbers, verdicts and one line of text."""
    work = [(s, dict(over)) for _, over, _ in TRIED for s in TUNING_SEEDS]
    runs = run_all(_tried_run, work, jobs=jobs)
    out = []
    for i, (label, over, why) in enumerate(TRIED):
        summary = summarize(runs[i * len(TUNING_SEEDS):(i + 1) * len(TUNING_SEEDS)])
        calls = claims(summary, len(TUNING_SEEDS))
        L = summary["learners"]
        f = lambda s: "nan" if s["mean"] is None or not math.isfinite(s["mean"]) else f"{s['mean']:.3f}"
        reset = summary["changes"]["reset"]
        slow, fast = max(reset, key=int), min(reset, key=int)
        line = (f"{label} ({_overrides_text(over)}): A at return CMS {f(L['cms']['a_at_return'])} vs fast MLP "
                f"{f(L['mlp-fast']['a_at_return'])} vs flat {f(L['cms-flat']['a_at_return'])}; B during B CMS "
                f"{f(L['cms']['b_during'])} vs slow MLP {f(L['mlp-slow']['b_during'])}; reset loss slow "
                f"{f(reset[slow]['loss'])} vs fast {f(reset[fast]['loss'])}; verdicts "
                + ", ".join(f"{c['id']} {c['verdict']}" for c in calls))
        out.append({"label": label, "overrides": jsonable(over), "why": why, "seeds": list(TUNING_SEEDS),
                    "summary": {"learners": {n: {m: L[n][m] for m in ("a_at_return", "b_during")} for n in L},
                                "reset": {k: v["loss"] for k, v in reset.items()}},
                    "claims": calls, "line": line})
    return out


def _tradeoff_run(seed: int, rate: float, setting: dict) -> dict:
    """cms-flat and mlp-fast with fast rate ``rate`` (the rest of ``setting`` unchanged)."""
    cfg = check_setting(setting)
    over = {**setting, "rates": (rate, *cfg["rates"][1:]), "mlp_rates": (rate, cfg["mlp_rates"][1])}
    run = spectrum_run(seed, learners=("cms-flat", "mlp-fast"), changes=(), **over)
    return {n: {m: run["learners"][n][m] for m in ("a_at_return", "b_during")} for n in run["learners"]}


def tradeoff(cms_runs: Sequence[Mapping[str, Any]], grid: Sequence[float] = TRADEOFF_GRID, *, jobs: int = 1,
             setting: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The CMS against every fast rate of the memories without a spectrum, on the seeds of ``cms_runs``.

    A single fast MLP's rate trades one claim for the other: a low rate keeps A (claim 1) but adapts to B
    slowly, a high rate the reverse. So the CMS of ``cms_runs`` is compared with ``mlp-fast`` and
    ``cms-flat`` at each rate of ``grid``, on both numbers, by the same rule: the CMS is better than a
    learner *on both* when its error on A at the return and its error on B during B are both lower by a
    gap that counts. Returns ``{"grid", "seeds", "cms": {metric: stat}, "rows": [{"learner", "rate",
    "a_at_return", "b_during", "keeps_a", "adapts_b"}]}`` (keeps_a / adapts_b: the rule's verdict on
    "the CMS is lower").
    """
    setting = dict(setting or {})
    seeds = [run["seed"] for run in cms_runs]
    work = [(s, float(r), setting) for r in grid for s in seeds]
    out = run_all(_tradeoff_run, work, jobs=jobs)
    cms = {m: _stat([run["learners"]["cms"][m] for run in cms_runs]) for m in ("a_at_return", "b_during")}
    rows = []
    for i, r in enumerate(grid):
        per_seed = out[i * len(seeds):(i + 1) * len(seeds)]
        for name in ("mlp-fast", "cms-flat"):
            row = {m: _stat([p[name][m] for p in per_seed]) for m in ("a_at_return", "b_during")}
            keeps = _claim("", "", cms["a_at_return"], row["a_at_return"], -1.0, len(seeds), "")["verdict"]
            adapts = _claim("", "", cms["b_during"], row["b_during"], -1.0, len(seeds), "")["verdict"]
            rows.append({"learner": name, "rate": float(r), **row, "keeps_a": keeps, "adapts_b": adapts})
    return jsonable({"grid": list(grid), "seeds": seeds, "cms": cms, "rows": rows})


def _overrides_text(over: Mapping) -> str:
    return "as SPECTRUM" if not over else ", ".join(f"{k}={tuple(v) if isinstance(v, list) else v}"
                                                    for k, v in over.items())


def _run_seed(seed: int, setting: dict) -> dict:
    return spectrum_run(seed, **setting)


def spectrum_experiment(seeds: Sequence[int] = (0, 1, 2), json_path: str | Path | None = None, jobs: int = 1, *,
                        tried: bool = True, trade: bool = True, setting: Mapping[str, Any] | None = None,
                        command: str | None = None) -> dict[str, Any]:
    """:func:`spectrum_run` for every seed, the summary (mean ± std), the claims with verdicts, with ``trade``
    the trade-off table (:func:`tradeoff`, the same seeds), and with ``tried`` the rate sweep and every
    variant of :data:`TRIED` on the tuning seeds. Written to
    ``json_path`` when given (with :func:`~hope_lite.lessons.results.write_results`); ``command``: how it was
    run, for the file's ``"command"`` (the command line, when :func:`main` runs it)."""
    started = time.perf_counter()
    seeds = require_seeds(seeds)
    if set(seeds) & set(TUNING_SEEDS) and tried:
        raise ValueError(f"the reported seeds {seeds} must differ from the tuning seeds {list(TUNING_SEEDS)}.")
    jobs = require_int("jobs", jobs)
    setting = dict(setting or {})
    cfg = check_setting(setting)
    runs = run_all(_run_seed, [(s, setting) for s in seeds], jobs=jobs)
    summary = summarize(runs)
    results: dict[str, Any] = {
        "format": FORMAT, "kind": "spectrum", "seeds": seeds, "setting": cfg, "labels": LABELS,
        "summary": summary, "claims": claims(summary, len(seeds)), "runs": runs,
        "switch": runs[0]["switch"], "return": runs[0]["return"], "tokens": runs[0]["tokens"]}
    if trade:
        results["tradeoff"] = tradeoff(runs, TRADEOFF_GRID, jobs=jobs, setting=setting)
    if tried:
        results["rate_sweep"] = rate_sweep(TUNING_SEEDS, RATE_GRID, jobs=jobs, **setting)
        results["tried"] = _tried(jobs)
    results["command"] = command or (f"spectrum_experiment(seeds={seeds}, jobs={jobs}, tried={tried}, trade={trade}, "
                                     f"setting={setting})")
    results["environment"] = environment("cpu", started)
    results = jsonable(results)
    if json_path is not None:
        write_results(json_path, results)
    return results


# ---------------------------------------------------------------------------------------------
# Reading and printing


def load_results(path: str | Path | None = None) -> dict[str, Any]:
    """The committed results file (default :data:`RESULTS`), as written by :data:`COMMAND`."""
    return read_results(path or RESULTS, what="a spectrum results file", fmt=FORMAT, key="summary", command=COMMAND)


def _cell(stat: Mapping[str, Any] | None, digits: int = 3) -> str:
    if stat is None or stat.get("mean") is None or not math.isfinite(stat["mean"]):
        return "diverged"
    return f"{stat['mean']:.{digits}f} ± {stat['std']:.{digits}f}"


def format_spectrum(results: Mapping[str, Any]) -> str:
    """Markdown: one table of the learners, one of the CMS's levels (freeze / reset), and the verdict lines."""
    if not isinstance(results, Mapping) or results.get("kind") != "spectrum" or "summary" not in results:
        raise ValueError("format_spectrum takes the dict returned by spectrum_experiment() or load_results().")
    S, cfg = results["summary"], results["setting"]
    lines = [f"Errors are relative squared errors on held-out probes (mean ± sample std over seeds "
             f"{results['seeds']}); stream A {cfg['tokens_a']} | B {cfg['tokens_b']} | A {cfg['tokens_return']} "
             f"tokens, width {cfg['width']}, rank {cfg['rank']}, clip {cfg['max_update']}.", "",
             "| learner | periods | rates | hidden | params | A at end of A | A at return | A over return | "
             "B during B | online A | online B | online A again |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in S["learners"].items():
        lines.append(f"| {results['labels'].get(name, name)} (`{name}`) | {tuple(r['periods'])} | {tuple(r['rates'])} "
                     f"| {r['hidden']} | {r['parameters']} | {_cell(r['a_end_of_a'])} | {_cell(r['a_at_return'])} "
                     f"| {_cell(r['a_return_phase'])} | {_cell(r['b_during'])} | {_cell(r['online']['A'])} "
                     f"| {_cell(r['online']['B'])} | {_cell(r['online']['A again'])} |")
    cms = S["learners"].get("cms")
    if cms is not None and S["changes"]:
        lines += ["", "| CMS level | period | rate | updates in A / B / A again | level alone: A at return "
                  "| freeze in B: loss on A | freeze in B: B during B | reset at return: loss on A "
                  "| reset: loss over return |",
                  "|---|---:|---:|---|---:|---:|---:|---:|---:|"]
        for l, (p, rate) in enumerate(zip(cms["periods"], cms["rates"])):
            key = str(l)
            fr = S["changes"].get("freeze", {}).get(key)
            rs = S["changes"].get("reset", {}).get(key)
            lines.append(f"| {l + 1} | {p} | {rate} | {' / '.join(map(str, cms['updates'][l]))} "
                         f"| {_cell(cms['levels_a_at_return'][l])} | {_cell(fr and fr['loss'])} "
                         f"| {_cell(fr and fr['b_during'])} | {_cell(rs and rs['loss'])} "
                         f"| {_cell(rs and rs['loss_return_phase'])} |")
    trade = results.get("tradeoff")
    if trade:
        lines += ["", f"Trade-off: the CMS (A at return {_cell(trade['cms']['a_at_return'])}, B during B "
                  f"{_cell(trade['cms']['b_during'])}) against the memories without a spectrum at each fast rate; "
                  f"'CMS lower' is the rule's verdict.", "",
                  "| learner | fast rate | A at return | B during B | CMS lower on A | CMS lower on B |",
                  "|---|---:|---:|---:|---|---|"]
        for row in trade["rows"]:
            lines.append(f"| `{row['learner']}` | {row['rate']} | {_cell(row['a_at_return'])} | "
                         f"{_cell(row['b_during'])} | {row['keeps_a']} | {row['adapts_b']} |")
    lines += ["", "Claims (a gap counts when it exceeds twice the seed spread):"]
    for c in results["claims"]:
        gap = "nan" if c["gap"] is None else f"{c['gap']:+.3f}"
        spread = "nan" if c["spread"] is None else f"{c['spread']:.3f}"
        lines.append(f"- {c['claim']}: {c['measured']} = {gap} (spread {spread}) -> **{c['verdict']}**")
    return "\n".join(lines)


def format_tried(results: Mapping[str, Any]) -> str:
    """The rate sweep and the tried variants of a results file, one line each."""
    lines = []
    sweep = results.get("rate_sweep")
    if sweep:
        lines.append(f"rate sweep (seeds {sweep['seeds']}), error on A at the end of A for rates {sweep['grid']} "
                     f"(best; chosen: the largest within {sweep['tolerance']:.0%} of the best):")
        for m, row in sweep["memories"].items():
            vals = ", ".join("nan" if v is None else f"{v:.4f}" for v in row["a_end_of_a"])
            lines.append(f"- {m}: {vals} -> best {sweep['best'][m]}, chosen {sweep['chosen'][m]}")
    for t in results.get("tried", []):
        lines.append(f"- {t['line']}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Command line


def build_parser() -> argparse.ArgumentParser:
    p, r = experiment_parser("ch09_memory_benchmarks.spectrum",
                             "A spectrum of update frequencies: does a slow level keep what a fast level loses? "
                             "(notebook 09, docs/09-spectrum.md)",
                             "run the experiment on the seeds (and the tuning record) and print the table", RESULTS)
    r.add_argument("--threads", type=int, default=None, help="torch threads of this process")
    r.add_argument("--fast", action="store_true",
                   help="the tiny FAST setting (seconds), without the trade-off table and the tuning record")
    r.add_argument("--no-tried", action="store_true", help="skip the rate sweep and the tried variants")
    return p


def _print(results: Mapping[str, Any]) -> None:
    print(format_spectrum(results))
    if results.get("tried"):
        print("\nTried (tuning seeds):\n" + format_tried(results))


def _run(args: argparse.Namespace, command: str) -> dict[str, Any]:
    if args.threads is not None:
        torch.set_num_threads(require_int("threads", args.threads))
    return spectrum_experiment(args.seeds, json_path=args.json, jobs=args.jobs,
                               tried=not (args.no_tried or args.fast), trade=not args.fast,
                               setting=dict(FAST) if args.fast else None, command=command)


def main(argv: list[str] | None = None) -> int:
    return run_command(build_parser(), argv, run=_run, load=load_results, show=_print, threads=None)


if __name__ == "__main__":
    sys.exit(main())
