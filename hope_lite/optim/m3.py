"""M3, Multi-scale Momentum Muon (AX §7.2, Algorithm 1; docs/paper.md §3.1; notebook 03)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from .. import checks
from ..levels import Level
from .base import MemoryOptimizer, as_matrix, below_one, newton_schulz, nonnegative, one_of, positive

__all__ = ["M3"]


class M3(MemoryOptimizer):
    """M3, Multi-scale Momentum Muon (AX §7.2, Algorithm 1; docs/paper.md §3.1; notebook 03).

    Two momentum memories of different frequencies (a CMS on the gradient stream): M1 every step,
    M2 every ``slow_period`` f steps from the sum of the last f gradients; both orthogonalised
    by Newton-Schulz; an Adam-style second moment V sets the step size:

        M1 <- beta1-update(M1, g),  V <- beta2-update(V, g^2),  O1 = NS(M1)
        every f steps:  M2 <- beta3-update(M2, sum of the last f gradients),  O2 = NS(M2)

        scale="adam" (default):  A1 = M1 / (sqrt(V) + eps),  A2 = (M2 / f) / (sqrt(V) + eps)
                                 W <- W - lr (|A1| O1 / |O1| + alpha |A2| O2 / |O2|)   (|.| Frobenius)
        scale="algorithm1":      W <- W - lr (O1 + alpha O2) / (sqrt(V) + eps)          (as printed)

    ``"adam"`` takes each memory's direction from Newton-Schulz and its size from Adam's update
    A (one number per tensor): Muon's direction, Adam's step length, so Adam's learning rates
    carry over. ``"algorithm1"`` divides the orthogonalised entries element-wise by sqrt(V).
    0-/1-D parameters skip Newton-Schulz: ``"adam"`` is then Adam with a slow momentum,
    W -= lr (A1 + alpha A2); ``"algorithm1"`` is W -= lr (M1 + alpha M2) / (sqrt(V) + eps).

    ``accumulate="ema"`` (default) reads the beta-updates as moving averages (bias-corrected for
    M1 and V); ``"sum"`` is Algorithm 1 as printed, scaled running sums (M1 += beta1 g, ...),
    whose V grows without bound (docs/paper.md §9.9). O2 is 0 until the first slow update and is
    used from the step after it.

    Why ``"adam"`` is the default: an orthogonalised entry is about 1/sqrt(n) whatever the
    gradient's size, so dividing it by sqrt(V) makes the step *grow* as gradients shrink, near a
    minimum or for embedding rows absent from a batch. On least squares (16 -> 8, 32 rows, 300
    steps) ``"algorithm1"`` climbs back above its start at lr 1e-2 (final ~2, start 0.83) and
    to ~0.19 at 1e-3; ``"adam"`` reaches the noise floor (~0.005) at 1e-2 and ~0.01 at 1e-3,
    because Adam's ratio M/sqrt(V) shrinks there instead (V remembers the larger past gradients).

    Param groups may override any hyperparameter; each group is checked with the constructor's
    rules. Parameters with no elements are left as they are.
    """

    SCALES = ("adam", "algorithm1")
    HYPERPARAMETERS = {**MemoryOptimizer.HYPERPARAMETERS, "beta1": below_one, "beta2": below_one, "beta3": below_one,
                       "alpha": nonnegative, "eps": positive, "ns_steps": checks.positive_int,
                       "slow_period": checks.positive_int, "accumulate": one_of("ema", "sum"), "scale": one_of(*SCALES)}

    def __init__(self, params: Any, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
                 beta3: float = 0.9, alpha: float = 1.0, eps: float = 1e-8, ns_steps: int = 5,
                 slow_period: int = 10, accumulate: str = "ema", weight_decay: float = 0.0,
                 scale: str = "adam") -> None:
        super().__init__(params, dict(lr=lr, beta1=beta1, beta2=beta2, beta3=beta3, alpha=alpha, eps=eps,
                                      ns_steps=ns_steps, slow_period=slow_period, accumulate=accumulate,
                                      weight_decay=weight_decay, scale=scale))

    def __setstate__(self, state: dict) -> None:      # state dicts saved before ``scale`` existed ran Algorithm 1
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("scale", "algorithm1")

    def declared_levels(self) -> list[Level]:
        f = self.param_groups[0]["slow_period"] if self.param_groups else 1
        return [Level("second moment", "steps", 1, "squared gradients", "element-wise L2 (Adam-style)",
                      "V <- beta2-update(V, g^2)"),
                Level("fast momentum", "steps", 1, "gradients g_t", "-<M1, g_t>", "M1 <- beta1-update(M1, g)"),
                Level("slow momentum", "steps", f, "sums of f gradients", "-<M2, sum g>",
                      "M2 <- beta3-update(M2, sum g)")]

    @staticmethod
    def _orthogonal(M: Tensor, group: dict) -> Tensor:
        matrix = as_matrix(M)
        return M if matrix is None else newton_schulz(matrix, group["ns_steps"]).view_as(M)

    def _update(self, p, grad, state, group):
        if "fast" not in state:
            for key in ("fast", "second", "slow", "slow_output", "chunk_sum"):
                state[key] = torch.zeros_like(p)
        t, ema = state["step"], group["accumulate"] == "ema"
        b1, b2, b3 = group["beta1"], group["beta2"], group["beta3"]
        if ema:
            state["fast"].mul_(b1).add_(grad, alpha=1 - b1)
            state["second"].mul_(b2).addcmul_(grad, grad, value=1 - b2)
            fast, second = state["fast"] / (1 - b1 ** t), state["second"] / (1 - b2 ** t)
        else:
            state["fast"].add_(grad, alpha=b1)
            state["second"].addcmul_(grad, grad, value=b2)
            fast, second = state["fast"], state["second"]
        denominator = second.sqrt().add_(group["eps"])
        if group["scale"] == "algorithm1":
            direction = self._orthogonal(fast, group)
            if group["alpha"]:
                direction = direction + group["alpha"] * state["slow_output"]
            p.addcdiv_(direction, denominator, value=-group["lr"])
        else:
            # Adam's step length, Newton-Schulz's direction: one scalar per tensor, no element-wise
            # division of O (its entries do not shrink with the gradient). M2 holds sums of f
            # gradients: / f puts A2 in the units of A1.
            is_matrix = as_matrix(p) is not None

            def sized(memory: Tensor, ortho: Tensor) -> Tensor:
                adam = memory / denominator
                if not is_matrix:                                   # no matrix: Adam's update itself
                    return adam
                return ortho * (adam.norm() / ortho.norm().clamp_min(torch.finfo(ortho.dtype).tiny))

            step = sized(fast, self._orthogonal(fast, group))
            if group["alpha"]:
                step.add_(sized(state["slow"] / group["slow_period"], state["slow_output"]), alpha=group["alpha"])
            p.add_(step, alpha=-group["lr"])
        state["chunk_sum"].add_(grad)
        updated = {"fast momentum", "second moment"}
        if t % group["slow_period"] == 0:                 # end of a slow chunk: the slow level updates
            if ema:
                state["slow"].mul_(b3).add_(state["chunk_sum"], alpha=1 - b3)
            else:
                state["slow"].add_(state["chunk_sum"], alpha=b3)
            state["slow_output"] = self._orthogonal(state["slow"], group)
            state["chunk_sum"].zero_()
            updated.add("slow momentum")
        return updated
