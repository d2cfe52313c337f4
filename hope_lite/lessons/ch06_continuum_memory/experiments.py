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
           "recorded_update_times", "expected_update_times", "timeline_run", "CMS_TIMELINE_EXPLORER_DEFAULTS"]

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
        value = torch.randn(width, width) / math.sqrt(width)     # the same for every learner of this seed
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

#: the start values of explore_cms_timeline() (also its static preview, 06-explorer.png): level l has
#: period 2 ** exponents[l]
CMS_TIMELINE_EXPLORER_DEFAULTS: dict[str, Any] = {"levels": 3, "exponents": (2, 4, 6, 8), "tokens": 256}


@torch.no_grad()
def timeline_run(periods: Sequence[int], tokens: int = 256, *, width: int = 16, hidden: int = 32, lr: float = 0.1,
                 max_update: float | None = 4.0, seed: int = 0) -> dict[str, Any]:
    """One real forward pass of a ContinuumMemory under an UpdateRecorder, on a stream that switches task.

    The stream is task A for the first half of the tokens, task B for the second (inputs from two
    random subspaces, :func:`task_stream`), so the recorded update magnitudes shrink while a level
    learns A and jump when B starts. ``max_update=4.0`` (the library default is 1.0): with the
    default clip every early update of this small memory is clipped, so every magnitude would read
    exactly ``lr``; a looser clip lets the magnitudes show the learning. Returns ``{"recorder",
    "periods", "tokens", "switch", "counts", "names"}``; ``counts[i]`` is the number of recorded
    updates of level i.
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
    names = [f"blocks.{i}.memory" for i in range(len(periods))]
    counts = [int(rec.events[n].all_times().size) if n in rec.events else 0 for n in names]
    return {"recorder": rec, "periods": periods, "tokens": tokens, "switch": half, "counts": counts, "names": names}


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
