"""hope_lite.levels: the levels a model and optimizer declare, and the updates an UpdateRecorder counts."""

from __future__ import annotations

import pytest
import torch

from hope_lite import HebbianMemory, TitansMemory
from hope_lite.levels import Level, UpdateRecorder, describe_levels, levels_of


class TwoMemories(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fast = HebbianMemory(4, 4)
        self.slow = TitansMemory(4, 4, chunk_size=32)
        self.proj = torch.nn.Linear(4, 4)


def test_levels_of_model_and_optimizer_fastest_first():
    model = TwoMemories()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    names = [(lv.qualified_name, lv.clock, lv.period) for lv in levels_of(model, opt)]
    assert names == [
        ("fast.memory", "tokens", 1),
        ("slow.memory", "tokens", 32),
        ("SGD.momentum", "steps", 1),        # the weights need the momentum: faster level
        ("TwoMemories.weights", "steps", 1),
    ]
    table = describe_levels(levels_of(model, opt))
    assert "slow.memory" in table and "period" in table.splitlines()[0]


def test_levels_of_adam_and_plain_sgd():
    model = torch.nn.Linear(2, 2)
    assert [lv.name for lv in levels_of(model, torch.optim.AdamW(model.parameters()))] == ["moments", "weights"]
    assert [lv.name for lv in levels_of(model, torch.optim.SGD(model.parameters(), lr=0.1))] == ["weights"]


def test_level_validation():
    with pytest.raises(ValueError, match="clock"):
        Level("x", "seconds", 1, "c", "o")
    with pytest.raises(ValueError, match="period"):
        Level("x", "tokens", 0, "c", "o")
    with pytest.raises(ValueError, match="levels_of takes"):
        levels_of("not a model")
    assert Level("x", "tokens", 4, "c", "o").frequency == 0.25


def test_recorder_logs_optimizer_steps_and_memory_writes():
    model = TwoMemories()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(2, 64, 4)
    with UpdateRecorder(model, optimizers=[opt]) as rec:
        for _ in range(3):
            opt.zero_grad()
            y1, _ = model.fast(x, x, x)
            y2, _ = model.slow(x, x, x)
            (y1.sum() + y2.sum()).backward()
            opt.step()
    counts = rec.counts()
    assert counts["fast.memory"] == 3 * 64
    assert counts["slow.memory"] == 3 * 2            # two chunks of 32 per call
    assert rec.times("TwoMemories.weights").tolist() == [1, 2, 3]
    assert rec.times("SGD.momentum").tolist() == [1, 2, 3]
    opt.step()                                       # after the block: not recorded any more
    assert rec.counts()["TwoMemories.weights"] == 3
    with pytest.raises(ValueError, match="No events for level"):
        rec.times("nope")
