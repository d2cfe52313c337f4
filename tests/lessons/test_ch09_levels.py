"""Chapter 09, the levels ablation on the continual stream: 1-4 CMS levels and the slowest period.

Eq 71's counts per level, the parameters a level adds, the (1, 8, 64) configuration as continual.py's cms (same
numbers), determinism, the throughput entry, the tuning rule, the claims and the rule, bad-input messages, the
committed results file and its table."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest
import torch

from hope_lite.lessons.ch08_paper_claims.experiments import rule
from hope_lite.lessons.ch09_memory_benchmarks import continual as cl
from hope_lite.lessons.ch09_memory_benchmarks import levels as lv
from hope_lite.lessons.results import find_in_repository

pytestmark = pytest.mark.usefixtures("one_thread")

FAST = cl.FAST


def _numbers(run):
    """A run without its timing (the one entry that differs on a rerun)."""
    return {k: v for k, v in run.items() if k != "timing"}


@pytest.fixture(scope="module")
def fast_runs():
    """Every configuration on FAST seeds 0 and 1 (seconds)."""
    with torch.random.fork_rng(devices=[]):
        torch.set_num_threads(1)
        return [lv.configuration_run(s, n, setting=FAST) for s in (0, 1) for n in lv.CONFIGURATIONS]


# ---- configurations, eq 71's counts, parameters ------------------------------------------------------

def test_the_configurations_are_the_two_axes():
    assert [lv.CONFIGURATIONS[n] for n in lv.LEVELS_AXIS] == [(1,), (1, 8), (1, 8, 64), (1, 8, 64, 512)]
    assert [lv.CONFIGURATIONS[n] for n in lv.SLOWEST_AXIS] == [(1, 8, 16), (1, 8, 64), (1, 8, 256)]
    assert set(lv.LEVELS_AXIS) | set(lv.SLOWEST_AXIS) == set(lv.CONFIGURATIONS)     # (1, 8, 64) run once


def test_the_slowest_level_updates_as_the_docstring_says():
    cfg = lv.level_setting((1,))
    slowest = {n: [u[-1] for u in lv.expected_updates(lv.CONFIGURATIONS[n], cfg)] for n in lv.SLOWEST_AXIS}
    assert set(slowest["k3-16"]) == {12, 13} and slowest["k3"] == [3] * 5 and set(slowest["k3-256"]) == {0, 1}
    assert sum(slowest["k3-256"]) == 3 and sum(u[-1] for u in lv.expected_updates((1, 8, 64, 512), cfg)) == 1


def test_a_run_has_k_update_counts_per_task_as_eq_71_says(fast_runs):
    cfg = lv.level_setting((1,), FAST)
    steps = FAST["classes_per_task"] * FAST["samples_per_class"]
    for run in fast_runs:
        periods = tuple(run["periods"])
        assert run["levels"] == len(periods) == len(lv.CONFIGURATIONS[run["configuration"]])
        assert len(run["updates"]) == FAST["tasks"] and all(len(u) == len(periods) for u in run["updates"])
        by_hand = [[sum(1 for t in range(i * steps, (i + 1) * steps) if (t + 1) % C == 0) for C in periods]
                   for i in range(FAST["tasks"])]
        assert run["updates"] == by_hand == lv.expected_updates(periods, cfg)
        assert run["updates_applied"] == sum(map(sum, run["updates"]))
        assert len(run["matrix"]) == FAST["tasks"]
        assert run["final_accuracy"] == pytest.approx(np.mean(run["matrix"][-1]))
    json.dumps(fast_runs, allow_nan=False)


@pytest.mark.parametrize("setting", [None, FAST])
def test_parameters_grow_with_k_as_computed(setting):
    counts = []
    for K, name in enumerate(lv.LEVELS_AXIS, start=1):
        cfg = lv.level_setting(lv.CONFIGURATIONS[name], setting)
        network = cl.make_network("cms", cfg, 0)
        assert len(network.levels) == K
        assert cl.parameter_count(network) == lv.cms_parameters(cfg, K) == K * lv.cms_parameters(cfg, 1)
        counts.append(cl.parameter_count(network))
    assert counts == sorted(set(counts))
    if setting is None:
        assert counts[2] == 7326                                    # continual.py's cms


def test_the_runs_record_the_parameters(fast_runs):
    cfg = lv.level_setting((1,), FAST)
    assert all(r["parameters"] == lv.cms_parameters(cfg, r["levels"]) for r in fast_runs)


# ---- (1, 8, 64) is continual.py's cms; determinism; the throughput ------------------------------------------

def test_k3_is_continual_pys_cms_at_the_same_rate_and_seed():
    ours = lv.configuration_run(1, "k3", rate=0.1, setting=FAST)
    cfg = cl.check_setting({**FAST, "periods": (1, 8, 64)})
    theirs = cl.train_learner("cms", cfg, 1, cl.continual_stream(1, cfg), rate=0.1)
    for key in ("matrix", "final_accuracy", "forgetting", "learning_accuracy", "parameters", "updates"):
        assert ours[key] == theirs[key], key
    assert ours["rate"] == 0.1 and ours["periods"] == [1, 8, 64]


def test_a_run_is_deterministic_and_its_timing_is_of_the_training_loop(fast_runs):
    again = lv.configuration_run(0, "k4", setting=FAST)
    first = next(r for r in fast_runs if r["seed"] == 0 and r["configuration"] == "k4")
    assert _numbers(again) == _numbers(first)
    other = next(r for r in fast_runs if r["seed"] == 1 and r["configuration"] == "k4")
    assert other["matrix"] != first["matrix"]
    t = again["timing"]
    assert again["samples"] == FAST["tasks"] * FAST["classes_per_task"] * FAST["samples_per_class"]
    assert t["train_seconds"] > 0 and t["samples_per_second"] == pytest.approx(again["samples"] / t["train_seconds"])
    assert t["threads"] == 1


def test_the_clock_does_not_change_the_numbers():
    cfg = cl.check_setting(base=FAST)
    stream = cl.continual_stream(0, cfg)
    clock = []
    timed = cl.train_learner("cms", cfg, 0, stream, clock=clock)
    assert len(clock) == FAST["tasks"] and all(s > 0 for s in clock)
    assert timed == cl.train_learner("cms", cfg, 0, stream)


def test_periods_of_ones_own():
    run = lv.configuration_run(0, (1, 4), setting=FAST)
    assert run["configuration"] == "periods (1, 4)" and run["levels"] == 2


# ---- the tuning rule, the summary and the claims ------------------------------------------------------------

def test_the_tuning_rule_picks_the_best_mean_final_accuracy():
    sweep = lv.tuning_sweep(("k1", "k3"), (100, 101), setting=FAST)
    assert sweep["grid"] == list(cl.RATE_GRID) and sweep["seeds"] == [100, 101]
    for name in ("k1", "k3"):
        means = sweep["final_accuracy"][name]
        assert means == pytest.approx([float(np.mean(v)) for v in sweep["per_seed"][name]])
        assert sweep["chosen"][name] == cl.RATE_GRID[means.index(max(means))]
    rate = cl.RATE_GRID[3]
    assert sweep["per_seed"]["k1"][3][1] == lv.configuration_run(101, "k1", rate, FAST)["final_accuracy"]


def test_summary_and_claims_follow_the_rule(fast_runs):
    summary = lv.summarize(fast_runs)
    C = summary["configurations"]
    assert list(C) == list(lv.CONFIGURATIONS)
    k1 = C["k1"]["final_accuracy"]
    assert k1["values"] == [r["final_accuracy"] for r in fast_runs if r["configuration"] == "k1"]
    assert k1["std"] == pytest.approx(abs(k1["values"][0] - k1["values"][1]) / math.sqrt(2))
    assert C["k3-256"]["updates_applied"]["std"] == 0.0                     # an exact count
    calls = lv.claims(summary, 2)
    assert [c["id"] for c in calls] == ["(1)", "(2)", "(3)", "(4)", "(5)", "(6a)", "(6b)"]
    for c, (_, _, a, b, metric, direction, _) in zip(calls, lv.CLAIMS):
        sa, sb = C[a][metric], C[b][metric]
        assert c["gap"] == pytest.approx(sa["mean"] - sb["mean"])
        assert c["spread"] == pytest.approx(max(sa["std"], sb["std"]))
        assert c["verdict"] == rule(c["gap"], c["spread"], float(direction), 2)
    assert calls[5]["verdict"] == "holds"                    # (1, 8, 256) updates fewer times than (1, 8, 16)
    only = lv.summarize([r for r in fast_runs if r["configuration"] in ("k1", "k4")])
    assert [c["id"] for c in lv.claims(only, 2)] == ["(1)"]             # a claim needs both its configurations
    assert all(c["verdict"] == "not testable at this scale"
               for c in lv.claims(lv.summarize(fast_runs[:len(lv.CONFIGURATIONS)]), 1))


# ---- bad input ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("periods,message", [
    ((), "one period or more"), (8, "one period or more"), ("1, 8", "one period or more"),
    ((8, 1), "must be increasing"), ((1, 1), "must be increasing"), ((1, 8, 60), "each a multiple"),
    ((1, 2.5), "every period must be an int >= 1"), ((0, 8), "every period must be an int >= 1"),
])
def test_bad_periods_say_what_to_change(periods, message):
    with pytest.raises(ValueError) as err:
        lv.check_periods(periods)
    assert message in str(err.value)


def test_bad_arguments_say_what_to_change(tmp_path):
    with pytest.raises(ValueError, match="unknown configuration 'k5'"):
        lv.configuration_run(0, "k5", setting=FAST)
    with pytest.raises(ValueError, match="unknown configuration"):
        lv.levels_experiment((0,), configurations=("k1", "k9"), tune=False, setting=FAST)
    with pytest.raises(ValueError, match="configurations must be distinct"):
        lv.check_configurations(["k1", "k1"])
    with pytest.raises(ValueError, match="non-empty list of names"):
        lv.check_configurations("k1")
    with pytest.raises(ValueError, match="named by a string"):
        lv.check_configurations([(1, 8)])
    with pytest.raises(ValueError, match="must be increasing"):
        lv.configuration_run(0, (8, 1), setting=FAST)
    with pytest.raises(ValueError, match="seed must be an int in"):
        lv.configuration_run(-1, "k1", setting=FAST)
    with pytest.raises(ValueError, match="unknown setting"):
        lv.configuration_run(0, "k1", setting={"colour": 1})
    with pytest.raises(ValueError, match="must differ from the tuning seeds"):
        lv.levels_experiment((0, 100), setting=FAST)
    with pytest.raises(ValueError, match="seeds must be distinct"):
        lv.levels_experiment((1, 1), tune=False, setting=FAST)
    with pytest.raises(ValueError, match="seeds must be a non-empty list"):
        lv.levels_experiment(3, setting=FAST)
    with pytest.raises(ValueError, match="jobs must be an int >= 1"):
        lv.levels_experiment((0,), jobs=0, tune=False, setting=FAST)
    with pytest.raises(ValueError, match="takes the dict returned by levels_experiment"):
        lv.format_levels({"kind": "continual", "summary": {}})
    with pytest.raises(FileNotFoundError, match="levels run --seeds 0 1 2 --jobs 2"):
        lv.load_results(tmp_path / "nothing.json")
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"format": 1, "kind": "continual", "summary": {}}))
    with pytest.raises(ValueError, match="is not a levels-ablation results file"):
        lv.load_results(other)


def test_the_command_line_refuses_bad_input(capsys):
    with pytest.raises(SystemExit):
        lv.main(["run", "--fast", "--seeds", "0", "--configurations", "k1", "k7"])
    assert "unknown configuration 'k7'" in capsys.readouterr().err


# ---- the whole command, tiny --------------------------------------------------------------------------------------

def test_a_tiny_experiment_runs_in_seconds_and_reads_back(tmp_path, capsys):
    path = tmp_path / "levels.json"
    started = time.perf_counter()
    argv = ["run", "--fast", "--seeds", "0", "1", "--json", str(path), "--out", str(tmp_path / "runs")]
    assert lv.main(argv) == 0
    assert time.perf_counter() - started < 20
    results = lv.load_results(path)
    assert len(list((tmp_path / "runs" / "fast" / "seeds").glob("*.pkl"))) == 2 * len(lv.CONFIGURATIONS)
    assert lv.main(argv) == 0                            # read back, timings included: the same file
    assert lv.load_results(path)["runs"] == results["runs"]
    assert results["kind"] == "levels" and results["format"] == 1 and "sweep" not in results
    assert results["command"] == "python -m hope_lite.lessons.ch09_memory_benchmarks.levels run --fast --seeds 0 1 " \
                                 f"--json {path} --out {tmp_path / 'runs'}"
    assert {"wall_seconds", "threads", "jobs", "load_average_at_start"} <= set(results["environment"])
    assert [(r["seed"], r["configuration"]) for r in results["runs"]] == \
        [(s, n) for s in (0, 1) for n in lv.CONFIGURATIONS]                 # seed after seed
    assert "periods" not in results["setting"]
    assert lv.format_levels(results) in capsys.readouterr().out
    assert lv.main(["table", str(path)]) == 0
    text = capsys.readouterr().out
    for name, r in results["summary"]["configurations"].items():
        line = next(l for l in text.splitlines() if f"(`{name}`) | {tuple(r['periods'])} | {r['parameters']} |" in l)
        assert f"{r['final_accuracy']['mean']:.3f} ± {r['final_accuracy']['std']:.3f}" in line
        assert " / ".join(r["updates_per_task"]) in line
    for c in results["claims"]:
        assert f"{c['id']} {c['claim']}: {c['verdict']} (gap {c['gap']:+.3f}, spread {c['spread']:.3f})" in text


# ---- the committed results file -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def committed():
    if find_in_repository(lv.RESULTS) is None:
        pytest.skip(f"{lv.RESULTS} not committed yet")
    return lv.load_results()


def test_the_committed_file_is_the_command_on_seeds_0_1_2(committed):
    assert committed["seeds"] == [0, 1, 2] and committed["command"] == lv.COMMAND
    assert committed["configurations"] == {n: list(p) for n, p in lv.CONFIGURATIONS.items()}
    expected = json.loads(json.dumps(cl.check_setting()))
    assert committed["setting"] == {k: v for k, v in expected.items() if k != "periods"}
    assert committed["environment"]["threads"] == 1 and committed["environment"]["jobs"] == 2
    assert all(r["timing"]["threads"] == 1 for r in committed["runs"])
    assert sorted((r["seed"], r["configuration"]) for r in committed["runs"]) == \
        sorted((s, n) for s in (0, 1, 2) for n in lv.CONFIGURATIONS)


def test_the_committed_rates_are_the_sweeps_choice(committed):
    sweep = committed["sweep"]
    assert sweep["seeds"] == list(cl.TUNING_SEEDS) and sweep["grid"] == list(cl.RATE_GRID)
    for name, means in sweep["final_accuracy"].items():
        assert means == pytest.approx([float(np.mean(v)) for v in sweep["per_seed"][name]])
        assert sweep["chosen"][name] == cl.RATE_GRID[means.index(max(means))]
    assert all(r["rate"] == sweep["chosen"][r["configuration"]] for r in committed["runs"])


def test_the_committed_claims_follow_from_the_runs(committed):
    assert lv.summarize(committed["runs"]) == committed["summary"]
    assert lv.claims(committed["summary"], 3) == committed["claims"]
    C = committed["summary"]["configurations"]
    cfg = lv.level_setting((1,))
    for name, row in C.items():
        assert row["updates"] == lv.expected_updates(lv.CONFIGURATIONS[name], cfg)
        assert row["parameters"] == lv.cms_parameters(cfg, len(lv.CONFIGURATIONS[name]))


def test_k3_is_the_committed_continual_cms():
    """(1, 8, 64) is continual.py's cms: the same sweep and, at the same rate, the same runs."""
    if find_in_repository(lv.RESULTS) is None or find_in_repository(cl.RESULTS) is None:
        pytest.skip("both results files are needed")
    ours, theirs = lv.load_results(), cl.load_results()
    assert ours["sweep"]["per_seed"]["k3"] == theirs["tuning"]["per_seed"]["cms"]
    if ours["sweep"]["chosen"]["k3"] == theirs["setting"]["rates"]["cms"]:
        k3 = {r["seed"]: r for r in ours["runs"] if r["configuration"] == "k3"}
        for run in theirs["runs"]:
            for key in ("matrix", "final_accuracy", "updates"):
                assert k3[run["seed"]][key] == run["learners"]["cms"][key]


def test_the_table_prints_the_files_numbers(committed):
    text = lv.format_levels(committed)
    for name, r in committed["summary"]["configurations"].items():
        line = next(l for l in text.splitlines() if f"(`{name}`)" in l)
        for stat in (r["final_accuracy"], r["forgetting"]):
            assert f"{stat['mean']:.3f} ± {stat['std']:.3f}" in line
        assert f"{r['samples_per_second']['mean']:.0f} ± {r['samples_per_second']['std']:.0f}" in line
    assert cl.format_claims(committed["claims"]) in text
    assert all(f"- {n}:" in lv.format_sweep(committed) for n in lv.CONFIGURATIONS)
