"""hope_lite.models: the four language models, their presets and parameter parity, causality,
streaming generation, save/load and bad input."""

from __future__ import annotations

import io

import pytest
import torch

from hope_lite.levels import levels_of
from hope_lite.models import MODELS, PRESETS, LanguageModel, build_model, count_parameters, preset_config


def tiny(model, **kw):
    torch.manual_seed(0)
    return build_model(model, "tiny", **kw).double()


def tokens(B=2, T=30, seed=0):
    return torch.randint(0, 256, (B, T), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("preset", list(PRESETS))
def test_parameter_counts_match_within_five_percent(preset):
    counts = {}
    for model in MODELS:
        with torch.device("meta"):
            counts[model] = count_parameters(LanguageModel(model, preset_config(model, preset)))
    budget = counts["transformer"]
    for model, n in counts.items():
        assert abs(n / budget - 1) <= 0.05, (model, n, budget)


@pytest.mark.parametrize("model", MODELS)
def test_outputs_are_causal(model):
    net, x = tiny(model), tokens()
    logits = net(x)[0]
    for t in (0, 5, 7, 16, 27):
        x2 = x.clone()
        x2[:, t + 1] = (x2[:, t + 1] + 1) % 256
        assert (net(x2)[0][:, : t + 1] - logits[:, : t + 1]).abs().max().item() == 0.0


@pytest.mark.parametrize("model", MODELS)
def test_streaming_one_token_at_a_time_equals_the_full_forward_pass(model):
    net, x = tiny(model), tokens(T=21)
    logits = net(x)[0]
    state, pieces = None, []
    for t in range(x.shape[1]):
        step, state = net(x[:, t:t + 1], state=state)
        pieces.append(step)
    assert (torch.cat(pieces, 1) - logits).abs().max().item() <= 1e-10


@pytest.mark.parametrize("model", MODELS)
def test_a_carried_state_streams_under_bf16_autocast(model):
    # under autocast a layer's input (float32 after RMSNorm) and parts of its state (a bf16
    # convolution cache) differ in dtype: the layers must accept their own state back
    torch.manual_seed(0)
    net, x = build_model(model, "tiny"), tokens(T=12).long()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        _, state = net(x[:, :7])
        logits, _ = net(x[:, 7:], state=state)
        out = net.generate(x[:1, :5], 3, temperature=0)
    assert torch.isfinite(logits.float()).all() and out.shape == (1, 8)


@pytest.mark.parametrize("model", MODELS)
def test_greedy_generation_equals_recomputing_the_whole_sequence(model):
    net, prompt = tiny(model), tokens(B=1, T=9)
    out = net.generate(prompt, 8, temperature=0)
    seq = prompt
    for _ in range(8):
        nxt = net(seq)[0][:, -1].argmax(-1, keepdim=True)
        seq = torch.cat([seq, nxt], 1)
    assert torch.equal(out, seq)


@pytest.mark.parametrize("model", ["hope", "titans"])
def test_memory_models_carry_a_state_of_constant_size(model):
    net = tiny(model)

    def size(state):
        total = 0
        stack = [state]
        while stack:
            s = stack.pop()
            if torch.is_tensor(s):
                total += s.numel()
            elif isinstance(s, dict):
                stack += list(s.values())
            elif isinstance(s, (list, tuple)):
                stack += list(s)
        return total
    _, s8 = net(tokens(T=8))
    _, s40 = net(tokens(T=40))
    assert size(s8) == size(s40)


def test_sampling_is_reproducible_with_a_generator():
    net, prompt = tiny("hope"), tokens(B=1, T=5)
    a = net.generate(prompt, 6, temperature=1.0, generator=torch.Generator().manual_seed(1))
    b = net.generate(prompt, 6, temperature=1.0, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and a.shape == (1, 11)


def test_hope_declares_titans_and_cms_levels():
    net = tiny("hope")
    names = {(lv.owner.split(".")[-1] if lv.owner else "", lv.name, lv.period) for lv in levels_of(net)
             if lv.clock == "tokens"}
    assert ("mixer", "memory", 8) in names and ("mixer", "k", 8) in names
    periods = sorted({lv.period for lv in levels_of(net) if lv.clock == "tokens" and "cms" in lv.owner})
    assert periods == [4, 16]


@pytest.mark.parametrize("model", MODELS)
def test_state_dict_round_trip(model):
    net = tiny(model)
    buf = io.BytesIO()
    torch.save(net.state_dict(), buf)
    torch.manual_seed(9)
    other = build_model(model, "tiny").double()
    other.load_state_dict(torch.load(io.BytesIO(buf.getvalue())))
    x = tokens(T=12)
    assert torch.equal(net(x)[0], other(x)[0])


@pytest.mark.parametrize("model", MODELS)
def test_one_training_step_lowers_the_loss(model):
    torch.manual_seed(0)
    net = build_model(model, "tiny")
    x = tokens(B=4, T=32)
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3)
    losses = []
    for _ in range(5):
        logits = net(x[:, :-1])[0]
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 256), x[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("model", MODELS)
def test_cuda_bf16_forward_is_finite(model):
    net = build_model(model, "tiny", device="cuda")
    with torch.autocast("cuda", dtype=torch.bfloat16):
        logits = net(tokens().cuda())[0]
    assert torch.isfinite(logits.float()).all()


@pytest.mark.parametrize("call, word", [
    (lambda: build_model("gpt", "tiny"), "model"), (lambda: build_model("hope", "huge"), "preset"),
    (lambda: build_model("hope", "tiny", colour=1), "unknown config"),
    (lambda: build_model("hope", "tiny", width=31), "divisible"), (lambda: build_model("hope", "tiny", depth=0), "depth"),
    (lambda: build_model("hope", "tiny", cms_periods=(16, 4)), "fastest first"),
    (lambda: build_model("hope", "tiny", cms_variant="mixed"), "variant"),
])
def test_bad_configuration_names_the_argument(call, word):
    with pytest.raises(ValueError, match=word):
        call()


def test_bad_tokens_and_state():
    net = build_model("transformer", "tiny")
    for bad, word in ((torch.randn(2, 5), "integer"), (torch.tensor([[0, 256]]), r"\[0, 256\)"),
                      (torch.tensor([[-1, 3]]), r"\[0, 256\)"), (torch.zeros(5, dtype=torch.long), "shape")):
        with pytest.raises(ValueError, match=word):
            net(bad)
    with pytest.raises(ValueError, match="state"):
        net(tokens(), state=[{}])
    with pytest.raises(ValueError, match="max_new_tokens"):
        net.generate(tokens(), -1)


def test_nested_states_report_the_batch_of_their_inner_state():
    # a block's state asks its mixer's state which tensor holds the batch (heads folded into rows)
    net = build_model("hope", "tiny")
    _, state = net(tokens(B=3, T=5))
    assert state[0].batch_size() == state[0].mixer.batch_size() == 3 * net.config.heads
    assert state[0].numel() == state[0].mixer.numel() + state[0].cms.numel()
    assert all(t.requires_grad is False for t in state[0].detach().mixer.memory)


# -- a state from another model, a batch of 0, generate's arguments ------------------------------


def _model(kind, **kw):
    torch.manual_seed(0)
    return build_model(kind, "tiny", **kw)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("other, needle", [
    (lambda kind: _model(kind)(tokens(T=6))[1][:1], r"^state must be a list of 2 BlockStates, got a list of 1"),
    (lambda kind: _model(kind)(tokens(T=6))[1][0], r"^state must be a list of 2 BlockStates, got a BlockState"),
    (lambda kind: _model(kind, width=16)(tokens(T=6))[1],
     r"^state\[0\]\.mixer\.\S+ has shape \(.*\) but this '[\w-]+' model expects \(.*\) \(a state of another width"),
    (lambda kind: [s.to(dtype=torch.float64) for s in _model(kind)(tokens(T=6))[1]],
     r"has dtype torch.float64 but this '[\w-]+' model computes in torch.float32: cast the state with "
     r"\[s.to\(dtype=torch.float32\) for s in state\]"),
    (lambda kind: [s.to("meta") for s in _model(kind)(tokens(T=6))[1]],
     r"is on meta but this '[\w-]+' model runs on cpu: move the state with \[s.to\('cpu'\) for s in state\]"),
    (lambda kind: _model(kind)(tokens(B=3, T=6))[1], r"^state was built for batch 3, but the input has batch 2"),
    (lambda kind: _model("titans" if kind == "hope" else "hope")(tokens(T=6))[1],
     r"^state\[0\]\.mixer must be a \w+, got a (SelfModifyingState|TitansLayerState)"),
])
def test_a_state_of_another_model_is_refused_by_name(model, other, needle):
    with pytest.raises(ValueError, match=needle) as err:
        _model(model)(tokens(T=4), state=other(model))
    assert "\n" not in str(err.value) and str(err.value).endswith("or pass None to start fresh.")


@pytest.mark.parametrize("model, other, needle", [
    # the same mixer, but one block has a CMS and the other not: silently ignored or restarted before
    ("hope-attention", "transformer", r"^state\[0\]\.cms must be a CMSState, got None"),
    ("transformer", "hope-attention", r"^state\[0\]\.cms must be None, got a CMSState"),
])
def test_a_state_with_or_without_a_cms_is_refused(model, other, needle):
    with pytest.raises(ValueError, match=needle):
        _model(model)(tokens(T=4), state=_model(other)(tokens(T=6))[1])


@pytest.mark.parametrize("model", MODELS)
def test_a_batch_of_zero_sequences_gives_empty_logits_and_state(model):
    net = _model(model)
    logits, state = net(torch.zeros(0, 6, dtype=torch.long))
    assert logits.shape == (0, 6, 256) and len(state) == 2 and sum(s.numel() for s in state) == 0
    logits, _ = net(torch.zeros(0, 3, dtype=torch.long), state=state)     # an empty state carries on
    assert logits.shape == (0, 3, 256)
    assert net.generate(torch.zeros(0, 3, dtype=torch.long), 2).shape == (0, 5)


@pytest.mark.parametrize("model", MODELS)
def test_a_carried_state_compiles_without_a_graph_break(model, one_thread):
    # the state checks read metadata only: dynamo traces them into nothing
    import torch._dynamo as dynamo
    net, x = _model(model), tokens(T=8)
    _, state = net(x)
    dynamo.reset()
    explanation = dynamo.explain(lambda t, s: net(t, state=s))(x, state)
    assert explanation.graph_break_count == 0, [r.reason.splitlines()[0] for r in explanation.break_reasons]


def test_empty_or_misplaced_tokens_are_refused():
    net = _model("transformer")
    with pytest.raises(ValueError, match=r"the sequence is empty \(T = 0\)"):
        net(torch.zeros(2, 0, dtype=torch.long))
    from hope_lite import checks
    with checks.value_checks(False), pytest.raises(ValueError, match="tokens are on meta but the model is on cpu"):
        net(torch.zeros(2, 3, dtype=torch.long, device="meta"))


@pytest.mark.parametrize("prompt, needle", [
    (torch.zeros(2, 0, dtype=torch.long),
     r"prompt must be an integer tensor .* with T >= 1 .* got shape \(2, 0\) and dtype torch.int64"),
    (torch.zeros(3, dtype=torch.long), r"prompt must be .* shape \(batch, T\)"),
    (torch.zeros(1, 3), r"prompt must be an integer tensor .* torch.float32"),
    ([[1, 2]], "prompt must be"),
    (torch.tensor([[1, 300]]), r"token ids must lie in \[0, 256\), got 1 .. 300"),
])
def test_generate_refuses_a_bad_prompt(prompt, needle):
    with pytest.raises(ValueError, match=needle):
        _model("transformer").generate(prompt, 2)


@pytest.mark.parametrize("kwargs, needle", [
    ({"temperature": -1.0}, "temperature must be a finite number >= 0"),
    ({"temperature": float("inf")}, "temperature must be a finite number >= 0"),
    ({"temperature": float("nan")}, "temperature must be a finite number >= 0"),
    ({"temperature": "1"}, "temperature must be a finite number >= 0"),
    ({"temperature": True}, "temperature must be a finite number >= 0"),
    ({"max_new_tokens": -1}, "max_new_tokens must be an int >= 0"),
    ({"max_new_tokens": 2.0}, "max_new_tokens must be an int >= 0"),
    ({"generator": 3}, "generator must be a torch.Generator or None, got int"),
])
def test_generate_refuses_bad_arguments_by_name(kwargs, needle):
    kwargs = {"max_new_tokens": 2, **kwargs}
    with pytest.raises(ValueError, match=needle):
        _model("titans").generate(tokens(B=1, T=3), **kwargs)


@pytest.mark.parametrize("model", ["hope", "transformer"])
@pytest.mark.parametrize("temperature", [1e-44, 5e-324, 1e-30])
def test_a_tiny_temperature_is_the_greedy_limit(model, temperature):
    # logits / 1e-44 overflow to inf (and softmax to NaN); (logits - max) / temperature goes to greedy
    net, prompt = _model(model), tokens(B=2, T=4)
    greedy = net.generate(prompt, 4, temperature=0)
    assert torch.equal(net.generate(prompt, 4, temperature=temperature, generator=torch.Generator().manual_seed(0)),
                       greedy)


def test_no_new_tokens_returns_the_prompt():
    prompt = tokens(B=2, T=4)
    assert torch.equal(_model("titans").generate(prompt, 0), prompt)
