"""Chapter 09 (memory benchmarks): the families, the shared task trainer, the claims and their rule, the command
line, and the committed results files against the code that writes them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from hope_lite.data.formal import LANGUAGES
from hope_lite.lessons.ch09_memory_benchmarks import benchmarks as bm
from hope_lite.lessons.task_training import TaskTraining, score, train_on_task
from hope_lite.models import MODELS, build_model, count_parameters

pytestmark = pytest.mark.usefixtures("one_thread")

ROOT = Path(__file__).resolve().parents[2]
QUICK = TaskTraining(steps=2, batch=4, lr=1e-3)
TINY_FORMAL = bm.Family("formal", "test", (bm.FAMILIES["formal"].task("parity"), bm.FAMILIES["formal"].task("anbn")),
                        QUICK, test_size=8, compared=("transformer",))


def quiet(_: str) -> None:
    pass


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    results = bm.run_family(TINY_FORMAL, (0, 1), models=("hope", "transformer"), preset="tiny", out=out,
                            json_path=out / "formal.json", log=quiet)
    return results, out


# ---- the families -----------------------------------------------------------------------------------


def test_the_families_hold_the_papers_tasks_in_order():
    assert [t.name for t in bm.FAMILIES["formal"].tasks] == list(LANGUAGES)
    assert [t.name for t in bm.FAMILIES["mad"].tasks] == ["in_context_recall", "fuzzy_recall", "selective_copying",
                                                          "compression", "memorization"]
    mad = {t.name: t.paper["hope"]["test"] for t in bm.FAMILIES["mad"].tasks}
    assert mad == {"in_context_recall": 100.0, "fuzzy_recall": 52.1, "selective_copying": 99.7, "compression": 51.2,
                   "memorization": 85.2}                                   # paper Table 4 (docs/paper.md §7.6)
    assert bm.FAMILIES["formal"].task("parity").paper["transformer"] == {"in-length": 46.4, "longer": 0.0}
    with pytest.raises(ValueError, match="no task 'nope'"):
        bm.FAMILIES["mad"].task("nope")


def test_the_longer_bin_is_at_least_twice_the_training_length():
    for task in bm.FAMILIES["formal"].tasks:
        assert task.bins["longer"][0] >= 2 * task.train[1] and task.bins["in-length"] == task.train


@pytest.mark.parametrize("family", sorted(bm.FAMILIES))
def test_every_task_draws_what_its_sequences_promise(family):
    for task in bm.FAMILIES[family].tasks:
        batch = task.draw(6, seed=3)
        assert batch["tokens"].shape == batch["targets"].shape and (batch["targets"] != -100).any()
        assert int(batch["tokens"].max()) < 256                             # the byte models read every id
        assert torch.equal(batch["tokens"], task.draw(6, seed=3)["tokens"])
        for name in task.bins:
            test = task.draw(4, seed=5, bin=None if family == "mad" else name)
            assert test["tokens"].shape[0] == 4
    longer = bm.FAMILIES["formal"].task("parity").draw(4, 0, "longer")
    assert longer["tokens"].shape[1] == 65                                  # 64 symbols and the query


def test_every_model_of_the_shape_has_the_same_budget_and_periods_inside_the_sequences():
    with torch.device("meta"):
        counts = [count_parameters(build_model(m, "small", **bm.shape_of(m))) for m in MODELS]
    assert max(counts) / min(counts) < 1.005
    assert bm.shape_of("transformer") == {"depth": 2}
    assert bm.shape_of("hope") == bm.SHAPE and bm.shape_of("titans") == {"depth": 2, "chunk_size": 8}
    assert bm.shape_of("hope-attention") == {"depth": 2, "cms_periods": bm.SHAPE["cms_periods"]}
    assert max(bm.SHAPE["cms_periods"]) <= 128 and bm.SHAPE["chunk_size"] < 17      # updates inside the sequences


# ---- the shared task trainer ------------------------------------------------------------------------


def test_train_on_task_is_seeded_and_scores_the_asked_positions_only():
    task = bm.FAMILIES["formal"].task("parity")
    test = task.draw(8, 99, "in-length")
    first = train_on_task("transformer", {}, 0, lambda n, s: task.draw(n, s), {"t": test}, QUICK, preset="tiny")
    again = train_on_task("transformer", {}, 0, lambda n, s: task.draw(n, s), {"t": test}, QUICK, preset="tiny")
    assert first["acc"] == again["acc"] and first["loss"] == again["loss"]
    assert set(first) == {"acc", "loss", "train_loss", "seconds", "train_seconds", "test_seconds"}
    assert 0 < first["train_seconds"] <= first["seconds"] and set(first["test_seconds"]) == {"t"}
    # a one-answer test: accuracy is a multiple of 1/8
    assert abs(first["acc"]["t"] * 8 - round(first["acc"]["t"] * 8)) < 1e-9


def test_a_variant_reads_the_tests_with_the_trained_weights_and_must_share_their_shapes():
    task = bm.FAMILIES["formal"].task("parity")
    test = {"t": task.draw(8, 99, "in-length")}
    base = {"cms_periods": (8, 32)}
    same = train_on_task("hope", base, 0, lambda n, s: task.draw(n, s), test, QUICK, preset="tiny",
                         variants={"itself": base})
    assert {k: same["variants"]["itself"][k] for k in ("acc", "loss")} == {k: same[k] for k in ("acc", "loss")}
    with pytest.raises(ValueError, match="variant 'narrow' .* does not have the trained model's parameters"):
        train_on_task("hope", base, 0, lambda n, s: task.draw(n, s), test, QUICK, preset="tiny",
                      variants={"narrow": {"cms_periods": (8,)}})


def test_score_reads_in_batches_with_the_same_numbers():
    torch.manual_seed(0)
    net = build_model("transformer", "tiny")
    test = bm.FAMILIES["mad"].task("compression").draw(10, 1)
    whole, parts = score(net, test, eval_batch=10), score(net, test, eval_batch=3)
    assert whole["acc"] == parts["acc"] and whole["loss"] == pytest.approx(parts["loss"], rel=1e-5)


def test_a_diverging_task_run_says_at_which_step():
    task = bm.FAMILIES["formal"].task("parity")
    result = train_on_task("transformer", {}, 0, lambda n, s: task.draw(n, s), {"t": task.draw(4, 9)},
                           TaskTraining(steps=3, batch=4, lr=1e30), preset="tiny")
    assert set(result) == {"diverged", "seconds"} and 1 <= result["diverged"] <= 3


# ---- a family run -----------------------------------------------------------------------------------


def test_a_family_run_writes_every_task_model_seed_and_its_claims(tiny_run):
    results, out = tiny_run
    assert results["kind"] == "benchmark" and results["seeds"] == [0, 1]
    assert len(results["runs"]) == 2 * 2 * 2
    assert [(r["task"], r["bin"], r["model"]) for r in results["summary"]][:4] == [
        ("parity", "in-length", "hope"), ("parity", "in-length", "transformer"), ("parity", "longer", "hope"),
        ("parity", "longer", "transformer")]
    assert [(c["task"], c["bin"], c["against"]) for c in results["claims"]] == [
        ("parity", "in-length", "transformer"), ("parity", "longer", "transformer"),
        ("anbn", "in-length", "transformer"), ("anbn", "longer", "transformer")]
    for c in results["claims"]:
        assert c["call"] in ("holds", "does not hold", "not testable at this scale")
    assert json.loads((out / "formal.json").read_text())["claims"] == results["claims"]
    assert results["command"].startswith("python -m hope_lite.lessons.ch09_memory_benchmarks.benchmarks formal "
                                         "--seeds 0 1 --models hope transformer")


def test_a_second_run_trains_nothing_and_gives_the_same_numbers(tiny_run):
    results, out = tiny_run
    said = []
    again = bm.run_family(TINY_FORMAL, (0, 1), models=("hope", "transformer"), preset="tiny", out=out, log=said.append)
    assert said == [] and again["runs"] == results["runs"]


def test_two_jobs_give_the_numbers_of_one(tiny_run):
    results, _ = tiny_run
    parallel = bm.run_family(TINY_FORMAL, (0, 1), models=("hope", "transformer"), preset="tiny", out=None, jobs=2,
                             log=print)
    clocks = ("seconds", "train_seconds", "test_seconds")
    strip = [{k: v for k, v in r.items() if k not in clocks} for r in results["runs"]]
    assert [{k: v for k, v in r.items() if k not in clocks} for r in parallel["runs"]] == strip


def test_the_claims_follow_the_rule():
    def summary(hope, other):
        return [{"task": "t", "bin": "test", "model": m, "acc": {str(i): v for i, v in enumerate(vals)},
                 "acc_mean": sum(vals) / len(vals), "acc_std": float(torch.tensor(vals, dtype=torch.float64).std()),
                 "diverged": 0}
                for m, vals in (("hope", hope), ("transformer", other))]
    task = {"name": "t", "label": "t", "bins": {"test": None}, "paper": {"hope": {"test": 90.0}}}
    calls = []
    for hope, other in (([80, 81, 82], [60, 61, 62]), ([60, 61, 62], [80, 81, 82]), ([60, 70, 80], [65, 70, 75])):
        calls.append(bm.claims({"tasks": [task], "summary": summary(hope, other)}, ("transformer",))[0]["call"])
    assert calls == ["holds", "does not hold", "not testable at this scale"]
    tie = {**task, "paper": {"hope": {"test": 100.0}, "transformer": {"test": 100.0}}}
    assert bm.claims({"tasks": [tie], "summary": summary([99, 100, 100], [100, 100, 99])}, ("transformer",))[0][
        "call"] == "holds"
    assert bm.claims({"tasks": [tie], "summary": summary([60, 61, 62], [100, 100, 99])}, ("transformer",))[0][
        "call"] == "does not hold"


def test_bad_input_is_refused_with_what_to_change():
    with pytest.raises(ValueError, match="family must be one of"):
        bm.run_family("babilong", out=None)
    with pytest.raises(ValueError, match="seeds must be distinct"):
        bm.run_family("formal", (0, 0), out=None)
    with pytest.raises(ValueError, match="models must be among"):
        bm.run_family("formal", models=("hope", "mamba"), out=None)
    with pytest.raises(ValueError, match="must include 'hope'"):
        bm.run_family("formal", models=("transformer",), out=None)
    with pytest.raises(ValueError, match="jobs must be an int >= 1"):
        bm.run_family("formal", jobs=0, out=None)
    with pytest.raises(ValueError, match="format_table takes"):
        bm.format_table({"kind": "ablation"})


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hope_lite.lessons.ch09_memory_benchmarks.benchmarks", *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


def test_the_command_line_refuses_bad_input_in_one_line():
    bad = run_cli("formal", "--tasks", "nope", "--steps", "1")
    assert bad.returncode == 2 and "no task 'nope'" in bad.stderr and "Traceback" not in bad.stderr
    bad = run_cli("mad", "--lr", "-1")
    assert bad.returncode == 2 and "--lr must be a positive number" in bad.stderr


def test_the_command_line_trains_a_family_and_prints_its_table(tmp_path):
    done = run_cli("formal", "--tasks", "aa", "--models", "hope", "transformer", "--seeds", "0", "--steps", "1",
                   "--batch", "2", "--preset", "tiny", "--out", str(tmp_path), "--json", str(tmp_path / "f.json"),
                   "--no-progress")
    assert done.returncode == 0, done.stderr
    assert "| (aa)* | in-length |" in done.stdout and "HOPE vs Transformer++" in done.stdout
    table = run_cli("table", str(tmp_path / "f.json"))
    assert table.returncode == 0 and "| (aa)* | longer |" in table.stdout


# ---- the committed results --------------------------------------------------------------------------


@pytest.mark.parametrize("family", sorted(bm.RESULTS))
def test_the_committed_results_are_what_the_code_computes_from_their_runs(family):
    results = bm.load_results(family)
    spec = bm.FAMILIES[family]
    assert results["training"] == {"steps": spec.training.steps, "batch": spec.training.batch, "lr": spec.training.lr,
                                   "eval_batch": spec.training.eval_batch}
    assert results["shape"] == json.loads(json.dumps(spec.shape or bm.SHAPE)) and results["seeds"] == [0, 1, 2]
    assert results["models"] == list(MODELS) and [t["name"] for t in results["tasks"]] == [t.name for t in spec.tasks]
    assert len(results["runs"]) == len(spec.tasks) * len(MODELS) * 3
    assert bm.summarize(results) == results["summary"]
    assert bm.claims(results, spec.compared) == results["claims"]
    assert results["command"] == f"python -m hope_lite.lessons.ch09_memory_benchmarks.benchmarks {family} " \
                                 f"--seeds 0 1 2 --jobs 2 --json {bm.RESULTS[family]}"
    # the budget: each family at most about 45 minutes on the 2-core development CPU
    assert results["environment"]["wall_seconds"] <= 45 * 60


def test_a_missing_results_file_names_the_command_that_writes_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="benchmarks mad --seeds 0 1 2"):
        bm.load_results("mad", path=tmp_path / "none.json")
    with pytest.raises(ValueError, match="family must be one of"):
        bm.load_results("babilong")


# ---- reading long sequences as a stream, and whole-answer scores (the needle family's machinery) ------------


@pytest.mark.parametrize("model", ["hope", "transformer"])
def test_reading_a_test_in_chunks_with_the_state_carried_gives_the_numbers_of_one_pass(model):
    torch.manual_seed(0)
    net = build_model(model, "tiny")
    test = bm.needle_task("number").draw(3, 7, "256")
    whole, chunked = score(net, test, eval_batch=2), score(net, test, eval_batch=2, chunk=48)
    assert whole["acc"] == chunked["acc"] and whole["exact"] == chunked["exact"]
    assert whole["loss"] == pytest.approx(chunked["loss"], rel=1e-4)
    assert 0.0 <= whole["exact"] <= whole["acc"] <= 1.0


def test_a_needle_family_scores_whole_answers_read_as_a_stream(tmp_path):
    task = bm.Task("niah", "pass_key", "pass key", {"256": (256, 256), "512": (512, 512)}, {}, train=(256, 256))
    family = bm.Family("niah", "test", (task,), QUICK, test_size=4, compared=("transformer",), eval_chunk=128,
                       metric="exact")
    results = bm.run_family(family, (0, 1), models=("hope", "transformer"), preset="tiny", out=tmp_path, log=quiet)
    assert results["metric"] == "exact" and results["eval_chunk"] == 128
    for run in results["runs"]:
        assert set(run["exact"]) == {"256", "512"}
        assert all(run["exact"][b] <= run["acc"][b] for b in run["exact"])
    for row in results["summary"]:                 # whole answers of 4 sequences: multiples of 25 %
        assert all(abs(v / 25 - round(v / 25)) < 1e-9 for v in row["acc"].values())
    assert bm.summarize(results) == results["summary"]
    again = bm.run_family(family, (0, 1), models=("hope", "transformer"), preset="tiny", out=tmp_path, log=quiet)
    assert again["runs"] == results["runs"]        # read back: the reading settings are part of a run's identity
    assert [t.name for t in (bm.needle_task(k) for k in ("pass_key", "number", "word"))] == ["pass_key", "number", "word"]
    assert bm.needle_task("pass_key").draw(2, 0, "8K")["tokens"].shape == (2, 8192)


def test_a_shared_family_trains_one_model_per_seed_on_every_task_in_turn(tmp_path):
    tasks = tuple(bm.Task("niah", kind, kind, {"256": (256, 256), "512": (512, 512)}, {}, train=(256, 256))
                  for kind in ("pass_key", "number"))
    family = bm.Family("niah", "test", tasks, QUICK, test_size=2, compared=("transformer",), eval_chunk=256,
                       metric="exact", shape={"depth": 1, "chunk_size": 32, "projection_chunk_size": 32,
                                              "cms_periods": (32, 64, 128)}, shared=True)
    said = []
    results = bm.run_family(family, (0, 1), models=("hope", "transformer"), preset="tiny", out=tmp_path,
                            log=said.append)
    assert len(said) == 4 and results["shared"] is True                # 2 models x 2 seeds, not x 2 tasks
    assert results["shape"]["chunk_size"] == 32                        # the family's own shape
    assert [(r["task"], r["model"], r["seed"]) for r in results["runs"]] == \
        [(t, m, s) for t in ("pass_key", "number") for m in ("hope", "transformer") for s in (0, 1)]
    for model in ("hope", "transformer"):
        for seed in (0, 1):                                            # one model: one loss, one time, two scores
            pair = [r for r in results["runs"] if r["model"] == model and r["seed"] == seed]
            assert pair[0]["seconds"] == pair[1]["seconds"] and pair[0]["train_loss"] == pair[1]["train_loss"]
            assert pair[0]["shared"] and set(pair[0]["exact"]) == {"256", "512"}
    once = {(r["model"], r["seed"]): r["seconds"] for r in results["runs"]}
    assert results["environment"]["compute_seconds"] == pytest.approx(sum(once.values()), abs=0.2)
    said.clear()
    again = bm.run_family(family, (0, 1), models=("hope", "transformer"), preset="tiny", out=tmp_path,
                          log=said.append)
    assert again["runs"] == results["runs"] and said == []             # read back from the saved runs
    # the batches turn through the tasks with the step: train_on_task's data seeds are seed * 100_003 + step
    assert [(0 * 100_003 + step) % 2 for step in range(4)] == [0, 1, 0, 1]


def test_the_needle_family_is_read_as_a_stream_and_scored_on_whole_answers():
    niah = bm.FAMILIES["niah"]
    assert [t.name for t in niah.tasks] == ["pass_key", "number", "word"] and niah.shared and niah.metric == "exact"
    assert list(niah.tasks[0].bins) == ["256", "1K", "2K", "4K", "8K"] and niah.eval_chunk == bm.NIAH_EVAL_CHUNK
    assert all(length % niah.eval_chunk == 0 or length < niah.eval_chunk
               for t in niah.tasks for length, _ in t.bins.values())
    hope = bm.shape_of("hope", niah.shape)
    with torch.device("meta"):                                         # equal budgets at the needle shape too
        counts = [count_parameters(build_model(m, "small", **bm.shape_of(m, niah.shape))) for m in MODELS]
    assert max(counts) / min(counts) < 1.005 and hope["cms_periods"][-1] <= 8192


def test_a_needle_table_shows_whole_answers_or_answer_bytes(tmp_path):
    family = bm.stand_in("niah", ["pass_key"], QUICK, test_size=2, longest=256)
    results = bm.run_family(family, (0, 1), models=("hope", "transformer"), preset="tiny", out=None, log=quiet)
    whole, per_byte = bm.format_table(results), bm.format_table(results, metric="acc")
    assert whole == bm.format_table(results, metric="exact")
    byte_rows = {(r["model"]): r["acc_mean"] for r in bm.summarize(results, "acc")}
    assert byte_rows["hope"] == pytest.approx(100 * np.mean([r["acc"]["256"] for r in results["runs"]
                                                            if r["model"] == "hope"]))
    assert f"{byte_rows['hope']:.1f} ± " in per_byte.splitlines()[2]
    with pytest.raises(ValueError, match="metric must be 'acc'"):
        bm.format_table(results, metric="bytes")
