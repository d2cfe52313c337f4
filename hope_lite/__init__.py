"""hope_lite: Nested Learning and the HOPE model in small, readable PyTorch.

Modules (one concept each, one notebook each). Importing them needs torch and numpy only:
    memory          associative memories as optimization: Hebbian, delta rule (notebook 01)
    deep_memory     MLP memories: the inner gradient, the unrolled-chunk kernel, TitansMemory (01, 04)
    chunking        the chunk clock, update events, decay products
    layers          norms, causal convolution, data-dependent gates, MemoryBlock, make_memory
    state, checks   typed memory states; the shared argument and value checks
    levels          levels, levels_of, UpdateRecorder (notebooks 00-01)
    data            the byte tokenizer, text corpora (offline pydoc default) and synthetic token tasks
                    (notebooks 03, 07)
    optim           deep optimizers as torch.optim.Optimizers (notebooks 02-03)
    titans          the Titans (LMM) layer (notebook 04)
    self_modifying  self-modifying Titans (notebook 05)
    cms             the Continuum Memory System (notebook 06)
    models          HopeLM, HOPE-attention, Transformer++, Titans LM with presets (notebooks 06-07)
    train           the trainer: checkpoints, exact resume, DDP; ``python -m hope_lite.train`` (notebook 07)
    bench           ``python -m hope_lite.bench`` (+ bench_models, bench_equivalence)
    denormals       flush_denormals: treat denormal floats as zero (the memory models make them; they are slow)

The teaching layer is the ``lessons`` subpackage: each chapter's experiments, figures and
ipywidgets explorers, the FAST-mode and exercise helpers of the notebooks (``check``,
``fast_mode``, ``pick``, ``seed_everything``) and the command that draws the static figures. It
builds on the core; the core never imports it (tests/core/test_core_imports.py checks both).
"""

from .cms import ContinuumMemory
from .levels import Level, UpdateRecorder, levels_of
from .deep_memory import TitansMemory
from .denormals import flush_denormals
from .layers import make_memory
from .memory import DeltaRuleMemory, HebbianMemory
from .models import build_model
from .self_modifying import SelfModifyingTitans
from .titans import TitansLayer

__version__ = "0.1.0"

__all__ = [
    "Level", "UpdateRecorder", "levels_of",
    "HebbianMemory", "DeltaRuleMemory", "TitansMemory", "make_memory",
    "TitansLayer", "SelfModifyingTitans", "ContinuumMemory", "build_model", "flush_denormals",
]
