"""Gate gradients at the bounds of their ranges: finite, and equal to finite differences (float64).

A retention gate of exactly 0 (forget everything), a Titans momentum of 0 or a forget gate of 1
are values the API accepts; a float32 sigmoid gate reaches them exactly below a logit of about
-88. Decay products built as exp(cumsum(log a)) are right in the forward pass there but give
NaN gradients (0 * inf); hope_lite builds them by cumprod (``hope_lite.chunking``), whose
backward is exact. The products are polynomials in the gates, so central differences may step
past a bound: the value checks are switched off for those evaluations.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from hope_lite import checks
from hope_lite.chunking import decay_products, suffix_products
from hope_lite.deep_memory import TitansMemory, unrolled_chunk
from hope_lite.layers import make_memory
from hope_lite.titans import TitansLayer

F64 = torch.float64
T = 10


def _inputs(seed=0, lead=(2,)):
    g = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(*lead, T, 6, dtype=F64, generator=g) for _ in range(3))
    return q, F.normalize(k, dim=-1), v, g


def _with_bounds(values: torch.Tensor, bounds: list[float], offset: int = 0) -> torch.Tensor:
    """Random gates with every bound placed at a few tokens (near the start, middle and end).

    Each gate gets its own ``offset``: theta = eta = 0 and alpha = 1 at the same token would wipe a
    Titans memory to zero weights, a fixed point whose gradients are all zero (a test of nothing).
    """
    out, n = values.clone(), values.shape[-1]
    for i, b in enumerate(bounds):
        out[..., [offset + 2 * i, n // 2 + offset + 2 * i, n - 1 - offset - 2 * i]] = b
    return out


# gates per rule, each with its bounds placed at some tokens
GATES = {
    "hebbian": lambda r: {"eta": _with_bounds(r(), [0.0]), "alpha": _with_bounds(r(), [0.0, 1.0], 1)},
    "delta": lambda r: {"eta": _with_bounds(r(), [0.0, 1.0]), "alpha": _with_bounds(r(), [0.0, 1.0], 1)},
    "titans": lambda r: {"theta": _with_bounds(0.3 * r(), [0.0]), "eta": _with_bounds(r(), [0.0, 1.0], 1),
                         "alpha": _with_bounds(0.2 * r(), [1.0, 0.0], 2)},
}


@pytest.mark.parametrize("rule", list(GATES))
@pytest.mark.parametrize("path,chunk_size", [("chunked", 1), ("chunked", 4), ("chunked", T), ("reference", 1)])
def test_gate_gradients_at_the_bounds_are_finite_and_exact(rule, path, chunk_size):
    q, k, v, g = _inputs()
    gates = GATES[rule](lambda: torch.rand(2, T, dtype=F64, generator=g))
    torch.manual_seed(0)
    memory = make_memory(rule, 6, chunk_size=chunk_size).to(F64)
    weight = torch.randn(2, T, 6, dtype=F64, generator=g)
    names = list(gates)

    def loss(*values):
        y, _ = memory(q, k, v, path=path, **dict(zip(names, values)))
        return (y * weight).sum()

    leaves = [x.clone().requires_grad_() for x in gates.values()]
    grads = torch.autograd.grad(loss(*leaves), leaves)
    assert all(torch.isfinite(gr).all() for gr in grads)
    assert all(gr.abs().max() > 1e-3 for gr in grads)       # the gates matter: not a degenerate fixed point
    with checks.value_checks(False):
        assert torch.autograd.gradcheck(loss, tuple(leaves), eps=1e-6, atol=1e-7, rtol=1e-5)


@pytest.mark.parametrize("with_momentum", [False, True])
def test_unrolled_chunk_gradients_at_zero_retention_and_zero_momentum(with_momentum):
    # the self-modifying memories' rule (no momentum) and Titans' (momentum), read and end state
    g = torch.Generator().manual_seed(1)
    N, n, d = 3, 12, 5
    Q, K, V = (torch.randn(N, n, d, dtype=F64, generator=g) for _ in range(3))
    W = [torch.randn(N, 7, d, dtype=F64, generator=g) / 3, torch.randn(N, d, 7, dtype=F64, generator=g) / 3]
    S0 = [torch.randn_like(w) / 5 for w in W]
    step = _with_bounds(0.3 * torch.rand(N, n, dtype=F64, generator=g), [0.0]).requires_grad_()
    retention = _with_bounds(torch.rand(N, n, dtype=F64, generator=g), [0.0, 1.0], 1).requires_grad_()
    momentum = _with_bounds(torch.rand(N, n, dtype=F64, generator=g), [0.0, 1.0], 2).requires_grad_()

    def run(step, retention, momentum):
        y, new_W, new_S = unrolled_chunk(Q, K, V, step, retention, W, W, residual=True,
                                         momentum=momentum if with_momentum else None,
                                         S0=S0 if with_momentum else None)
        out = y.square().sum() + sum(w.square().sum() for w in new_W)
        return out + (sum(s.square().sum() for s in new_S) if with_momentum else 0)

    grads = torch.autograd.grad(run(step, retention, momentum), (step, retention, momentum), allow_unused=True)
    assert all(gr is None or torch.isfinite(gr).all() for gr in grads)
    assert torch.autograd.gradcheck(run, (step, retention, momentum), eps=1e-6, atol=1e-7, rtol=1e-5)


def test_end_state_only_equals_the_read_path_at_zero_retention():
    g = torch.Generator().manual_seed(2)
    N, n, d = 2, 6, 4
    K, V = (torch.randn(N, n, d, dtype=F64, generator=g) for _ in range(2))
    W = [torch.randn(N, 5, d, dtype=F64, generator=g), torch.randn(N, d, 5, dtype=F64, generator=g)]
    step = torch.rand(N, n, dtype=F64, generator=g)
    retention = _with_bounds(torch.rand(N, n, dtype=F64, generator=g), [0.0, 1.0])
    _, end_only, _ = unrolled_chunk(None, K, V, step, retention, W, W, residual=True)
    _, end_read, _ = unrolled_chunk(K, K, V, step, retention, W, W, residual=True)
    for a, b in zip(end_only, end_read):
        assert (a - b).abs().max().item() <= 1e-12


def test_decay_products_are_the_products_they_name():
    a = torch.tensor([0.5, 0.0, 2.0, 0.25], dtype=F64)
    Gamma, gamma = decay_products(a)
    for i in range(4):
        for j in range(4):
            expected = torch.prod(a[j + 1:i + 1]).item() if j <= i else 0.0
            assert Gamma[i, j].item() == expected
    assert gamma.tolist() == [0.5, 0.0, 0.0, 0.0]
    after, total = suffix_products(a)
    assert after.tolist() == Gamma[-1].tolist() and total.item() == 0.0


def _decay_products_by_autograd(a):
    """The same products in plain autograd operations (the masked cumprod): the reference for the written backward."""
    n = a.shape[-1]
    factors = torch.where(torch.ones(n, n, dtype=torch.bool).tril(-1), a.unsqueeze(-1), torch.ones((), dtype=a.dtype))
    return factors.cumprod(-2) * torch.ones(n, n, dtype=torch.bool).tril(), a.cumprod(-1)


@pytest.mark.parametrize("with_momentum", [False, True])
@pytest.mark.parametrize("read", ["last copy", "end state only"])
def test_shared_gates_equal_gates_repeated_per_memory(with_momentum, read):
    # self-modifying Titans stacks its memories copy-major and passes eta_t, a_t (and m_t) once: the kernel must
    # give what it gives with the gates repeated for every memory, values and every gradient, gates' included
    g = torch.Generator().manual_seed(3)
    copies, rows, n, d = 3, 2, 9, 5
    N = copies * rows
    Q = torch.randn(rows, n, d, dtype=F64, generator=g) if read == "last copy" else None
    K, V = (torch.randn(N, n, d, dtype=F64, generator=g) for _ in range(2))
    W = [torch.randn(N, 7, d, dtype=F64, generator=g) / 3, torch.randn(N, d, 7, dtype=F64, generator=g) / 3]
    S0 = [torch.randn_like(w) / 5 for w in W] if with_momentum else None
    gates = [0.3 * torch.rand(rows, n, dtype=F64, generator=g), torch.rand(rows, n, dtype=F64, generator=g),
             torch.rand(rows, n, dtype=F64, generator=g)]

    def run(repeat):
        leaves = [x.clone().requires_grad_() for x in (*gates, K, *W)]
        step, retention, momentum = (x.repeat(copies, 1) if repeat else x for x in leaves[:3])
        k, weights = leaves[3], leaves[4:]
        y, new_W, new_S = unrolled_chunk(Q, k, V, step, retention, weights, weights, residual=True,
                                         max_surprise=0.5, momentum=momentum if with_momentum else None, S0=S0)
        outputs = [*new_W, *(new_S or []), *([] if y is None else [y])]
        loss = sum((o * torch.linspace(-1, 1, o.numel(), dtype=F64).view_as(o)).sum() for o in outputs)
        return outputs, torch.autograd.grad(loss, leaves, allow_unused=True)

    (shared, shared_grads), (repeated, repeated_grads) = run(False), run(True)
    for a, b in zip(shared + list(shared_grads), repeated + list(repeated_grads)):
        if a is None or b is None:
            assert a is None and b is None
            continue
        assert (a - b).abs().max().item() <= 1e-12
    assert shared_grads[1].abs().max() > 1e-3                  # the retention gates matter here


def test_unrolled_chunk_refuses_gates_that_cannot_be_shared():
    K = torch.randn(6, 4, 3, dtype=F64)
    W = [torch.randn(6, 3, 3, dtype=F64)]
    with pytest.raises(ValueError, match="multiple of the gates' rows"):
        unrolled_chunk(None, K, K, torch.rand(4, 4, dtype=F64), torch.rand(4, 4, dtype=F64), W, W, residual=True)
    with pytest.raises(ValueError, match="only rows of the last copy"):
        unrolled_chunk(K[:3], K, K, torch.rand(2, 4, dtype=F64), torch.rand(2, 4, dtype=F64), W, W, residual=True)


@pytest.mark.parametrize("shape", [(7,), (3, 7), (2, 3, 5), (4, 1)])
@pytest.mark.parametrize("zeros", [False, True])
def test_decay_products_backward_equals_autograds_even_at_zero_gates(shape, zeros):
    g = torch.Generator().manual_seed(3)
    a = torch.rand(*shape, dtype=F64, generator=g)
    if zeros:                                  # a gate of exactly 0, where a division-based gradient gives 0 * inf
        a.view(-1)[::3] = 0.0
    a.requires_grad_()
    dGamma = torch.randn(*shape, shape[-1], dtype=F64, generator=g)
    dgamma = torch.randn(*shape, dtype=F64, generator=g)
    ours, ref = decay_products(a), _decay_products_by_autograd(a)
    assert all(torch.equal(x, y) for x, y in zip(ours, ref))               # forward: the same numbers, to the bit
    for grads in ((dGamma, dgamma), (dGamma, None), (None, dgamma)):
        pick = lambda outs: [o for o, gr in zip(outs, grads) if gr is not None]  # noqa: E731
        given = [gr for gr in grads if gr is not None]
        mine = torch.autograd.grad(pick(ours), a, given, retain_graph=True)[0]
        theirs = torch.autograd.grad(pick(ref), a, given, retain_graph=True)[0]
        assert torch.isfinite(mine).all()
        torch.testing.assert_close(mine, theirs, rtol=1e-13, atol=1e-13)
    assert torch.autograd.gradgradcheck(decay_products, (a.detach().clone().requires_grad_(),))


def test_saturated_float32_gates_keep_titans_gradients_finite():
    # inputs x100 drive sigmoid gates below a logit of -88, where float32 gives exactly 0
    torch.manual_seed(0)
    layer = TitansLayer(16, heads=2, chunk_size=8)
    with torch.no_grad():
        layer.gates.proj.weight.mul_(50.0)
    x = 100 * torch.randn(2, 32, 16)
    gates = layer.gates(x)
    assert any((g == 0).any() for g in gates.values()), "the test needs a gate that is exactly 0"
    y, _ = layer(x)
    grads = torch.autograd.grad(y.square().mean(), list(layer.parameters()))
    assert all(torch.isfinite(gr).all() for gr in grads)


def test_delta_block_at_zero_retention_keeps_finite_gate_gradients():
    memory = make_memory("delta", 6, chunk_size=4).to(F64)
    q, k, v, _ = _inputs()
    alpha = torch.zeros(2, T, dtype=F64, requires_grad=True)
    (grad,) = torch.autograd.grad(memory(q, k, v, alpha=alpha)[0].sum(), alpha)
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0


def test_titans_memory_forget_one_means_only_the_current_write_survives():
    q, k, v, _ = _inputs()
    memory = TitansMemory(6, 6, chunk_size=4).to(F64)
    y_chunked, _ = memory(q, k, v, theta=0.2, eta=0.0, alpha=1.0)
    y_ref, _ = memory(q, k, v, path="reference", theta=0.2, eta=0.0, alpha=1.0, chunk_size=1)
    y_one, _ = memory(q, k, v, theta=0.2, eta=0.0, alpha=1.0, chunk_size=1)
    assert (y_one - y_ref).abs().max().item() <= 1e-12
    assert torch.isfinite(y_chunked).all()


# ---------------------------------------------------------------------------------------------
# A gate of the wrong type is refused by name


@pytest.mark.parametrize("rule,gate", [("hebbian", "alpha"), ("delta", "eta"), ("titans", "theta"),
                                       ("titans", "alpha")])
@pytest.mark.parametrize("value,got", [("0.9", "str '0.9'"), (None, "NoneType None"), (True, "bool True"),
                                       (torch.ones(2, T, dtype=torch.bool), "torch.bool tensor"),
                                       (["0.9"], r"list \['0.9'\]"), (object(), "object")])
def test_a_gate_of_the_wrong_type_is_refused_by_name(rule, gate, value, got):
    q, k, v, _ = _inputs()
    with pytest.raises(ValueError, match=rf"^{gate} must be a number or a tensor broadcastable to \(\.\.\., T\) = "
                                         rf"\(2, {T}\), got (a )?{got}"):
        make_memory(rule, 6)(q, k, v, **{gate: value})


def test_numbers_and_tensors_of_numbers_are_gates():
    q, k, v, _ = _inputs()
    mem = make_memory("delta", 6)
    y_number, _ = mem(q, k, v, eta=0.5, alpha=1)
    y_tensor, _ = mem(q, k, v, eta=torch.full((2, T), 0.5), alpha=torch.ones(2, T, dtype=torch.int64))
    y_list, _ = mem(q, k, v, eta=[0.5] * T, alpha=[1.0])
    assert torch.equal(y_number, y_tensor) and torch.equal(y_number, y_list)


@pytest.mark.parametrize("kwargs,needle", [
    ({"d_model": 8, "heads": "2", "eta": 1.0}, "heads must be a positive int, got '2'"),
    ({"d_model": 8, "heads": 0, "eta": 1.0}, "heads must be a positive int, got 0"),
    ({"d_model": 0, "eta": 1.0}, "d_model must be a positive int, got 0"),
    ({"d_model": 8, "eta": "1.0"}, "the maximum of gate eta must be a positive finite number, got '1.0'"),
])
def test_data_dependent_gates_refuse_bad_arguments_by_name(kwargs, needle):
    from hope_lite.layers import DataDependentGates
    with pytest.raises(ValueError, match=needle):
        DataDependentGates(**kwargs)
