"""Chapter 02 (nested optimization): momentum's short memory, the recorded training run, the step timeline
(drawn from recorded events only), ``explore_nested_levels`` driven from Python, and the numbers notebook 02
states in its text, checked against the code."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from hope_lite.lessons import figures as lessons_figures
from hope_lite.lessons.ch02_nested_optimization import experiments as ex
from hope_lite.lessons.ch02_nested_optimization import figures as viz
from hope_lite.levels import UpdateRecorder
from hope_lite.memory import HebbianMemory
from hope_lite.optim import MomentumSGD

from notebook_text import NotebookText  # noqa: E402


pytestmark = pytest.mark.usefixtures("one_thread")


def _drawn_ticks(fig: Figure) -> dict[str, np.ndarray]:
    """Tick positions of every row of an update timeline, by level name."""
    ax = fig.axes[0]
    return {c.get_label(): np.asarray(c.get_positions()) for c in ax.collections
            if hasattr(c, "get_positions")}


# --------------------------------------------------------------------------------------------
# momentum: a short memory
# --------------------------------------------------------------------------------------------


def test_momentum_horizon_paper_numbers():
    # docs/paper.md §2.2: with beta = 0.9 the last ~6 (+ the current) carry >= 50 %, ~43 (+ current) >= 99 %
    assert ex.momentum_horizon(0.9, 0.5) == 7
    assert ex.momentum_horizon(0.9, 0.99) == 44
    assert ex.momentum_share(0.9, 7) >= 0.5 > ex.momentum_share(0.9, 6)
    assert ex.momentum_share(0.9, 44) >= 0.99 > ex.momentum_share(0.9, 43)


@pytest.mark.parametrize("beta", [0.0, 0.3, 0.5, 0.9, 0.95, 0.99, 0.999])
@pytest.mark.parametrize("share", [0.1, 0.5, 0.9, 0.99])
def test_momentum_horizon_is_the_fewest(beta, share):
    k = ex.momentum_horizon(beta, share)
    assert ex.momentum_share(beta, k) >= share
    assert k == 1 or ex.momentum_share(beta, k - 1) < share


def test_momentum_share_edges_and_bad_arguments():
    assert ex.momentum_share(0.9, 0) == 0.0
    assert ex.momentum_horizon(0.9, 0.0) == 0
    assert ex.momentum_horizon(0.0, 0.99) == 1            # no momentum: the current gradient is everything
    for bad in [(1.0, 3), (-0.1, 3), (0.9, -1), (0.9, 1.5), (True, 2)]:
        with pytest.raises(ValueError):
            ex.momentum_share(*bad)
    with pytest.raises(ValueError):
        ex.momentum_horizon(0.9, 1.0)


def test_impulse_weights_of_the_real_optimizer_are_powers_of_beta():
    w = ex.momentum_impulse_weights(0.9, 50)
    assert w.shape == (50,)
    assert np.abs(w - 0.9 ** np.arange(50)).max() < 1e-12
    with pytest.raises(ValueError):
        ex.momentum_impulse_weights(0.9, 0)


def test_render_momentum_memory(no_open_figures):
    fig = viz.render_momentum_memory(0.9, n=30)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert "last 7" in fig.axes[0].get_title() and "last 44" in fig.axes[0].get_title()
    assert no_open_figures()


# --------------------------------------------------------------------------------------------
# a recorded training run
# --------------------------------------------------------------------------------------------


def test_run_counts_hebbian_momentum():
    run = ex.nested_training_run("MomentumSGD", memory="hebbian", steps=3, tokens=8, width=8, batch=2)
    assert [lv.clock for lv in run["levels"]] == ["tokens", "steps", "steps"]
    assert run["counts"] == {"block.memory.memory": 3 * 8, "MomentumSGD.momentum": 3, "NestedToyModel.weights": 3}
    assert run["losses"].shape == (3,) and np.isfinite(run["losses"]).all() and not run["diverged"]


@pytest.mark.parametrize("optimizer,period,slow_level,expected", [
    ("M3", 3, "M3.slow momentum", 7 // 3),
    ("DeepMomentum", 3, "DeepMomentum.momentum memory", math.ceil(7 / 3)),
])
def test_run_counts_slow_levels(optimizer, period, slow_level, expected):
    run = ex.nested_training_run(optimizer, memory="titans", chunk=4, period=period, steps=7, tokens=8,
                                  width=8, batch=2)
    counts = run["counts"]
    assert counts["block.memory.memory"] == 7 * (8 // 4)         # a Titans memory updates once per chunk
    assert counts["NestedToyModel.weights"] == 7
    assert counts[slow_level] == expected
    declared = {lv.qualified_name: lv.period for lv in run["levels"]}
    assert declared[slow_level] == period and declared["block.memory.memory"] == 4


def test_make_nested_optimizer_bad_arguments():
    params = [torch.nn.Parameter(torch.zeros(2, 2))]
    with pytest.raises(ValueError, match="optimizer must be one of"):
        ex.make_nested_optimizer("Adam", params)
    with pytest.raises(ValueError, match="period"):
        ex.make_nested_optimizer("M3", params, period=0)
    with pytest.raises(ValueError):
        ex.nested_training_run("MomentumSGD", memory="softmax")


# --------------------------------------------------------------------------------------------
# the step timeline: built from recorded events only
# --------------------------------------------------------------------------------------------


def test_timeline_draws_one_tick_per_recorded_update(no_open_figures):
    run = ex.nested_training_run("M3", memory="titans", chunk=4, period=2, steps=5, tokens=8, width=8, batch=2)
    rec, levels = run["recorder"], run["levels"]
    fig = viz.render_step_timeline(rec, levels)
    assert isinstance(fig, Figure)
    ticks = _drawn_ticks(fig)
    assert set(ticks) == set(rec.counts()) == {lv.qualified_name for lv in levels}
    for name, count in rec.counts().items():
        assert ticks[name].size == count, name
        if rec.events[name].clock == "steps":                  # step-clock ticks sit at the recorded steps
            assert np.array_equal(np.sort(ticks[name]), np.sort(rec.times(name).astype(float)))
    memory = ticks["block.memory.memory"]                       # token ticks: inside their step, (s-1, s]
    assert np.allclose(np.sort(memory), np.repeat(np.arange(5), 2) + np.tile([0.5, 1.0], 5))
    # rows in levels_of order, fastest on top (the highest y)
    labels = [t.get_text().split("\n")[0] for t in fig.axes[0].get_yticklabels()][::-1]
    assert labels == [lv.name for lv in levels]
    notes = " ".join(t.get_text() for t in fig.axes[0].texts)
    assert notes.count("✓") == len(levels) and "✗" not in notes
    assert no_open_figures()


def test_timeline_from_a_hand_written_loop_and_from_its_dict():
    torch.manual_seed(0)
    memory = HebbianMemory(4, 4)
    w = torch.nn.Parameter(torch.eye(4))
    opt = MomentumSGD([w], lr=0.1)
    model = torch.nn.Module()
    model.memory, model.w = memory, w
    rec = UpdateRecorder(model, optimizers=[opt])
    x = torch.randn(1, 6, 4)
    with rec:
        for _ in range(3):
            opt.zero_grad()
            y, _ = memory(x @ w, x, x)
            y.square().mean().backward()
            opt.step()
    data = ex.step_timeline(rec)
    assert data["__meta__"] == {"steps": 3, "tokens_per_step": 6}
    assert data["memory.memory"]["count"] == 18 and data["memory.memory"]["gap"] == 1
    assert data["MomentumSGD.momentum"]["gap"] == 1
    fig = viz.render_step_timeline(data)                        # no levels: ordered by clock, then count
    labels = [t.get_text().split("\n")[0] for t in fig.axes[0].get_yticklabels()][::-1]
    assert labels[0] == "memory"
    assert {k: v.size for k, v in _drawn_ticks(fig).items()} == rec.counts()


def test_timeline_needs_one_forward_pass_per_step():
    memory = HebbianMemory(4, 4)
    w = torch.nn.Parameter(torch.eye(4))
    opt = MomentumSGD([w], lr=0.1)
    rec = UpdateRecorder(memory, optimizers=[opt])
    x = torch.randn(1, 5, 4)
    with rec:
        opt.zero_grad()
        for _ in range(3):                                      # three passes, one step
            memory(x @ w, x, x)[0].sum().backward()
        opt.step()
    with pytest.raises(ValueError, match="one forward pass per step"):
        ex.step_timeline(rec)
    with pytest.raises(ValueError):
        viz.render_step_timeline("not a recorder")
    with pytest.raises(ValueError):
        ex.step_timeline(rec, tokens_per_step=0)


def test_figures_registered():
    for name in ("02-momentum-memory.png", "02-levels-linear-attention.png", "02-update-timeline.png",
                 "02-nested-levels-explorer.png"):
        assert name in viz.FIGURES
    levels = viz.linear_attention_levels()
    assert [lv.qualified_name for lv in levels] == ["block.memory.memory", "MomentumSGD.momentum",
                                                    "NestedToyModel.weights"]


def test_cli_writes_the_explorer_preview(tmp_path):
    assert lessons_figures.main(["--out", str(tmp_path), "--only", "02-nested-levels-explorer.png"]) == 0
    png = tmp_path / "02-nested-levels-explorer.png"
    assert 0 < png.stat().st_size < 300 * 1024


# --------------------------------------------------------------------------------------------
# the explorer, driven from Python
# --------------------------------------------------------------------------------------------


def _shown_text(w) -> str:
    return "".join(o.get("text", "") for o in w.output.outputs if o["output_type"] == "stream")


def test_explorer_structure_and_every_control(no_open_figures):
    import ipywidgets as widgets

    from hope_lite.lessons.ch02_nested_optimization.explorer import explore_nested_levels

    w = explore_nested_levels(steps=4, chunk=8)
    kinds = [type(c).__name__ for c in w.children]
    assert kinds == ["Dropdown", "Dropdown", "IntSlider", "IntSlider", "IntSlider", "Output"]
    assert tuple(w.optimizer.options) == ex.NESTED_OPTIMIZERS
    assert all(not c.continuous_update for c in w.children if isinstance(c, widgets.IntSlider))
    images = [o for o in w.output.outputs if o["output_type"] == "display_data"]
    assert len(images) == 2 and all(i["data"]["image/png"] for i in images)   # timeline + level diagram
    assert "momentum memory 2" in w.text and _shown_text(w) == w.text + "\n"  # DeepMomentum, period 3, 4 steps
    seen = {w.text}
    for index, value in [(2, 2), (3, 4), (4, 5), (1, "hebbian"), (0, "M3"), (0, "MomentumSGD")]:
        w.children[index].value = value
        text = w.update()
        assert _shown_text(w) == text + "\n" and text not in seen, (index, value, text)
        seen.add(text)
    counts = w.run["counts"]
    assert counts == {"block.memory.memory": 5 * 16, "MomentumSGD.momentum": 5, "NestedToyModel.weights": 5}
    assert w.period.disabled                                    # MomentumSGD has no slow level
    assert len(w.output.outputs) == 3                           # replaced each time, not appended
    assert no_open_figures()
    with pytest.raises(ValueError, match="unknown"):
        explore_nested_levels(lr=3)


def test_explorer_reports_the_recorded_updates():
    from hope_lite.lessons.ch02_nested_optimization.explorer import explore_nested_levels

    w = explore_nested_levels()                                  # the notebook's call, at its start values
    assert "recorded updates" in w.text
    assert w.run["counts"]["NestedToyModel.weights"] == w.steps.value == ex.NESTED_EXPLORER_DEFAULTS["steps"]


# --------------------------------------------------------------------------------------------
# what notebook 02 says, checked against the code
# --------------------------------------------------------------------------------------------

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "02_nested_optimization.ipynb"
NB = NotebookText("02_nested_optimization.ipynb")
_cells = NB.cells
_parameters = NB.parameters
_markdown = NB.text


def test_momentum_horizons_in_the_text():
    text = _markdown()
    half, most = ex.momentum_horizon(0.9, 0.5), ex.momentum_horizon(0.9, 0.99)
    # learning goals, section 2, check your understanding, summary
    assert f"with β = 0.9, {half} gradients carry half of it, {most} carry 99 %" in text
    assert f"the current gradient and the **{half - 1} before it** carry half of the momentum" in text
    assert f"the current one and the **{most - 1} before it** carry 99 %" in text
    assert f"Anything older than about {most} steps is forgotten" in text
    assert f"3. {most}: the current gradient and the {most - 1} before it (`ex.momentum_horizon(0.9, 0.99)`)" in text
    assert f"the last {half} gradients carry half of it, the last {most} carry 99 %" in text
    # Think! 2 and 3 of section 2
    assert (f"`ex.momentum_horizon(0.99, 0.5)` = {ex.momentum_horizon(0.99, 0.5)} and "
            f"`ex.momentum_horizon(0.99, 0.99)` = {ex.momentum_horizon(0.99, 0.99)}") in text
    assert "$0.9^{50} \\approx 0.5\\,\\%$" in text and round(100 * 0.9 ** 50, 1) == 0.5


def test_titans_count_in_the_think_answer():
    # "`TOKENS / 4` = 4 per step", checked with the call the question gives
    p = _parameters()
    said = re.search(r"`TOKENS / 4` = (\d+) per step", _markdown())
    assert said and int(said.group(1)) == p["TOKENS"] // 4
    assert 'ex.nested_training_run("MomentumSGD", memory="titans", chunk=4)["counts"]' in _markdown()
    run = ex.nested_training_run("MomentumSGD", memory="titans", chunk=4)
    assert run["tokens"] == p["TOKENS"]
    assert run["counts"]["block.memory.memory"] == int(said.group(1)) * run["steps"]


def test_previews_show_the_notebooks_settings(no_open_figures):
    p = _parameters()
    text = _markdown()
    # section 3's diagram: the levels of the notebook's model and optimizer
    from hope_lite.levels import describe_levels, levels_of

    model = ex.NestedToyModel("hebbian", width=p["WIDTH"], heads=p["HEADS"], chunk_size=p["CHUNK"])
    notebook = levels_of(model, MomentumSGD(model.parameters(), lr=0.05, momentum=p["BETA"]))
    assert describe_levels(viz.linear_attention_levels()) == describe_levels(notebook)
    # section 4's timeline: "M3 with slow period 4 and a Titans memory with chunk 4"
    assert f"M3 with slow period {p['SLOW_PERIOD']} and a Titans memory with chunk {p['CHUNK']}" in text
    fig = viz.FIGURES["02-update-timeline.png"]()
    title = fig.axes[0].get_title()
    assert f"slow period {p['SLOW_PERIOD']}" in title and f"(chunk {p['CHUNK']})" in title
    assert no_open_figures()
