"""Chapter 09, continual learning (class-incremental): the CMS spectrum against one level, one MLP, EWC and ICL.

The forgetting matrix and its numbers, eq 71's update steps, equal parameter counts, the CMS without its
spectrum, EWC without its penalty, the ICL model's masks and meta-training seeds, determinism per seed and
across processes, the tuning rule, bad-input messages, the committed results file and its table."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest
import torch

from hope_lite.lessons.ch08_paper_claims.experiments import rule
from hope_lite.lessons.ch09_memory_benchmarks import continual as cl
from hope_lite.lessons.results import find_in_repository

pytestmark = pytest.mark.usefixtures("one_thread")

FAST = cl.FAST


@pytest.fixture(scope="module")
def fast_run():
    with torch.random.fork_rng(devices=[]):
        torch.set_num_threads(1)
        return cl.continual_run(0, **FAST)


@pytest.fixture(scope="module")
def fast_cfg():
    return cl.check_setting(base=FAST)


# ---- the forgetting matrix and its numbers ----------------------------------------------------------

def test_a_run_has_a_full_forgetting_matrix_for_every_learner(fast_run):
    T = FAST["tasks"]
    assert set(fast_run["learners"]) == set(cl.LEARNERS)
    for name, r in fast_run["learners"].items():
        M = r["matrix"]
        assert len(M) == T and all(len(row) == T for row in M)             # after task i (rows), task j (columns)
        assert all(0.0 <= a <= 1.0 for row in M for a in row)
        assert r["final_accuracy"] == pytest.approx(np.mean(M[-1]))
        assert r["learning_accuracy"] == pytest.approx(np.mean([M[i][i] for i in range(T)]))
        assert r["forgetting"] == pytest.approx(np.mean([max(M[i][j] for i in range(j, T)) - M[-1][j]
                                                         for j in range(T - 1)]))
        if name != "icl":                                       # a class never trained is never predicted by SGD...
            assert all(M[i][j] < 0.5 for i in range(T) for j in range(i + 1, T))
    assert len(fast_run["joint"]["row"]) == T and len(fast_run["icl_whole_stream"]["matrix"]) == T
    json.dumps(fast_run, allow_nan=False)                                    # plain JSON


def test_the_matrix_numbers_on_a_small_example():
    M = [[0.9, 0.0, 0.0], [0.5, 0.8, 0.0], [0.2, 0.6, 0.7]]
    assert cl.final_accuracy(M) == pytest.approx(0.5)
    assert cl.average_forgetting(M) == pytest.approx(((0.9 - 0.2) + (0.8 - 0.6)) / 2)
    assert cl.learning_accuracy(M) == pytest.approx(0.8)


# ---- eq 71 --------------------------------------------------------------------------------------------

def test_updates_per_task_counts_eq_71s_update_steps():
    for period, steps, tasks in [(1, 200, 5), (8, 200, 5), (64, 200, 5), (16, 40, 3), (7, 13, 4)]:
        times = [t for t in range(steps * tasks) if (t + 1) % period == 0]
        expected = [sum(i * steps <= t < (i + 1) * steps for t in times) for i in range(tasks)]
        assert cl.updates_per_task(period, steps, tasks) == expected
    assert [cl.updates_per_task(p, 200, 5) for p in cl.SETTING["periods"]] == [[200] * 5, [25] * 5, [3] * 5]


def test_the_cms_levels_update_exactly_at_eq_71s_steps(fast_cfg):
    network = cl.make_network("cms", fast_cfg, 0)
    periods, rate, max_update = (1, 4, 16), 0.1, 0.5
    groups = [list(level.parameters()) for level in network.levels]
    optimizer = cl.PeriodicSGD(groups, periods, [rate] * 3, max_update)
    x, y = torch.randn(48, fast_cfg["dim"]), torch.randint(6, (48,))
    for t in range(48):
        before = [[p.detach().clone() for p in g] for g in groups]
        network.zero_grad()
        torch.nn.functional.cross_entropy(network(x[t:t + 1]), y[t:t + 1]).backward()
        updated = optimizer.step()
        assert updated == [l for l, C in enumerate(periods) if (t + 1) % C == 0]
        for l, g in enumerate(groups):
            step = torch.cat([(p - b).flatten() for p, b in zip(g, before[l])])
            if l in updated:
                assert step.norm() > 0
                assert step.norm() <= rate * max_update * (1 + 1e-5)          # theta -= eta clip(g): |step| <= eta c
            else:
                assert step.norm() == 0                                      # frozen inside its chunk


def test_a_level_applies_the_mean_gradient_of_its_chunk(fast_cfg):
    """Eq 71 by hand: with the clip off, a period-4 level moves by -eta * (mean of its 4 gradients)."""
    network = cl.make_network("cms", fast_cfg, 0)
    groups = [list(level.parameters()) for level in network.levels]
    optimizer = cl.PeriodicSGD(groups, (1, 4, 16), (0.1, 0.1, 0.1), None)
    slow = groups[1]
    start = [p.detach().clone() for p in slow]
    summed = [torch.zeros_like(p) for p in slow]
    x, y = torch.randn(4, fast_cfg["dim"]), torch.randint(6, (4,))
    for t in range(4):
        network.zero_grad()
        torch.nn.functional.cross_entropy(network(x[t:t + 1]), y[t:t + 1]).backward()
        for s, p in zip(summed, slow):
            s += p.grad
        optimizer.step()
    for p, p0, s in zip(slow, start, summed):
        assert torch.allclose(p, p0 - 0.1 * s / 4, atol=1e-6)


def test_the_cms_run_records_eq_71s_counts(fast_run, fast_cfg):
    r = fast_run["learners"]["cms"]
    steps = fast_run["steps_per_task"]
    assert steps == FAST["classes_per_task"] * FAST["samples_per_class"]
    assert r["updates"] == [list(u) for u in zip(*[cl.updates_per_task(p, steps, FAST["tasks"])
                                                   for p in FAST["periods"]])]
    assert fast_run["learners"]["one-level"]["updates"] == [[steps] * 3] * FAST["tasks"]


# ---- the learners ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("base", [cl.SETTING, FAST])
def test_every_learner_has_the_cms_parameter_count_within_one_percent(base):
    cfg = cl.check_setting(base=base)
    counts = {n: cl.parameter_count(cl.make_network(n, cfg, 0)) for n in cl.LEARNERS}
    assert counts["cms"] == counts["one-level"]
    for name, count in counts.items():
        assert abs(count - counts["cms"]) / counts["cms"] < 0.01, (name, count, counts["cms"])


def test_one_level_is_the_cms_with_every_period_the_fastest(fast_cfg):
    stream = cl.continual_stream(0, fast_cfg)
    one = cl.train_learner("one-level", fast_cfg, 0, stream, rate=0.1, snapshot_before_last=True)
    flat = cl.train_learner("cms", fast_cfg, 0, stream, rate=0.1, periods=(1, 1, 1), snapshot_before_last=True)
    assert one["matrix"] == flat["matrix"] and one["updates"] == flat["updates"]
    for a, b in zip(one["model"].state_dict().values(), flat["model"].state_dict().values()):
        assert torch.equal(a, b)
    spectrum = cl.train_learner("cms", fast_cfg, 0, stream, rate=0.1)
    assert spectrum["matrix"] != one["matrix"]                                   # the periods do change something


def test_ewc_without_its_penalty_is_the_mlp(fast_cfg):
    stream = cl.continual_stream(0, fast_cfg)
    mlp = cl.train_learner("mlp", fast_cfg, 0, stream)
    assert cl.train_learner("ewc", fast_cfg, 0, stream, ewc_lambda=0.0)["matrix"] == mlp["matrix"]
    assert cl.train_learner("ewc", fast_cfg, 0, stream, ewc_lambda=100.0)["matrix"] != mlp["matrix"]


def test_restoring_a_level_touches_only_that_level_and_leaves_the_model(fast_cfg):
    stream = cl.continual_stream(0, fast_cfg)
    trained = cl.train_learner("cms", fast_cfg, 0, stream, snapshot_before_last=True)
    weights = {k: v.clone() for k, v in trained["model"].state_dict().items()}
    restored = cl.restore_level(trained, 2, stream)
    assert set(restored) == {"loss_earlier", "accuracy_earlier", "loss_last", "accuracy_last"}
    assert all(torch.equal(weights[k], v) for k, v in trained["model"].state_dict().items())
    with pytest.raises(ValueError, match="level must be in 0..2"):
        cl.restore_level(trained, 3, stream)


# ---- in-context learning -------------------------------------------------------------------------------

@pytest.mark.parametrize("readout", ["pointer", "linear"])
def test_the_icl_model_answers_each_query_from_the_pairs_alone(readout):
    torch.manual_seed(0)
    model = cl.InContextClassifier(4, 5, 12, 2, 8, readout)
    cx, cy, qx = torch.randn(2, 7, 4), torch.randint(3, (2, 7)), torch.randn(2, 3, 4)
    with torch.no_grad():
        together = model(cx, cy, qx)
        alone = torch.cat([model(cx, cy, qx[:, q:q + 1]) for q in range(3)], 1)
        assert torch.allclose(together, alone, atol=1e-5)                 # queries never see each other
        assert torch.allclose(together.exp().sum(-1), torch.ones(2, 3), atol=1e-4)
        shorter = model(cx[:, :5], cy[:, :5], qx)
        assert not torch.allclose(shorter, together)                      # ... but they read every pair
    if readout == "pointer":                                                 # a label absent from the pairs: ~0
        assert (together[..., 3:] < math.log(1e-5)).all()


def test_the_context_pairs_are_causal():
    """A pair's state depends on the pairs before it only: a change to the last pair leaves the others'."""
    torch.manual_seed(0)
    model = cl.InContextClassifier(4, 5, 12, 1, 8)
    cx, cy = torch.randn(1, 6, 4), torch.randint(5, (1, 6))
    states = {}
    model.blocks[0].register_forward_hook(lambda m, i, o: states.__setitem__("h", o))
    with torch.no_grad():
        model(cx, cy, torch.randn(1, 1, 4))
        first = states["h"][:, :5].clone()
        cx2 = cx.clone()
        cx2[0, 5] += 1.0
        model(cx2, cy, torch.randn(1, 1, 4))
    assert torch.allclose(states["h"][:, :5], first, atol=1e-6)


def test_the_icl_meta_trains_on_other_streams_only(fast_cfg):
    for seed in (0, 2, 102):
        pool = cl._meta_streams({**fast_cfg, "icl_streams": 2}, seed)
        assert pool["x"].shape[0] == 2
        first = cl.continual_stream(cl.META_SEED * (seed + 1), fast_cfg)
        assert torch.equal(pool["x"][0][:len(first[0]["x"])], first[0]["x"])
    with pytest.raises(ValueError, match="seed must be an int in"):
        cl.continual_run(cl.META_SEED, **FAST)                            # a test stream can never be a meta stream


def test_the_icl_context_is_the_last_window_pairs(fast_cfg):
    class Spy(torch.nn.Module):
        seen: list = []

        def forward(self, cx, cy, qx):
            Spy.seen.append(cy.clone())
            return torch.zeros(qx.shape[0], qx.shape[1], 6)

    stream = cl.continual_stream(0, fast_cfg)
    cl.icl_matrix(Spy(), stream, 50)
    ys = torch.cat([t["y"] for t in stream])
    assert [s.shape[1] for s in Spy.seen] == [40, 50, 50]
    assert torch.equal(Spy.seen[2][0], ys[-50:])


# ---- determinism, processes, the tuning rule -----------------------------------------------------------------

def _numbers(run):
    """A run without its wall time (the one entry that differs on a rerun)."""
    return {k: v for k, v in run.items() if k != "seconds"}


def test_a_run_is_deterministic_per_seed(fast_run):
    assert _numbers(cl.continual_run(0, **FAST)) == _numbers(fast_run)
    other = cl.continual_run(1, learners=("cms",), reference=False, **FAST)
    assert other["learners"]["cms"]["matrix"] != fast_run["learners"]["cms"]["matrix"]


def test_two_processes_give_the_numbers_of_one():
    one = cl.continual_experiment((0, 1), jobs=1, tune=False, tried=False, setting=FAST)
    two = cl.continual_experiment((0, 1), jobs=2, tune=False, tried=False, setting=FAST)
    assert [_numbers(r) for r in one["runs"]] == [_numbers(r) for r in two["runs"]]
    assert one["summary"] == two["summary"] and one["claims"] == two["claims"]


def test_the_tuning_rule_picks_the_best_mean_final_accuracy():
    sweep = cl.tuning_sweep((100,), **FAST)
    assert set(sweep["chosen"]) == set(cl.LEARNERS)
    for name in ("cms", "one-level", "mlp"):
        assert sweep["grids"][name] == list(cl.RATE_GRID)
    assert sweep["grids"]["ewc"] == list(cl.LAMBDA_GRID)
    assert sweep["grids"]["icl"] == cl.window_grid(cl.check_setting(base=FAST))
    for name, grid in sweep["grids"].items():
        assert len(grid) == 5                                             # the same grid size for every learner
        finals = sweep["final_accuracy"][name]
        assert sweep["chosen"][name] == grid[finals.index(max(finals))]
    cfg = cl.check_setting({**FAST, "rates": {**FAST["rates"], "mlp": sweep["chosen"]["mlp"]}})
    stream = cl.continual_stream(100, cfg)
    ewc = cl.train_learner("ewc", cfg, 100, stream, ewc_lambda=cl.LAMBDA_GRID[0])     # EWC at the MLP's chosen rate
    assert sweep["final_accuracy"]["ewc"][0] == pytest.approx(ewc["final_accuracy"])


def test_summary_and_claims_follow_the_rule(fast_run):
    runs = [fast_run, cl.continual_run(1, **FAST)]
    summary = cl.summarize(runs)
    cms = summary["learners"]["cms"]["final_accuracy"]
    assert cms["values"] == [r["learners"]["cms"]["final_accuracy"] for r in runs]
    assert cms["std"] == pytest.approx(abs(cms["values"][0] - cms["values"][1]) / math.sqrt(2))
    assert summary["learners"]["cms"]["matrix"]["mean"][0][0] == pytest.approx(
        np.mean([r["learners"]["cms"]["matrix"][0][0] for r in runs]))
    calls = cl.claims(summary, 2)
    assert [c["id"] for c in calls] == ["(1)", "(2)", "(3)", "(4)", "(5)"]
    for c in calls:
        a, b = summary["learners"][c["a"]]["final_accuracy"], summary["learners"][c["b"]]["final_accuracy"]
        assert c["gap"] == pytest.approx(a["mean"] - b["mean"])
        assert c["spread"] == pytest.approx(max(a["std"], b["std"]))
        assert c["verdict"] == rule(c["gap"], c["spread"], +1.0, 2)
    assert all(c["verdict"] == "not testable at this scale" for c in cl.claims(cl.summarize(runs[:1]), 1))
    only = cl.summarize([cl.continual_run(0, learners=("cms", "mlp"), reference=False, **FAST)])
    assert [c["key"] for c in cl.claims(only, 1)] == ["cms_over_mlp"]      # a claim needs both its learners


# ---- bad input ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("setting,message", [
    ({"colour": 1}, "unknown setting"),
    ({"tasks": 1}, "tasks must be >= 2"),
    ({"noise": -1.0}, "noise must be a number >= 0"),
    ({"batch": 3}, "batch (3) must divide a task's samples"),
    ({"periods": (8,)}, "at least two periods"),
    ({"periods": (8, 1, 64)}, "fastest first"),
    ({"periods": (1, 8, 60)}, "each a multiple"),
    ({"rates": {"cms": 0.1}}, "rates must give one learning rate for each of"),
    ({"rates": {"cms": 0.1, "one-level": -1.0, "mlp": 0.1}}, "rates['one-level'] must be a finite number > 0"),
    ({"ewc_lambda": -1}, "ewc_lambda must be a number >= 0"),
    ({"icl_window": 0}, "icl_window"),
    ({"variant": "nested"}, "variant must be one of"),
    ({"hidden": 2.5}, "hidden must be an int >= 1"),
    ({"max_update": 0}, "max_update"),
])
def test_bad_settings_say_what_to_change(setting, message):
    with pytest.raises(ValueError) as err:
        cl.check_setting(setting)
    assert message in str(err.value)


def test_bad_arguments_say_what_to_change(tmp_path):
    with pytest.raises(ValueError, match="learner must be one of"):
        cl.continual_run(0, learners=("cms", "lstm"), **FAST)
    with pytest.raises(ValueError, match="learner must be one of"):
        cl.train_learner("icl", cl.check_setting(base=FAST), 0, [])
    with pytest.raises(ValueError, match="seed must be an int in"):
        cl.continual_run(-1, **FAST)
    with pytest.raises(ValueError, match="seed must be an int in"):
        cl.continual_run(1.5, **FAST)
    with pytest.raises(ValueError, match="must differ from the tuning seeds"):
        cl.continual_experiment(seeds=(0, 100), setting=FAST)
    with pytest.raises(ValueError, match="seeds must be distinct"):
        cl.continual_experiment(seeds=(1, 1), setting=FAST, tune=False, tried=False)
    with pytest.raises(ValueError, match="seeds must be a non-empty list"):
        cl.continual_experiment(seeds=3, setting=FAST)
    with pytest.raises(ValueError, match="jobs must be an int >= 1"):
        cl.continual_experiment(seeds=(0,), jobs=0, setting=FAST, tune=False, tried=False)
    with pytest.raises(ValueError, match="one period and one rate per group"):
        cl.PeriodicSGD([[torch.nn.Parameter(torch.zeros(1))]], (1, 2), (0.1,), 1.0)
    with pytest.raises(ValueError, match="takes the dict returned by continual_experiment"):
        cl.format_continual({"kind": "spectrum"})
    with pytest.raises(FileNotFoundError, match="continual run --seeds 0 1 2"):
        cl.load_results(tmp_path / "nothing.json")
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"format": 1, "rows": []}))
    with pytest.raises(ValueError, match="is not a continual-learning results file"):
        cl.load_results(other)


def test_the_command_line_refuses_bad_input(capsys):
    with pytest.raises(SystemExit):
        cl.main(["run", "--fast", "--seeds", "0", "0"])
    assert "seeds must be distinct" in capsys.readouterr().err


# ---- the whole command, tiny ------------------------------------------------------------------------------------

def test_a_tiny_experiment_runs_in_seconds_and_reads_back(tmp_path, capsys):
    path = tmp_path / "continual.json"
    started = time.perf_counter()
    argv = ["run", "--fast", "--seeds", "0", "1", "--json", str(path), "--out", str(tmp_path / "runs")]
    assert cl.main(argv) == 0
    assert time.perf_counter() - started < 20
    results = cl.load_results(path)
    assert len(list((tmp_path / "runs" / "fast" / "seeds").glob("*.pkl"))) == 2     # one kept run per seed
    assert cl.main(argv) == 0                                                     # read back, not run again
    assert cl.load_results(path)["runs"] == results["runs"]
    assert results["seeds"] == [0, 1] and results["setting"]["dim"] == FAST["dim"]
    assert results["command"].startswith("python -m hope_lite.lessons.ch09_memory_benchmarks.continual run --fast")
    assert {"wall_seconds", "threads", "torch"} <= set(results["environment"])
    assert "tuning" not in results and "tried" not in results
    printed = capsys.readouterr().out
    assert cl.format_continual(results) in printed
    assert cl.main(["table", str(path)]) == 0
    text = capsys.readouterr().out
    assert cl.format_continual(results) in text
    for c in results["claims"]:
        assert f"{c['id']} {c['claim']}: {c['verdict']} (gap {c['gap']:+.3f}, spread {c['spread']:.3f})" in text


# ---- the committed results file ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def committed():
    if find_in_repository(cl.RESULTS) is None:
        pytest.skip(f"{cl.RESULTS} not committed yet")
    return cl.load_results()


def test_the_committed_file_is_the_command_on_seeds_0_1_2(committed):
    assert committed["seeds"] == [0, 1, 2]
    assert committed["command"] == cl.COMMAND
    assert committed["setting"] == json.loads(json.dumps(cl.check_setting()))
    assert committed["environment"]["threads"] == 1
    assert [r["seed"] for r in committed["runs"]] == [0, 1, 2]


def test_the_committed_setting_is_the_tuning_sweeps_choice(committed):
    sweep = committed["tuning"]
    assert sweep["seeds"] == list(cl.TUNING_SEEDS)
    for name, grid in sweep["grids"].items():
        finals = sweep["final_accuracy"][name]
        assert len(grid) == 5 and sweep["chosen"][name] == grid[finals.index(max(finals))]
        assert finals == pytest.approx([float(np.mean(v)) for v in sweep["per_seed"][name]])
    assert json.loads(json.dumps(cl.chosen_setting(sweep))) == {k: committed["setting"][k] for k in
                                                                ("rates", "ewc_lambda", "icl_window")}
    assert [(t["label"], t["learners"], t["why"]) for t in committed["tried"]] == \
        [(label, list(names), why) for label, _, names, why in cl.TRIED]


def test_the_committed_claims_follow_from_the_runs(committed):
    assert cl.summarize(committed["runs"]) == committed["summary"]
    assert cl.claims(committed["summary"], len(committed["seeds"])) == committed["claims"]
    params = {n: r["parameters"] for n, r in committed["summary"]["learners"].items()}
    assert all(abs(p - params["cms"]) / params["cms"] < 0.01 for p in params.values())


def test_the_table_prints_the_files_numbers(committed):
    text = cl.format_continual(committed)
    S = committed["summary"]["learners"]
    for name in cl.LEARNERS:
        line = next(l for l in text.splitlines() if f"(`{name}`) | {S[name]['parameters']}" in l)
        assert f"{S[name]['final_accuracy']['mean']:.3f} ± {S[name]['final_accuracy']['std']:.3f}" in line
    assert cl.format_claims(committed["claims"]) in text
    tried = cl.format_tried(committed)
    assert all(t["line"] in tried for t in committed["tried"])
