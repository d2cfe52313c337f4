"""Whole-graph compilation: no graph break in any model's forward pass; value checks eager-only.

Value checks (NaN inputs, gates outside their range, token ids outside the vocabulary) look inside
tensors, which is a data-dependent branch: a graph break for torch.compile. They run in eager
mode, are skipped while compiling and can be switched off (``hope_lite.checks.value_checks``).
"""

from __future__ import annotations

import pytest
import torch

from hope_lite import checks
from hope_lite.models import MODELS, build_model


@pytest.mark.parametrize("kind", MODELS)
def test_forward_pass_compiles_as_one_graph(kind, one_thread):
    import torch._dynamo as dynamo

    torch.manual_seed(0)
    model = build_model(kind, "tiny")
    tokens = torch.randint(0, 256, (2, 16))
    dynamo.reset()
    explanation = dynamo.explain(model)(tokens)
    reasons = [r.reason.splitlines()[0] for r in explanation.break_reasons]
    assert explanation.graph_break_count == 0, reasons
    assert explanation.graph_count == 1


@pytest.mark.parametrize("kind", MODELS)
def test_module_apply_reaches_every_submodule(kind):
    # nothing in the package shadows an nn.Module method: the usual init idiom works
    model = build_model(kind, "tiny")
    seen = []

    def init(module: torch.nn.Module) -> None:
        seen.append(type(module).__name__)
        if isinstance(module, torch.nn.Linear):
            torch.nn.init.zeros_(module.weight)

    assert model.apply(init) is model
    assert seen.count("LanguageModel") == 1 and "Linear" in seen
    assert all(torch.count_nonzero(m.weight) == 0 for m in model.modules() if isinstance(m, torch.nn.Linear))


def test_no_module_shadows_an_nn_module_method():
    from hope_lite.cms import CMSBlock, ContinuumMemory
    from hope_lite.deep_memory import TitansMemory
    from hope_lite.layers import MemoryBlock
    from hope_lite.memory import DeltaRuleMemory, HebbianMemory
    from hope_lite.models import LanguageModel
    from hope_lite.self_modifying import SelfModifyingTitans
    from hope_lite.titans import TitansLayer

    base = set(dir(torch.nn.Module))
    for cls in (CMSBlock, ContinuumMemory, TitansMemory, MemoryBlock, DeltaRuleMemory, HebbianMemory,
                LanguageModel, SelfModifyingTitans, TitansLayer):
        shadowed = {name for name in vars(cls) if name in base and not name.startswith("__") and name != "forward"}
        assert not shadowed, f"{cls.__name__} shadows nn.Module.{sorted(shadowed)}"


def test_value_checks_run_in_eager_mode_and_can_be_switched_off():
    model = build_model("transformer", "tiny")
    bad = torch.tensor([[1, 2, 300]])
    with pytest.raises(ValueError, match="token ids must lie in"):
        model(bad)
    assert checks.value_checks_enabled()
    with checks.value_checks(False):
        assert not checks.value_checks_enabled()
        with pytest.raises(IndexError):           # nothing looked: the embedding fails on its own
            model(bad)
    assert checks.value_checks_enabled()
    with pytest.raises(ValueError, match="x contains NaN"):
        from hope_lite.titans import TitansLayer
        TitansLayer(8, heads=2)(torch.full((1, 4, 8), float("nan")))


def test_compile_model_compiles_the_chunk_kernel_of_a_memory_model(one_thread):
    """hope / titans: the chunk function is compiled, the loop stays eager; same numbers up to rounding."""
    from hope_lite.models import compile_model

    torch.manual_seed(0)
    eager = build_model("titans", "tiny")
    tokens = torch.randint(0, 256, (2, 17))                       # pieces of 8, 8 and 1 tokens
    compiled = build_model("titans", "tiny")
    compiled.load_state_dict(eager.state_dict())
    assert compile_model(compiled) is compiled                   # the module itself: state dict names unchanged
    pieces = [m for m in compiled.modules() if "_piece" in vars(m)]
    assert len(pieces) == compiled.config.depth
    outs = []
    for net in (eager, compiled):
        logits = net(tokens)[0]
        logits.square().mean().backward()
        outs.append((logits.detach(), [p.grad for p in net.parameters()]))
    assert torch.allclose(outs[0][0], outs[1][0], atol=1e-5)
    for a, b in zip(outs[0][1], outs[1][1]):
        assert torch.allclose(a, b, atol=1e-5, rtol=1e-4)
    assert list(compiled.state_dict()) == list(eager.state_dict())


def test_compile_model_compiles_a_model_without_chunk_kernels_whole():
    from hope_lite.models import compile_model

    net = build_model("transformer", "tiny")
    wrapped = compile_model(net)
    assert wrapped is not net and wrapped._orig_mod is net


def test_the_trainer_trains_compiled_and_records_it(tmp_path, one_thread):
    import json

    from hope_lite.train import TrainConfig, train

    config = TrainConfig(model="titans", preset="tiny", steps=2, batch=2, context=16, eval_every=2, eval_bytes=128)
    quiet = {"progress": False, "log": lambda *_: None}
    eager = train(config, tmp_path / "eager", **quiet)
    compiled = train(config, tmp_path / "compiled", compile=True, **quiet)
    assert json.loads((tmp_path / "compiled" / "config.json").read_text())["compiled"] is True
    for a, b in zip(eager.losses(), compiled.losses()):
        assert abs(a - b) < 1e-4
