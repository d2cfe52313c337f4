"""Experiments of notebook 06 (Continuum Memory System): update times, and forgetting on a stream of tasks.

The forgetting experiment (:func:`forgetting_run`) feeds a stream of tasks ``A, B, C, A`` to
memories that **learn in context only** (no outer training), all by the same rule: eq 71 as
implemented by :class:`hope_lite.cms.ContinuumMemory` (mean chunk gradient, clipped, applied at
the chunk's last token). The learners:

* ``"single"``: a one-level ContinuumMemory (one MLP, period ``periods[0]``) whose hidden width is
  chosen so that it has as many parameters as the CMS (within a few parameters);
* ``"cms"``: a ContinuumMemory with levels of periods ``periods`` and learning rates
  proportional to the period, ``eta_l = lr * C_l / C_1``: the mean-gradient step eta_l / C_l per
  token is then the same at every level, i.e. the paper's eq 71 with a sum over the chunk and a
  constant per-token rate (each level moves as far per token; slow levels move in larger, rarer steps);
* ``"cms-equal"``: the same CMS with ``eta_l = lr`` at every level (the library's default form:
  a slow level then moves C_l / C_1 times less per token).

**What a task is, and what "error" means.** Every level of a CMS learns in context to map its
normalised input n_t to a value v_t = n_t W_v (cms module docstring, docs/paper.md §9.8): the target
map is fixed by the outer-learned W_v; a task only decides *where* the inputs lie. Task tau draws
inputs from its own random ``rank``-dimensional subspace of R^width, so learning task B moves
weights that task A needs (shared hidden units), and A is partly forgotten. We use the
``"independent"`` variant (eq 74) with one W_v shared by every level, so that every level has the
same target and the memory's answer is well defined: ``y_t - x_t`` (the softmax-weighted mix of the
levels' outputs) should equal v_t. The error on a task is the relative squared error
``|answer - v|^2 / |v|^2`` on held-out inputs of that task, read with the weights the stream has
left (no update while reading: :func:`frozen_read`).

Everything is seeded; ``python -m hope_lite.lessons.ch06_continuum_memory.experiments forgetting
--seeds 0 1 2`` prints the table. Introduced in notebook 06.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor

from hope_lite import ContinuumMemory, UpdateRecorder
from hope_lite.cms import CMSState, frozen_read

from .._args import require_choice
from ..teaching import seeded

__all__ = ["FORGETTING", "LEARNERS", "task_bases", "task_stream", "matched_hidden", "make_learner", "frozen_read",
           "task_error", "level_errors", "forgetting_run", "forgetting_table", "format_forgetting_table",
           "recorded_update_times", "expected_update_times", "update_norms", "timeline_run", "magnitude_summary",
           "format_magnitude_summary", "TIMELINE_MAX_UPDATE", "CMS_TIMELINE_EXPLORER_DEFAULTS"]

# the setting of the notebook's forgetting demonstration (and of figures/06-forgetting.png)
FORGETTING: dict[str, Any] = {"width": 16, "rank": 4, "batch": 8, "tokens_per_task": 256, "tasks": "ABCA",
                              "periods": (4, 16, 64), "hidden": 32, "lr": 0.1, "probes": 64}
LEARNERS = ("single", "cms", "cms-equal")


# ---------------------------------------------------------------------------------------------
# Update times (section 1 of the notebook)


def expected_update_times(period: int, tokens: int, start: int = 0) -> list[int]:
    """Token indices (0-based, of this call) at which a level of period C updates (eq 71).

    A level updates at the last token of each of its chunks: stream position p (counting from the
    start of the sequence, ``start`` tokens were read by earlier calls) with ``(p + 1) % C == 0``.
    """
    return [t for t in range(tokens) if (start + t + 1) % period == 0]


@torch.no_grad()
def recorded_update_times(periods: Sequence[int], tokens: int, *, width: int = 8, variant: str = "sequential",
                          seed: int = 0) -> dict[int, np.ndarray]:
    """Run a fresh ContinuumMemory over ``tokens`` random tokens under an UpdateRecorder.

    Returns {level index: recorded update times}; a level that never updated maps to an empty array.
    """
    with seeded(seed):
        cms = ContinuumMemory(width, tuple(periods), hidden=2 * width, variant=variant)
        x = torch.randn(1, tokens, width)
    with UpdateRecorder(cms) as rec:
        cms(x)
    return {i: rec.events[f"blocks.{i}.memory"].all_times() if f"blocks.{i}.memory" in rec.events
            else np.zeros(0, dtype=np.int64) for i in range(len(periods))}


# ---------------------------------------------------------------------------------------------
# The stream of tasks


def task_bases(tasks: str, width: int, rank: int, generator: torch.Generator) -> dict[str, Tensor]:
    """One random orthonormal basis (width, rank) per distinct task letter."""
    return {t: torch.linalg.qr(torch.randn(width, rank, generator=generator))[0] for t in dict.fromkeys(tasks)}


def task_stream(tasks: str = "ABCA", *, tokens_per_task: int = 256, width: int = 16, rank: int = 4, batch: int = 8,
                probes: int = 64, seed: int = 0) -> dict[str, Any]:
    """A stream (batch, len(tasks) * tokens_per_task, width) of tasks one after the other, and held-out probes.

    Task tau's inputs are ``U_tau z`` with z ~ N(0, I_rank) and U_tau its basis: a random subspace.
    Returns ``{"x", "probes": {task: (batch, probes, width)}, "tasks", "tokens_per_task"}``.
    """
    if not tasks or not all(isinstance(c, str) and c.isalpha() for c in tasks):
        raise ValueError(f"tasks must be a string of task letters such as 'ABCA', got {tasks!r}.")
    for name, value in (("tokens_per_task", tokens_per_task), ("width", width), ("rank", rank), ("batch", batch),
                        ("probes", probes)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}.")
    if rank > width:
        raise ValueError(f"rank ({rank}) cannot exceed width ({width}).")
    g = torch.Generator().manual_seed(seed)
    bases = task_bases(tasks, width, rank, g)

    def sample(task: str, n: int) -> Tensor:
        return torch.randn(batch, n, rank, generator=g) @ bases[task].T

    held_out = {t: sample(t, probes) for t in bases}
    x = torch.cat([sample(t, tokens_per_task) for t in tasks], dim=1)
    return {"x": x, "probes": held_out, "tasks": tasks, "tokens_per_task": tokens_per_task}


# ---------------------------------------------------------------------------------------------
# The learners


def _parameters(width: int, hidden: int, levels: int) -> int:
    """Parameters of an independent ContinuumMemory: per level norm + W_v + W_1 + W_2, plus the mix."""
    return levels * (width + width * width + 2 * width * hidden) + (levels if levels > 1 else 1)


def matched_hidden(width: int, hidden: int, levels: int) -> int:
    """Hidden width of a one-level memory with (about) the parameters of ``levels`` levels of ``hidden``."""
    target = _parameters(width, hidden, levels)
    return max(1, round((target - _parameters(width, 0, 1)) / (2 * width)))


def make_learner(name: str, *, width: int = 16, periods: Sequence[int] = (4, 16, 64), hidden: int = 32,
                 lr: float = 0.1, seed: int = 0) -> ContinuumMemory:
    """One of :data:`LEARNERS`, seeded; every level shares one value map W_v (the same target)."""
    require_choice("learner", name, LEARNERS)
    periods = tuple(periods)
    if name == "single":
        per, hid, rates = periods[:1], matched_hidden(width, hidden, len(periods)), [lr]
    elif name == "cms":
        per, hid, rates = periods, hidden, [lr * p / periods[0] for p in periods]
    else:
        per, hid, rates = periods, hidden, [lr] * len(periods)
    with seeded(seed):
        memory = ContinuumMemory(width, per, hidden=hid, learning_rates=rates, variant="independent")
    # the target map from its own generator, so that it is the same for every learner of this seed (drawn after
    # the memory from one stream, it would depend on how many numbers that learner's shape drew first)
    value = torch.randn(width, width, generator=torch.Generator().manual_seed(seed)) / math.sqrt(width)
    with torch.no_grad():
        for block in memory.blocks:
            block.value.copy_(value)
    return memory


def task_error(cms: ContinuumMemory, state: CMSState, x: Tensor) -> float:
    """Relative squared error |answer - v|^2 / |v|^2 of the memory's answer y - x on inputs x (shared W_v)."""
    _, v = cms.blocks[0].keys_values(x)
    answer = frozen_read(cms, state, x) - x
    return float(((answer - v).pow(2).sum(-1) / v.pow(2).sum(-1)).mean())


def level_errors(cms: ContinuumMemory, state: CMSState, x: Tensor) -> list[float]:
    """The same error for each level alone (its own MLP's output against v), fastest level first."""
    _, v = cms.blocks[0].keys_values(x)
    out = []
    for block, st in zip(cms.blocks, state.levels):
        k, _ = block.keys_values(x)
        y = block.read(st.weights, k)
        out.append(float(((y - v).pow(2).sum(-1) / v.pow(2).sum(-1)).mean()))
    return out


# ---------------------------------------------------------------------------------------------
# The forgetting experiment


@torch.no_grad()
def forgetting_run(seed: int = 0, *, learners: Sequence[str] = LEARNERS, **setting: Any) -> dict[str, Any]:
    """Feed the stream of tasks to every learner; measure the error on every task as the stream goes.

    ``setting`` overrides :data:`FORGETTING`. The stream is read in segments of ``periods[-1]``
    tokens (the state is carried, so this equals one call); after each segment the error on each
    task's held-out probes is measured with the weights frozen. Returns::

        {"tokens": (S,) token count after each segment, "tasks", "tokens_per_task", "setting",
         "errors": {learner: {task: (S,) errors}}, "initial": {learner: {task: error before any token}},
         "phase_end": {learner: [error on the first task at the end of each phase]},
         "levels_on_first": {learner: [[per-level error on the first task] at the end of each phase]},
         "parameters": {learner: count}, "periods": {learner: periods}}
    """
    cfg = {**FORGETTING, **setting}
    unknown = set(cfg) - set(FORGETTING)
    if unknown:
        raise ValueError(f"unknown setting(s) {sorted(unknown)}; choose from {sorted(FORGETTING)}.")
    periods = tuple(cfg["periods"])
    if cfg["tokens_per_task"] % periods[-1]:
        raise ValueError(f"tokens_per_task ({cfg['tokens_per_task']}) must be a multiple of the slowest period "
                         f"({periods[-1]}), so that every phase ends on an update of every level.")
    stream = task_stream(cfg["tasks"], tokens_per_task=cfg["tokens_per_task"], width=cfg["width"], rank=cfg["rank"],
                         batch=cfg["batch"], probes=cfg["probes"], seed=seed)
    x, probes, first = stream["x"], stream["probes"], cfg["tasks"][0]
    segment = periods[-1]
    per_phase = cfg["tokens_per_task"] // segment
    out: dict[str, Any] = {"tokens": np.arange(segment, x.shape[1] + 1, segment), "tasks": cfg["tasks"],
                           "tokens_per_task": cfg["tokens_per_task"], "setting": cfg, "errors": {}, "initial": {},
                           "phase_end": {}, "levels_on_first": {}, "parameters": {}, "periods": {}}
    for name in learners:
        memory = make_learner(name, width=cfg["width"], periods=periods, hidden=cfg["hidden"], lr=cfg["lr"],
                              seed=seed)
        state = memory.init_state(x.shape[0])
        errors: dict[str, list[float]] = {t: [] for t in probes}
        out["initial"][name] = {t: task_error(memory, state, p) for t, p in probes.items()}
        ends, levels = [], []
        for s in range(0, x.shape[1], segment):
            _, state = memory(x[:, s:s + segment], state=state)
            for t, p in probes.items():
                errors[t].append(task_error(memory, state, p))
            if (s // segment + 1) % per_phase == 0:
                ends.append(errors[first][-1])
                levels.append(level_errors(memory, state, probes[first]))
        out["errors"][name] = {t: np.asarray(e) for t, e in errors.items()}
        out["phase_end"][name] = ends
        out["levels_on_first"][name] = levels
        out["parameters"][name] = sum(p.numel() for p in memory.parameters())
        out["periods"][name] = memory.periods
    return out


def forgetting_table(seeds: Sequence[int] = (0, 1, 2), **setting: Any) -> dict[str, Any]:
    """:func:`forgetting_run` for every seed: error on the first task at the end of each phase.

    Returns ``{"runs": [...], "phase_end": {learner: (seeds, phases) array}, "tasks", "seeds"}``.
    """
    runs = [forgetting_run(s, **setting) for s in seeds]
    learners = list(runs[0]["phase_end"])
    return {"runs": runs, "seeds": list(seeds), "tasks": runs[0]["tasks"],
            "phase_end": {n: np.asarray([r["phase_end"][n] for r in runs]) for n in learners},
            "parameters": runs[0]["parameters"], "periods": runs[0]["periods"]}


def format_forgetting_table(table: dict[str, Any]) -> str:
    """The table as text: mean (min..max over seeds) of the error on the first task after each phase."""
    tasks = table["tasks"]
    first = tasks[0]
    heads = [f"after {t}{' (again)' if t in tasks[:i] else ''}" for i, t in enumerate(tasks)]
    lines = [f"error on task {first} (relative squared error on held-out inputs), seeds {table['seeds']}",
             f"{'learner':<34}" + "".join(f"{h:>20}" for h in heads)]
    for name, arr in table["phase_end"].items():
        label = {"single": "one MLP", "cms": "CMS, eta_l ~ C_l", "cms-equal": "CMS, equal eta_l"}.get(name, name)
        label = f"{label} {list(table['periods'][name])}, {table['parameters'][name]} p"
        cells = "".join(f"{arr[:, j].mean():>8.3f} ({arr[:, j].min():.3f}..{arr[:, j].max():.3f})"
                        for j in range(arr.shape[1]))
        lines.append(f"{label:<34}{cells}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# The timeline explorer's run (section 3)

#: the clip of the timeline demonstrations (sections 1 and 3; the library's default is 1.0): an update
#: moves a level's weights by at most learning rate x TIMELINE_MAX_UPDATE
TIMELINE_MAX_UPDATE = 4.0

#: the start values of explore_cms_timeline() (also its static preview, 06-explorer.png): level l has
#: period 2 ** exponents[l]; ``max_update`` is the clip (None: no clip)
CMS_TIMELINE_EXPLORER_DEFAULTS: dict[str, Any] = {"levels": 3, "exponents": (2, 4, 6, 8), "tokens": 256,
                                                  "max_update": TIMELINE_MAX_UPDATE}


def _pieces(period: int, tokens: int, start: int) -> list[tuple[int, int, bool]]:
    """(begin, end, ends a chunk?) pieces of a call of ``tokens`` tokens that starts at stream position ``start``."""
    cuts = [t + 1 for t in expected_update_times(period, tokens, start)]
    bounds = [0] + cuts + ([tokens] if not cuts or cuts[-1] < tokens else [])
    return [(a, b, b in cuts) for a, b in zip(bounds[:-1], bounds[1:])]


@torch.no_grad()
def update_norms(cms: ContinuumMemory, x: Tensor, state: CMSState | None = None) -> dict[str, Any]:
    """Every level's updates on ``x``, with the step each one asked for **before** the clip.

    The library clips a level's mean chunk gradient g to norm ``max_update`` and records only the
    step it took, |Δθ| = η |clip(g)|. This replays the same computation with the level's own
    public steps (:meth:`~hope_lite.cms.CMSBlock.keys_values`, ``read_and_gradient``,
    ``accumulate``, ``update``) and also keeps η |g|, the step the gradient asked for. Sequential
    and independent variants only (nested levels reset one another). Returns::

        {"y": the CMS output (equal to cms(x)), "levels": [{"times": update token indices of this call,
         "before_clip": η|g|, "applied": η|clip(g)| (what an UpdateRecorder records), "clipped": bool,
         "limit": η * max_update or None}, ...]}

    each value a mean over the batch (``clipped``: any sequence of the batch was clipped).
    """
    if cms.variant not in ("sequential", "independent"):
        raise ValueError(f"update_norms replays the sequential and independent variants, got {cms.variant!r} "
                         f"(a nested CMS resets faster levels from slower ones).")
    if state is None:
        state = cms.init_state(x.shape[0], x.dtype)
    start, T = state.position, x.shape[1]
    h, contributions, levels = x, [], []
    for block, st in zip(cms.blocks, state.levels):
        k, v = block.keys_values(x if cms.variant == "independent" else h)
        C, lr, cap = block.period, block.learning_rate, block.max_update
        outs, times, before, applied, clipped = [], [], [], [], []
        for a, b, ends in _pieces(C, T, start):
            out, grads = block.read_and_gradient(st.weights, k[:, a:b], v[:, a:b])   # frozen inside the chunk
            st = block.accumulate(st, grads)
            outs.append(out)
            if ends:
                norm = sum((g / C).flatten(1).pow(2).sum(1) for g in st.gradient).sqrt()   # |g| per sequence
                new = block.update(st)
                step = sum((n - o).flatten(1).pow(2).sum(1) for n, o in zip(new.weights, st.weights)).sqrt()
                times.append(b - 1)
                before.append(float((lr * norm).mean()))
                applied.append(float(step.mean()))
                clipped.append(bool(cap is not None and bool((norm > cap).any())))
                st = new
        out = torch.cat(outs, dim=1)
        if cms.variant == "independent":
            contributions.append(out)
        else:
            h = h + out
        levels.append({"times": np.asarray(times, dtype=np.int64), "before_clip": np.asarray(before),
                       "applied": np.asarray(applied), "clipped": np.asarray(clipped, dtype=bool),
                       "limit": None if cap is None else lr * cap})
    y = cms.aggregate(x, contributions) if cms.variant == "independent" else h
    return {"y": y, "levels": levels}


@torch.no_grad()
def timeline_run(periods: Sequence[int], tokens: int = 256, *, width: int = 16, hidden: int = 32, lr: float = 0.1,
                 max_update: float | None = TIMELINE_MAX_UPDATE, seed: int = 0) -> dict[str, Any]:
    """One real forward pass of a ContinuumMemory under an UpdateRecorder, on a stream that switches task.

    The stream is task A for the first half of the tokens, task B for the second (inputs from two
    random subspaces, :func:`task_stream`), so the steps a level asks for shrink while it learns A
    and jump when B starts. The recorder holds each update's time and the step taken, |Δθ| =
    η |clip(g)|, at most ``lr * max_update``; :func:`update_norms` adds the step asked for, η |g|
    before the clip. ``max_update`` defaults to :data:`TIMELINE_MAX_UPDATE` (the library's default
    is 1.0, which would cut nearly every early update of this small memory to the same size).
    Returns ``{"recorder", "periods", "tokens", "switch", "counts", "names", "before_clip",
    "clipped", "clip_limit", "max_update", "lr"}``: ``counts[i]`` the number of recorded updates
    of level i, ``before_clip[name]`` and ``clipped[name]`` aligned with the recorded times of
    that level, ``clip_limit = lr * max_update`` (None without a clip).
    """
    periods = tuple(int(p) for p in periods)
    half = max(1, tokens // 2)
    stream = task_stream("AB", tokens_per_task=half, width=width, rank=4, batch=1, probes=1, seed=seed)
    x = stream["x"][:, :tokens]
    if x.shape[1] < tokens:                          # odd token count: one more token of task B
        x = torch.cat([x, stream["x"][:, -1:]], dim=1)
    with seeded(seed):
        cms = ContinuumMemory(width, periods, hidden=hidden, learning_rates=[lr] * len(periods), max_update=max_update)
    with UpdateRecorder(cms) as rec:
        cms(x)
    norms = update_norms(cms, x)["levels"]
    names = [f"blocks.{i}.memory" for i in range(len(periods))]
    counts = [int(rec.events[n].all_times().size) if n in rec.events else 0 for n in names]
    for name, level, count in zip(names, norms, counts):     # the replay saw the recorder's updates
        if count != level["times"].size or (count and not np.array_equal(rec.events[name].all_times(),
                                                                         level["times"])):
            raise RuntimeError(f"update_norms disagrees with the recorder on the update times of {name}.")
    return {"recorder": rec, "periods": periods, "tokens": tokens, "switch": half, "counts": counts, "names": names,
            "before_clip": {n: lv["before_clip"] for n, lv in zip(names, norms)},
            "clipped": {n: lv["clipped"] for n, lv in zip(names, norms)},
            "clip_limit": None if max_update is None else lr * max_update, "max_update": max_update, "lr": lr}


def magnitude_summary(run: dict[str, Any]) -> list[dict[str, Any]]:
    """Per level of a :func:`timeline_run`: what its magnitude panel shows, in numbers.

    Each row: ``period``, ``updates`` (in the run), ``clipped`` (how many of them), ``in_a`` (updates
    before the task switch), ``first`` and ``last_a`` (η|g| asked at its first update and at its
    last one before the switch), ``after_switch`` (at its first update after the switch; NaN if
    none), and ``asks`` (every η|g|, in order).
    """
    rows = []
    for name, period in zip(run["names"], run["periods"]):
        asks = run["before_clip"][name]
        times = run["recorder"].events[name].all_times() if name in run["recorder"].events else np.zeros(0, int)
        in_a = int((times < run["switch"]).sum())
        rows.append({"period": period, "updates": int(asks.size), "clipped": int(run["clipped"][name].sum()),
                     "in_a": in_a, "first": float(asks[0]) if asks.size else math.nan,
                     "last_a": float(asks[in_a - 1]) if in_a else math.nan,
                     "after_switch": float(asks[in_a]) if asks.size > in_a else math.nan, "asks": asks})
    return rows


def format_magnitude_summary(rows: list[dict[str, Any]]) -> str:
    """:func:`magnitude_summary` as a small text table."""
    lines = [f"{'level':<7}{'C':>5}{'updates':>9}{'clipped':>9}{'in task A':>11}{'1st ask':>9}"
             f"{'last in A':>11}{'1st in B':>10}"]
    for i, r in enumerate(rows):
        lines.append(f"{i + 1:<7}{r['period']:>5}{r['updates']:>9}{r['clipped']:>9}{r['in_a']:>11}"
                     f"{r['first']:>9.2f}{r['last_a']:>11.2f}{r['after_switch']:>10.2f}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Command line


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m hope_lite.lessons.ch06_continuum_memory.experiments",
                                description="Experiments of notebook 06 (Continuum Memory System).")
    sub = p.add_subparsers(dest="command", required=True)
    f = sub.add_parser("forgetting", help="the stream of tasks A, B, C, A: error on A after each phase")
    f.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    f.add_argument("--tokens-per-task", type=int, default=FORGETTING["tokens_per_task"])
    args = p.parse_args(argv)
    torch.set_num_threads(1)  # tiny tensors: one thread is faster and steadier
    table = forgetting_table(args.seeds, tokens_per_task=args.tokens_per_task)
    print(format_forgetting_table(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
