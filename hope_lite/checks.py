"""Input checks shared by every module: one message style, one place, out of the hot path.

Two kinds of check, kept apart so that ``torch.compile`` sees whole graphs:

* **Configuration checks** (``positive_int``, ``positive_finite``, ``in_range``, ``choice`` …) run
  once, when a module is built. They look at Python numbers only.
* **Value checks** (:func:`check_finite`, :func:`check_in_range`) look *inside* tensors (NaN or
  inf inputs, gates outside their range, token ids outside the vocabulary). Each one is a
  data-dependent branch — a graph break for ``torch.compile`` and, on CUDA, a host-device sync —
  so they run in eager mode only: they are skipped while compiling, and
  ``value_checks(False)`` (a context manager, also usable as ``set_value_checks(False)``) switches
  them off for a fast eager run. Shape and dtype checks are cheap and always on.

Every message names the argument and says what to change.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Any, Iterable, Iterator

import torch
from torch import Tensor

__all__ = ["positive_int", "nonnegative_int", "boolean", "positive_finite", "optional_positive_finite", "in_range",
           "choice", "value_checks", "set_value_checks", "value_checks_enabled", "check_finite",
           "check_in_range", "check_sequence_input", "NonFiniteError"]


# ---------------------------------------------------------------------------------------------
# Configuration: Python numbers, checked once at construction


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def positive_int(name: str, value: Any, hint: str = "") -> int:
    """``value`` if it is an int >= 1; ``hint`` is appended to the message, e.g. " (e.g. 64)"."""
    if not _is_int(value) or value < 1:
        raise ValueError(f"{name} must be a positive int{hint}, got {value!r}.")
    return value


def nonnegative_int(name: str, value: Any, hint: str = "") -> int:
    if not _is_int(value) or value < 0:
        raise ValueError(f"{name} must be an int >= 0{hint}, got {value!r}.")
    return value


def boolean(name: str, value: Any) -> bool:
    """``value`` if it is True or False (a switch: 0, 1 or "no" would pass silently as truthiness)."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}.")
    return value


def positive_finite(name: str, value: Any) -> float:
    if not _is_number(value) or not 0 < value < math.inf:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}.")
    return float(value)


def optional_positive_finite(name: str, value: Any, none_means: str) -> float | None:
    """None (meaning ``none_means``, e.g. "no clipping") or a positive finite number."""
    if value is None:
        return None
    if not _is_number(value) or not 0 < value < math.inf:
        raise ValueError(f"{name} must be None ({none_means}) or a positive finite number, got {value!r}.")
    return float(value)


def in_range(name: str, value: Any, low: float, high: float, *, low_open: bool = False,
             high_open: bool = False) -> float:
    """A finite number in [low, high] (a bracket becomes open with ``low_open`` / ``high_open``)."""
    ok = _is_number(value) and math.isfinite(value)
    if ok:
        ok = (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not ok:
        # an infinite end is never included: inf is not finite, so "[0, inf)" and never "[0, inf]"
        left = "(" if low_open or low == -math.inf else "["
        right = ")" if high_open or high == math.inf else "]"
        raise ValueError(f"{name} must be a finite number in {left}{low}, {high}{right}, got {value!r}.")
    return float(value)


def choice(name: str, value: Any, choices: Iterable[str]) -> str:
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}.")
    return value


# ---------------------------------------------------------------------------------------------
# Values inside tensors: eager mode only

_VALUE_CHECKS = True


def set_value_checks(enabled: bool) -> None:
    """Switch the value checks on or off for this process (they are on by default)."""
    global _VALUE_CHECKS
    _VALUE_CHECKS = bool(enabled)


@contextmanager
def value_checks(enabled: bool) -> Iterator[None]:
    """``with value_checks(False): ...`` runs without looking inside tensors, then restores the setting."""
    before = _VALUE_CHECKS
    set_value_checks(enabled)
    try:
        yield
    finally:
        set_value_checks(before)


def _compiling() -> bool:
    compiler = getattr(torch, "compiler", None)
    if compiler is not None and hasattr(compiler, "is_compiling"):
        return compiler.is_compiling()
    return torch._dynamo.is_compiling()  # torch < 2.3 spelling


def value_checks_enabled() -> bool:
    """True in eager mode unless switched off; always False while ``torch.compile`` traces."""
    return _VALUE_CHECKS and not _compiling()


class NonFiniteError(ValueError):
    """A tensor holds NaN or inf. Inside a model under training this means the training diverged (the
    trainer reports it so); given by a caller, it is bad input."""


def check_finite(name: str, x: Tensor, what_to_do: str = "clean or rescale the inputs") -> None:
    if value_checks_enabled() and not torch.isfinite(x).all():
        raise NonFiniteError(f"{name} contains NaN or inf values; {what_to_do}.")


def check_in_range(name: str, x: Tensor, low: float, high: float) -> None:
    """Every element of ``x`` finite and in [low, high]."""
    if not value_checks_enabled():
        return
    check_finite(name, x)
    if (x < low).any() or (x > high).any():
        raise ValueError(f"{name} must lie in [{low}, {high}], got values in "
                         f"[{x.min().item():.4g}, {x.max().item():.4g}].")


def check_sequence_input(x: object, width: int, path: str, paths: tuple[str, ...] = ("chunked", "reference")) -> None:
    """The input of a sequence layer: a finite float tensor (batch, T >= 1, width); ``path`` one of ``paths``."""
    if not torch.is_tensor(x) or x.dim() != 3:
        raise ValueError(f"x must be a tensor of shape (batch, T, width={width}), "
                         f"got {getattr(x, 'shape', type(x).__name__)}.")
    if x.shape[-1] != width:
        raise ValueError(f"x has width {x.shape[-1]} but this layer was built with width={width}.")
    if x.shape[1] < 1:
        raise ValueError("the sequence is empty (T = 0); pass at least one token.")
    if not x.is_floating_point():
        raise ValueError(f"x must be a floating-point tensor, got dtype {x.dtype}.")
    check_finite("x", x, "x must be a finite floating-point tensor; check the inputs before the layer")
    choice("path", path, paths)
