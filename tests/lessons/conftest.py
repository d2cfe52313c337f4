"""Fixtures of the teaching-layer tests (figures, explorers, chapter experiments)."""

from __future__ import annotations

import matplotlib
import pytest

matplotlib.use("Agg")  # figures are rendered off-screen in every test


@pytest.fixture
def no_open_figures():
    """A check that every figure a render function made was closed again (no pyplot build-up)."""
    import matplotlib.pyplot as plt

    return lambda: plt.get_fignums() == []


@pytest.fixture
def chromium():
    """The Chromium that draws plotly previews (hope_lite.lessons.interactive.write_pngs); without it the test
    skips, or fails under HOPE_LITE_REQUIRE_BROWSER=1 (as in CI)."""
    import os

    from hope_lite.lessons.interactive import chromium_path

    path = chromium_path()
    if not path.is_file():
        if os.environ.get("HOPE_LITE_REQUIRE_BROWSER", "0") not in ("", "0"):
            pytest.fail(f"no Chromium at {path} to draw the plotly previews (apt-get install chromium).")
        pytest.skip(f"no Chromium at {path}: the plotly previews are drawn in it")
    return path
