"""Bad inputs of the teaching layer (hope_lite.lessons) and of the level declarations."""

from __future__ import annotations

import math

import torch

from catalogue import Case
from hope_lite.levels import Level, UpdateRecorder
from hope_lite.lessons import fast_mode, pick, seed_everything
from hope_lite.optim import MomentumSGD


def _params():
    return [torch.nn.Parameter(torch.zeros(2, 2))]


def _recorded_times_of_unknown_level():
    return UpdateRecorder().times("memory")


CASES = [
    Case("teaching", "Level(period=True)", lambda: Level("memory", "tokens", True, "pairs", "l2"),
         raises=ValueError, match="period must be an int >= 1"),
    Case("teaching", "Level(period=0)", lambda: Level("memory", "tokens", 0, "pairs", "l2"),
         raises=ValueError, match="period must be an int >= 1"),
    Case("teaching", "Level(clock='days')", lambda: Level("memory", "days", 1, "pairs", "l2"),
         raises=ValueError, match="clock must be one of"),
    Case("teaching", "UpdateRecorder('x')", lambda: UpdateRecorder("x"),
         raises=TypeError, match="takes a torch.nn.Module or None"),
    Case("teaching", "UpdateRecorder(optimizers=[3])", lambda: UpdateRecorder(optimizers=[3]),
         raises=TypeError, match="list of torch.optim.Optimizer"),
    Case("teaching", "UpdateRecorder(optimizers=one optimizer, not a list)",
         lambda: UpdateRecorder(optimizers=MomentumSGD(_params(), lr=0.1)),
         check=lambda rec: f"records that optimizer's steps ({len(rec._optimizers)} optimizer)"),
    Case("teaching", "recorder.times() of a level never recorded", _recorded_times_of_unknown_level,
         raises=ValueError, match="No events for level 'memory'"),
    Case("teaching", "seed_everything(2**70)", lambda: seed_everything(2**70),
         raises=ValueError, match=r"seed must be an int in \[0, 2\*\*32 - 1\]"),
    Case("teaching", "seed_everything(-1)", lambda: seed_everything(-1),
         raises=ValueError, match="seed must be an int in"),
    Case("teaching", "seed_everything('3')", lambda: seed_everything("3"),
         raises=ValueError, match="seed must be an int in"),
    Case("teaching", "fast_mode('no')", lambda: fast_mode("no"),
         raises=TypeError, match="fast must be True, False or None"),
    Case("teaching", "pick(fast=1, full=100, fast_flag='yes')", lambda: pick(1, 100, fast_flag="yes"),
         raises=TypeError, match="fast must be True, False or None"),
    Case("optimizers", "MomentumSGD(lr=inf): the message's range",
         lambda: MomentumSGD(_params(), lr=math.inf),
         raises=ValueError, match=r"lr must be a finite number in \[0, inf\), got inf"),
]
