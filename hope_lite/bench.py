"""Speed and memory benchmarks: ``python -m hope_lite.bench [--quick] [--json]``.

Every case is a *block* of the same width: input projections -> token mixer -> output
projection, timed forward + backward (the memory writes included) on the same inputs. The
mixers are the memories of :mod:`hope_lite.memory` and :mod:`hope_lite.deep_memory` (per-token reference and chunked paths), the
whole layers of :mod:`hope_lite.titans` (Titans LMM and self-modifying Titans) and, as the
yardstick, PyTorch's causal ``scaled_dot_product_attention``. Ratios to that SDPA block are
printed from numbers measured in the same run. ``--sweep`` runs the Titans layers over chunk
sizes; ``--stability`` streams 16k tokens of inputs scaled x100 through both layers; ``--models``
times the four language models of :mod:`hope_lite.models` at one preset over sequence lengths.

Each case runs in a fresh subprocess so that its peak memory can be read honestly: on CUDA from
``torch.cuda.max_memory_allocated``, on CPU as the growth of the process's peak resident set
(``ru_maxrss``) during the timed runs over what it held before them.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from . import optim
from .layers import MemoryBlock, make_memory
from .models import MODELS, PRESETS, build_model, count_parameters
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


MODEL_TOKENS = (256, 1024, 4096)


def run_model_case(model: str, preset: str, batch: int, tokens: int, device: str, min_time: float,
                   bf16: bool = False) -> dict:
    """Forward + backward of a language model (next-byte cross-entropy), memory writes included."""
    torch.manual_seed(0)
    net = build_model(model, preset, device=device)
    x = torch.randint(0, net.config.vocab_size, (batch, tokens + 1), device=device)

    def step() -> None:
        net.zero_grad(set_to_none=True)
        with torch.autocast(device_type="cuda" if device.startswith("cuda") else "cpu", dtype=torch.bfloat16,
                            enabled=bf16):
            logits = net(x[:, :-1])[0]
        F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1)).backward()
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    elapsed, peak, iters = _timed(step, device, min_time, max_iters=1000)
    return {"model": model, "preset": preset, "batch": batch, "tokens": tokens, "device": device, "bf16": bf16,
            "parameters": count_parameters(net), "seconds_per_iter": elapsed,
            "tokens_per_s": batch * tokens / elapsed, "peak_mem_mb": peak, "iters": iters}


def model_report(args: argparse.Namespace) -> int:
    """Tokens/s and peak memory of the four models at one preset over sequence lengths (same run)."""
    rows = []
    for T in args.model_tokens:
        for model in MODELS:
            cmd = [sys.executable, "-m", "hope_lite.bench", "--one-model", model, "--preset", args.preset,
                   "--batch", str(args.model_batch), "--tokens", str(T), "--device", args.device,
                   "--min-time", str(args.min_time)] + (["--bf16"] if args.bf16 else [])
            out = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if out.returncode != 0:
                raise RuntimeError(f"model case {model} T={T} failed:\n{out.stderr}")
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    if args.json:
        for r in rows:
            print(json.dumps(r))
        return 0
    print(f"language models, forward+backward (next-byte loss), preset={args.preset}, B={args.model_batch}, "
          f"device={args.device}{', bf16 autocast' if args.bf16 else ''}, torch={torch.__version__}, "
          f"threads={torch.get_num_threads()}")
    print(f"{'model':<16}{'params':>10}{'T':>7}{'tokens/s':>11}{'ms/iter':>10}{'peak MB':>10}{'x Transformer++':>17}")
    for r in rows:
        base = next(b for b in rows if b["model"] == "transformer" and b["tokens"] == r["tokens"])
        print(f"{r['model']:<16}{r['parameters']:>10,}{r['tokens']:>7}{r['tokens_per_s']:11.0f}"
              f"{1e3 * r['seconds_per_iter']:10.1f}{r['peak_mem_mb']:10.1f}{r['tokens_per_s'] / base['tokens_per_s']:17.2f}")
    return 0


def equivalence_report() -> None:
    """Print how far apart the paths are (max abs differences), the figures the tests bound."""
    def inputs(T, dtype, lead=(2, 3), d=16, seed=0):
        g = torch.Generator().manual_seed(seed)
        q, k, v = (torch.randn(*lead, T, d, dtype=dtype, generator=g) for _ in range(3))
        return q, F.normalize(k, dim=-1), v, g

    def gates(rule, shape, g, dtype):
        r = lambda: torch.rand(shape, dtype=dtype, generator=g)  # noqa: E731
        return {"theta": 0.3 * r(), "eta": r(), "alpha": 0.2 * r()} if rule == "titans" else \
            {"eta": r(), "alpha": 0.5 + 0.5 * r()}

    def memory(rule, dtype):
        torch.manual_seed(0)
        return make_memory(rule, 16).to(dtype)

    f64, f32, rules = torch.float64, torch.float32, ("hebbian", "delta", "titans")
    print("reference vs chunked with chunk_size=1 (float64, T=200, batch (2, 3), d=16), random gates:")
    for rule in rules:
        q, k, v, g = inputs(200, f64)
        gt, m = gates(rule, (2, 3, 200), g, f64), memory(rule, f64)
        diff = (m(q, k, v, path="reference", **gt)[0] - m(q, k, v, chunk_size=1, **gt)[0]).abs().max()
        print(f"  {rule:8s} max |diff| = {diff.item():.2e}")
    print("chunkwise delta rule, chunk_size=64 vs per-token (float64, T=1000):")
    q, k, v, g = inputs(1000, f64)
    m = memory("delta", f64)
    for label, gt in (("random eta, alpha", gates("delta", (2, 3, 1000), g, f64)),
                      ("eta = alpha = 1", {"eta": 1.0, "alpha": 1.0})):
        diff = (m(q, k, v, path="reference", **gt)[0] - m(q, k, v, chunk_size=64, **gt)[0]).abs().max()
        print(f"  {label:18s} max |diff| = {diff.item():.2e}")
    print("streaming: 300 + 700 tokens with carried state vs one call of 1000 (float32, chunk_size=64):")
    for rule in rules:
        q, k, v, g = inputs(1000, f32)
        gt, m = gates(rule, (2, 3, 1000), g, f32), memory(rule, f32)
        y = m(q, k, v, chunk_size=64, **gt)[0]
        cut = lambda x, sl: x[..., sl, :] if x.dim() == 4 else x[..., sl]  # noqa: E731
        a, b = slice(0, 300), slice(300, 1000)
        y1, s = m(cut(q, a), cut(k, a), cut(v, a), chunk_size=64, **{n: cut(x, a) for n, x in gt.items()})
        y2, _ = m(cut(q, b), cut(k, b), cut(v, b), state=s, chunk_size=64, **{n: cut(x, b) for n, x in gt.items()})
        print(f"  {rule:8s} max |diff| = {(torch.cat([y1, y2], -2) - y).abs().max().item():.2e}")
    print("causality: perturb token t+1 (q, k, v), largest change of an output at positions <= t")
    print("  (float64, T=130, t = 0, 7, ..., 126, chunk sizes 1, 4, 16, 64):")
    for rule in rules:
        worst = 0.0
        for C in (1, 4, 16, 64):
            q, k, v, g = inputs(130, f64)
            gt, m = gates(rule, (2, 3, 130), g, f64), memory(rule, f64)
            y = m(q, k, v, chunk_size=C, **gt)[0]
            for t in range(0, 129, 7):
                q2, k2, v2 = q.clone(), k.clone(), v.clone()
                q2[..., t + 1, :] += 1
                v2[..., t + 1, :] -= 1
                k2[..., t + 1, :] = F.normalize(k2[..., t + 1, :] + 1, dim=-1)
                y2 = m(q2, k2, v2, chunk_size=C, **gt)[0]
                worst = max(worst, (y2[..., : t + 1, :] - y[..., : t + 1, :]).abs().max().item())
        print(f"  {rule:8s} max |change| = {worst:.1e}")
    layer_equivalence_report()


def layer_equivalence_report() -> None:
    """The same four checks for the two Titans layers (hope_lite.titans), width 32, 4 heads."""
    def layers(C, Cp, dtype):
        torch.manual_seed(0)
        return {"titans-layer": TitansLayer(32, 4, C).to(dtype),
                "self-mod": SelfModifyingTitans(32, 4, C, Cp).to(dtype),
                "self-mod (adaptive q)": SelfModifyingTitans(32, 4, C, Cp, adaptive_q=True).to(dtype)}

    def x(T, dtype, seed=0):
        return torch.randn(2, T, 32, dtype=dtype, generator=torch.Generator().manual_seed(seed))

    f64 = torch.float64
    print("Titans layers, reference vs chunked with chunk sizes 1 (float64, B=2, T=64, width 32, 4 heads):")
    for name, layer in layers(1, 1, f64).items():
        y = layer(x(64, f64))[0]
        print(f"  {name:22s} max |diff| = {(layer(x(64, f64), path='reference')[0] - y).abs().max().item():.2e}")
    print("Titans layers, streaming: 100 + 413 tokens vs one call of 513 (float64, C=64, C_proj=32):")
    for name, layer in layers(64, 32, f64).items():
        xs = x(513, f64)
        y = layer(xs)[0]
        y1, s = layer(xs[:, :100])
        y2, _ = layer(xs[:, 100:], state=s)
        print(f"  {name:22s} max |diff| = {(torch.cat([y1, y2], 1) - y).abs().max().item():.2e}")
    print("Titans layers, causality: perturb token t+1, largest change at positions <= t")
    print("  (float64, T=96, t = 0, 15, ..., 90, chunk sizes (C, C_proj) = (1, 1), (8, 4), (32, 16)):")
    worst = {}
    for C, Cp in ((1, 1), (8, 4), (32, 16)):
        for name, layer in layers(C, Cp, f64).items():
            xs = x(96, f64)
            y = layer(xs)[0]
            for t in range(0, 91, 15):
                x2 = xs.clone()
                x2[:, t + 1] += 1
                change = (layer(x2)[0][:, : t + 1] - y[:, : t + 1]).abs().max().item()
                worst[name] = max(worst.get(name, 0.0), change)
    for name, w in worst.items():
        print(f"  {name:22s} max |change| = {w:.1e}")


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
          f"torch={torch.__version__}, threads={torch.get_num_threads()}; median of repeated runs")
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


def stability_report(tokens: int = 16384, scale: float = 100.0, width: int = 256, heads: int = 4) -> None:
    """Stream ``tokens`` inputs scaled by ``scale`` through both Titans layers (default settings).

    Prints whether every output and memory weight stayed finite and the largest Frobenius norm of
    any memory's weight matrix (per head) at the end of the stream.
    """
    print(f"stability: {tokens} tokens of N(0, 1) inputs x {scale:g}, width={width}, heads={heads}, "
          "default layer settings, one call (chunked path)")
    for cls in (TitansLayer, SelfModifyingTitans):
        torch.manual_seed(0)
        layer = cls(width, heads)
        x = scale * torch.randn(1, tokens, width)
        start = time.perf_counter()
        with torch.no_grad():
            y, state = layer(x)
        seconds = time.perf_counter() - start
        weights = (state.memory.weights if cls is TitansLayer
                   else state.memory + [w.flatten(0, 1) for w in state.projections])
        finite = bool(torch.isfinite(y).all()) and all(bool(torch.isfinite(w).all()) for w in weights)
        largest = max(w.flatten(-2).norm(dim=-1).max().item() for w in weights)
        print(f"  {cls.__name__:<20} finite={finite}  largest memory norm={largest:.2f}  "
              f"max |y|={y.abs().max().item():.3f}  ({seconds:.1f} s)")


def sweep_report(args: argparse.Namespace) -> int:
    """Tokens/s of both Titans layers over chunk sizes, next to the SDPA block of the same run."""
    def run(case: str, **override: int) -> Result:
        return run_in_subprocess(case, argparse.Namespace(**{**vars(args), **override}))
    sdpa = run("sdpa").tokens_per_s
    print(f"chunk-size sweep, forward+backward, B={args.batch} T={args.tokens} width={args.width} "
          f"heads={args.heads} device={args.device} torch={torch.__version__} threads={torch.get_num_threads()}")
    print(f"sdpa block: {sdpa:.0f} tokens/s")
    print(f"{'layer':<22}{'C':>5}{'C_proj':>8}{'tokens/s':>11}{'ms/iter':>10}{'peak MB':>10}{'x SDPA':>9}")
    rows = [("titans-layer/chunked", C, None) for C in SWEEP_TITANS]
    rows += [("self-mod/chunked", C, Cp) for C, Cp in SWEEP_SELF_MOD]
    for case, C, Cp in rows:
        r = run(case, chunk_size=C, **({"projection_chunk_size": Cp} if Cp else {}))
        print(f"{case.split('/')[0]:<22}{C:>5}{Cp if Cp else '':>8}{r.tokens_per_s:11.0f}"
              f"{1e3 * r.seconds_per_iter:10.1f}{r.peak_mem_mb:10.1f}{r.tokens_per_s / sdpa:9.2f}")
    return 0


def run_in_subprocess(case: str, args: argparse.Namespace) -> Result:
    cmd = [sys.executable, "-m", "hope_lite.bench", "--one-case", case, "--batch", str(args.batch),
           "--tokens", str(args.tokens), "--width", str(args.width), "--heads", str(args.heads),
           "--chunk-size", str(args.chunk_size), "--projection-chunk-size", str(args.projection_chunk_size),
           "--device", args.device, "--min-time", str(args.min_time)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"benchmark case {case} failed:\n{out.stderr}")
    return Result(**json.loads(out.stdout.strip().splitlines()[-1]))


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
    if args.equivalence:
        equivalence_report()
        return 0
    if args.one_model:
        print(json.dumps(run_model_case(args.one_model, args.preset, args.batch, args.tokens, args.device,
                                        args.min_time, args.bf16)))
        return 0
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
          f"chunk={args.chunk_size} device={args.device} torch={torch.__version__} threads={torch.get_num_threads()}")
    print(f"{'case':<20}{'tokens/s':>12}{'ms/iter':>10}{'peak MB':>10}{'x SDPA':>9}{'x ref':>9}")
    for c, r in results.items():
        ref = results.get(c.replace("chunked", "reference")) if c.endswith("/chunked") else None
        ratio_ref = f"{r.tokens_per_s / ref.tokens_per_s:9.1f}" if ref else f"{'':>9}"
        print(f"{c:<20}{r.tokens_per_s:12.0f}{1e3 * r.seconds_per_iter:10.1f}{r.peak_mem_mb:10.1f}"
              f"{r.tokens_per_s / sdpa:9.2f}{ratio_ref}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
