"""Chapter 00 (levels): the level diagram of hope_lite.lessons.ch00_levels.figures, drawn from
the levels a real model declares (hope_lite.levels itself is tested in tests/core/test_levels.py)."""

from __future__ import annotations

import pytest
import torch
from matplotlib.figure import Figure

from hope_lite.lessons.ch00_levels.figures import FIGURES, index_levels, render_levels
from hope_lite import TitansMemory
from hope_lite.levels import Level, levels_of


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
