"""Nested-learning bookkeeping: levels, who declares them, and what actually updates when.

Nested Learning (docs/paper.md §2.1) orders the learnable components of a model by **update
frequency**: a component that updates more often sits at a faster level. Each level has its own
*context flow* (the stream it compresses), its own *objective*, and a *clock* that ticks either
per token (in-context memories) or per optimizer step (weights, momentum).

This module makes that literal:

* :class:`Level` — the declaration: name, clock, period, context flow, objective, update rule.
* A module or optimizer declares its levels by defining ``declared_levels() -> list[Level]``.
* :func:`levels_of` collects the levels of any model and optimizer, fastest first.
* :class:`UpdateRecorder` logs the update events that really happen while code runs; memories
  call :func:`record_update` when they write, and a watched optimizer logs each ``step()``.
  Diagrams and frequency widgets are drawn from these records, never by hand.

Introduced in notebook 00 (the level diagram) and 01 (recorded memory writes).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Sequence

import numpy as np
import torch

__all__ = ["Level", "levels_of", "describe_levels", "UpdateRecorder", "UpdateEvents", "record_update",
           "active_recorder"]

CLOCKS = ("tokens", "steps")


@dataclass(frozen=True)
class Level:
    """One level of a nested system (docs/paper.md §2.1, Def. 2-3).

    Args:
        name: short name of the component that updates, e.g. ``"memory"``.
        clock: ``"tokens"`` (updates inside a sequence, at test time too) or ``"steps"``
            (updates once per optimizer step, i.e. per batch during training).
        period: clock ticks between two updates (1 = every token / every step).
        context_flow: what the level compresses, e.g. ``"(k_t, v_t) pairs"`` or ``"gradients"``.
        objective: the internal objective whose gradient step is the update.
        update_rule: the update in one line, paper notation.
        owner: where it lives (module path in the model, or the optimizer's class name);
            filled in by :func:`levels_of`.
    """

    name: str
    clock: str
    period: int
    context_flow: str
    objective: str
    update_rule: str = ""
    owner: str = ""

    def __post_init__(self) -> None:
        if self.clock not in CLOCKS:
            raise ValueError(f"Level clock must be one of {CLOCKS}, got {self.clock!r}.")
        if not isinstance(self.period, int) or isinstance(self.period, bool) or self.period < 1:
            raise ValueError(f"Level period must be an int >= 1, got {self.period!r}.")

    @property
    def qualified_name(self) -> str:
        """``owner.name`` (or just ``name`` when the owner is the top object)."""
        return f"{self.owner}.{self.name}" if self.owner else self.name

    @property
    def frequency(self) -> float:
        """Updates per clock tick (Def. 2): 1 / period."""
        return 1.0 / self.period

    def sort_key(self) -> tuple[int, int]:
        """Faster levels first: token clocks before step clocks, then shorter periods."""
        return (CLOCKS.index(self.clock), self.period)


def _declared(obj: Any) -> list[Level]:
    fn = getattr(obj, "declared_levels", None)
    return list(fn()) if callable(fn) else []


def _optimizer_levels(optimizer: torch.optim.Optimizer) -> list[Level]:
    """Levels of an optimizer: its own declaration, or a reading of the standard torch ones."""
    declared = _declared(optimizer)
    if declared:
        return [replace(lv, owner=type(optimizer).__name__) for lv in declared]
    name = type(optimizer).__name__
    group = optimizer.param_groups[0] if optimizer.param_groups else {}
    if name == "SGD" and group.get("momentum", 0):
        return [Level("momentum", "steps", 1, "gradients g_i", "min_m -<m, g_i> + |m - m_i|^2/2eta",
                      "m <- beta m + g ; W <- W - lr m", owner=name)]
    if name in ("Adam", "AdamW", "NAdam", "RAdam", "Adamax"):
        return [Level("moments", "steps", 1, "gradients g_i and g_i^2",
                      "element-wise L2 regression of the gradient (docs/paper.md §3, App. B)",
                      "m <- b1 m + (1-b1) g ; v <- b2 v + (1-b2) g^2", owner=name)]
    return []


def levels_of(*objects: Any) -> list[Level]:
    """Collect the levels declared by models (``nn.Module``) and optimizers, fastest first.

    For a module every submodule's ``declared_levels()`` is collected with its path as owner,
    and the module's trainable parameters add the slowest level: weights updated by the outer
    optimizer once per step. Optimizer levels (momentum, moments, ...) sit just above the
    weights they feed, because the weights need their state (Def. 2's tie-break).

    >>> from hope_lite.memory import DeltaRuleMemory
    >>> [l.qualified_name for l in levels_of(DeltaRuleMemory(8, 8))]
    ['memory']
    """
    token_levels: list[Level] = []
    optimizer_levels: list[Level] = []
    weight_levels: list[Level] = []
    for obj in objects:
        if isinstance(obj, torch.nn.Module):
            for path, module in obj.named_modules():
                token_levels += [replace(lv, owner=path) for lv in _declared(module)]
            if any(p.requires_grad for p in obj.parameters()):
                weight_levels.append(Level(
                    "weights", "steps", 1, "training batches", "training loss (outer objective)",
                    "W <- W - lr * (optimizer output)", owner=type(obj).__name__))
        elif isinstance(obj, torch.optim.Optimizer):
            optimizer_levels += _optimizer_levels(obj)
        else:
            raise ValueError(
                f"levels_of takes nn.Module and torch.optim.Optimizer objects, got {type(obj).__name__}.")
    # stable sort keeps declaration order within equal keys: optimizer state before weights
    return sorted(token_levels + optimizer_levels + weight_levels, key=Level.sort_key)


# ---------------------------------------------------------------------------------------------
# Recording what actually updates


@dataclass
class UpdateEvents:
    """The update events of one level: clock times and (optionally) update magnitudes."""

    level: str
    clock: str
    times: list[np.ndarray] = field(default_factory=list)
    magnitudes: list[np.ndarray] = field(default_factory=list)

    def all_times(self) -> np.ndarray:
        return np.concatenate(self.times) if self.times else np.zeros(0, dtype=np.int64)

    def all_magnitudes(self) -> np.ndarray:
        return np.concatenate(self.magnitudes) if self.magnitudes else np.zeros(0)


_ACTIVE: list["UpdateRecorder"] = []


def active_recorder() -> "UpdateRecorder | None":
    """The innermost recorder in a ``with UpdateRecorder():`` block, or None."""
    return _ACTIVE[-1] if _ACTIVE else None


def record_update(source: Any, level: str, clock: str, times: Any, magnitudes: Any = None) -> None:
    """Log update events of ``source``'s level ``level`` if a recorder is active (else no cost).

    ``times`` are clock values (token positions in the stream, or optimizer step numbers);
    ``magnitudes`` (same length) say how large each update was, e.g. a norm of the write.
    """
    rec = active_recorder()
    if rec is not None:
        rec.log(source, level, clock, times, magnitudes)


class UpdateRecorder:
    """Context manager that logs every update event while code runs.

    >>> rec = UpdateRecorder(model)            # doctest: +SKIP
    >>> with rec:                              # doctest: +SKIP
    ...     y, state = model(q, k, v)
    >>> rec.counts()                           # doctest: +SKIP
    {'memory': 1024}

    Args:
        model: optional; names events by each module's path in it (like :func:`levels_of`).
        optimizers: optional; each ``step()`` of these is logged as an update of the weights
            level of ``model`` (and of the optimizer's state levels).
    """

    def __init__(self, model: torch.nn.Module | None = None,
                 optimizers: Sequence[torch.optim.Optimizer] = ()) -> None:
        if model is not None and not isinstance(model, torch.nn.Module):
            raise TypeError(f"UpdateRecorder(model=...) takes a torch.nn.Module or None, got {type(model).__name__} "
                            f"{model!r}; pass the model whose updates to record.")
        if isinstance(optimizers, torch.optim.Optimizer):
            optimizers = [optimizers]          # one optimizer given without a list: what was meant
        bad = [o for o in optimizers if not isinstance(o, torch.optim.Optimizer)]
        if bad:
            raise TypeError(f"UpdateRecorder(optimizers=...) takes a list of torch.optim.Optimizer, got "
                            f"{type(bad[0]).__name__} {bad[0]!r} in it.")
        self.events: dict[str, UpdateEvents] = {}
        self._paths = {id(m): p for p, m in model.named_modules()} if model is not None else {}
        self._weights_owner = type(model).__name__ if model is not None else "model"
        self._hooks = []
        self._steps = 0
        self._optimizers = list(optimizers)

    # -- context manager ------------------------------------------------------------------
    def __enter__(self) -> "UpdateRecorder":
        _ACTIVE.append(self)
        for opt in self._optimizers:
            self._hooks.append(opt.register_step_post_hook(self._on_step))
        return self

    def __exit__(self, *exc: object) -> None:
        _ACTIVE.remove(self)
        for h in self._hooks:
            h.remove()
        self._hooks.clear()

    def _on_step(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        self._steps += 1
        if not _declared(optimizer):  # hope_lite optimizers log their own (possibly slower) levels
            for lv in _optimizer_levels(optimizer):
                self._log_named(lv.qualified_name, "steps", [self._steps], None)
        self._log_named(f"{self._weights_owner}.weights", "steps", [self._steps], None)

    # -- logging --------------------------------------------------------------------------
    def name_of(self, source: Any, level: str) -> str:
        """The name :func:`levels_of` gives: module path in the model, or the optimizer's class."""
        if isinstance(source, torch.optim.Optimizer):
            return f"{type(source).__name__}.{level}"
        path = self._paths.get(id(source), "")
        return f"{path}.{level}" if path else level

    def log(self, source: Any, level: str, clock: str, times: Any, magnitudes: Any = None) -> None:
        self._log_named(self.name_of(source, level), clock, times, magnitudes)

    def _log_named(self, name: str, clock: str, times: Any, magnitudes: Any) -> None:
        t = np.asarray(torch.as_tensor(times).detach().cpu(), dtype=np.int64).reshape(-1)
        ev = self.events.setdefault(name, UpdateEvents(name, clock))
        ev.times.append(t)
        if magnitudes is not None:
            m = np.asarray(torch.as_tensor(magnitudes).detach().float().cpu(), dtype=np.float64).reshape(-1)
            if m.shape != t.shape:
                raise ValueError(f"record_update: {m.size} magnitudes for {t.size} times in level {name!r}.")
            ev.magnitudes.append(m)

    # -- reading --------------------------------------------------------------------------
    def levels(self) -> list[str]:
        return list(self.events)

    def times(self, level: str) -> np.ndarray:
        """All clock times at which ``level`` updated, in the order they happened."""
        if level not in self.events:
            raise ValueError(f"No events for level {level!r}; recorded levels: {self.levels()}.")
        return self.events[level].all_times()

    def magnitudes(self, level: str) -> np.ndarray:
        if level not in self.events:
            raise ValueError(f"No events for level {level!r}; recorded levels: {self.levels()}.")
        return self.events[level].all_magnitudes()

    def counts(self) -> dict[str, int]:
        return {name: int(ev.all_times().size) for name, ev in self.events.items()}

    def clear(self) -> None:
        self.events.clear()
        self._steps = 0


def describe_levels(levels: Iterable[Level]) -> str:
    """A plain-text table of levels, fastest first (used by notebooks and ``print``)."""
    rows = [("level", "clock", "period", "context flow", "objective")]
    rows += [(lv.qualified_name, lv.clock, str(lv.period), lv.context_flow, lv.objective) for lv in levels]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)
