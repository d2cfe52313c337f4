"""Bad inputs for the memories and sequence layers: a state from another memory, batch 0, dtype mixes, gates."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from catalogue import Case
from hope_lite.cms import ContinuumMemory
from hope_lite.deep_memory import TitansMemory
from hope_lite.layers import DataDependentGates, MemoryBlock
from hope_lite.memory import DeltaRuleMemory, HebbianMemory
from hope_lite.self_modifying import SelfModifyingTitans
from hope_lite.titans import TitansLayer

D, W, T = 8, 16, 6          # a memory's key width, a layer's width, tokens


def qkv(batch=2, d=D, dtype=torch.float32):
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(batch, T, d, generator=g).to(dtype) for _ in range(3))
    return q, F.normalize(k, dim=-1), v


def x(batch=2, width=W, dtype=torch.float32):
    return torch.randn(batch, T, width, generator=torch.Generator().manual_seed(0)).to(dtype)


def memory_state(cls, d=D):
    torch.manual_seed(0)
    return cls(d, d)(*qkv(d=d))[1]


def layer(cls, width=W, **kw):
    torch.manual_seed(0)
    if cls is ContinuumMemory:
        return ContinuumMemory(width, (2, 4), **{"hidden": 6, **kw})
    return cls(width, **{"heads": 2, "chunk_size": 4, **kw})


def layer_state(cls, width=W, batch=2, **kw):
    return layer(cls, width, **kw)(x(batch, width))[1]


def carry(cls, state):
    """``cls`` (width 16, float32, cpu) handed ``state`` with an input of batch 2."""
    return layer(cls)(x(), state=state)


def empty_result(result) -> str:
    y, state = result
    assert y.numel() == 0 and state.numel() == 0
    return f"returns {tuple(y.shape)} and an empty state"


def half_delta(dtype, tolerance):
    def check(result) -> str:
        y, state = result
        y32 = DeltaRuleMemory(D, D, chunk_size=4)(*qkv())[0]
        assert y.dtype == state.M.dtype == dtype
        assert (y.float() - y32).abs().max().item() <= tolerance * y32.abs().max().item()
        return f"runs (the solve in float32), {dtype} output within {tolerance:g} of float32 (relative to its max)"
    return check


def under_autocast(cls):
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y, state = layer(cls)(x(dtype=torch.bfloat16))
        return layer(cls)(x(), state=state)


def finite(result) -> str:
    y, _ = result
    assert torch.isfinite(y.float()).all()
    return f"{y.dtype} output, the state carried on"


ANOTHER_WIDTH = (r"has shape \(.*\) but \w+ expects \(.*\) \(a state of another width or configuration\): "
                 r"pass the state")
FRESH = r"or pass None to start fresh\.$"

CASES = [
    Case("layers", "TitansLayer, an input holding NaN", lambda: TitansLayer(16, 2, 8)(
        torch.full((1, 4, 16), float("nan"))), raises=ValueError, match="x contains NaN or inf"),
    # -- a state from another memory: width, dtype, device, kind, batch ---------------------------
    Case("layers", "Hebbian memory (d=8), a state of d=16", lambda: HebbianMemory(D, D)(*qkv(), state=memory_state(
        HebbianMemory, 16)), raises=ValueError, match=r"^state.M " + ANOTHER_WIDTH),
    Case("layers", "TitansMemory.recall (d=8), a state of d=16", lambda: TitansMemory(D, D).recall(
        memory_state(TitansMemory, 16), qkv()[0]), raises=ValueError, match=r"^state.weights\[0\] " + ANOTHER_WIDTH),
    Case("layers", "TitansLayer (width 16), a state of width 24", lambda: carry(TitansLayer, layer_state(
        TitansLayer, 24)), raises=ValueError, match=r"^state.conv " + ANOTHER_WIDTH),
    Case("layers", "TitansLayer (2 heads), a state of 4 heads", lambda: carry(TitansLayer, layer_state(
        TitansLayer, heads=4)), raises=ValueError, match=r"^state.memory.weights\[0\] " + ANOTHER_WIDTH),
    Case("layers", "SelfModifyingTitans (width 16), a state of width 24", lambda: carry(
        SelfModifyingTitans, layer_state(SelfModifyingTitans, 24)), raises=ValueError,
        match=r"^state.projections\[0\] " + ANOTHER_WIDTH),
    Case("layers", "SelfModifyingTitans, a state of an adaptive_q layer", lambda: carry(
        SelfModifyingTitans, layer_state(SelfModifyingTitans, adaptive_q=True)), raises=ValueError,
        match=r"^state.projections\[0\] " + ANOTHER_WIDTH),
    Case("layers", "ContinuumMemory (width 16), a state of width 24", lambda: carry(ContinuumMemory, layer_state(
        ContinuumMemory, 24)), raises=ValueError, match=r"^state.levels\[0\].weights\[0\] " + ANOTHER_WIDTH),
    Case("layers", "ContinuumMemory (hidden 6), a state of hidden 10", lambda: carry(ContinuumMemory, layer_state(
        ContinuumMemory, hidden=10)), raises=ValueError, match=r"^state.levels\[0\].weights\[0\] " + ANOTHER_WIDTH),
    Case("layers", "delta memory (float32 input), a float64 state", lambda: DeltaRuleMemory(D, D)(
        *qkv(), state=memory_state(DeltaRuleMemory).to(dtype=torch.float64)), raises=ValueError,
        match=r"^state.M has dtype torch.float64 but DeltaRuleMemory computes in torch.float32: cast the state "
              r"with state.to\(dtype=torch.float32\), " + FRESH),
    Case("layers", "TitansLayer (float32), a float16 state", lambda: carry(TitansLayer, layer_state(TitansLayer).to(
        dtype=torch.float16)), raises=ValueError, match=r"has dtype torch.float16 but TitansLayer computes in "
                                                        r"torch.float32: cast the state with state.to"),
    Case("layers", "ContinuumMemory (float32), a float16 state", lambda: carry(ContinuumMemory, layer_state(
        ContinuumMemory).to(dtype=torch.float16)), raises=ValueError,
        match=r"has dtype torch.float16 but ContinuumMemory computes in torch.float32"),
    Case("layers", "Hebbian memory on cpu, a state on meta", lambda: HebbianMemory(D, D)(*qkv(), state=memory_state(
        HebbianMemory).to("meta")), raises=ValueError,
        match=r"^state.M is on meta but HebbianMemory runs on cpu: move the state with state.to\('cpu'\), " + FRESH),
    Case("layers", "TitansLayer on cpu, a state on meta", lambda: carry(TitansLayer, layer_state(TitansLayer).to(
        "meta")), raises=ValueError, match=r"^state.conv is on meta but TitansLayer runs on cpu: move the state"),
    Case("layers", "SelfModifyingTitans on cpu, a state on meta", lambda: carry(SelfModifyingTitans, layer_state(
        SelfModifyingTitans).to("meta")), raises=ValueError, match=r"is on meta but SelfModifyingTitans runs on cpu"),
    Case("layers", "TitansLayer, a MatrixState (Hebbian memory's)", lambda: carry(TitansLayer, memory_state(
        HebbianMemory)), raises=ValueError, match=r"^state must be a TitansLayerState, got a MatrixState: pass the "
                                                  r"state TitansLayer returned, " + FRESH),
    Case("layers", "SelfModifyingTitans, a TitansLayerState", lambda: carry(SelfModifyingTitans, layer_state(
        TitansLayer)), raises=ValueError, match=r"^state must be a SelfModifyingState, got a TitansLayerState"),
    Case("layers", "TitansMemory, a CMSState", lambda: TitansMemory(D, D)(*qkv(), state=layer_state(ContinuumMemory)),
         raises=ValueError, match=r"^state must be a DeepMemoryState, got a CMSState"),
    Case("layers", "ContinuumMemory, a SelfModifyingState", lambda: carry(ContinuumMemory, layer_state(
        SelfModifyingTitans)), raises=ValueError, match=r"^state must be a CMSState, got a SelfModifyingState"),
    Case("layers", "TitansLayer (input batch 2), a state of batch 3", lambda: carry(TitansLayer, layer_state(
        TitansLayer, batch=3)), raises=ValueError,
        match=r"^state was built for batch 3, but the input has batch 2: carry the state of the same batch"),
    # -- a batch of 0 sequences -------------------------------------------------------------------
    Case("layers", "Hebbian memory, batch of 0", lambda: HebbianMemory(D, D)(*qkv(batch=0)), check=empty_result),
    Case("layers", "delta memory, batch of 0", lambda: DeltaRuleMemory(D, D)(*qkv(batch=0)), check=empty_result),
    Case("layers", "TitansMemory, batch of 0", lambda: TitansMemory(D, D)(*qkv(batch=0)), check=empty_result),
    Case("layers", "TitansLayer, batch of 0", lambda: layer(TitansLayer)(x(batch=0)), check=empty_result),
    Case("layers", "SelfModifyingTitans, batch of 0", lambda: layer(SelfModifyingTitans)(x(batch=0)),
         check=empty_result),
    Case("layers", "ContinuumMemory, batch of 0", lambda: layer(ContinuumMemory)(x(batch=0)), check=empty_result),
    # -- dtype mixes ------------------------------------------------------------------------------
    Case("layers", "TitansLayer (float32), a float64 input", lambda: layer(TitansLayer)(x(dtype=torch.float64)),
         raises=ValueError, match=r"^x has dtype torch.float64 but TitansLayer's parameters have torch.float32: "
                                  r"cast the input with x.to\(torch.float32\) or the layer with .to\(torch.float64\)"),
    Case("layers", "SelfModifyingTitans (float32), a bf16 input", lambda: layer(SelfModifyingTitans)(
        x(dtype=torch.bfloat16)), raises=ValueError, match=r"^x has dtype torch.bfloat16 but SelfModifyingTitans's "
                                                           r"parameters have torch.float32.*torch.autocast"),
    Case("layers", "ContinuumMemory (float32), a float64 input", lambda: layer(ContinuumMemory)(
        x(dtype=torch.float64)), raises=ValueError, match=r"^x has dtype torch.float64 but ContinuumMemory's"),
    Case("layers", "MemoryBlock (float32), a float64 input", lambda: MemoryBlock("delta", W, 2, 4)(
        x(dtype=torch.float64)), raises=ValueError, match=r"^x has dtype torch.float64 but MemoryBlock's"),
    Case("layers", "TitansLayer, bf16 input and carried state under bf16 autocast", lambda: under_autocast(
        TitansLayer), check=finite),
    Case("layers", "ContinuumMemory, bf16 input and carried state under bf16 autocast", lambda: under_autocast(
        ContinuumMemory), check=finite),
    Case("layers", "delta memory in bf16 on CPU", lambda: DeltaRuleMemory(D, D, chunk_size=4)(
        *qkv(dtype=torch.bfloat16)), check=half_delta(torch.bfloat16, 5e-2)),
    Case("layers", "delta memory in fp16 on CPU", lambda: DeltaRuleMemory(D, D, chunk_size=4)(
        *qkv(dtype=torch.float16)), check=half_delta(torch.float16, 1e-2)),
    # -- gates ------------------------------------------------------------------------------------
    Case("layers", "Hebbian memory, alpha='0.9'", lambda: HebbianMemory(D, D)(*qkv(), alpha="0.9"), raises=ValueError,
         match=r"^alpha must be a number or a tensor broadcastable to \(\.\.\., T\) = \(2, 6\), got str '0.9'"),
    Case("layers", "TitansMemory, theta=None", lambda: TitansMemory(D, D)(*qkv(), theta=None), raises=ValueError,
         match=r"^theta must be a number or a tensor .* got NoneType None"),
    Case("layers", "delta memory, eta=True", lambda: DeltaRuleMemory(D, D)(*qkv(), eta=True), raises=ValueError,
         match=r"^eta must be a number or a tensor .* got bool True"),
    Case("layers", "DataDependentGates, heads='2'", lambda: DataDependentGates(W, heads="2", eta=1.0),
         raises=ValueError, match=r"^heads must be a positive int, got '2'"),
    Case("layers", "TitansLayer, max_step='0.5'", lambda: TitansLayer(W, heads=2, max_step="0.5"), raises=ValueError,
         match=r"^max_step must be a positive finite number, got '0.5'"),
]
