"""Momentum-family optimizers: momentum as a memory of gradients, richer memories, Muon (notebooks 02-03)."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from .. import checks
from ..levels import Level
from .base import (NS_COEFFICIENTS, MemoryOptimizer, as_matrix, below_one, flag, newton_schulz, nonnegative, one_of,
                   positive, zero_to_one)

__all__ = ["MomentumSGD", "PreconditionedMomentum", "DeltaMomentum", "NewtonSchulzMomentum", "Muon", "DeepMomentum"]


class MomentumSGD(MemoryOptimizer):
    """Momentum as an associative memory (docs/paper.md §2.2, CR eqs 7-10; notebook 02).

    The momentum m is a key-less memory of gradients. One gradient step (size 1) on the
    dot-product objective -<m, g_t>, taken from the retained state beta m, is its update:

        m_t = beta m_{t-1} + g_t,        W_t = W_{t-1} - lr m_t.

    This is ``torch.optim.SGD(momentum=beta)`` step for step (tests hold it to 1e-12).

    Param groups may override any hyperparameter (``[{"params": ..., "momentum": 0.5}, ...]`` or
    ``add_param_group``); each group is checked with the constructor's rules (MemoryOptimizer).
    """

    HYPERPARAMETERS = {**MemoryOptimizer.HYPERPARAMETERS, "momentum": below_one}

    def __init__(self, params: Any, lr: float = 1e-2, momentum: float = 0.9, weight_decay: float = 0.0) -> None:
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay))

    def declared_levels(self) -> list[Level]:
        return [Level("momentum", "steps", 1, "gradients g_t", "-<m, g_t>  (Hebbian, key-less)", "m <- beta m + g")]

    def _momentum(self, grad: Tensor, state: dict, group: dict) -> Tensor:
        m = state.setdefault("momentum", torch.zeros_like(grad))
        return m.mul_(group["momentum"]).add_(grad)

    def _update(self, p, grad, state, group):
        p.add_(self._momentum(grad, state, group), alpha=-group["lr"])
        return {"momentum"}


class PreconditionedMomentum(MomentumSGD):
    """Momentum whose value is a preconditioned gradient (CR eqs 19-20; notebook 03).

    Objective -<m, P_t g_t>: the memory stores P g instead of g. With ``preconditioner="rms"``
    P_t = diag(1 / (sqrt(v_t) + eps)), v an (bias-corrected) moving average of g^2 — a level of
    its own that the momentum reads, so it is the faster of the two (Def. 2).

        v_t = beta2 v_{t-1} + (1 - beta2) g_t^2,   m_t = beta m_{t-1} + P_t g_t,   W -= lr m_t
    """

    HYPERPARAMETERS = {**MomentumSGD.HYPERPARAMETERS, "beta2": below_one, "eps": positive,
                       "preconditioner": one_of("rms", "identity")}

    def __init__(self, params: Any, lr: float = 1e-3, momentum: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, weight_decay: float = 0.0, preconditioner: str = "rms") -> None:
        # MomentumSGD's defaults and these in one dict (not MomentumSGD.__init__), so groups get all of them
        MemoryOptimizer.__init__(self, params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay, beta2=beta2,
                                                    eps=eps, preconditioner=preconditioner))

    def declared_levels(self) -> list[Level]:
        return [Level("second moment", "steps", 1, "squared gradients g_t^2", "1/2 |v - g_t^2|^2 (EMA)",
                      "v <- beta2 v + (1 - beta2) g^2"),
                Level("momentum", "steps", 1, "preconditioned gradients P_t g_t", "-<m, P_t g_t>",
                      "m <- beta m + P g")]

    def _update(self, p, grad, state, group):
        if group["preconditioner"] == "identity":
            return super()._update(p, grad, state, group)
        v = state.setdefault("second_moment", torch.zeros_like(grad))
        v.mul_(group["beta2"]).addcmul_(grad, grad, value=1 - group["beta2"])
        v_hat = v / (1 - group["beta2"] ** state["step"])
        p.add_(self._momentum(grad / (v_hat.sqrt() + group["eps"]), state, group), alpha=-group["lr"])
        return {"second moment", "momentum"}


class DeltaMomentum(MomentumSGD):
    """Delta-rule momentum: an L2 objective makes the momentum forget what the new gradient contradicts.

    Paper (CR eqs 21-22): m_{t} = (alpha I - g g^T) m_{t-1} + P g. We read it as a delta-rule
    memory with key k = g / |g| (``normalize=True``; the literal unnormalised key with False):

        m_t = beta m_{t-1} - gamma <m_{t-1}, k_t> k_t + g_t,     W -= lr m_t

    ``erase`` = gamma. gamma = 0 is plain momentum; gamma = beta replaces the old momentum's
    component along the new gradient by the gradient itself. The default gamma = 0.1 is a moderate
    erase: on notebook 03's curved toy valley, with the learning rate swept for each value, erase
    strengths 0.1-0.3 need fewer steps than momentum (median over six starts) and 0.5 or more (gamma = 0.9 = beta included)
    converged from at most one of six starts (``results/03-erase-sweep.json``, written by chapter
    03's ``erase-sweep`` command). Keys are per parameter tensor (flattened). ``normalize=False`` (the literal key g) diverges once gamma |g|^2 > 1 + beta.
    """

    HYPERPARAMETERS = {**MomentumSGD.HYPERPARAMETERS, "erase": zero_to_one, "normalize": flag}

    def __init__(self, params: Any, lr: float = 1e-2, momentum: float = 0.9, erase: float = 0.1,
                 normalize: bool = True, weight_decay: float = 0.0) -> None:
        # MomentumSGD's defaults and these in one dict (not MomentumSGD.__init__), so groups get all of them
        MemoryOptimizer.__init__(self, params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay, erase=erase,
                                                    normalize=normalize))

    def declared_levels(self) -> list[Level]:
        return [Level("momentum", "steps", 1, "gradients g_t (keys g_t/|g_t|)",
                      "1/2 (<m, k_t> - |g_t|)^2  (L2, delta rule)", "m <- beta m - gamma <m, k> k + g")]

    def _momentum(self, grad, state, group):
        m = state.setdefault("momentum", torch.zeros_like(grad))
        key = grad
        if group["normalize"]:
            norm = grad.norm()
            key = grad / norm if norm > 0 else grad
        overlap = (m * key).sum()                                  # <m, k>: what m returns for the key
        return m.mul_(group["momentum"]).sub_(key * (group["erase"] * overlap)).add_(grad)


class NewtonSchulzMomentum(MemoryOptimizer):
    """A momentum memory read through a non-linear output: Newton-Schulz (CR eq 24, AX eqs 42-44).

        m_t = memory update (momentum or delta momentum),     W -= lr * s * NS_T(m_t)

    With the linear momentum memory this is **Muon** (``Muon`` below). ``s = sqrt(max(1, r / c))``
    keeps the update's RMS comparable across shapes. Parameters with >= 2 dims are viewed as
    (shape[0], rest). **Fallback:** 0-/1-D parameters (biases, norms) have no matrix to
    orthogonalise; they take the plain memory output, W -= lr m. Parameters with no elements are
    left as they are. Every param group is checked with the constructor's rules.
    """

    HYPERPARAMETERS = {**MemoryOptimizer.HYPERPARAMETERS, "momentum": below_one, "ns_steps": checks.positive_int,
                       "memory": one_of("momentum", "delta"), "coefficients": one_of(*NS_COEFFICIENTS),
                       "nesterov": flag, "erase": zero_to_one, "normalize": flag}

    def __init__(self, params: Any, lr: float = 0.02, momentum: float = 0.95, ns_steps: int = 5,
                 memory: str = "momentum", coefficients: str = "quintic", nesterov: bool = False,
                 weight_decay: float = 0.0, erase: float = 0.1) -> None:
        super().__init__(params, dict(lr=lr, momentum=momentum, ns_steps=ns_steps, memory=memory,
                                      coefficients=coefficients, nesterov=nesterov, weight_decay=weight_decay,
                                      erase=erase, normalize=True))

    def declared_levels(self) -> list[Level]:
        return [Level("momentum", "steps", 1, "gradients g_t", "-<m, g_t> (or the delta rule's L2)",
                      "m <- beta m + g"),
                Level("orthogonalisation", "steps", 1, "the momentum m_t", "|O^T O - I|^2  (T NS steps)",
                      "O <- a O + (b A + c A^2) O")]

    def _update(self, p, grad, state, group):
        rule = MomentumSGD._momentum if group["memory"] == "momentum" else DeltaMomentum._momentum
        m = rule(self, grad, state, group)
        direction = grad.add(m, alpha=group["momentum"]) if group["nesterov"] else m
        matrix = as_matrix(direction)
        if matrix is None:
            p.add_(direction, alpha=-group["lr"])
            return {"momentum"}
        r, c = matrix.shape
        ortho = newton_schulz(matrix, group["ns_steps"], group["coefficients"])
        p.add_(ortho.view_as(p), alpha=-group["lr"] * math.sqrt(max(1.0, r / c)))
        return {"momentum", "orthogonalisation"}


class Muon(NewtonSchulzMomentum):
    """Muon = Newton-Schulz output on the plain (linear) momentum memory."""

    def __init__(self, params: Any, lr: float = 0.02, momentum: float = 0.95, ns_steps: int = 5,
                 nesterov: bool = False, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, momentum, ns_steps, "momentum", "quintic", nesterov, weight_decay)


class DeepMomentum(MemoryOptimizer):
    """Deep Momentum Gradient Descent, DMGD (CR eq 23, AX eq 50; notebook 03).

    The momentum is an MLP memory m_phi(k) = W_out silu(W_in k), one per parameter tensor, that
    maps gradient directions to gradients. Each parameter's gradient is seen as rows of width c
    (the last dim; a 1-D tensor is one row). Keys k = rows / |rows|, values v = rows. Every
    ``period`` steps the memory takes one gradient step of its own objective, with retention:

        phi <- alpha phi - eta grad_phi 1/2 mean_rows |m_phi(k) - v|^2          (its own level)
        W   <- W - lr m_phi(k)                                                  (every step)

    The read happens after the write, so on a write step the output has just learned the new
    gradient; in between, it returns what the memory compresses of past gradients for the
    current directions. A linear memory (no MLP) with a fixed key would be plain momentum.

    Stability: the inner step is not normalised, so it needs about inner_lr |a|^2 < 2 with
    |a|^2 ~ 0.36 hidden, and the stored values scale with |g|; with large gradients (the toy
    landscape of notebook 03, |g| ~ 100) lower ``inner_lr`` or rescale the loss. Every param group
    is checked with the constructor's rules.
    """

    HYPERPARAMETERS = {**MemoryOptimizer.HYPERPARAMETERS, "hidden": checks.positive_int, "inner_lr": nonnegative,
                       "retention": zero_to_one, "period": checks.positive_int, "seed": checks.nonnegative_int}

    def __init__(self, params: Any, lr: float = 1e-2, hidden: int = 16, inner_lr: float = 0.5,
                 retention: float = 0.9, period: int = 1, weight_decay: float = 0.0, seed: int = 0) -> None:
        super().__init__(params, dict(lr=lr, hidden=hidden, inner_lr=inner_lr, retention=retention, period=period,
                                      weight_decay=weight_decay, seed=seed))

    def declared_levels(self) -> list[Level]:
        period = self.param_groups[0]["period"] if self.param_groups else 1
        return [Level("momentum memory", "steps", period, "gradient rows (key: direction, value: row)",
                      "1/2 |m_phi(k) - v|^2  (MLP memory)", "phi <- alpha phi - eta grad")]

    def _memory(self, p: Tensor, state: dict, group: dict, width: int) -> tuple[Tensor, Tensor]:
        if "w_in" not in state:
            gen = torch.Generator(device="cpu").manual_seed(group["seed"] + width)
            w_in = torch.randn(group["hidden"], width, generator=gen, dtype=torch.float64)
            state["w_in"] = w_in.to(device=p.device, dtype=p.dtype)
            state["w_out"] = torch.zeros(width, group["hidden"], device=p.device, dtype=p.dtype)
        return state["w_in"], state["w_out"]

    def _update(self, p, grad, state, group):
        rows = grad.reshape(-1, grad.shape[-1]) if grad.dim() >= 1 else grad.reshape(1, 1)
        keys = rows / rows.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        w_in, w_out = self._memory(p, state, group, rows.shape[-1])
        h = keys @ w_in.T
        a = torch.nn.functional.silu(h)
        updated = set()
        if (state["step"] - 1) % group["period"] == 0:
            # analytic gradient of 1/2 mean_rows |W_out a - v|^2 (backprop written out)
            delta = (a @ w_out.T - rows) / rows.shape[0]
            s = torch.sigmoid(h)
            grad_out = delta.T @ a
            grad_in = ((delta @ w_out) * s * (1 + h * (1 - s))).T @ keys
            w_out.mul_(group["retention"]).add_(grad_out, alpha=-group["inner_lr"])
            w_in.mul_(group["retention"]).add_(grad_in, alpha=-group["inner_lr"])
            a = torch.nn.functional.silu(keys @ w_in.T)             # read after the write
            updated.add("momentum memory")
        p.add_((a @ w_out.T).view_as(p), alpha=-group["lr"])
        return updated
