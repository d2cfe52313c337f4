"""Where a training step's time goes: ``python -m hope_lite.bench --profile / --flops [--profile-target ...]``.

One forward + backward (next-byte loss for a model; a squared-output loss for a layer) under
``torch.profiler`` on the CPU, after a warm-up step. It prints what decides how to make the step
faster: how many PyTorch operations ran, how many per layer and per chunk (a chunked memory's chunk
loop runs hundreds of small operations, most too short to reach the machine's arithmetic rate), how
many were short (under 20 µs, where dispatch and Python dominate), how much of the wall time no operation
accounts for (Python and dispatch between them), and the operations that take the most time.

``--flops`` answers the question before that one: how much arithmetic the step is. It counts the
floating-point operations of the matrix products (``torch.utils.flop_counter``, with attention's CPU
kernel added: causal attention counted as half of its T x T products, what the kernel computes) and
divides by the step's time: a model that does k times the arithmetic of another cannot run faster
than 1/k of its speed at the same rate, however few operations it launches.

Targets: a model of :data:`~hope_lite.models.MODELS` at ``--preset``, or one of the layers
``self-mod`` (self-modifying Titans), ``titans-layer`` and ``sdpa`` (attention) at ``--width`` /
``--heads`` / ``--chunk-size`` (the block table's layers); B and T are ``--batch`` and ``--tokens``
(default 2 and 1024).
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import FlopCounterMode, sdpa_backward_flop_count, sdpa_flop_count

from .chunking import RECOMPUTE_FLAG
from .models import MODELS, build_model

__all__ = ["LAYERS", "profile_step", "profile_report", "count_flops", "flops_report"]

LAYERS = ("self-mod", "titans-layer", "sdpa")
SHORT_US = 20.0        # an operation shorter than this is mostly overhead


def _step_of(target: str, args: argparse.Namespace):
    """(one training step, layers of the target that run the chunk loop, its chunk size)."""
    torch.manual_seed(0)
    B, T = args.batch, args.tokens
    if target in MODELS:
        net = build_model(target, args.preset)
        net.recompute_chunks = RECOMPUTE_FLAG[args.recompute]
        x = torch.randint(0, 256, (B, T + 1))

        def step() -> None:
            net.zero_grad(set_to_none=True)
            logits = net(x[:, :-1])[0]
            F.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1)).backward()
        return step, net.config.depth, net.config.chunk_size
    from .bench import build               # the block table's layer, at --width, --heads and --chunk-size
    layer = build(target if target == "sdpa" else f"{target}/chunked", args.width, args.heads, args.chunk_size, args.projection_chunk_size)
    x = torch.randn(B, T, args.width, requires_grad=True)

    def step() -> None:
        layer.zero_grad(set_to_none=True)
        layer(x).square().mean().backward()
    return step, 1, args.chunk_size


def profile_step(target: str, args: argparse.Namespace) -> dict:
    """Profile one step of ``target`` (after one warm-up step): counts, shares and the top operations."""
    step, layers, chunk = _step_of(target, args)
    step()
    plain = []
    for _ in range(2):                # the step without the profiler, which slows every operation down
        start = time.perf_counter()
        step()
        plain.append(time.perf_counter() - start)
    start = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step()
    wall_us = 1e6 * (time.perf_counter() - start)
    # the operations a user's code (or autograd's backward nodes) called: aten operations not called by another
    # aten operation, so that an operation's own calls (a matmul's bmm, a copy's fill) are not counted twice
    is_op = lambda e: e.name.startswith("aten::")  # noqa: E731
    events = [e for e in prof.events() if is_op(e) and not (e.cpu_parent is not None and is_op(e.cpu_parent))]
    op_us = sum(e.cpu_time_total for e in events)
    T = args.tokens
    chunks = -(-T // chunk)
    table = {}
    averages = prof.key_averages()
    for e in averages:                 # the operations only: not autograd's node wrappers or profiler markers
        if e.key.startswith("aten::"):
            table[e.key] = (e.count, e.self_cpu_time_total)
    top = sorted(table.items(), key=lambda kv: -kv[1][1])[:args.profile_top]
    return {"target": target, "batch": args.batch, "tokens": T, "threads": torch.get_num_threads(),
            "operations": len(events), "per_layer_per_chunk": len(events) / (layers * chunks),
            "short_share": sum(e.cpu_time_total < SHORT_US for e in events) / max(len(events), 1),
            "outside_share": max(0.0, 1 - op_us / wall_us), "wall_ms": wall_us / 1e3, "unprofiled_ms": 1e3 * min(plain),
            "self_ms_total": sum(e.self_cpu_time_total for e in averages) / 1e3,   # shares of all profiled time
            "top": [{"name": k, "count": c, "self_ms": s / 1e3} for k, (c, s) in top]}


def profile_report(args: argparse.Namespace) -> int:
    for target in args.profile_target:
        r = profile_step(target, args)
        print(f"profile of one forward+backward: {target}, B={r['batch']}, T={r['tokens']}, "
              f"threads={r['threads']}, torch={torch.__version__}, recompute={args.recompute}")
        print(f"  {r['operations']:,} operations ({r['per_layer_per_chunk']:.0f} per layer per chunk), "
              f"{100 * r['short_share']:.0f} % shorter than {SHORT_US:.0f} µs; profiled step {r['wall_ms']:.0f} ms "
              f"(without the profiler {r['unprofiled_ms']:.0f} ms), {100 * r['outside_share']:.0f} % of it outside any "
              f"operation (Python, dispatch, the profiler's own work)")
        print(f"  {'operation':<40}{'calls':>8}{'self ms':>10}{'share':>8}")
        for row in r["top"]:
            print(f"  {row['name'][:40]:<40}{row['count']:>8}{row['self_ms']:10.1f}"
                  f"{100 * row['self_ms'] / r['self_ms_total']:7.1f}%")
    return 0


# attention's CPU kernel, which torch's counter does not know: the two T x T products forward, four backward
# (torch's own formulas), halved when causal (the kernel skips the blocks above the diagonal)
def _cpu_attention(q, k, v, dropout_p=0.0, is_causal=False, *args, out_shape=None, **kwargs) -> int:
    return sdpa_flop_count(q, k, v) // (2 if is_causal else 1)


def _cpu_attention_backward(grad, q, k, v, out, lse, dropout_p, is_causal, *args, out_shape=None, **kwargs) -> int:
    return sdpa_backward_flop_count(grad, q, k, v) // (2 if is_causal else 1)


_CPU_ATTENTION = {torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: _cpu_attention,
                  torch.ops.aten._scaled_dot_product_flash_attention_for_cpu_backward: _cpu_attention_backward}


def count_flops(step) -> int:
    """Floating-point operations of the matrix products (mm, bmm, attention, ...) that ``step()`` runs."""
    with FlopCounterMode(display=False, custom_mapping=_CPU_ATTENTION) as counter:
        step()
    return counter.get_total_flops()


def flops_report(args: argparse.Namespace) -> int:
    """Arithmetic of one forward + backward of each target, its time and rate; ratios to the first target."""
    rows = []
    for target in args.profile_target:
        step, _, _ = _step_of(target, args)
        flops = count_flops(step)
        times = []
        for _ in range(args.repeats):                 # warm by the counted step above; best of --repeats
            start = time.perf_counter()
            step()
            times.append(time.perf_counter() - start)
        rows.append((target, flops, min(times)))
    first = rows[0]
    print(f"arithmetic of one forward+backward (matrix products; causal attention counted as half of T x T), "
          f"B={args.batch}, T={args.tokens}, preset={args.preset}, threads={torch.get_num_threads()}, "
          f"torch={torch.__version__}, recompute={args.recompute}, best of {args.repeats}")
    print(f"{'target':<16}{'GFLOP':>10}{'ms/step':>10}{'GFLOP/s':>10}{'x GFLOP':>10}{'x time':>9}")
    for target, flops, seconds in rows:
        print(f"{target:<16}{flops / 1e9:10.4g}{1e3 * seconds:10.1f}{flops / 1e9 / seconds:10.1f}"
              f"{flops / first[1]:10.2f}{seconds / first[2]:9.2f}")
    print(f"(x GFLOP, x time: against {first[0]}; at equal GFLOP/s the time ratio would equal the arithmetic ratio)")
    return 0
