"""Reading a plotly figure in a page as a user would: move the mouse onto a point and read the tooltip."""

from __future__ import annotations


def hover_first_point(page, root: str = "body", timeout_s: float = 60) -> str:
    """Hover the first point of the first plotly figure inside ``root``; the tooltip's text.

    plotly.js draws a point as an SVG path in ``.scatterlayer``; the mouse on it makes plotly.js write the
    tooltip into ``.hoverlayer .hovertext``. Raises AssertionError (with what is missing) when nothing shows."""
    plot = page.locator(f"{root} .js-plotly-plot").first
    plot.wait_for(state="visible", timeout=timeout_s * 1000)
    point = plot.locator(".scatterlayer .trace .points path").first
    point.scroll_into_view_if_needed()
    box = point.bounding_box()
    assert box is not None, f"{page.url}: the plotly figure inside `{root}` has no visible point to hover"
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    tip = plot.locator(".hoverlayer .hovertext").first
    tip.wait_for(state="visible", timeout=10_000)
    return tip.text_content() or ""
