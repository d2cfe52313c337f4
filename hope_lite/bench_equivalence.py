"""Equivalence and stability reports of ``python -m hope_lite.bench`` (no timing).

``--equivalence`` prints how far apart each memory's and layer's reference and chunked paths
are (the figures the tests bound); ``--gate-gradients`` compares gate gradients at the bounds of
the gates' ranges with central differences; ``--stability`` runs the Titans layers on huge inputs.
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F

from .layers import make_memory
from .self_modifying import SelfModifyingTitans
from .titans import TitansLayer

__all__ = ["equivalence_report", "layer_equivalence_report", "stability_report", "gate_gradient_report"]


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


def gate_gradient_report(T: int = 12, eps: float = 1e-6) -> None:
    """Gradients with respect to every gate, with gates at the bounds of their ranges, against central differences.

    float64; the gates of each memory hold 0 and 1 (where the range allows) at several tokens.
    The differences step past a bound, so the value checks are off while they are taken.
    """
    from . import checks
    from .deep_memory import unrolled_chunk

    g = torch.Generator().manual_seed(0)
    rand = lambda *shape: torch.rand(*shape, dtype=torch.float64, generator=g)  # noqa: E731

    def at_bounds(x: torch.Tensor, bounds: tuple[float, ...], offset: int = 0) -> torch.Tensor:
        # each gate's bounds sit at its own tokens: theta = eta = 0 and alpha = 1 at one token
        # would wipe the memory to a fixed point (zero weights, zero gradient) and test nothing
        x, n = x.clone(), x.shape[-1]
        for i, b in enumerate(bounds):
            x[..., [offset + 2 * i, n // 2 + offset + 2 * i, n - 1 - offset - 2 * i]] = b
        return x

    def compare(label: str, fn, gates: dict[str, torch.Tensor]) -> None:
        leaves = [x.clone().requires_grad_() for x in gates.values()]
        grads = torch.autograd.grad(fn(*leaves), leaves)
        worst, finite = 0.0, all(bool(torch.isfinite(gr).all()) for gr in grads)
        with checks.value_checks(False), torch.no_grad():
            for i, (leaf, grad) in enumerate(zip(leaves, grads)):
                for idx in range(leaf.numel()):
                    plus, minus = [x.detach().clone() for x in leaves], [x.detach().clone() for x in leaves]
                    plus[i].view(-1)[idx] += eps
                    minus[i].view(-1)[idx] -= eps
                    fd = (fn(*plus) - fn(*minus)) / (2 * eps)
                    worst = max(worst, abs(fd.item() - grad.view(-1)[idx].item()))
        print(f"  {label:34s} gradients finite: {finite}   max |autograd - central difference| = {worst:.1e}")

    print(f"gate gradients at the bounds (float64, T={T}; gates exactly 0 and 1 at several tokens):")
    q, k, v = (torch.randn(2, T, 6, dtype=torch.float64, generator=g) for _ in range(3))
    k = F.normalize(k, dim=-1)
    weight = torch.randn(2, T, 6, dtype=torch.float64, generator=g)
    bounds = {"hebbian": {"eta": (0.0,), "alpha": (0.0, 1.0)}, "delta": {"eta": (0.0, 1.0), "alpha": (0.0, 1.0)},
              "titans": {"theta": (0.0,), "eta": (0.0, 1.0), "alpha": (1.0, 0.0)}}
    for rule, gate_bounds in bounds.items():
        for C in (1, 4, T):
            torch.manual_seed(0)
            mem = make_memory(rule, 6, chunk_size=C).to(torch.float64)
            gates = {n: at_bounds(rand(2, T) * (0.3 if n == "theta" else 1.0), b, offset)
                     for offset, (n, b) in enumerate(gate_bounds.items())}
            names = list(gates)
            compare(f"{rule} memory, chunk {C}",
                    lambda *xs, mem=mem, names=names: (mem(q, k, v, **dict(zip(names, xs)))[0] * weight).sum(), gates)
    W = [torch.randn(2, 7, 6, dtype=torch.float64, generator=g) / 3, torch.randn(2, 6, 7, dtype=torch.float64,
                                                                             generator=g) / 3]
    S0 = [torch.randn_like(w) / 5 for w in W]

    def self_modifying_rule(step, retention):
        y, new_W, _ = unrolled_chunk(q, k, v, step, retention, W, W, residual=True)
        return (y * weight).sum() + sum(w.sum() for w in new_W)

    def titans_rule(step, retention, momentum):
        y, new_W, new_S = unrolled_chunk(q, k, v, step, retention, W, W, residual=True, momentum=momentum, S0=S0)
        return (y * weight).sum() + sum(w.sum() for w in new_W + new_S)

    step, retention, momentum = at_bounds(0.3 * rand(2, T), (0.0,)), at_bounds(rand(2, T), (0.0, 1.0), 1), \
        at_bounds(rand(2, T), (0.0, 1.0), 2)
    compare("self-modifying rule (no momentum)", self_modifying_rule, {"step": step, "retention": retention})
    compare("Titans rule (momentum)", titans_rule, {"step": step, "retention": retention, "momentum": momentum})
