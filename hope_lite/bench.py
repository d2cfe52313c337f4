"""Speed and memory benchmarks: ``python -m hope_lite.bench [--quick] [--json]``.

Every case is a *block* of the same width: input projections -> token mixer -> output
projection, timed forward + backward (the memory writes included) on the same inputs. The
mixers are the memories of :mod:`hope_lite.memory` and :mod:`hope_lite.deep_memory` (per-token
reference and chunked paths), the whole layers of :mod:`hope_lite.titans` and
:mod:`hope_lite.self_modifying` (Titans LMM and self-modifying Titans) and, as the
yardstick, PyTorch's causal ``scaled_dot_product_attention``. Ratios to that SDPA block are
printed from numbers measured in the same run. ``--sweep`` runs the Titans layers over chunk
sizes; ``--stability`` streams 16k tokens of inputs scaled x100 through both layers; ``--models``
times the four language models of :mod:`hope_lite.models` at one preset over sequence lengths and
``--compile`` each of them eager against ``torch.compile`` (both in ``hope_lite.bench_models``);
``--equivalence`` and ``--stability`` print no timings (``hope_lite.bench_equivalence``).

Each case runs in a fresh subprocess so that its peak memory can be read honestly: on CUDA from
``torch.cuda.max_memory_allocated``; on CPU as the growth of the process's peak resident set
(``ru_maxrss``) during one step, measured in a second subprocess in which glibc serves every block
of 64 KB or more by its own ``mmap`` (``MALLOC_MMAP_THRESHOLD_``), so that freed tensors leave the
process at once and the resident set follows the live tensors, as CUDA's number does. With glibc's
defaults, blocks freed inside the heap stay resident and the peak of a model that allocates many
mid-sized tensors reads higher (``peak_rss_mb`` of the timing process keeps that number); the timing itself runs with the defaults, since an ``mmap`` per block is slow.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from . import optim
from .bench_profile import LAYERS
from .chunking import RECOMPUTE_FLAG
from .denormals import flush_denormals, flushing
from .layers import MemoryBlock
from .models import MODELS, PRESETS
from .self_modifying import SelfModifyingTitans
from .titans import TitansLayer

class AttentionBlock(nn.Module):
    """x -> (q, k, v) -> causal softmax attention (SDPA) -> output projection."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads, self.dh = heads, width // heads
        self.qkv = nn.Linear(width, 3 * width, bias=False)
        self.out = nn.Linear(width, width, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, D = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.heads, self.dh).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.out(y.transpose(1, 2).reshape(B, T, D))


CASES = ["sdpa", "hebbian/chunked", "hebbian/reference", "delta/chunked", "delta/reference",
         "titans/chunked", "titans/reference", "titans-layer/chunked", "titans-layer/reference",
         "self-mod/chunked", "self-mod/reference"]
# the layers' per-token references take minutes at T=1024: run them on request, e.g.
# --cases titans-layer/reference,self-mod/reference --tokens 256
DEFAULT_CASES = [c for c in CASES if c not in ("titans-layer/reference", "self-mod/reference")]
# chunk sizes of the --sweep: Titans layer C; self-modifying Titans (output memory C, projections C_p)
SWEEP_TITANS = (8, 16, 32, 64, 128)
SWEEP_SELF_MOD = ((64, 8), (64, 16), (64, 32), (64, 64), (32, 32), (128, 32), (128, 64))


MODEL_TOKENS = (256, 1024, 4096)     # sequence lengths of --models


class _FirstOutput(nn.Module):
    """Wraps a layer returning ``(y, state)`` so the benchmark sees ``y`` (the state starts fresh per call)."""

    def __init__(self, layer: nn.Module, path: str) -> None:
        super().__init__()
        self.layer, self.path = layer, path

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x, path=self.path)[0]


class _PathOf(nn.Module):
    """A :class:`MemoryBlock` run on one path (``forward(x, path)``), so the benchmark calls it with ``x`` only."""

    def __init__(self, block: MemoryBlock, path: str) -> None:
        super().__init__()
        self.block, self.path = block, path

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x, path=self.path)


@dataclass
class Result:
    case: str
    batch: int
    tokens: int
    width: int
    heads: int
    chunk_size: int
    projection_chunk_size: int
    device: str
    seconds_per_iter: float
    tokens_per_s: float
    peak_mem_mb: float
    iters: int
    peak_rss_mb: float | None = None


def build(case: str, width: int, heads: int, chunk_size: int, projection_chunk_size: int = 64) -> nn.Module:
    if case == "sdpa":
        return AttentionBlock(width, heads)
    rule, path = case.split("/")
    if rule == "titans-layer":   # the per-token reference is chunk size 1 by definition
        return _FirstOutput(TitansLayer(width, heads, chunk_size), path)
    if rule == "self-mod":
        return _FirstOutput(SelfModifyingTitans(width, heads, chunk_size, projection_chunk_size), path)
    return _PathOf(MemoryBlock(rule, width, heads, chunk_size), path)


def run_case(case: str, batch: int, tokens: int, width: int, heads: int, chunk_size: int,
             device: str, min_time: float, max_iters: int, projection_chunk_size: int = 64) -> Result:
    """Time forward+backward of one case in this process."""
    torch.manual_seed(0)
    block = build(case, width, heads, chunk_size, projection_chunk_size).to(device)
    x = torch.randn(batch, tokens, width, device=device, requires_grad=True)

    def step() -> None:
        block.zero_grad(set_to_none=True)
        block(x).square().mean().backward()
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    elapsed, peak, iters = _timed(step, device, min_time, max_iters)
    return Result(case, batch, tokens, width, heads, chunk_size, projection_chunk_size, device, elapsed,
                  batch * tokens / elapsed, peak, iters)


def _timed(step, device: str, min_time: float, max_iters: int) -> tuple[float, float, int]:
    """Warm up once, then time ``step()``: (seconds per iteration, peak MB over the start, iterations).

    Peak memory on CUDA is ``max_memory_allocated``; on CPU the growth of the process's peak
    resident set (coarse, but honest: each case runs in a fresh subprocess).
    """
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    step()  # warm-up (allocations, kernel selection); counted in the peak, not in the time
    iters, start = 0, time.perf_counter()
    while iters < max_iters and (iters == 0 or time.perf_counter() - start < min_time):
        step()
        iters += 1
    elapsed = (time.perf_counter() - start) / iters
    if device.startswith("cuda"):
        peak = (torch.cuda.max_memory_allocated() - base) / 2**20
    else:  # ru_maxrss is in KiB on Linux
        peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base, 0) / 1024
    return elapsed, peak, iters


OPTIMIZER_CASES = {
    "AdamW (torch)": lambda ps: torch.optim.AdamW(ps, lr=1e-3),
    "SGD momentum (torch)": lambda ps: torch.optim.SGD(ps, lr=1e-2, momentum=0.9),
    "MomentumSGD": lambda ps: optim.MomentumSGD(ps, lr=1e-2),
    "PreconditionedMomentum": lambda ps: optim.PreconditionedMomentum(ps, lr=1e-3),
    "DeltaMomentum": lambda ps: optim.DeltaMomentum(ps, lr=1e-2),
    "DeepMomentum": lambda ps: optim.DeepMomentum(ps, lr=1e-2),
    "Muon": lambda ps: optim.Muon(ps, lr=0.02),
    "NewtonSchulzMomentum(delta)": lambda ps: optim.NewtonSchulzMomentum(ps, lr=0.02, memory="delta"),
    "M3": lambda ps: optim.M3(ps, lr=1e-3),
}


def _median_seconds(fn, device: str, min_time: float) -> float:
    """Median wall time of ``fn()`` over at least 5 runs and about ``min_time`` seconds."""
    times, start = [], time.perf_counter()
    while len(times) < 5 or (time.perf_counter() - start < min_time and len(times) < 1000):
        t0 = time.perf_counter()
        fn()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def newton_schulz_flops(shape: tuple[int, int], steps: int = 5) -> int:
    """Multiply-adds x 2 of ``steps`` quintic iterations on an (r, c) matrix, short side s = min(r, c).

    Per iteration: A = X X^T (2 s^2 l), A @ A (2 s^3), (bA + cA^2) @ X (2 s^2 l), with l the long side.
    """
    s, l = min(shape), max(shape)
    return steps * (4 * s * s * l + 2 * s ** 3)


def optimizer_report(device: str, min_time: float, train_batch: int) -> None:
    """Time every optimizer on a ~1M-parameter MLP, all in this run, two ways.

    ``step`` times ``optimizer.step()`` alone on fixed gradients; ``train`` times a whole training
    step (forward, backward, step) on a batch of ``train_batch`` rows, which is what a user waits
    for. For the Newton-Schulz optimizers it also prints the arithmetic floor: their matrix
    products, at this machine's measured matmul rate, cannot take less time than that.
    """
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(512, 1024), nn.GELU(), nn.Linear(1024, 512)).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    model(torch.randn(64, 512, device=device)).square().mean().backward()   # fixed gradients
    grads = [p.grad.clone() for p in model.parameters()]
    x = torch.randn(train_batch, 512, device=device)
    step_time, train_time = {}, {}
    for name, build in OPTIMIZER_CASES.items():
        opt = build(model.parameters())
        for p, g in zip(model.parameters(), grads):
            p.grad = g.clone()
        opt.step()  # warm-up: creates the state
        step_time[name] = _median_seconds(opt.step, device, min_time)

        def train_step() -> None:
            opt.zero_grad()
            model(x).square().mean().backward()
            opt.step()
        train_step()
        train_time[name] = _median_seconds(train_step, device, min_time)
    a = torch.randn(1024, 1024, device=device)
    matmul_rate = 2 * 1024 ** 3 / _median_seconds(lambda: a @ a, device, min_time)
    ns_flops = sum(newton_schulz_flops(tuple(p.shape)) for p in model.parameters() if p.dim() == 2)
    print(f"optimizers on an MLP with {n_params:,} parameters (512-1024-512), device={device}, "
          f"torch={torch.__version__}, threads={torch.get_num_threads()} {denormals_note()}; median of repeated runs")
    print(f"step = optimizer.step() alone; train = forward + backward + step on a batch of {train_batch} rows")
    print(f"{'optimizer':<30}{'step ms':>9}{'x AdamW':>9}{'train ms':>10}{'x AdamW':>9}")
    for name in OPTIMIZER_CASES:
        print(f"{name:<30}{1e3 * step_time[name]:9.2f}{step_time[name] / step_time['AdamW (torch)']:9.2f}"
              f"{1e3 * train_time[name]:10.1f}{train_time[name] / train_time['AdamW (torch)']:9.2f}")
    floor = ns_flops / matmul_rate
    print(f"arithmetic floor of a Newton-Schulz step: 5 quintic iterations on both weight matrices = "
          f"{ns_flops / 1e9:.1f} GFLOP; at this machine's matmul rate ({matmul_rate / 1e9:.0f} GFLOP/s, "
          f"1024x1024 float32) >= {1e3 * floor:.0f} ms = {floor / step_time['AdamW (torch)']:.0f}x an AdamW step")


def newton_schulz_report() -> None:
    """Orthogonality error of Newton-Schulz on random Gaussian matrices of several shapes (float64)."""
    print("Newton-Schulz orthogonality on random Gaussian matrices (float64): max |O O^T - I| on the short side, "
          "and the range of O's singular values")
    print(f"{'shape':<12}{'coefficients':<14}{'steps':>6}{'max |OO^T - I|':>17}{'sv min':>9}{'sv max':>9}")
    gen = torch.Generator().manual_seed(0)
    for shape in ((64, 64), (128, 512), (512, 128), (1024, 512)):
        G = torch.randn(*shape, generator=gen, dtype=torch.float64)
        for coefficients, steps in (("quintic", 5), ("cubic", 5), ("cubic", 10), ("cubic", 30)):
            O = optim.newton_schulz(G, steps, coefficients)
            gram = O @ O.T if shape[0] <= shape[1] else O.T @ O
            err = (gram - torch.eye(gram.shape[0], dtype=gram.dtype)).abs().max().item()
            sv = torch.linalg.svdvals(O)
            print(f"{str(shape):<12}{coefficients:<14}{steps:>6}{err:17.2e}{sv.min().item():9.3f}{sv.max().item():9.3f}")


def sweep_report(args: argparse.Namespace) -> int:
    """Tokens/s of both Titans layers over chunk sizes, next to the SDPA block of the same run."""
    def run(case: str, **override: int) -> Result:
        return run_in_subprocess(case, argparse.Namespace(**{**vars(args), **override}))
    sdpa = run("sdpa").tokens_per_s
    print(f"chunk-size sweep, forward+backward, B={args.batch} T={args.tokens} width={args.width} "
          f"heads={args.heads} device={args.device} torch={torch.__version__} threads={torch.get_num_threads()} {denormals_note()}")
    print(f"sdpa block: {sdpa:.0f} tokens/s")
    print(f"{'layer':<22}{'C':>5}{'C_proj':>8}{'tokens/s':>11}{'ms/iter':>10}{'peak MB':>10}{'x SDPA':>9}")
    rows = [("titans-layer/chunked", C, None) for C in SWEEP_TITANS]
    rows += [("self-mod/chunked", C, Cp) for C, Cp in SWEEP_SELF_MOD]
    for case, C, Cp in rows:
        r = run(case, chunk_size=C, **({"projection_chunk_size": Cp} if Cp else {}))
        print(f"{case.split('/')[0]:<22}{C:>5}{Cp if Cp else '':>8}{r.tokens_per_s:11.0f}"
              f"{1e3 * r.seconds_per_iter:10.1f}{r.peak_mem_mb:10.1f}{r.tokens_per_s / sdpa:9.2f}")
    return 0


def denormals_note() -> str:
    """How this thread treats denormal floats now, for the tables' header lines."""
    return "denormals=flushed" if flushing() else "denormals=kept (IEEE)"


# the memory pass of a CPU case: every block of 64 KB or more its own mmap, returned to the system when freed
MEMORY_PASS_ENV = {"MALLOC_MMAP_THRESHOLD_": str(64 * 1024)}


def _json_of(cmd: list[str], what: str, env: dict | None = None) -> dict:
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measured_in_subprocesses(cmd: list[str], device: str, what: str, memory: bool = True) -> dict:
    """Run a case's command (it prints one JSON row) for its timing and, on CPU, again for its peak memory.

    The memory pass times one step only, with :data:`MEMORY_PASS_ENV` (see the module docstring);
    its ``peak_mem_mb`` replaces the timing run's, which stays as ``peak_rss_mb``.
    """
    row = _json_of(cmd, what)
    if memory and not device.startswith("cuda"):
        once = [*cmd[:cmd.index("--min-time")], "--min-time", "0", *cmd[cmd.index("--min-time") + 2:]]
        measured = _json_of(once, what + " (memory pass)", env={**os.environ, **MEMORY_PASS_ENV})
        row["peak_rss_mb"], row["peak_mem_mb"] = row["peak_mem_mb"], measured["peak_mem_mb"]
    return row


def run_in_subprocess(case: str, args: argparse.Namespace) -> Result:
    cmd = [sys.executable, "-m", "hope_lite.bench", "--one-case", case, "--batch", str(args.batch),
           "--tokens", str(args.tokens), "--width", str(args.width), "--heads", str(args.heads),
           "--chunk-size", str(args.chunk_size), "--projection-chunk-size", str(args.projection_chunk_size),
           "--device", args.device, "--min-time", str(args.min_time), "--threads", str(args.threads)]
    if args.keep_denormals:
        cmd += ["--keep-denormals"]
    return Result(**measured_in_subprocesses(cmd, args.device, f"benchmark case {case}"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m hope_lite.bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="short sequences and short timing (a smoke run)")
    p.add_argument("--json", action="store_true", help="print one JSON object per case instead of a table")
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--tokens", type=int, default=1024)
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--chunk-size", type=int, default=64)
    p.add_argument("--projection-chunk-size", type=int, default=64,
                   help="self-modifying Titans: chunk size of the k, v, eta, alpha memories (default 64)")
    p.add_argument("--stability", action="store_true",
                   help="stream 16k tokens of inputs x100 through both Titans layers; report the largest memory norm")
    p.add_argument("--sweep", action="store_true",
                   help="chunk-size sweep of the Titans layer and self-modifying Titans (with the SDPA block)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--min-time", type=float, default=2.0, help="seconds of timed runs per case")
    p.add_argument("--cases", default=",".join(DEFAULT_CASES),
                   help=f"comma-separated subset of {CASES} (default: all but the two layer references)")
    p.add_argument("--equivalence", action="store_true",
                   help="print how closely the reference and chunked paths agree (no timing)")
    p.add_argument("--gate-gradients", action="store_true",
                   help="gate gradients at 0 and 1 against central differences, every gated memory (no timing)")
    p.add_argument("--optimizers", action="store_true",
                   help="time every hope_lite optimizer next to torch's AdamW: the step alone and a whole training step")
    p.add_argument("--train-batch", type=int, default=4096,
                   help="rows per training step in the --optimizers report (default 4096)")
    p.add_argument("--models", action="store_true",
                   help="the four language models (hope, hope-attention, transformer, titans) at --preset over --model-tokens")
    p.add_argument("--preset", default="small", help=f"model preset for --models, one of {tuple(PRESETS)}")
    p.add_argument("--model-tokens", type=int, nargs="+", default=list(MODEL_TOKENS),
                   help="sequence lengths for --models (default 256 1024 4096)")
    p.add_argument("--model-batch", type=int, default=8,
                   help="sequences per step for --models (default 8, the trainer's default batch)")
    p.add_argument("--bf16", action="store_true", help="--models under bf16 autocast")
    p.add_argument("--compile", action="store_true",
                   help="each model of --compile-models eager and under torch.compile, at the first --model-tokens")
    p.add_argument("--compile-models", nargs="+", default=list(MODELS), help="models for --compile (default all four)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads in every timed process (default 1: small tensors run fastest and steadiest so)")
    p.add_argument("--repeats", type=int, default=3,
                   help="--models: run the whole interleaved sweep this many times, keep each case's best (default 3)")
    p.add_argument("--recompute", choices=tuple(RECOMPUTE_FLAG), default="auto",
                   help="--models / --compile: the models' recompute_chunks (activation checkpointing; default auto)")
    p.add_argument("--save", metavar="FILE", help="--models: write the rows and the command as JSON")
    p.add_argument("--figure", metavar="FILE", help="--models: draw tokens/s and peak memory against T (PNG)")
    p.add_argument("--keep-denormals", action="store_true",
                   help="leave denormal floats to the CPU (IEEE) instead of flushing them to zero (hope_lite.denormals)")
    p.add_argument("--profile", action="store_true",
                   help="torch.profiler of one forward+backward of each --profile-target at --batch, --tokens: "
                        "operation counts, the share outside any operation, the top operations")
    p.add_argument("--flops", action="store_true",
                   help="arithmetic (GFLOP of matrix products) of one forward+backward of each --profile-target, "
                        "its time (best of --repeats) and rate, against the first target")
    p.add_argument("--profile-target", nargs="+", default=["self-mod", "hope"],
                   help=f"models {MODELS} or layers {LAYERS} for --profile and --flops (default self-mod hope)")
    p.add_argument("--profile-top", type=int, default=12, help="operations listed by --profile (default 12)")
    p.add_argument("--one-case", help=argparse.SUPPRESS)
    p.add_argument("--one-model", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    for name in ("batch", "tokens", "width", "heads", "chunk_size", "projection_chunk_size", "train_batch",
                 "model_batch"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.width % args.heads:
        p.error(f"--width ({args.width}) must be divisible by --heads ({args.heads})")
    if args.preset not in PRESETS:
        p.error(f"--preset must be one of {tuple(PRESETS)}, got {args.preset!r}")
    if any(T < 1 for T in args.model_tokens):
        p.error("--model-tokens must all be >= 1")
    if args.threads < 1:
        p.error("--threads must be >= 1")
    if args.repeats < 1:
        p.error("--repeats must be >= 1")
    torch.set_num_threads(args.threads)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if not args.keep_denormals:          # before the first parallel operation: torch's worker threads inherit it
        flush_denormals()
    bad_models = [m for m in args.compile_models if m not in MODELS]
    if bad_models:
        p.error(f"--compile-models: unknown model(s) {bad_models}; choose from {MODELS}")
    bad_targets = [t for t in args.profile_target if t not in MODELS + LAYERS]
    if bad_targets:
        p.error(f"--profile-target: unknown {bad_targets}; choose from {MODELS + LAYERS}")
    from .bench_equivalence import equivalence_report, gate_gradient_report, stability_report
    from .bench_models import compile_report, model_report, run_model_case
    if args.equivalence:
        equivalence_report()
        return 0
    if args.gate_gradients:
        gate_gradient_report()
        return 0
    if args.profile:
        from .bench_profile import profile_report
        return profile_report(args)
    if args.flops:
        from .bench_profile import flops_report
        return flops_report(args)
    if args.one_model:
        print(json.dumps(run_model_case(args.one_model, args.preset, args.batch, args.tokens, args.device,
                                        args.min_time, args.bf16, compile=args.compile, recompute=args.recompute)))
        return 0
    if args.compile and not args.one_model:
        return compile_report(args)
    if args.models:
        return model_report(args)
    if args.optimizers:
        optimizer_report(args.device, 0.3 if args.quick else args.min_time,
                         256 if args.quick else args.train_batch)
        print()
        newton_schulz_report()
        return 0
    if args.quick:
        args.tokens, args.min_time = min(args.tokens, 256), 0.3
    if args.one_case:
        res = run_case(args.one_case, args.batch, args.tokens, args.width, args.heads, args.chunk_size,
                       args.device, args.min_time, max_iters=1000, projection_chunk_size=args.projection_chunk_size)
        print(json.dumps(asdict(res)))
        return 0
    if args.stability:
        stability_report()
        return 0
    if args.sweep:
        return sweep_report(args)
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    bad = [c for c in cases if c not in CASES]
    if bad:
        p.error(f"unknown case(s) {bad}; choose from {CASES}")
    if "sdpa" not in cases:
        cases.insert(0, "sdpa")
    results = {c: run_in_subprocess(c, args) for c in cases}
    sdpa = results["sdpa"].tokens_per_s
    if args.json:
        for c, r in results.items():
            row = asdict(r)
            row["ratio_to_sdpa"] = r.tokens_per_s / sdpa
            if c.endswith("/chunked") and c.replace("chunked", "reference") in results:
                row["speedup_over_reference"] = r.tokens_per_s / results[c.replace("chunked", "reference")].tokens_per_s
            print(json.dumps(row))
        return 0
    print(f"forward+backward, B={args.batch} T={args.tokens} width={args.width} heads={args.heads} "
          f"chunk={args.chunk_size} device={args.device} torch={torch.__version__} threads={torch.get_num_threads()} {denormals_note()}")
    print(f"{'case':<20}{'tokens/s':>12}{'ms/iter':>10}{'peak MB':>10}{'x SDPA':>9}{'x ref':>9}")
    for c, r in results.items():
        ref = results.get(c.replace("chunked", "reference")) if c.endswith("/chunked") else None
        ratio_ref = f"{r.tokens_per_s / ref.tokens_per_s:9.1f}" if ref else f"{'':>9}"
        print(f"{c:<20}{r.tokens_per_s:12.0f}{1e3 * r.seconds_per_iter:10.1f}{r.peak_mem_mb:10.1f}"
              f"{r.tokens_per_s / sdpa:9.2f}{ratio_ref}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
