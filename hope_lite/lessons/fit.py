"""The one small training loop of the chapters (02, 03, 05 and 07's overfit check).

Each chapter trains a toy model for a few hundred steps and wants the same things from the loop:
the loss of every step, the wall time of every step, and a clean stop when training diverges, so
that a figure or an explorer can *show* a diverged run instead of raising. The trainer of the
library (:mod:`hope_lite.train`: checkpoints, exact resume, DDP) is for language models on text;
this loop is the few lines a notebook would write, once.

One step is ``zero_grad -> forward -> loss -> backward -> (clip) -> optimizer.step -> (scheduler.step)``.
Training stops

* *before* the backward pass of a loss that is not finite or exceeds ``max_loss`` (that loss is
  not recorded and no step is taken), and
* *after* a step that left a weight non-finite (that step's loss is recorded).

What a chapter measures beyond the loss (M3's second moments, the size of each update) it reads
in ``after_step``, which runs after every optimizer step.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import Tensor, nn

__all__ = ["FitResult", "fit"]


@dataclass
class FitResult:
    """What :func:`fit` returns.

    Attributes:
        losses: the loss of every step taken, before that step's update (length <= steps).
        step_times: wall seconds of every step (zero_grad + forward + backward + optimizer step).
        diverged: training stopped early (see the module docstring).
        seconds: wall seconds of the whole loop, drawing the batches included.
    """

    losses: list[float] = field(default_factory=list)
    step_times: list[float] = field(default_factory=list)
    diverged: bool = False
    seconds: float = 0.0


def _finite_weights(model: nn.Module) -> bool:
    return all(bool(torch.isfinite(p).all()) for p in model.parameters())


def fit(model: nn.Module, optimizer: torch.optim.Optimizer, batches: Callable[[int], tuple[Any, Any]], steps: int,
        loss_fn: Callable[[Any, Any], Tensor], *, clip_norm: float | None = None, scheduler: Any = None,
        max_loss: float = math.inf, after_step: Callable[[int, float], Any] | None = None) -> FitResult:
    """Train ``model`` for up to ``steps`` steps; return the losses, step times and whether it diverged.

    Args:
        model, optimizer: what to train and how (any ``torch.optim.Optimizer``).
        batches: ``batches(step) -> (inputs, targets)``; called once per step, in order, so it
            may draw fresh data from a generator.
        steps: number of optimizer steps.
        loss_fn: ``loss_fn(model(inputs), targets) -> scalar tensor``.
        clip_norm: clip the gradient norm of all parameters to this value before each step.
        scheduler: a learning-rate scheduler, stepped after every optimizer step.
        max_loss: a finite loss above this counts as diverged.
        after_step: ``after_step(step, loss)``, called after every optimizer step.
    """
    result = FitResult()
    start = time.perf_counter()
    for step in range(steps):
        inputs, targets = batches(step)
        tick = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(inputs), targets)
        value = loss.item()
        if not math.isfinite(value) or value > max_loss:
            result.diverged = True
            break
        loss.backward()
        if clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        result.step_times.append(time.perf_counter() - tick)
        result.losses.append(value)
        if after_step is not None:
            after_step(step, value)
        if not _finite_weights(model):
            result.diverged = True
            break
    result.seconds = time.perf_counter() - start
    return result
