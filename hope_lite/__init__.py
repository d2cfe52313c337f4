"""hope_lite: Nested Learning and the HOPE model in small, readable PyTorch.

Modules (one concept each, one notebook each):
    memory    associative memories as optimization (notebook 01)
    levels    levels, levels_of, UpdateRecorder (notebooks 00-01)
    teaching  seeding, FAST mode, exercise checks
    data      seeded key-value streams for recall experiments (notebook 01)
    optim     deep optimizers as torch.optim.Optimizers (notebooks 02-03)
    experiments  toy landscape, small training runs (``python -m hope_lite.experiments``; notebook 03)
    viz       pure figure functions; ``python -m hope_lite.viz --out figures``
    widgets   ipywidgets explorers built on viz (imported on demand: matplotlib stays optional)
    bench     ``python -m hope_lite.bench``
"""

from .levels import Level, UpdateRecorder, levels_of
from .memory import DeltaRuleMemory, HebbianMemory, TitansMemory, make_memory
from .teaching import check, fast_mode, pick, seed_everything

__version__ = "0.1.0"

__all__ = [
    "Level", "UpdateRecorder", "levels_of",
    "HebbianMemory", "DeltaRuleMemory", "TitansMemory", "make_memory",
    "check", "fast_mode", "pick", "seed_everything",
]
