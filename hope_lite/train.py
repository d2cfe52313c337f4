"""Train a byte-level language model on a text corpus: the trainer of notebook 07 and of the command line.

::

    python -m hope_lite.train --model hope --preset small --corpus pydoc --steps 300 --out runs/hope

What one training step is: ``batch`` windows of ``context + 1`` bytes from the corpus's train split,
next-byte cross-entropy, AdamW with a linear warm-up and cosine decay, gradient clipping at 1.0.
Every window starts from a fresh memory state (the model's meta-learned initial state), unless
``carry_memory=True``: then each batch row reads its own contiguous stretch of the corpus, window
after window, and the memories' state is carried from one step to the next (detached: the outer
gradient stops at the window's start), as a model would read a long document.

What it writes to ``out`` (a directory):

* ``config.json`` -- the run's identity: its settings, the number of processes, the corpus actually read
  (``corpus_loaded``: asking for an online corpus without the hub trains on pydoc, and says so), the
  precision (``fp32`` or ``bf16``), the device type (``cpu``, ``cuda``) and whether the forward pass
  was compiled (``--compile``). A directory holding a different run is never overwritten, and resuming
  with another identity -- another precision, device type or compilation included -- is refused: the
  numbers would no longer be one run's. (``--recompute`` is not part of it: it changes no number.)
* ``metrics.jsonl`` -- one JSON object per line: ``{"kind": "train", "step", "loss", "bpb", "lr",
  "tokens", "seconds"}`` every step and ``{"kind": "validation", "step", "val_loss", "val_bpb",
  "val_ppl"}`` every ``eval_every`` steps and at the end. Losses are in nats per byte; ``bpb`` is bits
  per byte (loss / ln 2) and ``val_ppl`` the byte-level perplexity exp(loss).
* ``checkpoint.pt`` -- model, optimizer, scheduler, every random generator (torch, the data sampler,
  Python, NumPy) and the carried memory state, written every ``checkpoint_every`` steps and at the
  end, with its SHA-256 in ``checkpoint.pt.sha256``. ``resume=True`` (``--resume``) verifies it,
  loads it with ``torch.load(weights_only=True)`` (nothing in it can run) and gives bit-for-bit the
  run that never stopped (tested).
* ``.lock`` -- locked (``flock``) while a trainer writes the directory, and naming it (pid, host). A
  second trainer is refused; the lock goes with the process that held it, however it ends.

How nothing is lost (:mod:`hope_lite.run_dir`): every file is replaced whole (a uniquely named temp
file, fsync, rename), metrics rows are appended and fsynced before each checkpoint, a torn last row
is dropped on resume, and a directory left by a crash before its first checkpoint starts over. A
corrupt file, a full disk, a permission problem or an unavailable device is one line naming the file
or device and what to do (exit status 2 on the command line); nothing else is overwritten.

Validation: the first ``eval_bytes`` bytes of the validation split in non-overlapping windows of
``context`` bytes, each from a fresh state, every byte after a window's first scored once.

Several processes: start the same command under ``torchrun --nproc_per_node P``. Each process takes
``batch`` windows of a global batch of ``P * batch`` drawn identically on every process, and
DistributedDataParallel averages the gradients, so P processes of batch b follow the same losses as
one process of batch P * b (tested with 2 processes, gloo on CPU; nccl on CUDA). Only rank 0 validates and writes.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn

from .checks import NonFiniteError
from .chunking import RECOMPUTE_FLAG, RECOMPUTE_FROM_TOKENS, recompute_setting
from .denormals import flush_denormals
from .data import CORPORA, corpus_bytes, load_corpus
from .models import MODELS, PRESETS, LanguageModel, build_model, compile_model, preset_config
from .run_dir import (CHECKSUM_SUFFIX, MetricsLog, RunDirError, RunLock, atomic_write, describe_os_error,
                      read_checkpoint_bytes, read_json, read_metrics, remove_leftover_temps, save_checkpoint,
                      torch_load_bytes)

__all__ = ["TrainConfig", "TrainResult", "train", "evaluate", "load_trained", "load_checkpoint", "CHECKPOINT_FORMAT",
           "RunDirError", "parse_overrides", "adamw", "main"]

CHECKPOINT, CONFIG, METRICS = "checkpoint.pt", "config.json", "metrics.jsonl"
STATEFUL_MODELS = ("hope", "titans")          # a memory state of fixed size, so it can be carried


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a run. A run's identity is this config plus the world size, the corpus
    actually read, the precision, the device type and compilation (see ``config.json`` in the module docstring).

    Attributes:
        model, preset, corpus: what to train on what (:data:`hope_lite.models.MODELS`, ``PRESETS``,
            :data:`hope_lite.data.CORPORA`).
        steps: optimizer steps of the whole run (the learning-rate schedule spans them).
        batch: windows per step and process; context: bytes per window.
        lr, warmup, weight_decay, grad_clip: AdamW, linear warm-up over ``warmup`` steps, then cosine
            decay to 10 % of ``lr``; global gradient-norm clip.
        eval_every, eval_bytes: validation period (steps) and how many validation bytes it scores.
        checkpoint_every: checkpoint period (steps); one is always written at the end.
        seed: model initialisation and data order.
        carry_memory: carry the memories' state across steps (``hope`` and ``titans`` only).
        overrides: model-config fields that differ from the preset, e.g. ``{"cms": False}`` for HOPE
            without CMS (the ablation switches of :class:`hope_lite.models.ModelConfig`); passed to
            :func:`hope_lite.models.build_model` and part of the run's identity. Stored sorted by name,
            lists as tuples, and checked by building the config once, so a bad name or value is refused here.
    """

    model: str = "hope"
    preset: str = "small"
    corpus: str = "pydoc"
    steps: int = 300
    batch: int = 8
    context: int = 256
    lr: float = 3e-3
    warmup: int = 20
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    eval_every: int = 100
    eval_bytes: int = 16384
    checkpoint_every: int = 100
    seed: int = 0
    carry_memory: bool = False
    overrides: dict = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {MODELS}, got {self.model!r}.")
        if self.preset not in PRESETS:
            raise ValueError(f"preset must be one of {tuple(PRESETS)}, got {self.preset!r}.")
        if self.corpus not in CORPORA:
            raise ValueError(f"corpus must be one of {CORPORA}, got {self.corpus!r}.")
        for name in ("steps", "batch", "context", "eval_every", "eval_bytes", "checkpoint_every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}.")
        for name in ("warmup", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an int >= 0, got {value!r}.")
        for name, smallest in (("lr", "> 0"), ("grad_clip", "> 0"), ("weight_decay", ">= 0")):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or value < 0 or (value == 0 and smallest == "> 0"):
                raise ValueError(f"{name} must be a finite number {smallest}, got {value!r}.")
        if self.eval_bytes < self.context:
            raise ValueError(f"eval_bytes ({self.eval_bytes}) must be at least context ({self.context}): validation "
                             f"scores whole windows of context bytes; raise eval_bytes or lower context.")
        if self.carry_memory and self.model not in STATEFUL_MODELS:
            raise ValueError(f"carry_memory needs a model whose state has a fixed size, one of {STATEFUL_MODELS}; "
                             f"{self.model!r} keeps an attention KV cache that grows with every token.")
        if not isinstance(self.overrides, dict) or not all(isinstance(k, str) for k in self.overrides):
            raise ValueError(f"overrides must be a dict of model-config field names to values, e.g. "
                             f"{{'cms': False}}, got {self.overrides!r}.")
        # one canonical form (sorted, tuples), so a config read back from JSON equals the one written
        canonical = {k: tuple(v) if isinstance(v, list) else v for k, v in sorted(self.overrides.items())}
        object.__setattr__(self, "overrides", canonical)
        preset_config(self.model, self.preset, **canonical)      # a bad field name or value is refused now


@dataclass
class TrainResult:
    """What :func:`train` returns: the trained model, every metrics row, and where the run lives."""

    model: LanguageModel
    config: TrainConfig
    metrics: list[dict]
    step: int
    out: Path | None

    def validation(self) -> list[dict]:
        return [m for m in self.metrics if m["kind"] == "validation"]

    def losses(self) -> list[float]:
        return [m["loss"] for m in self.metrics if m["kind"] == "train"]


# ---------------------------------------------------------------------------------------------
# Data


class WindowSampler:
    """Batches of ``context + 1``-byte windows of the train bytes (global batch, sliced per process).

    Random mode draws ``global_batch`` offsets per step from a private generator (its state is
    checkpointed). Carry mode gives row r the r-th of ``global_batch`` equal stretches of the text
    and reads it window after window; ``step % windows_per_row == 0`` starts every row over, and the
    trainer resets the memory state there.
    """

    def __init__(self, data: Tensor, context: int, global_batch: int, seed: int, carry: bool) -> None:
        self.data, self.context, self.global_batch, self.carry = data, context, global_batch, carry
        if data.numel() < context + 2:
            raise ValueError(f"the train split has {data.numel()} bytes, fewer than context + 2 = {context + 2}; "
                             f"lower context.")
        self.generator = torch.Generator().manual_seed(seed)
        stretch = data.numel() // global_batch
        self.windows_per_row = (stretch - 1) // context
        if carry and self.windows_per_row < 1:
            raise ValueError(f"carry_memory splits the {data.numel()} train bytes into {global_batch} stretches of "
                             f"{stretch} bytes, shorter than one window of {context + 1}; lower batch or context.")
        self.stretch = stretch

    def batch(self, step: int) -> Tensor:
        """The global batch for (0-based) ``step``: (global_batch, context + 1) int64."""
        if self.carry:
            offset = (step % self.windows_per_row) * self.context
            starts = [r * self.stretch + offset for r in range(self.global_batch)]
        else:
            starts = torch.randint(0, self.data.numel() - self.context - 1, (self.global_batch,),
                                   generator=self.generator).tolist()
        return torch.stack([self.data[s:s + self.context + 1] for s in starts]).long()

    def starts_over(self, step: int) -> bool:
        return self.carry and step % self.windows_per_row == 0


def _detach(state: list | None) -> list | None:
    """The model's state (one typed state per block) detached: the outer gradient stops at the window's start."""
    return None if state is None else [block_state.detach() for block_state in state]


# ---------------------------------------------------------------------------------------------
# Evaluation


@torch.no_grad()
def evaluate(model: nn.Module, data: Tensor, context: int, *, max_bytes: int | None = None,
             batch: int = 16) -> dict:
    """Validation loss of ``model`` on ``data``: non-overlapping windows of ``context`` bytes, fresh state each.

    Returns ``val_loss`` (nats per byte), ``val_bpb`` (bits per byte) and ``val_ppl`` (byte perplexity).
    """
    data = data[: max_bytes + 1] if max_bytes else data
    n = (data.numel() - 1) // context
    if n < 1:
        raise ValueError(f"the validation text has {data.numel()} bytes, fewer than one window of {context + 1}.")
    windows = torch.stack([data[i * context:(i + 1) * context + 1] for i in range(n)]).long()
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    total = 0.0
    for rows in windows.split(batch):
        rows = rows.to(device)
        logits = model(rows[:, :-1])[0]
        total += F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), rows[:, 1:].reshape(-1),
                                 reduction="sum").item()
    model.train(was_training)
    loss = total / (n * context)
    return {"val_loss": loss, "val_bpb": loss / math.log(2), "val_ppl": math.exp(loss)}


# ---------------------------------------------------------------------------------------------
# Output directory, checkpoints


def _as_json(identity: dict) -> dict:
    """``identity`` as it reads back from ``config.json`` (tuples become lists), so the two compare equal.
    A run written before ``overrides`` existed had none: it reads back as ``{}``; one written before
    ``compiled`` existed was not compiled."""
    return {"overrides": {}, "compiled": False, **json.loads(json.dumps(identity))}


def _differences(saved: dict, identity: dict) -> str:
    differ = sorted(k for k in set(saved) | set(identity) if saved.get(k) != identity.get(k))
    return ", ".join(f"{k}: {saved.get(k)!r} there, {identity.get(k)!r} here" for k in differ)


def _prepare_out(out: Path, identity: dict, resume: bool, log: Callable[[str], None]) -> bool:
    """Check ``out`` (locked by the caller) before any run file is written; leftover temp files of a killed
    writer are removed. True: there is a checkpoint to resume."""
    remove_leftover_temps(out, (CONFIG, METRICS, CHECKPOINT, CHECKPOINT + CHECKSUM_SUFFIX))
    saved_path = out / CONFIG
    if not saved_path.exists():
        for name in (CHECKPOINT, METRICS, CHECKPOINT + CHECKSUM_SUFFIX):
            if (out / name).exists():
                raise RunDirError(f"{out} has a {name} but no {CONFIG}; restore {CONFIG}, or choose another --out. "
                                  f"Nothing was overwritten.")
        if resume:
            raise RunDirError(f"--resume: {out} holds no run to resume; drop --resume to start one there.")
        return False
    saved = _as_json(read_json(saved_path))
    missing = [k for k in ("precision", "device") if k not in saved]
    if missing:
        raise RunDirError(f"{saved_path} was written by an older hope_lite that did not record {' and '.join(missing)}; "
                          f"if the run used {', '.join(f'{k} {identity[k]!r}' for k in missing)}, add that to "
                          f"{CONFIG} and resume, or choose another --out.")
    differ = _differences(saved, identity)
    if differ:
        raise RunDirError(f"{out} holds a different run ({differ}); nothing was overwritten. "
                          f"Choose another --out, or repeat that run's settings to resume it.")
    if not (out / CHECKPOINT).exists():
        # a crash before the first checkpoint: nothing to keep, the rows written so far are redone
        log(f"{out} holds this run but no {CHECKPOINT} yet (it stopped before its first checkpoint): starting over")
        return False
    if not resume:
        raise RunDirError(f"{out} already holds this run; pass --resume (resume=True) to continue it, "
                          f"or choose another --out. Nothing was overwritten.")
    return True


def _check_device(device: Any) -> str:
    """``device`` as a string, refused with a message when it does not exist or is not available here."""
    try:
        kind = torch.device(device).type
    except (RuntimeError, TypeError):
        raise ValueError(f"device must name a torch device such as 'cpu', 'cuda' or 'cuda:1', got {device!r}.") from None
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} is not available: this machine has no CUDA GPU that torch can use; "
                         f"pass --device cpu.")
    if kind == "cuda" and torch.device(device).index is not None and torch.device(device).index >= torch.cuda.device_count():
        raise ValueError(f"device {device!r} is not available: this machine has {torch.cuda.device_count()} CUDA "
                         f"device(s); pass --device cuda:0.")
    if kind == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise ValueError(f"device {device!r} is not available on this machine; pass --device cpu.")
    if kind not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device must be 'cpu', 'cuda[:n]' or 'mps', got {device!r}.")
    return str(device)


def _rng_states(sampler: WindowSampler) -> dict:
    """Every random generator's state as tensors and plain Python values, so the checkpoint loads with
    ``torch.load(weights_only=True)`` (NumPy's state is a tuple holding an array: stored as its parts)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {"torch": torch.get_rng_state(), "data": sampler.generator.get_state(), "python": random.getstate(),
            "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                      "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}


def _set_rng_states(states: dict, sampler: WindowSampler) -> None:
    torch.set_rng_state(states["torch"])
    sampler.generator.set_state(states["data"])
    random.setstate(states["python"])
    n = states["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    if states["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


CHECKPOINT_FORMAT = 2      # 2: loads with weights_only=True (format 1 pickled NumPy's state as an array)


def load_checkpoint(path: str | Path, device: Any = "cpu") -> dict:
    """A trainer checkpoint: verified against its checksum, loaded with ``torch.load(weights_only=True)``.

    A file that holds anything but tensors and plain data (pickled code, a format-1 checkpoint's NumPy
    array) is refused, and nothing in it runs; a file that does not match its ``.sha256`` or cannot be
    read is refused as corrupt. Each is a :class:`RunDirError` (a ValueError) naming the file.
    """
    path = Path(path)
    ckpt = torch_load_bytes(read_checkpoint_bytes(path), path, device)
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        found = ckpt.get("format") if isinstance(ckpt, dict) else type(ckpt).__name__
        raise RunDirError(f"{path} is not a hope_lite checkpoint of format {CHECKPOINT_FORMAT} (found {found!r}).")
    return ckpt


def load_trained(out: str | Path, *, model: str | None = None, preset: str | None = None,
                 device: Any = "cpu") -> tuple[LanguageModel, TrainConfig]:
    """The model saved in ``out``'s checkpoint and its config. ``model`` / ``preset``, when given, must match it."""
    path = Path(out) / CHECKPOINT
    ckpt = load_checkpoint(path, device)
    config = TrainConfig(**ckpt["config"])
    for name, want in (("model", model), ("preset", preset)):
        if want is not None and want != getattr(config, name):
            raise ValueError(f"{path} is a checkpoint of {name} {getattr(config, name)!r}, not {want!r}.")
    net = build_model(config.model, config.preset, device=device, **config.overrides)
    net.load_state_dict(ckpt["model"])
    return net, config


# ---------------------------------------------------------------------------------------------
# The loop


def adamw(model: nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """The trainer's optimizer: AdamW with weight decay on the matrices only (not on gains, biases, gates)."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=lr)


def _schedule(config: TrainConfig) -> Callable[[int], float]:
    """Multiplier of lr at (0-based) step s: linear warm-up, then cosine decay to 10 %."""
    def factor(s: int) -> float:
        if s < config.warmup:
            return (s + 1) / config.warmup
        progress = (s - config.warmup) / max(1, config.steps - config.warmup)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
    return factor


def _distributed(device: str) -> tuple[int, int, str]:
    """(rank, world size, this process's device); joins the process group when started by torchrun.

    Under torchrun, ``--device cuda`` means one GPU per process: ``cuda:<LOCAL_RANK>`` (NCCL refuses two
    processes on one GPU).
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and device == "cuda":
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
        torch.cuda.set_device(device)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
    return ((dist.get_rank(), world) if world > 1 else (0, 1)) + (device,)


def train(config: TrainConfig, out: str | Path | None = None, *, resume: bool = False, stop_at: int | None = None,
          device: str = "cpu", bf16: bool = False, progress: bool = True, log: Callable[[str], None] = print,
          text: tuple[Tensor, Tensor] | None = None, recompute: bool | str = "auto",
          compile: bool = False) -> TrainResult:
    """Train ``config.model`` on ``config.corpus``; see the module docstring for what is written to ``out``.

    Args:
        out: run directory (None: keep nothing on disk; no checkpoint, no resume). It is locked while
            the run writes it: a second trainer on the same directory is refused.
        resume: continue the run saved in ``out`` (its config, world size, precision and device type
            must equal this one's).
        stop_at: stop after this step (a checkpoint is written), as if interrupted; resume later.
        device, bf16: where to train, and bf16 autocast for the forward pass.
        progress: show a tqdm progress bar.
        text: (train bytes, validation bytes) to use instead of loading ``config.corpus`` (tests).
        recompute: the model's ``recompute_chunks`` (activation checkpointing: True, False or "auto",
            on from :data:`~hope_lite.chunking.RECOMPUTE_FROM_TOKENS` tokens of context). Not part of the run's identity: it changes no number.
        compile: compile the training forward pass (:func:`~hope_lite.models.compile_model`). Part of the
            run's identity: compiled kernels round differently, so a run is resumed the way it started.
    """
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a TrainConfig, got {type(config).__name__}.")
    if stop_at is not None and (isinstance(stop_at, bool) or not isinstance(stop_at, int)
                                or not 1 <= stop_at <= config.steps):
        raise ValueError(f"stop_at must be an int in [1, steps={config.steps}], got {stop_at!r}.")
    if not isinstance(bf16, bool):
        raise ValueError(f"bf16 must be True or False, got {bf16!r}.")
    device = _check_device(device)
    recompute = recompute_setting(recompute)
    if not isinstance(compile, bool):
        raise ValueError(f"compile must be True or False, got {compile!r}.")
    if resume and out is None:
        raise ValueError("resume=True needs the run directory: pass out=.")
    out = None if out is None else Path(out)
    if out is not None and out.exists() and not out.is_dir():
        raise RunDirError(f"--out {out} is a file; give a directory.")
    if out is not None and resume and not out.exists():
        raise RunDirError(f"--resume: {out} does not exist, so it holds no run to resume; drop --resume to start "
                          f"one there.")
    rank, world, device = _distributed(device)
    if world > 1 and config.carry_memory:
        raise ValueError("carry_memory runs in one process; drop it or run without torchrun.")
    if out is None or rank != 0:                 # only rank 0 writes, so only rank 0 holds the lock
        return _train(config, out, resume, stop_at, device, bf16, progress, log, text, rank, world, recompute, compile)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise RunDirError(describe_os_error(err, f"creating {out}")) from None
    with RunLock(out, log=log):
        return _train(config, out, resume, stop_at, device, bf16, progress, log, text, rank, world, recompute, compile)


def _train(config: TrainConfig, out: Path | None, resume: bool, stop_at: int | None, device: str, bf16: bool,
           progress: bool, log: Callable[[str], None], text: tuple[Tensor, Tensor] | None, rank: int,
           world: int, recompute: bool | str = "auto", compile: bool = False) -> TrainResult:
    if text is None:
        corpus = load_corpus(config.corpus, log=log if rank == 0 else (lambda _: None))
        text, loaded = (corpus_bytes(corpus, "train"), corpus_bytes(corpus, "validation")), corpus.name
    else:
        loaded = "given text"
    train_bytes, val_bytes = text
    # What makes two runs the same run. The corpus actually read is part of it (an offline fallback to
    # pydoc is not WikiText-2), and so are precision and device type: bf16 or another device gives other
    # numbers, so resuming in another one is refused rather than mixed into one run.
    identity = _as_json({**asdict(config), "world_size": world, "corpus_loaded": loaded,
                         "precision": "bf16" if bf16 else "fp32", "device": torch.device(device).type,
                         "compiled": compile})
    if out is not None and rank == 0:
        resuming = _prepare_out(out, identity, resume, log)
    else:                                        # the other processes reach rank 0's decision on their own
        resuming = resume and out is not None and (out / CHECKPOINT).exists()

    torch.manual_seed(config.seed)
    random.seed(config.seed)
    np.random.seed(config.seed)
    model = build_model(config.model, config.preset, device=device, **config.overrides)
    model.recompute_chunks = recompute
    sampler = WindowSampler(train_bytes, config.context, config.batch * world, config.seed, config.carry_memory)
    optimizer = adamw(model, config.lr, config.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(config))
    memory, step, metrics = None, 0, []

    if resuming:
        ckpt = load_checkpoint(out / CHECKPOINT, device)
        if "identity" in ckpt and _as_json(ckpt["identity"]) != identity:
            raise RunDirError(f"{out / CHECKPOINT} was written by another run than the one {CONFIG} describes "
                              f"({_differences(_as_json(ckpt['identity']), identity)}); nothing was overwritten. "
                              f"Repeat the checkpoint's settings, or choose another --out.")
        try:
            model.load_state_dict(ckpt["model"])
            optimizer.load_state_dict(ckpt["optimizer"])
            scheduler.load_state_dict(ckpt["scheduler"])
            _set_rng_states(ckpt["rng"], sampler)
            memory, step = ckpt["memory"], int(ckpt["step"])
        except (KeyError, RuntimeError, ValueError, TypeError) as err:
            first = (str(err).strip().splitlines() or [type(err).__name__])[0]
            raise RunDirError(f"{out / CHECKPOINT} does not fit this model and trainer ({type(err).__name__}: "
                              f"{first[:200]}); it was written by another version of hope_lite or edited. Start "
                              f"the run again in another --out.") from None
        if rank == 0:
            # rows written after the checkpoint (a crash between the two) are dropped: they will be redone
            metrics = [m for m in read_metrics(out / METRICS, log) if m["step"] <= step]
            have = {m["step"] for m in metrics if m["kind"] == "train"}
            if have != set(range(1, step + 1)):
                log(f"warning: {out / METRICS} has training rows for {len(have)} of the {step} steps before the "
                    f"checkpoint; the missing rows are lost, the run continues from step {step}")
        log(f"resuming {out} at step {step} of {config.steps}")
    rows_log = None
    if out is not None and rank == 0:
        # both files are replaced whole: a kill here leaves the old file or the new one, never a truncated one
        atomic_write(out / CONFIG, (json.dumps(identity, indent=1) + "\n").encode())
        atomic_write(out / METRICS, "".join(json.dumps(m) + "\n" for m in metrics).encode())
        rows_log = MetricsLog(out / METRICS)

    forward = compile_model(model) if compile else model      # model itself keeps the state dict's names
    net = nn.parallel.DistributedDataParallel(forward) if world > 1 else forward
    last = config.steps if stop_at is None else stop_at
    bar = None
    if progress and rank == 0:
        from tqdm.auto import tqdm
        bar = tqdm(total=config.steps, initial=step, desc=f"{config.model} ({config.preset})", unit="step")
    started = time.perf_counter()

    def write(row: dict) -> None:
        metrics.append(row)
        if rows_log is not None:
            rows_log.append(row)

    def checkpoint() -> None:
        if out is not None and rank == 0:
            rows_log.sync()             # every row up to this step is on disk before the checkpoint says so
            save_checkpoint(out / CHECKPOINT, {
                "format": CHECKPOINT_FORMAT, "config": asdict(config), "identity": identity, "world_size": world,
                "step": step, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "rng": _rng_states(sampler), "memory": memory})

    try:
        while step < last:
            rows = sampler.batch(step)[rank * config.batch:(rank + 1) * config.batch].to(device)
            if sampler.starts_over(step):
                memory = None
            try:
                with torch.autocast(device_type="cuda" if device.startswith("cuda") else "cpu", dtype=torch.bfloat16,
                                    enabled=bf16):
                    logits, new_memory = net(rows[:, :-1], state=memory)
            except NonFiniteError as err:         # byte ids in, so a NaN or inf inside is the training diverging
                inside = str(err).split(";")[0]      # the layer's advice is for its callers' inputs, not for this
                raise FloatingPointError(f"the forward pass of step {step + 1} overflowed inside the model ({inside}): "
                                         f"the training diverged; lower lr (now {config.lr}), in a new --out.") from None
            loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), rows[:, 1:].reshape(-1))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            if not torch.isfinite(grad_norm):      # stop before the step: a NaN step would poison every weight
                raise FloatingPointError(f"the gradient norm is {grad_norm.item()} at step {step + 1} (the training "
                                         f"diverged); lower lr (now {config.lr}), in a new --out.")
            optimizer.step()
            lr = scheduler.get_last_lr()[0]
            scheduler.step()
            memory = _detach(new_memory) if config.carry_memory else None
            step += 1
            value = loss.detach()
            if world > 1:                        # the global batch's loss: the mean over processes
                dist.all_reduce(value)
                value /= world
            value = value.item()
            if not math.isfinite(value):
                raise FloatingPointError(f"the training loss is {value} at step {step}; lower lr (now {config.lr}), "
                                         f"in a new --out.")
            write({"kind": "train", "step": step, "loss": value, "bpb": value / math.log(2), "lr": lr,
                   "tokens": step * config.batch * world * config.context,
                   "seconds": round(time.perf_counter() - started, 3)})
            if (step % config.eval_every == 0 or step == config.steps) and rank == 0:   # only rank 0 writes it
                try:
                    scores = evaluate(model, val_bytes, config.context, max_bytes=config.eval_bytes)
                except NonFiniteError as err:
                    raise FloatingPointError(f"the validation after step {step} overflowed inside the model "
                                             f"({str(err).split(';')[0]}): the training diverged; lower lr (now "
                                             f"{config.lr}), in a new --out.") from None
                write({"kind": "validation", "step": step, **scores})
            if bar is not None:
                bar.update(1)
                bar.set_postfix(bpb=f"{value / math.log(2):.3f}")
            if step % config.checkpoint_every == 0 or step == last:
                checkpoint()
    finally:
        if bar is not None:
            bar.close()
        if rows_log is not None:
            rows_log.close()
    return TrainResult(model, config, metrics, step, out)


# ---------------------------------------------------------------------------------------------
# Command line


def parse_overrides(items: list[str]) -> dict:
    """``["cms=false", "inner_rule=dot"]`` -> ``{"cms": False, "inner_rule": "dot"}`` (VALUE as JSON, else a string)."""
    overrides = {}
    for item in items:
        name, equals, text = item.partition("=")
        if not equals or not name:
            raise ValueError(f"--override takes FIELD=VALUE (e.g. cms=false), got {item!r}.")
        if text.strip().lower() in ("true", "false"):       # True / FALSE too: a string "False" would be truthy
            overrides[name.strip()] = text.strip().lower() == "true"
            continue
        try:
            overrides[name.strip()] = json.loads(text)
        except json.JSONDecodeError:
            overrides[name.strip()] = text
    return overrides


def main(argv: list[str] | None = None) -> int:
    flush_denormals()        # first: torch's worker threads, created by the first parallel operation, inherit it
    p = argparse.ArgumentParser(prog="python -m hope_lite.train", description=__doc__.split("\n\n")[0])
    defaults = TrainConfig()
    p.add_argument("--model", default=defaults.model, help=f"one of {MODELS}")
    p.add_argument("--preset", default=defaults.preset, help=f"one of {tuple(PRESETS)}")
    p.add_argument("--corpus", default=defaults.corpus, help=f"one of {CORPORA}")
    for f in fields(TrainConfig):
        if f.name not in ("model", "preset", "corpus", "carry_memory", "overrides"):
            p.add_argument(f"--{f.name.replace('_', '-')}", type=type(f.default), default=f.default)
    p.add_argument("--carry-memory", action="store_true", help="carry the memory state across steps (hope, titans)")
    p.add_argument("--override", action="append", default=[], metavar="FIELD=VALUE",
                   help="a model-config field that differs from the preset, e.g. cms=false, inner_rule=dot, "
                        "static_projections='[\"q\"]' (VALUE is read as JSON, else as a string); repeatable")
    p.add_argument("--out", required=True, help="run directory (config.json, metrics.jsonl, checkpoint.pt)")
    p.add_argument("--resume", action="store_true", help="continue the run saved in --out")
    p.add_argument("--stop-at", type=int, default=None, help="stop after this step, leaving a checkpoint")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--bf16", action="store_true", help="bf16 autocast for the forward pass")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--compile", action="store_true",
                   help="compile the forward pass: the memories' chunk kernels (hope, titans) or the whole model")
    p.add_argument("--recompute", choices=tuple(RECOMPUTE_FLAG), default="auto",
                   help="recompute each chunk of the memories in the backward pass instead of keeping its "
                        f"activations: less memory, about one more forward pass (auto: from {RECOMPUTE_FROM_TOKENS} tokens "
                        "of context)")
    args = p.parse_args(argv)
    values = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if f.name != "overrides"}
    try:
        config = TrainConfig(**values, overrides=parse_overrides(args.override))
        result = train(config, args.out, resume=args.resume, stop_at=args.stop_at, device=args.device,
                       bf16=args.bf16, progress=not args.no_progress,
                       recompute=RECOMPUTE_FLAG[args.recompute], compile=args.compile)
    except (ValueError, FloatingPointError, OSError) as err:
        # one line that names the file, setting or device and says what to do; exit status 2 as for bad flags
        doing = f"using {err.filename}" if getattr(err, "filename", None) else "training"
        message = describe_os_error(err, doing) if isinstance(err, OSError) else str(err)
        print(f"{p.prog}: error: {' '.join(message.split())}", file=sys.stderr)
        return 2
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    if int(os.environ.get("RANK", "0")) == 0:
        val = result.validation()
        summary = f", validation {val[-1]['val_bpb']:.3f} bits per byte (perplexity {val[-1]['val_ppl']:.2f})" \
            if val else ""
        losses = result.losses()
        trained = f", train loss {losses[-1] / math.log(2):.3f} bits per byte" if losses else ""
        print(f"{config.model} ({config.preset}): step {result.step} of {config.steps}{trained}{summary}; "
              f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
