"""Chapter 09's figures, its explorer, its static previews, and README's chapter-09 section against the results."""

from __future__ import annotations

from pathlib import Path

import pytest

from hope_lite.lessons.ch09_memory_benchmarks import benchmarks as bm
from hope_lite.lessons.ch09_memory_benchmarks import continual as cl
from hope_lite.lessons.ch09_memory_benchmarks import figures as bf
from hope_lite.lessons.ch09_memory_benchmarks import levels as lv
from hope_lite.lessons.ch09_memory_benchmarks import needle_levels as nl
from hope_lite.lessons.ch09_memory_benchmarks import spectrum as sp
from hope_lite.lessons.results import find_in_repository
from hope_lite.lessons.task_training import TaskTraining

pytestmark = pytest.mark.usefixtures("one_thread")

ROOT = Path(__file__).resolve().parents[2]


def quiet(_: str) -> None:
    pass


@pytest.fixture(scope="module")
def tiny_formal():
    spec = bm.FAMILIES["formal"]
    family = bm.Family("formal", spec.source, (spec.task("parity"),), TaskTraining(steps=2, batch=4, lr=1e-3),
                       test_size=8, compared=spec.compared)
    return bm.run_family(family, (0, 1), models=("hope", "transformer"), preset="tiny", out=None, log=quiet)


@pytest.fixture(scope="module")
def tiny_spectrum():
    return sp.spectrum_experiment((0, 1), tried=False, setting=sp.FAST)


def test_render_benchmark_draws_a_bar_per_model_and_bin_and_the_papers_ticks(tiny_formal):
    fig = bf.render_benchmark(tiny_formal)
    ax = fig.axes[0]
    assert len(ax.patches) == 2                                          # one task x two models, per bin
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[0].startswith("parity\nvs Transformer++:\n") and len(fig.axes) == 2     # one panel per bin
    assert ax.get_title() == "test bin: in-length" and fig._suptitle.get_text().startswith("the paper's Table 5")
    paper_ticks = [line for line in ax.lines if line.get_label() == "the paper"]
    assert paper_ticks and paper_ticks[0].get_ydata()[0] == 100.0        # HOPE's 100 %
    with pytest.raises(ValueError, match="render_benchmark takes"):
        bf.render_benchmark({"kind": "ablation"})


def test_render_spectrum_draws_every_learner_and_level(tiny_spectrum):
    fig = bf.render_spectrum(tiny_spectrum)
    curves, bars = fig.axes[0], fig.axes[2]
    assert [line.get_label() for line in curves.lines][:4] == [sp.LABELS[n] for n in sp.LEARNERS]
    levels = len(sp.FAST["periods"])
    assert len(bars.patches) == 2 * levels                               # reset and freeze per level
    with pytest.raises(ValueError, match="render_spectrum takes"):
        bf.render_spectrum({"kind": "benchmark"})


def test_a_replay_is_the_run_of_the_experiment_with_each_levels_curve():
    run = bf.replay("cms", ("reset", 2), 0, sp.FAST)
    cfg = sp.check_setting(sp.FAST)
    same = sp.run_learner(sp.make_learner("cms", cfg, 0), sp.spectrum_stream(0, cfg), cfg["every"], ("reset", 2))
    assert run["curve_a"] == same["curve_a"] and run["a_at_return"] == same["a_at_return"]
    assert len(run["levels_curve_a"]) == len(run["curve_a"]) == len(run["tokens"])
    at_return = run["tokens"].index(run["return"])
    assert run["levels_curve_a"][at_return] == same["levels_a_at_return"]   # each level alone, after the reset
    for period, times in zip(run["periods"], run["updates"]):
        assert times == [t for t in range(run["tokens"][-1]) if (t + 1) % period == 0]
    fig = bf.render_replay(run)
    assert len(fig.axes) == 3 and "level 3 reset at the return" in fig._suptitle.get_text()


def test_the_explorer_replays_on_demand_and_keeps_its_runs():
    from hope_lite.lessons.ch09_memory_benchmarks.explorer import explore_spectrum

    w = explore_spectrum(sp.FAST)
    assert w.text.startswith("CMS, seed 0: error on A") and "level 3: 2 / 0 / 1" in w.text
    w.change.value = "reset 2"
    assert w.text.startswith("CMS · level 3 reset at the return, seed 0")
    w.learner.value = "mlp-fast"                                        # one level: the changes shrink to it
    assert [v for _, v in w.change.options] == ["none", "freeze 0", "reset 0"] and w.change.value == "none"
    assert "level 2" not in w.text
    w.seed.value = 1
    assert ", seed 1:" in w.text and len(w.runs) == 4
    with pytest.raises(ValueError, match="change must be one of"):
        explore_spectrum(sp.FAST, change="reset 9")
    with pytest.raises(ValueError, match="unknown initial setting"):
        explore_spectrum(sp.FAST, colour="red")


def test_the_figures_registry_holds_the_chapters_previews():
    assert set(bf.FIGURES) == {"09-formal.png", "09-mad.png", "09-niah.png", "09-continual.png", "09-levels.png",
                               "09-levels-niah.png", "09-spectrum.png", "09-spectrum-explorer.png"}
    from hope_lite.lessons import figures

    assert figures.CHAPTERS[-1] == "ch09_memory_benchmarks"
    for name in bf.FIGURES:
        assert (ROOT / "figures" / name).exists(), f"figures/{name}: run `make figures`"


def test_a_missing_benchmark_file_draws_a_placeholder(monkeypatch):
    monkeypatch.setattr(bf, "find_in_repository", lambda path: None)
    fig = bf._benchmark_figure("mad")
    assert fig._suptitle.get_text().startswith("PLACEHOLDER (results/09-mad.json not written yet)")


def test_readme_shows_the_committed_tables_claims_and_wall_times():
    if not all(find_in_repository(path) for path in [*bm.RESULTS.values(), sp.RESULTS, cl.RESULTS, lv.RESULTS,
                                                       nl.RESULTS]):
        pytest.skip("results/09-*.json not committed yet")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    flat = " ".join(readme.split())
    formal, mad = bm.load_results("formal"), bm.load_results("mad")
    for results in (formal, mad):
        assert bm.format_table(results) in readme and bm.format_claims(results) in readme
        assert results["command"] in readme
    took = (f"the commands took {formal['environment']['wall_seconds'] / 60:.0f} (formal) and "
            f"{mad['environment']['wall_seconds'] / 60:.0f} (MAD) minutes")
    assert took in flat
    spectrum = sp.load_results()
    assert spectrum["command"] in readme
    for c in spectrum["claims"]:
        assert f"{c['claim']}: {c['verdict']} (gap {c['gap']:+.3f}, spread {c['spread']:.3f})" in flat
    niah = bm.load_results("niah")
    assert bm.format_table(niah) in readme and bm.format_claims(niah) in readme and niah["command"] in readme
    assert f"The command took {niah['environment']['wall_seconds'] / 60:.0f} minutes" in flat
    continual = cl.load_results()
    assert cl.format_continual(continual, matrices=False) in readme and continual["command"] in readme
    assert f"The command took {continual['environment']['wall_seconds'] / 60:.0f} minutes" in flat
    levels = lv.load_results()
    assert lv.format_levels(levels) in readme and levels["command"] in readme
    assert f"The command took {levels['environment']['wall_seconds']:.0f} s" in flat
    needle_levels = nl.load_results()
    assert nl.format_needle_levels(needle_levels) in readme and needle_levels["command"] in readme
    assert f"The command took {needle_levels['environment']['wall_seconds'] / 60:.0f} minutes" in flat
    for name in ("09-niah.png", "09-continual.png", "09-levels.png", "09-levels-niah.png"):
        assert f"(figures/{name})" in readme


def test_the_instructors_guide_quotes_the_committed_numbers():
    if not all(find_in_repository(path) for path in [*bm.RESULTS.values(), sp.RESULTS, cl.RESULTS, lv.RESULTS]):
        pytest.skip("results/09-*.json not committed yet")
    guide = (ROOT / "docs" / "instructor.md").read_text(encoding="utf-8")
    section = " ".join(guide.split("## 09 ·", 1)[1].split())
    for family in ("formal", "mad"):
        results = bm.load_results(family)
        calls = {}
        for c in results["claims"]:
            calls[c["call"]] = calls.get(c["call"], 0) + 1
        assert ", ".join(f"*{k}* {v} of {len(results['claims'])}" for k, v in sorted(calls.items())) in section
        assert f"{results['environment']['wall_seconds'] / 60:.0f} minutes ({family if family == 'formal' else 'MAD'}" \
            in section
    mad = {(r["task"], r["model"]): r for r in bm.load_results("mad")["summary"]}
    for model, label in (("hope", "HOPE"), ("transformer", "Transformer++")):
        r = mad[("compression", model)]
        assert f"{label} {r['acc_mean']:.1f} ± {r['acc_std']:.1f} %" in section
    assert f"Why does HOPE score {mad[('compression', 'hope')]['acc_mean']:.0f} % on compression" in section
    for c in sp.load_results()["claims"]:
        assert f"{c['id']} {c['verdict']} (gap {c['gap']:+.3f}, spread {c['spread']:.3f})" in section
    niah = bm.load_results("niah")
    assert f"§4, needles: *not testable at this scale* {len(niah['claims'])} of {len(niah['claims'])}." in section
    assert all(c["call"] == "not testable at this scale" for c in niah["claims"])
    assert f"{niah['environment']['wall_seconds'] / 60:.0f} minutes (needles" in section
    continual = cl.load_results()
    learners = continual["summary"]["learners"]
    ranked = sorted(learners, key=lambda n: -learners[n]["final_accuracy"]["mean"])
    assert " > ".join(f"{n} {learners[n]['final_accuracy']['mean']:.3f}" for n in ranked) in section
    for c in continual["claims"]:
        assert f"{c['id']} {c['verdict']} (gap {c['gap']:+.3f}, spread {c['spread']:.3f})" in section
    levels = lv.load_results()
    assert "§5, levels: " + "; ".join(f"{c['id']} {c['verdict']}" for c in levels["claims"]) in section
    assert f"{levels['environment']['wall_seconds']:.0f} s (levels" in section
    needle_levels = nl.load_results()
    assert "§5, levels on the needle: " + "; ".join(f"{c['id']} {c['verdict']}" for c in needle_levels["claims"]) \
        in section
    assert f"{needle_levels['environment']['wall_seconds'] / 60:.0f} minutes (levels on the needle" in section


def test_the_needle_figure_draws_a_panel_per_kind_and_refuses_other_results(tiny_formal):
    family = bm.stand_in("niah", ["pass_key", "number"], TaskTraining(steps=1, batch=2, lr=1e-3), test_size=2,
                         longest=256)
    assert all(list(t.bins) == ["256"] for t in family.tasks) and family.shared and family.metric == "exact"
    results = bm.run_family(family, (0, 1), models=("hope", "transformer"), preset="tiny", out=None, log=quiet)
    fig = bf.render_needles(results)
    assert [ax.get_title().split("\n")[0] for ax in fig.axes] == ["pass key", "number"]
    assert "vs Transformer++: 256 " in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="render_needles takes the needle family"):
        bf.render_needles(tiny_formal)


def test_the_continual_figure_draws_a_matrix_per_learner():
    results = cl.load_results()
    fig = bf.render_continual(results)
    titles = [ax.get_title() for ax in fig.axes]
    assert len(fig.axes) == len(cl.LEARNERS) + 1
    assert all(any(t.startswith(results["labels"][name]) for t in titles) for name in cl.LEARNERS)
    assert titles[-1].startswith("claims: (1) ")
    with pytest.raises(ValueError, match="render_continual takes"):
        bf.render_continual({"kind": "benchmark"})


def test_the_levels_figure_puts_every_configuration_on_its_axis():
    from hope_lite.lessons.ch09_memory_benchmarks import levels as lv

    results = lv.load_results()
    fig = bf.render_levels(results)
    notes = [t.get_text().split(" ")[0] for t in fig.axes[0].texts]
    assert sorted(notes) == sorted([*lv.LEVELS_AXIS, *lv.SLOWEST_AXIS])     # k3 on both axes
    with pytest.raises(ValueError, match="render_levels takes"):
        bf.render_levels({"kind": "continual"})


def test_the_needle_levels_figure_draws_reading_speed_against_long_context_accuracy():
    from hope_lite.lessons.ch09_memory_benchmarks import needle_levels as nl

    results = nl.needle_levels_experiment((0, 1), configurations=("k1", "k2", "k3-256"), fast=True, out=None)
    fig = bf.render_levels(results)
    ax = fig.axes[0]
    assert sorted(t.get_text().split(" ")[0] for t in ax.texts) == ["k1", "k2", "k3-256"]
    assert ax.get_xlabel().startswith("bytes read per second") and "long context" in ax.get_ylabel()
