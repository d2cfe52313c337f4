"""Titans' ablation switches (issue 14; Titans Table 5): linear memory, w/o convolution, w/o momentum,
w/o weight decay, w/o persistent memory.

Each switch changes what it names and nothing else: its parameters go (and no other parameter
changes), the layer equals the full layer with the switched-off part forced to its neutral value
(identity convolution, eta = 0, alpha = 0, no persistent tokens), and every switched path keeps
chunked == reference at float64, causality and streaming. At the model level the defaults are
today's model, every row keeps the parameter budget (the channel mixer absorbs the difference) and
compiles as one graph.
"""

from __future__ import annotations

import pytest
import torch

from hope_lite.deep_memory import TitansMemory
from hope_lite.models import build_model, count_parameters, preset_config
from hope_lite.titans import TitansLayer

F64 = torch.float64
WIDTH, HEADS = 16, 2

# one row of Titans Table 5 per switch: the layer argument that turns the part off
SWITCHES = {
    "linear memory": {"memory_depth": 1},
    "w/o convolution": {"conv": False},
    "w/o momentum": {"momentum": False},
    "w/o weight decay": {"weight_decay": False},
    "with persistent memory": {"persistent_tokens": 3},    # the default has none: the row compares N vs 0
}
# the same switches on the model configuration
MODEL_SWITCHES = {
    "linear memory": {"titans_memory_depth": 1},
    "w/o convolution": {"titans_conv": False},
    "w/o momentum": {"titans_momentum": False},
    "w/o weight decay": {"titans_weight_decay": False},
    "with persistent memory": {"titans_persistent_tokens": 3},
}
ALL_OFF = {"memory_depth": 1, "conv": False, "momentum": False, "weight_decay": False}


def layer(chunk_size=1, seed=0, **kw):
    torch.manual_seed(seed)
    return TitansLayer(WIDTH, heads=HEADS, chunk_size=chunk_size, **kw).to(F64)


def inputs(T=24, B=2, seed=0):
    return torch.randn(B, T, WIDTH, dtype=F64, generator=torch.Generator().manual_seed(seed))


def shapes(module):
    return {name: tuple(p.shape) for name, p in module.named_parameters()}


# -- each switch removes its parameters and no other ------------------------------------------------


def test_each_switch_removes_exactly_its_parameters():
    d = WIDTH // HEADS
    full = shapes(layer())
    changed = {}
    for name, kw in SWITCHES.items():
        ablated = shapes(layer(**kw))
        changed[name] = ({k: v for k, v in full.items() if ablated.get(k) != v},      # gone or reshaped: before
                         {k: v for k, v in ablated.items() if full.get(k) != v})      # new or reshaped: after
    mlp = {"memory.initial_weights.0": (2 * d, d), "memory.initial_weights.1": (d, 2 * d)}
    assert changed["linear memory"] == (mlp, {"memory.initial_weights.0": (d, d)})
    assert changed["w/o convolution"] == ({"conv.weight": (3 * WIDTH, 1, 4)}, {})
    for row in ("w/o momentum", "w/o weight decay"):          # one gate (a row per head) of three
        assert changed[row] == ({"gates.proj.weight": (3 * HEADS, WIDTH), "gates.proj.bias": (3 * HEADS,)},
                                {"gates.proj.weight": (2 * HEADS, WIDTH), "gates.proj.bias": (2 * HEADS,)})
    assert changed["with persistent memory"] == ({}, {"persistent": (3, WIDTH)})


def test_the_switched_off_gates_are_gone_from_the_gates_and_the_memory():
    assert layer(momentum=False).gates.names == ["theta", "alpha"]
    assert layer(weight_decay=False).gates.names == ["theta", "eta"]
    assert layer().gates.names == ["theta", "eta", "alpha"]
    assert list(layer(4, momentum=False, weight_decay=False).memory_trace(inputs(T=9))["gates"]) == ["theta"]
    memory = TitansMemory(8, 8, momentum=False)
    q = torch.randn(1, 5, 8)
    with pytest.raises(ValueError, match=r"no eta"):
        memory(q, q, q, eta=0.5)
    _, state = memory(q, q, q)
    assert state.momentum == []
    assert "S_t" not in memory.update_rule


# -- each switch equals the full layer with the part forced to its neutral value --------------------


def _copy_shared(src, dst):
    """dst takes every parameter src has with the same shape (the gates are handled by the caller)."""
    own = dict(dst.named_parameters())
    with torch.no_grad():
        for name, p in src.named_parameters():
            if name in own and own[name].shape == p.shape:
                own[name].copy_(p)


def _force_gate(full, name):
    """full's gate ``name`` reads 0 for every token and head (the gate switched off)."""
    compute = full.gates.forward
    full.gates.forward = lambda x: {**compute(x), name: torch.zeros_like(compute(x)[name])}


@pytest.mark.parametrize("gate, kw", [("eta", {"momentum": False}), ("alpha", {"weight_decay": False})])
@pytest.mark.parametrize("chunk_size", [1, 5])
def test_no_momentum_and_no_weight_decay_are_the_gate_at_zero(gate, kw, chunk_size):
    ablated, full = layer(chunk_size, **kw), layer(chunk_size, seed=1)
    _copy_shared(ablated, full)
    kept = [i for i, n in enumerate(full.gates.names) if n != gate]
    rows = torch.cat([torch.arange(i * HEADS, (i + 1) * HEADS) for i in kept])
    with torch.no_grad():
        full.gates.proj.weight[rows] = ablated.gates.proj.weight
        full.gates.proj.bias[rows] = ablated.gates.proj.bias
    _force_gate(full, gate)
    x = inputs(T=23)
    (y_ablated, s_ablated), (y_full, s_full) = ablated(x), full(x)
    assert (y_ablated - y_full).abs().max().item() <= 1e-12
    for a, b in zip(s_ablated.memory.weights, s_full.memory.weights):
        assert (a - b).abs().max().item() <= 1e-12


def test_no_convolution_is_the_identity_convolution():
    ablated, full = layer(4, conv=False), layer(4, seed=1)
    _copy_shared(ablated, full)
    with torch.no_grad():
        full.conv.weight.zero_()
        full.conv.weight[:, 0, -1] = 1.0
    x = inputs()
    assert (ablated(x)[0] - full(x)[0]).abs().max().item() <= 1e-12
    assert ablated(x)[1].conv is None


def test_a_linear_memory_is_the_linear_titans_rule_written_out():
    # depth 1: M(z) = z + W z, grad_W 1/2 |z + W k - v|^2 = (k + W k - v) k^T; momentum and forgetting as in Titans
    memory = TitansMemory(8, 8, chunk_size=1, depth=1).to(F64)
    g = torch.Generator().manual_seed(3)
    q, k, v = (torch.randn(2, 30, 8, dtype=F64, generator=g) for _ in range(3))
    theta, eta, alpha = (scale * torch.rand(2, 30, dtype=F64, generator=g) for scale in (0.3, 1.0, 0.2))
    W = memory.initial_weights[0].detach().expand(2, 8, 8)
    S, ys = torch.zeros_like(W), []
    for t in range(30):
        kt = k[:, t]
        error = kt + torch.einsum("nij,nj->ni", W, kt) - v[:, t]
        S = eta[:, t, None, None] * S - theta[:, t, None, None] * error[:, :, None] * kt[:, None, :]
        W = (1 - alpha[:, t, None, None]) * W + S
        ys.append(q[:, t] + torch.einsum("nij,nj->ni", W, q[:, t]))
    for path in ("chunked", "reference"):
        y, state = memory(q, k, v, path=path, theta=theta, eta=eta, alpha=alpha)
        assert (y - torch.stack(ys, 1)).abs().max().item() <= 1e-12, path
        assert (state.weights[0] - W).abs().max().item() <= 1e-12, path


def test_persistent_tokens_are_learned_tokens_in_front_of_the_sequence():
    with_tokens, without = layer(4, persistent_tokens=3), layer(4, seed=1)
    _copy_shared(with_tokens, without)
    x = inputs(T=17)
    prefixed = torch.cat([with_tokens.persistent.detach().expand(2, -1, -1), x], dim=1)
    assert (with_tokens(x)[0] - without(prefixed)[0][:, 3:]).abs().max().item() <= 1e-12


# -- every switched path: chunked == reference, gradients, causality, streaming ---------------------

PATHS = {**SWITCHES, "all off": ALL_OFF}


@pytest.mark.parametrize("name", list(PATHS))
def test_chunk_size_one_equals_the_reference_with_gradients(name):
    ablated, x = layer(**PATHS[name]), inputs(T=12)
    (y_chunked, s_chunked), (y_reference, s_reference) = ablated(x), ablated(x, path="reference")
    assert (y_chunked - y_reference).abs().max().item() <= 1e-10
    for a, b in zip(s_chunked.memory.weights, s_reference.memory.weights):
        assert (a - b).abs().max().item() <= 1e-10
    params = list(ablated.parameters())
    g_chunked = torch.autograd.grad(ablated(x)[0].square().sum(), params)
    g_reference = torch.autograd.grad(ablated(x, path="reference")[0].square().sum(), params)
    for (pname, _), a, b in zip(ablated.named_parameters(), g_chunked, g_reference):
        assert (a - b).abs().max().item() <= 1e-9, pname
        assert b.abs().max().item() > 0, pname                 # every remaining parameter is used


@pytest.mark.parametrize("name", list(PATHS))
def test_outputs_are_causal(name):
    ablated, x = layer(4, **PATHS[name]), inputs(T=20)
    y = ablated(x)[0]
    x2 = x.clone()
    x2[:, 9] += 1.0
    y2 = ablated(x2)[0]
    assert (y2[:, :9] - y[:, :9]).abs().max().item() == 0.0
    assert (y2[:, 9:] - y[:, 9:]).abs().max().item() > 0


@pytest.mark.parametrize("name", list(PATHS))
def test_two_calls_carrying_the_state_equal_one_call(name):
    ablated, x = layer(4, **PATHS[name]), inputs(T=21)
    y_once, _ = ablated(x)
    y1, state = ablated(x[:, :7])
    y2, _ = ablated(x[:, 7:], state=state)
    assert (torch.cat([y1, y2], 1) - y_once).abs().max().item() <= 1e-12


@pytest.mark.parametrize("kw, needle", [
    ({"conv": False}, r"state.conv must be None"),
    ({"momentum": False}, r"state.memory.momentum must be a list of 0"),
])
def test_a_state_of_the_full_layer_is_refused_by_a_switched_one(kw, needle):
    _, state = layer(4)(inputs(T=5))
    with pytest.raises(ValueError, match=needle):
        layer(4, **kw)(inputs(T=5), state=state)


@pytest.mark.parametrize("kw", [{"conv": 0}, {"momentum": "no"}, {"weight_decay": None}])
def test_a_switch_must_be_a_bool(kw):
    with pytest.raises(ValueError, match=f"{next(iter(kw))} must be True or False"):
        TitansLayer(WIDTH, heads=HEADS, **kw)


# -- the model: today's default, equal parameter budgets, one graph ---------------------------------


def test_the_default_titans_model_is_unchanged():
    cfg = preset_config("titans", "tiny")
    assert (cfg.titans_memory_depth, cfg.titans_conv, cfg.titans_momentum, cfg.titans_weight_decay,
            cfg.titans_persistent_tokens) == (2, True, True, True, 0)
    torch.manual_seed(0)
    default = build_model("titans", "tiny")
    torch.manual_seed(0)
    explicit = build_model("titans", "tiny", titans_memory_depth=2, titans_conv=True, titans_momentum=True,
                           titans_weight_decay=True, titans_persistent_tokens=0)
    assert count_parameters(default) == 49292                  # the count before the switches existed
    for (name, a), b in zip(default.state_dict().items(), explicit.state_dict().values()):
        assert torch.equal(a, b), name


@pytest.mark.parametrize("name", list(MODEL_SWITCHES))
def test_each_row_keeps_the_parameter_budget(name):
    torch.manual_seed(0)
    base = build_model("titans", "tiny")
    torch.manual_seed(0)
    row = build_model("titans", "tiny", **MODEL_SWITCHES[name])
    mixer = lambda m: sum(p.numel() for p in m.blocks[0].mixer.parameters())   # noqa: E731
    assert mixer(row) != mixer(base)                               # the switch reached the layer
    assert abs(count_parameters(row) - count_parameters(base)) <= 0.01 * count_parameters(base)
    tokens = torch.randint(0, 256, (2, 10), generator=torch.Generator().manual_seed(0))
    logits, _ = row(tokens)
    first, state = row(tokens[:, :6])                              # the state carries on (persistent tokens once)
    rest, _ = row(tokens[:, 6:], state=state)
    assert torch.isfinite(logits).all()
    assert (torch.cat([first, rest], 1) - logits).abs().max().item() <= 1e-5


@pytest.mark.parametrize("field, value, needle", [
    ("titans_memory_depth", 0, "titans_memory_depth"), ("titans_conv", 1, "titans_conv"),
    ("titans_momentum", None, "titans_momentum"), ("titans_weight_decay", "no", "titans_weight_decay"),
    ("titans_persistent_tokens", -1, "titans_persistent_tokens"),
])
def test_bad_switch_values_name_the_field(field, value, needle):
    with pytest.raises(ValueError, match=needle):
        preset_config("titans", "tiny", **{field: value})


@pytest.mark.parametrize("name", list(MODEL_SWITCHES) + ["all off"])
def test_every_row_compiles_as_one_graph(name, one_thread):
    import torch._dynamo as dynamo

    switches = MODEL_SWITCHES.get(name) or {"titans_memory_depth": 1, "titans_conv": False, "titans_momentum": False,
                                             "titans_weight_decay": False, "titans_persistent_tokens": 2}
    torch.manual_seed(0)
    model = build_model("titans", "tiny", **switches)
    dynamo.reset()
    explanation = dynamo.explain(model)(torch.randint(0, 256, (2, 16)))
    assert explanation.graph_break_count == 0, [r.reason.splitlines()[0] for r in explanation.break_reasons]
    assert explanation.graph_count == 1
