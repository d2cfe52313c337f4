"""hope_lite.cms: the Continuum Memory System.

The chunked path equals the per-token reference (autograd gradients) for every variant; levels
update exactly every C_l tokens and at no other time; a level whose period is the sequence length
is a frozen MLP inside it; streaming; causality; outer gradients; save/load; bad input.
"""

from __future__ import annotations

import io

import pytest
import torch

from hope_lite.cms import VARIANTS, ContinuumMemory, frozen_output
from hope_lite.levels import UpdateRecorder, levels_of

F64 = torch.float64


def cms(periods=(2, 4, 8), variant="sequential", **kw):
    torch.manual_seed(0)
    return ContinuumMemory(12, periods, hidden=20, variant=variant, **kw).to(F64)


def inputs(T=37, B=2, seed=0):
    return torch.randn(B, T, 12, dtype=F64, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("periods", [(1,), (2, 4, 8), (3, 6), (4, 16, 64)])
def test_chunked_equals_the_per_token_reference(variant, periods):
    m, x = cms(periods, variant), inputs()
    y, s = m(x)
    y_ref, s_ref = m(x, path="reference")
    assert (y - y_ref).abs().max().item() <= 1e-10
    for a, b in zip(s.levels, s_ref.levels):
        for wa, wb in zip(a.weights, b.weights):
            assert (wa - wb).abs().max().item() <= 1e-10


@pytest.mark.parametrize("variant", VARIANTS)
def test_gradients_of_both_paths_agree_and_reach_every_parameter(variant):
    m, x = cms((2, 4), variant), inputs(T=13)
    params = list(m.parameters())
    g = torch.autograd.grad(m(x)[0].square().sum(), params)
    g_ref = torch.autograd.grad(m(x, path="reference")[0].square().sum(), params)
    for (name, _), a, b in zip(m.named_parameters(), g, g_ref):
        assert (a - b).abs().max().item() <= 1e-9, name
        assert a.abs().max().item() > 0, name


@pytest.mark.parametrize("variant", VARIANTS)
def test_each_level_updates_exactly_every_period_and_at_no_other_time(variant):
    periods, T = (2, 4, 8), 40
    m, x = cms(periods, variant), inputs(T=T)
    with UpdateRecorder(m) as rec:
        m(x)
    for i, C in enumerate(periods):
        assert rec.events[f"blocks.{i}.memory"].all_times().tolist() == list(range(C - 1, T, C))
    # and the weights themselves: feed token by token, watch which level's weights move
    state, changed = None, {i: [] for i in range(len(periods))}
    for t in range(T):
        before = None if state is None else [[w.clone() for w in lv.weights] for lv in state.levels]
        _, state = m(x[:, t:t + 1], state=state)
        if before is None:
            before = [[w.expand_as(state.levels[i].weights[j]) for j, w in enumerate(b.initial_weights)]
                      for i, b in enumerate(m.blocks)]
        for i, lv in enumerate(state.levels):
            if any(not torch.equal(a, b) for a, b in zip(lv.weights, before[i])):
                changed[i].append(t)
    if variant != "nested":
        for i, C in enumerate(periods):
            assert changed[i] == list(range(C - 1, T, C)), (i, changed[i])
    else:   # a faster level also changes when a slower one hands it new weights: still only at its own boundaries
        for i, C in enumerate(periods):
            assert set(changed[i]) <= set(range(C - 1, T, C)) and changed[i]


def test_a_level_whose_period_is_the_sequence_length_is_a_frozen_mlp():
    T = 32
    m, x = cms((T,)), inputs(T=T)
    y, state = m(x)
    assert (y - frozen_output(m, x)).abs().max().item() <= 1e-12
    # with a faster level in front, the slow level's weights stay at theta_0 until the last token
    m2 = cms((4, T))
    _, s = m2(x[:, : T - 1])
    for w, w0 in zip(s.levels[1].weights, m2.blocks[1].initial_weights):
        assert torch.equal(w[0], w0.to(F64))


def test_without_in_context_learning_the_output_is_the_frozen_mlp():
    m, x = cms((2, 4), learning_rates=[0.0, 0.0]), inputs()
    assert (m(x)[0] - frozen_output(m, x)).abs().max().item() <= 1e-12
    m = cms((2, 4))
    assert (m(x)[0] - frozen_output(m, x)).abs().max().item() > 1e-6


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("cuts", [(5,), (1, 2, 3, 20), (8, 16)])
def test_streaming_calls_equal_one_call(variant, cuts):
    m, x = cms((2, 4, 8), variant), inputs(T=40)
    y_once, _ = m(x)
    ys, state, start = [], None, 0
    for end in (*cuts, 40):
        y, state = m(x[:, start:end], state=state)
        ys.append(y)
        start = end
    assert (torch.cat(ys, 1) - y_once).abs().max().item() <= 1e-12


@pytest.mark.parametrize("variant", VARIANTS)
def test_perturbing_a_later_token_changes_nothing_before_it(variant):
    m, x = cms((2, 4, 8), variant), inputs(T=30)
    y = m(x)[0]
    for t in (0, 1, 3, 7, 8, 20):
        x2 = x.clone()
        x2[:, t + 1] += 1.0
        assert (m(x2)[0][:, : t + 1] - y[:, : t + 1]).abs().max().item() == 0.0


def test_levels_are_declared_with_their_periods():
    m = cms((4, 16, 64))
    token_levels = [lv for lv in levels_of(m) if lv.clock == "tokens"]
    assert [(lv.owner, lv.period) for lv in token_levels] == [("blocks.0", 4), ("blocks.1", 16), ("blocks.2", 64)]


def test_state_dict_round_trip():
    m = ContinuumMemory(8, (2, 4), variant="independent")
    buf = io.BytesIO()
    torch.save(m.state_dict(), buf)
    torch.manual_seed(5)
    other = ContinuumMemory(8, (2, 4), variant="independent")
    other.load_state_dict(torch.load(io.BytesIO(buf.getvalue())))
    x = torch.randn(2, 9, 8)
    assert torch.equal(m(x)[0], other(x)[0])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    m, x = cms((2, 4)), inputs()
    assert (m(x)[0] - m.cuda()(x.cuda())[0].cpu()).abs().max().item() <= 1e-10


@pytest.mark.parametrize("kwargs, word", [
    ({"periods": [0, 4]}, "period"), ({"periods": [-2]}, "period"), ({"periods": [4, 2]}, "fastest first"),
    ({"periods": [4, 6]}, "multiple"), ({"periods": [4, 4]}, "fastest first"), ({"periods": []}, "periods"),
    ({"periods": 16}, "periods"), ({"periods": [2.0, 4]}, "period"), ({"variant": "parallel"}, "variant"),
    ({"learning_rates": [0.1]}, "learning_rates"), ({"learning_rates": [0.1, -1.0]}, "learning rate"),
    ({"hidden": 0}, "hidden"), ({"width": 0}, "width"), ({"max_update": 0.0}, "max_update"),
    ({"max_update": float("nan")}, "max_update"),
])
def test_bad_arguments_name_the_argument(kwargs, word):
    args = {"width": 8, "periods": [2, 4], **kwargs}
    with pytest.raises(ValueError, match=word):
        ContinuumMemory(args.pop("width"), args.pop("periods"), **args)


def test_bad_inputs_and_state():
    m = ContinuumMemory(8, (2, 4))
    for x, word in ((torch.randn(2, 5, 6), "width"), (torch.randn(5, 8), "shape"), (torch.randn(2, 0, 8), "empty"),
                    (torch.full((1, 3, 8), float("inf")), "finite")):
        with pytest.raises(ValueError, match=word):
            m(x)
    with pytest.raises(ValueError, match="path"):
        m(torch.randn(1, 3, 8), path="fast")
    _, state = m(torch.randn(2, 3, 8))
    with pytest.raises(ValueError, match="batch"):
        m(torch.randn(3, 3, 8), state=state)
    with pytest.raises(ValueError, match="state"):
        ContinuumMemory(8, (2, 4, 8))(torch.randn(2, 3, 8), state=state)


def test_large_in_context_steps_stay_finite_with_the_update_clip():
    torch.manual_seed(0)
    m = ContinuumMemory(16, (2, 8), learning_rates=[5.0, 5.0])
    x = 10 * torch.randn(2, 512, 16)
    y, state = m(x)
    assert torch.isfinite(y).all()
    # each update moves a level by at most eta * max_update
    with UpdateRecorder(m) as rec:
        m(x)
    assert rec.events["blocks.0.memory"].all_magnitudes().max() <= 5.0 * 1.0 + 1e-4


def test_both_paths_record_the_same_updates():
    m, x = cms((2, 4, 8), "nested"), inputs(T=19)
    recorded = []
    for path in ("chunked", "reference"):
        with UpdateRecorder(m) as rec:
            m(x, path=path)
        recorded.append({k: (v.all_times().tolist(), v.all_magnitudes()) for k, v in rec.events.items()})
    assert recorded[0].keys() == recorded[1].keys()
    for key in recorded[0]:
        assert recorded[0][key][0] == recorded[1][key][0]
        assert abs(recorded[0][key][1] - recorded[1][key][1]).max() <= 1e-10


# -- a state from another CMS, a batch of 0, dtype mixes ---------------------------------------


def _cms_state(width=8, periods=(2, 4), hidden=6, x=None, **kw):
    return ContinuumMemory(width, periods, hidden=hidden, **kw)(torch.randn(2, 5, width) if x is None else x)[1]


@pytest.mark.parametrize("other, needle", [
    (lambda: _cms_state(width=12), r"^state.levels\[0\].weights\[0\] has shape \(2, 6, 12\) but ContinuumMemory "
                                   r"expects \(2, 6, 8\) \(a state of another width"),
    (lambda: _cms_state(hidden=10), r"^state.levels\[0\].weights\[0\] has shape \(2, 10, 8\) but ContinuumMemory "
                                    r"expects \(2, 6, 8\)"),                   # silently accepted before
    (lambda: _cms_state(periods=(2,)), r"^state.levels must be a list of 2 CMSLevelStates, got a list of 1"),
    (lambda: _cms_state().to(dtype=torch.float16),
     r"has dtype torch.float16 but ContinuumMemory computes in torch.float32: cast the state with "
     r"state.to\(dtype=torch.float32\)"),
    (lambda: _cms_state().to("meta"), r"is on meta but ContinuumMemory runs on cpu: move the state with "
                                      r"state.to\('cpu'\)"),
    (lambda: _cms_state(x=torch.randn(3, 5, 8)), r"^state was built for batch 3, but the input has batch 2"),
    (lambda: __import__("hope_lite.titans", fromlist=["TitansLayer"]).TitansLayer(8, heads=2)(torch.randn(2, 5, 8))[1],
     r"^state must be a CMSState, got a TitansLayerState: pass the state ContinuumMemory returned"),
])
def test_a_state_of_another_memory_is_refused_by_name(other, needle):
    torch.manual_seed(0)
    with pytest.raises(ValueError, match=needle) as err:
        ContinuumMemory(8, (2, 4), hidden=6)(torch.randn(2, 5, 8), state=other())
    assert str(err.value).endswith("or pass None to start fresh.")


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("path", ["chunked", "reference"])
def test_a_batch_of_zero_sequences_gives_an_empty_result_and_state(variant, path):
    m = ContinuumMemory(8, (2, 4), hidden=6, variant=variant)
    y, state = m(torch.randn(0, 5, 8), path=path)
    assert y.shape == (0, 5, 8) and state.numel() == 0 and state.position == 5
    assert m(torch.randn(0, 3, 8), state=state, path=path)[0].shape == (0, 3, 8)


@pytest.mark.parametrize("dtype", [torch.float64, torch.bfloat16])
def test_an_input_of_another_dtype_is_refused_outside_autocast(dtype):
    m = ContinuumMemory(8, (2, 4), hidden=6)
    with pytest.raises(ValueError, match=rf"^x has dtype {dtype} but ContinuumMemory's parameters have torch.float32"):
        m(torch.randn(2, 5, 8, dtype=dtype))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        if dtype == torch.float64:          # autocast never casts float64
            with pytest.raises(ValueError, match="x has dtype torch.float64"):
                m(torch.randn(2, 5, 8, dtype=dtype))
            return
        y, state = m(torch.randn(2, 5, 8, dtype=dtype))
        y, _ = m(torch.randn(2, 5, 8), state=state)
    assert torch.isfinite(y.float()).all()
