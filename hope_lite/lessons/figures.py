"""Every chapter's static preview PNGs, and ``python -m hope_lite.lessons.figures --out figures``.

The notebooks (and the README) link a PNG of every figure and of every explorer at its start
values, so that a reader without a kernel still sees them. Each chapter's ``figures`` module keeps
a ``FIGURES`` registry, file name -> a function of no arguments that draws it; this module
collects them (:func:`all_figures`) and writes them (``make figures`` runs the command line)::

    python -m hope_lite.lessons.figures --out figures                    # every figure
    python -m hope_lite.lessons.figures --only 03-landscape.png,04-needle.png

Files are named ``NN-slug.png`` after the notebook that shows them. Every figure is seeded and
matplotlib's are written with fixed metadata, so the same inputs give byte-identical files. A
plotly figure (:mod:`.interactive`) is drawn by plotly.js in headless Chromium
(:func:`.interactive.write_pngs`): that needs Debian's chromium and playwright
(``requirements-test.txt``).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Any, Callable

from .interactive import is_plotly, write_pngs

__all__ = ["CHAPTERS", "all_figures", "main"]

#: the chapter packages, in reading order; each has a ``figures`` module with a ``FIGURES`` registry
CHAPTERS = ("ch00_levels", "ch01_associative_memory", "ch02_nested_optimization", "ch03_deep_optimizers",
            "ch04_titans", "ch05_self_modifying_titans", "ch06_continuum_memory", "ch07_hope", "ch08_paper_claims",
            "ch09_memory_benchmarks")


def all_figures() -> dict[str, Callable[[], Any]]:
    """Every chapter's static figures: file name -> a function that draws it (a closed matplotlib Figure or a plotly Figure)."""
    figures: dict[str, Callable[[], Any]] = {}
    for chapter in CHAPTERS:
        figures.update(importlib.import_module(f"{__package__}.{chapter}.figures").FIGURES)
    return figures


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m hope_lite.lessons.figures",
                                description="Regenerate the static preview PNGs of the notebooks.")
    p.add_argument("--out", default="figures", help="output folder (default: figures)")
    p.add_argument("--only", default="", help="comma-separated subset of file names")
    p.add_argument("--dpi", type=int, default=110)
    args = p.parse_args(argv)
    import matplotlib
    import torch

    matplotlib.use("Agg")
    torch.set_num_threads(1)  # tiny tensors: one thread is faster and steadier
    figures = all_figures()
    wanted = [s.strip() for s in args.only.split(",") if s.strip()] or list(figures)
    unknown = [w for w in wanted if w not in figures]
    if unknown:
        p.error(f"unknown figure(s) {unknown}; choose from {list(figures)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    interactive = {}
    for name in wanted:
        fig = figures[name]()
        path = out / name
        if is_plotly(fig):              # drawn by plotly.js in Chromium, all in one browser, below
            interactive[path] = fig
            continue
        # fixed metadata: the same inputs give byte-identical files
        fig.savefig(path, dpi=args.dpi, metadata={"Software": None})
        print(f"{path}  {path.stat().st_size / 1024:.0f} KB")
    if interactive:
        write_pngs(interactive)
        for path in interactive:
            print(f"{path}  {path.stat().st_size / 1024:.0f} KB  (plotly, drawn in Chromium)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
