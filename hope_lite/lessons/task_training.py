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


def score(net: nn.Module, test: Mapping[str, Tensor], *, eval_batch: int = 512, device: str = "cpu",
          chunk: int | None = None) -> dict:
    """``{"acc", "exact", "loss"}`` of ``net`` on the asked positions of ``test``: the accuracy of the argmax over the
    asked positions, the fraction of sequences with every asked position right, and the mean cross-entropy (nats).
    Read ``eval_batch`` sequences at a time without gradients; with ``chunk``, each sequence is read ``chunk`` tokens
    at a time with the model's state carried (a long haystack, read as a stream: only a chunk's logits are held)."""
    tokens, targets = test["tokens"], test["targets"]
    right_tokens = asked_tokens = right_rows = 0
    loss_sum = 0.0
    was_training = net.training
    net.eval()
    with torch.no_grad():
        for start in range(0, len(tokens), eval_batch):
            rows, wanted = tokens[start:start + eval_batch], targets[start:start + eval_batch]
            step = rows.shape[1] if chunk is None else chunk
            state, right = None, torch.ones(wanted.shape, dtype=torch.bool)           # right or not asked
            for t in range(0, rows.shape[1], step):
                logits, state = net(rows[:, t:t + step].to(device), state=state)
                logits, piece = logits.float().cpu(), wanted[:, t:t + step]
                asked = piece != IGNORE_INDEX
                right[:, t:t + step] = (logits.argmax(-1) == piece) | ~asked
                loss_sum += float(F.cross_entropy(logits.flatten(0, 1), piece.flatten(), reduction="sum"))
            asked = wanted != IGNORE_INDEX
            right_tokens += int((right & asked).sum())
            asked_tokens += int(asked.sum())
            right_rows += int(right.all(dim=1).sum())
    net.train(was_training)
    return {"acc": right_tokens / asked_tokens, "exact": right_rows / len(tokens), "loss": loss_sum / asked_tokens}


def train_on_task(model: str, overrides: Mapping, seed: int, draw: Callable[[int, int], Mapping[str, Tensor]],
                  tests: Mapping[str, Mapping[str, Tensor]], training: TaskTraining, *, preset: str = "small",
                  device: str = "cpu", eval_chunk: int | None = None,
                  variants: Mapping[str, Mapping] | None = None) -> dict:
    """Train ``model`` (a :data:`hope_lite.models.MODELS` name, with ``overrides``) from scratch on batches of
    ``draw`` and score it on every held-out batch of ``tests``.

    Returns ``{"acc": {test name: accuracy}, "loss": {test name: nats}, "train_loss": the last step's loss,
    "seconds", "train_seconds", "test_seconds": {test name: seconds}}`` (the whole call, its training loop alone,
    and the scoring of each test; with ``eval_chunk``, the tests are read that many tokens at a time with the state
    carried, and ``"exact"``: {test name: the fraction of sequences with every asked position right} is added), or
    ``{"diverged": step, "seconds"}`` (1-based step) when a loss, gradient or activation became NaN or inf.

    ``variants``: {name: overrides} of models that train exactly as this one does (the same parameters, and nothing
    that differs reaches a training loss: e.g. a CMS level whose period is at least the training length, which
    never updates inside a training sequence). The trained weights are loaded into each and scored on every test,
    returned under ``"variants"``: {name: {"acc", "loss", ("exact"), "test_seconds"}}. The caller vouches for the
    training being the same; a variant whose parameters differ in name or shape is refused.
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
    train_seconds = time.perf_counter() - started             # the training loop alone: its throughput

    def score_all(scored: nn.Module) -> dict:
        scores, seconds = {}, {}
        for name, test in tests.items():
            began = time.perf_counter()
            scores[name] = score(scored, test, eval_batch=training.eval_batch, device=device, chunk=eval_chunk)
            seconds[name] = round(time.perf_counter() - began, 3)
        out = {key: {name: s[key] for name, s in scores.items()} for key in ("acc", "loss")}
        if eval_chunk is not None:
            out["exact"] = {name: s["exact"] for name, s in scores.items()}
        return {**out, "test_seconds": seconds}

    try:
        out = score_all(net)
        others = {name: score_all(_same_weights(net, model, preset, device, {**overrides, **changed}, name))
                  for name, changed in (variants or {}).items()}
    except NonFiniteError:
        return diverged(training.steps - 1)
    return {**out, "train_loss": loss.item(), "seconds": round(time.perf_counter() - started, 2),
            "train_seconds": round(train_seconds, 2), **({"variants": others} if variants else {})}


def _same_weights(net: nn.Module, model: str, preset: str, device: str, overrides: Mapping, name: str) -> nn.Module:
    """A ``model`` built with ``overrides`` and holding ``net``'s trained weights (variant ``name`` of train_on_task)."""
    other = build_model(model, preset, device=device, **overrides)
    mine, theirs = net.state_dict(), other.state_dict()
    if {k: v.shape for k, v in mine.items()} != {k: v.shape for k, v in theirs.items()}:
        raise ValueError(f"variant {name!r} ({dict(overrides)}) does not have the trained model's parameters; a "
                         f"variant may only change what leaves the parameters as they are (e.g. a CMS period).")
    other.load_state_dict(mine)
    return other
