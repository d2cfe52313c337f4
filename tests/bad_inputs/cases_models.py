"""Bad inputs for the language models: a state from another model, batch 0, empty tokens, generate's arguments."""

from __future__ import annotations

from functools import lru_cache

import torch

from catalogue import Case
from hope_lite import checks
from hope_lite.models import build_model


@lru_cache(maxsize=None)
def model(kind: str, width: int = 32):
    torch.manual_seed(0)
    return build_model(kind, "tiny", width=width)


def tokens(batch=2, T=6):
    return torch.randint(0, 256, (batch, T), generator=torch.Generator().manual_seed(0))


def state_of(kind, width=32, batch=2):
    return model(kind, width)(tokens(batch))[1]


def carry(kind, state):
    """The tiny ``kind`` model (width 32, float32, cpu) handed ``state`` with tokens of batch 2."""
    return model(kind)(tokens(), state=state)


def generate(prompt=None, max_new_tokens=2, kind="titans", **kwargs):
    return model(kind).generate(tokens(batch=1, T=3) if prompt is None else prompt, max_new_tokens, **kwargs)


def empty_logits(result) -> str:
    logits, state = result
    assert logits.shape == (0, 6, 256) and sum(s.numel() for s in state) == 0
    return f"returns logits {tuple(logits.shape)} and an empty state"


def greedy(result) -> str:
    logits = model("titans")(result[:, :-1])[0]             # every new token is the argmax after its prefix
    assert result.shape == (1, 7) and torch.equal(result[:, 3:], logits.argmax(-1)[:, 2:])
    return "picks the most likely token at every step (greedy)"


def greedy_limit(result) -> str:
    assert torch.equal(result, generate(temperature=0, max_new_tokens=4))
    return "samples what temperature=0 picks (the limit of a temperature going to 0), no NaN"


def the_prompt(result) -> str:
    assert torch.equal(result, tokens(batch=1, T=3))
    return "returns the prompt unchanged"


def in_meta(call):
    with checks.value_checks(False):            # nothing can look inside a meta tensor
        return call()


FRESH = r"or pass None to start fresh\.$"

CASES = [
    # -- a state from another model ---------------------------------------------------------------
    Case("models", "'hope' model, a state list of 1 block (of 2)", lambda: carry("hope", state_of("hope")[:1]),
         raises=ValueError, match=r"^state must be a list of 2 BlockStates, got a list of 1: pass the state this "
                                  r"'hope' model returned, " + FRESH),
    Case("models", "'titans' model, a 'hope' model's state", lambda: carry("titans", state_of("hope")),
         raises=ValueError, match=r"^state\[0\]\.mixer must be a TitansLayerState, got a SelfModifyingState"),
    Case("models", "'transformer' model, a 'titans' model's state", lambda: carry("transformer", state_of("titans")),
         raises=ValueError, match=r"^state\[0\]\.mixer must be a KVCache, got a TitansLayerState"),
    Case("models", "'hope-attention' model, a 'transformer' model's state", lambda: carry(
        "hope-attention", state_of("transformer")), raises=ValueError, match=r"^state\[0\]\.cms must be a CMSState, "
                                                                             r"got None"),
    Case("models", "'titans' model (width 32), a state of width 16", lambda: carry("titans", state_of("titans", 16)),
         raises=ValueError, match=r"^state\[0\]\.mixer\.conv has shape \(2, 3, 48\) but this 'titans' model expects "
                                  r"\(2, 3, 96\) \(a state of another width or configuration\)"),
    Case("models", "'hope' model (width 32), a state of width 16", lambda: carry("hope", state_of("hope", 16)),
         raises=ValueError, match=r"^state\[0\]\.mixer\.projections\[0\] has shape .* another width"),
    Case("models", "'transformer' model (width 32), a state of width 16", lambda: carry(
        "transformer", state_of("transformer", 16)), raises=ValueError,
        match=r"^state\[0\]\.mixer\.k has shape \(2, 2, 6, 8\) but this 'transformer' model expects \(2, 2, \*, 16\)"),
    Case("models", "'hope' model (float32), a float64 state", lambda: carry("hope", [s.to(dtype=torch.float64)
                                                                                  for s in state_of("hope")]),
         raises=ValueError, match=r"has dtype torch.float64 but this 'hope' model computes in torch.float32: cast the "
                                  r"state with \[s.to\(dtype=torch.float32\) for s in state\], " + FRESH),
    Case("models", "'transformer' model (float32), a float64 KV cache", lambda: carry(
        "transformer", [s.to(dtype=torch.float64) for s in state_of("transformer")]), raises=ValueError,
        match=r"^state\[0\]\.mixer\.k has dtype torch.float64"),
    Case("models", "'titans' model on cpu, a state on meta", lambda: carry("titans", [s.to("meta")
                                                                                    for s in state_of("titans")]),
         raises=ValueError, match=r"is on meta but this 'titans' model runs on cpu: move the state with "
                                  r"\[s.to\('cpu'\) for s in state\]"),
    Case("models", "'transformer' model on cpu, a KV cache on meta", lambda: carry(
        "transformer", [s.to("meta") for s in state_of("transformer")]), raises=ValueError,
        match=r"^state\[0\]\.mixer\.k is on meta but this 'transformer' model runs on cpu"),
    Case("models", "'transformer' model (batch 2), a state of batch 3", lambda: carry(
        "transformer", state_of("transformer", batch=3)), raises=ValueError,
        match=r"^state was built for batch 3, but the input has batch 2"),
    # -- a batch of 0, empty or misplaced tokens --------------------------------------------------
    Case("models", "'hope' model, batch of 0", lambda: model("hope")(tokens(batch=0)), check=empty_logits),
    Case("models", "'titans' model, batch of 0", lambda: model("titans")(tokens(batch=0)), check=empty_logits),
    Case("models", "'transformer' model, batch of 0", lambda: model("transformer")(tokens(batch=0)),
         check=empty_logits),
    Case("models", "'hope-attention' model, batch of 0", lambda: model("hope-attention")(tokens(batch=0)),
         check=empty_logits),
    Case("models", "'transformer' model, tokens of shape (2, 0)", lambda: model("transformer")(tokens(T=0)),
         raises=ValueError, match=r"^the sequence is empty \(T = 0\); pass at least one token"),
    Case("models", "model on cpu, tokens on meta", lambda: in_meta(lambda: model("titans")(tokens().to("meta"))),
         raises=ValueError, match=r"^tokens are on meta but the model is on cpu; move them with tokens.to\('cpu'\)"),
    # -- generate ---------------------------------------------------------------------------------
    Case("models", "generate, an empty prompt (1, 0)", lambda: generate(tokens(batch=1, T=0)), raises=ValueError,
         match=r"^prompt must be an integer tensor of token ids of shape \(batch, T\) with T >= 1"),
    Case("models", "generate, a float prompt", lambda: generate(tokens(batch=1, T=3).float()), raises=ValueError,
         match=r"^prompt must be an integer tensor .* torch.float32"),
    Case("models", "generate, a prompt id 300 (vocabulary 256)", lambda: generate(torch.tensor([[1, 300]])),
         raises=ValueError, match=r"^token ids must lie in \[0, 256\), got 1 .. 300"),
    Case("models", "generate, temperature=1e-44 (denormal)", lambda: generate(
        temperature=1e-44, max_new_tokens=4, generator=torch.Generator().manual_seed(0)), check=greedy_limit),
    Case("models", "generate, temperature=0", lambda: generate(temperature=0, max_new_tokens=4), check=greedy),
    Case("models", "generate, temperature=-1", lambda: generate(temperature=-1.0), raises=ValueError,
         match=r"^temperature must be a finite number >= 0 \(0 = greedy\), got -1.0"),
    Case("models", "generate, temperature=inf", lambda: generate(temperature=float("inf")), raises=ValueError,
         match=r"^temperature must be a finite number >= 0 \(0 = greedy\), got inf"),
    Case("models", "generate, temperature=nan", lambda: generate(temperature=float("nan")), raises=ValueError,
         match=r"^temperature must be a finite number >= 0 \(0 = greedy\), got nan"),
    Case("models", "generate, max_new_tokens=0", lambda: generate(max_new_tokens=0), check=the_prompt),
    Case("models", "generate, max_new_tokens=-1", lambda: generate(max_new_tokens=-1), raises=ValueError,
         match=r"^max_new_tokens must be an int >= 0, got -1"),
    Case("models", "generate, generator=3", lambda: generate(generator=3), raises=ValueError,
         match=r"^generator must be a torch.Generator or None, got int"),
]
