"""Typed memory states: what a memory carries from one call to the next.

Every memory in hope_lite is functional: ``y, state = layer(x, state=state)``. The state is a
small dataclass per memory kind (defined beside the memory), never a dict of string keys. This
base class gives each of them

* ``detach()`` — cut the autograd history (truncated backpropagation through a long stream);
* ``to(device=None, dtype=None)`` — move or cast every tensor (Python ints stay as they are);
* a spec — the same dataclass with a :class:`Shape` in place of every tensor — that a layer builds
  for the input it is given (``layer.state_spec(batch)``), and :func:`check_state`, the one rule
  every layer and model applies to a state it is handed: the clear error for a state of another
  kind, width, batch size, device or dtype, raised before anything is computed.

States are saved with ``torch.save`` and load with ``torch.load(..., weights_only=True)``: every
state class is registered as a safe global.

Fields hold tensors, lists of tensors, nested states, lists of states, Python ints or None.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, NamedTuple, TypeVar

import torch
from torch import Tensor

__all__ = ["MemoryState", "Shape", "check_state", "state_dtype"]

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


# ---------------------------------------------------------------------------------------------
# The state a layer is handed: one rule, metadata only


class Shape(NamedTuple):
    """The expected shape of one tensor of a state, ``head + batch + tail``, in a layer's state spec.

    ``batch`` are the dims that index the input's sequences (heads folded into rows count
    ``per_sequence`` rows per sequence); ``head`` and ``tail`` are fixed by the layer's
    configuration (None: any size, as a KV cache's length). ``optional``: None fits too (a cache
    before the first call); ``cast``: the layer casts this tensor to the input's dtype itself.
    """

    batch: tuple[int, ...]
    tail: tuple[int | None, ...] = ()
    head: tuple[int, ...] = ()
    per_sequence: int = 1
    optional: bool = False
    cast: bool = False


def state_dtype(like: Tensor) -> torch.dtype | None:
    """The dtype a state must have beside the input ``like``: like's, or None (not checked) under
    autocast, where a layer's input and its state legitimately differ (a bf16 cache, a float32 input)."""
    return None if torch.is_autocast_enabled(like.device.type) else like.dtype


def _a(value: Any) -> str:
    """What a value is, for a message: "a MatrixState", "a list of 3", "None"."""
    if value is None:
        return "None"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)}"
    return f"a {type(value).__name__}"


def _fmt(dims: tuple) -> str:
    return "(" + ", ".join("*" if d is None else str(d) for d in dims) + ("," if len(dims) == 1 else "") + ")"


def _leaves(value: Any, spec: Any, path: str, fail: Callable[[str], None], out: list) -> None:
    """Walk ``value`` beside its ``spec``: the kind of every part, then collect (path, tensor, Shape)."""
    if isinstance(spec, Shape):
        if value is None and spec.optional:
            return
        if not torch.is_tensor(value):
            fail(f"{path} must be a tensor, got {_a(value)}")
        out.append((path, value, spec))
    elif isinstance(spec, MemoryState):
        if type(value) is not type(spec):
            fail(f"{path} must be a {type(spec).__name__}, got {_a(value)}")
        for field, part in vars(spec).items():          # a spec's fields, in order
            _leaves(getattr(value, field), part, f"{path}.{field}", fail, out)
    elif isinstance(spec, list):
        if not isinstance(value, list) or len(value) != len(spec):
            kind = f" {type(spec[0]).__name__}s" if spec and isinstance(spec[0], MemoryState) else ""
            fail(f"{path} must be a list of {len(spec)}{kind}, got {_a(value)}")
        for i, (v, s) in enumerate(zip(value, spec)):
            _leaves(v, s, f"{path}[{i}]", fail, out)
    elif spec is None:
        if value is not None:
            fail(f"{path} must be None, got {_a(value)}")
    elif isinstance(value, bool) or not isinstance(value, int) or value < 0:      # a clock: tokens written
        fail(f"{path} must be an int >= 0, got {value!r}")


def check_state(state: Any, spec: Any, owner: str, *, device: torch.device, dtype: torch.dtype | None,
                name: str = "state", fresh: bool = True) -> None:
    """Raise one clear, one-line ValueError unless ``owner`` can carry on from ``state``.

    ``spec`` is what ``owner`` expects for this input (its ``state_spec``). Checked in this order,
    the first mismatch reported with the part of the state it is in: the *kind* (the state's
    class, list lengths, which fields are set), the dims the configuration fixes (a state of
    another width, head count or depth), the batch, the ``device`` and, unless ``dtype`` is None
    (autocast), the dtype. Metadata only, never a value: no data-dependent branch, so
    ``torch.compile`` traces it into the graph as nothing. ``fresh=False`` where None is no state.
    """
    def fail(problem: str, todo: str = f"pass the state {owner} returned") -> None:
        raise ValueError(f"{problem}: {todo}" + (", or pass None to start fresh." if fresh else "."))

    def whole(call: str) -> str:     # the call that moves or casts every tensor of the state
        return f"[s.{call} for s in {name}]" if isinstance(state, list) else f"{name}.{call}"

    leaves: list[tuple[str, Tensor, Shape]] = []
    _leaves(state, spec, name, fail, leaves)
    mismatch = False                            # the usual case first: every tensor exactly as expected
    for _, t, s in leaves:
        mismatch = mismatch or (t.shape != (*s.head, *s.batch, *s.tail) or t.device != device
                                or (dtype is not None and not s.cast and t.dtype != dtype))
    if not mismatch:
        return
    for path, t, s in leaves:                   # the dims fixed by the configuration, before and after the batch
        n_head, n_tail = len(s.head), len(s.tail)
        fits = t.dim() >= n_head + n_tail and tuple(t.shape[:n_head]) == s.head
        for want, got in zip(s.tail, t.shape[t.dim() - n_tail:] if fits else ()):
            fits = fits and (want is None or want == got)
        if not fits:
            want = (*s.head, *s.batch, *s.tail)
            fail(f"{path} has shape {_fmt(tuple(t.shape))} but {owner} expects {_fmt(want)} "
                 "(a state of another width or configuration)")
    for path, t, s in leaves:                   # the batch: the dims between
        got = tuple(t.shape[len(s.head):t.dim() - len(s.tail)])
        if got != s.batch:
            if len(s.batch) == 1 and len(got) == 1 and got[0] % s.per_sequence == 0:
                was, now = got[0] // s.per_sequence, s.batch[0] // s.per_sequence
            else:
                was, now = f"dims {got}", f"dims {s.batch}"
            fail(f"{name} was built for batch {was}, but the input has batch {now}",
                 f"carry the state of the same batch of sequences into {owner}")
    for path, t, _ in leaves:
        if t.device != device:
            fail(f"{path} is on {t.device} but {owner} runs on {device}",
                 f"move the state with {whole(f'to({str(device)!r})')}")
    for path, t, s in leaves:
        if dtype is not None and not s.cast and t.dtype != dtype:
            fail(f"{path} has dtype {t.dtype} but {owner} computes in {dtype}",
                 f"cast the state with {whole(f'to(dtype={dtype})')}")
