"""Language models: HopeLM, HOPE-attention, Transformer++ and a Titans (LMM) LM (docs/paper.md §6-7; notebooks 06-07).

Every model is ``embeddings -> depth x block -> RMSNorm -> head`` over bytes (vocabulary 256 by
default), with pre-norm residual blocks:

============== ================================================== =====================================
model          block                                              token mixer / channel mixer
============== ================================================== =====================================
hope           h = x + SelfModTitans(norm(x));  y = CMS(h)        self-modifying Titans / Continuum Memory
hope-attention h = x + Attention(norm(x));      y = CMS(h)        causal softmax attention / CMS
transformer    h = x + Attention(norm(x));      y = h + SwiGLU(norm(h))   Transformer++ (RoPE, SwiGLU, RMSNorm)
titans         h = x + TitansLayer(norm(x));    y = h + SwiGLU(norm(h))   Titans (LMM) / SwiGLU
============== ================================================== =====================================

The CMS blocks carry their own input norm and residual (``hope_lite.cms``). Attention is
``scaled_dot_product_attention`` with rotary position embeddings.

Configurations come as presets (:data:`PRESETS`): ``tiny`` (tests), ``small`` (notebooks) and the
paper's 760M / 1.3B shapes, for reference (instantiable, not trained here). Within a preset the four
models are matched in parameter count: Transformer++ sets the budget, and the hidden width of each
other model's channel mixer (SwiGLU or CMS levels) is solved for so that the totals agree within 5 %.

``forward(tokens, state=None) -> (logits, state)``: the state carries every layer's memory (and the
attention KV cache), so :meth:`LanguageModel.generate` feeds one token at a time and equals the
full forward pass. Memory-based models keep a state of fixed size; attention's KV cache grows
with the tokens.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import checks
from .chunking import recompute_setting
from .cms import CMSState, ContinuumMemory
from .layers import RMSNorm, width_per_head
from .self_modifying import SelfModifyingTitans
from .state import MemoryState, Shape, check_state, state_dtype
from .titans import TitansLayer

__all__ = ["ModelConfig", "PRESETS", "MODELS", "SWITCHES_OF_MODEL", "LanguageModel", "KVCache", "BlockState", "build_model",
           "compile_model", "count_parameters", "fields_read_by", "preset_config"]

MODELS = ("hope", "hope-attention", "transformer", "titans")


@dataclass(frozen=True)
class ModelConfig:
    """The shape of a model. ``channel_hidden`` is filled in per model by :func:`preset_config`.

    Attributes:
        width, depth, heads: model width, number of blocks, attention / memory heads.
        vocab_size: 256 for bytes (no tokenizer download, ever).
        ffn_hidden: SwiGLU hidden width of Transformer++ (sets the parameter budget).
        cms_periods: CMS update periods in tokens, fastest first.
        chunk_size, projection_chunk_size: self-modifying Titans' output-memory and projection
            chunk sizes; ``chunk_size`` is also the Titans layer's chunk size.
        channel_hidden: hidden width of this model's channel mixer (SwiGLU or every CMS level).
        cms_variant: ``"sequential"``, ``"independent"`` or ``"nested"``.
        titans_memory_depth, titans_conv, titans_momentum, titans_weight_decay, titans_persistent_tokens:
            the ``titans`` model's ablation switches (Titans Table 5; :class:`~hope_lite.titans.TitansLayer`'s
            ``memory_depth``, ``conv``, ``momentum``, ``weight_decay``, ``persistent_tokens``). The
            defaults are the model of chapter 07; other models ignore them.
        inner_rule, retention, static_projections, adaptive_q, inner_momentum: HOPE ablation switches (paper Table 6)
            passed to :class:`~hope_lite.self_modifying.SelfModifyingTitans`; ``cms=False`` replaces the
            CMS of ``hope`` / ``hope-attention`` by one static SwiGLU whose hidden width is solved for
            the same parameter budget (docs/reading.md, one row each).
    """

    width: int
    depth: int
    heads: int
    vocab_size: int = 256
    ffn_hidden: int = 0
    cms_periods: tuple[int, ...] = (64, 256, 1024)
    chunk_size: int = 64
    projection_chunk_size: int = 64
    channel_hidden: int = 0
    cms_variant: str = "sequential"
    cms_learning_rate: float = 0.1
    # Titans (LMM) ablations, issue 14 (Titans Table 5): memory depth 1 = linear memory; False drops
    # the causal convolution / the momentum (eta = 0) / the forget gate (alpha = 0); 0 persistent tokens
    titans_memory_depth: int = 2
    titans_conv: bool = True
    titans_momentum: bool = True
    titans_weight_decay: bool = True
    titans_persistent_tokens: int = 0
    # HOPE ablations (issue 14, paper Table 6): defaults are the model as it was
    inner_rule: str = "l2"
    retention: bool = True
    static_projections: tuple[str, ...] = ()
    adaptive_q: bool = False
    inner_momentum: bool = False
    cms: bool = True
    notes: str = field(default="", compare=False)


# The paper does not state width/depth/heads for its 760M / 1.3B runs (docs/paper.md §8.1); the
# shapes below follow the common Titans/FLA line (d = 1536 / 2048, 24 layers) with a 32K vocabulary.
PRESETS: dict[str, ModelConfig] = {
    "tiny": ModelConfig(width=32, depth=2, heads=2, ffn_hidden=128, cms_periods=(4, 16), chunk_size=8,
                        projection_chunk_size=8, notes="unit tests"),
    "small": ModelConfig(width=128, depth=4, heads=4, ffn_hidden=512, cms_periods=(64, 256, 1024), chunk_size=64,
                         projection_chunk_size=64, notes="notebooks (CPU)"),
    "760M": ModelConfig(width=1536, depth=24, heads=16, vocab_size=32000, ffn_hidden=4096,
                        cms_periods=(16, 256, 2048), chunk_size=64, projection_chunk_size=16,
                        notes="paper scale, reference only (shape assumed, see docstring)"),
    "1.3B": ModelConfig(width=2048, depth=24, heads=16, vocab_size=32000, ffn_hidden=5504,
                        cms_periods=(16, 256, 2048), chunk_size=64, projection_chunk_size=16,
                        notes="paper scale, reference only (shape assumed, see docstring)"),
}


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# ---------------------------------------------------------------------------------------------
# Building blocks


class SwiGLU(nn.Module):
    """Transformer++'s channel mixer: ``W_down (silu(x W_gate) * x W_up)``."""

    def __init__(self, width: int, hidden: int) -> None:
        super().__init__()
        self.gate_up = nn.Linear(width, 2 * hidden, bias=False)
        self.down = nn.Linear(hidden, width, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        gate, up = self.gate_up(x).chunk(2, dim=-1)
        return self.down(F.silu(gate) * up)


def rotary(x: Tensor, start: int, base: float = 10000.0) -> Tensor:
    """Rotary position embedding of x (B, H, T, dh) for positions start .. start + T - 1 (rotate-half form)."""
    dh, T = x.shape[-1], x.shape[-2]
    inv_freq = base ** (-torch.arange(0, dh, 2, device=x.device, dtype=torch.float32) / dh)
    angles = torch.arange(start, start + T, device=x.device, dtype=torch.float32)[:, None] * inv_freq  # (T, dh/2)
    cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)
    x1, x2 = x[..., : dh // 2], x[..., dh // 2:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


@dataclasses.dataclass
class KVCache(MemoryState):
    """Attention's state: every key and value so far, (B, H, T_so_far, dh) each. It grows with the tokens."""

    k: Tensor
    v: Tensor


@dataclasses.dataclass
class BlockState(MemoryState):
    """One block's state: its token mixer's (KV cache or memory state) and, in HOPE models, its CMS's."""

    mixer: MemoryState
    cms: CMSState | None = None


class CausalAttention(nn.Module):
    """Causal softmax attention with RoPE through ``scaled_dot_product_attention``; the state is a KV cache."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads, self.head_dim = heads, width_per_head(width, heads)
        self.qkv = nn.Linear(width, 3 * width, bias=False)
        self.out = nn.Linear(width, width, bias=False)

    def state_spec(self, batch: int) -> KVCache:
        """What a carried KV cache must look like for ``batch`` sequences: any length so far."""
        shape = Shape((batch,), (self.heads, None, self.head_dim))
        return KVCache(shape, shape)

    def forward(self, x: Tensor, *, state: KVCache | None = None) -> tuple[Tensor, KVCache]:
        B, T, D = x.shape
        if state is not None:
            check_state(state, self.state_spec(B), "CausalAttention", device=x.device, dtype=state_dtype(x))
        q, k, v = self.qkv(x).view(B, T, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)  # (B, H, T, dh)
        start = 0 if state is None else state.k.shape[2]
        q, k = rotary(q, start), rotary(k, start)
        if state is not None:
            k, v = torch.cat([state.k, k], dim=2), torch.cat([state.v, v], dim=2)
        if start == 0:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:   # new queries sit after the cached keys: query i sees keys <= start + i
            mask = torch.ones(T, start + T, dtype=torch.bool, device=x.device).tril(start)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.out(y.transpose(1, 2).reshape(B, T, D)), KVCache(k, v)


class Block(nn.Module):
    """One pre-norm residual block: a token mixer, then a channel mixer (SwiGLU or CMS)."""

    def __init__(self, kind: str, cfg: ModelConfig) -> None:
        super().__init__()
        self.kind = kind
        self.norm = RMSNorm(cfg.width)
        if kind == "hope":
            self.mixer = SelfModifyingTitans(cfg.width, cfg.heads, cfg.chunk_size, cfg.projection_chunk_size,
                                             adaptive_q=cfg.adaptive_q, inner_rule=cfg.inner_rule,
                                             retention=cfg.retention, static_projections=cfg.static_projections,
                                             inner_momentum=cfg.inner_momentum)
        elif kind == "titans":
            self.mixer = TitansLayer(cfg.width, cfg.heads, cfg.chunk_size, memory_depth=cfg.titans_memory_depth,
                                     conv=cfg.titans_conv, momentum=cfg.titans_momentum,
                                     weight_decay=cfg.titans_weight_decay,
                                     persistent_tokens=cfg.titans_persistent_tokens)
        else:
            self.mixer = CausalAttention(cfg.width, cfg.heads)
        if kind in ("hope", "hope-attention") and cfg.cms:
            self.cms = ContinuumMemory(cfg.width, cfg.cms_periods, hidden=cfg.channel_hidden,
                                       learning_rates=[cfg.cms_learning_rate] * len(cfg.cms_periods),
                                       variant=cfg.cms_variant)
            self.ffn_norm, self.ffn = None, None
        else:
            self.cms = None
            self.ffn_norm, self.ffn = RMSNorm(cfg.width), SwiGLU(cfg.width, cfg.channel_hidden)

    def state_spec(self, batch: int) -> BlockState:
        """What a carried state must look like for ``batch`` sequences: the mixer's, and the CMS's or None."""
        return BlockState(self.mixer.state_spec(batch), None if self.cms is None else self.cms.state_spec(batch))

    def forward(self, x: Tensor, state: BlockState | None) -> tuple[Tensor, BlockState]:
        mixed, mixer_state = self.mixer(self.norm(x), state=None if state is None else state.mixer)
        h = x + mixed
        if self.cms is not None:
            y, cms_state = self.cms(h, state=None if state is None else state.cms)   # CMS: own norm + residual
            return y, BlockState(mixer_state, cms_state)
        return h + self.ffn(self.ffn_norm(h)), BlockState(mixer_state)


class LanguageModel(nn.Module):
    """``embeddings -> depth x Block -> RMSNorm -> head`` for one of :data:`MODELS` (see the module docstring)."""

    def __init__(self, kind: str, cfg: ModelConfig) -> None:
        super().__init__()
        if kind not in MODELS:
            raise ValueError(f"model must be one of {MODELS}, got {kind!r}.")
        if cfg.channel_hidden < 1:
            raise ValueError("cfg.channel_hidden is not set; build configs with preset_config(model, preset).")
        self.kind, self.config = kind, cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.width)
        self.blocks = nn.ModuleList(Block(kind, cfg) for _ in range(cfg.depth))
        self.norm = RMSNorm(cfg.width)
        self.head = nn.Linear(cfg.width, cfg.vocab_size, bias=False)
        nn.init.normal_(self.embed.weight, std=0.02)
        nn.init.normal_(self.head.weight, std=0.02)
        self.recompute_chunks = "auto"

    @property
    def recompute_chunks(self) -> bool | str:
        """Whether the chunked memories recompute each piece in the backward pass (activation checkpointing).

        ``"auto"`` (the default): for calls of :data:`~hope_lite.chunking.RECOMPUTE_FROM_TOKENS` tokens
        or more, where the saving is large (README, "Training memory"); ``True`` / ``False``: always /
        never. On, the training memory of the memory models (self-modifying Titans, Titans, the CMS)
        grows with T about as slowly as their inputs do, for about one more forward pass of the
        memories; every number stays the same. Setting it reaches every memory of the model.
        """
        settings = {m.recompute_chunks for m in self._chunked_memories()}
        return settings.pop() if len(settings) == 1 else False

    @recompute_chunks.setter
    def recompute_chunks(self, setting: bool | str) -> None:
        setting = recompute_setting(setting)
        for module in self._chunked_memories():
            module.recompute_chunks = setting

    def _chunked_memories(self) -> list[nn.Module]:
        return [m for m in self.blocks.modules() if hasattr(m, "recompute_chunks")]

    def forward(self, tokens: Tensor, *, state: list[BlockState] | None = None) -> tuple[Tensor, list[BlockState]]:
        """tokens (B, T) int64 -> logits (B, T, vocab) and the state after the last token."""
        if not torch.is_tensor(tokens) or tokens.dim() != 2 or tokens.dtype not in (torch.int64, torch.int32):
            raise ValueError(f"tokens must be an integer tensor of shape (batch, T), "
                             f"got {getattr(tokens, 'shape', type(tokens).__name__)} "
                             f"{getattr(tokens, 'dtype', '')}.")
        if tokens.shape[1] < 1:
            raise ValueError("the sequence is empty (T = 0); pass at least one token.")
        if tokens.device != self.embed.weight.device:
            raise ValueError(f"tokens are on {tokens.device} but the model is on {self.embed.weight.device}; "
                             f"move them with tokens.to({str(self.embed.weight.device)!r}).")
        vocab = self.config.vocab_size
        if checks.value_checks_enabled() and tokens.numel() and (tokens.min() < 0 or tokens.max() >= vocab):
            raise ValueError(f"token ids must lie in [0, {vocab}), got "
                             f"{tokens.min().item()} .. {tokens.max().item()}.")
        x = self.embed(tokens)
        if state is not None:       # the whole list at once, so a message names the block: state[1].mixer...
            check_state(state, [block.state_spec(tokens.shape[0]) for block in self.blocks],
                        f"this {self.kind!r} model", device=x.device, dtype=state_dtype(x))
        new_state = []
        for i, block in enumerate(self.blocks):
            x, st = block(x, None if state is None else state[i])
            new_state.append(st)
        return self.head(self.norm(x)), new_state

    @torch.no_grad()
    def generate(self, prompt: Tensor, max_new_tokens: int, *, temperature: float = 1.0,
                 generator: torch.Generator | None = None) -> Tensor:
        """Continue ``prompt`` (B, T) by ``max_new_tokens`` tokens, one at a time, carrying the state.

        ``temperature=0`` picks the most likely token (greedy); otherwise samples from
        softmax(logits / temperature) with ``generator``. The prompt needs at least one token: it
        is what the first new token continues.
        """
        if (not torch.is_tensor(prompt) or prompt.dim() != 2 or prompt.shape[1] < 1
                or prompt.dtype not in (torch.int64, torch.int32)):
            got = (f"shape {tuple(prompt.shape)} and dtype {prompt.dtype}" if torch.is_tensor(prompt)
                   else f"a {type(prompt).__name__}")
            raise ValueError("prompt must be an integer tensor of token ids of shape (batch, T) with T >= 1 (the "
                             f"first new token continues its last one), got {got}.")
        if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 0:
            raise ValueError(f"max_new_tokens must be an int >= 0, got {max_new_tokens!r}.")
        number = isinstance(temperature, (int, float)) and not isinstance(temperature, bool)
        if not (number and 0 <= temperature < math.inf):
            raise ValueError(f"temperature must be a finite number >= 0 (0 = greedy), got {temperature!r}.")
        if generator is not None and not isinstance(generator, torch.Generator):
            raise ValueError(f"generator must be a torch.Generator or None, got {type(generator).__name__}.")
        logits, state = self(prompt)
        out = [prompt]
        for _ in range(max_new_tokens):
            last = logits[:, -1]
            if temperature == 0:
                nxt = last.argmax(-1, keepdim=True)
            else:
                # (l - max l) / temperature in float64: a tiny (even denormal) temperature sends every
                # logit but the largest to -inf, the greedy limit, where l / temperature would give inf - inf = NaN
                scaled = (last.double() - last.double().amax(-1, keepdim=True)) / temperature
                nxt = torch.multinomial(torch.softmax(scaled, dim=-1), 1, generator=generator)
            out.append(nxt)
            logits, state = self(nxt, state=state)
        return torch.cat(out, dim=1)


# ---------------------------------------------------------------------------------------------
# Configs with matched parameter counts


def _block_parameters(kind: str, cfg: ModelConfig) -> int:
    with torch.device("meta"):
        return count_parameters(Block(kind, cfg))


# The ablation switches and the models that read them: a switch given to any other model would change
# nothing, so it is refused rather than silently ignored.
SWITCHES_OF_MODEL: dict[str, tuple[str, ...]] = {
    "hope": ("inner_rule", "retention", "static_projections", "adaptive_q", "inner_momentum", "cms",
             "cms_periods", "cms_variant", "cms_learning_rate", "projection_chunk_size", "chunk_size"),
    "hope-attention": ("cms", "cms_periods", "cms_variant", "cms_learning_rate"),
    "titans": ("titans_memory_depth", "titans_conv", "titans_momentum", "titans_weight_decay",
               "titans_persistent_tokens", "chunk_size"),
    "transformer": (),
}


def fields_read_by(model: str) -> set[str]:
    """The :class:`ModelConfig` fields ``model`` reads: the shared ones (width, depth, ...) and its own switches."""
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}.")
    switches = {name for names in SWITCHES_OF_MODEL.values() for name in names}
    return (set(ModelConfig.__dataclass_fields__) - switches) | set(SWITCHES_OF_MODEL[model])


def preset_config(model: str, preset: str = "small", **overrides: Any) -> ModelConfig:
    """The preset's config for ``model``, with the channel mixer's hidden width solved for parameter parity.

    Transformer++ (SwiGLU hidden = ``ffn_hidden``) sets the per-block budget; every other model's
    channel mixer hidden width h is chosen so that its block has as many parameters: block
    parameters are affine in h, so two meta-device constructions give the slope and offset.
    ``overrides`` replace config fields (e.g. ``depth=2``) before the solve.
    """
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}.")
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {tuple(PRESETS)}, got {preset!r}.")
    unknown = set(overrides) - set(ModelConfig.__dataclass_fields__)
    if unknown:
        raise ValueError(f"unknown config field(s) {sorted(unknown)}; choose from "
                         f"{sorted(ModelConfig.__dataclass_fields__)}.")
    if "channel_hidden" in overrides:
        raise ValueError("channel_hidden is solved for the parameter budget, not set; change ffn_hidden (the "
                         "Transformer++ budget) instead.")
    ignored = sorted(set(overrides) - fields_read_by(model))
    if ignored:
        readers = sorted({m for name in ignored for m, names in SWITCHES_OF_MODEL.items() if name in names})
        raise ValueError(f"model {model!r} has no {', '.join(ignored)} (a switch of {', '.join(readers)}); "
                         f"drop it, or choose a model that has it.")
    cfg = replace(PRESETS[preset], **overrides)
    _check_config(cfg)
    budget = _block_parameters("transformer", replace(cfg, channel_hidden=cfg.ffn_hidden))
    if model == "transformer":
        return replace(cfg, channel_hidden=cfg.ffn_hidden)
    at_1 = _block_parameters(model, replace(cfg, channel_hidden=1))
    at_2 = _block_parameters(model, replace(cfg, channel_hidden=2))
    per_unit = at_2 - at_1
    hidden = max(1, round((budget - at_1) / per_unit) + 1)
    return replace(cfg, channel_hidden=hidden)


def _check_config(cfg: ModelConfig) -> None:
    for name in ("width", "depth", "heads", "vocab_size", "ffn_hidden", "chunk_size", "projection_chunk_size"):
        checks.positive_int(f"config field {name}", getattr(cfg, name))
    width_per_head(cfg.width, cfg.heads)
    checks.positive_int("config field titans_memory_depth", cfg.titans_memory_depth, " (1 = linear memory)")
    checks.nonnegative_int("config field titans_persistent_tokens", cfg.titans_persistent_tokens)
    for name in ("titans_conv", "titans_momentum", "titans_weight_decay", "retention", "adaptive_q", "inner_momentum",
                 "cms"):
        checks.boolean(f"config field {name}", getattr(cfg, name))


def compile_model(net: LanguageModel) -> nn.Module:
    """``torch.compile`` where it pays on every model: the memories' chunk kernels, or the whole model.

    A memory model's forward pass is a Python loop over chunks; compiled whole, the loop is unrolled
    into one graph per sequence length, which takes many minutes to compile on a CPU at T = 1024. So
    in ``hope`` and ``titans`` only the function of one chunk (``_piece``, the same code for every
    chunk) is compiled, once per shape of a piece, and the loop, the projections and the CMS stay
    eager (README, "torch.compile": speed-ups and compile times measured both ways). ``transformer`` and
    ``hope-attention`` are compiled whole (returned wrapped). Numbers change by float rounding only.
    """
    pieces = [m for m in net.blocks.modules() if hasattr(m, "_piece")]
    if not pieces:
        return torch.compile(net)
    for memory in pieces:   # an instance attribute shadows the method: this memory's calls go through the compiler
        memory._piece = torch.compile(memory._piece)
    return net


def build_model(model: str, preset: str = "small", *, device: Any = None, dtype: torch.dtype | None = None,
                compile: bool = False, **overrides: Any) -> LanguageModel:
    """Build ``model`` (one of :data:`MODELS`) at ``preset``; ``compile=True`` compiles it (:func:`compile_model`).

    bf16 training is a matter of running the forward under ``torch.autocast(device_type, torch.bfloat16)``
    (the trainer's ``--bf16``); the memories' chunk arithmetic then runs in bf16 on CUDA.

    On a CPU, call :func:`hope_lite.flush_denormals` once at the start of a script, before the first torch
    operation: the memory models' backward passes make denormal floats, which some CPUs compute 10-100x
    slower, and the flag reaches torch's worker threads only if it is set before they start
    (:mod:`hope_lite.denormals`). The trainer, the benchmark and the notebooks do it themselves.
    """
    cfg = preset_config(model, preset, **overrides)
    net = LanguageModel(model, cfg)
    if device is not None or dtype is not None:
        net = net.to(device=device, dtype=dtype)
    return compile_model(net) if compile else net
