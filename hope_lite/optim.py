"""Deep optimizers: an optimizer's state is an associative memory of gradients (paper_spec §3).

Notebook 02 shows that gradient descent is a one-level memory and momentum a second level;
notebook 03 builds richer memories into richer optimizers. Every optimizer here is a
``torch.optim.Optimizer`` (param groups, ``state_dict``/``load_state_dict``, closures, any
device) and declares its levels, so ``levels_of(model, optimizer)`` shows
weights <- momentum <- ... with clocks and periods, and an :class:`~hope_lite.levels.UpdateRecorder`
sees the updates that really happen.

=========================  ===========================================  ==========================================
optimizer                  the momentum memory's internal objective     update (g = gradient, W -= lr * output)
=========================  ===========================================  ==========================================
MomentumSGD                -<m, g>          (Hebbian, key-less)        m <- beta m + g
PreconditionedMomentum     -<m, P g>        (value P g)                m <- beta m + P g,  P = diag(1/(sqrt(v)+eps))
DeltaMomentum              1/2 (<m, k> - |g|)^2, k = g/|g|  (L2)        m <- beta m - gamma <m, k> k + g
DeepMomentum (DMGD)        1/2 |m_phi(k) - g|^2, m_phi an MLP           phi <- alpha phi - eta grad;  output m_phi(k)
NewtonSchulzMomentum       any of the above, output NS(m)               W -= lr * NS_T(m)  (= Muon for MomentumSGD)
M3                         fast + slow (every f steps) momentum         W -= lr (NS(M1) + a NS(M2)) / (sqrt(V)+eps)
DeltaGradientDescent       1/2 |W x - u|^2 + |W - W_t|^2 / 2eta          W <- W (I - eta' x x^T) - eta' grad_y L x^T
=========================  ===========================================  ==========================================
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable

import torch
from torch import Tensor, nn

from .levels import Level, record_update

__all__ = [
    "MemoryOptimizer", "MomentumSGD", "PreconditionedMomentum", "DeltaMomentum", "DeepMomentum",
    "NewtonSchulzMomentum", "Muon", "M3", "DeltaGradientDescent", "newton_schulz", "dgd_step",
    "NS_COEFFICIENTS",
]


# ---------------------------------------------------------------------------------------------
# Argument checks: every bad hyper-parameter names itself and its valid range.


def _check_range(name: str, value: Any, low: float, high: float, *, low_open: bool = False,
                 high_open: bool = False) -> float:
    ok_type = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok_type or not math.isfinite(value) \
            or (value <= low if low_open else value < low) or (value >= high if high_open else value > high):
        lo, hi = ("(" if low_open else "[") + f"{low}", f"{high}" + (")" if high_open else "]")
        raise ValueError(f"{name} must be a number in {lo}, {hi}, got {value!r}.")
    return float(value)


def _check_int(name: str, value: Any, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}.")
    return value


def _check_choice(name: str, value: Any, choices: Iterable[str]) -> str:
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}.")
    return value


INF = math.inf


# ---------------------------------------------------------------------------------------------
# Newton-Schulz orthogonalisation (paper_spec §3, AX eqs 42-44): an inner optimisation level that
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
    _check_int("steps", steps)
    a, b, c = NS_COEFFICIENTS[_check_choice("coefficients", coefficients, NS_COEFFICIENTS)]
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


def _as_matrix(t: Tensor) -> Tensor | None:
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


class MomentumSGD(MemoryOptimizer):
    """Momentum as an associative memory (paper_spec §2.2, CR eqs 7-10; notebook 02).

    The momentum m is a key-less memory of gradients. One gradient step (size 1) on the
    dot-product objective -<m, g_t>, taken from the retained state beta m, is its update:

        m_t = beta m_{t-1} + g_t,        W_t = W_{t-1} - lr m_t.

    This is ``torch.optim.SGD(momentum=beta)`` step for step (tests hold it to 1e-12).
    """

    def __init__(self, params: Any, lr: float = 1e-2, momentum: float = 0.9, weight_decay: float = 0.0) -> None:
        defaults = dict(lr=_check_range("lr", lr, 0, INF), momentum=_check_range("momentum", momentum, 0, 1, high_open=True),
                        weight_decay=_check_range("weight_decay", weight_decay, 0, INF))
        super().__init__(params, defaults)

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

    def __init__(self, params: Any, lr: float = 1e-3, momentum: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, weight_decay: float = 0.0, preconditioner: str = "rms") -> None:
        super().__init__(params, lr, momentum, weight_decay)
        for group in self.param_groups:
            group.setdefault("beta2", _check_range("beta2", beta2, 0, 1, high_open=True))
            group.setdefault("eps", _check_range("eps", eps, 0, INF, low_open=True))
            group.setdefault("preconditioner", _check_choice("preconditioner", preconditioner, ("rms", "identity")))
        self.defaults.update(beta2=beta2, eps=eps, preconditioner=preconditioner)

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
    component along the new gradient by the gradient itself. The default gamma = 0.1 is what a
    fair sweep on notebook 03's toy landscape preferred (124 steps to 1e-5 vs 141 for momentum);
    gamma = beta never converged there, because where consecutive gradients align a full erase
    removes exactly the momentum that helps and leaves gradient descent. Keys are per parameter
    tensor (flattened). ``normalize=False`` (the literal key g) diverges once gamma |g|^2 > 1 + beta.
    """

    def __init__(self, params: Any, lr: float = 1e-2, momentum: float = 0.9, erase: float = 0.1,
                 normalize: bool = True, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, momentum, weight_decay)
        for group in self.param_groups:
            group.setdefault("erase", _check_range("erase", erase, 0, 1))
            group.setdefault("normalize", bool(normalize))
        self.defaults.update(erase=erase, normalize=normalize)

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
    orthogonalise; they take the plain memory output, W -= lr m.
    """

    def __init__(self, params: Any, lr: float = 0.02, momentum: float = 0.95, ns_steps: int = 5,
                 memory: str = "momentum", coefficients: str = "quintic", nesterov: bool = False,
                 weight_decay: float = 0.0, erase: float = 0.1) -> None:
        defaults = dict(lr=_check_range("lr", lr, 0, INF),
                        momentum=_check_range("momentum", momentum, 0, 1, high_open=True),
                        ns_steps=_check_int("ns_steps", ns_steps),
                        memory=_check_choice("memory", memory, ("momentum", "delta")),
                        coefficients=_check_choice("coefficients", coefficients, NS_COEFFICIENTS),
                        nesterov=bool(nesterov), weight_decay=_check_range("weight_decay", weight_decay, 0, INF),
                        erase=_check_range("erase", erase, 0, 1), normalize=True)
        super().__init__(params, defaults)

    def declared_levels(self) -> list[Level]:
        return [Level("momentum", "steps", 1, "gradients g_t", "-<m, g_t> (or the delta rule's L2)",
                      "m <- beta m + g"),
                Level("orthogonalisation", "steps", 1, "the momentum m_t", "|O^T O - I|^2  (T NS steps)",
                      "O <- a O + (b A + c A^2) O")]

    def _update(self, p, grad, state, group):
        rule = MomentumSGD._momentum if group["memory"] == "momentum" else DeltaMomentum._momentum
        m = rule(self, grad, state, group)
        direction = grad.add(m, alpha=group["momentum"]) if group["nesterov"] else m
        matrix = _as_matrix(direction)
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
    landscape of notebook 03, |g| ~ 100) lower ``inner_lr`` or rescale the loss.
    """

    def __init__(self, params: Any, lr: float = 1e-2, hidden: int = 16, inner_lr: float = 0.5,
                 retention: float = 0.9, period: int = 1, weight_decay: float = 0.0, seed: int = 0) -> None:
        defaults = dict(lr=_check_range("lr", lr, 0, INF), hidden=_check_int("hidden", hidden),
                        inner_lr=_check_range("inner_lr", inner_lr, 0, INF),
                        retention=_check_range("retention", retention, 0, 1),
                        period=_check_int("period", period), weight_decay=_check_range("weight_decay", weight_decay, 0, INF),
                        seed=_check_int("seed", seed, low=0))
        super().__init__(params, defaults)

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


class M3(MemoryOptimizer):
    """M3, Multi-scale Momentum Muon (AX §7.2, Algorithm 1; paper_spec §3.1; notebook 03).

    Two momentum memories of different frequencies (a CMS on the gradient stream): M1 every step,
    M2 every ``slow_period`` f steps from the sum of the last f gradients; both orthogonalised
    by Newton-Schulz; an Adam-style second moment V in the denominator:

        M1 <- beta1-update(M1, g),  V <- beta2-update(V, g^2),  O1 = NS(M1)
        W  <- W - lr (O1 + a O2) / (sqrt(V) + eps)
        every f steps:  M2 <- beta3-update(M2, sum of the last f gradients),  O2 = NS(M2)

    ``accumulate="ema"`` (default) reads the beta-updates as moving averages (bias-corrected for
    M1 and V); ``"sum"`` is Algorithm 1 as printed, scaled running sums (M1 += beta1 g, ...),
    whose V grows without bound (paper_spec §9.9). O2 is 0 until the first slow update and is
    used from the step after it. 0-/1-D parameters skip Newton-Schulz (O = M).

    Caution (measured in notebook 03): dividing orthogonalised entries (about 1/sqrt(n) each,
    whatever the gradient's size) by sqrt(V) makes steps grow where gradients are tiny, e.g.
    embedding rows absent from a batch; M3 then needs a small lr (1e-4 on the notebook's MLP)
    or a larger ``eps``.
    """

    def __init__(self, params: Any, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
                 beta3: float = 0.9, alpha: float = 1.0, eps: float = 1e-8, ns_steps: int = 5,
                 slow_period: int = 10, accumulate: str = "ema", weight_decay: float = 0.0) -> None:
        defaults = dict(lr=_check_range("lr", lr, 0, INF),
                        beta1=_check_range("beta1", beta1, 0, 1, high_open=True),
                        beta2=_check_range("beta2", beta2, 0, 1, high_open=True),
                        beta3=_check_range("beta3", beta3, 0, 1, high_open=True),
                        alpha=_check_range("alpha", alpha, 0, INF), eps=_check_range("eps", eps, 0, INF, low_open=True),
                        ns_steps=_check_int("ns_steps", ns_steps), slow_period=_check_int("slow_period", slow_period),
                        accumulate=_check_choice("accumulate", accumulate, ("ema", "sum")),
                        weight_decay=_check_range("weight_decay", weight_decay, 0, INF))
        super().__init__(params, defaults)

    def declared_levels(self) -> list[Level]:
        f = self.param_groups[0]["slow_period"] if self.param_groups else 1
        return [Level("second moment", "steps", 1, "squared gradients", "element-wise L2 (Adam-style)",
                      "V <- beta2-update(V, g^2)"),
                Level("fast momentum", "steps", 1, "gradients g_t", "-<M1, g_t>", "M1 <- beta1-update(M1, g)"),
                Level("slow momentum", "steps", f, "sums of f gradients", "-<M2, sum g>",
                      "M2 <- beta3-update(M2, sum g)")]

    @staticmethod
    def _orthogonal(M: Tensor, group: dict) -> Tensor:
        matrix = _as_matrix(M)
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
        direction = self._orthogonal(fast, group)
        if group["alpha"]:
            direction = direction + group["alpha"] * state["slow_output"]
        p.addcdiv_(direction, second.sqrt().add_(group["eps"]), value=-group["lr"])
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


# ---------------------------------------------------------------------------------------------
# Delta Gradient Descent (AX §4.5, App. C; CR eqs 25-29)


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
    lr = _check_range("lr", lr, 0, INF)
    lr_eff = lr / (1 + lr * x.dot(x))
    return W - lr_eff * (torch.outer(W @ x, x) + torch.outer(grad_y, x))


class DeltaGradientDescent(MemoryOptimizer):
    """DGD as an optimizer for the ``nn.Linear`` layers of a model (notebook 03; reused by HOPE).

    Forward/backward hooks record each layer's inputs X (n, in) and output gradients; ``step``
    applies the batch form of :func:`dgd_step`, with the mean input outer product as the decay:

        W <- W - lr' (W X^T X / n + grad_W L),          lr' = lr / (1 + lr mean_i |x_i|^2)

    For one sample it is exactly :func:`dgd_step`. Biases and parameters outside ``nn.Linear``
    layers take plain gradient descent (they have no input to regress on). Call
    :meth:`remove_hooks` when done with it.

    Note: the regression target -dL/dy pulls W x towards the negative error, so the fixed points
    satisfy W X^T X / n = -grad_W L, not grad_W L = 0: on a per-sample 1/2 |W x - y|^2 DGD settles
    at W x = y / 2. It is an in-context update rule (HOPE), not a minimiser of a training loss.
    """

    def __init__(self, model: nn.Module, lr: float = 1e-2, weight_decay: float = 0.0) -> None:
        if not isinstance(model, nn.Module):
            raise ValueError(f"DeltaGradientDescent takes the model (an nn.Module), got {type(model).__name__}.")
        defaults = dict(lr=_check_range("lr", lr, 0, INF), weight_decay=_check_range("weight_decay", weight_decay, 0, INF))
        super().__init__([p for p in model.parameters() if p.requires_grad], defaults)
        self._inputs: dict[int, Tensor] = {}
        self._hooks = []
        for layer in model.modules():
            if isinstance(layer, nn.Linear):
                self._hooks.append(layer.register_forward_hook(self._remember_input))

    def _remember_input(self, layer: nn.Linear, args: tuple, output: Tensor) -> None:
        if torch.is_grad_enabled():
            self._inputs[id(layer.weight)] = args[0].detach().reshape(-1, layer.in_features)

    def declared_levels(self) -> list[Level]:
        return [Level("weights (DGD)", "steps", 1, "layer inputs x and output errors dL/dy",
                      "1/2 |W x - u|^2 + |W - W_t|^2 / 2lr", "W <- W (I - lr' x x^T) - lr' dL/dy x^T")]

    def _update(self, p, grad, state, group):
        X = self._inputs.get(id(p))
        if X is None:                                 # bias or a parameter outside nn.Linear: GD
            p.add_(grad, alpha=-group["lr"])
            return {"weights (DGD)"}
        lr_eff = group["lr"] / (1 + group["lr"] * X.square().sum(-1).mean())
        decay = p @ (X.T @ X) / X.shape[0]
        p.sub_((decay + grad) * lr_eff)
        return {"weights (DGD)"}

    def remove_hooks(self) -> None:
        for h in self._hooks:
            h.remove()
        self._hooks.clear()
