"""hope_lite.levels and hope_lite.teaching."""

from __future__ import annotations

import pytest
import torch

from hope_lite.levels import Level, UpdateRecorder, describe_levels, levels_of
from hope_lite.memory import HebbianMemory, TitansMemory
from hope_lite.teaching import check, fast_mode, pick, seed_everything


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


def test_check_reports_without_raising(capsys):
    ref = lambda x: 2 * x  # noqa: E731

    def stub(x):
        raise NotImplementedError

    assert check(stub, ref, torch.ones(3)) is False
    assert "not done yet" in capsys.readouterr().out
    assert check(lambda x: 2 * x, ref, torch.ones(3)) is True
    assert check(lambda x: 3 * x, ref, torch.ones(3)) is False
    assert check(lambda x: x[:2], ref, torch.ones(3)) is False
    assert check(lambda x: 1 / 0, ref, torch.ones(3)) is False
    assert "ZeroDivisionError" in capsys.readouterr().out


def test_fast_mode_and_pick(monkeypatch):
    monkeypatch.delenv("HOPE_LITE_FAST", raising=False)
    assert fast_mode(False) is False and fast_mode(True) is True
    assert pick(1, 100) == 100
    monkeypatch.setenv("HOPE_LITE_FAST", "1")
    assert fast_mode(False) is True and pick(1, 100) == 1


def test_seed_everything_repeats_and_rejects_bad_seeds():
    seed_everything(3)
    a = torch.randn(4)
    seed_everything(3)
    assert torch.equal(a, torch.randn(4))
    with pytest.raises(ValueError, match="seed"):
        seed_everything("3")
