"""The run directory loses nothing: one writer, files replaced whole, checksummed checkpoints, one-line errors.

Faults are real where they can be: ``kill -9`` of a trainer at a chosen moment (a subprocess that
SIGKILLs itself inside the write), a full disk from ``/dev/full``, a second process holding the
lock. The messages are printed (``pytest -s`` shows them).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from hope_lite.run_dir import LOCK, RunDirError, RunLock, atomic_write, read_metrics, save_checkpoint
from hope_lite.train import CHECKPOINT, CONFIG, METRICS, TrainConfig, load_checkpoint, load_trained, train

ROOT = Path(__file__).resolve().parents[2]
QUIET = {"progress": False, "log": lambda _: None}
SUMS = CHECKPOINT + ".sha256"

# The CLI flags of RUN (the same run from the command line and from Python).
RUN_FLAGS = ["--model", "hope", "--preset", "tiny", "--steps", "7", "--batch", "2", "--context", "32", "--lr", "0.003",
             "--warmup", "2", "--eval-every", "3", "--eval-bytes", "256", "--checkpoint-every", "100"]
RUN = TrainConfig(model="hope", preset="tiny", steps=7, batch=2, context=32, lr=3e-3, warmup=2, eval_every=3,
                  eval_bytes=256, checkpoint_every=100)

# Runs the trainer's command line with one fault planted (HL_FAULT), e.g. a SIGKILL in the middle of
# writing config.json. The trainer code itself is not changed; only the OS calls it makes are wrapped.
FAULTY_TRAINER = r"""
import os, signal, sys, tempfile
fault, target = os.environ.get("HL_FAULT", ""), os.environ.get("HL_FAULT_TARGET", "")
die = lambda: os.kill(os.getpid(), signal.SIGKILL)
if fault == "kill-before-rename":          # the new file is complete in its temp file; killed before the rename
    real_replace = os.replace
    def replace(src, dst):
        if os.path.basename(dst) == target:
            die()
        return real_replace(src, dst)
    os.replace = replace
elif fault == "kill-mid-write":            # killed after writing half of the new file's bytes
    real_fdopen = os.fdopen
    def fdopen(fd, mode="r", *args, **kwargs):
        f = real_fdopen(fd, mode, *args, **kwargs)
        if os.path.basename(os.readlink(f"/proc/self/fd/{fd}")).startswith("." + target + "."):
            real_write = f.write
            def write(data):
                real_write(data[: len(data) // 2]); f.flush(); die()
            f.write = write
        return f
    os.fdopen = fdopen
elif fault == "kill-mid-append":           # killed in the middle of appending row number HL_FAULT_TARGET
    import hope_lite.run_dir as run_dir
    real_append, count = run_dir.MetricsLog.append, [0]
    def append(self, row):
        count[0] += 1
        if count[0] == int(target):
            line = __import__("json").dumps(row)
            self.file.write(line[: len(line) // 2]); self.file.flush(); die()
        real_append(self, row)
    run_dir.MetricsLog.append = append
elif fault == "full-disk":                 # the temp file of TARGET is /dev/full: every write fails with ENOSPC
    real_mkstemp = tempfile.mkstemp
    def mkstemp(suffix=None, prefix=None, dir=None, text=False):
        if prefix == "." + target + ".":
            return os.open("/dev/full", os.O_WRONLY), os.path.join(dir, prefix + "full" + suffix)
        return real_mkstemp(suffix=suffix, prefix=prefix, dir=dir, text=text)
    tempfile.mkstemp = mkstemp
from hope_lite.train import main
sys.exit(main(sys.argv[1:]))
"""


def trainer(*args: str, fault: str = "", target: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HL_FAULT": fault, "HL_FAULT_TARGET": target}
    return subprocess.run([sys.executable, "-c", FAULTY_TRAINER, *RUN_FLAGS, "--no-progress", *args],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)


def one_line_error(done: subprocess.CompletedProcess, *words: str) -> str:
    """The trainer failed with exit status 2 and one line on stderr containing ``words``; returns it."""
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert len(lines) == 1, done.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    print("\n   ", lines[0])
    return lines[0]


def snapshot(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


@pytest.fixture(scope="module")
def whole_run(tmp_path_factory):
    """The run that never stopped, for comparisons."""
    return train(RUN, tmp_path_factory.mktemp("whole") / "run", **QUIET)


# -- a kill while config.json / metrics.jsonl are rewritten ------------------------------------------


def test_a_kill_while_resume_rewrites_config_or_metrics_loses_nothing(tmp_path, whole_run):
    out = tmp_path / "run"
    train(RUN, out, stop_at=3, **QUIET)
    before = snapshot(out)
    for fault, target in (("kill-mid-write", CONFIG), ("kill-before-rename", CONFIG),
                          ("kill-mid-write", METRICS), ("kill-before-rename", METRICS)):
        done = trainer("--out", str(out), "--resume", fault=fault, target=target)
        assert done.returncode == -signal.SIGKILL, (fault, target, done.stderr[-2000:])
        assert json.loads((out / CONFIG).read_text()) == json.loads(before[CONFIG])     # whole, never truncated
        assert (out / METRICS).read_bytes() == before[METRICS]
        assert (out / CHECKPOINT).read_bytes() == before[CHECKPOINT]
    assert any(p.name.endswith(".tmp") for p in out.iterdir())      # the killed writers left temp files ...
    rest = train(RUN, out, resume=True, **QUIET)
    assert not any(p.name.endswith(".tmp") for p in out.iterdir())  # ... which the next trainer removes
    assert rest.losses() == whole_run.losses() and rest.validation() == whole_run.validation()
    assert [m["step"] for m in read_metrics(out / METRICS)] == [m["step"] for m in whole_run.metrics]


def test_a_kill_mid_append_leaves_a_torn_row_that_resume_drops(tmp_path, whole_run):
    out = tmp_path / "run"
    train(RUN, out, stop_at=2, **QUIET)
    done = trainer("--out", str(out), "--resume", "--stop-at", "5", fault="kill-mid-append", target="3")
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    assert not (out / METRICS).read_text().endswith("\n")          # the torn last row is there
    logs = []
    rest = train(RUN, out, resume=True, progress=False, log=logs.append)
    assert any("dropping the torn last line" in line for line in logs), logs
    assert rest.losses() == whole_run.losses()
    assert [m["step"] for m in read_metrics(out / METRICS)] == [m["step"] for m in whole_run.metrics]


def test_a_crash_before_the_first_checkpoint_can_be_restarted(tmp_path, whole_run):
    out = tmp_path / "run"
    done = trainer("--out", str(out), fault="kill-before-rename", target=SUMS)     # killed writing checkpoint 1
    assert done.returncode == -signal.SIGKILL
    assert (out / CONFIG).exists() and not (out / CHECKPOINT).exists()
    logs = []
    again = train(RUN, out, resume=True, progress=False, log=logs.append)
    assert any("stopped before its first checkpoint" in line for line in logs), logs
    assert again.losses() == whole_run.losses()
    assert load_checkpoint(out / CHECKPOINT)["step"] == 7


# -- one writer per directory -----------------------------------------------------------------------

HOLDER = ("import sys, time; from hope_lite.run_dir import RunLock; lock = RunLock(sys.argv[1]); lock.acquire(); "
          "print('locked', flush=True); time.sleep(120)")


def test_a_second_trainer_is_refused_while_the_first_holds_the_directory(tmp_path, whole_run):
    out = tmp_path / "run"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(out)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunDirError, match=f"being written by another trainer \\(pid {holder.pid} on host"):
            train(RUN, out, **QUIET)
        message = one_line_error(trainer("--out", str(out)), "another trainer", f"pid {holder.pid}")
        assert "choose another --out" in message
        assert sorted(p.name for p in out.iterdir()) == [LOCK]       # nothing written beside the lock
    finally:
        holder.kill()
        holder.wait()
    logs = []                                    # the holder died: the kernel dropped its lock
    result = train(RUN, out, progress=False, log=logs.append)
    assert any("ended without finishing" in line and str(holder.pid) in line for line in logs), logs
    assert result.losses() == whole_run.losses()
    assert (out / LOCK).read_text() == ""        # released at the end: no holder named


def test_two_trainers_started_together_one_writes(tmp_path, whole_run):
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HL_FAULT": ""}
    procs = [subprocess.Popen([sys.executable, "-c", FAULTY_TRAINER, *RUN_FLAGS, "--no-progress", "--out", str(out)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
             for _ in range(2)]
    results = [(p.wait(timeout=600), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    refused = next(err for code, err in results if code == 2)
    assert "another trainer" in refused or "already holds this run" in refused, refused
    assert [m["step"] for m in read_metrics(out / METRICS)] == [m["step"] for m in whole_run.metrics]
    assert load_checkpoint(out / CHECKPOINT)["step"] == 7


def test_the_lock_is_the_flock_not_the_file(tmp_path):
    """A holder named in .lock but not holding it (a trainer that died) does not block; a held lock does."""
    (tmp_path / LOCK).write_text(json.dumps({"pid": 1, "host": "elsewhere", "since": "2026-12-01 00:00:00"}) + "\n")
    logs = []
    first = RunLock(tmp_path, log=logs.append)
    first.acquire()
    assert any("pid 1 on 'elsewhere'" in line for line in logs)
    with pytest.raises(RunDirError, match=f"another trainer \\(pid {os.getpid()} on host"):
        RunLock(tmp_path).acquire()                  # a second lock in this very process is refused too
    first.release()
    with RunLock(tmp_path, log=logs.append):
        pass
    assert (tmp_path / LOCK).read_text() == ""


def test_many_trainers_racing_for_one_directory_get_one_lock(tmp_path):
    """8 processes, started together (each waits until all have imported), try to lock one directory:
    exactly one holds it, the others are refused; twice, the second time after the first holder exited."""
    racer = ("import os, sys, time; from hope_lite.run_dir import RunLock, RunDirError\n"
             "ready = os.path.join(sys.argv[2], str(os.getpid())); open(ready, 'w').close()\n"
             "while len(os.listdir(sys.argv[2])) < int(sys.argv[3]): time.sleep(0.001)\n"
             "lock = RunLock(sys.argv[1], log=lambda _: None)\n"
             "try:\n    lock.acquire(); print('held', flush=True); time.sleep(2)\n"
             "except RunDirError:\n    print('refused', flush=True)\n")
    run = tmp_path / "run"
    run.mkdir()
    for trial in range(2):
        gate = tmp_path / f"gate{trial}"
        gate.mkdir()
        procs = [subprocess.Popen([sys.executable, "-c", racer, str(run), str(gate), "8"], stdout=subprocess.PIPE,
                                  text=True, cwd=ROOT) for _ in range(8)]
        answers = sorted(p.communicate(timeout=300)[0].strip() for p in procs)
        assert answers == ["held"] + ["refused"] * 7, answers


# -- integrity: corrupt files are refused by name, with what to do -------------------------------------


@pytest.fixture(scope="module")
def stopped_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("stopped") / "run"
    train(RUN, out, stop_at=3, **QUIET)
    return snapshot(out)


def copy_of(files: dict[str, bytes], out: Path) -> Path:
    out.mkdir()
    for name, data in files.items():
        (out / name).write_bytes(data)
    return out


def flip_inside_a_tensor(data: bytes) -> bytes:
    """64 bytes inverted in the middle of the largest stored tensor (the archive stays readable)."""
    middle = len(data) // 2
    return data[:middle] + bytes(255 - b for b in data[middle:middle + 64]) + data[middle + 64:]


@pytest.mark.parametrize("damage, words", [
    (lambda f: {**f, CHECKPOINT: f[CHECKPOINT][: len(f[CHECKPOINT]) // 3]}, ("checkpoint.pt", "corrupt or truncated")),
    (lambda f: {**f, CHECKPOINT: b""}, ("checkpoint.pt", "corrupt or truncated")),
    (lambda f: {**f, CHECKPOINT: flip_inside_a_tensor(f[CHECKPOINT])}, ("checkpoint.pt", "does not match its checksum")),
    (lambda f: {k: v for k, v in {**f, CHECKPOINT: b"garbage" * 100}.items() if k != SUMS},
     ("checkpoint.pt", "cannot be read as a checkpoint")),
    (lambda f: {**f, CONFIG: f[CONFIG][:-40]}, ("config.json is not valid JSON", "restore it")),
    (lambda f: {**f, METRICS: b"{oops}\n" + f[METRICS]}, ("metrics.jsonl line 1 is not a metrics row",)),
], ids=["truncated checkpoint", "empty checkpoint", "64 bytes flipped", "garbage, no checksum", "bad config",
        "bad metrics row"])
def test_a_damaged_file_is_one_line_naming_it_and_nothing_is_overwritten(tmp_path, stopped_run, damage, words):
    out = copy_of(damage(stopped_run), tmp_path / "run")
    before = snapshot(out)
    with pytest.warns(UserWarning, match="no checkpoint.pt.sha256") if SUMS not in before else contextlib.nullcontext():
        with pytest.raises(RunDirError) as err:
            train(RUN, out, resume=True, **QUIET)
    for word in words:
        assert word in str(err.value), str(err.value)
    print("\n   ", err.value)
    assert snapshot(out) == before


def test_damaged_checkpoint_and_unavailable_device_on_the_command_line(tmp_path, stopped_run):
    out = copy_of({**stopped_run, CHECKPOINT: flip_inside_a_tensor(stopped_run[CHECKPOINT])}, tmp_path / "run")
    before = snapshot(out)
    one_line_error(trainer("--out", str(out), "--resume"), "checkpoint.pt does not match its checksum", "Restore it")
    assert snapshot(out) == before
    if not torch.cuda.is_available():
        one_line_error(trainer("--out", str(tmp_path / "gpu"), "--device", "cuda"), "device 'cuda' is not available",
                       "--device cpu")
        assert not (tmp_path / "gpu").exists()
    one_line_error(trainer("--out", str(tmp_path / "x"), "--device", "gpu"), "device must name a torch device")


def test_a_full_disk_is_one_line_and_the_last_checkpoint_survives(tmp_path, stopped_run):
    out = copy_of(stopped_run, tmp_path / "run")
    before = snapshot(out)
    one_line_error(trainer("--out", str(out), "--resume", fault="full-disk", target=CHECKPOINT),
                   "No space left on device while writing", "checkpoint.pt", "--resume")
    after = snapshot(out)
    assert after[CHECKPOINT] == before[CHECKPOINT] and after[CONFIG] == before[CONFIG]
    assert not any(name.endswith(".tmp") for name in after) and after[LOCK] == b""
    assert load_checkpoint(out / CHECKPOINT)["step"] == 3             # still verifies and loads


def test_a_permission_error_is_one_line_naming_the_file(tmp_path, monkeypatch):
    out = tmp_path / "run"
    out.mkdir()
    if os.geteuid() != 0:                   # a real read-only directory (root ignores file modes)
        out.chmod(0o500)
    else:
        import tempfile

        def refuse(*args, **kwargs):
            raise PermissionError(13, "Permission denied", str(out))
        monkeypatch.setattr(tempfile, "mkstemp", refuse)
    try:
        with pytest.raises(RunDirError, match="Permission denied while .*make the directory writable") as err:
            train(RUN, out, **QUIET)
        print("\n   ", err.value)
    finally:
        out.chmod(0o700)


# -- the checksum protocol and the run's identity ------------------------------------------------------


def test_a_kill_between_the_two_renames_never_makes_a_good_checkpoint_look_corrupt(tmp_path, monkeypatch):
    from hope_lite import run_dir
    path = tmp_path / CHECKPOINT
    save_checkpoint(path, {"format": 2, "step": 1})
    first = path.read_bytes()
    real, calls = run_dir.atomic_write, []

    def die_before_the_checkpoint(target, data):
        calls.append(target)
        if len(calls) == 2:
            raise KeyboardInterrupt           # the sum file is replaced, the checkpoint not yet
        real(target, data)
    monkeypatch.setattr(run_dir, "atomic_write", die_before_the_checkpoint)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, {"format": 2, "step": 2})
    monkeypatch.setattr(run_dir, "atomic_write", real)
    assert path.read_bytes() == first and len((tmp_path / SUMS).read_text().splitlines()) == 2
    assert run_dir.read_checkpoint_bytes(path) == first          # the old checkpoint still verifies
    save_checkpoint(path, {"format": 2, "step": 3})
    assert torch.load(path, weights_only=True)["step"] == 3
    run_dir.read_checkpoint_bytes(path)


def test_a_reader_during_saves_never_sees_a_good_checkpoint_as_corrupt(tmp_path):
    import threading

    from hope_lite import run_dir
    path = tmp_path / CHECKPOINT
    save_checkpoint(path, {"format": 2, "step": 0, "w": torch.zeros(64)})
    stop, errors = threading.Event(), []

    def writer():
        step = 0
        while not stop.is_set():
            step += 1
            save_checkpoint(path, {"format": 2, "step": step, "w": torch.full((64,), float(step))})
    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(400):
            try:
                run_dir.read_checkpoint_bytes(path)
            except RunDirError as err:
                errors.append(str(err))
    finally:
        stop.set()
        thread.join()
    assert errors == []


def test_run_files_are_readable_like_any_file(tmp_path):
    before = os.umask(0o022)
    try:
        train(RUN, tmp_path / "run", stop_at=1, **QUIET)
    finally:
        os.umask(before)
    from hope_lite.run_dir import _UMASK
    for name in (CONFIG, METRICS, CHECKPOINT, SUMS):
        assert (tmp_path / "run" / name).stat().st_mode & 0o777 == 0o666 & ~_UMASK, name


@pytest.mark.parametrize("leftover", [METRICS, SUMS])
def test_run_files_without_their_config_are_not_overwritten(tmp_path, leftover):
    out = tmp_path / "run"
    out.mkdir()
    (out / leftover).write_text("precious\n")
    with pytest.raises(RunDirError, match=f"has a {leftover} but no config.json"):
        train(RUN, out, **QUIET)
    assert (out / leftover).read_text() == "precious\n"


def test_a_checkpoint_that_does_not_fit_or_an_old_config_is_one_clear_error(tmp_path, stopped_run):
    out = copy_of(stopped_run, tmp_path / "run")
    ckpt = load_checkpoint(out / CHECKPOINT)
    del ckpt["model"]
    save_checkpoint(out / CHECKPOINT, ckpt)
    with pytest.raises(RunDirError, match="does not fit this model and trainer \\(KeyError"):
        train(RUN, out, resume=True, **QUIET)
    old = copy_of(stopped_run, tmp_path / "old")
    config = json.loads((old / CONFIG).read_text())
    del config["precision"], config["device"]
    (old / CONFIG).write_text(json.dumps(config))
    with pytest.raises(RunDirError, match="written by an older hope_lite that did not record precision and device"):
        train(RUN, old, resume=True, **QUIET)
    (old / SUMS).write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(RunDirError, match="checkpoint.pt.sha256 is not a text file of SHA-256 sums"):
        load_checkpoint(old / CHECKPOINT)


def test_resuming_in_another_precision_or_device_type_is_refused(tmp_path):
    out = tmp_path / "run"
    train(RUN, out, stop_at=2, **QUIET)
    saved = json.loads((out / CONFIG).read_text())
    assert saved["precision"] == "fp32" and saved["device"] == "cpu"
    with pytest.raises(RunDirError, match="different run \\(precision: 'fp32' there, 'bf16' here\\)"):
        train(RUN, out, resume=True, bf16=True, **QUIET)
    assert saved["compiled"] is False            # compiled kernels round otherwise: a run resumes as it started
    with pytest.raises(RunDirError, match="different run \\(compiled: False there, True here\\)"):
        train(RUN, out, resume=True, compile=True, **QUIET)
    ckpt = load_checkpoint(out / CHECKPOINT)
    assert ckpt["identity"] == saved


def test_a_checkpoint_from_another_run_beside_this_config_is_refused(tmp_path):
    """The state two writers once left: config.json of one run, checkpoint.pt of another."""
    a, b = tmp_path / "a", tmp_path / "b"
    train(RUN, a, stop_at=2, **QUIET)
    other = TrainConfig(**{**RUN.__dict__, "lr": 0.01})
    train(other, b, stop_at=2, **QUIET)
    for name in (CHECKPOINT, SUMS):
        (a / name).write_bytes((b / name).read_bytes())
    with pytest.raises(RunDirError, match="written by another run.*lr: 0.01 there, 0.003 here"):
        train(RUN, a, resume=True, **QUIET)
    with pytest.raises(RunDirError, match="different run"):
        train(other, a, resume=True, **QUIET)


def test_atomic_write_leaves_the_old_file_when_the_write_fails(tmp_path, monkeypatch):
    path = tmp_path / "f.json"
    atomic_write(path, b"old")
    import tempfile

    def full(suffix=None, prefix=None, dir=None, text=False):
        return os.open("/dev/full", os.O_WRONLY), os.path.join(dir, prefix + "full" + suffix)
    monkeypatch.setattr(tempfile, "mkstemp", full)
    with pytest.raises(RunDirError, match="No space left on device while writing .*f.json; free some space"):
        atomic_write(path, b"new" * 10000)
    assert path.read_bytes() == b"old"


def test_load_trained_verifies_the_checksum(tmp_path, stopped_run):
    out = copy_of({**stopped_run, CHECKPOINT: flip_inside_a_tensor(stopped_run[CHECKPOINT])}, tmp_path / "run")
    with pytest.raises(ValueError, match="does not match its checksum"):
        load_trained(out)
