"""hope_lite: Nested Learning and the HOPE model in small, readable PyTorch.

Modules (one concept each, one notebook each):
    memory    associative memories as optimization (notebook 01)
    levels    levels, levels_of, UpdateRecorder (notebooks 00-01)
    teaching  seeding, FAST mode, exercise checks
    data      memory vectors, the byte tokenizer, text corpora (offline pydoc default) and
              synthetic token tasks (notebooks 01, 04, 07)
    optim     deep optimizers as torch.optim.Optimizers (notebooks 02-03)
    titans    the Titans (LMM) layer and self-modifying Titans (notebooks 04-05)
    cms       the Continuum Memory System (notebook 06)
    models    HopeLM, HOPE-attention, Transformer++, Titans LM with presets (notebooks 06-07)
    train     the trainer: checkpoints, exact resume, DDP; ``python -m hope_lite.train`` (notebook 07)
    experiments, experiments_titans, experiments_self_modifying, experiments_cms, experiments_models,
    experiments_hope
              each chapter's measured runs (notebooks 03-07)
    viz       pure figure functions (+ viz_titans, viz_self_modifying, viz_cms);
              ``python -m hope_lite.viz --out figures``
    widgets   ipywidgets explorers built on viz (imported on demand: matplotlib stays optional)
    bench     ``python -m hope_lite.bench``
"""

from .cms import ContinuumMemory
from .levels import Level, UpdateRecorder, levels_of
from .memory import DeltaRuleMemory, HebbianMemory, TitansMemory, make_memory
from .models import build_model
from .teaching import check, fast_mode, pick, seed_everything
from .titans import SelfModifyingTitans, TitansLayer

__version__ = "0.1.0"

__all__ = [
    "Level", "UpdateRecorder", "levels_of",
    "HebbianMemory", "DeltaRuleMemory", "TitansMemory", "make_memory",
    "check", "fast_mode", "pick", "seed_everything",
    "TitansLayer", "SelfModifyingTitans", "ContinuumMemory", "build_model",
]
