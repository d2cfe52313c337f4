"""The explorers in a real browser: Voila serves a one-cell notebook showing the widget, headless
Chromium moves a slider, and the widget's printed line must change. Screenshots (before / after)
land in ``test-artifacts/browser/``.

Run alone:  .venv/bin/python -m pytest tests/browser -m browser -ra   (or `make test-browser`)
"""

import re

import pytest

pytestmark = pytest.mark.browser

NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"

#: where each explorer lives: its chapter's ``explorer`` module
EXPLORERS = {
    "explore_associative_memory": "hope_lite.lessons.ch01_associative_memory.explorer",
    "explore_nested_levels": "hope_lite.lessons.ch02_nested_optimization.explorer",
    "explore_cms_timeline": "hope_lite.lessons.ch06_continuum_memory.explorer",
    "explore_hope_levels": "hope_lite.lessons.ch07_hope.explorer",
    "explore_spectrum": "hope_lite.lessons.ch09_memory_benchmarks.explorer",
}


def slide_and_compare(widget_notebook, explorer: str, name: str, pattern: str) -> tuple[str, str]:
    """Serve ``<chapter>.explorer.<explorer>()``, move sliders until the text changes; (before, after)."""
    wp = widget_notebook(f"from {EXPLORERS[explorer]} import {explorer}\n{explorer}()", name=name)
    before = wp.wait_for_output(pattern, timeout_s=120)
    wp.screenshot(f"{name}-before.png")
    after = wp.change_sliders_until_output_changes(before, timeout_s=60)
    assert wp.screenshot(f"{name}.png").is_file()
    assert re.search(pattern, after, re.I), f"the changed output lost its {pattern!r} line:\n{after}"
    assert not [m for m in wp.console if m.startswith("pageerror")], wp.console
    return before, after


def test_associative_memory_widget_reacts_to_slider(widget_notebook):
    """Chapter 01: the printed "retrieval error" changes when a slider moves."""
    pattern = rf"retrieval error[^0-9+\-.\n]*({NUMBER})"
    before, after = slide_and_compare(widget_notebook, "explore_associative_memory", "01-widget", pattern)
    assert before != after


def test_nested_levels_widget_reacts_to_slider(widget_notebook):
    """Chapter 02, the per-level update-frequency explorer: the recorded update counts change."""
    pattern = r"recorded updates: (.*?)\|"
    before, after = slide_and_compare(widget_notebook, "explore_nested_levels", "02-widget", pattern)
    assert re.search(pattern, before).group(1) != re.search(pattern, after).group(1)


def test_cms_timeline_widget_reacts_to_period_slider(widget_notebook):
    """Chapter 06, the CMS spectrum explorer: the recorded updates per level change when a slider moves."""
    pattern = r"recorded updates per level: (.*?)\|"
    before, after = slide_and_compare(widget_notebook, "explore_cms_timeline", "06-widget", pattern)
    assert re.search(pattern, before).group(1) != re.search(pattern, after).group(1)


def test_hope_levels_widget_reads_more_of_the_stream_when_a_slider_moves(widget_notebook):
    """Chapter 07, every level of a whole HOPE model, one block on display (projector layout): moving a slider
    changes how much of the text was read and the recorded updates, and every level of every block still
    matches position // period; the block buttons switch the block shown, and the check still covers all levels."""
    pattern = r"read (\d+) of \d+ tokens"
    explorer = "explore_hope_levels"
    wp = widget_notebook(f"from {EXPLORERS[explorer]} import {explorer}\n{explorer}()", name="07-widget")
    before = wp.wait_for_output(pattern, timeout_s=120)
    wp.screenshot("07-widget-before.png")
    after = wp.change_sliders_until_output_changes(before, timeout_s=60)
    assert wp.screenshot("07-widget.png").is_file()
    assert re.search(pattern, before).group(1) != re.search(pattern, after).group(1)
    for text in (before, after):
        levels = re.search(r"for (\d+) of (\d+) levels \| showing block 0 \((\d+) levels\)", text)
        assert levels and levels.group(1) == levels.group(2), text
        assert int(levels.group(3)) < int(levels.group(2)), text          # one block of several on display
    wp.page.locator(".widget-toggle-button", has_text="block 1").click()
    switched = wp.wait_for_output_change(after, timeout_s=60)
    assert switched is not None, f"the output did not change after clicking 'block 1':\n{after}"
    assert wp.screenshot("07-widget-block1.png").is_file()
    levels = re.search(r"for (\d+) of (\d+) levels \| showing block 1 \((\d+) levels\)", switched)
    assert levels and levels.group(1) == levels.group(2), switched
    # the timeline is an interactive plotly figure: hovering an update's tick names its level, position and size
    tip = wp.hover_plotly_point()
    assert wp.screenshot("07-widget-hover.png").is_file()
    assert re.search(r"\(C=\d+\).*stream position \d+.*\|Δθ\| = " + NUMBER, tip, re.S), tip
    assert not [m for m in wp.console if m.startswith("pageerror")], wp.console
    assert re.search(pattern, switched).group(1) == re.search(pattern, after).group(1)   # the same stream
    assert not [m for m in wp.console if m.startswith("pageerror")], wp.console


def test_spectrum_widget_replays_another_seed_when_the_slider_moves(widget_notebook):
    """Chapter 09, the replay of the stream A | B | A level by level: moving the seed slider replays another
    stream, and the line still gives every level's updates per phase (the slowest level: none during B)."""
    pattern = r"seed (\d+): error on A"
    before, after = slide_and_compare(widget_notebook, "explore_spectrum", "09-widget", pattern)
    assert re.search(pattern, before).group(1) != re.search(pattern, after).group(1)
    for text in (before, after):
        assert re.search(r"level 3: \d+ / 0 / \d+", text), text
