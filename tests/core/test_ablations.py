"""HOPE ablation switches (issue 14, paper Table 6): each changes what it names and nothing else.

Per switch: at its default the layer is today's (same parameters, same numbers); switched on, the
named memories / parameters disappear or the named update changes, while a layer with the other
parameters copied over computes the same thing as today's layer pinned to the ablation (a = 1, an
identity memory, ...). Every switch keeps reference == chunked at float64 (chunk size 1, outputs
and gradients), the two-clock chunked path == a direct token-by-token unroll, and causality.
Parameter counts of every row are checked to stay within 1 % of Transformer++.
"""

from __future__ import annotations

import pytest
import torch

from hope_lite.deep_memory import autograd_inner_gradient, clip_gradients, mlp_forward, unrolled_chunk
from hope_lite.layers import rms_norm
from hope_lite.levels import levels_of
from hope_lite.models import build_model, count_parameters
from hope_lite.self_modifying import SelfModifyingTitans, merge_heads

F64 = torch.float64

SWITCHES = {
    "dot": {"inner_rule": "dot"},
    "no-retention": {"retention": False},
    "static-k": {"static_projections": ("k",)},
    "static-v": {"static_projections": ("v",)},
    "static-q": {"adaptive_q": True, "static_projections": ("q",)},
    "adaptive-q-dot": {"adaptive_q": True, "inner_rule": "dot"},
    "momentum": {"inner_momentum": True},
    "all": {"inner_rule": "dot", "retention": False, "static_projections": ("k", "v"), "inner_momentum": True},
}

# the Table-6 rows at model level; adaptive_q=True is the paper's full HOPE (every projection adaptive)
ROWS = {"default": {}, "adaptive-q": {"adaptive_q": True}, **{k: v for k, v in SWITCHES.items() if k != "all"},
        "no-cms": {"cms": False}}


def selfmod(**kw):
    torch.manual_seed(0)
    return SelfModifyingTitans(16, **{"heads": 2, **kw}).to(F64)


def inputs(T=24, B=2, seed=0):
    return torch.randn(B, T, 16, dtype=F64, generator=torch.Generator().manual_seed(seed))


def shapes(module):
    return {n: tuple(p.shape) for n, p in module.named_parameters()}


# -- defaults: today's layer ----------------------------------------------------------------------


def test_defaults_are_todays_layer():
    layer = selfmod()
    assert (layer.inner_rule, layer.retention, layer.static_projections) == ("l2", True, ())
    assert layer.projections == ("k", "v", "eta", "alpha") and layer.roles == ("k", "v", "eta", "alpha", "q")
    assert set(layer.initial_states) == {"k", "v", "eta", "alpha", "memory"}
    assert shapes(layer)["gate_readout"] == (2, 2, 8) and shapes(layer)["inputs.weight"] == (5 * 16, 16)
    explicit = selfmod(inner_rule="l2", retention=True, static_projections=())
    x = inputs()
    assert torch.equal(layer(x)[0], explicit(x)[0])
    # "q" is static unless adaptive_q: naming it changes nothing
    assert torch.equal(layer(x)[0], selfmod(static_projections=("q",))(x)[0])


def test_bad_switch_values_are_refused():
    with pytest.raises(ValueError, match="inner_rule must be one of"):
        SelfModifyingTitans(16, heads=2, inner_rule="delta")
    with pytest.raises(ValueError, match="static_projections must be a tuple of names"):
        SelfModifyingTitans(16, heads=2, static_projections=("eta",))
    with pytest.raises(ValueError, match="static_projections must be a tuple of names"):
        SelfModifyingTitans(16, heads=2, static_projections="k")


# -- every switch keeps the paths equal and causal ---------------------------------------------------


@pytest.mark.parametrize("name", list(SWITCHES))
def test_chunk_size_one_equals_the_reference_outputs_and_gradients(name):
    layer, x = selfmod(chunk_size=1, projection_chunk_size=1, **SWITCHES[name]), inputs(T=12)
    y_chunked, s_chunked = layer(x)
    y_reference, s_reference = layer(x, path="reference")
    assert (y_chunked - y_reference).abs().max().item() <= 1e-10
    for a, b in zip(s_chunked.memory + s_chunked.projections, s_reference.memory + s_reference.projections):
        assert (a - b).abs().max().item() <= 1e-10
    params = list(layer.parameters())
    g_chunked = torch.autograd.grad(layer(x)[0].square().sum(), params)
    g_reference = torch.autograd.grad(layer(x, path="reference")[0].square().sum(), params)
    for (pname, _), a, b in zip(layer.named_parameters(), g_chunked, g_reference):
        assert (a - b).abs().max().item() <= 1e-9, pname


def test_frozen_projections_keep_the_paths_equal_with_every_switch_on():
    layer, x = selfmod(chunk_size=1, projection_chunk_size=1, **SWITCHES["all"]), inputs(T=10)
    (y_chunked, s_chunked), (y_reference, s_reference) = (layer(x, freeze_projections=True, path=p)
                                                          for p in ("chunked", "reference"))
    assert (y_chunked - y_reference).abs().max().item() <= 1e-12
    for a, b in zip(s_chunked.projections_momentum + s_chunked.memory_momentum,
                    s_reference.projections_momentum + s_reference.memory_momentum):
        assert (a - b).abs().max().item() <= 1e-12
    assert all(torch.equal(a, torch.zeros_like(a)) for a in s_chunked.projections_momentum)


@pytest.mark.parametrize("name", list(SWITCHES))
@pytest.mark.parametrize("sizes", [(6, 6), (8, 4), (4, 8)])
def test_chunked_path_equals_a_direct_unroll_with_two_clocks(name, sizes):
    # each memory steps at its own anchor, with the layer's objective, retention and static maps
    C_mem, C_proj = sizes
    layer, x = selfmod(chunk_size=C_mem, projection_chunk_size=C_proj, **SWITCHES[name]), inputs(T=27)
    B, T, H, R = x.shape[0], x.shape[1], layer.heads, len(layer.roles)
    y_chunked, state = layer(x)
    u, _ = layer.conv(layer.inputs(x))
    per_role = u.view(B, T, R, H, layer.head_dim).permute(2, 0, 3, 1, 4).reshape(R, B * H, T, layer.head_dim)
    names, M = layer.projections, len(layer.projections)
    st = layer.init_state(B, F64)
    W = {n: [w[i] for w in st.projections] for i, n in enumerate(names)}
    W["memory"] = list(st.memory)
    S = {n: [torch.zeros_like(w) for w in W[n]] for n in W}
    anchor, ys = dict(W), []
    for t in range(T):
        if t % C_proj == 0:
            anchor.update({n: W[n] for n in names})
        if t % C_mem == 0:
            anchor["memory"] = W["memory"]
        out = {n: mlp_forward(anchor[n], per_role[i, :, t:t + 1], residual=True) for i, n in enumerate(names)}
        static = {r: per_role[M + j, :, t:t + 1] for j, r in enumerate(layer.statics)}
        g = {key: val[:, 0] for key, val in layer._project(out, static, B).items() if val is not None}
        for n in names + ("memory",):
            target = mlp_forward(anchor[n], g["v"], residual=True)
            grads = clip_gradients(autograd_inner_gradient(anchor[n], g["k"], target, residual=True,
                                                           objective=layer.inner_rule), layer.max_surprise)
            if layer.inner_momentum:
                S[n] = [g["momentum"][:, None, None] * s - g["eta"][:, None, None] * gr for s, gr in zip(S[n], grads)]
                W[n] = [g["alpha"][:, None, None] * w + s for w, s in zip(W[n], S[n])]
            else:
                W[n] = [g["alpha"][:, None, None] * w - g["eta"][:, None, None] * gr for w, gr in zip(W[n], grads)]
        ys.append(mlp_forward(W["memory"], g["q"], residual=True))
    y = merge_heads(rms_norm(torch.stack(ys, 1), layer.out_norm), B, H) * torch.sigmoid(layer.gate(x))
    assert (layer.out(y) - y_chunked).abs().max().item() <= 1e-12
    for a, b in zip(state.memory, W["memory"]):
        assert (a - b).abs().max().item() <= 1e-12
    if layer.inner_momentum:
        for a, b in zip(state.memory_momentum, S["memory"]):
            assert (a - b).abs().max().item() <= 1e-12


@pytest.mark.parametrize("name", list(SWITCHES))
def test_two_calls_equal_one(name):
    layer, x = selfmod(chunk_size=4, projection_chunk_size=8, **SWITCHES[name]), inputs(T=22)
    y, _ = layer(x)
    y1, state = layer(x[:, :9])
    y2, _ = layer(x[:, 9:], state=state)
    assert (torch.cat([y1, y2], 1) - y).abs().max().item() <= 1e-12


@pytest.mark.parametrize("name", list(SWITCHES))
def test_outputs_are_causal(name):
    layer, x = selfmod(chunk_size=4, projection_chunk_size=8, **SWITCHES[name]), inputs(T=20)
    y, _ = layer(x)
    x2 = x.clone()
    x2[:, 11] += 1.0
    y2, _ = layer(x2)
    assert torch.equal(y2[:, :11], y[:, :11]) and not torch.equal(y2[:, 11:], y[:, 11:])


# -- each switch changes what it names ---------------------------------------------------------------


def test_dot_rule_is_plain_gradient_descent_on_the_dot_product():
    # a linear memory (one layer, no residual): one step is M <- a M + eta v k^T, no erase term
    N, d = 3, 5
    gen = torch.Generator().manual_seed(0)
    W0 = [torch.randn(N, d, d, dtype=F64, generator=gen)]
    k, v = torch.randn(N, 1, d, dtype=F64, generator=gen), torch.randn(N, 1, d, dtype=F64, generator=gen)
    eta, a = torch.full((N, 1), 0.3, dtype=F64), torch.full((N, 1), 0.9, dtype=F64)
    _, (W1,), _ = unrolled_chunk(None, k, v, eta, a, W0, W0, residual=False, objective="dot")
    expected = 0.9 * W0[0] + 0.3 * v.transpose(1, 2) @ k
    assert (W1 - expected).abs().max().item() <= 1e-14
    (g,) = autograd_inner_gradient(W0, k[:, 0], v[:, 0], residual=False, objective="dot")
    assert (g + v.transpose(1, 2) @ k).abs().max().item() <= 1e-14


def test_dot_rule_keeps_the_parameters_and_changes_the_updates():
    default, dot = selfmod(chunk_size=4, projection_chunk_size=4), selfmod(chunk_size=4, projection_chunk_size=4,
                                                                           inner_rule="dot")
    assert shapes(default) == shapes(dot)
    dot.load_state_dict(default.state_dict())
    x = inputs(T=12)
    y0, s0, g0 = default(x, return_generated=True)
    y1, s1, g1 = dot(x, return_generated=True)
    # the first chunk is generated from the initial states in both: same k, v, gates there
    for key in g0:
        assert torch.equal(g0[key][:, :, :4], g1[key][:, :, :4]), key
    assert not torch.equal(s0.memory[1], s1.memory[1]) and not torch.equal(y0, y1)
    assert "-<M(k), M(v)>" in levels_of(dot)[0].objective


def _pinned(layer, **kw):
    """A layer with ``kw`` switched on and every parameter it keeps copied from ``layer``."""
    torch.manual_seed(1)
    other = SelfModifyingTitans(16, heads=2, chunk_size=layer.chunk_size,
                                projection_chunk_size=layer.projection_chunk_size, adaptive_q=layer.adaptive_q,
                                **kw).to(F64)
    rows = {r: layer.inputs.weight.view(len(layer.roles), 16, 16)[i] for i, r in enumerate(layer.roles)}
    conv = {r: layer.conv.weight.view(len(layer.roles), 16, *layer.conv.weight.shape[1:])[i]
            for i, r in enumerate(layer.roles)}
    with torch.no_grad():
        other.inputs.weight.copy_(torch.cat([rows[r] for r in other.roles]))
        other.conv.weight.copy_(torch.cat([conv[r] for r in other.roles]))
        for n in other.initial_states:
            for p, q in zip(other.initial_states[n], layer.initial_states[n]):
                p.copy_(q)
        other.gate_readout.copy_(layer.gate_readout[:len(other.gate_readout)])
        other.gate_bias.copy_(layer.gate_bias[:len(other.gate_bias)])
        for name in ("out_norm", "gate.weight", "gate.bias", "out.weight"):
            other.get_parameter(name).copy_(layer.get_parameter(name))
    return other


def test_without_retention_the_alpha_memory_is_gone_and_the_rest_is_a_equal_to_one():
    layer = selfmod(chunk_size=4, projection_chunk_size=8)
    off = _pinned(layer, retention=False)
    assert "alpha" not in off.initial_states and off.roles == ("k", "v", "eta", "q")
    assert shapes(off)["gate_readout"] == (1, 2, 8) and shapes(off)["inputs.weight"] == (4 * 16, 16)
    assert "alpha" not in {lv.name for lv in levels_of(off)}
    with torch.no_grad():                           # today's layer with its retention gate pinned at 1
        layer.gate_bias[1].fill_(1e3)
    x = inputs()
    y, _, gen = off(x, return_generated=True)
    y_pinned, _, gen_pinned = layer(x, return_generated=True)
    assert torch.equal(gen["alpha"], torch.ones_like(gen["alpha"])) and torch.equal(gen_pinned["alpha"], gen["alpha"])
    assert (y - y_pinned).abs().max().item() <= 1e-12


@pytest.mark.parametrize("role,adaptive_q", [("k", False), ("v", False), ("q", True)])
def test_a_static_projection_replaces_its_memory_by_its_input_map(role, adaptive_q):
    layer = selfmod(chunk_size=4, projection_chunk_size=8, adaptive_q=adaptive_q)
    static = _pinned(layer, static_projections=(role,))
    assert role not in static.initial_states and role in static.statics and role not in static.projections
    assert role not in {lv.name for lv in levels_of(static)}
    assert count_parameters(layer) - count_parameters(static) == sum(
        p.numel() for p in layer.initial_states[role])
    # today's layer whose `role` memory is the identity (W_1 = 0) and stays so (projections frozen)
    with torch.no_grad():
        layer.initial_states[role][1].zero_()
    x = inputs()
    y, _ = static(x, freeze_projections=True)
    y_pinned, _ = layer(x, freeze_projections=True)
    assert (y - y_pinned).abs().max().item() <= 1e-12
    # writing, the other memories still learn in context
    _, state = static(x)
    assert not torch.equal(state.projections[0], static.init_state(2, F64).projections[0])


def test_inner_momentum_adds_only_its_gate_and_at_zero_decay_is_todays_rule():
    layer = selfmod(chunk_size=4, projection_chunk_size=8)
    with_momentum = _pinned(layer, inner_momentum=True)
    extra = set(shapes(with_momentum)) - set(shapes(layer))
    assert extra == {"momentum_readout", "momentum_bias"} and set(shapes(layer)) <= set(shapes(with_momentum))
    assert "S_t = m_t S_{t-1}" in levels_of(with_momentum)[0].update_rule
    x = inputs()
    _, state = with_momentum(x)
    assert state.memory_momentum is not None and layer(x)[1].memory_momentum is None
    with torch.no_grad():                           # m_t = 0: S_t = -eta_t grad, the rule without momentum
        with_momentum.momentum_bias.fill_(-1e3)
    assert (with_momentum(x)[0] - layer(x)[0]).abs().max().item() <= 1e-12
    with torch.no_grad():
        with_momentum.momentum_bias.fill_(2.0)
    assert (with_momentum(x)[0] - layer(x)[0]).abs().max().item() > 1e-6


# -- models: fields, wiring, CMS off, parameter counts -----------------------------------------------


@pytest.mark.parametrize("row", list(ROWS))
def test_every_row_builds_runs_and_keeps_the_parameter_budget(row):
    torch.manual_seed(0)
    model = build_model("hope", "tiny", **ROWS[row])
    budget = count_parameters(build_model("transformer", "tiny", device="meta"))
    assert abs(count_parameters(model) / budget - 1) <= 0.01
    logits, state = model(torch.randint(0, 256, (2, 10)))
    assert logits.shape == (2, 10, 256) and torch.isfinite(logits).all()
    mixer, cfg = model.blocks[0].mixer, model.config
    assert (mixer.inner_rule, mixer.retention, mixer.adaptive_q) == (cfg.inner_rule, cfg.retention, cfg.adaptive_q)
    assert mixer.static_projections == tuple(cfg.static_projections) and mixer.inner_momentum == cfg.inner_momentum


def test_model_defaults_are_todays_model():
    torch.manual_seed(0)
    model = build_model("hope", "tiny")
    torch.manual_seed(0)
    explicit = build_model("hope", "tiny", inner_rule="l2", retention=True, static_projections=(), adaptive_q=False,
                           inner_momentum=False, cms=True)
    assert model.config == explicit.config
    tokens = torch.randint(0, 256, (2, 12))
    assert torch.equal(model(tokens)[0], explicit(tokens)[0])


@pytest.mark.parametrize("kind", ["hope", "hope-attention"])
def test_without_cms_one_static_swiglu_of_the_same_budget_replaces_it(kind):
    torch.manual_seed(0)
    with_cms, without = build_model(kind, "small", device="meta"), build_model(kind, "small", device="meta", cms=False)
    block, static = with_cms.blocks[0], without.blocks[0]
    assert static.cms is None and static.ffn is not None and block.ffn is None
    assert shapes(static.mixer) == shapes(block.mixer)                      # the token mixer is untouched
    cms_count = count_parameters(block.cms)
    mlp_count = count_parameters(static.ffn) + count_parameters(static.ffn_norm)
    assert abs(mlp_count / cms_count - 1) <= 0.01, (mlp_count, cms_count)
    model = build_model(kind, "tiny", cms=False)
    _, state = model(torch.randint(0, 256, (1, 6)))
    assert all(s.cms is None for s in state)


def test_the_ablated_model_compiles_as_one_graph(one_thread):
    import torch._dynamo as dynamo

    torch.manual_seed(0)
    model = build_model("hope", "tiny", inner_rule="dot", retention=False, static_projections=("k", "v"),
                        inner_momentum=True, cms=False)
    dynamo.reset()
    explanation = dynamo.explain(model)(torch.randint(0, 256, (2, 16)))
    assert explanation.graph_break_count == 0, [r.reason for r in explanation.break_reasons]
