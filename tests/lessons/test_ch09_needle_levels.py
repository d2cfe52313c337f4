"""The levels ablation on the needle task (chapter 09, needle_levels.py): configurations, counts, runs, claims."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from hope_lite.lessons.ch09_memory_benchmarks import benchmarks as bm
from hope_lite.lessons.ch09_memory_benchmarks import levels as lv
from hope_lite.lessons.ch09_memory_benchmarks import needle_levels as nl
from hope_lite.lessons.results import find_in_repository
from hope_lite.models import build_model, count_parameters

pytestmark = pytest.mark.usefixtures("one_thread")

CLOCKS = ("seconds", "train_seconds", "tokens_per_second", "test_seconds", "reading_bytes_per_second")


@pytest.fixture(scope="module")
def fast_run():
    return nl.needle_levels_experiment((0, 1), configurations=("k1", "k4", "k3-256", "k3-2048"), fast=True, out=None)


def test_the_configurations_are_the_two_axes_around_section_4s_shape():
    assert set(nl.LEVELS_AXIS) | set(nl.SLOWEST_AXIS) == set(nl.CONFIGURATIONS)
    assert nl.CONFIGURATIONS["k3"] == bm.NIAH_SHAPE["cms_periods"]              # §4's HOPE is on both axes
    assert [len(nl.CONFIGURATIONS[n]) for n in nl.LEVELS_AXIS] == [1, 2, 3, 4]
    assert [nl.CONFIGURATIONS[n][-1] for n in nl.SLOWEST_AXIS] == [256, 512, 2048]
    assert all(nl.CONFIGURATIONS[n][:2] == (32, 128) for n in nl.SLOWEST_AXIS)


def test_updates_reading_counts_eq_71s_chunk_ends():
    assert nl.updates_reading((32,)) == 8192 // 32
    assert nl.updates_reading((32, 128, 2048)) == 256 + 64 + 4
    assert nl.updates_reading((32, 128, 256), 256) == 8 + 2 + 1
    assert nl.updates_reading((32, 128, 512), 256) == 8 + 2                  # the slowest never writes in training


def test_more_levels_are_narrower_levels_at_equal_parameters_as_the_docstring_says():
    hidden = [nl.level_hidden(n) for n in nl.LEVELS_AXIS]
    assert hidden == [340, 138, 70, 37]
    assert "hidden 340 for one level, 138, 70 and 37 each for two, three and four" in " ".join(nl.__doc__.split())
    counts = []
    for name in nl.CONFIGURATIONS:
        with torch.device("meta"):
            counts.append(count_parameters(build_model("hope", "small", **{**bm.NIAH_SHAPE,
                                                                           "cms_periods": nl.CONFIGURATIONS[name]})))
    assert max(counts) / min(counts) - 1 < 0.0025                         # "within 0.25 %"


def test_a_run_records_every_configuration_and_seed_and_what_the_ablation_reads(fast_run):
    runs = fast_run["runs"]
    assert [(r["configuration"], r["seed"]) for r in runs] == [
        (n, s) for s in (0, 1) for n in ("k1", "k4", "k3-256", "k3-2048")]
    family = nl.needle_family(nl.FAST["training"], nl.FAST["test_size"], nl.FAST["longest"])
    tokens = family.training.steps * family.training.batch * 256
    for r in runs:
        assert tuple(r["periods"]) == nl.CONFIGURATIONS[r["configuration"]] and r["model"] == "hope"
        assert set(r["acc"]) == set(fast_run["bins"]) == {"256", "1K"}
        assert r["long_accuracy"] == pytest.approx(sum(r["acc"][b] for b in fast_run["long_bins"])
                                                   / len(fast_run["long_bins"]))
        assert r["tokens_per_second"] == pytest.approx(tokens / r["train_seconds"])
        assert r["reading_bytes_per_second"] == pytest.approx(2 * 1024 / r["test_seconds"]["1K"])   # FAST: 2 x 1K
        assert r["updates_reading"] == nl.updates_reading(r["periods"])
        assert "variants" not in r
    # k3-2048 trains as k3-256 (the first of the two here): one training, its own test scores
    assert [r["trained_as"] for r in runs[:4]] == ["k1", "k4", "k3-256", "k3-256"]
    twin, trained = runs[3], runs[2]
    assert twin["train_loss"] == trained["train_loss"] and twin["train_seconds"] == trained["train_seconds"]


def test_training_twins_are_the_configurations_alike_below_the_training_length():
    assert nl.training_twins(list(nl.CONFIGURATIONS), 256) == {"k1": [], "k2": [], "k3": ["k3-256", "k3-2048"],
                                                                "k4": []}
    assert nl.training_twins(["k3-2048", "k3"], 256) == {"k3-2048": ["k3"]}
    assert nl.training_twins(["k3-256", "k3", "k3-2048"], 1024) == {"k3-256": [], "k3": [], "k3-2048": []}


def _trained(periods, steps=3):
    """The tiny HOPE at §4's shape with ``periods``, after ``steps`` AdamW steps on 256-byte pass-key haystacks."""
    task = nl.needle_family(nl.FAST["training"], nl.FAST["test_size"], nl.FAST["longest"]).tasks[0]
    torch.manual_seed(0)
    net = build_model("hope", "tiny", **{**bm.NIAH_SHAPE, "cms_periods": periods})
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3)
    for step in range(steps):
        batch = task.draw(2, step)
        logits, _ = net(batch["tokens"])
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), batch["targets"].flatten())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return net.state_dict()


def test_the_slowest_periods_train_the_same_model_to_the_last_bit():
    # why training_twins may train once: a level of period >= 256 never changes a 256-byte training output
    weights = {p: _trained((32, 128, p)) for p in (256, 512, 2048)}
    for p in (512, 2048):
        assert all(torch.equal(weights[256][k], weights[p][k]) for k in weights[256])
    faster = _trained((32, 64, 128))                    # a slowest level that updates inside training: not alike
    assert not all(torch.equal(weights[256][k], faster[k]) for k in faster)


def test_a_twin_scores_as_if_it_had_been_trained_alone(fast_run):
    alone = nl.needle_levels_experiment((0, 1), configurations=("k3-2048",), fast=True, out=None)
    strip = lambda r: {k: v for k, v in r.items() if k not in CLOCKS and k != "trained_as"}  # noqa: E731
    assert [r["trained_as"] for r in alone["runs"]] == ["k3-2048", "k3-2048"]
    assert [strip(r) for r in alone["runs"]] == [strip(r) for r in fast_run["runs"] if r["configuration"] == "k3-2048"]


def test_a_run_is_seeded_and_a_second_process_gives_the_same_numbers(fast_run):
    again = nl.needle_levels_experiment((0, 1), configurations=("k1", "k4", "k3-256", "k3-2048"), fast=True,
                                        out=None, jobs=2)
    strip = lambda runs: [{k: v for k, v in r.items() if k not in CLOCKS} for r in runs]  # noqa: E731
    assert strip(again["runs"]) == strip(fast_run["runs"])


def test_summary_and_claims_follow_the_rule(fast_run):
    assert nl.summarize(fast_run["runs"]) == fast_run["summary"]
    assert fast_run["claims"] == lv.claims(fast_run["summary"], 2, nl.CLAIMS)
    assert [c["id"] for c in fast_run["claims"]] == ["(1)", "(5)", "(6a)", "(6b)"]   # k2, k3 did not run
    assert next(c for c in fast_run["claims"] if c["id"] == "(6b)")["metric"] == "reading_bytes_per_second"
    counted = next(c for c in fast_run["claims"] if c["id"] == "(6a)")
    assert counted["gap"] == 324 - 352 and counted["spread"] == 0 and counted["verdict"] == "holds"


def test_the_table_prints_every_configuration_and_claim(fast_run):
    text = nl.format_needle_levels(fast_run)
    for name in ("k1", "k4", "k3-256"):
        assert f"(`{name}`)" in text
    assert "(`k3-2048`, trained as `k3-256`)" in text
    for c in fast_run["claims"]:
        assert f"{c['id']} {c['claim']}: {c['verdict']}" in text
    with pytest.raises(ValueError, match="format_needle_levels takes"):
        nl.format_needle_levels({"kind": "levels"})


@pytest.mark.parametrize("kwargs, message", [
    ({"seeds": []}, "seeds must be a non-empty list"),
    ({"seeds": (0, 0)}, "seeds must be distinct"),
    ({"seeds": (-1,)}, "seed must be an int >= 0"),
    ({"configurations": ("k9",)}, "configurations must be distinct names from"),
    ({"configurations": "k1"}, "configurations must be a non-empty list"),
    ({"jobs": 0}, "jobs must be an int >= 1"),
])
def test_bad_arguments_say_what_to_change(kwargs, message):
    with pytest.raises(ValueError, match=message):
        nl.needle_levels_experiment(**{"seeds": (0,), "fast": True, "out": None, **kwargs})


def test_the_command_line_writes_resumes_and_reads_back(tmp_path, capsys):
    path, runs = tmp_path / "nl.json", tmp_path / "runs"
    argv = ["run", "--fast", "--seeds", "0", "--configurations", "k1", "k3-256", "--json", str(path), "--out",
            str(runs)]
    assert nl.main(argv) == 0
    first = json.loads(path.read_text())
    assert first["command"].startswith("python -m hope_lite.lessons.ch09_memory_benchmarks.needle_levels run --fast")
    assert nl.main(argv) == 0                                          # read back from the saved runs
    assert json.loads(path.read_text())["runs"] == first["runs"]
    capsys.readouterr()
    assert nl.main(["table", str(path)]) == 0
    assert "(`k3-256`)" in capsys.readouterr().out


def test_the_command_line_refuses_bad_input_in_one_line():
    done = subprocess.run([sys.executable, "-m", "hope_lite.lessons.ch09_memory_benchmarks.needle_levels", "run",
                           "--fast", "--configurations", "k9"], capture_output=True, text=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "configurations must be distinct names from" in done.stderr


@pytest.fixture(scope="module")
def committed():
    if find_in_repository(nl.RESULTS) is None:
        pytest.skip(f"{nl.RESULTS} not committed yet")
    return nl.load_results()


def test_the_committed_file_is_the_command_on_seeds_0_1_2(committed):
    assert committed["command"] == nl.COMMAND and committed["seeds"] == [0, 1, 2]
    assert list(committed["configurations"]) == list(nl.CONFIGURATIONS) and committed["preset"] == "small"
    spec = bm.FAMILIES["niah"]
    assert committed["training"] == {"steps": spec.training.steps, "batch": spec.training.batch,
                                     "lr": spec.training.lr}
    assert committed["test_size"] == spec.test_size and committed["bins"] == list(bm.needle_task("pass_key").bins)


def test_the_committed_summary_and_claims_follow_from_the_runs(committed):
    assert nl.summarize(committed["runs"]) == committed["summary"]
    assert committed["claims"] == lv.claims(committed["summary"], 3, nl.CLAIMS)
    assert nl.format_needle_levels(committed)       # prints


def test_another_results_file_is_refused_with_its_command(tmp_path):
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"format": nl.FORMAT, "kind": "levels", "summary": {}}))
    with pytest.raises(ValueError, match="is not a needle levels-ablation results file .*kind 'levels'"):
        nl.load_results(other)
    with pytest.raises(FileNotFoundError, match="needle_levels run --seeds 0 1 2"):
        nl.load_results(tmp_path / "missing.json")


def test_a_configuration_whose_every_seed_diverged_has_no_claim(fast_run):
    runs = [dict(r) for r in fast_run["runs"]]
    for r in runs:
        if r["configuration"] == "k4":                       # as train_and_score reports a diverged run
            for key in ("acc", "loss", "exact", "train_loss", "train_seconds", "test_seconds", "long_accuracy",
                        "tokens_per_second", "reading_bytes_per_second"):
                r.pop(key)
            r["diverged"] = 2
    summary = nl.summarize(runs)
    assert summary["configurations"]["k4"]["diverged"] == 2 and "long_accuracy" not in summary["configurations"]["k4"]
    assert "(1)" not in [c["id"] for c in lv.claims(summary, 2, nl.CLAIMS)]
    assert "(2 diverged)" in nl.format_needle_levels({**fast_run, "summary": summary, "claims": []})


def test_the_recorded_command_leaves_out_what_only_changes_the_printing(tmp_path):
    path = tmp_path / "nl.json"
    assert nl.main(["run", "--fast", "--seeds", "0", "--configurations", "k1", "--no-progress", "--json", str(path),
                    "--out", str(tmp_path / "runs")]) == 0
    command = json.loads(path.read_text())["command"]
    assert "--no-progress" not in command and command.endswith(f"--json {path} --out {tmp_path / 'runs'}")
