"""The base of every hope_lite optimizer, and Newton-Schulz orthogonalisation (docs/paper.md §3)."""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor

from .. import checks
from ..levels import record_update

__all__ = ["MemoryOptimizer", "newton_schulz", "NS_COEFFICIENTS", "as_matrix"]


# ---------------------------------------------------------------------------------------------
# Newton-Schulz orthogonalisation (docs/paper.md §3, AX eqs 42-44): an inner optimisation level that
# pushes a matrix towards the nearest semi-orthogonal one, O ~ U V^T for G = U S V^T.

NS_COEFFICIENTS = {
    "cubic": (1.5, -0.5, 0.0),              # O <- 1/2 O (3 I - O^T O): converges to U V^T
    "quintic": (3.4445, -4.7750, 2.0315),   # Muon's: fast, singular values land in ~[0.7, 1.2]
}


def newton_schulz(G: Tensor, steps: int = 5, coefficients: str = "quintic", eps: float = 1e-7) -> Tensor:
    """Approximate U V^T of ``G`` (..., r, c) with ``steps`` odd-polynomial iterations.

    X <- a X + (b A + c A^2) X with A = X X^T, starting from X = G / |G|_F (so every singular
    value is <= 1). Works on the short side (transposes when r > c), so the Gram matrix is small.
    """
    checks.positive_int("steps", steps)
    a, b, c = NS_COEFFICIENTS[checks.choice("coefficients", coefficients, NS_COEFFICIENTS)]
    if G.dim() < 2:
        raise ValueError(f"newton_schulz needs a matrix (..., r, c), got shape {tuple(G.shape)}.")
    X = G / G.norm(dim=(-2, -1), keepdim=True).clamp_min(eps)
    tall = G.shape[-2] > G.shape[-1]
    if tall:
        X = X.transpose(-2, -1)
    for _ in range(steps):
        A = X @ X.transpose(-2, -1)
        X = a * X + (b * A + c * (A @ A)) @ X
    return X.transpose(-2, -1) if tall else X


def as_matrix(t: Tensor) -> Tensor | None:
    """View a >= 2-D tensor as (shape[0], rest); None for 0-/1-D tensors (no matrix to orthogonalise)."""
    return t.reshape(t.shape[0], -1) if t.dim() >= 2 else None


# ---------------------------------------------------------------------------------------------


class MemoryOptimizer(torch.optim.Optimizer):
    """Base class: closures, the per-parameter update loop, levels and recorded updates.

    Subclasses implement ``_update(p, grad, state, group) -> set of level names updated`` and
    ``declared_levels()``. State tensors live on the parameter's device.
    """

    def __init__(self, params: Any, defaults: dict) -> None:
        super().__init__(params, defaults)

    def _update(self, p: Tensor, grad: Tensor, state: dict, group: dict) -> set[str]:
        raise NotImplementedError

    @torch.no_grad()
    def step(self, closure: Callable[[], Tensor] | None = None) -> Tensor | None:
        """One optimizer step; ``closure`` re-evaluates the model and returns the loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        updated: set[str] = set()
        step_no = 0
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise ValueError(f"{type(self).__name__} does not support sparse gradients.")
                state = self.state[p]
                state["step"] = state.get("step", 0) + 1
                step_no = max(step_no, state["step"])
                grad = p.grad
                if group.get("weight_decay", 0.0):
                    grad = grad.add(p, alpha=group["weight_decay"])   # coupled L2, as torch.optim.SGD
                updated |= self._update(p, grad, state, group)
        for level in sorted(updated):
            record_update(self, level, "steps", [step_no])
        return loss
