"""The explorers in a real browser: Voila serves a one-cell notebook showing the widget, headless
Chromium moves a slider, and the widget's printed line must change. Screenshots (before / after)
land in ``test-artifacts/browser/``.

Run alone:  .venv/bin/python -m pytest tests/browser -m browser -ra   (or `make test-browser`)
"""

import re

import pytest

pytestmark = pytest.mark.browser

NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


def test_associative_memory_widget_reacts_to_slider(widget_notebook):
    """Chapter 01: the printed "retrieval error" changes when a slider moves."""
    retrieval_error = rf"retrieval error[^0-9+\-.\n]*({NUMBER})"
    wp = widget_notebook("from hope_lite.widgets import explore_associative_memory\nexplore_associative_memory()",
                         name="01-widget")
    before = wp.wait_for_output(retrieval_error, timeout_s=120)
    wp.screenshot("01-widget-before.png")
    after = wp.change_sliders_until_output_changes(before, timeout_s=60)
    shot = wp.screenshot("01-widget.png")
    assert after != before
    assert re.search(retrieval_error, after, re.I), f"no 'retrieval error <number>' in:\n{after}"
    assert shot.is_file()
    assert not [m for m in wp.console if m.startswith("pageerror")], wp.console


def test_nested_levels_widget_reacts_to_slider(widget_notebook):
    """Chapter 02, the per-level update-frequency explorer: the recorded update counts change."""
    recorded = r"recorded updates: (.*?)\|"
    wp = widget_notebook("from hope_lite.widgets import explore_nested_levels\nexplore_nested_levels()",
                         name="02-widget")
    before = wp.wait_for_output(recorded, timeout_s=120)
    wp.screenshot("02-widget-before.png")
    after = wp.change_sliders_until_output_changes(before, timeout_s=60)
    shot = wp.screenshot("02-widget.png")
    assert re.search(recorded, after), f"no 'recorded updates: ...' in:\n{after}"
    assert re.search(recorded, before).group(1) != re.search(recorded, after).group(1)
    assert shot.is_file()
    assert not [m for m in wp.console if m.startswith("pageerror")], wp.console
