"""Chapter 00 (levels): the levels a real model and optimizer declare (hope_lite.levels, as the chapter
uses it), the updates an UpdateRecorder counts, and the level diagram of
hope_lite.lessons.ch00_levels.figures."""

from __future__ import annotations

import pytest
import torch
from matplotlib.figure import Figure

from hope_lite import HebbianMemory, TitansMemory
from hope_lite.lessons.ch00_levels.figures import FIGURES, index_levels, render_levels
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


# --------------------------------------------------------------------------------------------
# the level diagram
# --------------------------------------------------------------------------------------------


def test_render_levels_from_a_real_model(no_open_figures):
    block = TitansMemory(8, 8, chunk_size=4)
    opt = torch.optim.SGD(block.parameters(), lr=0.1, momentum=0.9)
    levels = levels_of(block, opt)
    fig = render_levels(levels)
    assert isinstance(fig, Figure)
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    for lv in levels:
        assert lv.qualified_name in texts
        assert lv.context_flow in texts
    assert "every 4 tokens" in texts and "every optimizer step" in texts
    with pytest.raises(ValueError):
        render_levels([])
    with pytest.raises(ValueError):
        render_levels(["memory"])
    assert no_open_figures()


def test_render_levels_single_level():
    fig = render_levels([Level("memory", "tokens", 1, "pairs", "L2")])
    assert isinstance(fig, Figure)


def test_the_index_example_and_its_preview(no_open_figures):
    names = [lv.qualified_name for lv in index_levels()]
    assert names[0].endswith("memory") and names[-1].endswith("weights")
    assert set(FIGURES) == {"00-levels.png"} and isinstance(FIGURES["00-levels.png"](), Figure)
    assert no_open_figures()
