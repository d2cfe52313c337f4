"""The GPU check as one prepared script: ``make bench-gpu`` (``python -m hope_lite.bench_gpu``).

A GPU machine is lent rarely and briefly, so everything to measure on it is one command that finishes
in under ten minutes and writes one log. Its steps, each a command printed before it runs and each
with its own time limit (a step that runs out is reported as such, and the next one starts):

1. the machine: torch, CUDA, the device's name and memory;
2. the CUDA tests of ``tests/core`` (``pytest -k cuda``: every memory, optimizer and layer on CUDA
   against the CPU, a bf16 forward of every model), when the tests are there (a checkout, not a wheel);
3. the block table (``python -m hope_lite.bench``) at T = 4096, B = 8;
4. the four language models at the ``small`` preset under bf16 autocast, B = 8, T = 1024 ... 16384
   (``--models --bf16``; peak memory is ``torch.cuda.max_memory_allocated``);
5. eager against ``torch.compile`` under bf16 (``--compile --bf16``) at T = 256 (a memory model's
   compile unrolls its chunk loop, so its time grows with T).

``--device cpu`` is the dry run: the same steps at the ``tiny`` preset and short sequences on the CPU
(the compile step with Transformer++ alone: a memory model's compile takes minutes on a CPU), to
check the script before a GPU is lent.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["steps", "main"]

TESTS = Path(__file__).resolve().parent.parent / "tests" / "core"
# the block table without the per-token references, which take minutes at T = 4096 on any device
CHUNKED_CASES = ("sdpa", "hebbian/chunked", "delta/chunked", "titans/chunked", "titans-layer/chunked", "self-mod/chunked")


def steps(device: str) -> list[tuple[str, list[str], int]]:
    """(title, command, time limit in seconds) of every step; ``device="cpu"`` gives the dry run's sizes."""
    py, dry = sys.executable, device == "cpu"
    bench = [py, "-m", "hope_lite.bench", "--device", device, "--threads", "1"]
    machine = ("import torch; print('torch', torch.__version__, '| CUDA', torch.version.cuda); "
               "ok = torch.cuda.is_available(); p = torch.cuda.get_device_properties(0) if ok else None; "
               "print('device:', f'{p.name}, {p.total_memory / 2**30:.0f} GiB' if ok else 'no CUDA device (dry run)')")
    out = [("the machine", [py, "-c", machine], 30)]
    if TESTS.is_dir():
        out.append(("the CUDA tests (CUDA against the CPU, bf16 forward of every model)",
                    [py, "-m", "pytest", "-q", "-k", "cuda", "-p", "no:cacheprovider", str(TESTS)], 120))
    out.append(("the block table",
                bench + (["--tokens", "64", "--width", "32", "--heads", "2", "--min-time", "0"] if dry
                         else ["--tokens", "4096", "--batch", "8", "--min-time", "1"])
                + ["--cases", ",".join(CHUNKED_CASES)], 90))
    out.append(("the four language models, bf16 autocast",
                bench + ["--models", "--bf16", "--repeats", "1"]
                + (["--preset", "tiny", "--model-tokens", "32", "64", "--model-batch", "2", "--min-time", "0"] if dry
                   else ["--preset", "small", "--model-tokens", "1024", "4096", "16384", "--min-time", "1"]), 180))
    out.append(("eager against torch.compile, bf16 autocast",
                bench + ["--compile", "--bf16", "--compile-models", "transformer"] + ([] if dry else ["hope"])
                + (["--preset", "tiny", "--model-tokens", "16", "--model-batch", "2", "--min-time", "0"] if dry
                   else ["--preset", "small", "--model-tokens", "256", "--min-time", "1"]), 150))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m hope_lite.bench_gpu", description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cuda", help="cuda (default), or cpu for the dry run at tiny sizes")
    p.add_argument("--log", default=None,
                   help="where the whole output is written too (default results/bench-gpu.txt; dry run: "
                        "results/bench-gpu-dry-run.txt)")
    args = p.parse_args(argv)
    if args.log is None:
        args.log = "results/bench-gpu.txt" if args.device == "cuda" else "results/bench-gpu-dry-run.txt"
    if args.device not in ("cuda", "cpu"):
        p.error(f"--device must be cuda or cpu (the dry run), got {args.device!r}")
    if args.device == "cuda":
        import torch
        if not torch.cuda.is_available():
            p.error("no CUDA device here; run the dry run with --device cpu, or this on a GPU machine")
    log_path = Path(args.log)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    start, failed = time.perf_counter(), 0
    with log_path.open("w") as log:
        def say(text: str) -> None:
            print(text, flush=True)
            log.write(text + "\n")
            log.flush()
        say(f"python -m hope_lite.bench_gpu --device {args.device}   ({time.strftime('%Y-%m-%d %H:%M')})")
        plan = steps(args.device)
        for number, (title, cmd, limit) in enumerate(plan, 1):
            shown = shlex.join(["python" if c == sys.executable else c for c in cmd])
            say(f"\n== {number}. {title} (limit {limit} s)\n$ {shown}")
            t0 = time.perf_counter()
            try:
                done = subprocess.run(cmd, capture_output=True, text=True, timeout=limit)
                say((done.stdout + done.stderr).rstrip())
                verdict = "ok" if done.returncode == 0 else f"FAILED (exit status {done.returncode})"
            except subprocess.TimeoutExpired as err:
                partial = (err.stdout or b"").decode() if isinstance(err.stdout, bytes) else (err.stdout or "")
                say(partial.rstrip())
                verdict = f"NOT FINISHED within {limit} s"
            failed += verdict != "ok"
            say(f"-- {verdict}, {time.perf_counter() - t0:.0f} s")
        say(f"\n{len(plan) - failed} of {len(plan)} steps ok, "
            f"{time.perf_counter() - start:.0f} s in all; log: {log_path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
