"""The numbers of notebook 02 (nested optimization: a training loop is nested memories; docs/paper.md §2).

* **Momentum is a short memory of gradients** (§2): :func:`momentum_share` and
  :func:`momentum_horizon` (how many recent gradients carry a share of the momentum), measured on
  a real :class:`~hope_lite.optim.MomentumSGD` by :func:`momentum_impulse_weights`.
* **A tiny sequence model trained under an UpdateRecorder** (§3-5): :class:`NestedToyModel` (a
  memory block with a residual and a head) learns :func:`running_mean_task` with one of the deep
  optimizers (:func:`make_nested_optimizer`); :func:`nested_training_run` records every update of
  every level.
* **The update timeline** (§4): :func:`step_timeline` places every recorded update on one time
  axis measured in optimizer steps; :func:`.figures.render_step_timeline` draws it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from hope_lite import UpdateRecorder, levels_of, optim
from hope_lite.layers import MemoryBlock

from .._args import require_choice, require_int, require_number
from ..fit import fit
from ..teaching import seeded

__all__ = ["momentum_share", "momentum_horizon", "momentum_impulse_weights", "NESTED_OPTIMIZERS", "NESTED_MEMORIES",
           "running_mean_task", "NestedToyModel", "make_nested_optimizer", "nested_training_run", "step_timeline",
           "NESTED_EXPLORER_DEFAULTS"]

#: the start values of explore_nested_levels() (also its static preview, 02-nested-levels-explorer.png)
NESTED_EXPLORER_DEFAULTS = {"optimizer": "DeepMomentum", "memory": "titans", "period": 3, "chunk": 8, "steps": 12}


# ---------------------------------------------------------------------------------------------
# Momentum: a short memory of gradients (section 2)


def _check_beta(beta: Any) -> float:
    return require_number("beta", beta, 0.0, 1.0, high_open=True)


def momentum_share(beta: float, k: int) -> float:
    """Share of the momentum's weight carried by the last ``k`` gradients, the current one included.

    The momentum m_t = beta m_{t-1} + g_t unrolls to m_t = sum_j beta^j g_{t-j}: the gradient j steps
    back has weight beta^j, all of them together 1 / (1 - beta) (after many steps). The last k carry
    (1 - beta^k) of it (docs/paper.md §2.2: "momentum has a short memory"; notebook 02, §2).
    """
    beta = _check_beta(beta)
    return 1.0 - beta ** require_int("k", k, low=0)


def momentum_horizon(beta: float, share: float) -> int:
    """The fewest recent gradients (current one included) that carry at least ``share`` of the weight.

    >>> momentum_horizon(0.9, 0.5), momentum_horizon(0.9, 0.99)
    (7, 44)

    i.e. with beta = 0.9 the current gradient and the 6 before it carry half the momentum, the
    current one and the 43 before it 99 % (the paper's "~6" and "~43" past gradients).
    """
    beta = _check_beta(beta)
    share = require_number("share", share, 0.0, 1.0, high_open=True)
    if share == 0.0:
        return 0
    if beta == 0.0:
        return 1
    k = max(1, math.ceil(math.log1p(-share) / math.log(beta)))
    while k > 1 and momentum_share(beta, k - 1) >= share:   # guard the float rounding of the log ratio
        k -= 1
    while momentum_share(beta, k) < share:
        k += 1
    return k


def momentum_impulse_weights(beta: float, n: int) -> np.ndarray:
    """The weight a real :class:`~hope_lite.optim.MomentumSGD` gives to each of its last ``n`` gradients.

    Measured, not computed from the formula: a parameter of ``n`` coordinates receives the one-hot
    gradient e_i at step i (i = 1..n), so after n steps coordinate i of the momentum holds the weight
    of the gradient of step i. Returned newest first: entry j is the weight of the gradient j steps
    back (= beta^j).
    """
    beta = _check_beta(beta)
    n = require_int("n", n)
    p = torch.zeros(n, dtype=torch.float64, requires_grad=True)
    opt = optim.MomentumSGD([p], lr=0.0, momentum=beta)             # lr = 0: watch the memory, leave p alone
    for i in range(n):
        p.grad = torch.nn.functional.one_hot(torch.tensor(i), n).to(torch.float64)
        opt.step()
    return opt.state[p]["momentum"].flip(0).numpy().copy()


# ---------------------------------------------------------------------------------------------
# A tiny sequence model trained by a deep optimizer, under a recorder (sections 3-5)


NESTED_OPTIMIZERS = ("MomentumSGD", "PreconditionedMomentum", "DeltaMomentum", "DeepMomentum", "Muon", "M3")
NESTED_MEMORIES = ("hebbian", "delta", "titans")


def running_mean_task(batch: int = 4, tokens: int = 16, width: int = 16, *, seed: int = 0):
    """Sequences x (batch, tokens, width) and targets y_t = mean(x_1..x_t): a task that needs the context.

    A model can only predict the average of the tokens so far by remembering them, so its
    in-context memory has work to do. Seeded, independent of torch's global RNG.
    """
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, tokens, width, generator=gen)
    y = torch.cumsum(x, dim=1) / torch.arange(1, tokens + 1, dtype=x.dtype)[:, None]
    return x, y


class NestedToyModel(torch.nn.Module):
    """A memory block (:class:`~hope_lite.layers.MemoryBlock`) with a residual and a linear head.

    ``y = head(x + block(x))``: the smallest model with three kinds of level: the block's memory
    (token clock), the optimizer's state and the weights (step clock). Notebook 02, §3-5.
    """

    def __init__(self, memory: str = "hebbian", width: int = 16, heads: int = 2, chunk_size: int = 4) -> None:
        super().__init__()
        require_choice("memory", memory, NESTED_MEMORIES)
        self.block = MemoryBlock(memory, width, heads, chunk_size)
        self.head = torch.nn.Linear(width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x + self.block(x))                       # (B, T, C)


def make_nested_optimizer(name: str, params: Any, *, period: int = 4):
    """One of the deep optimizers of :mod:`hope_lite.optim`, with a learning rate that suits the toy model.

    ``period`` is the slow level's period where there is one: M3's ``slow_period`` and
    DeepMomentum's ``period``; the other optimizers ignore it.
    """
    require_choice("optimizer", name, NESTED_OPTIMIZERS)
    period = require_int("period", period)
    build = {
        "MomentumSGD": lambda: optim.MomentumSGD(params, lr=0.05, momentum=0.9),
        "PreconditionedMomentum": lambda: optim.PreconditionedMomentum(params, lr=3e-3, momentum=0.9),
        "DeltaMomentum": lambda: optim.DeltaMomentum(params, lr=0.05, momentum=0.9),
        "DeepMomentum": lambda: optim.DeepMomentum(params, lr=0.05, period=period),
        "Muon": lambda: optim.Muon(params, lr=0.02),
        "M3": lambda: optim.M3(params, lr=3e-4, slow_period=period),
    }
    return build[name]()


def nested_training_run(optimizer: str = "M3", *, memory: str = "titans", period: int = 4, chunk: int = 4,
                        steps: int = 12, tokens: int = 16, width: int = 16, heads: int = 2, batch: int = 4,
                        seed: int = 0) -> dict[str, Any]:
    """Train a :class:`NestedToyModel` for ``steps`` steps on :func:`running_mean_task`, recording every update.

    One forward pass over ``batch`` sequences of ``tokens`` tokens per optimizer step, all inside
    ``UpdateRecorder(model, optimizers=[opt])`` (notebook 02, §4-5).

    If the loss or a weight stops being finite, training stops there (``"diverged"`` is True and
    ``"losses"`` is shorter than ``steps``), so that an explorer shows it rather than raising.

    Returns:
        dict with ``"model"``, ``"optimizer"``, ``"recorder"``, ``"levels"`` (``levels_of(model,
        optimizer)``), ``"losses"`` (one per step), ``"counts"`` (``recorder.counts()``),
        ``"diverged"`` and the settings.
    """
    for name, value in (("steps", steps), ("tokens", tokens), ("chunk", chunk)):
        require_int(name, value)
    with seeded(seed):
        model = NestedToyModel(memory, width, heads, chunk)
    opt = make_nested_optimizer(optimizer, model.parameters(), period=period)
    x, y = running_mean_task(batch, tokens, width, seed=seed)
    recorder = UpdateRecorder(model, optimizers=[opt])
    with recorder:                                   # the same full batch at every step
        run = fit(model, opt, lambda step: (x, y), steps, lambda out, target: (out - target).pow(2).mean())
    return {"model": model, "optimizer": opt, "recorder": recorder, "levels": levels_of(model, opt),
            "losses": np.array(run.losses), "counts": recorder.counts(), "diverged": run.diverged,
            "optimizer_name": optimizer, "memory": memory, "period": period, "chunk": chunk, "steps": steps,
            "tokens": tokens}


# ---------------------------------------------------------------------------------------------
# The update timeline: drawn from recorded events only (section 4)


def step_timeline(recorder: Any, *, tokens_per_step: int | None = None) -> dict[str, dict[str, Any]]:
    """Where each recorded update sits on one time axis measured in optimizer steps (notebook 02, §4).

    Step-clock events (weights, optimizer state) sit at their step number s = 1, 2, ...
    Token-clock events (in-context memories) are logged per forward call with their token
    position t; the events of the i-th call (i = 0, 1, ...) belong to the forward pass that
    produced the gradient of step i + 1, so they are placed inside that step at
    ``i + (t + 1) / tokens_per_step``. That needs one forward pass per step (the usual training
    loop); ``tokens_per_step`` defaults to the largest recorded position + 1.

    Args:
        recorder: an :class:`~hope_lite.levels.UpdateRecorder` after a run.
        tokens_per_step: tokens of one forward pass (sequence length), if not inferable.

    Returns:
        ``{level name: {"clock", "times" (raw clock times), "x" (position in steps), "count",
        "gap" (median clock ticks between updates, or None), "calls"}}`` in recording order.
    """
    if not hasattr(recorder, "events"):
        raise ValueError(f"step_timeline takes an UpdateRecorder, got {type(recorder).__name__}.")
    events = recorder.events
    step_times = [ev.all_times() for ev in events.values() if ev.clock == "steps"]
    n_steps = int(max((t.max() for t in step_times if t.size), default=0))
    token_levels = [ev for ev in events.values() if ev.clock == "tokens"]
    if tokens_per_step is None:
        top = [int(c.max()) for ev in token_levels for c in ev.times if c.size]
        tokens_per_step = max(top) + 1 if top else 1
    elif isinstance(tokens_per_step, bool) or not isinstance(tokens_per_step, int) or tokens_per_step < 1:
        raise ValueError(f"tokens_per_step must be an int >= 1, got {tokens_per_step!r}.")
    out: dict[str, dict[str, Any]] = {}
    for name, ev in events.items():
        times = ev.all_times()
        if ev.clock == "steps":
            x = times.astype(float)
            gaps = np.diff(np.sort(times))
        else:
            calls = len(ev.times)
            if n_steps and calls not in (n_steps, n_steps + 1):   # + 1: a last pass whose step never came
                raise ValueError(
                    f"level {name!r} logged {calls} forward passes but the optimizer took {n_steps} steps; "
                    "step_timeline places token events inside steps, so it needs one forward pass per step "
                    "(run evaluation passes outside the recorder).")
            x = np.concatenate([i + (c.astype(float) + 1) / tokens_per_step for i, c in enumerate(ev.times)]) \
                if calls else np.zeros(0)
            gaps = np.concatenate([np.diff(np.sort(c)) for c in ev.times]) if calls else np.zeros(0)
            if not gaps.size and calls > 1 and all(c.size == 1 for c in ev.times):
                gaps = np.array([tokens_per_step])            # one update per pass
        out[name] = {"clock": ev.clock, "times": times, "x": x, "count": int(times.size),
                     "gap": int(np.median(gaps)) if gaps.size else None, "calls": len(ev.times)}
    out["__meta__"] = {"steps": n_steps, "tokens_per_step": tokens_per_step}
    return out
