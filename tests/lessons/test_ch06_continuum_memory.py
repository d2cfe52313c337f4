"""Chapter 06 (Continuum Memory System): update times, the forgetting experiment, the figures and the explorer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hope_lite.lessons.ch06_continuum_memory import experiments as ec
from hope_lite.lessons.ch06_continuum_memory import figures as vc
from hope_lite.levels import UpdateRecorder

pytestmark = pytest.mark.usefixtures("one_thread")


# ---- update times --------------------------------------------------------------------------

@pytest.mark.parametrize("periods,tokens", [((4, 16, 64), 64), ((2, 8), 30), ((4, 16, 256), 128)])
def test_recorded_update_times_are_the_last_token_of_every_chunk(periods, tokens):
    times = ec.recorded_update_times(periods, tokens)
    for i, C in enumerate(periods):
        assert times[i].tolist() == list(range(C - 1, tokens, C)) == ec.expected_update_times(C, tokens)


def test_expected_update_times_continue_an_open_chunk():
    assert ec.expected_update_times(8, 30, start=5) == [2, 10, 18, 26]
    assert ec.expected_update_times(64, 32) == []


# ---- the forgetting experiment ---------------------------------------------------------------

def test_learners_match_in_size_and_share_the_value_map():
    sizes = {n: sum(p.numel() for p in ec.make_learner(n).parameters()) for n in ec.LEARNERS}
    assert abs(sizes["single"] - sizes["cms"]) <= 0.01 * sizes["cms"] and sizes["cms"] == sizes["cms-equal"]
    cms = ec.make_learner("cms", lr=0.1)
    assert [b.learning_rate for b in cms.blocks] == pytest.approx([0.1, 0.4, 1.6])
    assert all(torch.equal(b.value, cms.blocks[0].value) for b in cms.blocks)
    with pytest.raises(ValueError, match="learner"):
        ec.make_learner("nope")


def test_frozen_read_writes_nothing_and_equals_the_forward_inside_a_chunk():
    cms = ec.make_learner("cms")
    x = torch.randn(2, 3, 16)                       # 3 < fastest period 4: no update inside the call
    state = cms.init_state(2)
    with torch.no_grad():
        y, _ = cms(x, state=state)
    assert torch.allclose(ec.frozen_read(cms, state, x), y, atol=1e-6)


def test_task_stream_shapes_seeding_and_checks():
    s = ec.task_stream("ABA", tokens_per_task=8, batch=2, probes=5, seed=3)
    assert s["x"].shape == (2, 24, 16) and set(s["probes"]) == {"A", "B"} and s["probes"]["A"].shape == (2, 5, 16)
    assert torch.equal(s["x"], ec.task_stream("ABA", tokens_per_task=8, batch=2, probes=5, seed=3)["x"])
    with pytest.raises(ValueError, match="tasks"):
        ec.task_stream("")
    with pytest.raises(ValueError, match="rank"):
        ec.task_stream("A", rank=20)


def test_forgetting_run_small_is_seeded_and_shows_forgetting():
    r = ec.forgetting_run(0, tokens_per_task=128)
    again = ec.forgetting_run(0, tokens_per_task=128)
    for name in ec.LEARNERS:
        a = r["phase_end"][name]
        assert len(a) == 4 and a == again["phase_end"][name]
        assert a[2] > a[0] and a[3] < a[2]          # forgets A during B and C, relearns it
    assert len(r["tokens"]) == 8 and len(r["errors"]["cms"]["A"]) == 8
    with pytest.raises(ValueError, match="multiple"):
        ec.forgetting_run(0, tokens_per_task=100)
    with pytest.raises(ValueError, match="unknown"):
        ec.forgetting_run(0, nope=1)


def test_format_table_and_cli(capsys):
    table = ec.forgetting_table([0], tokens_per_task=64)
    text = ec.format_forgetting_table(table)
    assert "after A (again)" in text and "one MLP" in text
    assert ec.main(["forgetting", "--seeds", "0", "--tokens-per-task", "64"]) == 0
    assert "CMS" in capsys.readouterr().out


# ---- figures ---------------------------------------------------------------------------------

def test_update_grid_and_timeline_from_a_recorder(no_open_figures):
    run = ec.timeline_run((4, 16), 64)
    names, grid = vc.update_grid(run["recorder"], 64, run["names"] + ["missing.memory"])
    assert np.isfinite(grid).sum(1).tolist() == [16, 4, 0]
    assert np.flatnonzero(np.isfinite(grid[1])).tolist() == [15, 31, 47, 63]
    assert (grid[np.isfinite(grid)] > 0).all()
    fig = vc.render_token_timeline(run["recorder"], 64, names=run["names"], periods=(4, 16), switch=32)
    assert len(fig.axes) == 3 and no_open_figures()           # heat map, magnitudes, colour bar
    with pytest.raises(ValueError, match="UpdateRecorder"):
        vc.update_grid(object(), 8)
    with pytest.raises(ValueError, match="nothing"):
        vc.render_token_timeline(UpdateRecorder(), 8)


def test_explorer_periods_repair():
    assert vc.explorer_periods(3, (2, 4, 6, 8)) == ((4, 16, 64), False)
    assert vc.explorer_periods(3, (4, 4, 1, 8)) == ((16, 32, 64), True)
    assert vc.explorer_periods(4, (9, 9, 9, 9)) == ((64, 128, 256, 512), True)
    with pytest.raises(ValueError, match="levels"):
        vc.explorer_periods(0, (1, 2))


def test_forgetting_and_hope_figures(no_open_figures):
    fig = vc.render_forgetting(ec.forgetting_run(0, tokens_per_task=64))
    assert len(fig.axes) == 2
    hope = vc.hope_recorded_run(16)
    assert any(".cms." in lv.qualified_name for lv in hope["levels"])
    fig = vc.render_hope_timeline(hope)
    assert fig.axes and no_open_figures()
    assert set(vc.FIGURES) == {"06-update-timeline.png", "06-explorer.png", "06-forgetting.png",
                               "06-hope-levels.png"}


# ---- the explorer, driven from Python ------------------------------------------------------------

def _shown(w) -> str:
    return "".join(o.get("text", "") for o in w.output.outputs if o["output_type"] == "stream")


def test_cms_timeline_explorer_reacts_and_repairs(no_open_figures):
    import ipywidgets as widgets

    from hope_lite.lessons.ch06_continuum_memory.explorer import explore_cms_timeline

    w = explore_cms_timeline()
    sliders = [c for c in w.children if isinstance(c, widgets.IntSlider)]
    assert [s.description for s in sliders] == ["levels", "log2 C1", "log2 C2", "log2 C3", "log2 C4", "tokens"]
    assert isinstance(w.children[-1], widgets.Output)
    assert _shown(w).startswith("recorded updates per level: L1=64 L2=16 L3=4 |") and w.exponents[3].disabled
    w.children[0].value = 4                    # the "levels" slider: observe re-renders
    assert "L4=1" in _shown(w) and not w.exponents[3].disabled
    w.exponents[1].value = 2                   # same as level 1: repaired to 3
    assert "repaired" in w.text and [s.value for s in w.exponents] == [2, 3, 6, 8]
    assert "L2=32" in w.text
    w.tokens.value = 128
    text = w.update()
    assert text == w.text and "L4=0" in text and "never update" in text
    assert len(w.output.outputs) == 2 and no_open_figures()
    with pytest.raises(ValueError, match="unknown"):
        explore_cms_timeline(nope=1)
