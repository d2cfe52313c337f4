"""Figures of notebook 00 (index): the level diagram of a model + optimizer, fastest level on top.

:func:`render_levels` draws what :func:`hope_lite.levels.levels_of` declares; chapters 01 and 02
use it too. :data:`FIGURES` maps the static preview ``figures/00-levels.png`` to the function that
draws it.
"""

from __future__ import annotations

import textwrap
from typing import Any, Callable, Sequence

import torch

from hope_lite import Level, levels_of
from hope_lite.layers import MemoryBlock

from ..plotting import finish, subplots
from ..teaching import seeded

__all__ = ["render_levels", "index_levels", "FIGURES"]


def _describe_clock(level: Level) -> str:
    unit = "token" if level.clock == "tokens" else "optimizer step"
    if level.period == 1:
        return f"updates every {unit}   (f = 1 per {level.clock[:-1]})"
    return f"updates every {level.period} {unit}s   (f = 1/{level.period} per {level.clock[:-1]})"


def render_levels(levels: Sequence[Level], *, title: str | None = None):
    """The nested-level diagram of a model + optimizer, fastest level on top (notebooks 00 to 02).

    Draw it from real objects: ``render_levels(levels_of(model, optimizer))``. Each box shows the
    level's name, its clock and period, its context flow, its objective and its update rule.
    Static preview: ``figures/00-levels.png``.
    """
    levels = list(levels)
    if not levels:
        raise ValueError("render_levels needs at least one Level; levels_of(model, optimizer) found none.")
    if not all(isinstance(lv, Level) for lv in levels):
        raise ValueError("render_levels takes hope_lite.levels.Level objects, e.g. from levels_of(...).")
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    box_h, gap = 1.1, 0.35
    height = len(levels) * (box_h + gap) + 0.3
    fig, ax = subplots(9.0, 0.9 + 0.95 * height)
    ax.set_xlim(0, 10)
    ax.set_ylim(0, height)
    ax.axis("off")
    fill = {"tokens": "#e8f1fb", "steps": "#fdf0e2"}
    edge = {"tokens": "#3b78c2", "steps": "#d9822b"}
    wrap = lambda s, w: "\n".join(textwrap.wrap(s, w)) if s else "—"  # noqa: E731
    for i, lv in enumerate(levels):
        top = height - 0.15 - i * (box_h + gap)
        y0 = top - box_h
        ax.add_patch(FancyBboxPatch((1.0, y0), 8.9, box_h, boxstyle="round,pad=0.02,rounding_size=0.12",
                                    fc=fill[lv.clock], ec=edge[lv.clock], lw=1.5))
        ax.text(1.2, top - 0.12, f"level {i + 1}: {lv.qualified_name}", fontsize=11, fontweight="bold",
                va="top", ha="left")
        ax.text(9.75, top - 0.12, _describe_clock(lv),
                fontsize=9, va="top", ha="right", color=edge[lv.clock])
        body = (f"context flow: {wrap(lv.context_flow, 90)}\n"
                f"objective:     {wrap(lv.objective, 90)}\n"
                f"update:        {wrap(lv.update_rule, 90)}")
        ax.text(1.2, top - 0.45, body, fontsize=8.5, va="top", ha="left", family="monospace", linespacing=1.35)
        if i < len(levels) - 1:
            ax.add_patch(FancyArrowPatch((5.45, y0 - 0.02), (5.45, y0 - gap + 0.02), arrowstyle="-|>",
                                         mutation_scale=12, color="0.45", lw=1))
    ax.add_patch(FancyArrowPatch((0.45, height - 0.2), (0.45, 0.2), arrowstyle="-|>", mutation_scale=16,
                                 color="0.3", lw=1.5))
    ax.text(0.25, height / 2, "update frequency: faster → slower", rotation=90, va="center", ha="center",
            fontsize=9, color="0.3")
    ax.set_title(title or "Levels of a nested system, fastest first (from levels_of)", fontsize=11)
    fig.subplots_adjust(left=0.01, right=0.99, top=0.93, bottom=0.01)
    return finish(fig)


def index_levels() -> list[Level]:
    """The example of notebook 00: a Titans memory block trained by SGD with momentum."""
    with seeded(0):
        block = MemoryBlock("titans", width=32, heads=2, chunk_size=16)
    optimizer = torch.optim.SGD(block.parameters(), lr=0.01, momentum=0.9)
    return levels_of(block, optimizer)


FIGURES: dict[str, Callable[[], Any]] = {
    "00-levels.png": lambda: render_levels(index_levels(),
                                           title="Levels of a Titans memory block + SGD(momentum=0.9)"),
}
