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
