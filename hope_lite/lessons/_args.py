"""Argument checks shared by the chapters: every bad argument raises a ValueError that names it.

The experiments are called from notebooks with hand-typed values; a message such as
``steps must be an int >= 1, got 2.5.`` says what to fix without a traceback into the library.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np


def require_int(name: str, value: Any, low: int = 1) -> int:
    """``value`` as an int >= ``low`` (NumPy integers too; bools are refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}.")
    return int(value)


def require_positive(name: str, value: Any) -> float:
    """``value`` as a finite float > 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}.")
    return float(value)


def require_number(name: str, value: Any, low: float, high: float, *, high_open: bool = False) -> float:
    """``value`` as a finite float in [low, high] (or [low, high) with ``high_open``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}.")
    if value < low or value > high or (high_open and value == high):
        interval = f"[{low}, {high})" if high_open else f"[{low}, {high}]"
        raise ValueError(f"{name} must lie in {interval}, got {value!r}.")
    return float(value)


def require_choice(name: str, value: Any, choices: Sequence[Any]) -> Any:
    """``value`` if it is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}.")
    return value


def require_seeds(seeds: Any, check: Callable[[Any], int] | None = None) -> list[int]:
    """``seeds`` as a non-empty list of distinct ints, each passed through ``check`` (default: an int >= 0)."""
    if isinstance(seeds, (int, str)) or not isinstance(seeds, Sequence) or not seeds:
        raise ValueError(f"seeds must be a non-empty list of ints, e.g. [0, 1, 2]; got {seeds!r}.")
    seeds = [check(s) if check is not None else require_int("seed", s, 0) for s in seeds]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct, got {seeds}.")
    return seeds


def add_run_options(parser: Any, runs: str, *, jobs: bool = True) -> None:
    """The options of a chapter command that trains many runs: where they are kept (``--out``, default ``runs``),
    the results file (``--json``), ``--device``, ``--threads`` and, with ``jobs``, ``--jobs`` and ``--no-progress``."""
    parser.add_argument("--out", default=runs, help=f"folder of the saved runs (default: {runs})")
    parser.add_argument("--json", default=None, help="write the results here")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    if jobs:
        parser.add_argument("--jobs", type=int, default=1,
                            help="train this many runs at once, one process and one thread each (e.g. 2 on 2 cores)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar over the runs")
