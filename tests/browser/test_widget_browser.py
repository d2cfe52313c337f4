"""Chapter 01's associative-memory explorer, in a real browser.

Voila serves a one-cell notebook that shows the widget; headless Chromium moves a slider and
the printed "retrieval error" must change. Screenshots (before / after):
``test-artifacts/browser/01-widget-before.png`` and ``test-artifacts/browser/01-widget.png``.

Run alone:  .venv/bin/python -m pytest tests/browser -m browser -ra   (or `make test-browser`)
"""

import importlib.util
import os
import re

import pytest

pytestmark = pytest.mark.browser

BODY = "from hope_lite.widgets import explore_associative_memory\nexplore_associative_memory()"
NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
RETRIEVAL_ERROR = rf"retrieval error[^0-9+\-.\n]*({NUMBER})"


def _widget_module_exists() -> bool:
    try:
        return importlib.util.find_spec("hope_lite.widgets") is not None
    except ImportError:
        return False


@pytest.mark.skipif(not _widget_module_exists()
                    and os.environ.get("HOPE_LITE_REQUIRE_BROWSER", "0") in ("", "0"),
                    reason="hope_lite.widgets is not written yet")
def test_associative_memory_widget_reacts_to_slider(widget_notebook):
    wp = widget_notebook(BODY, name="01-widget")
    before = wp.wait_for_output(RETRIEVAL_ERROR, timeout_s=120)
    wp.screenshot("01-widget-before.png")

    after = wp.change_sliders_until_output_changes(before, timeout_s=60)
    shot = wp.screenshot("01-widget.png")

    assert after != before
    assert re.search(RETRIEVAL_ERROR, after, re.I), f"no 'retrieval error <number>' in:\n{after}"
    assert shot.is_file()
    assert not [m for m in wp.console if m.startswith("pageerror")], wp.console
