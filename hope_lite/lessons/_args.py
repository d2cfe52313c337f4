"""Argument checks shared by the chapters: every bad argument raises a ValueError that names it.

The experiments are called from notebooks with hand-typed values; a message such as
``steps must be an int >= 1, got 2.5.`` says what to fix without a traceback into the library.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

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
