"""Small layers every sequence layer of hope_lite is built from, each written once.

* :func:`unit_norm`, :func:`rms_norm` / :class:`RMSNorm` — the two normalisations (l2 to unit
  length for keys and queries; RMS with a learned gain for outputs and block inputs);
* :class:`CausalConv` — Titans' short causal depthwise convolution, with a streaming cache;
* :class:`DataDependentGates` — per-token gates ``max * sigmoid(x w + b)``;
* :class:`MemoryBlock` and :func:`make_memory` — any memory rule as a multi-head sequence layer;
* :func:`check_input_matches` — a layer's input on its parameters' device and in their dtype.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from . import checks
from .deep_memory import TitansMemory
from .memory import AssociativeMemory, DeltaRuleMemory, HebbianMemory

__all__ = ["unit_norm", "rms_norm", "RMSNorm", "width_per_head", "check_input_matches", "CausalConv",
           "DataDependentGates", "MEMORY_BLOCK_GATES", "MemoryBlock", "MEMORY_RULES", "make_memory"]


def unit_norm(x: Tensor, eps: float = 1e-6) -> Tensor:
    """l2-normalise the last dim (cheaper than F.normalize's zero-norm handling, same result)."""
    return x * torch.rsqrt(x.square().sum(-1, keepdim=True) + eps)


def rms_norm(x: Tensor, weight: Tensor | None = None, eps: float = 1e-6) -> Tensor:
    """x / RMS(x) over the last dim, times a learned gain: ``x * rsqrt(mean(x^2) + eps) * weight``."""
    y = x * torch.rsqrt(x.square().mean(-1, keepdim=True) + eps)
    return y if weight is None else y * weight


class RMSNorm(nn.Module):
    """:func:`rms_norm` with its gain as a parameter (initialised to 1)."""

    def __init__(self, width: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight, self.eps = nn.Parameter(torch.ones(checks.positive_int("width", width))), eps

    def forward(self, x: Tensor) -> Tensor:
        return rms_norm(x, self.weight, self.eps)


def width_per_head(width: Any, heads: Any) -> int:
    """width // heads after checking both are positive ints and heads divides width."""
    checks.positive_int("width", width)
    checks.positive_int("heads", heads)
    if width % heads:
        raise ValueError(f"width {width} must be divisible by heads {heads}; "
                         f"for example heads={math.gcd(width, 4) or 1}.")
    return width // heads


def check_input_matches(x: Tensor, weight: Tensor, owner: str) -> None:
    """A layer's input must be on its parameters' device and, outside autocast, in their dtype.

    ``weight`` is one of the layer's parameters. Under autocast dtypes mix by design (every matmul
    casts its inputs), except float64, which autocast never casts. Metadata only, like every shape check.
    """
    if x.device != weight.device:
        raise ValueError(f"x is on {x.device} but {owner}'s parameters are on {weight.device}: move the input "
                         f"with x.to({str(weight.device)!r}) or the layer with .to({str(x.device)!r}).")
    autocast = torch.is_autocast_enabled(x.device.type) and torch.float64 not in (x.dtype, weight.dtype)
    if x.dtype != weight.dtype and not autocast:
        raise ValueError(f"x has dtype {x.dtype} but {owner}'s parameters have {weight.dtype}: cast the input "
                         f"with x.to({weight.dtype}) or the layer with .to({x.dtype}) (or run it under "
                         "torch.autocast).")


class CausalConv(nn.Module):
    """Short causal depthwise convolution over time (Titans §4.4; window 4 in the paper).

    Output t mixes inputs t-window+1 .. t of the same channel. ``forward(x, cache)`` returns the
    last ``window - 1`` inputs as the next cache, so streaming calls equal one call. Initialised
    to pass the current token through (plus a little of the previous ones).
    """

    def __init__(self, channels: int, window: int = 4) -> None:
        super().__init__()
        self.window = checks.positive_int("conv_window", window, " (1 = no convolution)")
        weight = 0.1 * torch.randn(channels, 1, window) / math.sqrt(window)
        weight[:, 0, -1] += 1.0
        self.weight = nn.Parameter(weight)

    def forward(self, x: Tensor, cache: Tensor | None = None) -> tuple[Tensor, Tensor]:
        B, _, C = x.shape                                                        # (B, T, C)
        if cache is None:
            cache = x.new_zeros(B, self.window - 1, C)
        padded = torch.cat([cache.to(x.dtype), x], dim=1)                       # (B, T + w - 1, C)
        y = _ShiftedTaps.apply(padded, self.weight[:, 0].to(x.dtype))
        return y, padded[:, padded.shape[1] - (self.window - 1):]


class _ShiftedTaps(torch.autograd.Function):
    """y_t = sum_j w_j * p_{t+j} (j = 0 .. w-1) for p (B, T + w - 1, C), w (C, w): the convolution's arithmetic.

    A few shifted multiply-adds, cheaper on CPU than a depthwise ``conv1d`` (whose backward is slow
    there). Written as a Function because autograd's own backward of the shifted slices builds a
    full-size zero tensor per tap and sums them; here the taps add into one gradient buffer::

        dL/dp_s = sum_j w_j * g_{s-j},        dL/dw_j = sum_{b,t} g_t * p_{t+j}

    The backward is made of differentiable operations, so gradients of gradients still work.
    """

    @staticmethod
    def forward(ctx, padded: Tensor, weight: Tensor) -> Tensor:
        ctx.save_for_backward(padded, weight)
        T = padded.shape[1] - weight.shape[1] + 1
        y = padded[:, :T] * weight[:, 0]
        for j in range(1, weight.shape[1]):
            y.addcmul_(padded[:, j:j + T], weight[:, j])
        return y

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, Tensor | None]:
        padded, weight = ctx.saved_tensors
        T, taps = grad.shape[1], weight.shape[1]
        grad_padded = grad_weight = None
        if ctx.needs_input_grad[0]:
            grad_padded = grad.new_zeros(padded.shape)
            for j in range(taps):
                grad_padded[:, j:j + T].addcmul_(grad, weight[:, j])
        if ctx.needs_input_grad[1]:
            # a sequence at a time: a product of the whole batch is a large fresh temporary per tap (page faults)
            grad_weight = torch.stack([sum((g * p[j:j + T]).sum(0) for g, p in zip(grad, padded))
                                       for j in range(taps)], dim=1)
        return grad_padded, grad_weight


class DataDependentGates(nn.Module):
    """Per-token gates from the input: ``gate_t = max * sigmoid(x_t w + b)``, one scalar per head.

    Titans makes theta, eta and alpha functions of x_t (docs/paper.md §1.5; the paper gives no
    parameterisation, public code uses linear -> sigmoid). Returns a dict of tensors of shape
    ``(B, heads, T)`` ready for a memory that takes inputs ``(B, heads, T, d)``.
    """

    def __init__(self, d_model: int, heads: int = 1, **maxima: float) -> None:
        super().__init__()
        if not maxima:
            raise ValueError("name at least one gate and its maximum, e.g. DataDependentGates(64, eta=1.0).")
        checks.positive_int("d_model", d_model)
        checks.positive_int("heads", heads)
        for name, hi in maxima.items():
            checks.positive_finite(f"the maximum of gate {name}", hi)
        self.names, self.heads = list(maxima), heads
        self.register_buffer("maxima", torch.tensor([float(maxima[n]) for n in self.names]), persistent=False)
        self.proj = nn.Linear(d_model, len(self.names) * heads)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        B, T, _ = x.shape
        g = torch.sigmoid(self.proj(x)).view(B, T, len(self.names), self.heads) * self.maxima[:, None]
        return {n: g[:, :, i].transpose(1, 2) for i, n in enumerate(self.names)}


# gate maxima of each memory's data-dependent gates (sigmoid * max)
MEMORY_BLOCK_GATES = {
    "hebbian": {"alpha": 1.0},
    "delta": {"eta": 1.0, "alpha": 1.0},
    "titans": {"theta": 0.5, "eta": 1.0, "alpha": 0.1},
}


class MemoryBlock(nn.Module):
    """A sequence layer around a memory: x -> (q, k, v, gates) -> memory -> output projection.

    q and k are l2-normalised (unit keys keep the delta rule a contraction); the gates are
    data-dependent (:class:`DataDependentGates`); heads are batch dims of the memory. Used by the
    benchmark, the level diagram of notebook 00 and the small sequence models of notebook 03.
    ``forward(x, path="chunked")`` returns the output only; the memory state starts fresh on every call.
    """

    def __init__(self, rule: str, width: int, heads: int, chunk_size: int) -> None:
        super().__init__()
        self.heads, self.dh = heads, width_per_head(width, heads)
        self.qkv = nn.Linear(width, 3 * width, bias=False)
        self.gates = DataDependentGates(width, heads, **MEMORY_BLOCK_GATES[rule])
        self.memory = make_memory(rule, self.dh, chunk_size=chunk_size)
        self.out = nn.Linear(width, width, bias=False)

    def forward(self, x: torch.Tensor, path: str = "chunked") -> torch.Tensor:
        checks.check_sequence_input(x, self.out.in_features, path)
        check_input_matches(x, self.qkv.weight, "MemoryBlock")
        B, T, D = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.heads, self.dh).permute(2, 0, 3, 1, 4)  # (B, H, T, dh) each
        q, k = unit_norm(q), unit_norm(k)
        y, _ = self.memory(q, k, v, path=path, **self.gates(x))
        return self.out(y.transpose(1, 2).reshape(B, T, D))


MEMORY_RULES = {"hebbian": HebbianMemory, "delta": DeltaRuleMemory, "titans": TitansMemory}


def make_memory(rule: str, d_key: int, d_value: int | None = None, **kwargs: Any) -> AssociativeMemory:
    """Build a memory by rule name: ``"hebbian"``, ``"delta"`` or ``"titans"``."""
    if rule not in MEMORY_RULES:
        raise ValueError(f"unknown memory rule {rule!r}; choose one of {sorted(MEMORY_RULES)}.")
    return MEMORY_RULES[rule](d_key, d_key if d_value is None else d_value, **kwargs)
