"""Recomputing chunks in the backward pass (activation checkpointing) changes no number and keeps less.

``recompute_chunks`` (True, False, "auto") on the chunked memories and on a LanguageModel:
outputs and every gradient equal without it; the tensors kept for the backward pass shrink;
"auto" switches on at RECOMPUTE_FROM_TOKENS; bad settings are refused with the choices.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from hope_lite.chunking import RECOMPUTE_FROM_TOKENS, recompute_setting, recomputes
from hope_lite.models import MODELS, build_model
from hope_lite.self_modifying import SelfModifyingTitans
from hope_lite.titans import TitansLayer


def _loss_and_grads(net, tokens):
    net.zero_grad(set_to_none=True)
    logits = net(tokens[:, :-1])[0]
    F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1)).backward()
    return logits.detach(), [p.grad.clone() for p in net.parameters() if p.grad is not None]


@pytest.mark.parametrize("model", MODELS)
def test_recomputing_changes_no_output_and_no_gradient(model, one_thread):
    torch.manual_seed(0)
    net = build_model(model, "tiny", dtype=torch.float64)
    tokens = torch.randint(0, 256, (2, 38))              # 37 tokens: chunks of 8 and a tail of 5
    net.recompute_chunks = False
    kept = _loss_and_grads(net, tokens)
    net.recompute_chunks = True
    recomputed = _loss_and_grads(net, tokens)
    assert torch.equal(kept[0], recomputed[0])
    assert len(kept[1]) == len(recomputed[1]) > 0
    for a, b in zip(kept[1], recomputed[1]):
        assert torch.equal(a, b)


def _saved_bytes(net, tokens) -> int:
    """Bytes of the distinct tensors autograd keeps for the backward pass of one forward pass."""
    seen, total = set(), 0

    def pack(t):
        nonlocal total
        key = t.untyped_storage().data_ptr()
        if key not in seen:
            seen.add(key)
            total += t.untyped_storage().nbytes()
        return t
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        net(tokens)
    return total


@pytest.mark.parametrize("model, at_most", [("hope", 0.5), ("titans", 0.7), ("hope-attention", 0.9)])
def test_recomputing_keeps_fewer_tensors_for_the_backward_pass(model, at_most, one_thread):
    torch.manual_seed(0)
    net = build_model(model, "tiny")
    tokens = torch.randint(0, 256, (4, 256))
    net.recompute_chunks = False
    kept = _saved_bytes(net, tokens)
    net.recompute_chunks = True
    recomputed = _saved_bytes(net, tokens)
    assert recomputed < at_most * kept, (recomputed, kept)


def test_transformer_has_no_chunked_memory_to_recompute():
    net = build_model("transformer", "tiny")
    assert net.recompute_chunks is False
    net.recompute_chunks = True          # nothing to reach: still nothing recomputes
    assert net.recompute_chunks is False


def test_auto_is_the_models_default_and_reaches_every_memory():
    net = build_model("hope", "tiny")
    assert net.recompute_chunks == "auto"
    net.recompute_chunks = True
    memories = [m for m in net.modules() if hasattr(m, "recompute_chunks") and m is not net]
    assert len(memories) == 2 * net.config.depth          # a self-modifying layer and a CMS per block
    assert all(m.recompute_chunks is True for m in memories)


def test_auto_switches_on_from_the_threshold_and_only_under_autograd():
    assert not recomputes("auto", RECOMPUTE_FROM_TOKENS - 1)
    assert recomputes("auto", RECOMPUTE_FROM_TOKENS)
    assert recomputes(True, 1) and not recomputes(False, 10 ** 6)
    with torch.no_grad():
        assert not recomputes(True, RECOMPUTE_FROM_TOKENS)


@pytest.mark.parametrize("bad", ["yes", 1, None, "on"])
def test_bad_settings_are_refused_with_the_choices(bad):
    with pytest.raises(ValueError, match="True, False or 'auto'"):
        recompute_setting(bad)
    with pytest.raises(ValueError, match="recompute_chunks"):
        build_model("hope", "tiny").recompute_chunks = bad
    with pytest.raises(ValueError, match="recompute_chunks"):
        SelfModifyingTitans(16, 2, recompute_chunks=bad)
    with pytest.raises(ValueError, match="recompute_chunks"):
        TitansLayer(16, 2, recompute_chunks=bad)


def test_layers_recompute_under_a_carried_state_too(one_thread):
    torch.manual_seed(0)
    layer = SelfModifyingTitans(16, 2, chunk_size=4, projection_chunk_size=2).double()
    x = torch.randn(2, 11, 16, dtype=torch.float64, requires_grad=True)
    grads = []
    for setting in (False, True):
        layer.recompute_chunks = setting
        y1, st = layer(x[:, :5])
        y2, _ = layer(x[:, 5:], state=st)
        grads.append(torch.autograd.grad(torch.cat([y1, y2], 1).square().sum(), [x, *layer.parameters()]))
    for a, b in zip(*grads):
        assert torch.equal(a, b)


def test_the_readme_states_the_auto_threshold_of_the_code():
    from pathlib import Path

    readme = " ".join((Path(__file__).resolve().parents[2] / "README.md").read_text().split())
    assert f'The default, `"auto"`, recomputes in calls of {RECOMPUTE_FROM_TOKENS:,} tokens or more' in readme
