"""hope_lite.memory: the two paths agree, outputs are causal, state streams, bad input is refused."""

from __future__ import annotations

import io

import pytest
import torch
import torch.nn.functional as F

from hope_lite.levels import UpdateRecorder, levels_of
from hope_lite.deep_memory import TitansMemory
from hope_lite.layers import DataDependentGates, make_memory
from hope_lite.memory import DeltaRuleMemory, HebbianMemory

RULES = ["hebbian", "delta", "titans"]


def random_gates(rule: str, shape: tuple[int, ...], dtype=torch.float64, generator=None) -> dict:
    """Random per-token gates inside each rule's valid ranges."""
    r = lambda: torch.rand(shape, dtype=dtype, generator=generator)  # noqa: E731
    if rule == "titans":
        return {"theta": 0.3 * r(), "eta": r(), "alpha": 0.2 * r()}
    return {"eta": r(), "alpha": 0.5 + 0.5 * r()}


def random_inputs(lead=(2, 3), T=37, d=8, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(*lead, T, d, dtype=dtype, generator=g)
    k = F.normalize(torch.randn(*lead, T, d, dtype=dtype, generator=g), dim=-1)
    v = torch.randn(*lead, T, d, dtype=dtype, generator=g)
    return q, k, v, g


def build(rule: str, d: int = 8, dtype=torch.float64, **kw):
    torch.manual_seed(0)
    return make_memory(rule, d, **kw).to(dtype)


# ---------------------------------------------------------------------------------------------
# Two paths, one truth


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("lead", [(), (3,), (2, 3)])
def test_chunk_size_one_equals_reference_float64(rule, lead):
    q, k, v, g = random_inputs(lead=lead)
    gates = random_gates(rule, (*lead, q.shape[-2]), generator=g)
    mem = build(rule)
    y_ref, s_ref = mem(q, k, v, path="reference", **gates)
    y_chk, s_chk = mem(q, k, v, chunk_size=1, **gates)
    assert y_ref.shape == (*lead, q.shape[-2], 8)
    assert (y_ref - y_chk).abs().max().item() <= 1e-10
    key = "weights" if rule == "titans" else "M"
    ref_state = getattr(s_ref, key) if rule != "titans" else torch.cat([w.flatten(len(lead)) for w in getattr(s_ref, key)], -1)
    chk_state = getattr(s_chk, key) if rule != "titans" else torch.cat([w.flatten(len(lead)) for w in getattr(s_chk, key)], -1)
    assert (ref_state - chk_state).abs().max().item() <= 1e-10


@pytest.mark.parametrize("rule", ["hebbian", "delta"])
@pytest.mark.parametrize("chunk_size", [3, 16, 64])
def test_linear_memories_are_exact_for_every_chunk_size(rule, chunk_size):
    q, k, v, g = random_inputs(lead=(2,), T=200)
    gates = random_gates(rule, (2, 200), generator=g)
    mem = build(rule)
    y_ref, s_ref = mem(q, k, v, path="reference", **gates)
    y_chk, s_chk = mem(q, k, v, chunk_size=chunk_size, **gates)
    assert (y_ref - y_chk).abs().max().item() <= 1e-8
    assert (s_ref.M - s_chk.M).abs().max().item() <= 1e-8


def test_delta_rule_chunk_64_with_strong_steps_and_no_decay():
    """The closed form must hold in the hard case: eta = 1 (full erase) and no retention decay."""
    q, k, v, _ = random_inputs(lead=(2,), T=256, d=16)
    mem = build("delta", d=16)
    y_ref, _ = mem(q, k, v, path="reference", eta=1.0, alpha=1.0)
    y_chk, _ = mem(q, k, v, chunk_size=64, eta=1.0, alpha=1.0)
    assert (y_ref - y_chk).abs().max().item() <= 1e-8


def test_titans_chunked_gradients_are_taken_at_the_chunk_start():
    """chunk_size > 1 is Titans' mini-batch rule: differs from per-token, equals a direct unroll."""
    q, k, v, g = random_inputs(lead=(2,), T=12)
    gates = random_gates("titans", (2, 12), generator=g)
    mem = build("titans")
    y_chk, s_chk = mem(q, k, v, chunk_size=4, **gates)
    # direct unroll: per token, but the gradient uses the weights of the last chunk boundary
    st = mem.init_state(2, torch.float64)
    W, S, ys = st.weights, st.momentum, []
    for t in range(12):
        if t % 4 == 0:
            anchor = [w.detach().requires_grad_() for w in W]
        loss = 0.5 * (mem.mlp(anchor, k[:, t]) - v[:, t]).pow(2).sum()
        grads = torch.autograd.grad(loss, anchor)
        th, et, al = (gates[n][:, t, None, None] for n in ("theta", "eta", "alpha"))
        S = [et * s - th * gr for s, gr in zip(S, grads)]
        W = [(1 - al) * w + s for w, s in zip(W, S)]
        ys.append(mem.mlp(W, q[:, t]))
    assert (torch.stack(ys, 1) - y_chk).abs().max().item() <= 1e-10
    y_ref, _ = mem(q, k, v, path="reference", **gates)
    assert (y_ref - y_chk).abs().max().item() > 1e-6  # the approximation is real, not a no-op


@pytest.mark.parametrize("rule", RULES)
def test_gradients_of_both_paths_agree(rule):
    q, k, v, g = random_inputs(lead=(2,), T=9, d=6)
    gates = random_gates(rule, (2, 9), generator=g)
    leaves = [q, k, v, *gates.values()]
    for x in leaves:
        x.requires_grad_()
    mem = build(rule, d=6)
    grads = []
    for kw in ({"path": "reference"}, {"chunk_size": 1 if rule == "titans" else 4}):
        y, _ = mem(q, k, v, **kw, **gates)
        params = list(mem.parameters())
        grads.append(torch.autograd.grad(y.sin().sum(), leaves + params))
    for a, b in zip(*grads):
        assert (a - b).abs().max().item() <= 1e-9


def test_titans_initial_weights_receive_gradients():
    q, k, v, g = random_inputs(lead=(2,), T=20, dtype=torch.float32)
    mem = build("titans", dtype=torch.float32)
    y, _ = mem(q, k, v, chunk_size=8)
    y.square().mean().backward()
    for p in mem.parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0


def test_hebbian_equals_causal_linear_attention():
    """Unnormalised causal linear attention: y_t = sum_{i<=t} (q_t . k_i) v_i."""
    q, k, v, _ = random_inputs(lead=(2, 4), T=50, dtype=torch.float32)
    mask = torch.ones(50, 50).tril()
    attention = ((q @ k.transpose(-1, -2)) * mask) @ v
    y, _ = HebbianMemory(8, 8)(q, k, v, chunk_size=16)
    assert (attention - y).abs().max().item() < 1e-5


def test_delta_rule_recalls_orthogonal_pairs_exactly():
    d = 16
    keys = torch.eye(d, dtype=torch.float64)[None]
    values = torch.randn(1, d, d, dtype=torch.float64)
    mem = DeltaRuleMemory(d, d)
    _, state = mem(keys, keys, values, eta=1.0)
    assert (mem.recall(state, keys) - values).abs().max().item() < 1e-12


# ---------------------------------------------------------------------------------------------
# Causality and streaming


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("chunk_size", [1, 4, 16, 64])
def test_causality_perturbing_a_token_changes_nothing_before_it(rule, chunk_size):
    T = 40
    q, k, v, g = random_inputs(lead=(2,), T=T)
    gates = random_gates(rule, (2, T), generator=g)
    mem = build(rule)
    y, _ = mem(q, k, v, chunk_size=chunk_size, **gates)
    for t in (0, 7, 15, 16, 33, T - 2):
        q2, k2, v2 = q.clone(), k.clone(), v.clone()
        q2[:, t + 1] += 1.0
        k2[:, t + 1] = F.normalize(k2[:, t + 1] + 1.0, dim=-1)
        v2[:, t + 1] -= 2.0
        gates2 = {n: x.clone() for n, x in gates.items()}
        for n in gates2:
            gates2[n][:, t + 1] = gates2[n][:, t + 1] * 0.5
        y2, _ = mem(q2, k2, v2, chunk_size=chunk_size, **gates2)
        assert torch.equal(y[:, : t + 1], y2[:, : t + 1]), f"output before {t + 1} changed"
        assert not torch.equal(y[:, t + 1], y2[:, t + 1])


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("split", [1, 13, 16, 31])
def test_two_streaming_calls_equal_one_call_float32(rule, split):
    T, C = 48, 8
    q, k, v, g = random_inputs(lead=(2, 2), T=T, dtype=torch.float32)
    gates = random_gates(rule, (2, 2, T), dtype=torch.float32, generator=g)
    mem = build(rule, dtype=torch.float32)
    y_full, s_full = mem(q, k, v, chunk_size=C, **gates)
    part = lambda x, sl: x[..., sl, :] if x.dim() == 4 else x[..., sl]  # noqa: E731
    first, second = slice(0, split), slice(split, T)
    y1, s1 = mem(part(q, first), part(k, first), part(v, first), chunk_size=C,
                 **{n: part(x, first) for n, x in gates.items()})
    y2, s2 = mem(part(q, second), part(k, second), part(v, second), state=s1, chunk_size=C,
                 **{n: part(x, second) for n, x in gates.items()})
    assert (torch.cat([y1, y2], dim=-2) - y_full).abs().max().item() <= 1e-6
    assert s2.position == s_full.position == T


def test_token_by_token_generation_equals_the_full_pass():
    T = 20
    q, k, v, g = random_inputs(lead=(2,), T=T, dtype=torch.float32)
    gates = random_gates("titans", (2, T), dtype=torch.float32, generator=g)
    mem = build("titans", dtype=torch.float32)
    y_full, _ = mem(q, k, v, chunk_size=8, **gates)
    state, ys = None, []
    for t in range(T):
        y, state = mem(q[:, t:t + 1], k[:, t:t + 1], v[:, t:t + 1], state=state, chunk_size=8,
                       **{n: x[:, t:t + 1] for n, x in gates.items()})
        ys.append(y)
    assert (torch.cat(ys, 1) - y_full).abs().max().item() <= 1e-6


# ---------------------------------------------------------------------------------------------
# Save / load, devices, levels and recorded updates


@pytest.mark.parametrize("rule", RULES)
def test_state_survives_save_and_load(rule):
    q, k, v, g = random_inputs(lead=(2,), T=30, dtype=torch.float32)
    mem = build(rule, dtype=torch.float32)
    _, s1 = mem(q[:, :17], k[:, :17], v[:, :17], chunk_size=8)
    buf = io.BytesIO()
    torch.save({"model": mem.state_dict(), "memory_state": s1}, buf)
    buf.seek(0)
    saved = torch.load(buf)
    torch.manual_seed(123)  # a different init, overwritten by the checkpoint
    mem2 = make_memory(rule, 8)
    mem2.load_state_dict(saved["model"])
    y_a, _ = mem(q[:, 17:], k[:, 17:], v[:, 17:], state=s1, chunk_size=8)
    y_b, _ = mem2(q[:, 17:], k[:, 17:], v[:, 17:], state=saved["memory_state"], chunk_size=8)
    assert torch.equal(y_a, y_b)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
@pytest.mark.parametrize("rule", RULES)
def test_cuda_matches_cpu(rule):
    q, k, v, g = random_inputs(lead=(2,), T=40, dtype=torch.float32)
    gates = random_gates(rule, (2, 40), dtype=torch.float32, generator=g)
    mem = build(rule, dtype=torch.float32)
    y_cpu, _ = mem(q, k, v, chunk_size=16, **gates)
    y_gpu, _ = mem.cuda()(q.cuda(), k.cuda(), v.cuda(), chunk_size=16, **{n: x.cuda() for n, x in gates.items()})
    assert (y_gpu.cpu() - y_cpu).abs().max().item() < 1e-4


def test_memories_declare_their_levels():
    levels = levels_of(TitansMemory(8, 8, chunk_size=16))
    assert [(lv.qualified_name, lv.clock, lv.period) for lv in levels] == [
        ("memory", "tokens", 16), ("TitansMemory.weights", "steps", 1)]
    assert levels_of(DeltaRuleMemory(8, 8))[0].period == 1


def test_recorder_logs_every_write_of_a_linear_memory():
    q, k, v, _ = random_inputs(lead=(2,), T=30, dtype=torch.float32)
    mem = DeltaRuleMemory(8, 8)
    with UpdateRecorder() as rec:
        _, s = mem(q[:, :20], k[:, :20], v[:, :20], chunk_size=8)
        mem(q[:, 20:], k[:, 20:], v[:, 20:], state=s, chunk_size=8)
    assert rec.times("memory").tolist() == list(range(30))
    assert (rec.magnitudes("memory") > 0).all()


def test_recorder_logs_titans_updates_once_per_chunk_across_calls():
    q, k, v, _ = random_inputs(lead=(2,), T=30, dtype=torch.float32)
    mem = TitansMemory(8, 8)

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.mixer = mem

    with UpdateRecorder(Model()) as rec:
        _, s = mem(q[:, :13], k[:, :13], v[:, :13], chunk_size=8)
        mem(q[:, 13:], k[:, 13:], v[:, 13:], state=s, chunk_size=8)
    assert rec.times("mixer.memory").tolist() == [7, 15, 23]


def test_no_recorder_means_no_events():
    q, k, v, _ = random_inputs(lead=(2,), T=10, dtype=torch.float32)
    rec = UpdateRecorder()
    HebbianMemory(8, 8)(q, k, v)
    assert rec.counts() == {}


def test_data_dependent_gates_shapes_and_ranges():
    gates = DataDependentGates(16, heads=4, theta=0.5, eta=1.0, alpha=0.1)
    out = gates(torch.randn(2, 7, 16))
    assert set(out) == {"theta", "eta", "alpha"}
    for name, hi in (("theta", 0.5), ("eta", 1.0), ("alpha", 0.1)):
        assert out[name].shape == (2, 4, 7)
        assert (out[name] > 0).all() and (out[name] < hi).all()


# ---------------------------------------------------------------------------------------------
# Bad input: ValueError naming the argument


def _inputs():
    return random_inputs(lead=(2,), T=10, dtype=torch.float32)[:3]


BAD_CALLS = [
    ("chunk_size", lambda m, q, k, v: m(q, k, v, chunk_size=0)),
    ("chunk_size", lambda m, q, k, v: m(q, k, v, chunk_size=-4)),
    ("chunk_size", lambda m, q, k, v: m(q, k, v, chunk_size=2.5)),
    ("chunk_size", lambda m, q, k, v: m(q, k, v, chunk_size=True)),
    ("path", lambda m, q, k, v: m(q, k, v, path="fast")),
    ("q must have shape", lambda m, q, k, v: m(q[0, 0], k, v)),
    ("q, k and v must agree", lambda m, q, k, v: m(q[:, :5], k, v)),
    ("q, k and v must agree", lambda m, q, k, v: m(q[:1], k, v)),
    ("k has width", lambda m, q, k, v: m(q, torch.randn(2, 10, 5), v)),
    ("q has width", lambda m, q, k, v: m(torch.randn(2, 10, 5), k, v)),
    ("v has width", lambda m, q, k, v: m(q, k, torch.randn(2, 10, 3))),
    ("q contains NaN", lambda m, q, k, v: m(q.index_fill(1, torch.tensor([3]), float("nan")), k, v)),
    ("k contains NaN or inf", lambda m, q, k, v: m(q, k.index_fill(1, torch.tensor([3]), float("inf")), v)),
    ("v contains NaN", lambda m, q, k, v: m(q, k, v.index_fill(1, torch.tensor([0]), float("nan")))),
    ("empty", lambda m, q, k, v: m(q[:, :0], k[:, :0], v[:, :0])),
    ("floating-point", lambda m, q, k, v: m(q.long(), k.long(), v.long())),
    ("share a dtype", lambda m, q, k, v: m(q.double(), k, v)),
    ("state must be", lambda m, q, k, v: m(q, k, v, state={"M": 1})),
    ("built for batch 1", lambda m, q, k, v: m(q, k, v, state=m(q[:1], k[:1], v[:1])[1])),
    ("queries must", lambda m, q, k, v: m.recall(m(q, k, v)[1], torch.randn(2, 4, 3))),
]


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("needle,call", BAD_CALLS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(BAD_CALLS)])
def test_bad_input_raises_value_error_naming_the_argument(rule, needle, call):
    mem = make_memory(rule, 8)
    q, k, v = _inputs()
    with pytest.raises(ValueError, match=needle.replace("(", r"\(")):
        call(mem, q, k, v)


@pytest.mark.parametrize("rule,gate,value,needle", [
    ("hebbian", "alpha", 1.5, r"alpha must lie in \[0.0, 1.0\]"),
    ("delta", "eta", -0.1, "eta must lie in"),
    ("delta", "alpha", float("nan"), "alpha contains NaN"),
    ("titans", "eta", 2.0, "eta must lie in"),
    ("titans", "theta", torch.ones(3), "theta must be a number or a tensor broadcastable"),
    ("delta", "beta", 0.5, "unknown"),
    ("titans", "step", 0.5, "unknown"),
])
def test_bad_gates_raise_value_error(rule, gate, value, needle):
    q, k, v = _inputs()
    with pytest.raises(ValueError, match=needle):
        make_memory(rule, 8)(q, k, v, **{gate: value})


@pytest.mark.parametrize("factory,needle", [
    (lambda: make_memory("hebian", 8), "unknown memory rule 'hebian'"),
    (lambda: make_memory("delta", 0), "d_key must be a positive int"),
    (lambda: make_memory("delta", 8, chunk_size=0), "chunk_size"),
    (lambda: TitansMemory(8, 4, residual=True), "residual=True needs d_key == d_value"),
    (lambda: TitansMemory(8, 8, depth=0), "depth"),
    (lambda: TitansMemory(8, 8, hidden=0), "hidden"),
    (lambda: DataDependentGates(8), "name at least one gate"),
    (lambda: DataDependentGates(8, eta=-1.0), "maximum of gate eta"),
])
def test_bad_construction_raises_value_error(factory, needle):
    with pytest.raises(ValueError, match=needle):
        factory()


def test_titans_without_residual_and_depth_one_is_a_linear_memory():
    q, k, v, g = random_inputs(lead=(2,), T=16, d=8)
    gates = random_gates("titans", (2, 16), generator=g)
    mem = TitansMemory(8, 4, depth=1).double()
    y_ref, _ = mem(q, k, v[..., :4], path="reference", **gates)
    y_chk, _ = mem(q, k, v[..., :4], chunk_size=1, **gates)
    assert y_ref.shape == (2, 16, 4)
    assert (y_ref - y_chk).abs().max().item() <= 1e-10


@pytest.mark.parametrize("rule", RULES)
def test_both_paths_run_under_no_grad(rule):
    q, k, v, _ = random_inputs(lead=(2,), T=6, dtype=torch.float32)
    mem = build(rule, dtype=torch.float32)
    with torch.no_grad():
        y_ref, _ = mem(q, k, v, path="reference")
        y_chk, _ = mem(q, k, v, chunk_size=1)
    assert not y_ref.requires_grad
    assert (y_ref - y_chk).abs().max().item() < 1e-5


def test_titans_reference_path_refuses_a_state_with_an_open_chunk():
    q, k, v, _ = random_inputs(lead=(2,), T=10, dtype=torch.float32)
    mem = make_memory("titans", 8, chunk_size=4)
    _, state = mem(q[:, :3], k[:, :3], v[:, :3])          # 3 of 4 tokens: the chunk is open
    with pytest.raises(ValueError, match="path='reference' updates every token"):
        mem(q[:, 3:], k[:, 3:], v[:, 3:], state=state, path="reference")
    _, closed = mem(q[:, :4], k[:, :4], v[:, :4])        # a whole chunk: the reference may carry on
    assert mem(q[:, 4:], k[:, 4:], v[:, 4:], state=closed, path="reference")[0].shape == (2, 6, 8)


# ---------------------------------------------------------------------------------------------
# A state from another memory, a batch of 0 sequences, half precision


def _other_state(rule: str, what: str, mem, q, k, v):
    """A state ``mem`` must refuse: of another width, kind, dtype or device than its own."""
    if what == "width":
        q16, k16, v16, _ = random_inputs(lead=(2,), T=4, d=16, dtype=torch.float32)
        return make_memory(rule, 16)(q16, k16, v16)[1]
    if what == "kind":
        return make_memory("titans" if rule != "titans" else "delta", 8)(q, k, v)[1]
    own = mem(q, k, v)[1]
    return own.to(dtype=torch.float64) if what == "dtype" else own.to("meta")


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("what,needle", [
    ("width", r"has shape \(2, (16, 16|32, 16)\) but \w+ expects \(2, (8, 8|16, 8)\) \(a state of another width"),
    ("kind", r"^state must be a (MatrixState|DeepMemoryState), got a (DeepMemoryState|MatrixState): pass the state"),
    ("dtype", r"has dtype torch.float64 but \w+ computes in torch.float32: cast the state with "
              r"state.to\(dtype=torch.float32\)"),
    ("device", r"is on meta but \w+ runs on cpu: move the state with state.to\('cpu'\)"),
])
def test_a_state_of_another_memory_is_refused_by_name(rule, what, needle):
    mem = make_memory(rule, 8)
    q, k, v = _inputs()
    other = _other_state(rule, what, mem, q, k, v)
    with pytest.raises(ValueError, match=needle) as err:
        mem(q, k, v, state=other)
    assert "\n" not in str(err.value) and "or pass None to start fresh" in str(err.value)
    with pytest.raises(ValueError, match=needle.lstrip("^")):       # recall: None is no state there
        mem.recall(other, q)


def test_a_delta_memory_carries_on_from_a_hebbian_state():
    # both are a matrix M of the same shape: the same kind of state, legitimately shared
    q, k, v = _inputs()
    _, hebbian_state = make_memory("hebbian", 8)(q, k, v)
    y, state = make_memory("delta", 8)(q, k, v, state=hebbian_state)
    assert y.shape == (2, 10, 8) and state.position == 20


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("path", ["chunked", "reference"])
@pytest.mark.parametrize("lead", [(0,), (2, 0)])
def test_a_batch_of_zero_sequences_gives_an_empty_result_and_state(rule, path, lead):
    q, k, v, _ = random_inputs(lead=lead, T=5, dtype=torch.float32)
    mem = make_memory(rule, 8, chunk_size=4)
    y, state = mem(q, k, v, path=path)
    assert y.shape == (*lead, 5, 8) and state.numel() == 0 and state.position == 5
    y2, _ = mem(q, k, v, state=state, path="chunked")              # an empty state carries on
    assert y2.shape == (*lead, 5, 8)


@pytest.mark.parametrize("dtype,tolerance", [(torch.bfloat16, 5e-2), (torch.float16, 1e-2)])
def test_the_delta_rule_runs_in_half_precision_on_cpu(dtype, tolerance):
    # triangular_solve has no half-precision kernel: the chunked path solves in float32 and casts back
    q, k, v, g = random_inputs(lead=(2,), T=16, dtype=torch.float32)
    gates = random_gates("delta", (2, 16), dtype=torch.float32, generator=g)
    mem = make_memory("delta", 8, chunk_size=8)
    y32, s32 = mem(q, k, v, **gates)
    low = lambda x: x.to(dtype)  # noqa: E731
    y, state = mem(low(q), low(k), low(v), **{n: low(x) for n, x in gates.items()})
    y_ref, _ = mem(low(q), low(k), low(v), path="reference", **{n: low(x) for n, x in gates.items()})
    assert y.dtype == state.M.dtype == dtype
    scale = y32.abs().max().item()
    assert (y.float() - y32).abs().max().item() <= tolerance * scale
    assert (y.float() - y_ref.float()).abs().max().item() <= tolerance * scale
    assert (state.M.float() - s32.M).abs().max().item() <= tolerance * s32.M.abs().max().item()


def test_a_delta_memory_block_runs_under_bf16_autocast_on_cpu():
    from hope_lite.layers import MemoryBlock
    torch.manual_seed(0)
    block, x = MemoryBlock("delta", 16, 2, 4), torch.randn(2, 10, 16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = block(x)
    assert (y.float() - block(x)).abs().max().item() <= 5e-2 * block(x).abs().max().item()


def test_a_memory_block_refuses_an_input_of_another_dtype():
    from hope_lite.layers import MemoryBlock
    with pytest.raises(ValueError, match=r"x has dtype torch.float64 but MemoryBlock's parameters have torch.float32"):
        MemoryBlock("hebbian", 16, 2, 4)(torch.randn(2, 5, 16, dtype=torch.float64))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_a_zero_surprise_has_a_finite_gradient(dtype):
    """sqrt'(0) is infinite: a surprise that is exactly zero (or whose square underflows, as on long float32
    sequences) once made the clipped write's backward 0 * inf = NaN. Its gradient is now zero, its value unchanged
    above the smallest normal float."""
    from hope_lite.deep_memory import _gradient_norms, clip_gradients, mlp_forward, mlp_surprise_factors

    torch.manual_seed(0)
    weights = [(0.3 * torch.randn(2, 8, 8, dtype=dtype)).requires_grad_() for _ in range(2)]
    K = torch.randn(2, 5, 8, dtype=dtype, requires_grad=True)
    V = mlp_forward(weights, K, True).detach()              # the memory already maps every k to its v: no surprise
    zs, deltas = mlp_surprise_factors(weights, K, V, True, max_norm=1.0)
    sum(d.sum() for d in deltas).backward()
    assert all(torch.isfinite(t.grad).all() for t in (*weights, K))
    grads = [torch.zeros(3, 4, 4, dtype=dtype, requires_grad=True)]
    clip_gradients(grads, 1.0)[0].sum().backward()
    assert torch.isfinite(grads[0].grad).all()
    z, d = [torch.randn(2, 5, 8, dtype=dtype)], [torch.randn(2, 5, 8, dtype=dtype)]
    exact = (d[0].double().pow(2).sum(-1) * z[0].double().pow(2).sum(-1)).sqrt()
    assert torch.allclose(_gradient_norms(z, d).double(), exact, rtol=4 * torch.finfo(dtype).eps, atol=0)
