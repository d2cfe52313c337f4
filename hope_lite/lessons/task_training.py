"""Training a fresh language model on a synthetic token task, and scoring it: chapters 08 and 09.

A task is a function that draws a batch: ``draw(n, seed) -> {"tokens", "targets"}`` with the
conventions of :mod:`hope_lite.data.tasks` (``targets[:, t]`` is what the model should predict after
``tokens[:, :t + 1]``; -100 where nothing is asked). Training is the few lines every such experiment
writes: a model built from a preset (with overrides), AdamW with the trainer's weight-decay groups,
a linear warm-up over the first 10 % of the steps then a constant rate, gradient clipping at 1, and a
fresh batch every step (seed ``seed * 100_003 + step``, so no two steps, and no two seeds, share data).
Scoring is accuracy and cross-entropy on the asked positions only, of fixed held-out batches.

A run whose loss, gradients or activations become NaN or inf stops and says at which step.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hope_lite.checks import NonFiniteError
from hope_lite.data.tasks import IGNORE_INDEX
from hope_lite.models import build_model

__all__ = ["TaskTraining", "train_on_task", "score"]


@dataclass(frozen=True)
class TaskTraining:
    """How long and how fast: ``steps`` AdamW steps of ``batch`` fresh sequences at learning rate ``lr``
    (warm-up over the first ``steps // 10``); held-out batches are scored ``eval_batch`` sequences at a time."""

    steps: int
    batch: int
    lr: float
    eval_batch: int = 512

    @property
    def warmup(self) -> int:
        return max(1, self.steps // 10)


def score(net: nn.Module, test: Mapping[str, Tensor], *, eval_batch: int = 512, device: str = "cpu") -> dict:
    """``{"acc", "loss"}`` of ``net`` on the asked positions of ``test`` (accuracy of the argmax; mean
    cross-entropy in nats), read ``eval_batch`` sequences at a time without gradients."""
    tokens, targets = test["tokens"], test["targets"]
    right = wrong_or_right = 0
    loss_sum = 0.0
    was_training = net.training
    net.eval()
    with torch.no_grad():
        for start in range(0, len(tokens), eval_batch):
            logits, _ = net(tokens[start:start + eval_batch].to(device))
            logits, wanted = logits.float().cpu().flatten(0, 1), targets[start:start + eval_batch].flatten()
            asked = wanted != IGNORE_INDEX
            right += int((logits[asked].argmax(-1) == wanted[asked]).sum())
            wrong_or_right += int(asked.sum())
            loss_sum += float(F.cross_entropy(logits, wanted, reduction="sum"))
    net.train(was_training)
    return {"acc": right / wrong_or_right, "loss": loss_sum / wrong_or_right}


def train_on_task(model: str, overrides: Mapping, seed: int, draw: Callable[[int, int], Mapping[str, Tensor]],
                  tests: Mapping[str, Mapping[str, Tensor]], training: TaskTraining, *, preset: str = "small",
                  device: str = "cpu") -> dict:
    """Train ``model`` (a :data:`hope_lite.models.MODELS` name, with ``overrides``) from scratch on batches of
    ``draw`` and score it on every held-out batch of ``tests``.

    Returns ``{"acc": {test name: accuracy}, "loss": {test name: nats}, "train_loss": the last step's loss,
    "seconds"}``, or ``{"diverged": step, "seconds"}`` (1-based step) when a loss, gradient or activation
    became NaN or inf.
    """
    from hope_lite.train import TrainConfig, adamw

    torch.manual_seed(seed)
    net = build_model(model, preset, device=device, **overrides)
    optimizer = adamw(net, training.lr, TrainConfig.weight_decay)
    started = time.perf_counter()
    loss = torch.tensor(float("nan"))

    def diverged(step: int) -> dict:
        return {"diverged": step + 1, "seconds": round(time.perf_counter() - started, 2)}

    for step in range(training.steps):
        for group in optimizer.param_groups:
            group["lr"] = training.lr * min(1.0, (step + 1) / training.warmup)
        batch = draw(training.batch, seed * 100_003 + step)
        try:
            logits, _ = net(batch["tokens"].to(device))
        except NonFiniteError:                       # token ids in: a NaN or inf inside is the training diverging
            return diverged(step)
        loss = F.cross_entropy(logits.float().flatten(0, 1), batch["targets"].to(device).flatten())
        if not math.isfinite(loss.item()):
            return diverged(step)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if not torch.isfinite(torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)):
            return diverged(step)
        optimizer.step()
    try:
        scores = {name: score(net, test, eval_batch=training.eval_batch, device=device) for name, test in tests.items()}
    except NonFiniteError:
        return diverged(training.steps - 1)
    return {"acc": {name: s["acc"] for name, s in scores.items()}, "loss": {name: s["loss"] for name, s in scores.items()},
            "train_loss": loss.item(), "seconds": round(time.perf_counter() - started, 2)}
