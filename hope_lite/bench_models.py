"""Language-model benchmarks: the four models at a preset, eager and compiled (``python -m hope_lite.bench``).

``--models`` times forward + backward (next-byte loss, every memory write included) of each model
over sequence lengths; ``--compile`` times each model eager and under ``torch.compile`` in one
process, after the compile (whose duration is reported apart). Every case runs in a fresh
subprocess with the thread count given by ``--threads``, so models do not share allocator or
thread-pool state; ratios inside one run are the numbers to trust on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

from .bench import MODEL_TOKENS, _timed, denormals_note
from .models import MODELS, build_model, count_parameters

__all__ = ["MODEL_TOKENS", "run_model_case", "model_report", "compile_report"]


def run_model_case(model: str, preset: str, batch: int, tokens: int, device: str, min_time: float,
                   bf16: bool = False, compile: bool = False) -> dict:
    """Forward + backward of a language model (next-byte cross-entropy), memory writes included.

    With ``compile`` the model is wrapped by ``torch.compile``; the first step (tracing and code
    generation) is timed on its own as ``compile_s`` and left out of the tokens/s.
    """
    torch.manual_seed(0)
    net = build_model(model, preset, device=device)
    params = count_parameters(net)
    if compile:
        net = torch.compile(net)
    x = torch.randint(0, 256, (batch, tokens + 1), device=device)

    def step() -> None:
        net.zero_grad(set_to_none=True)
        with torch.autocast(device_type="cuda" if device.startswith("cuda") else "cpu", dtype=torch.bfloat16,
                            enabled=bf16):
            logits = net(x[:, :-1])[0]
        F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1)).backward()
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    compile_s = None
    if compile:
        start = time.perf_counter()
        step()
        compile_s = time.perf_counter() - start
    elapsed, peak, iters = _timed(step, device, min_time, max_iters=1000)
    return {"model": model, "preset": preset, "batch": batch, "tokens": tokens, "device": device, "bf16": bf16,
            "compiled": compile, "compile_s": compile_s, "threads": torch.get_num_threads(),
            "parameters": params, "seconds_per_iter": elapsed,
            "tokens_per_s": batch * tokens / elapsed, "peak_mem_mb": peak, "iters": iters}


def _run_subprocess(model: str, T: int, args: argparse.Namespace, compile: bool) -> dict:
    cmd = [sys.executable, "-m", "hope_lite.bench", "--one-model", model, "--preset", args.preset,
           "--batch", str(args.model_batch), "--tokens", str(T), "--device", args.device,
           "--min-time", str(args.min_time)] + (["--bf16"] if args.bf16 else []) + (["--compile"] if compile else [])
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    if args.keep_denormals:
        cmd += ["--keep-denormals"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"model case {model} T={T}{' compiled' if compile else ''} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _header(args: argparse.Namespace, what: str) -> str:
    threads = args.threads or torch.get_num_threads()
    return (f"{what}, forward+backward (next-byte loss), preset={args.preset}, B={args.model_batch}, "
            f"device={args.device}{', bf16 autocast' if args.bf16 else ''}, torch={torch.__version__}, "
            f"threads={threads}, {denormals_note()}")


def model_report(args: argparse.Namespace) -> int:
    """Tokens/s and peak memory of the four models at one preset over sequence lengths (same run)."""
    rows = [_run_subprocess(model, T, args, compile=False) for T in args.model_tokens for model in MODELS]
    if args.json:
        for r in rows:
            print(json.dumps(r))
        return 0
    print(_header(args, "language models"))
    print(f"{'model':<16}{'params':>10}{'T':>7}{'tokens/s':>11}{'ms/iter':>10}{'peak MB':>10}{'x Transformer++':>17}")
    for r in rows:
        base = next(b for b in rows if b["model"] == "transformer" and b["tokens"] == r["tokens"])
        print(f"{r['model']:<16}{r['parameters']:>10,}{r['tokens']:>7}{r['tokens_per_s']:11.0f}"
              f"{1e3 * r['seconds_per_iter']:10.1f}{r['peak_mem_mb']:10.1f}{r['tokens_per_s'] / base['tokens_per_s']:17.2f}")
    return 0


def compile_report(args: argparse.Namespace) -> int:
    """Each model eager, then compiled, at one sequence length: tokens/s, the speed-up and the compile time.

    Rows are printed as each model finishes (a compile can take many minutes on a CPU).
    """
    T = args.model_tokens[0]
    if not args.json:
        print(_header(args, f"torch.compile against eager, T={T}"))
        print(f"{'model':<16}{'eager tok/s':>13}{'compiled tok/s':>16}{'speed-up':>10}{'compile s':>11}", flush=True)
    for model in args.compile_models:
        eager = _run_subprocess(model, T, args, compile=False)
        compiled = _run_subprocess(model, T, args, compile=True)
        if args.json:
            print(json.dumps(eager))
            print(json.dumps(compiled), flush=True)
            continue
        # no peak-memory column: the compile itself sets the process's peak before the timed steps
        print(f"{model:<16}{eager['tokens_per_s']:13.0f}{compiled['tokens_per_s']:16.0f}"
              f"{compiled['tokens_per_s'] / eager['tokens_per_s']:10.2f}{compiled['compile_s']:11.1f}", flush=True)
    return 0
