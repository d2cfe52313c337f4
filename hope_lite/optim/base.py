"""The base of every hope_lite optimizer, and Newton-Schulz orthogonalisation (docs/paper.md §3)."""

from __future__ import annotations

import math
from typing import Any, Callable

import torch
from torch import Tensor

from .. import checks
from ..levels import record_update

__all__ = ["MemoryOptimizer", "newton_schulz", "NS_COEFFICIENTS", "as_matrix", "Rule", "nonnegative", "positive",
           "below_one", "zero_to_one", "flag", "one_of"]


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
    return t.flatten(1) if t.dim() >= 2 else None       # flatten, not reshape(r, -1): -1 is ambiguous at 0 elements


# ---------------------------------------------------------------------------------------------
# Hyperparameter rules. A rule(name, value) returns the value to store or raises a one-line
# ValueError naming ``name``; each optimizer maps every hyperparameter to its rule in
# ``HYPERPARAMETERS``, and the same rule checks the constructor's argument and every param group.

Rule = Callable[[str, Any], Any]


def nonnegative(name: str, value: Any) -> float:
    """A finite number >= 0 (learning rates, weight decay, mixing weights)."""
    return checks.in_range(name, value, 0, math.inf)


def positive(name: str, value: Any) -> float:
    """A finite number > 0 (an epsilon that a division relies on)."""
    return checks.in_range(name, value, 0, math.inf, low_open=True)


def below_one(name: str, value: Any) -> float:
    """A number in [0, 1): a momentum or moving-average factor (1 would never forget, nor learn)."""
    return checks.in_range(name, value, 0, 1, high_open=True)


def zero_to_one(name: str, value: Any) -> float:
    """A number in [0, 1] (erase strength, retention)."""
    return checks.in_range(name, value, 0, 1)


def flag(name: str, value: Any) -> bool:
    """True or False (0 and 1 too; a string such as "no" is refused rather than read as True)."""
    if isinstance(value, str) or value not in (True, False):
        raise ValueError(f"{name} must be True or False, got {value!r}.")
    return bool(value)


def one_of(*choices: str) -> Rule:
    """The rule "one of ``choices``" (a string option)."""
    return lambda name, value: checks.choice(name, value, choices)


# ---------------------------------------------------------------------------------------------


class MemoryOptimizer(torch.optim.Optimizer):
    """Base class: hyperparameter checks, closures, the per-parameter update loop, levels and recorded updates.

    Subclasses implement ``_update(p, grad, state, group) -> set of level names updated`` and
    ``declared_levels()``, and declare ``HYPERPARAMETERS``: every key of their defaults mapped to
    its rule (see :func:`nonnegative` and its neighbours). The rule checks the constructor's
    argument and every param group: the groups given to the constructor (a list of dicts) and
    those added later with :meth:`add_param_group`. A bad value is refused with a ValueError that
    names the group (its index in ``param_groups``), e.g.
    ``param group 1: momentum must be a finite number in [0, 1), got 3.`` State tensors live on
    the parameter's device. Parameters with no elements are left as they are (no state).
    """

    HYPERPARAMETERS: dict[str, Rule] = {"lr": nonnegative, "weight_decay": nonnegative}

    def __init__(self, params: Any, defaults: dict) -> None:
        unruled = sorted(set(defaults) - set(self.HYPERPARAMETERS))
        if unruled:                                    # a mistake in the subclass, not in the user's input
            raise TypeError(f"{type(self).__name__}.HYPERPARAMETERS has no rule for {unruled}.")
        defaults = {name: self.HYPERPARAMETERS[name](name, value) for name, value in defaults.items()}
        super().__init__(params, defaults)             # calls add_param_group for every group

    def add_param_group(self, param_group: dict) -> None:
        """torch's ``add_param_group``, after checking the group's own hyperparameters with their rules.

        Values the group leaves out come from the (already checked) defaults. Keys without a rule
        (a group's name, a scheduler's ``initial_lr``) pass unchecked, as in torch.
        """
        if isinstance(param_group, dict):              # anything else: torch's own TypeError
            for name, rule in self.HYPERPARAMETERS.items():
                if name in param_group:
                    try:
                        param_group[name] = rule(name, param_group[name])
                    except ValueError as err:
                        raise ValueError(f"param group {len(self.param_groups)}: {err}") from None
        super().add_param_group(param_group)

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
                if p.grad is None or p.numel() == 0:   # no elements: nothing to update (nor to orthogonalise)
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
