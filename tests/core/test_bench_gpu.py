"""The prepared GPU script: its steps, its dry run's sizes, time limits that hold, bad arguments."""

from __future__ import annotations

import sys

import pytest
import torch

from hope_lite import bench_gpu


def test_the_gpu_steps_measure_what_the_readme_promises():
    steps = bench_gpu.steps("cuda")
    commands = [" ".join(cmd) for _, cmd, _ in steps]
    assert any("-k cuda" in c for c in commands)                                  # the CUDA tests
    models = next(c for c in commands if "--models" in c)
    assert "--bf16" in models and "16384" in models and "--device cuda" in models
    assert any("--compile" in c and "hope" in c for c in commands)
    assert sum(limit for _, _, limit in steps) <= 600                            # under ten minutes in all


def test_the_dry_run_takes_the_same_steps_at_tiny_sizes_on_the_cpu():
    gpu, dry = bench_gpu.steps("cuda"), bench_gpu.steps("cpu")
    assert [title for title, _, _ in gpu] == [title for title, _, _ in dry]
    for _, cmd, _ in dry[1:]:
        if "hope_lite.bench" in cmd:
            assert cmd[cmd.index("--device") + 1] == "cpu"
    assert "tiny" in next(cmd for _, cmd, _ in dry if "--models" in cmd)


def test_a_step_past_its_limit_is_reported_and_the_next_one_runs(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(bench_gpu, "steps", lambda device: [
        ("slow", [sys.executable, "-c", "import time; print('started', flush=True); time.sleep(30)"], 2),
        ("quick", [sys.executable, "-c", "print('hello')"], 30)])
    log = tmp_path / "gpu.txt"
    assert bench_gpu.main(["--device", "cpu", "--log", str(log)]) == 1
    text = log.read_text()
    assert "NOT FINISHED within 2 s" in text and "hello" in text and "1 of 2 steps ok" in text
    assert text == capsys.readouterr().out


def test_bad_devices_are_refused():
    with pytest.raises(SystemExit):
        bench_gpu.main(["--device", "tpu"])
    if not torch.cuda.is_available():            # the GPU run on a machine without one: says what to do
        with pytest.raises(SystemExit):
            bench_gpu.main(["--device", "cuda"])


def test_the_readme_quotes_the_committed_dry_run():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    log = (root / "results" / "bench-gpu-dry-run.txt").read_text()
    ok, total, seconds = re.search(r"(\d+) of (\d+) steps ok, (\d+) s in all", log).groups()
    assert len(bench_gpu.steps("cpu")) == int(total)
    readme = " ".join((root / "README.md").read_text().split())
    assert f"{ok} of {total} steps ran in {seconds} s here" in readme
    assert "Nothing has been measured on a GPU yet" in readme or (root / "results" / "bench-gpu.txt").is_file()
