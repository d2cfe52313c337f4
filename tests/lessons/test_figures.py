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


def test_every_figure_has_a_notebook_prefix_and_a_file_in_figures():
    names = figures.all_figures()
    for name in names:
        assert name[:2].isdigit() and name[2] == "-" and name.endswith(".png"), name
    assert {p.name for p in (ROOT / "figures").glob("*.png")} == set(names)
    assert [name[:2] for name in names] == sorted(name[:2] for name in names)      # chapter by chapter


def test_the_module_runs_as_a_command():
    done = subprocess.run([sys.executable, "-m", "hope_lite.lessons.figures", "--help"], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0 and "--out" in done.stdout
