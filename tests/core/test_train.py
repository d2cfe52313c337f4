"""hope_lite.train: the loss falls, exact resume, checkpoints, metrics, the command line, DDP and bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from hope_lite.models import MODELS, build_model
from hope_lite.train import (CHECKPOINT, CHECKPOINT_FORMAT, CONFIG, METRICS, TrainConfig, evaluate, load_checkpoint,
                             load_trained, train)

ROOT = Path(__file__).resolve().parents[2]


def small_run(**kw) -> TrainConfig:
    """A run that takes a second or two: tiny preset, short windows, few steps."""
    base = dict(preset="tiny", steps=6, batch=2, context=32, lr=3e-3, warmup=2, eval_every=3, eval_bytes=256,
                checkpoint_every=2)
    return TrainConfig(**{**base, **kw})


def files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


# -- training works ------------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_the_training_loss_falls_on_the_offline_corpus(model):
    result = train(small_run(model=model, steps=40, lr=1e-2, warmup=5, eval_every=40), progress=False,
                   log=lambda _: None)
    losses = result.losses()
    assert len(losses) == 40 and all(torch.isfinite(torch.tensor(losses)))
    assert sum(losses[-5:]) / 5 < 0.85 * sum(losses[:5]) / 5
    (val,) = result.validation()
    assert val["step"] == 40 and val["val_bpb"] < 7.0          # better than uniform bytes (8 bits)


def test_metrics_and_checkpoint_hold_what_the_docstring_says(tmp_path):
    out = tmp_path / "run"
    result = train(small_run(model="hope"), out, progress=False, log=lambda _: None)
    rows = [json.loads(line) for line in (out / METRICS).read_text().splitlines()]
    assert rows == result.metrics
    assert [r["step"] for r in rows if r["kind"] == "train"] == [1, 2, 3, 4, 5, 6]
    assert [r["step"] for r in rows if r["kind"] == "validation"] == [3, 6]
    val = rows[-1]
    assert val["val_ppl"] == pytest.approx(torch.tensor(val["val_loss"]).exp().item())
    assert val["val_bpb"] == pytest.approx(val["val_loss"] / torch.log(torch.tensor(2.0)).item())
    ckpt = torch.load(out / CHECKPOINT, weights_only=True)
    assert ckpt["step"] == 6 and set(ckpt["rng"]) >= {"torch", "data", "python", "numpy"}
    assert {"model", "optimizer", "scheduler", "memory", "config"} <= set(ckpt)
    assert json.loads((out / CONFIG).read_text())["model"] == "hope"
    net, config = load_trained(out, model="hope", preset="tiny")
    for (name, a), b in zip(net.state_dict().items(), result.model.state_dict().values()):
        assert torch.equal(a, b), name
    assert config == result.config


def test_evaluate_scores_every_byte_after_each_window_start():
    torch.manual_seed(0)
    net = build_model("transformer", "tiny")
    data = torch.randint(0, 256, (1000,))
    a = evaluate(net, data, 32, max_bytes=320)
    b = evaluate(net, data[:321], 32)
    assert a == b and a["val_bpb"] > 7.0                      # an untrained model is near uniform
    with pytest.raises(ValueError, match="fewer than one window"):
        evaluate(net, data[:20], 32)


# -- exact resume ------------------------------------------------------------------------------


@pytest.mark.parametrize("model, carry", [("hope", False), ("transformer", False), ("hope", True),
                                          ("titans", True)])
def test_resuming_gives_bit_for_bit_the_run_that_never_stopped(tmp_path, model, carry):
    config = small_run(model=model, steps=7, checkpoint_every=100, carry_memory=carry)
    whole = train(config, tmp_path / "whole", progress=False, log=lambda _: None)
    first = train(config, tmp_path / "split", stop_at=3, progress=False, log=lambda _: None)
    assert first.step == 3 and len(first.losses()) == 3
    rest = train(config, tmp_path / "split", resume=True, progress=False, log=lambda _: None)
    assert rest.step == 7
    assert rest.losses() == whole.losses()                      # exact float equality
    assert [m for m in rest.metrics if m["kind"] == "validation"] == whole.validation()
    for (name, a), b in zip(whole.model.state_dict().items(), rest.model.state_dict().values()):
        assert torch.equal(a, b), name
    saved = [json.loads(line)["step"] for line in (tmp_path / "split" / METRICS).read_text().splitlines()]
    assert saved == [m["step"] for m in whole.metrics]


def test_carried_memory_is_in_the_checkpoint(tmp_path):
    train(small_run(model="titans", steps=2, carry_memory=True), tmp_path / "r", progress=False, log=lambda _: None)
    memory = torch.load(tmp_path / "r" / CHECKPOINT, weights_only=True)["memory"]
    assert isinstance(memory, list) and len(memory) == 2          # one state per block
    stateless = tmp_path / "s"
    train(small_run(model="titans", steps=2), stateless, progress=False, log=lambda _: None)
    assert torch.load(stateless / CHECKPOINT, weights_only=True)["memory"] is None


# -- bad input: clear errors, nothing overwritten ---------------------------------------------------


@pytest.mark.parametrize("kwargs, word", [
    ({"corpus": "wikipedia"}, "corpus"), ({"model": "gpt"}, "model"), ({"preset": "huge"}, "preset"),
    ({"steps": 0}, "steps"), ({"steps": -3}, "steps"), ({"batch": 0}, "batch"), ({"context": 0}, "context"),
    ({"lr": 0.0}, "lr"), ({"lr": float("nan")}, "lr"), ({"weight_decay": -0.1}, "weight_decay"),
    ({"model": "transformer", "carry_memory": True}, "carry_memory"),
    ({"model": "hope-attention", "carry_memory": True}, "KV cache"),
])
def test_bad_settings_name_what_to_change(kwargs, word):
    with pytest.raises(ValueError, match=word):
        TrainConfig(**kwargs)


def test_an_offline_fallback_is_recorded_as_the_corpus_read(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")          # no download even where the hub is reachable
    logs = []
    train(small_run(model="transformer", steps=1, corpus="wikitext2"), tmp_path / "r", progress=False,
          log=logs.append)
    saved = json.loads((tmp_path / "r" / CONFIG).read_text())
    assert saved["corpus"] == "wikitext2" and saved["corpus_loaded"] == "pydoc"
    assert any("pydoc" in line for line in logs)


def test_a_directory_holding_another_run_is_never_overwritten(tmp_path):
    out = tmp_path / "run"
    train(small_run(model="hope", steps=2), out, progress=False, log=lambda _: None)
    before = files(out)
    quiet = {"progress": False, "log": lambda _: None}
    with pytest.raises(ValueError, match="different run.*model: 'hope' there, 'transformer' here"):
        train(small_run(model="transformer", steps=2), out, **quiet)
    with pytest.raises(ValueError, match="different run.*preset"):
        train(small_run(model="hope", steps=2, preset="small"), out, resume=True, **quiet)
    with pytest.raises(ValueError, match="already holds this run; pass --resume"):
        train(small_run(model="hope", steps=2), out, **quiet)
    with pytest.raises(ValueError, match="checkpoint of model 'hope', not 'titans'"):
        load_trained(out, model="titans")
    with pytest.raises(ValueError, match="checkpoint of preset 'tiny', not 'small'"):
        load_trained(out, preset="small")
    assert files(out) == before
    with pytest.raises(ValueError, match="holds no run to resume"):
        train(small_run(), tmp_path / "empty", resume=True, **quiet)
    with pytest.raises(ValueError, match="stop_at"):
        train(small_run(steps=4), tmp_path / "x", stop_at=5, **quiet)
    with pytest.raises(ValueError, match="does not exist"):
        load_trained(tmp_path / "nowhere")


# -- command line and several processes ---------------------------------------------------------------

CLI = [sys.executable, "-m", "hope_lite.train", "--preset", "tiny", "--context", "32", "--eval-bytes", "256",
       "--no-progress"]


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=600)


def test_the_command_line_writes_json_lines_and_refuses_bad_input(tmp_path):
    out = tmp_path / "cli"
    done = run_cli("--model", "titans", "--steps", "3", "--batch", "2", "--eval-every", "3", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "titans (tiny): step 3 of 3" in done.stdout
    rows = [json.loads(line) for line in (out / METRICS).read_text().splitlines()]
    assert [r["kind"] for r in rows] == ["train"] * 3 + ["validation"]
    for args, word in ((["--steps", "0"], "steps must be an int >= 1"), (["--corpus", "nope"], "corpus must be one of"),
                       (["--model", "gpt"], "model must be one of"), (["--preset", "huge"], "preset must be one of"),
                       (["--model", "hope"], "different run")):
        bad = run_cli("--steps", "3", "--batch", "2", "--out", str(out), *args)
        assert bad.returncode == 2 and word in bad.stderr, (args, bad.stderr)


def test_two_processes_of_batch_b_follow_one_process_of_batch_2b(tmp_path):
    common = ["--model", "hope", "--steps", "20", "--eval-every", "20", "--checkpoint-every", "20"]
    one = run_cli(*common, "--batch", "4", "--out", str(tmp_path / "one"))
    assert one.returncode == 0, one.stderr
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                          "-m", "hope_lite.train", *CLI[3:], *common, "--batch", "2", "--out", str(tmp_path / "two")],
                         capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert two.returncode == 0, two.stderr[-3000:]
    losses = {}
    for name in ("one", "two"):
        rows = [json.loads(line) for line in (tmp_path / name / METRICS).read_text().splitlines()]
        losses[name] = torch.tensor([r["loss"] for r in rows if r["kind"] == "train"], dtype=torch.float64)
    assert len(losses["one"]) == len(losses["two"]) == 20
    assert (losses["one"] - losses["two"]).abs().max().item() <= 1e-5
    assert json.loads((tmp_path / "two" / CONFIG).read_text())["world_size"] == 2
    shutil.rmtree(tmp_path)


class _Planted:
    """An object whose unpickling makes a directory: what a crafted checkpoint could smuggle in."""

    def __init__(self, target: Path) -> None:
        self.target = str(target)

    def __reduce__(self):
        return os.mkdir, (self.target,)


@pytest.mark.filterwarnings("ignore:.*has no checkpoint.pt.sha256")
def test_a_checkpoint_with_planted_code_is_refused_and_nothing_runs(tmp_path):
    target = tmp_path / "planted"
    run = tmp_path / "run"
    run.mkdir()
    torch.save({"format": CHECKPOINT_FORMAT, "step": 1, "evil": _Planted(target)}, run / CHECKPOINT)
    with pytest.raises(ValueError, match="holds more than tensors and plain data"):
        load_trained(run)
    with pytest.raises(ValueError, match="holds more than tensors and plain data"):
        load_checkpoint(run / CHECKPOINT)
    assert not target.exists()


@pytest.mark.filterwarnings("ignore:.*has no checkpoint.pt.sha256")
def test_a_checkpoint_of_another_format_is_refused_by_name(tmp_path):
    torch.save({"format": 1, "step": 3}, tmp_path / CHECKPOINT)
    with pytest.raises(ValueError, match="not a hope_lite checkpoint of format 2"):
        load_checkpoint(tmp_path / CHECKPOINT)


# -- model overrides (the ablation switches) -----------------------------------------------------------


def test_overrides_build_the_switched_model_and_resume_bit_for_bit(tmp_path):
    """An override reaches the model, is part of the run's identity on disk, and a run with one resumes exactly."""
    config = small_run(model="hope", overrides={"static_projections": ["q"], "cms": False})
    assert config.overrides == {"cms": False, "static_projections": ("q",)}      # canonical: sorted, tuples
    whole = train(config, tmp_path / "whole", progress=False, log=lambda _: None)
    assert whole.model.blocks[0].cms is None
    saved = json.loads((tmp_path / "whole" / CONFIG).read_text())
    assert saved["overrides"] == {"cms": False, "static_projections": ["q"]}
    train(config, tmp_path / "cut", stop_at=3, progress=False, log=lambda _: None)
    resumed = train(config, tmp_path / "cut", resume=True, progress=False, log=lambda _: None)
    assert resumed.losses() == whole.losses()
    model, loaded = load_trained(tmp_path / "whole")
    assert loaded == config and model.blocks[0].cms is None
    plain = small_run(model="hope")
    with pytest.raises(ValueError, match="different run.*overrides"):
        train(plain, tmp_path / "whole", resume=True, progress=False, log=lambda _: None)


def test_a_run_written_before_overrides_existed_still_resumes(tmp_path):
    config = small_run(model="transformer")
    train(config, tmp_path / "run", stop_at=2, progress=False, log=lambda _: None)
    saved = json.loads((tmp_path / "run" / CONFIG).read_text())
    del saved["overrides"]
    (tmp_path / "run" / CONFIG).write_text(json.dumps(saved))
    assert train(config, tmp_path / "run", resume=True, progress=False, log=lambda _: None).step == config.steps


@pytest.mark.parametrize("overrides, words", [
    ({"cms": False}, "model 'transformer' has no cms"),
    ({"no_such_field": 1}, "unknown config field"),
    ({"inner_rule": "newton"}, "inner_rule"),
    ({"cms": "False"}, "cms must be True or False"),
    ({"channel_hidden": 64}, "channel_hidden is solved"),
    (["cms"], "overrides must be a dict"),
])
def test_bad_overrides_are_refused_when_the_config_is_made(overrides, words):
    model = "transformer" if overrides == {"cms": False} else "hope"
    with pytest.raises(ValueError, match=words):
        small_run(model=model, overrides=overrides)


def test_the_command_line_takes_overrides_as_json_values(tmp_path):
    from hope_lite.train import parse_overrides
    assert parse_overrides(["cms=false", "inner_rule=dot", 'static_projections=["k"]', "retention=False"]) == \
        {"cms": False, "inner_rule": "dot", "static_projections": ["k"], "retention": False}
    done = run_cli("--model", "hope", "--preset", "tiny", "--steps", "2", "--batch", "2", "--context", "16",
                   "--eval-bytes", "64", "--no-progress", "--override", "retention=false", "--out", str(tmp_path / "r"))
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "r" / CONFIG).read_text())["overrides"] == {"retention": False}
    bad = run_cli("--model", "hope", "--preset", "tiny", "--override", "cms", "--out", str(tmp_path / "b"))
    assert bad.returncode == 2 and "FIELD=VALUE" in bad.stderr


def test_a_diverging_run_stops_with_a_message_before_its_weights_turn_nan():
    with pytest.raises(FloatingPointError, match="lower lr"):
        train(small_run(model="hope", lr=1e12, warmup=0, steps=6), progress=False, log=lambda _: None)
