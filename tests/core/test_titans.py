"""hope_lite.titans: the Titans (LMM) layer and self-modifying Titans.

Equivalence (chunk size 1 = per-token reference, outputs and gradients), causality, streaming,
outer gradients reaching every meta-learned state, levels and recorded updates, stability under
huge inputs, save/load, devices and bad input.
"""

from __future__ import annotations

import io

import pytest
import torch

from hope_lite.levels import UpdateRecorder, levels_of
from hope_lite.layers import CausalConv, _ShiftedTaps
from hope_lite.self_modifying import SelfModifyingTitans
from hope_lite.titans import TitansLayer

F64 = torch.float64


def titans(**kw):
    kw = {"heads": 2, **kw}
    return TitansLayer(16, **kw).to(F64)


def selfmod(**kw):
    kw = {"heads": 2, **kw}
    return SelfModifyingTitans(16, **kw).to(F64)


LAYERS = {
    "titans": lambda **kw: titans(**{"chunk_size": 1, **kw}),
    "titans-persistent": lambda **kw: titans(**{"chunk_size": 1, "persistent_tokens": 3, **kw}),
    "selfmod": lambda **kw: selfmod(**{"chunk_size": 1, "projection_chunk_size": 1, **kw}),
    "selfmod-adaptive-q": lambda **kw: selfmod(**{"chunk_size": 1, "projection_chunk_size": 1, "adaptive_q": True,
                                                  **kw}),
    "selfmod-static": lambda **kw: selfmod(**{"chunk_size": 1, "projection_chunk_size": 1,
                                              "self_modifying": False, **kw}),
}


def inputs(T=24, B=2, scale=1.0, seed=0):
    return scale * torch.randn(B, T, 16, dtype=F64, generator=torch.Generator().manual_seed(seed))


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


# -- equivalence --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(LAYERS))
def test_chunk_size_one_equals_the_per_token_reference(name):
    layer, x = LAYERS[name](), inputs()
    y_chunked, _ = layer(x)
    y_reference, _ = layer(x, path="reference")
    assert (y_chunked - y_reference).abs().max().item() <= 1e-10


@pytest.mark.parametrize("name", ["titans", "selfmod", "selfmod-adaptive-q"])
def test_gradients_of_both_paths_agree(name):
    layer, x = LAYERS[name](), inputs(T=12)
    params = [p for p in layer.parameters()]
    g_chunked = torch.autograd.grad(layer(x)[0].square().sum(), params)
    g_reference = torch.autograd.grad(layer(x, path="reference")[0].square().sum(), params)
    for (pname, _), a, b in zip(layer.named_parameters(), g_chunked, g_reference):
        assert (a - b).abs().max().item() <= 1e-9, pname


def test_surprise_clipping_is_the_same_in_both_paths():
    # a tiny clip makes every write a clipped one: both paths must clip identically
    for layer in (LAYERS["titans"](max_surprise=1e-3), LAYERS["selfmod"](max_surprise=1e-3)):
        x = inputs(scale=10.0)
        assert (layer(x)[0] - layer(x, path="reference")[0]).abs().max().item() <= 1e-10


@pytest.mark.parametrize("adaptive_q", [False, True])
@pytest.mark.parametrize("sizes", [(6, 6), (8, 4), (4, 8)])
def test_chunked_path_equals_a_direct_unroll_with_two_clocks(adaptive_q, sizes):
    # Every memory's gradients are taken at its own anchor (its weights at its last chunk boundary):
    # written here token by token with autograd, for equal and unequal chunk sizes.
    from hope_lite.deep_memory import autograd_inner_gradient, clip_gradients, mlp_forward
    from hope_lite.layers import rms_norm, unit_norm
    from hope_lite.self_modifying import merge_heads

    C_mem, C_proj = sizes
    layer, x = selfmod(chunk_size=C_mem, projection_chunk_size=C_proj, adaptive_q=adaptive_q), inputs(T=27)
    B, T, H = x.shape[0], x.shape[1], layer.heads
    with UpdateRecorder(layer) as rec:
        y_chunked, state = layer(x)
    u, _ = layer.conv(layer.inputs(x))
    per_role = u.view(B, T, len(layer.roles), H, layer.head_dim).permute(2, 0, 3, 1, 4).reshape(
        len(layer.roles), B * H, T, layer.head_dim)
    st = layer.init_state(B, F64)
    names = layer.projections
    W = {n: [w[i] for w in st.projections] for i, n in enumerate(names)}
    W["memory"] = list(st.memory)
    anchor = dict(W)
    ys = []
    for t in range(T):
        if t % C_proj == 0:
            anchor.update({n: W[n] for n in names})
        if t % C_mem == 0:
            anchor["memory"] = W["memory"]
        out = {n: mlp_forward(anchor[n], per_role[i, :, t], residual=True) for i, n in enumerate(names)}
        k, v = unit_norm(out["k"]), out["v"]
        eta, alpha = (g[:, 0] for g in layer._gates(out["eta"][:, None], out["alpha"][:, None], B))
        q = unit_norm(out["q"]) if adaptive_q else unit_norm(per_role[-1, :, t])
        for n in names + ("memory",):
            target = mlp_forward(anchor[n], v, residual=True)
            grads = clip_gradients(autograd_inner_gradient(anchor[n], k, target, residual=True), layer.max_surprise)
            W[n] = [alpha[:, None, None] * w - eta[:, None, None] * g for w, g in zip(W[n], grads)]
        ys.append(mlp_forward(W["memory"], q, residual=True))
    y = merge_heads(rms_norm(torch.stack(ys, 1), layer.out_norm), B, H) * torch.sigmoid(layer.gate(x))
    assert (layer.out(y) - y_chunked).abs().max().item() <= 1e-12
    for a, b in zip(state.memory, W["memory"]):
        assert (a - b).abs().max().item() <= 1e-12
    assert state.memory_done == T % C_mem and state.projections_done == T % C_proj
    assert rec.events["memory"].all_times().tolist() == list(range(C_mem - 1, T, C_mem))
    assert rec.events["k"].all_times().tolist() == list(range(C_proj - 1, T, C_proj))


def test_reference_path_streams_too():
    layer, x = LAYERS["selfmod"](), inputs(T=20)
    y_once, _ = layer(x, path="reference")
    y1, s = layer(x[:, :7], path="reference")
    y2, _ = layer(x[:, 7:], path="reference", state=s)
    assert (torch.cat([y1, y2], 1) - y_once).abs().max().item() <= 1e-12


def test_a_sequence_shorter_than_a_chunk_is_a_partial_chunk_completed_by_the_next_call():
    layer, x = selfmod(chunk_size=16, projection_chunk_size=16), inputs(T=40)
    y_short, state = layer(x[:, :5])                       # 5 < 16: written, anchor not yet moved
    assert state.memory_done == 5 and state.projections_done == 5
    y_rest, _ = layer(x[:, 5:], state=state)
    assert (torch.cat([y_short, y_rest], 1) - layer(x)[0]).abs().max().item() <= 1e-12


def test_streaming_state_has_constant_size():
    layer = titans(chunk_size=4)
    x = inputs(T=64)
    _, s_short = layer(x[:, :8])
    _, s_long = layer(x)

    def numel(st):
        leaves = [st.conv, *st.memory.weights, *st.memory.momentum, *st.memory.anchor]
        return sum(t.numel() for t in leaves)
    assert numel(s_short) == numel(s_long)


def test_causal_conv_streams_and_is_causal():
    conv = CausalConv(6, window=4).to(F64)
    x = torch.randn(2, 20, 6, dtype=F64)
    y, _ = conv(x)
    y1, c = conv(x[:, :9])
    y2, _ = conv(x[:, 9:], c)
    assert (torch.cat([y1, y2], 1) - y).abs().max().item() <= 1e-14
    x2 = x.clone()
    x2[:, 10] += 1
    assert (conv(x2)[0][:, :10] - y[:, :10]).abs().max().item() == 0.0


@pytest.mark.parametrize("window", [1, 2, 4])
def test_causal_conv_equals_depthwise_conv1d_with_its_gradients(window):
    """The shifted taps (a custom backward) against torch's depthwise conv1d, values and first and second
    gradients in float64, the cache's gradient included."""
    torch.manual_seed(window)
    conv = CausalConv(6, window=window).to(F64)
    x = torch.randn(2, 9, 6, dtype=F64, requires_grad=True)
    cache = torch.randn(2, window - 1, 6, dtype=F64, requires_grad=True)

    def reference(x, cache, weight):
        padded = torch.cat([cache, x], 1).transpose(1, 2)
        return torch.nn.functional.conv1d(padded, weight, groups=6).transpose(1, 2)

    y = conv(x, cache)[0]
    assert (y - reference(x, cache, conv.weight)).abs().max().item() <= 1e-15
    g = torch.randn_like(y)
    ours_grads = torch.autograd.grad(y, (x, cache, conv.weight), g)
    ref_grads = torch.autograd.grad(reference(x, cache, conv.weight), (x, cache, conv.weight), g)
    for a, b in zip(ours_grads, ref_grads):
        assert a.shape == b.shape and torch.allclose(a, b, rtol=0, atol=1e-14)
    taps = lambda x, cache, w: _ShiftedTaps.apply(torch.cat([cache, x], 1), w)  # noqa: E731
    assert torch.autograd.gradgradcheck(taps, (x, cache, conv.weight[:, 0].detach().clone().requires_grad_()))


# -- outer gradients, levels, recorder ------------------------------------------------------------


@pytest.mark.parametrize("make", [lambda: titans(chunk_size=4, persistent_tokens=2),
                                  lambda: selfmod(chunk_size=8, projection_chunk_size=4),
                                  lambda: selfmod(chunk_size=8, projection_chunk_size=4, adaptive_q=True)])
def test_gradients_reach_every_meta_learned_state_and_projection(make):
    layer, x = make(), inputs(T=32)
    layer(x)[0].square().mean().backward()
    for name, p in layer.named_parameters():
        assert p.grad is not None and p.grad.abs().max().item() > 0, name
    if isinstance(layer, SelfModifyingTitans):
        names = {n.split(".")[1] for n, _ in layer.named_parameters() if n.startswith("initial_states")}
        assert names == set(layer.projections) | {"memory"}


def test_levels_and_recorded_updates_follow_the_chunk_sizes():
    layer = selfmod(chunk_size=8, projection_chunk_size=4)
    periods = {lv.name: lv.period for lv in levels_of(layer) if lv.clock == "tokens"}
    assert periods == {"memory": 8, "k": 4, "v": 4, "eta": 4, "alpha": 4}
    with UpdateRecorder(layer) as rec:
        layer(inputs(T=30))
    counts = rec.counts()
    assert counts["memory"] == 30 // 8 and counts["k"] == counts["alpha"] == 30 // 4
    assert rec.events["memory"].all_times().tolist() == [7, 15, 23]
    static = selfmod(chunk_size=8, self_modifying=False)
    assert {lv.name for lv in levels_of(static) if lv.clock == "tokens"} == {"memory"}


def test_static_projections_do_not_change_in_context():
    layer = selfmod(chunk_size=8, projection_chunk_size=4, self_modifying=False)
    state0 = layer.init_state(2, F64)
    _, state = layer(inputs(T=20))
    for a, b in zip(state.projections, state0.projections):
        assert torch.equal(a, b)
    assert not torch.equal(state.memory[0], state0.memory[0])


def test_titans_layer_levels_and_memory_trace():
    layer = titans(chunk_size=8)
    assert [lv.period for lv in levels_of(layer) if lv.clock == "tokens"] == [8]
    trace = layer.memory_trace(inputs(T=20))
    assert trace["surprise"].shape == (2, 2, 20) and trace["weight_norm"].shape == (2, 2, 3)
    assert (trace["surprise"] >= 0).all()


# -- stability, save/load, devices -----------------------------------------------------------------


@pytest.mark.parametrize("cls", [TitansLayer, SelfModifyingTitans])
def test_huge_inputs_stay_finite(cls):
    layer = cls(32, heads=4)
    x = 100 * torch.randn(1, 2048, 32)
    with torch.no_grad():
        y, state = layer(x)
    assert torch.isfinite(y).all()
    weights = state.memory.weights if cls is TitansLayer else state.memory + state.projections
    assert all(torch.isfinite(w).all() for w in weights)


@pytest.mark.parametrize("cls", [TitansLayer, SelfModifyingTitans])
def test_state_dict_round_trip_gives_identical_outputs(cls):
    layer = cls(16, heads=2, chunk_size=4)
    buf = io.BytesIO()
    torch.save(layer.state_dict(), buf)
    torch.manual_seed(123)                        # a different random init, then overwritten
    other = cls(16, heads=2, chunk_size=4)
    other.load_state_dict(torch.load(io.BytesIO(buf.getvalue())))
    x = torch.randn(2, 10, 16)
    assert torch.equal(layer(x)[0], other(x)[0])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("cls", [TitansLayer, SelfModifyingTitans])
def test_cuda_matches_cpu(cls):
    layer = cls(16, heads=2, chunk_size=4).double()
    x = torch.randn(2, 20, 16, dtype=F64)
    y_cpu = layer(x)[0]
    y_gpu = layer.cuda()(x.cuda())[0].cpu()
    assert (y_cpu - y_gpu).abs().max().item() <= 1e-10


# -- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [TitansLayer, SelfModifyingTitans])
@pytest.mark.parametrize("kwargs, word", [
    ({"width": 0}, "width"), ({"width": 16, "heads": 0}, "heads"), ({"width": 16, "heads": 3}, "divisible"),
    ({"width": 16.0}, "width"), ({"width": 16, "chunk_size": 0}, "chunk_size"),
    ({"width": 16, "chunk_size": 2.5}, "chunk_size"), ({"width": 16, "conv_window": 0}, "conv_window"),
    ({"width": 16, "max_step": -1.0}, "max_step"), ({"width": 16, "max_step": float("inf")}, "max_step"),
    ({"width": 16, "max_surprise": 0.0}, "max_surprise"),
])
def test_bad_construction_arguments_name_the_argument(cls, kwargs, word):
    with pytest.raises(ValueError, match=word):
        cls(**kwargs)


@pytest.mark.parametrize("kwargs, word", [
    ({"persistent_tokens": -1}, "persistent_tokens"), ({"max_momentum": 1.5}, "max_momentum"),
    ({"max_forget": 2.0}, "max_forget"), ({"memory_depth": 0}, "depth"), ({"memory_hidden": 0}, "hidden"),
])
def test_bad_titans_layer_arguments(kwargs, word):
    with pytest.raises(ValueError, match=word):
        TitansLayer(16, heads=2, **kwargs)


@pytest.mark.parametrize("kwargs, word", [
    ({"projection_chunk_size": 0}, "projection_chunk_size"), ({"hidden": 0}, "hidden"),
])
def test_bad_self_modifying_arguments(kwargs, word):
    with pytest.raises(ValueError, match=word):
        SelfModifyingTitans(16, heads=2, **kwargs)


@pytest.mark.parametrize("make", [lambda: TitansLayer(16, heads=2), lambda: SelfModifyingTitans(16, heads=2)])
@pytest.mark.parametrize("x, word", [
    (torch.randn(2, 5, 8), "width"), (torch.randn(5, 16), "shape"), (torch.randn(2, 0, 16), "empty"),
    (torch.full((1, 3, 16), float("nan")), "NaN"), (torch.ones(1, 3, 16, dtype=torch.long), "floating"),
    ("not a tensor", "shape"),
])
def test_bad_inputs_name_what_to_change(make, x, word):
    with pytest.raises(ValueError, match=word):
        make()(x)


@pytest.mark.parametrize("make", [lambda: TitansLayer(16, heads=2), lambda: SelfModifyingTitans(16, heads=2)])
def test_bad_state_and_path(make):
    layer = make()
    x = torch.randn(2, 4, 16)
    with pytest.raises(ValueError, match="path"):
        layer(x, path="fast")
    with pytest.raises(ValueError, match="state"):
        layer(x, state={"something": 1})
    _, state = layer(x)
    with pytest.raises(ValueError, match="batch"):
        layer(torch.randn(3, 4, 16), state=state)


def test_reference_path_refuses_a_state_left_mid_chunk():
    layer = SelfModifyingTitans(16, heads=2, chunk_size=8)
    _, state = layer(torch.randn(1, 5, 16))
    with pytest.raises(ValueError, match="reference"):
        layer(torch.randn(1, 3, 16), state=state, path="reference")


# -- a state from another layer, a batch of 0, dtype mixes ----------------------------------------

SEQUENCE_LAYERS = {"titans": TitansLayer, "selfmod": SelfModifyingTitans}


def _state_of(cls, x=None, **kw):
    kw = {"heads": 2, "chunk_size": 4, **kw}
    width = kw.pop("width", 16)
    return cls(width, **kw)(torch.randn(2, 5, width) if x is None else x)[1]


@pytest.mark.parametrize("name", list(SEQUENCE_LAYERS))
@pytest.mark.parametrize("other, needle", [
    (lambda cls: _state_of(cls, width=24), r"has shape \(.*\) but \w+ expects \(.*\) \(a state of another width"),
    (lambda cls: _state_of(cls, heads=4), r"has shape .* \(a state of another width or configuration\)"),
    (lambda cls: _state_of(cls, conv_window=2), r"state.conv has shape \(2, 1, \d+\) but \w+ expects \(2, 3, \d+\)"),
    (lambda cls: _state_of(cls).to(dtype=torch.float16), r"has dtype torch.float16 but \w+ computes in torch.float32"),
    (lambda cls: _state_of(cls).to("meta"), r"is on meta but \w+ runs on cpu: move the state with state.to\('cpu'\)"),
    (lambda cls: _state_of(cls, x=torch.randn(3, 5, 16)), "state was built for batch 3, but the input has batch 2"),
    (lambda cls: _state_of(SEQUENCE_LAYERS["selfmod" if cls is TitansLayer else "titans"]),
     r"^state must be a (TitansLayerState|SelfModifyingState), got a (SelfModifyingState|TitansLayerState)"),
    (lambda cls: make_other_memory_state(), r"^state must be a \w+, got a MatrixState"),
])
def test_a_state_of_another_layer_is_refused_by_name(name, other, needle):
    cls = SEQUENCE_LAYERS[name]
    layer, state = cls(16, heads=2, chunk_size=4), other(SEQUENCE_LAYERS[name])
    with pytest.raises(ValueError, match=needle) as err:
        layer(torch.randn(2, 5, 16), state=state)
    assert "\n" not in str(err.value) and str(err.value).endswith("or pass None to start fresh.")


def make_other_memory_state():
    from hope_lite.memory import HebbianMemory
    return HebbianMemory(8, 8)(*(torch.randn(2, 5, 8) for _ in range(3)))[1]


@pytest.mark.parametrize("kw, needle", [
    ({"memory_depth": 3}, r"state.memory.weights must be a list of 2, got a list of 3"),
])
def test_a_titans_state_of_another_memory_depth_is_refused(kw, needle):
    with pytest.raises(ValueError, match=needle):
        TitansLayer(16, heads=2, chunk_size=4)(torch.randn(2, 5, 16), state=_state_of(TitansLayer, **kw))


def test_a_self_modifying_state_with_an_adaptive_q_memory_is_refused():
    # five projection memories (k, v, eta, alpha, q) where the layer has four: silently wrong before
    state = _state_of(SelfModifyingTitans, adaptive_q=True)
    with pytest.raises(ValueError, match=r"state.projections\[0\] has shape \(5, 4, 8, 8\) but SelfModifyingTitans "
                                         r"expects \(4, 4, 8, 8\)"):
        SelfModifyingTitans(16, heads=2, chunk_size=4)(torch.randn(2, 5, 16), state=state)


@pytest.mark.parametrize("name", list(SEQUENCE_LAYERS) + ["titans-persistent"])
@pytest.mark.parametrize("path", ["chunked", "reference"])
def test_a_batch_of_zero_sequences_gives_an_empty_result_and_state(name, path):
    layer = (TitansLayer(16, heads=2, chunk_size=4, persistent_tokens=2) if name == "titans-persistent"
             else SEQUENCE_LAYERS[name](16, heads=2, chunk_size=1))
    y, state = layer(torch.randn(0, 5, 16), path=path)
    assert y.shape == (0, 5, 16) and state.numel() == 0
    y2, _ = layer(torch.randn(0, 3, 16), state=state, path=path)    # an empty state carries on
    assert y2.shape == (0, 3, 16)


@pytest.mark.parametrize("name", list(SEQUENCE_LAYERS))
@pytest.mark.parametrize("dtype", [torch.float64, torch.bfloat16])
def test_an_input_of_another_dtype_is_refused_outside_autocast(name, dtype):
    layer = SEQUENCE_LAYERS[name](16, heads=2, chunk_size=4)
    with pytest.raises(ValueError, match=rf"^x has dtype {dtype} but \w+'s parameters have torch.float32: cast the "
                                         rf"input with x.to\(torch.float32\) or the layer with .to\({dtype}\)"):
        layer(torch.randn(2, 5, 16, dtype=dtype))
    with torch.autocast("cpu", dtype=torch.bfloat16):              # autocast casts every matmul's inputs
        if dtype == torch.float64:                                  # but never float64
            with pytest.raises(ValueError, match="x has dtype torch.float64"):
                layer(torch.randn(2, 5, 16, dtype=dtype))
        y, state = layer(torch.randn(2, 5, 16, dtype=torch.bfloat16))
        y, _ = layer(torch.randn(2, 5, 16), state=state)
    assert torch.isfinite(y.float()).all()


@pytest.mark.parametrize("name", list(SEQUENCE_LAYERS))
def test_an_input_on_another_device_is_refused(name):
    from hope_lite import checks
    # no CUDA here: the meta device stands in for another device (no value check can look inside it)
    with checks.value_checks(False), pytest.raises(ValueError, match=r"^x is on meta but \w+'s parameters are on cpu"):
        SEQUENCE_LAYERS[name](16, heads=2)(torch.randn(2, 5, 16, device="meta"))


def test_a_fresh_self_modifying_state_from_init_state_is_accepted():
    # init_state leaves the convolution cache None: a state the layer may carry on from
    layer = SelfModifyingTitans(16, heads=2, chunk_size=4)
    y, state = layer(torch.randn(2, 5, 16), state=layer.init_state(2))
    assert y.shape == (2, 5, 16) and state.conv is not None
