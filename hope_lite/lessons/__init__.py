"""The teaching layer of hope_lite: the code behind the notebooks, one subpackage per chapter.

The core (``hope_lite.memory``, ``.titans``, ``.cms``, ``.optim``, ``.models``, ``.train``,
``.data``, ...) is what a researcher imports; it needs torch and numpy only and never imports
this package. The lessons add what a chapter needs on top of it: seeded experiments that return
plain numbers, pure figure functions (matplotlib, or plotly where hovering helps; imported on demand) and
ipywidgets explorers.

    teaching    check, expect, fast_mode, pick, pick_device, seed_everything, seeded: what every notebook uses
    plotting    the matplotlib helpers every chapter's figures share
    interactive the plotly figures: their look, how an explorer, the book and a preview PNG show them
    explorer    the base of every ipywidgets explorer (imports ipywidgets)
    links       Colab/Binder badges, the notebooks' absolute links, where a fresh Jupyter installs hope_lite from
    fit         the one small training loop the chapters share
    task_training   a fresh model trained and scored on a synthetic token task (chapters 08, 09)
    parallel    many runs at once, one process and one torch thread each (chapters 08, 09)
    results     finding, reading and writing the committed results files
    figures     every chapter's static preview PNGs: ``python -m hope_lite.lessons.figures --out figures``

    ch00_levels, ch01_associative_memory, ch02_nested_optimization, ch03_deep_optimizers,
    ch04_titans, ch05_self_modifying_titans, ch06_continuum_memory, ch07_hope, ch08_paper_claims,
    ch09_memory_benchmarks
                one package per notebook, with the modules it needs of ``experiments``
                (the numbers), ``figures`` (draws them) and ``explorer`` (the widget)

A notebook starts with ``from hope_lite.lessons import check, fast_mode, pick, seed_everything``; importing the
package flushes denormal floats to zero on the CPU (:mod:`hope_lite.denormals`).
"""

from hope_lite.denormals import flush_denormals

from .teaching import check, expect, fast_mode, pick, pick_device, seed_everything, seeded, strict_checks

# Every notebook imports this package in its setup cell, before its first torch operation, so that torch's
# worker threads inherit the flag: the memory models' backward passes make denormal floats (hope_lite.denormals).
flush_denormals()

__all__ = ["check", "expect", "fast_mode", "pick", "pick_device", "seed_everything", "seeded", "strict_checks"]
