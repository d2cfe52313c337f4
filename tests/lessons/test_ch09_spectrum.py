"""Chapter 09, the spectrum experiment: a slow CMS level keeps what a fast level loses (or not).

Shapes and keys of a run, determinism per seed, that FREEZE and RESET touch only the level they name,
the CMS without a spectrum, bad-input messages, the committed results file and its table, and a tiny
run of the whole command under 20 seconds."""

from __future__ import annotations

import json
import math
import time

import pytest
import torch

from hope_lite import ContinuumMemory
from hope_lite.lessons.ch06_continuum_memory.experiments import level_errors
from hope_lite.lessons.ch08_paper_claims.experiments import rule
from hope_lite.lessons.ch09_memory_benchmarks import spectrum as sp
from hope_lite.lessons.results import find_in_repository

pytestmark = pytest.mark.usefixtures("one_thread")

FAST = sp.FAST


@pytest.fixture(scope="module")
def fast_run():
    with torch.random.fork_rng(devices=[]):
        torch.set_num_threads(1)
        return sp.spectrum_run(0, **FAST)


# ---- the setting ---------------------------------------------------------------------------------

def test_the_chosen_periods_update_as_the_design_says():
    cfg = sp.check_setting()
    T = cfg["tokens_a"] + cfg["tokens_b"] + cfg["tokens_return"]
    back = cfg["tokens_a"] + cfg["tokens_b"]
    counts = [sp.updates_per_phase(p, cfg["tokens_a"], back, T) for p in cfg["periods"]]
    assert counts == [[256, 32, 32], [32, 4, 4], [4, 0, 1]]      # the slowest level sits B out, updates in A
    assert cfg["width"] == 128                                    # the small preset's width


def test_updates_per_phase_counts_eq_71s_update_times():
    for period, switch, back, total in [(8, 40, 56, 80), (5, 7, 13, 21), (64, 64, 96, 128)]:
        times = [t for t in range(total) if (t + 1) % period == 0]
        expected = [sum(a <= t < b for t in times) for a, b in ((0, switch), (switch, back), (back, total))]
        assert sp.updates_per_phase(period, switch, back, total) == expected


def test_learners_have_matched_parameters_and_one_target():
    cfg = sp.check_setting()
    counts = {}
    for name in sp.LEARNERS:
        memory = sp.make_learner(name, cfg, 0)
        counts[name] = sum(p.numel() for p in memory.parameters())
        values = [b.value for b in memory.blocks]
        assert all(torch.equal(values[0], v) for v in values)
        assert tuple(b.period for b in memory.blocks) == sp.level_rates(name, cfg)[0]
    assert counts["cms"] == counts["cms-flat"]
    assert abs(counts["mlp-fast"] - counts["cms"]) / counts["cms"] < 0.005
    targets = [sp.make_learner(n, cfg, 3).blocks[0].value for n in sp.LEARNERS]
    assert all(torch.equal(targets[0], t) for t in targets)         # the same map for every learner of a seed


def test_the_flat_cms_is_three_one_period_memories():
    cfg = sp.check_setting(base=FAST)
    flat = sp.make_learner("cms-flat", cfg, 0)
    x = torch.randn(2, 40, cfg["width"])
    with torch.no_grad():
        y, state = flat(x)
        for l, block in enumerate(flat.blocks):
            alone = ContinuumMemory(cfg["width"], (cfg["periods"][0],), hidden=cfg["hidden"],
                                    learning_rates=[block.learning_rate], variant="independent",
                                    max_update=cfg["max_update"])
            alone.load_state_dict({k.replace(f"blocks.{l}.", "blocks.0."): v for k, v in flat.state_dict().items()
                                   if k.startswith(f"blocks.{l}.")}, strict=False)
            _, st = alone(x)
            for a, b in zip(st.levels[0].weights, state.levels[l].weights):
                assert torch.allclose(a, b, atol=1e-6)


# ---- a run -------------------------------------------------------------------------------------------

def test_a_run_has_every_curve_and_number(fast_run):
    r = fast_run
    T = FAST["tokens_a"] + FAST["tokens_b"] + FAST["tokens_return"]
    assert r["tokens"] == list(range(0, T + 1, FAST["every"]))
    assert (r["switch"], r["return"]) == (FAST["tokens_a"], FAST["tokens_a"] + FAST["tokens_b"])
    assert set(r["learners"]) == set(sp.LEARNERS)
    for name, res in r["learners"].items():
        assert len(res["curve_a"]) == len(res["curve_b"]) == len(r["tokens"])
        assert len(res["online_curve"]) == len(r["tokens"]) - 1
        assert set(res["online"]) == {"A", "B", "A again"}
        assert len(res["levels_a_at_return"]) == len(res["periods"]) == len(res["rates"]) == len(res["updates"])
        assert res["a_at_return"] == res["curve_a"][r["return"] // FAST["every"]]
        assert res["a_end_of_a"] == res["curve_a"][r["switch"] // FAST["every"]]
        assert all(math.isfinite(v) for v in res["curve_a"] + res["curve_b"])
    assert r["learners"]["cms"]["updates"][-1][1] == 0                # the slowest level never updates in B
    L = len(FAST["periods"])
    for kind in sp.CHANGES:
        assert set(r["changes"][kind]) == set(r["loss"][kind]) == {str(l) for l in range(L)}
        for l in range(L):
            changed = r["changes"][kind][str(l)]
            cms = r["learners"]["cms"]["a_at_return"]
            assert r["loss"][kind][str(l)] == pytest.approx(changed["a_at_return"] - cms)
    json.dumps(r, allow_nan=False)                                     # plain JSON


def test_a_run_is_deterministic_per_seed(fast_run):
    again = sp.spectrum_run(0, **FAST)
    assert again == fast_run
    other = sp.spectrum_run(1, **FAST)
    assert other["learners"]["cms"]["curve_a"] != fast_run["learners"]["cms"]["curve_a"]


@pytest.mark.parametrize("kind", sp.CHANGES)
@pytest.mark.parametrize("level", [0, 1, 2])
def test_a_change_touches_only_the_named_level(fast_run, kind, level):
    plain = fast_run["learners"]["cms"]
    changed = fast_run["changes"][kind][str(level)]
    before, after = plain["levels_a_at_return"], changed["levels_a_at_return"]
    for l in range(len(before)):
        if l != level:
            assert after[l] == before[l]                                # the other levels are exactly as they were
    assert changed["curve_a"][:fast_run["switch"] // FAST["every"] + 1] == \
        plain["curve_a"][:fast_run["switch"] // FAST["every"] + 1]      # nothing changes before the switch
    if kind == "reset":                                                # B came before the reset: unchanged
        assert changed["b_during"] == plain["b_during"] and changed["b_end_of_b"] == plain["b_end_of_b"]
    if kind == "freeze":                                    # the level at the return = the level at the switch
        assert after[level] == pytest.approx(plain["levels_a_end_of_a"][level], abs=1e-7)
    else:                                                               # the level at the return = theta_0
        cfg = sp.check_setting(base=FAST)
        memory = sp.make_learner("cms", cfg, 0)
        stream = sp.spectrum_stream(0, cfg)
        with torch.no_grad():
            initial = level_errors(memory, memory.init_state(cfg["batch"]), stream["probes"]["A"])
        assert after[level] == pytest.approx(initial[level], abs=1e-7)


def test_freezing_a_level_that_never_updates_in_b_changes_nothing_at_the_return(fast_run):
    slowest = str(len(FAST["periods"]) - 1)
    assert fast_run["loss"]["freeze"][slowest] == 0.0
    fast = fast_run["learners"]["cms"]["updates"][0][1]
    assert fast > 0 and fast_run["loss"]["freeze"]["0"] != 0.0


def test_freeze_leaves_the_memory_as_it_was():
    cfg = sp.check_setting(base=FAST)
    memory = sp.make_learner("cms", cfg, 0)
    rates = [b.learning_rate for b in memory.blocks]
    sp.run_learner(memory, sp.spectrum_stream(0, cfg), cfg["every"], ("freeze", 0))
    assert [b.learning_rate for b in memory.blocks] == rates


def test_summary_and_claims_follow_the_rule(fast_run):
    runs = [fast_run, sp.spectrum_run(1, **FAST)]
    summary = sp.summarize(runs)
    cms = summary["learners"]["cms"]["a_at_return"]
    assert cms["values"] == [r["learners"]["cms"]["a_at_return"] for r in runs]
    assert cms["mean"] == pytest.approx(sum(cms["values"]) / 2)
    assert cms["std"] == pytest.approx(abs(cms["values"][0] - cms["values"][1]) / math.sqrt(2))
    calls = {c["key"]: c for c in sp.claims(summary, 2)}
    assert set(calls) == {"keeps_a", "adapts_b", "slow_holds_a", "spectrum"}
    c = calls["keeps_a"]
    fast = summary["learners"]["mlp-fast"]["a_at_return"]
    assert c["gap"] == pytest.approx(cms["mean"] - fast["mean"])
    assert c["spread"] == pytest.approx(max(cms["std"], fast["std"]))
    assert c["verdict"] == rule(c["gap"], c["spread"], -1.0, 2)
    r = calls["slow_holds_a"]
    assert r["gap"] == pytest.approx(summary["changes"]["reset"]["2"]["loss"]["mean"]
                                     - summary["changes"]["reset"]["0"]["loss"]["mean"])
    assert r["verdict"] == rule(r["gap"], r["spread"], +1.0, 2)
    assert all(c["verdict"] == "not testable at this scale" for c in sp.claims(sp.summarize(runs[:1]), 1))


def test_a_diverged_run_is_summarised_and_printed_as_diverged():
    setting = {**FAST, "max_update": None, "rates": (80.0, 80.0, 80.0), "mlp_rates": (80.0, 80.0)}
    runs = [sp.spectrum_run(s, **setting) for s in (0, 1)]
    assert runs[0]["learners"]["cms"]["a_end"] is None                 # NaN / inf stored as None (plain JSON)
    json.dumps(runs, allow_nan=False)
    summary = sp.summarize(runs)
    assert summary["learners"]["cms"]["a_end"]["mean"] is None
    assert all(c["verdict"] == "not testable at this scale" for c in sp.claims(summary, 2)
               if c["gap"] is None or not math.isfinite(c["gap"]))
    text = sp.format_spectrum({"kind": "spectrum", "summary": summary, "setting": sp.check_setting(base=setting),
                               "seeds": [0, 1], "labels": sp.LABELS, "claims": sp.claims(summary, 2)})
    assert "diverged" in text


def test_a_diverged_side_is_not_testable():
    a = {"mean": None, "std": None}
    b = {"mean": 0.1, "std": 0.01}
    assert sp._claim("k", "t", a, b, -1.0, 3, "m")["verdict"] == "not testable at this scale"


# ---- bad input ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("setting,message", [
    ({"colour": 1}, "unknown setting"),
    ({"rank": 200}, "rank (200) cannot exceed width"),
    ({"periods": (8,)}, "at least two periods"),
    ({"periods": (64, 8, 512)}, "fastest first"),
    ({"periods": (8, 60, 512)}, "each a multiple"),
    ({"rates": (0.3, 1.0)}, "rates must give 3 learning rates"),
    ({"rates": (0.3, -1.0, 2.0)}, "every rate in rates must be a finite number > 0"),
    ({"mlp_rates": 0.3}, "mlp_rates must give 2 learning rates"),
    ({"max_update": 0}, "max_update"),
    ({"every": 48}, "every (48) must divide tokens_a"),
    ({"tokens_a": 256}, "make tokens_a at least 512"),
    ({"batch": 0}, "batch must be an int >= 1"),
    ({"hidden": 2.5}, "hidden must be an int >= 1"),
])
def test_bad_settings_say_what_to_change(setting, message):
    with pytest.raises(ValueError, match=None) as err:
        sp.check_setting(setting)
    assert message in str(err.value)


def test_bad_arguments_say_what_to_change(tmp_path):
    with pytest.raises(ValueError, match="learner must be one of"):
        sp.spectrum_run(0, learners=("cms", "lstm"), **FAST)
    with pytest.raises(ValueError, match="change must be one of"):
        sp.spectrum_run(0, changes=("erase",), **FAST)
    with pytest.raises(ValueError, match="levels must be in 0..2"):
        sp.spectrum_run(0, levels=(5,), **FAST)
    with pytest.raises(ValueError, match="keep 'cms' in learners"):
        sp.spectrum_run(0, learners=("mlp-fast",), **FAST)
    with pytest.raises(ValueError, match="seed must be an int >= 0"):
        sp.spectrum_run(-1, **FAST)
    with pytest.raises(ValueError, match="must differ from the tuning seeds"):
        sp.spectrum_experiment(seeds=(0, 100), setting=FAST)
    with pytest.raises(ValueError, match="seeds must be distinct"):
        sp.spectrum_experiment(seeds=(1, 1), setting=FAST, tried=False, trade=False)
    with pytest.raises(ValueError, match="seeds must be a non-empty list"):
        sp.spectrum_experiment(seeds=3, setting=FAST)
    with pytest.raises(ValueError, match="takes the dict returned by spectrum_experiment"):
        sp.format_spectrum({"kind": "ablation"})
    with pytest.raises(FileNotFoundError, match="spectrum run --seeds 0 1 2"):
        sp.load_results(tmp_path / "nothing.json")
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"format": 1, "rows": []}))
    with pytest.raises(ValueError, match="is not a spectrum results file"):
        sp.load_results(other)


def test_the_command_line_refuses_bad_input(capsys):
    with pytest.raises(SystemExit):
        sp.main(["run", "--fast", "--seeds", "0", "0"])
    assert "seeds must be distinct" in capsys.readouterr().err


# ---- the whole command, tiny -----------------------------------------------------------------------------

def test_a_tiny_experiment_runs_in_under_20_seconds_and_reads_back(tmp_path, capsys):
    path = tmp_path / "spectrum.json"
    started = time.perf_counter()
    assert sp.main(["run", "--fast", "--seeds", "0", "1", "--json", str(path)]) == 0
    assert time.perf_counter() - started < 20
    results = sp.load_results(path)
    assert results["seeds"] == [0, 1] and results["setting"]["width"] == FAST["width"]
    assert results["command"].startswith("python -m hope_lite.lessons.ch09_memory_benchmarks.spectrum run --fast")
    assert {"wall_seconds", "threads", "torch"} <= set(results["environment"])
    assert "tried" not in results and "tradeoff" not in results
    printed = capsys.readouterr().out
    assert sp.format_spectrum(results) in printed
    assert sp.main(["table", str(path)]) == 0
    assert sp.format_spectrum(results) in capsys.readouterr().out


def test_the_tradeoff_table_compares_the_cms_on_both_numbers(fast_run):
    runs = [fast_run, sp.spectrum_run(1, **FAST)]
    table = sp.tradeoff(runs, (0.3, 1.0), setting=FAST)
    assert [(r["learner"], r["rate"]) for r in table["rows"]] == [("mlp-fast", 0.3), ("cms-flat", 0.3),
                                                                  ("mlp-fast", 1.0), ("cms-flat", 1.0)]
    row = table["rows"][0]                                              # rate 0.3 is FAST's own: the same runs
    assert row["a_at_return"]["values"] == [r["learners"]["mlp-fast"]["a_at_return"] for r in runs]
    gap = table["cms"]["a_at_return"]["mean"] - row["a_at_return"]["mean"]
    spread = max(table["cms"]["a_at_return"]["std"], row["a_at_return"]["std"])
    assert row["keeps_a"] == rule(gap, spread, -1.0, 2)


# ---- the committed results file ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def committed():
    if find_in_repository(sp.RESULTS) is None:
        pytest.skip(f"{sp.RESULTS} not committed yet")
    return sp.load_results()


def test_the_committed_file_is_the_command_on_seeds_0_1_2(committed):
    assert committed["seeds"] == [0, 1, 2]
    assert committed["command"] == sp.COMMAND
    assert committed["setting"] == json.loads(json.dumps(sp.check_setting()))
    assert committed["environment"]["wall_seconds"] < 600
    assert committed["environment"]["threads"] == 1


def test_the_committed_rates_are_the_rate_sweeps_choice(committed):
    sweep = committed["rate_sweep"]
    assert sweep["seeds"] == list(sp.TUNING_SEEDS) and sweep["grid"] == list(sp.RATE_GRID)
    chosen = sweep["chosen"]
    periods = committed["setting"]["periods"]
    assert [chosen[f"level {l + 1} (period {p})"] for l, p in enumerate(periods)] == committed["setting"]["rates"]
    assert [chosen["mlp-fast"], chosen["mlp-slow"]] == committed["setting"]["mlp_rates"]
    for m, row in sweep["memories"].items():
        errors = row["a_end_of_a"]
        assert len(errors) == len(sp.RATE_GRID)
        assert sweep["best"][m] == sp.RATE_GRID[errors.index(min(errors))]
        within = [r for r, e in zip(sp.RATE_GRID, errors) if e <= (1 + sp.RATE_TOLERANCE) * min(errors)]
        assert chosen[m] == max(within)                                  # the largest rate that still learns A
    assert [(t["label"], t["overrides"], t["why"]) for t in committed["tried"]] == \
        [(label, json.loads(json.dumps(over)), why) for label, over, why in sp.TRIED]


def test_the_committed_claims_follow_from_the_summary(committed):
    again = sp.claims(committed["summary"], len(committed["seeds"]))
    assert again == committed["claims"]
    assert sp.summarize(committed["runs"]) == committed["summary"]


def test_the_table_prints_the_files_numbers(committed):
    text = sp.format_spectrum(committed)
    S = committed["summary"]["learners"]
    for name in sp.LEARNERS:
        cell = f"{S[name]['a_at_return']['mean']:.3f} ± {S[name]['a_at_return']['std']:.3f}"
        line = next(l for l in text.splitlines() if f"(`{name}`)" in l)
        assert cell in line
    for c in committed["claims"]:
        assert f"{c['gap']:+.3f} (spread {c['spread']:.3f}) -> **{c['verdict']}**" in text
    assert len([l for l in text.splitlines() if l.startswith("| `")]) == len(committed["tradeoff"]["rows"])
    tried = sp.format_tried(committed)
    assert all(t["line"] in tried for t in committed["tried"])


def test_the_design_note_quotes_the_files_numbers(committed):
    """docs/09-spectrum.md: its result tables, claims, trade-off rows and tried lines are the committed file's."""
    from pathlib import Path

    note = (Path(__file__).resolve().parents[2] / "docs" / "09-spectrum.md").read_text(encoding="utf-8")
    lines = note.splitlines()

    def cell(stat):
        return f"{stat['mean']:.3f} ± {stat['std']:.3f}".replace("-", "−")

    S = committed["summary"]
    for name in sp.LEARNERS:                             # the learners' table
        row = next(l for l in lines if l.startswith(f"| `{name}` | ("))
        for metric in ("a_end_of_a", "a_at_return", "a_return_phase", "b_during"):
            assert cell(S["learners"][name][metric]) in row, (name, metric)
    cms = S["learners"]["cms"]
    for l in range(len(cms["periods"])):                 # the levels' table
        row = next(x for x in lines if x.startswith(f"| {l + 1} | {cms['periods'][l]} |"))
        for kind, metric in (("freeze", "loss"), ("freeze", "b_during"), ("reset", "loss"), ("reset", "loss_return_phase")):
            assert cell(S["changes"][kind][str(l)][metric]) in row, (l, kind, metric)
    for c in committed["claims"]:                        # the claims' table
        row = next(x for x in lines if x.startswith(f"| {c['id']} "))
        assert f"{c['gap']:+.3f}".replace("-", "−") in row and f"| {c['spread']:.3f} |" in row
        assert f"**{c['verdict']}**" in row
    for r in committed["tradeoff"]["rows"]:              # the trade-off table
        row = next(x for x in lines if x.startswith(f"| `{r['learner']}` | {r['rate']} |"))
        assert cell(r["a_at_return"]) in row and cell(r["b_during"]) in row
        assert row.rstrip().endswith(f"| {r['keeps_a']} | {r['adapts_b']} |")
    for t in committed["tried"]:                         # every setting tried, one line each
        assert f"- {t['line']}" in note
    assert f"({committed['environment']['wall_seconds']} s on one core" in note
