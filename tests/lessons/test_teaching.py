"""hope_lite.lessons.teaching: seeding, FAST mode and exercise checks (what every notebook imports)."""

from __future__ import annotations

import pytest
import torch

from hope_lite.lessons import check, fast_mode, pick, seed_everything, seeded


def test_check_reports_without_raising(capsys):
    ref = lambda x: 2 * x  # noqa: E731

    def stub(x):
        raise NotImplementedError

    assert check(stub, ref, torch.ones(3)) is False
    assert "not done yet" in capsys.readouterr().out
    assert check(lambda x: 2 * x, ref, torch.ones(3)) is True
    assert check(lambda x: 3 * x, ref, torch.ones(3)) is False
    assert check(lambda x: x[:2], ref, torch.ones(3)) is False
    assert check(lambda x: 1 / 0, ref, torch.ones(3)) is False
    assert "ZeroDivisionError" in capsys.readouterr().out


def test_fast_mode_and_pick(monkeypatch):
    monkeypatch.delenv("HOPE_LITE_FAST", raising=False)
    assert fast_mode(False) is False and fast_mode(True) is True
    assert pick(1, 100) == 100
    monkeypatch.setenv("HOPE_LITE_FAST", "1")
    assert fast_mode(False) is True and pick(1, 100) == 1


def test_seed_everything_repeats_and_rejects_bad_seeds():
    seed_everything(3)
    a = torch.randn(4)
    seed_everything(3)
    assert torch.equal(a, torch.randn(4))
    with pytest.raises(ValueError, match="seed"):
        seed_everything("3")


def test_seeded_draws_the_same_and_leaves_the_global_rng_alone():
    torch.manual_seed(5)
    expected_next = torch.rand(3)
    torch.manual_seed(5)
    with seeded(1):
        a = torch.randn(4)
    assert torch.equal(torch.rand(3), expected_next)
    with seeded(1):
        assert torch.equal(torch.randn(4), a)


def test_expect_notes_a_miss_and_raises_only_when_strict(monkeypatch, capsys):
    from hope_lite.lessons import expect, strict_checks
    monkeypatch.delenv("HOPE_LITE_STRICT", raising=False)
    assert not strict_checks()
    assert expect(2 < 3, "2 below 3") is True
    assert expect(0.5 < 0.4, "an error below 0.4, got 0.5") is False
    assert "Note: expected an error below 0.4, got 0.5" in capsys.readouterr().out
    monkeypatch.setenv("HOPE_LITE_STRICT", "1")
    with pytest.raises(AssertionError, match="expected an error below 0.4, got 0.5"):
        expect(0.5 < 0.4, "an error below 0.4, got 0.5")


def test_check_is_a_drift_check_when_strict(monkeypatch):
    monkeypatch.setenv("HOPE_LITE_STRICT", "1")

    def stub(x):
        raise NotImplementedError

    assert check(stub, lambda x: x, 1.0) is False                  # an unfinished stub never raises
    assert check(lambda x: x, lambda x: x, 1.0) is True
    with pytest.raises(AssertionError, match="disagrees with the reference"):
        check(lambda x: x + 1, lambda x: x, 1.0)
    with pytest.raises(AssertionError, match="raised ZeroDivisionError"):
        check(lambda x: 1 / 0, lambda x: x, 1.0)


def test_pick_device():
    from hope_lite.lessons import pick_device

    assert pick_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    assert pick_device() == pick_device("auto")
    assert pick_device("cpu") == "cpu"
    for bad in ("gpu", "CPU", "", None, 0, "cpu:0"):
        with pytest.raises(ValueError, match="DEVICE must be"):
            pick_device(bad)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            pick_device("cuda")
    else:
        assert pick_device("cuda:0") == "cuda:0"
        with pytest.raises(ValueError, match="numbered from 0"):
            pick_device(f"cuda:{torch.cuda.device_count()}")


def test_importing_the_lessons_flushes_denormals():
    """Every notebook's setup cell imports hope_lite.lessons before its first torch operation: that sets the flag."""
    import subprocess
    import sys

    code = ("import torch; import hope_lite.lessons; "
            "print((torch.tensor([1e-30]) * torch.tensor([1e-10])).item())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    import torch

    if torch.set_flush_denormal(True):              # this CPU can flush (pytest already imported the lessons)
        assert float(done.stdout.strip()) == 0.0
