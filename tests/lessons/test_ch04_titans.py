"""Chapter 04 (Titans): the seeded streams and the experiments, the figures and the Titans memory explorer
driven from Python."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from hope_lite.lessons.ch04_titans import experiments as et
from hope_lite.lessons.ch04_titans import figures as vt
from hope_lite.lessons.interactive import PLOTLY_MIME, is_plotly
from hope_lite.lessons.ch04_titans.experiments import make_needle_stream, make_shift_stream

from notebook_text import NotebookText, default  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")


def test_needle_stream_is_seeded_and_extends():
    short, long = make_needle_stream(4, 8, seed=3), make_needle_stream(10, 8, seed=3)
    assert short["keys"].shape == (5, 8) and long["keys"].shape == (11, 8)
    assert torch.equal(short["keys"], long["keys"][:5])            # a longer stream extends a shorter one
    assert torch.equal(short["values"], long["values"][:5])
    assert torch.equal(long["keys"][0], long["needle_key"])
    assert torch.allclose(long["values"].norm(dim=-1), torch.ones(11), atol=1e-6)
    mid = make_needle_stream(4, 8, seed=3, needle_at=2)
    assert torch.equal(mid["keys"][2], mid["needle_key"])
    with pytest.raises(ValueError, match="needle_at"):
        make_needle_stream(4, 8, needle_at=5)
    with pytest.raises(ValueError, match="n_distractors"):
        make_needle_stream(-1, 8)


def test_shift_stream_follows_its_rules():
    s = make_shift_stream(6, 4, 5, seed=1, dtype=torch.float64)
    assert s["shift"] == 6 and s["keys"].shape == (10, 5)
    assert torch.allclose(s["values"][:6], s["keys"][:6] @ s["A"].T)
    assert torch.allclose(s["values"][6:], s["keys"][6:] @ s["B"].T)
    with pytest.raises(ValueError, match="empty"):
        make_shift_stream(0, 0, 4)


def test_stream_trace_chunk_one_matches_one_call():
    s = make_shift_stream(20, 12, 8, seed=0)
    mem = et.titans_memory(8, seed=0)
    out = et.stream_trace(mem, s["keys"], s["values"], theta=0.2, eta=0.5, alpha=0.01, chunk_size=4)
    with torch.no_grad():
        y, st = mem(s["keys"][None], s["keys"][None], s["values"][None], chunk_size=4, theta=0.2, eta=0.5, alpha=0.01)
    assert torch.allclose(out["outputs"], y[0], atol=1e-6)
    assert out["surprise"].shape == (32,) and out["weight_norm"].shape == (8,)
    assert list(out["ends"]) == [3, 7, 11, 15, 19, 23, 27, 31]
    # surprise of the first chunk = the library's surprise at the initial weights
    w0 = [w.detach()[None] for w in mem.initial_weights]
    np.testing.assert_allclose(out["surprise"][:4], mem.surprise(w0, s["keys"][None, :4], s["values"][None, :4])[0],
                               rtol=1e-5)


def test_shift_run_surprise_spikes_and_learns():
    run = et.shift_run(n_before=128, n_after=64)
    assert not run["diverged"]
    assert run["ratio"] > 3
    assert run["probe_errors"]["A"][127] < 0.5 * run["probe_errors"]["A"][0]
    assert et.surprise_ratio(np.r_[np.ones(16), 4 * np.ones(16)], 16) == pytest.approx(4.0)
    with pytest.raises(ValueError):
        et.surprise_ratio(np.ones(10), 5, window=16)


def test_shift_run_reports_divergence():
    run = et.shift_run(theta=1.0, eta=0.95, n_before=64, n_after=32)
    assert run["diverged"] and math.isnan(run["ratio"])


def test_max_stable_theta_scales_with_one_minus_eta():
    t0, t9 = et.max_stable_theta(0.0), et.max_stable_theta(0.9)
    assert 0.7 < (t9 / 0.1) / t0 < 1.35
    with pytest.raises(ValueError):
        et.max_stable_theta(0.0, grid=[50.0, 60.0])


def test_needle_curve_shapes_and_forgetting():
    errs = et.needle_curve([16, 0, 4], alphas=(0.0, 0.03))
    assert errs.shape == (2, 3)
    assert errs[0, 0] < 0.05                       # sorted: N = 0 first
    assert (errs[1] > errs[0]).all()
    single = et.needle_curve([0, 4, 16], alphas=(0.03,))
    np.testing.assert_allclose(single[0], errs[1], rtol=1e-5)   # rows are independent memories


def test_chunk_sweep_small():
    sweep = et.chunk_sweep((1, 4), batch=2, tokens=32, repeats=1)
    rows = {r["chunk"]: r for r in sweep["rows"]}
    assert rows[1]["rel_error"] < 1e-5 and rows[4]["rel_error"] > rows[1]["rel_error"]
    assert sweep["reference"]["us_per_token"] > 0 and not rows[4]["diverged"]


def test_figures_render(no_open_figures):
    run = et.shift_run(n_before=32, n_after=32)
    shift = vt.render_shift_run(run)                   # interactive: surprise trace, errors on A and B, the 0 line
    assert is_plotly(shift) and [d.name for d in shift.data][1:] == ["error on rule A (fresh keys)",
                                                                    "error on rule B (fresh keys)", "a memory that answers 0"]
    assert np.allclose(np.asarray(shift.data[0].y, dtype=float), run["surprise"], equal_nan=True)
    assert shift.layout.yaxis.type == "log" and f"{run['ratio']:.1f}×" in shift.layout.title.text
    only = vt.render_shift_run(run, panels=("errors",), title="t")
    assert len(only.data) == 3 and only.layout.title.text == "t"
    figs = [vt.render_momentum_forgetting({0.0: 1.0, 0.5: 0.5}, {0.0: run}),
            vt.render_needle(np.full((2, 3), 0.5), checkpoints=(0, 1, 4), alphas=(0.0, 0.1)),
            vt.render_chunk_sweep(et.chunk_sweep((1, 2, 4), batch=1, tokens=16, repeats=1))]
    assert all(isinstance(f, Figure) for f in figs)
    assert no_open_figures()
    with pytest.raises(ValueError):
        vt.render_shift_run(run, panels=("nope",))
    with pytest.raises(ValueError):
        vt.render_needle(np.zeros((1, 2)), checkpoints=(0, 1, 4), alphas=(0.0,))
    assert set(vt.FIGURES) == {"04-shift-surprise.png", "04-momentum-forgetting.png", "04-needle.png",
                               "04-chunk-sweep.png", "04-explorer.png"}


def test_explorer_driven_from_python():
    from hope_lite.lessons.ch04_titans.explorer import TitansMemoryExplorer, explore_titans_memory

    w = explore_titans_memory()
    assert isinstance(w, TitansMemoryExplorer)
    first = w.text
    assert "memory error = " in first and "chunk 4" in first
    w.chunk.value = 8                              # observe() re-draws (chunks keep the test fast)
    assert w.text != first and "chunk 8" in w.text
    w.alpha.value = 0.02
    text = w.update()
    assert text == w.text and "α 0.020" in text
    assert w.output.outputs[0]["text"].startswith(text)
    assert PLOTLY_MIME in w.output.outputs[1]["data"]        # the interactive surprise trace
    w.theta.value, w.eta.value = 1.0, 0.95
    assert "DIVERGED" in w.update()
    with pytest.raises(ValueError):
        TitansMemoryExplorer(chunk_size=3)
    with pytest.raises(ValueError):
        TitansMemoryExplorer(nope=1)


# ---- the notebook's sentences against the code (docs/teaching.md: every stated default and count) ----

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "04_titans.ipynb"
NB = NotebookText("04_titans.ipynb")
_cells = NB.cells
_text = NB.text
_default = default


def test_notebook_states_the_streams_and_memories_of_the_code():
    text = _text()
    n_before, n_after, dim = (_default(et.shift_run, n) for n in ("n_before", "n_after", "dim"))
    assert (f"random unit vectors in $d={dim}$) with values from a hidden rule, $v_t = A k_t$ for {n_before} tokens, "
            f"then a **different** rule $v_t = B k_t$ for {n_after} tokens") in text
    memory = et.titans_memory(dim)
    assert memory.depth == 2 and memory.hidden == 2 * dim and "depth 2: $d \\to 2d \\to d$" in text
    # §3: the stability grid and the forgetting traces
    assert all(b / a == pytest.approx(et.STABILITY_GRID_RATIO) for a, b in zip(et.STABILITY_GRID, et.STABILITY_GRID[1:]))
    assert et.STABILITY_GRID_RATIO == pytest.approx(1.10) and "on a grid 10 % apart" in text
    assert f"a memory writing {_default(et.max_stable_theta, 'tokens')} tokens of one rule" in text
    assert len(vt.FORGET_ALPHAS) == 3 and "three constant forget gates ($\\theta = 0.5$, $\\eta = 0$)" in text
    assert "et.shift_run(theta=0.5, eta=0.0, alpha=a, seed=SEED) for a in vt.FORGET_ALPHAS" in _text("code")
    assert {0.01, 0.03} <= set(vt.FORGET_ALPHAS)
    # §4: the needle
    nd = {n: _default(et.needle_curve, n) for n in ("repeats", "theta", "distractor_theta", "dim")}
    assert f"is written ({nd['repeats']} times, step $\\theta = {nd['theta']:g}$" in text
    assert f"(step {nd['distractor_theta']:g} each)" in text
    assert len(vt.NEEDLE_ALPHAS) == 4 and f"$d = {nd['dim']}$; all four gates run as one batch" in text
    assert vt.NEEDLE_ALPHAS[-1] == 0.03 and "$\\alpha = 0.03$ loses the needle" in text
    # §5: the chunk sweep
    cs = {n: _default(et.chunk_sweep, n) for n in ("dim", "theta", "eta")}
    assert f"(rule A then B, $d = {cs['dim']}$, $\\theta = {cs['theta']:g}$, $\\eta = {cs['eta']:g}$, one memory per stream)" in text


def test_parameters_cell_matches_the_shift_defaults():
    params = next(c for c in _cells() if "parameters" in c["metadata"].get("tags", []))
    source = "".join(params["source"])
    eta = float(re.search(r"^ETA = ([0-9.]+)", source, re.M).group(1))
    assert eta == et.SHIFT_DEFAULTS["eta"]
    assert f"(its step theta is {et.SHIFT_DEFAULTS['theta']:g})" in source
    assert params["metadata"]["hope_lite"]["explore"]["SEED"] == 1


def test_explorer_hints_do_what_the_notebook_says():
    text = _text()
    start = et.TITANS_EXPLORER_DEFAULTS
    # "raise eta to 0.95 with theta = 0.1: the effective step theta/(1 - eta) passes the edge of §3"
    assert "raise $\\eta$ to 0.95 with $\\theta = 0.1$" in text
    assert 0.1 / (1 - 0.95) > et.max_stable_theta(0.0)
    assert et.shift_run(0.1, 0.95, start["alpha"], start["chunk_size"])["diverged"]
    # "chunk 16 with theta = 0.1, eta = 0.9; then lower theta until it is stable again"
    assert "chunk 16 with $\\theta = 0.1$, $\\eta = 0.9$; then lower $\\theta$ until it is stable again" in text
    assert et.shift_run(0.1, 0.9, 0.0, 16)["diverged"] and not et.shift_run(0.05, 0.9, 0.0, 16)["diverged"]


def test_think_answer_a_wider_memory_holds_the_needle_longer():
    assert "Try `et.needle_curve([0, 64, 256], dim=64)`" in _text()
    narrow, wide = et.needle_curve([0, 64, 256]), et.needle_curve([0, 64, 256], dim=64)
    assert (wide[0, 1:] < narrow[0, 1:]).all()
