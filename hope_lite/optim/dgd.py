"""Delta Gradient Descent (AX §4.5, App. C; CR eqs 25-29; notebook 03)."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .. import checks
from ..levels import Level
from .base import MemoryOptimizer

__all__ = ["dgd_step", "DeltaGradientDescent"]


def dgd_step(W: Tensor, x: Tensor, grad_y: Tensor, lr: float) -> Tensor:
    """One DGD update of a linear layer y = W x for one input x and output gradient dL/dy.

    W_{t+1} = argmin_W 1/2 |W x - u|^2 + 1/(2 lr) |W - W_t|^2 with target u = -dL/dy (backprop's
    local error signal, now regressed on in L2 instead of dotted with). Sherman-Morrison gives

        W_{t+1} = W_t (I - lr' x x^T) - lr' (dL/dy) x^T,      lr' = lr / (1 + lr |x|^2).

    The first term is a state- and input-dependent decay: unlike GD, the update depends on what
    W already maps x to, which suits correlated (non-i.i.d.) token streams.
    """
    if W.dim() != 2 or x.shape != (W.shape[1],) or grad_y.shape != (W.shape[0],):
        raise ValueError(f"dgd_step needs W (out, in), x (in,), grad_y (out,); got {tuple(W.shape)}, "
                         f"{tuple(x.shape)}, {tuple(grad_y.shape)}.")
    lr = checks.in_range("lr", lr, 0, math.inf)
    lr_eff = lr / (1 + lr * x.dot(x))
    return W - lr_eff * (torch.outer(W @ x, x) + torch.outer(grad_y, x))


class DeltaGradientDescent(MemoryOptimizer):
    """DGD as an optimizer for the ``nn.Linear`` layers of a model (notebook 03; reused by HOPE).

    Forward/backward hooks record each layer's inputs X (n, in) and output gradients; ``step``
    applies the batch form of :func:`dgd_step`, with the mean input outer product as the decay:

        W <- W - lr' (W X^T X / n + grad_W L),          lr' = lr / (1 + lr mean_i |x_i|^2)

    For one sample it is exactly :func:`dgd_step`. Biases and parameters outside ``nn.Linear``
    layers take plain gradient descent (they have no input to regress on). Call
    :meth:`remove_hooks` when done with it. The update is computed in each weight's dtype, so a
    forward under autocast (bf16 inputs recorded) steps a float32 weight in float32. Param groups
    (``add_param_group``) are checked with the constructor's rules.

    Note: the regression target -dL/dy pulls W x towards the negative error, so the fixed points
    satisfy W X^T X / n = -grad_W L, not grad_W L = 0: on a per-sample 1/2 |W x - y|^2 DGD settles
    at W x = y / 2. It is an in-context update rule (HOPE), not a minimiser of a training loss.
    """

    def __init__(self, model: nn.Module, lr: float = 1e-2, weight_decay: float = 0.0) -> None:
        if not isinstance(model, nn.Module):
            raise ValueError(f"DeltaGradientDescent takes the model (an nn.Module), got {type(model).__name__}.")
        super().__init__([p for p in model.parameters() if p.requires_grad], dict(lr=lr, weight_decay=weight_decay))
        self._inputs: dict[int, Tensor] = {}
        self._hooks = []
        for layer in model.modules():
            if isinstance(layer, nn.Linear):
                self._hooks.append(layer.register_forward_hook(self._remember_input))

    def _remember_input(self, layer: nn.Linear, args: tuple, output: Tensor) -> None:
        if torch.is_grad_enabled():
            x = args[0].detach()                      # (..., in) -> rows (n, in); math.prod, not -1: in may be 0
            self._inputs[id(layer.weight)] = x.reshape(math.prod(x.shape[:-1]), layer.in_features)

    def declared_levels(self) -> list[Level]:
        return [Level("weights (DGD)", "steps", 1, "layer inputs x and output errors dL/dy",
                      "1/2 |W x - u|^2 + |W - W_t|^2 / 2lr", "W <- W (I - lr' x x^T) - lr' dL/dy x^T")]

    def _update(self, p, grad, state, group):
        X = self._inputs.get(id(p))
        if X is None or X.shape[0] == 0:              # bias, a parameter outside nn.Linear, or no rows: GD
            p.add_(grad, alpha=-group["lr"])
            return {"weights (DGD)"}
        X = X.to(p.dtype)                             # inputs recorded under autocast may be bf16
        lr_eff = group["lr"] / (1 + group["lr"] * X.square().sum(-1).mean())
        decay = p @ (X.T @ X) / X.shape[0]
        p.sub_((decay + grad) * lr_eff)
        return {"weights (DGD)"}

    def remove_hooks(self) -> None:
        for h in self._hooks:
            h.remove()
        self._hooks.clear()
