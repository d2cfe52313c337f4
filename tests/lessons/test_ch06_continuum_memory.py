"""Chapter 06 (Continuum Memory System): update times, the forgetting experiment, the figures and the explorer,
and the notebook's sentences that state a default, a period, a count or a measured number."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import numpy as np
import pytest

import torch

from hope_lite.cms import ContinuumMemory
from hope_lite.lessons.ch06_continuum_memory import experiments as ec
from hope_lite.lessons.ch06_continuum_memory import figures as vc
from hope_lite.lessons.interactive import is_plotly
from hope_lite.levels import UpdateRecorder

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "06_continuum_memory.ipynb"

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


# ---- update magnitudes before the clip ----------------------------------------------------------

@pytest.mark.parametrize("variant", ["sequential", "independent"])
@pytest.mark.parametrize("max_update", [1.0, None])
def test_update_norms_replays_the_library_and_keeps_the_step_asked(variant, max_update):
    torch.manual_seed(0)
    cms = ContinuumMemory(8, (2, 8), hidden=16, variant=variant, max_update=max_update)
    x = 2 * torch.randn(2, 21, 8)
    with torch.no_grad():
        _, state = cms(x[:, :5])                        # an open chunk carried into the replayed call
        with UpdateRecorder(cms) as rec:
            y, _ = cms(x[:, 5:], state=state)
    r = ec.update_norms(cms, x[:, 5:], state)
    assert torch.allclose(r["y"], y, atol=1e-6)
    for i, level in enumerate(r["levels"]):
        ev = rec.events[f"blocks.{i}.memory"]
        assert level["times"].tolist() == (ev.all_times() - 5).tolist()
        assert np.allclose(level["applied"], ev.all_magnitudes(), atol=1e-6)   # the step taken, as recorded
        assert (level["before_clip"] >= level["applied"] - 1e-6).all()
        if max_update is None:
            assert level["limit"] is None and not level["clipped"].any()
            assert np.allclose(level["before_clip"], level["applied"], atol=1e-6)
        else:
            lr = cms.blocks[i].learning_rate
            assert level["limit"] == pytest.approx(lr * max_update)
            assert np.allclose(level["applied"], np.minimum(level["before_clip"], lr * max_update), atol=1e-5)
    with pytest.raises(ValueError, match="nested"):
        ec.update_norms(ContinuumMemory(8, (2, 8), hidden=16, variant="nested"), x)


def test_timeline_run_reports_the_steps_asked_and_the_clip():
    run = ec.timeline_run((4, 16, 64, 256), 128)
    assert run["max_update"] == ec.TIMELINE_MAX_UPDATE and run["clip_limit"] == pytest.approx(0.1 * ec.TIMELINE_MAX_UPDATE)
    for name, count in zip(run["names"], run["counts"]):
        assert run["before_clip"][name].size == run["clipped"][name].size == count
        if count:
            applied = run["recorder"].events[name].all_magnitudes()
            assert np.allclose(applied, np.minimum(run["before_clip"][name], run["clip_limit"]), atol=1e-5)
            assert (run["clipped"][name] == (run["before_clip"][name] > run["clip_limit"])).all()
    rows = ec.magnitude_summary(run)
    assert [r["updates"] for r in rows] == [32, 8, 2, 0] and [r["in_a"] for r in rows] == [16, 4, 1, 0]
    assert np.isnan(rows[3]["first"]) and "nan" in ec.format_magnitude_summary(rows)
    free = ec.timeline_run((4, 16), 64, max_update=None)
    assert free["clip_limit"] is None and not any(c.any() for c in free["clipped"].values())


def test_the_taught_magnitudes():
    """Sections 1 and 3: what the steps asked for show (the notebook checks them with expect, too)."""
    default = inspect.signature(ContinuumMemory).parameters["max_update"].default
    assert default == 1.0
    for periods, tokens in (((4, 16, 64, 256), 128), ((4, 16, 64), 256)):
        run = ec.timeline_run(periods, tokens)
        rows = ec.magnitude_summary(run)
        assert rows[0]["last_a"] < 0.5 * rows[0]["first"] and rows[0]["after_switch"] > 2 * rows[0]["last_a"]
        slow = sum(run["clipped"][n].sum() for n in run["names"][1:]) / sum(run["counts"][1:])
        if tokens == 128:
            assert slow > 0.5                                        # "mostly clipped"
        by_default = ec.timeline_run(periods, tokens, max_update=default)
        assert all(c.all() for c in by_default["clipped"].values())    # every update clipped with the default
    n = rows[1]["in_a"]
    assert rows[1]["asks"][n - 1] < 1.5 * rows[0]["asks"][n - 1]       # per update, level 2 shrinks like level 1
    assert rows[0]["after_switch"] > 4 * rows[0]["last_a"] and rows[1]["after_switch"] < 2 * rows[1]["last_a"]
    assert rows[2]["in_a"] in (1, 2)                                   # "one or two updates by then"


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
    assert is_plotly(fig) and [d.type for d in fig.data] == ["heatmap", "scatter", "scatter"]  # heat map, 2 levels
    heat = fig.data[0]
    assert np.array_equal(np.isfinite(np.asarray(heat.z, dtype=float)), np.isfinite(grid[:2]))   # the recorded cells
    assert list(fig.layout.yaxis.ticktext) == [f"{n.replace('.memory', '')} (C = {c})" for n, c in zip(names[:2], (4, 16))]
    assert [a.text for a in fig.layout.annotations if a.text.endswith(("update", "updates"))] == ["16 updates",
                                                                                                  "4 updates"]
    fig = vc.timeline_figure(run)                              # steps asked, clipped ones hollow, the clip line
    asked = fig.data[1]
    assert list(asked.y) == pytest.approx(run["before_clip"][run["names"][0]].tolist())
    hollow = np.asarray(asked.marker.color) == "white"
    assert hollow.tolist() == run["clipped"][run["names"][0]].tolist()
    assert any(d.name and d.name.startswith("clip η·max_update") for d in fig.data) == (run["clip_limit"] is not None)
    with pytest.raises(ValueError, match="before_clip"):
        vc.render_token_timeline(run["recorder"], 64, names=run["names"],
                                 before_clip={n: np.zeros(1) for n in run["names"]})
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
    assert is_plotly(fig) and len(fig.layout.yaxis.ticktext) == len(hope["levels"]) and no_open_figures()
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
    assert isinstance(w.children[-2], widgets.Dropdown) and w.clip.value == ec.CMS_TIMELINE_EXPLORER_DEFAULTS["max_update"]
    assert "clipped (asked for more than η·max_update = 0.4): L1=12 L2=6 L3=2" in w.text
    w.clip.value = 1.0
    assert "= 0.1): L1=64 L2=16 L3=4" in w.text
    w.clip.value = None
    assert "no clip" in w.text and w.run["clip_limit"] is None
    w.clip.value = 4.0
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
    with pytest.raises(ValueError, match="max_update"):
        explore_cms_timeline(max_update=2.0)


# ---- the notebook's sentences against the code -------------------------------------------------

def _cells() -> list[dict]:
    return json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]


def _text(cell: dict) -> str:
    return "".join(cell["source"])


def _markdown_with(phrase: str) -> str:
    found = [_text(c) for c in _cells() if c["cell_type"] == "markdown" and phrase in _text(c)]
    assert len(found) == 1, f"expected one markdown cell with {phrase!r}, found {len(found)}"
    return found[0]


def test_section1_states_the_library_default_clip_and_its_own_setting():
    text = _markdown_with("## 1 · A spectrum of memories")
    default = inspect.signature(ContinuumMemory).parameters["max_update"].default
    assert f"`max_update` (default {default:g})" in text
    periods, tokens = vc.SECTION1_TIMELINE["periods"], vc.SECTION1_TIMELINE["tokens"]
    assert f"periods $({', '.join(map(str, periods))})$, feed it {tokens} tokens" in text
    code = next(_text(c) for c in _cells() if c["cell_type"] == "code" and "ec.timeline_run(periods, T)" in _text(c))
    assert f"periods, T = {periods}, {tokens}" in code          # the static preview shows the notebook's run


def test_section3_states_the_explorers_limits():
    from hope_lite.lessons.ch06_continuum_memory.explorer import CMSTimelineExplorer

    text = _markdown_with("## 3 · Explore the spectrum")
    assert f"runs past $2^{CMSTimelineExplorer.MAX_EXPONENT}$" in text
    think = _markdown_with("the widget says `L1=64 L2=16 L3=4`")
    d = ec.CMS_TIMELINE_EXPLORER_DEFAULTS
    periods, _ = vc.explorer_periods(d["levels"], d["exponents"])
    assert f"periods $({', '.join(map(str, periods))})$ and {d['tokens']} tokens" in think
    assert " ".join(f"L{i + 1}={d['tokens'] // p}" for i, p in enumerate(periods)) in think


def test_section4_states_the_forgetting_setting():
    text = _markdown_with("## 4 · Forgetting on a stream of tasks")
    f = ec.FORGETTING
    periods = f["periods"]
    assert f"A task is a random\n{f['rank']}-dimensional subspace of $\\mathbb R^{{{f['width']}}}$" in text
    assert f"tasks {', '.join(f['tasks'][:-1])}, then {f['tasks'][-1]} again" in text
    assert f"a single level of period {periods[0]}" in text
    assert f"levels of periods {', '.join(map(str, periods))} with $\\eta_\\ell = {f['lr']:g}\\,C_\\ell/{periods[0]}$" in text
    assert f"$\\eta_\\ell = {f['lr']:g}$" in text and f"moves $C_\\ell/{periods[0]}$" in text
    params = next(_text(c) for c in _cells() if "parameters" in c["metadata"].get("tags", []))
    assert f"TOKENS_PER_TASK = {f['tokens_per_task']}" in params and f"slowest period, {periods[-1]}" in params
    resolve = next(_text(c) for c in _cells() if "fast_mode(FAST)" in _text(c))
    assert "pick(fast=1," in resolve and "FAST mode runs one" in text
    learner = ec.make_learner("single")
    assert learner.periods == periods[:1]


@pytest.fixture(scope="module")
def classroom_table():
    """Section 4 at the notebook's classroom defaults: seeds 0-2, the default tokens per task."""
    params = next(_text(c) for c in _cells() if "parameters" in c["metadata"].get("tags", []))
    seeds = int(re.search(r"^FORGETTING_SEEDS = (\d+)", params, re.M).group(1))
    tokens = int(re.search(r"^TOKENS_PER_TASK = (\d+)", params, re.M).group(1))
    return ec.forgetting_table(list(range(seeds)), tokens_per_task=tokens)


def test_section4_measured_sentences_hold_at_the_classroom_defaults(classroom_table):
    """'What the measurement says', the Think! answer and the summary, at seeds 0-2 (classroom mode)."""
    e = classroom_table["phase_end"]
    single, cms = e["single"], e["cms"]
    mean = {n: a.mean(0) for n, a in e.items()}
    for name, (after_a, _, after_c, again) in mean.items():
        if name != "cms-equal":
            assert after_c > 2 * after_a or after_c > after_a + 0.1    # the MLP and the CMS with eta ~ C forget much of A
        assert again < 0.5 * after_c                                   # every learner relearns it within one phase
    for phase in (1, 2):                                               # after B and after C: either way, by seed
        lower = single[:, phase] < cms[:, phase]
        assert lower.any() and not lower.all()
    assert (single[:, 0] < cms[:, 0]).all()                            # the one MLP learns A more precisely
    for run in classroom_table["runs"]:
        levels = np.asarray(run["levels_on_first"]["cms"])
        assert (levels[2] > levels[0] + 0.1).all()                     # each level alone loses A, the slowest included
    assert mean["cms"][0] < 0.5 * mean["cms-equal"][0]                 # equal eta: high error on A from the start
    rise = {n: m[2] - m[0] for n, m in mean.items()}
    assert rise["cms-equal"] < min(rise["single"], rise["cms"])        # the Think! answer: a smaller rise
    text = _markdown_with("**What the measurement says**")
    assert f"slow level (C = {ec.FORGETTING['periods'][-1]})" in text


def test_section6_states_no_period_by_hand():
    """Section 6: the periods come from levels_of(model) and the recorder (the notebook prints and checks them)."""
    for phrase in ("## 6 · The CMS inside HOPE", "The self-modifying Titans memories"):
        text = _markdown_with(phrase)
        assert not re.search(r"every \d+|periods? \d|C = \d", text), text
    run = vc.hope_recorded_run(16)
    counts = run["recorder"].counts()
    assert {lv.qualified_name for lv in run["levels"]} == set(counts)
    for lv in run["levels"]:
        assert counts[lv.qualified_name] == 16 // lv.period
    # "in this tiny preset a Titans memory sits between the two CMS levels on the spectrum"
    cms = sorted(lv.period for lv in run["levels"] if ".cms." in lv.qualified_name)
    titans = [lv.period for lv in run["levels"] if ".mixer." in lv.qualified_name]
    assert titans and all(cms[0] < p < cms[-1] for p in titans)


def test_runtime_header_is_in_the_measured_form():
    text = _text(_cells()[1])
    assert re.search(r"\*\*Runtime:\*\* about \d+ (s|min) on a 2-core CPU \(FAST mode: about \d+ (s|min)\)\.", text)
