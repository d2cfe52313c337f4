"""Equivalence and stability reports of ``python -m hope_lite.bench`` (no timing).

``--equivalence`` prints how far apart each memory's and layer's reference and chunked paths
are (the figures the tests bound); ``--stability`` runs the Titans layers on huge inputs.
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F

from .layers import make_memory
from .self_modifying import SelfModifyingTitans
from .titans import TitansLayer

__all__ = ["equivalence_report", "layer_equivalence_report", "stability_report"]


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
