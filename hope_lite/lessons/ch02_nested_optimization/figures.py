"""Figures of notebook 02 (nested optimization): pure functions that return a matplotlib Figure.

:func:`render_momentum_memory` draws momentum's short memory (§2); :func:`render_step_timeline`
draws the updates an :class:`~hope_lite.levels.UpdateRecorder` saw during a training run, every
level on one axis of optimizer steps (§4-5; chapter 03 uses it too). The level diagrams come from
:func:`..ch00_levels.figures.render_levels`. :data:`FIGURES` maps every static preview the
notebook links (``figures/02-*.png``) to the function that draws it.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

from hope_lite import Level, levels_of

from .._args import require_number
from ..ch00_levels.figures import render_levels
from ..plotting import finish, subplots
from ..teaching import seeded
from .experiments import (NESTED_EXPLORER_DEFAULTS, NestedToyModel, make_nested_optimizer, momentum_horizon,
                          momentum_impulse_weights, momentum_share, nested_training_run, step_timeline)

# render_levels is chapter 00's; the chapter draws its level diagrams with it, so it is importable from here too
__all__ = ["render_momentum_memory", "render_step_timeline", "render_levels", "linear_attention_levels", "FIGURES"]


def render_momentum_memory(beta: float = 0.9, *, n: int = 60, betas: Sequence[float] = (0.5, 0.9, 0.99)):
    """Momentum is a short memory of gradients (notebook 02, §2; ``02-momentum-memory.png``).

    Left: the weight of each past gradient in a real ``MomentumSGD`` (measured with one-hot
    gradients, :func:`momentum_impulse_weights`), as a share of the total, with the gradients that
    carry 50 % and 99 % of it marked. Right: the share carried by the last k gradients for several beta.
    """
    beta = require_number("beta", beta, 0.0, 1.0, high_open=True)
    measured = momentum_impulse_weights(beta, max(n, 400))
    share = measured / measured.sum()
    k50, k99 = momentum_horizon(beta, 0.5), momentum_horizon(beta, 0.99)
    fig, (ax, ax2) = subplots(10.0, 3.7, ncols=2, layout="constrained",
                                 gridspec_kw={"width_ratios": [1.35, 1]})
    j = np.arange(n)
    color = np.where(j < k50, "#08519c", np.where(j < k99, "#6baed6", "#c6dbef"))
    ax.bar(j, 100 * share[:n], width=0.85, color=color)
    ax.plot(j, 100 * (1 - beta) * beta ** j, color="black", lw=1, ls="--", label=r"$(1-\beta)\,\beta^j$")
    ax.set_xlabel("gradient j steps back (0 = the current gradient)")
    ax.set_ylabel("share of the momentum's weight (%)")
    ax.set_title(f"β = {beta:g}: the last {k50} gradients carry 50 %, the last {k99} carry 99 %",
                 fontsize=10)
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(color="#08519c", label=f"last {k50}: ≥ 50 %"),
                       Patch(color="#6baed6", label=f"last {k99}: ≥ 99 %"),
                       Patch(color="#c6dbef", label="the rest: < 1 %"),
                       ax.get_lines()[0]], fontsize=8, loc="upper right")
    ax.set_xlim(-0.7, n - 0.3)
    ax.grid(axis="y", alpha=0.3)
    ks = np.unique(np.geomspace(1, 400, 120).round().astype(int))
    for b, ls in zip(betas, ["-", "--", ":", "-."]):
        ax2.plot(ks, [100 * momentum_share(float(b), int(k)) for k in ks], lw=1.8, ls=ls,
                 color="#08519c" if b == beta else "0.45", label=f"β = {b:g}")
    for level, k in ((50, k50), (99, k99)):
        ax2.axhline(level, color="0.7", lw=0.8)
        ax2.plot([k], [100 * momentum_share(beta, k)], "o", color="#08519c", ms=5)
        ax2.annotate(f"k = {k}", (k, level), xytext=(6, -14), textcoords="offset points", fontsize=8,
                     color="#08519c")
    ax2.set_xscale("log")
    ax2.set_xlim(1, 400)
    ax2.set_ylim(0, 103)
    ax2.set_xlabel("k most recent gradients (log scale)")
    ax2.set_ylabel("share they carry (%)")
    ax2.set_title(r"share of the last k gradients: $1 - \beta^k$", fontsize=10)
    ax2.legend(fontsize=8, loc="lower right")
    ax2.grid(alpha=0.3)
    return finish(fig)


def _nested_every(gap: int | None, clock: str) -> str:
    unit = "token" if clock == "tokens" else "step"
    if gap is None:
        return "—"
    return f"every {unit}" if gap == 1 else f"every {gap} {unit}s"


def render_step_timeline(source: Any, levels: Sequence[Level] | None = None, *,
                         tokens_per_step: int | None = None, title: str | None = None):
    """The recorded updates of every level on one time axis, fastest level on top (notebook 02, §4-5).

    Built only from recorded events: ``source`` is an :class:`~hope_lite.levels.UpdateRecorder`
    after a run (or the result of :func:`.experiments.step_timeline`). One row per level, one tick per
    recorded update (each tick is one entry of ``recorder.times(level)``); token-clock updates are
    drawn inside the step whose forward pass made them. ``levels`` (from ``levels_of(model,
    optimizer)``) orders the rows and adds each level's *declared* period next to the *recorded*
    one; without it rows are ordered by clock, then by how often they updated.
    Static preview: ``figures/02-update-timeline.png``.
    """
    data = step_timeline(source, tokens_per_step=tokens_per_step) if hasattr(source, "events") else source
    if not isinstance(data, dict) or "__meta__" not in data:
        raise ValueError("render_step_timeline takes an UpdateRecorder or the dict of step_timeline(...).")
    meta = data["__meta__"]
    names = [n for n in data if n != "__meta__"]
    if levels is not None and not all(isinstance(lv, Level) for lv in levels):
        raise ValueError("levels must be hope_lite.levels.Level objects, e.g. from levels_of(model, optimizer).")
    declared = {lv.qualified_name: lv for lv in (levels or [])}
    if declared:
        order = [n for n in declared] + [n for n in names if n not in declared]
    else:
        order = sorted(names, key=lambda n: (data[n]["clock"] != "tokens", -data[n]["count"]))
    if not order:
        raise ValueError("nothing to draw: the recorder holds no events and no levels were given.")
    n_steps = max(int(meta["steps"]), max((float(np.max(data[n]["x"])) for n in names if data[n]["count"]),
                                          default=1.0))
    n_steps = int(math.ceil(n_steps))
    rows = len(order)
    height = 1.05 + 0.6 * rows
    fig, ax = subplots(10.0, height)
    fig.subplots_adjust(left=0.19, right=0.755, top=1 - 0.38 / height, bottom=0.6 / height)
    edge = {"tokens": "#3b78c2", "steps": "#d9822b"}
    for s in range(n_steps):
        if s % 2:
            ax.axvspan(s, s + 1, color="0.94", lw=0, zorder=0)
    for row, name in enumerate(order):
        y = rows - 1 - row
        entry = data.get(name)
        lv = declared.get(name)
        clock = entry["clock"] if entry else lv.clock
        x = entry["x"] if entry else np.zeros(0)
        coll = ax.eventplot([x], lineoffsets=[y], linelengths=0.62, colors=[edge[clock]],
                            linewidths=1.0 if clock == "tokens" else 2.2)[0]
        coll.set_label(name)
        count = entry["count"] if entry else 0
        recorded = _nested_every(entry["gap"], clock) if entry else "—"
        note = f"{count} update{'s' if count != 1 else ''}, recorded {recorded}"
        if lv is not None:
            want = _nested_every(lv.period, lv.clock)
            ok = entry is not None and entry["gap"] == lv.period
            note += f"\ndeclared {want}" + ("  ✓" if ok else ("" if count < 2 else "  ✗"))
        ax.text(1.015, y, note, transform=ax.get_yaxis_transform(), va="center", ha="left", fontsize=8.5,
                color="0.2")

    def label(name: str) -> str:
        clock = data[name]["clock"] if name in data else declared[name].clock
        owner, _, level = name.rpartition(".")
        return f"{level}\n{owner + ' · ' if owner else ''}{clock} clock"

    ax.set_yticks(range(rows))
    ax.set_yticklabels([label(n) for n in reversed(order)], fontsize=8.5)
    ax.set_ylim(-0.6, rows - 0.4)
    ax.set_xlim(0, n_steps + 0.12)
    ax.set_xticks(range(0, n_steps + 1))
    ax.tick_params(axis="x", labelsize=8)
    ax.set_xlabel(f"optimizer step   (a token-clock update at position t of the step's forward pass is drawn at "
                  f"step − 1 + (t+1)/{meta['tokens_per_step']})", fontsize=8.5)
    ax.set_title(title or "Recorded updates of every level (UpdateRecorder), fastest level on top", fontsize=10)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return finish(fig)


def _nested_timeline_figure(title: str | None = None, **settings: Any):
    run = nested_training_run(**settings)
    return render_step_timeline(run["recorder"], run["levels"], title=title)


def linear_attention_levels() -> list[Level]:
    """The example of notebook 02, §3: a Hebbian (linear-attention) block + head, trained by MomentumSGD."""
    with seeded(0):
        model = NestedToyModel("hebbian", 16, 2, 4)
    return levels_of(model, make_nested_optimizer("MomentumSGD", model.parameters()))


FIGURES: dict[str, Callable[[], Any]] = {
    "02-momentum-memory.png": lambda: render_momentum_memory(),
    "02-levels-linear-attention.png": lambda: render_levels(
        linear_attention_levels(), title="Linear attention (Hebbian memory) trained by MomentumSGD: three levels"),
    "02-update-timeline.png": lambda: _nested_timeline_figure(
        optimizer="M3", memory="titans", period=4, chunk=4, steps=12,
        title="M3 (slow period 4) training a Titans memory block (chunk 4): recorded updates"),
    "02-nested-levels-explorer.png": lambda: _nested_timeline_figure(
        **NESTED_EXPLORER_DEFAULTS, title="explore_nested_levels() at its start values: DeepMomentum (period 3), "
                                          "Titans memory (chunk 8)"),
}
