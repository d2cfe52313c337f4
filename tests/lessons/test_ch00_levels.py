"""Chapter 00 (levels): the level diagram of hope_lite.lessons.ch00_levels.figures, drawn from
the levels a real model declares (hope_lite.levels itself is tested in tests/core/test_levels.py),
and what notebook 00 says about its example, checked against the code."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from matplotlib.figure import Figure

from hope_lite.lessons.ch00_levels.figures import FIGURES, index_levels, render_levels
from hope_lite import TitansMemory
from hope_lite.layers import MemoryBlock
from hope_lite.levels import Level, UpdateRecorder, describe_levels, levels_of

from notebook_text import NotebookText  # noqa: E402


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


# --------------------------------------------------------------------------------------------
# what notebook 00 says, checked against the code
# --------------------------------------------------------------------------------------------

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "00_index.ipynb"
NB = NotebookText("00_index.ipynb")
_cells = NB.cells
_parameters = NB.parameters
_markdown = NB.text


def _code() -> str:
    return "\n".join("".join(c["source"]) for c in _cells() if c["cell_type"] == "code")


def test_the_preview_draws_the_notebooks_block():
    # "Static preview (the same diagram, for readers without a kernel)": index_levels builds the block the
    # parameters cell describes, with the optimizer the code cell builds
    p = _parameters()
    block = MemoryBlock("titans", width=p["WIDTH"], heads=p["HEADS"], chunk_size=p["CHUNK"])
    assert "torch.optim.SGD(block.parameters(), lr=0.01, momentum=0.9)" in _code()
    assert "trained by `torch.optim.SGD` with momentum 0.9" in _markdown()
    notebook = levels_of(block, torch.optim.SGD(block.parameters(), lr=0.01, momentum=0.9))
    assert describe_levels(index_levels()) == describe_levels(notebook)
    assert notebook[0].period == p["CHUNK"]


def test_the_think_answers_hold():
    p = _parameters()
    # 1. "`TOKENS` per step (64 with `TOKENS = 64`)" with CHUNK = 1: one write per token
    said = re.search(r"`TOKENS` per step \((\d+) with `TOKENS = (\d+)`\)", _markdown())
    assert said and int(said.group(1)) == int(said.group(2)) == p["TOKENS"]
    block = MemoryBlock("titans", width=8, heads=2, chunk_size=1)
    opt = torch.optim.SGD(block.parameters(), lr=0.01, momentum=0.9)
    recorder = UpdateRecorder(block, optimizers=[opt])
    with recorder:
        opt.zero_grad()
        block(torch.randn(2, p["TOKENS"], 8)).square().mean().backward()
        opt.step()
    assert recorder.counts()[levels_of(block, opt)[0].qualified_name] == p["TOKENS"]
    # 2. Adam's two moments are one level, between the memory and the weights, where momentum was
    assert "Adam's first and second moments form one level" in _markdown()
    adam = levels_of(block, torch.optim.Adam(block.parameters()))
    assert [(lv.qualified_name, lv.clock) for lv in adam][1:] == [("Adam.moments", "steps"), ("MemoryBlock.weights", "steps")]
    assert adam[0].clock == "tokens"


def test_the_map_counts_what_the_chapters_have():
    # the index's map states counts of other chapters: 06 "the three variants", 07 "four models ... (three seeds)"
    from hope_lite.cms import VARIANTS

    words = {2: "two", 3: "three", 4: "four", 5: "five"}
    text = _markdown()
    assert f"the {words[len(VARIANTS)]} variants" in text
    compare = json.loads((NOTEBOOK.parents[1] / "results" / "07-compare.json").read_text(encoding="utf-8"))
    assert (f"{words[len(compare['models'])]} models of equal size trained on the same bytes "
            f"({words[len(compare['seeds'])]} seeds)") in text
