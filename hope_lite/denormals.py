"""Denormal (subnormal) floats: why the memory models meet them, and how hope_lite keeps them out.

A float32 below 1.2e-38 in magnitude (``torch.finfo(torch.float32).tiny``) is *denormal*: stored
with fewer significant bits, and on many x86 CPUs every arithmetic operation that reads or writes one
takes a slow microcode path, 10-100x slower (on the AMD EPYC of 2026-12-02, about 2x). The memory models make such numbers on their own:
the gradient that flows back along the chain of memory states across chunks is multiplied by a
retention factor per chunk, and the retention products exp(sum log a) decay geometrically, so
values of 1e-19 ... 1e-33 appear, and a product of two of them is denormal. One batched matrix
product that reads them took 6.5-9.7 ms instead of 0.27-0.77 ms on the CPU of issue 17's measurement.

They carry nothing: a denormal is at least 1e-31 times smaller than any value of order one it is
added to, far below float32's rounding (6e-8 relative). So the CPU is told to treat them as zero
(flush-to-zero for results, denormals-are-zero for inputs: :func:`torch.set_flush_denormal`).
That is a per-thread CPU flag, and a new thread starts with its creator's: torch's worker threads
(intra-op parallelism) start at the first parallel operation, so the flag must be set before it,
or the workers keep computing with denormals (measured: with 2 threads and the flag set late, a
third of them remained). It is set where a user's run starts: the trainer's command line
(``python -m hope_lite.train``), ``python -m hope_lite.bench`` (``--keep-denormals`` leaves them,
to measure the difference), and the teaching layer's import (every notebook's setup cell). A script
that builds a model itself calls :func:`flush_denormals` first (``build_model``'s documentation
says so); the library functions themselves (``train``, the models) leave the caller's flag alone.

:func:`count_denormals` runs a function and counts the denormal elements in the output of every
operation it makes, forward and backward (a ``TorchDispatchMode``): the tests hold it at zero for
a training step of every model with the flag set, and above zero without it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Callable

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

__all__ = ["flush_denormals", "flushing", "denormal_count", "count_denormals"]


def flush_denormals(on: bool = True) -> bool:
    """Treat denormal floats as zero on this thread's CPU (``on=False`` restores IEEE behaviour).

    Returns whether the CPU supports it (x86 with SSE3; also ARM64). On a CPU without it nothing
    changes and the models are only slower on long sequences."""
    return bool(torch.set_flush_denormal(bool(on)))


def flushing() -> bool:
    """Whether this thread's CPU flushes denormals now (torch has no getter): a product that would be one, 1e-40."""
    return (torch.tensor([1e-30]) * torch.tensor([1e-10])).item() == 0.0


def denormal_count(t: torch.Tensor) -> int:
    """How many elements of a floating-point tensor are denormal (non-zero, below the smallest normal)."""
    if not (isinstance(t, torch.Tensor) and t.is_floating_point()) or t.numel() == 0:
        return 0
    a = t.detach().abs()
    return int(((a > 0) & (a < torch.finfo(t.dtype).tiny)).sum())


class _DenormalCounter(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.by_op: Counter = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        found = sum(denormal_count(t) for t in tree_flatten(out)[0])
        if found:
            self.by_op[str(func.overloadpacket.__name__)] += found
        return out


def count_denormals(fn: Callable[[], Any]) -> Counter:
    """Run ``fn()`` (e.g. a forward and a backward pass) and count the denormal elements that each kind of
    operation wrote, forward and backward: ``Counter({"bmm": 1234, ...})``, empty when there were none."""
    counter = _DenormalCounter()
    with counter:
        fn()
    return counter.by_op
