"""hope_lite.lessons.figures: every chapter's registry and ``python -m hope_lite.lessons.figures``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hope_lite.lessons import figures

ROOT = Path(__file__).resolve().parents[2]


def test_cli_writes_small_deterministic_pngs(tmp_path):
    assert figures.main(["--out", str(tmp_path), "--only", "00-levels.png,01-retrieval-explorer.png"]) == 0
    first = {p.name: p.read_bytes() for p in tmp_path.glob("*.png")}
    assert set(first) == {"00-levels.png", "01-retrieval-explorer.png"}
    assert all(len(b) < 300 * 1024 for b in first.values())
    figures.main(["--out", str(tmp_path), "--only", "01-retrieval-explorer.png"])
    assert (tmp_path / "01-retrieval-explorer.png").read_bytes() == first["01-retrieval-explorer.png"]
    with pytest.raises(SystemExit):
        figures.main(["--out", str(tmp_path), "--only", "nope.png"])


def test_plotly_previews_are_drawn_by_plotly_js_the_same_twice(tmp_path, chromium):
    """An interactive figure's preview: plotly.js draws it in headless Chromium at the figure's size."""
    from hope_lite.lessons.ch04_titans import experiments as et
    from hope_lite.lessons.ch04_titans.figures import render_shift_run
    from hope_lite.lessons.interactive import write_pngs

    fig = render_shift_run(et.shift_run(n_before=16, n_after=16))
    write_pngs({tmp_path / "a.png": fig, tmp_path / "b.png": fig})
    a, b = (tmp_path / "a.png").read_bytes(), (tmp_path / "b.png").read_bytes()
    assert a[:8] == b"\x89PNG\r\n\x1a\n" and a == b and len(a) < 300 * 1024
    width, height = int.from_bytes(a[16:20], "big"), int.from_bytes(a[20:24], "big")      # the IHDR chunk
    assert (width, height) == (fig.layout.width, fig.layout.height)
    with pytest.raises(FileNotFoundError, match="HOPE_LITE_CHROMIUM"):
        write_pngs({tmp_path / "c.png": fig}, chromium=str(tmp_path / "no-chromium"))
    with pytest.raises(TypeError, match="plotly Figure"):
        write_pngs({tmp_path / "c.png": object()})


def test_every_figure_has_a_notebook_prefix_and_a_file_in_figures():
    names = figures.all_figures()
    for name in names:
        assert name[:2].isdigit() and name[2] == "-" and name.endswith(".png"), name
    # and the benchmark's scaling figure, drawn by `python -m hope_lite.bench --models ... --figure` (README)
    assert {p.name for p in (ROOT / "figures").glob("*.png")} == set(names) | {"bench-scaling.png"}
    assert [name[:2] for name in names] == sorted(name[:2] for name in names)      # chapter by chapter


def test_the_module_runs_as_a_command():
    done = subprocess.run([sys.executable, "-m", "hope_lite.lessons.figures", "--help"], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0 and "--out" in done.stdout


def test_the_readme_names_exactly_the_plotly_figures():
    """README's "Interactive figures" lists the render functions drawn with plotly: each does (it builds its figure
    with interactive.new_figure), and no other render function of the lessons does."""
    import importlib
    import inspect
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    paragraph = readme[readme.index("**Interactive figures.**"):].split("\n\n", 1)[0]
    named = set(re.findall(r"`(render_\w+)`", paragraph))
    drawn_with_plotly = set()
    for chapter in figures.CHAPTERS:
        module = importlib.import_module(f"hope_lite.lessons.{chapter}.figures")
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("render_") and fn.__module__ == module.__name__ and "new_figure(" in inspect.getsource(fn):
                drawn_with_plotly.add(name)
    assert named == drawn_with_plotly == {"render_landscape", "render_shift_run", "render_token_timeline",
                                          "render_level_stream"}
