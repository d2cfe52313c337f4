"""Typed memory states: what a memory carries from one call to the next.

Every memory in hope_lite is functional: ``y, state = layer(x, state=state)``. The state is a
small dataclass per memory kind (defined beside the memory), never a dict of string keys. This
base class gives each of them

* ``detach()`` — cut the autograd history (truncated backpropagation through a long stream);
* ``to(device=None, dtype=None)`` — move or cast every tensor (Python ints stay as they are);
* ``check_for(batch, like, owner)`` — the clear error for a state from another batch size,
  dtype or device, raised before anything is computed.

States are saved with ``torch.save`` and load with ``torch.load(..., weights_only=True)``: every
state class is registered as a safe global.

Fields hold tensors, lists of tensors, nested states, lists of states, Python ints or None.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, TypeVar

import torch
from torch import Tensor

__all__ = ["MemoryState"]

S = TypeVar("S", bound="MemoryState")


def _map(value: Any, fn: Callable[[Tensor], Tensor]) -> Any:
    if torch.is_tensor(value):
        return fn(value)
    if isinstance(value, MemoryState):
        return value.map_tensors(fn)
    if isinstance(value, (list, tuple)):
        return type(value)(_map(v, fn) for v in value)
    return value


def _first_tensor(value: Any) -> Tensor | None:
    if torch.is_tensor(value):
        return value
    if isinstance(value, MemoryState):          # a nested state knows which of its tensors holds the batch
        return value.batch_tensor()
    if isinstance(value, (list, tuple)):
        for v in value:
            t = _first_tensor(v)
            if t is not None:
                return t
    return None


@dataclasses.dataclass
class MemoryState:
    """Base class of the typed states (see the module docstring)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # a saved state loads with torch.load(weights_only=True): no pickled code runs
        if hasattr(torch.serialization, "add_safe_globals"):
            torch.serialization.add_safe_globals([cls])

    def map_tensors(self: S, fn: Callable[[Tensor], Tensor]) -> S:
        """A copy with ``fn`` applied to every tensor."""
        return dataclasses.replace(self, **{f.name: _map(getattr(self, f.name), fn) for f in dataclasses.fields(self)})

    def numel(self) -> int:
        """How many numbers the state holds (every tensor, anchors included)."""
        count = 0

        def add(t: Tensor) -> Tensor:
            nonlocal count
            count += t.numel()
            return t
        self.map_tensors(add)
        return count

    def detach(self: S) -> S:
        return self.map_tensors(Tensor.detach)

    def to(self: S, device: Any = None, dtype: torch.dtype | None = None) -> S:
        return self.map_tensors(lambda t: t.to(device=device, dtype=dtype))

    def batch_tensor(self) -> Tensor | None:
        """A tensor whose first dim is the batch (of rows): the first tensor, unless a state says otherwise."""
        return _first_tensor([getattr(self, f.name) for f in dataclasses.fields(self)])

    def batch_size(self) -> int:
        """Rows of the batch this state belongs to (-1 for a state without tensors)."""
        t = self.batch_tensor()
        return -1 if t is None else t.shape[0]

    def check_for(self, batch: int, like: Tensor, owner: str, rows_per_sequence: int = 1,
                  dtype: bool = True) -> None:
        """Raise a clear ValueError unless this state fits an input of ``batch`` sequences shaped like ``like``.

        ``rows_per_sequence`` is how many state rows one sequence owns (heads folded into the batch).
        ``dtype=False`` leaves the dtype to the inner memory: under autocast a layer's input and its
        state's tensors legitimately differ (a bf16 convolution cache beside a float32 input).
        """
        t = self.batch_tensor()
        if t is None:
            return
        if t.shape[0] != batch * rows_per_sequence:
            raise ValueError(f"the state was built for batch {t.shape[0] // rows_per_sequence}, but the input has "
                             f"batch {batch}; carry the state of the same batch of sequences into {owner}.")
        if t.device != like.device:
            raise ValueError(f"the state is on {t.device} but the input of {owner} is on {like.device}; "
                             f"move it with state.to({str(like.device)!r}).")
        if dtype and t.dtype != like.dtype:
            raise ValueError(f"the state has dtype {t.dtype} but the input of {owner} has {like.dtype}; "
                             f"cast it with state.to(dtype={like.dtype}).")
