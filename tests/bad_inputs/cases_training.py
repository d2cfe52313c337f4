"""Bad inputs of the trainer (hope_lite.train): settings, devices, run directories and checkpoint files."""

from __future__ import annotations

import os

import torch

from catalogue import Case, scratch
from hope_lite.train import TrainConfig, load_checkpoint, load_trained, train

TINY = dict(preset="tiny", steps=2, batch=2, context=32, eval_bytes=256)
QUIET = {"progress": False, "log": lambda _: None}


def _run(**kwargs):
    return train(TrainConfig(**TINY), **{**QUIET, **kwargs})


def _out_is_a_file():
    path = scratch("a_file")
    path.write_text("not a directory")
    return _run(out=path)


def _garbage_checkpoint():
    path = scratch("garbage/checkpoint.pt")
    path.write_bytes(b"garbage" * 100)
    return load_checkpoint(path)


class _Planted:
    def __reduce__(self):
        return os.system, ("echo planted",)


def _planted_checkpoint():
    path = scratch("planted/checkpoint.pt")
    torch.save({"format": 2, "evil": _Planted()}, path)
    return load_checkpoint(path)


CASES = [
    Case("training", "TrainConfig(model='transformer', overrides={'cms': False})",
         lambda: TrainConfig(model="transformer", overrides={"cms": False}), raises=ValueError,
         match="model 'transformer' has no cms"),
    Case("training", "TrainConfig(overrides={'inner_rule': 'newton'})",
         lambda: TrainConfig(overrides={"inner_rule": "newton"}), raises=ValueError, match="inner_rule"),
    Case("training", "train() at lr=1e12 (the training diverges)",
         lambda: train(TrainConfig(**{**TINY, "lr": 1e12, "warmup": 0}), **QUIET), raises=FloatingPointError,
         match="diverged.*lower lr"),
    Case("training", "TrainConfig(context=64, eval_bytes=8)", lambda: TrainConfig(context=64, eval_bytes=8),
         raises=ValueError, match="eval_bytes .* must be at least context"),
    Case("training", "TrainConfig(steps=0)", lambda: TrainConfig(steps=0), raises=ValueError, match="steps must be"),
    Case("training", "TrainConfig(lr=nan)", lambda: TrainConfig(lr=float("nan")), raises=ValueError,
         match="lr must be a finite number > 0"),
    Case("training", "TrainConfig(batch=True)", lambda: TrainConfig(batch=True), raises=ValueError,
         match="batch must be an int >= 1"),
    Case("training", "TrainConfig(model='transformer', carry_memory=True)",
         lambda: TrainConfig(model="transformer", carry_memory=True), raises=ValueError, match="carry_memory needs"),
    Case("training", "train(device='gpu')", lambda: _run(device="gpu"), raises=ValueError,
         match="device must name a torch device"),
    Case("training", "train(device='mps') on a machine without it", lambda: _run(device="mps"), raises=ValueError,
         match="device 'mps' is not available"),
    Case("training", "train(bf16='yes')", lambda: _run(bf16="yes"), raises=ValueError, match="bf16 must be True or False"),
    Case("training", "train(resume=True) without out", lambda: _run(resume=True), raises=ValueError,
         match="resume=True needs the run directory"),
    Case("training", "train(stop_at=100) for a run of 2 steps", lambda: _run(stop_at=100), raises=ValueError,
         match=r"stop_at must be an int in \[1, steps=2\]"),
    Case("training", "train(out=a file)", _out_is_a_file, raises=ValueError, match="is a file; give a directory"),
    Case("training", "train(resume=True, out=a folder that does not exist)",
         lambda: _run(out=scratch("nowhere"), resume=True), raises=ValueError, match="holds no run to resume"),
    Case("training", "load_trained(a folder without a checkpoint)", lambda: load_trained(scratch("empty")),
         raises=ValueError, match="does not exist; train with out="),
    Case("training", "load_checkpoint(a file of garbage)", _garbage_checkpoint, raises=ValueError,
         match="cannot be read as a checkpoint"),
    Case("training", "load_checkpoint(a pickle that would run code)", _planted_checkpoint, raises=ValueError,
         match="holds more than tensors and plain data"),
]
