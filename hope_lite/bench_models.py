"""Language-model benchmarks: the four models at a preset, eager and compiled (``python -m hope_lite.bench``).

``--models`` times forward + backward (next-byte loss, every memory write included) of each model
over sequence lengths; ``--compile`` times each model eager and under ``torch.compile`` in one
process, after the compile (whose duration is reported apart). Every case runs in a fresh
subprocess with the thread count given by ``--threads`` (default 1), so models do not share
allocator or thread-pool state; the models are interleaved (every model at one length, then the
next length), the whole sweep runs ``--repeats`` times and each case reports its best, so that a
burst of other work on a shared machine slows one repeat, not one model. Ratios inside one run
are the numbers to trust.

``--save FILE`` writes the rows as JSON and ``--figure FILE`` draws tokens/s and peak memory against
T (:func:`render_scaling`), e.g. the scaling run of the README::

    python -m hope_lite.bench --models --model-batch 1 --model-tokens 512 1024 2048 4096 8192 16384 \
        --save results/bench-scaling.json --figure figures/bench-scaling.png
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import torch
import torch.nn.functional as F

from .bench import MODEL_TOKENS, _timed, denormals_note, measured_in_subprocesses
from .chunking import RECOMPUTE_FLAG
from .models import MODELS, build_model, compile_model, count_parameters

__all__ = ["MODEL_TOKENS", "run_model_case", "model_report", "compile_report", "render_scaling"]


def run_model_case(model: str, preset: str, batch: int, tokens: int, device: str, min_time: float,
                   bf16: bool = False, compile: bool = False, recompute: str = "auto") -> dict:
    """Forward + backward of a language model (next-byte cross-entropy), memory writes included.

    With ``compile`` the model is compiled by :func:`~hope_lite.models.compile_model`; the first step (tracing and code
    generation) is timed on its own as ``compile_s`` and left out of the tokens/s. ``recompute``
    ("auto", "on", "off") sets the model's ``recompute_chunks`` (activation checkpointing).
    """
    torch.manual_seed(0)
    net = build_model(model, preset, device=device)
    net.recompute_chunks = RECOMPUTE_FLAG[recompute]
    params = count_parameters(net)
    if compile:
        net = compile_model(net)
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
            "compiled": compile, "compile_s": compile_s, "threads": torch.get_num_threads(), "recompute": recompute,
            "parameters": params, "seconds_per_iter": elapsed,
            "tokens_per_s": batch * tokens / elapsed, "peak_mem_mb": peak, "iters": iters}


def _run_subprocess(model: str, T: int, args: argparse.Namespace, compile: bool) -> dict:
    cmd = [sys.executable, "-m", "hope_lite.bench", "--one-model", model, "--preset", args.preset,
           "--batch", str(args.model_batch), "--tokens", str(T), "--device", args.device,
           "--min-time", str(args.min_time), "--threads", str(args.threads), "--recompute", args.recompute]
    cmd += (["--bf16"] if args.bf16 else []) + (["--compile"] if compile else [])
    if args.keep_denormals:
        cmd += ["--keep-denormals"]
    return measured_in_subprocesses(cmd, args.device, f"model case {model} T={T}{' compiled' if compile else ''}",
                                    memory=not compile)


def _header(args: argparse.Namespace, what: str) -> str:
    return (f"{what}, forward+backward (next-byte loss), preset={args.preset}, B={args.model_batch}, "
            f"device={args.device}{', bf16 autocast' if args.bf16 else ''}, torch={torch.__version__}, "
            f"threads={args.threads}, {denormals_note()}, recompute={args.recompute}")


def best_of_repeats(args: argparse.Namespace) -> list[dict]:
    """Every (T, model) case ``args.repeats`` times, models interleaved; per case the fastest repeat.

    The peak memory is the same number every repeat (one step's), so any repeat's will do.
    """
    best: dict[tuple[int, str], dict] = {}
    for _ in range(args.repeats):
        for T in args.model_tokens:
            for model in MODELS:
                row = _run_subprocess(model, T, args, compile=False)
                if (T, model) not in best or row["tokens_per_s"] > best[(T, model)]["tokens_per_s"]:
                    best[(T, model)] = {**row, "repeats": args.repeats}
    return [best[(T, model)] for T in args.model_tokens for model in MODELS]


def model_report(args: argparse.Namespace) -> int:
    """Tokens/s and peak memory of the four models at one preset over sequence lengths (same run)."""
    rows = best_of_repeats(args)
    if args.save:
        _save(args, rows)
    if args.figure:
        render_scaling(rows, _header(args, "language models")).savefig(args.figure, dpi=120)
    if args.json:
        for r in rows:
            print(json.dumps(r))
        return 0
    print(_header(args, "language models") + f", best of {args.repeats}")
    print(f"{'model':<16}{'params':>10}{'T':>7}{'tokens/s':>11}{'ms/iter':>10}{'peak MB':>10}{'x Transformer++':>17}"
          f"{'mem x T++':>11}")
    for r in rows:
        base = next(b for b in rows if b["model"] == "transformer" and b["tokens"] == r["tokens"])
        print(f"{r['model']:<16}{r['parameters']:>10,}{r['tokens']:>7}{r['tokens_per_s']:11.0f}"
              f"{1e3 * r['seconds_per_iter']:10.1f}{r['peak_mem_mb']:10.1f}{r['tokens_per_s'] / base['tokens_per_s']:17.2f}"
              f"{r['peak_mem_mb'] / base['peak_mem_mb']:11.2f}")
    return 0


def _save(args: argparse.Namespace, rows: list[dict]) -> None:
    """The rows and what produced them, as one JSON file (the scaling figure is drawn from it)."""
    from pathlib import Path
    record = {"header": _header(args, "language models"), "command": "python -m hope_lite.bench " + " ".join(args.argv),
              "date": time.strftime("%Y-%m-%d"), "rows": rows}
    Path(args.save).parent.mkdir(parents=True, exist_ok=True)
    Path(args.save).write_text(json.dumps(record, indent=1) + "\n")


def render_scaling(rows: list[dict], title: str = ""):
    """Tokens/s and peak memory against T, one line per model (log-log): where linear cost overtakes quadratic."""
    from matplotlib.figure import Figure      # not pyplot: no backend chosen, no figure left open in a session
    fig = Figure(figsize=(11, 4.2))
    speed, memory = fig.subplots(1, 2)
    for model in dict.fromkeys(r["model"] for r in rows):
        mine = sorted((r for r in rows if r["model"] == model), key=lambda r: r["tokens"])
        T = [r["tokens"] for r in mine]
        speed.plot(T, [r["tokens_per_s"] for r in mine], marker="o", label=model)
        memory.plot(T, [r["peak_mem_mb"] for r in mine], marker="o", label=model)
    for ax, label in ((speed, "tokens / s (forward + backward)"), (memory, "peak memory of a training step (MB)")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("sequence length T (tokens)")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
    speed.legend()
    if title:
        fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    return fig


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
