"""Continual learning, class-incremental: does a spectrum of update periods forget less? (the paper's Fig. 6)

The paper's class-incremental text classification (docs/paper.md §7.4, Fig. 6) ranks HOPE above InCA,
InCA above EWC and EWC above in-context learning (ICL). This module measures that ordering at
classroom scale, on one stream, with five learners of equal size, on three seeds::

    python -m hope_lite.lessons.ch09_memory_benchmarks.continual run --seeds 0 1 2 --jobs 2 \\
        --json results/09-continual.json
    python -m hope_lite.lessons.ch09_memory_benchmarks.continual table results/09-continual.json

(InCA, the paper's second learner -- a language model's in-context learning steered by an external
continual learner -- is not built here: nothing stands for its language model at this scale.)

**The stream** (:func:`continual_stream`, :func:`hope_lite.data.class_incremental_stream`): 5 tasks of
2 new classes each, 10 classes in all; class k is a Gaussian cloud ``mu_k + noise * eps`` in R^32
(``noise`` 3: one task alone is learnt to 85-90 % by an MLP at rate 0.1, far from trivial; inputs
scaled by 1 / sqrt(1 + noise^2), unit variance per coordinate). Each task's 200 training samples are
seen once, in order, one sample per optimizer step (200 steps a task, 1000 in all). After each task
every learner is tested on the held-out samples (100 per class) of *every* task, so the forgetting
matrix is full: ``acc[i][j]`` = accuracy on task j after task i (j > i: classes never seen, about 0).
Class-incremental: one shared head over all 10 classes, no task id at test time.

**The learners** (:data:`LEARNERS`), all of (about) equal parameter count (recorded per run):

* ``"cms"`` -- HOPE's CMS spectrum as a learner (:class:`LevelledClassifier`): a residual trunk of
  K = 3 MLP levels, fastest first, ``h_l = h_{l-1} + W2_l silu(W1_l h_{l-1})``, and each level owns
  one part of the readout, ``logits = sum_l R_l h_l`` (so that no readout updated at another period
  undoes what a level keeps). Level l (its MLP and its R_l) has period C_l in optimizer steps,
  (1, 8, 64): it accumulates the gradient of the loss over C_l steps and applies the mean once, with
  the library's clip (eq 71, :class:`PeriodicSGD`)::

        g = (1 / C_l) sum_{t in chunk} grad_l loss_t ;   theta_l <- theta_l - eta * clip(g)   if (t + 1) % C_l == 0

  A task is 200 steps: the slowest level updates 3 times a task, the middle one 25 times;
* ``"one-level"`` -- the same network, every level at the fastest period (the CMS without its spectrum);
* ``"mlp"`` -- one MLP (one hidden layer, its width matched to the CMS's parameters), the same
  clipped step every step;
* ``"ewc"`` -- ``"mlp"`` plus the EWC penalty (Kirkpatrick et al. 2017): at the end of each task t the
  diagonal Fisher F_t (mean squared per-sample gradient of log p(y | x) on the task's samples) and the
  weights theta*_t are kept, and every later loss adds ``lambda / 2 sum_t sum_k F_t,k (theta_k - theta*_t,k)^2``;
* ``"icl"`` -- in-context learning with attention (:class:`InContextClassifier`), no weight update on
  the stream: a small causal attention model (one attention block, then a pointer), meta-trained with
  Adam (:func:`meta_train_icl`, 1000 steps, seconds) on episodes of *other* streams (generators seeded
  from 10^6 on, never a class mean of a test or tuning stream), reads the last ``icl_window`` (x, y)
  pairs of the stream and answers a query by a pointer: its last attention's weights over the pairs,
  summed per label, are the answer's probabilities (p(c | x_q) = sum_{j: y_j = c} a_qj, a copy head).
  The transformer's usual linear readout stayed on the "guess a class of the context" plateau at
  this noise in every design run (2,500 steps included; it is in :data:`TRIED`). **Its context has
  the others' memory**: a learner's state is its 7,326 weights, ICL's state is its window of pairs,
  33 numbers a pair, so its largest window is 7,326 // 33 = 222 pairs (about one task). The same
  model with the whole stream (1000 pairs) in context is recorded beside it (``icl_whole_stream``)
  as a reference: what ICL does with unbounded memory.

The test stream of a seed is the same for every learner; a network's initial weights come from
:func:`~hope_lite.lessons.teaching.seeded` (the same seed gives ``cms`` and ``one-level`` the same
weights, ``mlp`` and ``ewc`` the same weights).

**One tuning rule** (:func:`tuning_sweep`, on :data:`TUNING_SEEDS`, never on the reported seeds): every
learner gets a grid of five values of its one knob and keeps the value with the best mean final
average accuracy: the rate for ``cms``, ``one-level`` and ``mlp`` (:data:`RATE_GRID`), lambda for
``ewc`` at ``mlp``'s chosen rate (:data:`LAMBDA_GRID`: EWC is the MLP plus a penalty), the window for
``icl`` (:data:`WINDOW_FRACTIONS` of its memory budget). The results file keeps the whole sweep.

**The numbers** per learner and seed: the forgetting matrix, the final average accuracy (mean of the
last row), the average forgetting (mean over tasks j < last of max_i acc[i][j] - acc[last][j]), the
learning accuracy (mean of the diagonal: each task right after it was learnt), and for ``cms`` the
update counts per level per task. ``joint`` (a reference, not a learner): the MLP on the same samples
shuffled across tasks (no continual order), the ceiling of the final accuracy. **What the slow level
kept** (:func:`restore_level`): at the end, level l of the CMS set back to its weights at the start of
the last task; the change of the loss (and accuracy) on the earlier tasks is what level l's updates
during the last task cost them.

**The claims** (:func:`claims`), each judged by :func:`hope_lite.lessons.ch08_paper_claims.experiments.rule`
on the final average accuracy (a gap, difference of the means, counts when it exceeds twice the seed
spread, the larger sample std): (1) ``cms`` > ``ewc``; (2) ``ewc`` > ``icl``; (3) ``cms`` > ``icl``
(the paper's ordering); (4) ``cms`` > ``one-level`` (the spectrum, not the extra levels); (5) ``cms``
> ``mlp``. Higher is the paper's direction in all five.

**What else was tried** (:data:`TRIED`): variants that might give the spectrum a better chance
(independent levels, one readout at the slowest period, chapter 06's per-sample rates, a faster and a
slower slow level), each rerun by the same command on the tuning seeds with its rate retuned on
:data:`RATE_GRID`, and the ICL with a transformer's linear readout. While designing, with the same
rule, noise 2 (easier tasks) and a few more passes were looked at and left out for time: the
ranking of the tuned learners did not change.

**Budget**: the whole command (the sweep's 60 runs and 3 meta-trainings, 3 seeds, the variants' 108
runs and 3 meta-trainings) took 150 s with ``--jobs 2`` on a quiet machine and 565 s beside another
two-process job on the same two cores (the same numbers to float rounding on another machine, except two
high-rate sweep points of one variant, near chance both times); ``--fast`` (the :data:`FAST` setting, no
tuning and no variants) takes seconds.
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
import torch.nn.functional as F
from torch import Tensor, nn

from hope_lite.data import class_incremental_stream
from hope_lite.deep_memory import clip_gradients

from .._args import require_choice, require_int, require_positive, require_seeds
from .._cli import experiment_parser, run_command
from ..ch08_paper_claims.experiments import rule
from ..parallel import kept, run_all
from ..results import environment, jsonable, read_results, sample_std, write_results
from ..teaching import seeded

__all__ = ["SETTING", "FAST", "LEARNERS", "SGD_LEARNERS", "LABELS", "TUNING_SEEDS", "RATE_GRID", "LAMBDA_GRID",
           "WINDOW_FRACTIONS", "TRIED", "CLAIMS", "RESULTS", "RUNS", "FORMAT", "COMMAND", "META_SEED", "check_setting",
           "continual_stream", "LevelledClassifier", "MLPClassifier", "InContextClassifier", "PeriodicSGD",
           "make_network", "parameter_count", "memory_window", "window_grid", "updates_per_task",
           "final_accuracy", "average_forgetting", "learning_accuracy", "train_learner", "restore_level",
           "meta_train_icl", "icl_matrix", "continual_run", "tuning_sweep", "chosen_setting", "summarize", "claims",
           "continual_experiment", "format_continual", "format_matrix", "format_claims", "format_tried", "load_results",
           "main"]

FORMAT = 1
RESULTS = "results/09-continual.json"
#: where the command line keeps finished runs (an interrupted command resumes from them)
RUNS = "runs/continual"
COMMAND = ("python -m hope_lite.lessons.ch09_memory_benchmarks.continual run --seeds 0 1 2 --jobs 2 "
           "--json results/09-continual.json")

#: the chosen setting. ``rates``, ``ewc_lambda`` and ``icl_window`` are :func:`tuning_sweep`'s choice on the tuning
#: seeds (``ewc`` steps at ``rates["mlp"]``; ``icl_window`` in pairs, at most :func:`memory_window`).
SETTING: dict[str, Any] = {
    "tasks": 5, "classes_per_task": 2, "samples_per_class": 100, "test_per_class": 100, "dim": 32, "noise": 3.0,
    "batch": 1, "epochs": 1, "hidden": 32, "periods": (1, 8, 64), "max_update": 1.0,
    "variant": "sequential", "readout": "per-level", "level_rates": "equal",
    "rates": {"cms": 0.03, "one-level": 0.01, "mlp": 0.01}, "ewc_lambda": 10.0, "icl_window": 222,
    "icl_width": 24, "icl_layers": 1, "icl_readout": "pointer", "icl_steps": 1000, "icl_lr": 3e-3,
    "icl_batch": 16, "icl_queries": 16, "icl_streams": 64}

#: a tiny setting of the same shape, for tests and a quick look (seconds): 3 tasks of 40 steps, periods (1, 4, 16)
FAST: dict[str, Any] = {**SETTING, "tasks": 3, "samples_per_class": 20, "test_per_class": 20, "dim": 8,
                        "hidden": 8, "periods": (1, 4, 16), "icl_window": 24, "icl_width": 8, "icl_steps": 20,
                        "icl_streams": 4, "icl_batch": 4, "icl_queries": 4}

LEARNERS = ("cms", "one-level", "mlp", "ewc", "icl")
SGD_LEARNERS = ("cms", "one-level", "mlp", "ewc")
LABELS = {"cms": "CMS spectrum (HOPE's CMS)", "one-level": "CMS, every level fastest", "mlp": "one MLP",
          "ewc": "one MLP + EWC", "icl": "in-context (attention)", "joint": "MLP, tasks shuffled (reference)",
          "icl_whole_stream": "in-context, whole stream (reference)"}

TUNING_SEEDS = (100, 101, 102)
#: the meta-training streams of the ICL of seed s are seeded META_SEED * (s + 1) + k: never a test stream's seed
META_SEED = 1_000_000
RATE_GRID = (0.003, 0.01, 0.03, 0.1, 0.3)
LAMBDA_GRID = (1.0, 10.0, 100.0, 1000.0, 10000.0)
#: the ICL's windows: these fractions of its memory budget (:func:`memory_window`), the largest the budget itself
WINDOW_FRACTIONS = (1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0)

#: what was tried while designing the experiment: (label, overrides of SETTING, learners, why). Each is rerun by the
#: command on TUNING_SEEDS; the SGD learners named are retuned on RATE_GRID (best mean final accuracy), the others
#: run at the chosen setting.
TRIED: tuple[tuple[str, dict, tuple[str, ...], str], ...] = (
    ("independent levels", {"variant": "independent"}, ("cms", "one-level"),
     "every level reads the input (eq 74) instead of the level before: a fast level cannot move a slow level's input"),
    ("one readout at the slowest period", {"readout": "slowest"}, ("cms", "one-level"),
     "only the slowest level reads out: the logits move at the slowest period"),
    ("chapter 06's rates", {"level_rates": "proportional"}, ("cms",),
     "eta_l = eta C_l / C_1: every level moves as far per sample, the slow ones in rarer, larger steps"),
    ("periods (1, 4, 16)", {"periods": (1, 4, 16)}, ("cms",), "a faster slow level: 12 or 13 updates a task"),
    ("periods (1, 16, 256)", {"periods": (1, 16, 256)}, ("cms",),
     "a slower slow level: under one update a task (3 in the whole stream)"),
    ("ICL with a linear readout", {"icl_readout": "linear"}, ("icl",),
     "the transformer's usual readout (a linear map of the query's last state) instead of the pointer"),
)

_INT_KEYS = ("tasks", "classes_per_task", "samples_per_class", "test_per_class", "dim", "batch", "epochs", "hidden",
             "icl_width", "icl_layers", "icl_steps", "icl_batch", "icl_queries", "icl_streams")
_CHOICES = {"variant": ("sequential", "independent"), "readout": ("per-level", "slowest"),
            "level_rates": ("equal", "proportional"), "icl_readout": ("pointer", "linear")}
_RATE_KEYS = ("cms", "one-level", "mlp")


# ---------------------------------------------------------------------------------------------
# The setting and the stream


def check_setting(setting: Mapping[str, Any] | None = None, base: Mapping[str, Any] = SETTING) -> dict[str, Any]:
    """``base`` with ``setting``'s overrides, checked: every bad value is a ValueError that says what to change."""
    setting = dict(setting or {})
    unknown = set(setting) - set(SETTING)
    if unknown:
        raise ValueError(f"unknown setting(s) {sorted(unknown)}; choose from {sorted(SETTING)}.")
    cfg = {**base, **setting}
    for name in _INT_KEYS:
        cfg[name] = require_int(name, cfg[name])
    if cfg["tasks"] < 2:
        raise ValueError(f"tasks must be >= 2 (forgetting needs a task after the first), got {cfg['tasks']}.")
    noise = cfg["noise"]
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not math.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a number >= 0 (the std of a sample around its class mean), got {noise!r}.")
    cfg["noise"] = float(noise)
    per_task = cfg["classes_per_task"] * cfg["samples_per_class"]
    if per_task % cfg["batch"]:
        raise ValueError(f"batch ({cfg['batch']}) must divide a task's samples (classes_per_task x samples_per_class "
                         f"= {per_task}); change batch or samples_per_class.")
    periods = cfg["periods"]
    if isinstance(periods, (int, str)) or not isinstance(periods, Sequence) or len(periods) < 2:
        raise ValueError(f"periods must list at least two periods in optimizer steps, fastest first (a spectrum), "
                         f"e.g. (1, 8, 64); got {periods!r}.")
    periods = tuple(require_int("every period", p) for p in periods)
    for fast, slow in zip(periods[:-1], periods[1:]):
        if slow <= fast or slow % fast:
            raise ValueError(f"periods must be listed fastest first, each a multiple of the one before, "
                             f"e.g. (1, 8, 64); got {periods}.")
    cfg["periods"] = periods
    rates = cfg["rates"]
    if not isinstance(rates, Mapping) or set(rates) != set(_RATE_KEYS):
        raise ValueError(f"rates must give one learning rate for each of {list(_RATE_KEYS)} (ewc steps at mlp's), "
                         f"e.g. {dict(SETTING['rates'])}; got {rates!r}.")
    cfg["rates"] = {k: require_positive(f"rates[{k!r}]", rates[k]) for k in _RATE_KEYS}
    if cfg["max_update"] is not None:
        cfg["max_update"] = require_positive("max_update (or None: no clip)", cfg["max_update"])
    lam = cfg["ewc_lambda"]
    if isinstance(lam, bool) or not isinstance(lam, (int, float)) or not math.isfinite(lam) or lam < 0:
        raise ValueError(f"ewc_lambda must be a number >= 0 (0: the plain MLP), got {lam!r}.")
    cfg["ewc_lambda"] = float(lam)
    cfg["icl_window"] = require_int("icl_window (pairs in the ICL's context)", cfg["icl_window"])
    cfg["icl_lr"] = require_positive("icl_lr", cfg["icl_lr"])
    for name, choices in _CHOICES.items():
        require_choice(name, cfg[name], choices)
    return cfg


def _check_seed(seed: Any, what: str = "seed") -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < META_SEED:
        raise ValueError(f"{what} must be an int in [0, {META_SEED}) (the ICL's meta-training streams use the seeds "
                         f"from {META_SEED} on), got {seed!r}.")
    return int(seed)


def continual_stream(seed: int, cfg: Mapping[str, Any]) -> list[dict]:
    """The tasks of ``cfg`` (:func:`~hope_lite.data.class_incremental_stream`), inputs scaled to unit variance.

    Each task: ``x`` (n, dim), ``y`` (n,) in training order, ``x_test``, ``y_test``, ``classes``.
    """
    stream = class_incremental_stream(cfg["tasks"], cfg["classes_per_task"], cfg["samples_per_class"], cfg["dim"],
                                      seed=seed, noise=cfg["noise"], test_samples_per_class=cfg["test_per_class"])
    scale = 1.0 / math.sqrt(1.0 + cfg["noise"] ** 2)     # x = mu + noise eps, mu ~ N(0, I): variance 1 + noise^2
    for task in stream:
        task["x"], task["x_test"] = task["x"] * scale, task["x_test"] * scale
    return stream


# ---------------------------------------------------------------------------------------------
# The networks


class Level(nn.Module):
    """One level of the trunk: a residual MLP ``W2 silu(W1 h)`` and (optionally) its own part of the readout."""

    def __init__(self, dim: int, hidden: int, classes: int, readout: bool = True) -> None:
        super().__init__()
        self.up, self.down = nn.Linear(dim, hidden), nn.Linear(hidden, dim)
        self.readout = nn.Linear(dim, classes) if readout else None


class LevelledClassifier(nn.Module):
    """The CMS as a classifier: levels fastest first, ``h_l = h_{l-1} + MLP_l(h_{l-1})``, ``logits = sum_l R_l h_l``.

    ``variant="independent"``: every level reads the input x instead of h_{l-1} (eq 74). ``readout="slowest"``:
    only the slowest level has a readout. A level's parameters are ``levels[l].parameters()``: what updates at its
    period.
    """

    def __init__(self, dim: int, hidden: int, classes: int, levels: int, variant: str = "sequential",
                 readout: str = "per-level") -> None:
        super().__init__()
        self.variant = require_choice("variant", variant, _CHOICES["variant"])
        require_choice("readout", readout, _CHOICES["readout"])
        self.levels = nn.ModuleList(Level(dim, hidden, classes, readout == "per-level" or l == levels - 1)
                                    for l in range(levels))

    def forward(self, x: Tensor) -> Tensor:
        h, logits = x, 0.0
        for level in self.levels:
            read = h if self.variant == "sequential" else x
            h = read + level.down(F.silu(level.up(read)))             # residual: a level adds to what it reads
            if level.readout is not None:
                logits = logits + level.readout(h)                     # each level owns its part of the answer
        return logits


class MLPClassifier(nn.Module):
    """One MLP, one hidden layer: ``logits = R silu(W x)``."""

    def __init__(self, dim: int, hidden: int, classes: int) -> None:
        super().__init__()
        self.up, self.readout = nn.Linear(dim, hidden), nn.Linear(hidden, classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.readout(F.silu(self.up(x)))


class AttentionBlock(nn.Module):
    """Pre-norm single-head attention with a mask, then a SiLU FFN, both residual."""

    def __init__(self, width: int, ffn_hidden: int) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.query, self.key, self.value, self.out = (nn.Linear(width, width, bias=False) for _ in range(4))
        self.up, self.down = nn.Linear(width, ffn_hidden), nn.Linear(ffn_hidden, width)

    def forward(self, h: Tensor, allowed: Tensor) -> Tensor:
        n = self.norm1(h)
        scores = self.query(n) @ self.key(n).transpose(1, 2) / math.sqrt(h.shape[-1])
        h = h + self.out(scores.masked_fill(~allowed, float("-inf")).softmax(-1) @ self.value(n))
        return h + self.down(F.silu(self.up(self.norm2(h))))


class InContextClassifier(nn.Module):
    """A small causal attention model that classifies a query from the (x, y) pairs before it.

    Token of pair j: ``[E_x x_j ; E_y y_j]``; token of a query: ``[E_x x_q ; E_y unknown]``. ``layers`` attention
    blocks run over ``pairs..., queries``: a pair attends to the pairs up to itself (causal), a query to every pair
    and to nothing else (so queries never see each other: a batch of queries = each query alone after the
    context). The answer (``readout="pointer"``): one more attention of the query over the pairs, its weights
    summed per label, ``p(c | x_q) = sum_{j: y_j = c} a_qj``; ``readout="linear"``: a linear map of the query's
    state (the usual transformer head). ``forward`` returns log-probabilities (B, Q, classes).
    """

    def __init__(self, dim: int, classes: int, width: int, layers: int, ffn_hidden: int,
                 readout: str = "pointer") -> None:
        super().__init__()
        self.classes, self.readout_kind = classes, require_choice("icl_readout", readout, _CHOICES["icl_readout"])
        label_width = max(1, width // 3)
        self.embed_x = nn.Linear(dim, width - label_width)
        self.embed_y = nn.Embedding(classes + 1, label_width)              # the last row: "label unknown"
        self.blocks = nn.ModuleList(AttentionBlock(width, ffn_hidden) for _ in range(layers))
        self.norm = nn.LayerNorm(width)
        if readout == "pointer":
            self.point_query = nn.Linear(width, width, bias=False)
            self.point_key = nn.Linear(width, width, bias=False)
        else:
            self.linear = nn.Linear(width, classes)

    def forward(self, context_x: Tensor, context_y: Tensor, query_x: Tensor) -> Tensor:
        N, Q = context_x.shape[1], query_x.shape[1]
        unknown = torch.full(query_x.shape[:2], self.classes, dtype=torch.long)
        h = torch.cat([torch.cat([self.embed_x(context_x), self.embed_y(context_y)], -1),
                       torch.cat([self.embed_x(query_x), self.embed_y(unknown)], -1)], 1)
        i = torch.arange(N + Q)
        allowed = (i[None, :] <= i[:, None]) & (i[None, :] < N)          # causal, and only pairs are read
        for block in self.blocks:
            h = block(h, allowed)
        h = self.norm(h)
        if self.readout_kind == "linear":
            return self.linear(h[:, N:]).log_softmax(-1)
        scores = self.point_query(h[:, N:]) @ self.point_key(h[:, :N]).transpose(1, 2) / math.sqrt(h.shape[-1])
        mass = scores.softmax(-1) @ F.one_hot(context_y, self.classes).to(h.dtype)   # attention paid to each label
        return mass.clamp_min(1e-6).log()


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _classes(cfg: Mapping[str, Any]) -> int:
    return cfg["tasks"] * cfg["classes_per_task"]


def _cms_network(cfg: Mapping[str, Any], seed: int) -> LevelledClassifier:
    with seeded(seed):
        return LevelledClassifier(cfg["dim"], cfg["hidden"], _classes(cfg), len(cfg["periods"]), cfg["variant"],
                                  cfg["readout"])


def _matched(build, target: int) -> int:
    """The hidden width w >= 1 whose ``build(w)`` has the parameter count nearest ``target``.

    A count is affine in the hidden width, count(w) = count(1) + (w - 1) * per_unit, so two builds tell it.
    """
    with seeded(0):                                       # building draws weights: leave the global RNG as it was
        one, two = parameter_count(build(1)), parameter_count(build(2))
    return max(1, 1 + round((target - one) / (two - one)))


def make_network(name: str, cfg: Mapping[str, Any], seed: int) -> nn.Module:
    """The network of learner ``name`` (seeded), its size matched to the CMS's parameter count."""
    require_choice("learner", name, LEARNERS)
    target = parameter_count(_cms_network(cfg, seed))
    classes = _classes(cfg)
    if name in ("cms", "one-level"):
        return _cms_network(cfg, seed)
    if name in ("mlp", "ewc"):
        width = _matched(lambda w: MLPClassifier(cfg["dim"], w, classes), target)
        with seeded(seed):
            return MLPClassifier(cfg["dim"], width, classes)
    build = lambda w: InContextClassifier(cfg["dim"], classes, cfg["icl_width"], cfg["icl_layers"], w,
                                          cfg["icl_readout"])
    width = _matched(build, target)
    with seeded(seed):
        return build(width)


def memory_window(cfg: Mapping[str, Any]) -> int:
    """The ICL's memory budget in pairs: the CMS's parameter count over the numbers a pair takes (dim + 1)."""
    return parameter_count(_cms_network(cfg, 0)) // (cfg["dim"] + 1)


def window_grid(cfg: Mapping[str, Any]) -> list[int]:
    """The ICL's windows tried: :data:`WINDOW_FRACTIONS` of :func:`memory_window`."""
    budget = memory_window(cfg)
    return [max(1, int(budget * f)) for f in WINDOW_FRACTIONS]


# ---------------------------------------------------------------------------------------------
# Eq 71 as an optimizer


class PeriodicSGD:
    """Eq 71 for groups of parameters ("levels"): group l accumulates its gradient every step and, when
    ``(t + 1) % period_l == 0``, applies the mean of the chunk once, clipped::

        theta_l <- theta_l - eta_l * clip(acc_l / C_l),   acc_l <- 0

    ``clip`` is the library's (:func:`hope_lite.deep_memory.clip_gradients`): the group's whole gradient scaled
    to norm ``max_update`` at most. A group of period 1 is plain clipped SGD. Call :meth:`step` after
    ``loss.backward()``; it returns the groups that updated at this step.
    """

    def __init__(self, groups: Sequence[Sequence[nn.Parameter]], periods: Sequence[int], rates: Sequence[float],
                 max_update: float | None) -> None:
        if not len(groups) == len(periods) == len(rates):
            raise ValueError(f"give one period and one rate per group: {len(groups)} groups, {len(periods)} periods, "
                             f"{len(rates)} rates.")
        self.groups = [list(g) for g in groups]
        self.periods, self.rates, self.max_update = list(periods), list(rates), max_update
        self.accumulated = [[torch.zeros_like(p) for p in g] for g in self.groups]
        self.steps = 0

    @torch.no_grad()
    def step(self) -> list[int]:
        updated = []
        for l, (params, acc, period, rate) in enumerate(zip(self.groups, self.accumulated, self.periods, self.rates)):
            for a, p in zip(acc, params):
                a += p.grad                                              # sum over the open chunk
            if (self.steps + 1) % period == 0:                           # the chunk's last step: eq 71
                mean = [(a / period).reshape(1, 1, -1) for a in acc]      # clip_gradients' (N, d_out, d_in) layout
                for p, g, a in zip(params, clip_gradients(mean, self.max_update), acc):
                    p -= rate * g.reshape(p.shape)
                    a.zero_()
                updated.append(l)
        self.steps += 1
        return updated


def updates_per_task(period: int, steps_per_task: int, tasks: int) -> list[int]:
    """How many times a level of period C updates during each task (eq 71: at every step t with (t + 1) % C == 0)."""
    return [((i + 1) * steps_per_task) // period - (i * steps_per_task) // period for i in range(tasks)]


# ---------------------------------------------------------------------------------------------
# The numbers of a forgetting matrix


def final_accuracy(matrix: Sequence[Sequence[float]]) -> float:
    """Mean accuracy over every task after the last task (the last row)."""
    return float(np.mean(matrix[-1]))


def average_forgetting(matrix: Sequence[Sequence[float]]) -> float:
    """Mean over tasks j < last of (the best accuracy task j ever had) - (its accuracy at the end)."""
    T = len(matrix)
    return float(np.mean([max(matrix[i][j] for i in range(j, T)) - matrix[-1][j] for j in range(T - 1)]))


def learning_accuracy(matrix: Sequence[Sequence[float]]) -> float:
    """Mean of the diagonal: each task's accuracy right after it was learnt."""
    return float(np.mean([matrix[i][i] for i in range(len(matrix))]))


def _accuracy_row(model: nn.Module, stream: Sequence[Mapping[str, Tensor]]) -> list[float]:
    with torch.no_grad():
        return [float((model(t["x_test"]).argmax(-1) == t["y_test"]).float().mean()) for t in stream]


def _matrix_numbers(matrix: list[list[float]]) -> dict[str, Any]:
    return {"matrix": matrix, "final_accuracy": final_accuracy(matrix), "forgetting": average_forgetting(matrix),
            "learning_accuracy": learning_accuracy(matrix)}


# ---------------------------------------------------------------------------------------------
# The learners that learn by gradient steps


def _fisher_diagonal(model: nn.Module, x: Tensor, y: Tensor) -> list[Tensor]:
    """EWC's diagonal Fisher: the mean over the samples of (d log p(y | x) / d theta)^2, one sample at a time."""
    fisher = [torch.zeros_like(p) for p in model.parameters()]
    for i in range(len(x)):
        model.zero_grad()
        F.cross_entropy(model(x[i:i + 1]), y[i:i + 1]).backward()
        for f, p in zip(fisher, model.parameters()):
            f += p.grad.pow(2)
    model.zero_grad()
    return [f / len(x) for f in fisher]


def _groups(name: str, model: nn.Module, cfg: Mapping[str, Any], rate: float,
            periods: Sequence[int] | None) -> tuple[list, list[int], list[float]]:
    """(parameter groups, periods, rates) of a learner: a CMS level is a group; an MLP is one group of period 1."""
    if name in ("cms", "one-level"):
        groups = [list(level.parameters()) for level in model.levels]
        if periods is None:
            periods = cfg["periods"] if name == "cms" else (cfg["periods"][0],) * len(groups)
        scale = [p / periods[0] if cfg["level_rates"] == "proportional" else 1.0 for p in periods]
        return groups, list(periods), [rate * s for s in scale]
    return [list(model.parameters())], [1], [rate]


def train_learner(name: str, cfg: Mapping[str, Any], seed: int, stream: Sequence[Mapping[str, Tensor]], *,
                  rate: float | None = None, ewc_lambda: float | None = None, periods: Sequence[int] | None = None,
                  snapshot_before_last: bool = False, clock: list[float] | None = None) -> dict[str, Any]:
    """Learner ``name`` (one of :data:`SGD_LEARNERS`) on ``stream``, task after task, tested after each.

    ``rate`` / ``ewc_lambda`` override the setting's; ``periods`` overrides the levels' periods (for tests).
    ``clock``: when given, each task's training-loop wall seconds are appended to it (the tests not counted).
    Returns the matrix numbers, ``"parameters"``, ``"periods"``, ``"rates"``, ``"updates"`` (per task, per group),
    and with ``snapshot_before_last`` the model and every level's weights at the start of the last task
    (``"model"``, ``"before_last"``; not plain JSON).
    """
    require_choice("learner", name, SGD_LEARNERS)
    model = make_network(name, cfg, seed)
    rate = cfg["rates"]["mlp" if name == "ewc" else name] if rate is None else rate
    lam = cfg["ewc_lambda"] if ewc_lambda is None else ewc_lambda
    groups, per, rates = _groups(name, model, cfg, rate, periods)
    optimizer = PeriodicSGD(groups, per, rates, cfg["max_update"])
    anchors: list[tuple[list[Tensor], list[Tensor]]] = []              # EWC: (F_t, theta*_t) of each task so far
    matrix, updates, before_last = [], [], None
    for t, task in enumerate(stream):
        if snapshot_before_last and t == len(stream) - 1:
            before_last = [[p.detach().clone() for p in g] for g in groups]
        counts = [0] * len(groups)
        started = time.perf_counter()
        for _ in range(cfg["epochs"]):
            for s in range(0, len(task["x"]), cfg["batch"]):
                x, y = task["x"][s:s + cfg["batch"]], task["y"][s:s + cfg["batch"]]
                loss = F.cross_entropy(model(x), y)
                if name == "ewc" and anchors and lam > 0:                 # lambda/2 sum_t sum_k F_tk (theta_k - theta*_tk)^2
                    loss = loss + lam / 2 * sum((f * (p - a).pow(2)).sum() for fisher, anchor in anchors
                                                for f, p, a in zip(fisher, model.parameters(), anchor))
                model.zero_grad()
                loss.backward()
                for l in optimizer.step():
                    counts[l] += 1
        if clock is not None:
            clock.append(time.perf_counter() - started)
        if name == "ewc":
            anchors.append((_fisher_diagonal(model, task["x"], task["y"]),
                            [p.detach().clone() for p in model.parameters()]))
        matrix.append(_accuracy_row(model, stream))
        updates.append(counts)
    out = {**_matrix_numbers(matrix), "parameters": parameter_count(model), "periods": per, "rates": rates,
           "updates": updates}
    if name == "ewc":
        out["lambda"] = lam
    if snapshot_before_last:
        out.update({"model": model, "before_last": before_last})
    return out


def _joint(cfg: Mapping[str, Any], seed: int, stream: Sequence[Mapping[str, Tensor]]) -> dict[str, Any]:
    """The reference: the MLP (``mlp``'s rate) on the same samples shuffled across tasks, tested once at the end."""
    x = torch.cat([t["x"] for t in stream])
    y = torch.cat([t["y"] for t in stream])
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    x, y = x[order], y[order]
    model = make_network("mlp", cfg, seed)
    optimizer = PeriodicSGD([list(model.parameters())], [1], [cfg["rates"]["mlp"]], cfg["max_update"])
    for _ in range(cfg["epochs"]):
        for s in range(0, len(x), cfg["batch"]):
            model.zero_grad()
            F.cross_entropy(model(x[s:s + cfg["batch"]]), y[s:s + cfg["batch"]]).backward()
            optimizer.step()
    row = _accuracy_row(model, stream)
    return {"row": row, "final_accuracy": float(np.mean(row))}


def _loss_and_accuracy(model: nn.Module, tasks: Sequence[Mapping[str, Tensor]]) -> tuple[float, float]:
    with torch.no_grad():
        x = torch.cat([t["x_test"] for t in tasks])
        y = torch.cat([t["y_test"] for t in tasks])
        logits = model(x)
        return float(F.cross_entropy(logits, y)), float((logits.argmax(-1) == y).float().mean())


def restore_level(trained: Mapping[str, Any], level: int, stream: Sequence[Mapping[str, Tensor]]) -> dict[str, float]:
    """Level ``level`` of a trained CMS set back to its weights at the start of the last task (the others as they
    are): the change of the loss and of the accuracy on the earlier tasks and on the last one.

    ``trained``: :func:`train_learner`'s dict with ``snapshot_before_last``. A negative loss change on the earlier
    tasks is what the level's updates during the last task cost them; the model is left as it was.
    """
    model, before = trained["model"], trained["before_last"]
    if not 0 <= level < len(before):
        raise ValueError(f"level must be in 0..{len(before) - 1} (fastest first), got {level}.")
    params = list(model.levels[level].parameters())
    earlier, last = stream[:-1], stream[-1:]
    base_e, base_l = _loss_and_accuracy(model, earlier), _loss_and_accuracy(model, last)
    now = [p.detach().clone() for p in params]
    with torch.no_grad():
        for p, b in zip(params, before[level]):
            p.copy_(b)
        changed_e, changed_l = _loss_and_accuracy(model, earlier), _loss_and_accuracy(model, last)
        for p, n in zip(params, now):
            p.copy_(n)
    return {"loss_earlier": changed_e[0] - base_e[0], "accuracy_earlier": changed_e[1] - base_e[1],
            "loss_last": changed_l[0] - base_l[0], "accuracy_last": changed_l[1] - base_l[1]}


# ---------------------------------------------------------------------------------------------
# In-context learning


def _meta_streams(cfg: Mapping[str, Any], seed: int) -> dict[str, Tensor]:
    """The ICL's meta-training pool: ``icl_streams`` streams of the setting's shape, seeded META_SEED (seed + 1) + k
    (never a test or tuning stream: those seeds are below META_SEED); training pairs in stream order."""
    streams = [continual_stream(META_SEED * (seed + 1) + k, cfg) for k in range(cfg["icl_streams"])]
    cat = lambda key: torch.stack([torch.cat([t[key] for t in s]) for s in streams])
    return {"x": cat("x"), "y": cat("y"), "x_test": cat("x_test"), "y_test": cat("y_test")}


def meta_train_icl(cfg: Mapping[str, Any], seed: int, windows: Sequence[int] | None = None) -> InContextClassifier:
    """The ICL model of seed ``seed``, meta-trained with Adam for ``icl_steps`` steps on episodes of other streams.

    An episode: a window of N consecutive training pairs of a meta stream (N cycles through ``windows``, default
    :func:`window_grid`: the lengths it is tested with), ending anywhere in the stream; ``icl_queries`` held-out
    samples of the classes present in the window are asked. Loss: cross-entropy of the answers.
    """
    classes = _classes(cfg)
    windows = window_grid(cfg) if windows is None else list(windows)
    model = make_network("icl", cfg, seed)
    pool = _meta_streams(cfg, seed)
    total, S = pool["x"].shape[1], pool["x"].shape[0]
    g = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg["icl_lr"])
    B, Q = cfg["icl_batch"], cfg["icl_queries"]
    for step in range(cfg["icl_steps"]):
        N = min(windows[step % len(windows)], total)
        which = torch.randint(S, (B, 1), generator=g)
        end = torch.randint(N, total + 1, (B, 1), generator=g)
        pairs = end - N + torch.arange(N)                                   # (B, N) positions in the stream
        context_x, context_y = pool["x"][which, pairs], pool["y"][which, pairs]
        present = F.one_hot(context_y, classes).sum(1) > 0                 # (B, classes): the window's classes
        askable = present.gather(1, pool["y_test"][which[:, 0]]).float()    # held-out samples of those classes
        asked = torch.multinomial(askable, Q, replacement=True, generator=g)
        query_x, query_y = pool["x_test"][which, asked], pool["y_test"][which, asked]
        loss = F.nll_loss(model(context_x, context_y, query_x).flatten(0, 1), query_y.flatten())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model


def icl_matrix(model: InContextClassifier, stream: Sequence[Mapping[str, Tensor]], window: int) -> list[list[float]]:
    """The ICL's forgetting matrix: after task i its context is the last ``window`` training pairs of tasks 0..i;
    every held-out sample of every task is a query. No weight changes."""
    queries = torch.cat([t["x_test"] for t in stream])[None]
    sizes = [len(t["y_test"]) for t in stream]
    matrix = []
    with torch.no_grad():
        for i in range(len(stream)):
            context_x = torch.cat([t["x"] for t in stream[:i + 1]])[-window:][None]
            context_y = torch.cat([t["y"] for t in stream[:i + 1]])[-window:][None]
            answers = model(context_x, context_y, queries)[0].argmax(-1).split(sizes)
            matrix.append([float((a == t["y_test"]).float().mean()) for a, t in zip(answers, stream)])
    return matrix


# ---------------------------------------------------------------------------------------------
# One seed


def continual_run(seed: int = 0, *, learners: Sequence[str] = LEARNERS, reference: bool = True,
                  **setting: Any) -> dict[str, Any]:
    """Every learner of ``learners`` on seed ``seed``'s stream (``setting`` overrides :data:`SETTING`).

    Returns ``{"seed", "setting", "steps_per_task", "learners": {name: {"matrix", "final_accuracy", "forgetting",
    "learning_accuracy", "parameters", ...}}}``; ``cms`` also has ``"periods"``, ``"rates"``, ``"updates"`` and
    ``"restore"`` ({level: :func:`restore_level`} for the fastest and the slowest level), ``icl`` its ``"window"``
    and ``"budget"``. With ``reference``: ``"joint"`` and ``"icl_whole_stream"``. With ``icl``: ``"seconds"``, the
    wall time of its meta-training (the one entry that is not the same on a rerun).
    """
    seed = _check_seed(seed)
    cfg = check_setting(setting)
    for name in learners:
        require_choice("learner", name, LEARNERS)
    stream = continual_stream(seed, cfg)
    out: dict[str, Any] = {"seed": seed, "setting": jsonable(cfg), "learners": {},
                           "steps_per_task": cfg["classes_per_task"] * cfg["samples_per_class"] // cfg["batch"]
                           * cfg["epochs"]}
    for name in learners:
        if name == "icl":
            started = time.perf_counter()
            model = meta_train_icl(cfg, seed)
            out["seconds"] = {"icl_meta_training": round(time.perf_counter() - started, 1)}   # the only non-number
            result = {**_matrix_numbers(icl_matrix(model, stream, cfg["icl_window"])),
                      "parameters": parameter_count(model), "window": cfg["icl_window"],
                      "budget": memory_window(cfg)}
            if reference:
                whole = sum(len(t["x"]) for t in stream)
                out["icl_whole_stream"] = {**_matrix_numbers(icl_matrix(model, stream, whole)), "window": whole}
        else:
            result = train_learner(name, cfg, seed, stream, snapshot_before_last=name == "cms")
            if name == "cms":
                L = len(cfg["periods"])
                result["restore"] = {str(l): restore_level(result, l, stream) for l in sorted({0, L - 1})}
                del result["model"], result["before_last"]
        out["learners"][name] = result
    if reference:
        out["joint"] = _joint(cfg, seed, stream)
    return jsonable(out)


# ---------------------------------------------------------------------------------------------
# The tuning rule


def _final_of(seed: int, name: str, value: float, setting: dict) -> float:
    """Final average accuracy of SGD learner ``name`` with its knob at ``value`` (ewc: lambda; others: rate)."""
    cfg = check_setting(setting)
    stream = continual_stream(seed, cfg)
    if name == "ewc":
        return train_learner(name, cfg, seed, stream, ewc_lambda=value)["final_accuracy"]
    return train_learner(name, cfg, seed, stream, rate=value)["final_accuracy"]


def _icl_windows(seed: int, windows: list[int], setting: dict) -> list[float]:
    """Final average accuracy of one meta-trained ICL model at every window of ``windows``."""
    cfg = check_setting(setting)
    stream = continual_stream(seed, cfg)
    model = meta_train_icl(cfg, seed, windows)
    return [final_accuracy(icl_matrix(model, stream, w)) for w in windows]


def _best(grid: Sequence[float], finals: Sequence[float]) -> float:
    """The grid value with the highest mean final accuracy (the first of equals)."""
    return grid[int(np.argmax(finals))]


def tuning_sweep(seeds: Sequence[int] = TUNING_SEEDS, *, jobs: int = 1, learners: Sequence[str] = LEARNERS,
                 keep: str | Path | None = None, progress: bool = False, **setting: Any) -> dict[str, Any]:
    """The one tuning rule: each learner's knob over a grid of five, the best mean final accuracy on ``seeds``.

    rate (:data:`RATE_GRID`) for cms, one-level and mlp; lambda (:data:`LAMBDA_GRID`) for ewc at mlp's chosen rate;
    window (:func:`window_grid`) for icl (one meta-trained model per seed, read at every window). Returns
    ``{"seeds", "grids": {learner: grid}, "final_accuracy": {learner: [mean per grid value]}, "per_seed":
    {learner: [[per seed] per grid value]}, "chosen": {learner: value}}``. ``keep``, ``progress``: as for
    :func:`continual_experiment`.
    """
    cfg = check_setting(setting)
    seeds = [_check_seed(s, "tuning seed") for s in seeds]
    for name in learners:
        require_choice("learner", name, LEARNERS)
    grids: dict[str, list] = {}
    per_seed: dict[str, list[list[float]]] = {}

    def sweep(names: Sequence[str], grid_of, setting_of) -> None:
        work = [(s, n, float(v), setting_of(n)) for n in names for v in grid_of(n) for s in seeds]
        finals = iter(run_all(_final_of, work, jobs=jobs, keep=kept(keep, "sweep"),
                              progress="tuning " + "/".join(names) if progress else None))
        for n in names:
            grids[n] = list(grid_of(n))
            per_seed[n] = [[next(finals) for _ in seeds] for _ in grids[n]]

    first = [n for n in ("cms", "one-level", "mlp") if n in learners or (n == "mlp" and "ewc" in learners)]
    sweep(first, lambda n: RATE_GRID, lambda n: dict(setting))
    chosen = {n: _best(grids[n], [float(np.mean(v)) for v in per_seed[n]]) for n in first}
    if "ewc" in learners:                                  # EWC = the MLP + a penalty: it steps at the MLP's rate
        rates = {**cfg["rates"], "mlp": chosen["mlp"]}
        sweep(["ewc"], lambda n: LAMBDA_GRID, lambda n: {**setting, "rates": rates})
        chosen["ewc"] = _best(grids["ewc"], [float(np.mean(v)) for v in per_seed["ewc"]])
    if "icl" in learners:
        grids["icl"] = window_grid(cfg)
        by_seed = run_all(_icl_windows, [(s, grids["icl"], dict(setting)) for s in seeds], jobs=jobs,
                          keep=kept(keep, "sweep"), progress="tuning icl" if progress else None)
        per_seed["icl"] = [[by_seed[k][i] for k in range(len(seeds))] for i in range(len(grids["icl"]))]
        chosen["icl"] = _best(grids["icl"], [float(np.mean(v)) for v in per_seed["icl"]])
    means = {n: [float(np.mean(v)) for v in per_seed[n]] for n in per_seed}
    return jsonable({"seeds": seeds, "grids": grids, "final_accuracy": means, "per_seed": per_seed,
                      "chosen": chosen, "rule": "the grid value with the best mean final average accuracy"})


def chosen_setting(sweep: Mapping[str, Any]) -> dict[str, Any]:
    """The overrides of SETTING that a sweep chose: ``rates``, ``ewc_lambda``, ``icl_window``."""
    c = sweep["chosen"]
    return {"rates": {n: c[n] for n in _RATE_KEYS}, "ewc_lambda": c["ewc"], "icl_window": int(c["icl"])}


# ---------------------------------------------------------------------------------------------
# Over seeds: summary and claims


def _stat(values: Sequence[float]) -> dict[str, Any]:
    vals = [float(v) for v in values]
    return {"values": vals, "mean": float(np.mean(vals)), "std": sample_std(vals)}


def _matrix_stat(matrices: Sequence[Sequence[Sequence[float]]]) -> dict[str, list[list[float]]]:
    m = np.array(matrices, dtype=float)                                    # (seeds, tasks, tasks)
    std = m.std(0, ddof=1) if len(m) > 1 else np.zeros(m.shape[1:])
    return {"mean": m.mean(0).tolist(), "std": std.tolist()}


_NUMBERS = ("final_accuracy", "forgetting", "learning_accuracy")


def summarize(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Mean ± sample std over seeds of every learner's numbers and matrix, the CMS's restores, the references."""
    first = runs[0]
    learners = {}
    for name, r in first["learners"].items():
        row = {m: _stat([run["learners"][name][m] for run in runs]) for m in _NUMBERS}
        row["matrix"] = _matrix_stat([run["learners"][name]["matrix"] for run in runs])
        row["parameters"] = r["parameters"]
        for key in ("periods", "rates", "updates", "window", "budget", "lambda"):
            if key in r:
                row[key] = r[key]
        if "restore" in r:
            row["restore"] = {l: {k: _stat([run["learners"][name]["restore"][l][k] for run in runs]) for k in v}
                              for l, v in r["restore"].items()}
        learners[name] = row
    references = {}
    if "joint" in first:
        references["joint"] = {"final_accuracy": _stat([run["joint"]["final_accuracy"] for run in runs])}
    if "icl_whole_stream" in first:
        w = "icl_whole_stream"
        references[w] = {**{m: _stat([run[w][m] for run in runs]) for m in _NUMBERS},
                         "matrix": _matrix_stat([run[w]["matrix"] for run in runs]), "window": first[w]["window"]}
    return jsonable({"learners": learners, "references": references})


#: (id, key, a, b, text): "a's final average accuracy is higher than b's"
CLAIMS = (("(1)", "cms_over_ewc", "cms", "ewc", "the CMS spectrum's final accuracy is higher than EWC's"),
          ("(2)", "ewc_over_icl", "ewc", "icl", "EWC's final accuracy is higher than in-context learning's"),
          ("(3)", "cms_over_icl", "cms", "icl", "the CMS spectrum's final accuracy is higher than in-context learning's"),
          ("(4)", "spectrum", "cms", "one-level", "the CMS spectrum's final accuracy is higher than the same levels "
                                                  "at one period's (the spectrum, not the extra levels)"),
          ("(5)", "cms_over_mlp", "cms", "mlp", "the CMS spectrum's final accuracy is higher than one MLP's of equal size"))


def claims(summary: Mapping[str, Any], n: int) -> list[dict[str, Any]]:
    """The claims of :data:`CLAIMS` whose learners were run, each judged by the chapter-08 rule over ``n`` seeds
    (direction: higher)."""
    L, out = summary["learners"], []
    for cid, key, a, b, text in CLAIMS:
        if a not in L or b not in L:
            continue
        sa, sb = L[a]["final_accuracy"], L[b]["final_accuracy"]
        gap, spread = sa["mean"] - sb["mean"], max(sa["std"], sb["std"])
        out.append({"id": cid, "key": key, "claim": text, "a": a, "b": b, "gap": gap, "spread": spread, "n": n,
                    "direction": "higher", "measured": f"final average accuracy: {a} - {b}",
                    "verdict": rule(gap, spread, +1.0, n)})
    return jsonable(out)


# ---------------------------------------------------------------------------------------------
# The whole experiment


def _tried_learner(seed: int, name: str, rate: float | None, overrides: dict) -> float:
    """Final average accuracy of one learner of a tried variant (an SGD learner at ``rate``, the ICL as set)."""
    cfg = check_setting(overrides)
    stream = continual_stream(seed, cfg)
    if name == "icl":
        return final_accuracy(icl_matrix(meta_train_icl(cfg, seed), stream, cfg["icl_window"]))
    return train_learner(name, cfg, seed, stream, rate=rate)["final_accuracy"]


def _tried(jobs: int, setting: Mapping[str, Any], keep: str | Path | None = None,
           progress: bool = False) -> list[dict[str, Any]]:
    """:data:`TRIED`, each on :data:`TUNING_SEEDS`: the SGD learners named retuned on RATE_GRID, the ICL as set."""
    work, slots = [], []
    for label, over, names, _ in TRIED:
        over = {**setting, **over}
        for name in names:
            grid = RATE_GRID if name != "icl" else (None,)
            for rate in grid:
                slots.append((label, name, rate))
                work.extend((s, name, rate, over) for s in TUNING_SEEDS)
    finals = run_all(_tried_learner, work, jobs=jobs, keep=kept(keep, "tried"),
                     progress="tried variants" if progress else None)
    by_slot = {slot: finals[i * len(TUNING_SEEDS):(i + 1) * len(TUNING_SEEDS)] for i, slot in enumerate(slots)}
    out = []
    for label, over, names, why in TRIED:
        learners = {}
        for name in names:
            grid = RATE_GRID if name != "icl" else (None,)
            means = [float(np.mean(by_slot[(label, name, r)])) for r in grid]
            best = int(np.argmax(means))
            learners[name] = {"rate": grid[best], "final_accuracy": _stat(by_slot[(label, name, grid[best])]),
                              "by_rate": means if name != "icl" else None}
        parts = [f"{n} {v['final_accuracy']['mean']:.3f} ± {v['final_accuracy']['std']:.3f}"
                 + (f" (rate {v['rate']})" if v["rate"] is not None else "") for n, v in learners.items()]
        line = f"{label} ({_overrides_text(over)}): final accuracy " + ", ".join(parts)
        out.append({"label": label, "overrides": jsonable(over), "learners": list(names), "why": why,
                    "seeds": list(TUNING_SEEDS), "results": learners, "line": line})
    return jsonable(out)


def _overrides_text(over: Mapping) -> str:
    return ", ".join(f"{k}={tuple(v) if isinstance(v, (list, tuple)) else v}" for k, v in over.items())


def _run_seed(seed: int, setting: dict) -> dict:
    return continual_run(seed, **setting)


def continual_experiment(seeds: Sequence[int] = (0, 1, 2), json_path: str | Path | None = None, jobs: int = 1, *,
                         tune: bool = True, tried: bool = True, setting: Mapping[str, Any] | None = None,
                         keep: str | Path | None = None, progress: bool = False,
                         command: str | None = None) -> dict[str, Any]:
    """The tuning sweep (``tune``), :func:`continual_run` on every seed, the summary and the claims, and with
    ``tried`` every variant of :data:`TRIED`; written to ``json_path`` when given. ``keep``: a folder where every
    finished run is saved and read back on a rerun (an interrupted command resumes; see
    :func:`~hope_lite.lessons.parallel.run_all`); ``progress``: tqdm bars over the runs; ``command``: the command
    line for the file's ``"command"``."""
    started = time.perf_counter()
    seeds = require_seeds(seeds, _check_seed)
    if set(seeds) & set(TUNING_SEEDS) and (tune or tried):
        raise ValueError(f"the reported seeds {seeds} must differ from the tuning seeds {list(TUNING_SEEDS)}.")
    jobs = require_int("jobs", jobs)
    setting = dict(setting or {})
    cfg = check_setting(setting)
    results: dict[str, Any] = {"format": FORMAT, "kind": "continual", "seeds": seeds, "labels": LABELS}
    if tune:
        sweep = tuning_sweep(TUNING_SEEDS, jobs=jobs, keep=keep, progress=progress, **setting)
        results["tuning"] = sweep
        picked = chosen_setting(sweep)
        if any(jsonable(cfg[k]) != jsonable(v) for k, v in picked.items()):
            print(f"note: the sweep chose {picked}, the setting has "
                  f"{ {k: cfg[k] for k in picked} }; the runs use the sweep's choice.", file=sys.stderr)
        setting = {**setting, **picked}
        cfg = check_setting(setting)
    runs = run_all(_run_seed, [(s, setting) for s in seeds], jobs=jobs, keep=kept(keep, "seeds"),
                   progress="seeds" if progress else None)
    summary = summarize(runs)
    results.update({"setting": jsonable(cfg), "steps_per_task": runs[0]["steps_per_task"], "summary": summary,
                    "claims": claims(summary, len(seeds)), "runs": runs})
    if tried:
        results["tried"] = _tried(jobs, setting, keep, progress)
    results["command"] = command or f"continual_experiment(seeds={seeds}, jobs={jobs}, tune={tune}, tried={tried}, " \
                                    f"setting={setting})"
    results["environment"] = environment("cpu", started)
    results = jsonable(results)
    if json_path is not None:
        write_results(json_path, results)
    return results


# ---------------------------------------------------------------------------------------------
# Reading and printing


def load_results(path: str | Path | None = None) -> dict[str, Any]:
    """The committed results file (default :data:`RESULTS`), as written by :data:`COMMAND`."""
    return read_results(path or RESULTS, what="a continual-learning results file", fmt=FORMAT, key="summary",
                        command=COMMAND)


def _cell(stat: Mapping[str, Any] | None, digits: int = 3) -> str:
    if stat is None or stat.get("mean") is None:
        return "-"
    return f"{stat['mean']:.{digits}f} ± {stat['std']:.{digits}f}"


def format_matrix(stat: Mapping[str, Any], digits: int = 2) -> list[str]:
    """A forgetting matrix (mean ± std over seeds) as markdown rows: after task i (rows), task j (columns)."""
    mean, std = stat["mean"], stat["std"]
    T = len(mean)
    lines = ["| after task | " + " | ".join(f"task {j}" for j in range(T)) + " |",
             "|---|" + "---:|" * T]
    for i in range(T):
        lines.append(f"| {i} | " + " | ".join(f"{mean[i][j]:.{digits}f} ± {std[i][j]:.{digits}f}" for j in range(T))
                     + " |")
    return lines


def format_claims(claim_list: Sequence[Mapping[str, Any]]) -> str:
    """One verdict line per claim, a Markdown list item: ``- (n) claim: verdict (gap +x.xxx, spread x.xxx)``."""
    return "\n".join(f"- {c['id']} {c['claim']}: {c['verdict']} (gap {c['gap']:+.3f}, spread {c['spread']:.3f})"
                     for c in claim_list)


def format_continual(results: Mapping[str, Any], *, matrices: bool = True) -> str:
    """Markdown: the forgetting matrices (unless ``matrices=False``: a figure draws them), the summary table, the
    CMS's update counts and restores, the claims."""
    if not isinstance(results, Mapping) or results.get("kind") != "continual" or "summary" not in results:
        raise ValueError("format_continual takes the dict returned by continual_experiment() or load_results().")
    S, cfg, labels = results["summary"], results["setting"], results.get("labels", LABELS)
    lines = [f"Class-incremental stream: {cfg['tasks']} tasks x {cfg['classes_per_task']} classes, dim {cfg['dim']}, "
             f"noise {cfg['noise']}, {results['steps_per_task']} steps a task (batch {cfg['batch']}, "
             f"{cfg['epochs']} pass); accuracy on held-out samples, mean ± sample std over seeds {results['seeds']}.",
             ""]
    for name, r in S["learners"].items() if matrices else ():
        lines += [f"Forgetting matrix, {labels.get(name, name)} (`{name}`): accuracy on task j (columns) after task "
                  f"i (rows)", ""] + format_matrix(r["matrix"]) + [""]
    lines += ["| learner | params | knob | final accuracy | forgetting | learning accuracy |",
              "|---|---:|---|---:|---:|---:|"]
    for name, r in S["learners"].items():
        knob = (f"window {r['window']} of {r['budget']}" if name == "icl" else
                f"rate {cfg['rates']['mlp']}, lambda {r['lambda']}" if name == "ewc" else
                f"rate {cfg['rates'][name]}, periods {tuple(r['periods'])}")
        lines.append(f"| {labels.get(name, name)} (`{name}`) | {r['parameters']} | {knob} | "
                     f"{_cell(r['final_accuracy'])} | {_cell(r['forgetting'])} | {_cell(r['learning_accuracy'])} |")
    refs = S.get("references", {})
    if "joint" in refs:
        lines.append(f"| {labels.get('joint', 'joint')} (`joint`) | | rate {cfg['rates']['mlp']} | "
                     f"{_cell(refs['joint']['final_accuracy'])} | | |")
    if "icl_whole_stream" in refs:
        w = refs["icl_whole_stream"]
        lines.append(f"| {labels.get('icl_whole_stream', 'icl_whole_stream')} (`icl_whole_stream`) | | window "
                     f"{w['window']} | {_cell(w['final_accuracy'])} | {_cell(w['forgetting'])} | "
                     f"{_cell(w['learning_accuracy'])} |")
    cms = S["learners"].get("cms")
    if cms is not None:
        lines += ["", "| CMS level | period | updates per task | restored to the start of the last task: loss on "
                  "earlier tasks | accuracy on earlier tasks | loss on the last task |", "|---|---:|---|---:|---:|---:|"]
        for l, p in enumerate(cms["periods"]):
            counts = " / ".join(str(u[l]) for u in cms["updates"])
            rs = cms.get("restore", {}).get(str(l))
            lines.append(f"| {l + 1} | {p} | {counts} | {_cell(rs and rs['loss_earlier'])} | "
                         f"{_cell(rs and rs['accuracy_earlier'])} | {_cell(rs and rs['loss_last'])} |")
    lines += ["", "Claims (a gap counts when it exceeds twice the seed spread; InCA is not built here):",
              format_claims(results["claims"])]
    return "\n".join(lines)


def format_tried(results: Mapping[str, Any]) -> str:
    """The tuning sweep and the tried variants of a results file, one line each."""
    lines = []
    sweep = results.get("tuning")
    if sweep:
        lines.append(f"tuning (seeds {sweep['seeds']}; {sweep['rule']}):")
        for name, grid in sweep["grids"].items():
            vals = ", ".join(f"{v}: {a:.3f}" for v, a in zip(grid, sweep["final_accuracy"][name]))
            lines.append(f"- {name}: {vals} -> chosen {sweep['chosen'][name]}")
    for t in results.get("tried", []):
        lines.append(f"- {t['line']}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Command line


def build_parser() -> argparse.ArgumentParser:
    p, r = experiment_parser("ch09_memory_benchmarks.continual",
                             "Class-incremental continual learning: the CMS spectrum against one level, one MLP, EWC "
                             "and in-context learning (the paper's Fig. 6).",
                             "tune on the tuning seeds, run the seeds, the tried variants; print the tables", RESULTS,
                             RUNS)
    r.add_argument("--fast", action="store_true", help="the tiny FAST setting (seconds), without tuning and variants")
    r.add_argument("--no-tried", action="store_true", help="skip the tried variants")
    return p


def _print(results: Mapping[str, Any]) -> None:
    print(format_continual(results))
    if results.get("tuning") or results.get("tried"):
        print("\nTuning and tried variants (tuning seeds):\n" + format_tried(results))


def _run(args: argparse.Namespace, command: str) -> dict[str, Any]:
    return continual_experiment(args.seeds, json_path=args.json, jobs=args.jobs, tune=not args.fast,
                                tried=not (args.no_tried or args.fast), setting=dict(FAST) if args.fast else None,
                                keep=Path(args.out) / ("fast" if args.fast else "full"),
                                progress=not args.no_progress, command=command)


def main(argv: list[str] | None = None) -> int:
    return run_command(build_parser(), argv, run=_run, load=load_results, show=_print)


if __name__ == "__main__":
    sys.exit(main())
