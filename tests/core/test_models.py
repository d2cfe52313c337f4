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
