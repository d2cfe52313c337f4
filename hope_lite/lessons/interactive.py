"""Interactive figures of the lessons (plotly): shown in a notebook, in an explorer, in the book, saved as a PNG.

Where hovering and zooming show what a static image hides (a timeline of 1,024 tokens by 32 levels,
a trajectory on a loss landscape, a surprise trace of 300 tokens) a chapter draws a plotly Figure
instead of a matplotlib one; every other figure stays matplotlib, and no figure exists in both
(docs/teaching.md). A ``render_*`` function returns the ``plotly.graph_objects.Figure``; what such
figures share lives here:

* :func:`new_figure`: a figure of the lessons' look (white template, fixed size, the mode bar
  without plotly's logo);
* :func:`mime_bundle`: what an explorer's Output shows. The ``application/vnd.plotly.v1+json``
  data is drawn by the ``jupyterlab-plotly`` extension that the plotly package installs into
  JupyterLab, Notebook 7 and Voila, with plotly.js inside it: no network. On Colab, which does not
  read that data, plotly's own ``colab`` renderer adds an HTML version (plotly.js from its CDN;
  Colab is online anyway). A notebook cell that ends with a figure gets the same choice from plotly;
* :func:`div_html` and :func:`plotly_js`: the figure as an HTML ``<div>`` drawn by a local copy of
  plotly.js, for the static book (``tools/book.py``), which loads nothing from the network;
* :func:`write_pngs`: the static preview PNGs (``make figures``), drawn by plotly.js itself
  (``Plotly.toImage``) in headless Chromium, driven by Playwright: the same figure, not a copy in
  another library. Chromium is Debian's ``/usr/bin/chromium`` or ``$HOPE_LITE_CHROMIUM``.

plotly is imported inside the functions, like matplotlib in :mod:`.plotting`.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from pathlib import Path
from typing import Any, Mapping

__all__ = ["PLOTLY_MIME", "CONFIG", "CHROMIUM_ARGS", "chromium_path", "is_plotly", "new_figure", "figure_json",
           "mime_bundle", "div_html", "plotly_js", "write_pngs"]

PLOTLY_MIME = "application/vnd.plotly.v1+json"
#: the mode bar without the logo; hovering and zooming are plotly's defaults
CONFIG = {"displaylogo": False}
FONT = dict(family="DejaVu Sans, Arial, sans-serif", size=13, color="#222")
#: how the previews' Chromium (and the real-browser tests') is started: headless, no network of its own
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def chromium_path() -> Path:
    """Debian's ``/usr/bin/chromium``, or the executable that ``$HOPE_LITE_CHROMIUM`` names."""
    return Path(os.environ.get("HOPE_LITE_CHROMIUM", "/usr/bin/chromium"))


def is_plotly(fig: Any) -> bool:
    """True for a plotly Figure (without importing plotly when it was never imported)."""
    go = sys.modules.get("plotly.graph_objects")
    return go is not None and isinstance(fig, go.Figure)


def new_figure(width: int, height: int, *, rows: int = 1, cols: int = 1, **subplots: Any):
    """A plotly Figure of ``width`` x ``height`` pixels in the lessons' look; with ``rows`` or ``cols`` > 1,
    ``plotly.subplots.make_subplots(rows, cols, **subplots)``."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=rows, cols=cols, **subplots) if rows * cols > 1 or subplots else go.Figure()
    fig.update_layout(template="plotly_white", width=int(width), height=int(height), font=FONT,
                      margin=dict(l=70, r=20, t=60, b=55), hoverlabel=dict(font_size=13),
                      legend=dict(font_size=11))
    return fig


def figure_json(fig: Any) -> dict:
    """The figure as plain JSON (``data``, ``layout``, ``config``): numpy arrays become lists."""
    if not is_plotly(fig):
        raise TypeError(f"expected a plotly Figure, got {type(fig).__name__}.")
    out = json.loads(fig.to_json())
    out["config"] = dict(CONFIG)
    return out


def mime_bundle(fig: Any, text: str = "<plotly figure>") -> dict:
    """The display data of a plotly figure for an ipywidgets Output (see the module docstring)."""
    import plotly.io as pio

    bundle = {PLOTLY_MIME: figure_json(fig), "text/plain": text}
    if "colab" in (pio.renderers.default or "").split("+"):
        bundle.update(pio.renderers["colab"].to_mimebundle(fig.to_dict()))
    return bundle


def div_html(fig: Any, div_id: str) -> str:
    """A ``<div>`` and the script that draws the figure (a Figure, or its JSON as a dict) into it with the page's
    plotly.js (:func:`plotly_js`)."""
    if not div_id.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"div_id must be letters, digits, '-' or '_', got {div_id!r}.")
    spec = {"config": CONFIG, **fig} if isinstance(fig, dict) else figure_json(fig)   # a dict: plotly's JSON
    payload = json.dumps(spec).replace("</", "<\\/")           # no '</script>' inside the script
    return (f'<div id="{div_id}" class="hope-plotly"></div>\n<script>(function () {{ var f = {payload};\n'
            f'Plotly.newPlot("{div_id}", f.data, f.layout, f.config); }})();</script>')


def plotly_js() -> Path:
    """The file of the plotly.js that the installed plotly package embeds offline (``plotly.min.js``)."""
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: reinstall plotly (`pip install --force-reinstall plotly`).")
    return path


def write_pngs(figures: Mapping[Path, Any], *, scale: float = 1.0, chromium: str | None = None) -> None:
    """Write each plotly figure to its PNG path, drawn by plotly.js in one headless Chromium.

    ``Plotly.toImage`` draws at the figure's own width and height times ``scale``; the page has no
    network and no other content, so the same figure gives the same picture on the same Chromium.
    """
    executable = Path(chromium) if chromium else chromium_path()
    if not executable.is_file():
        raise FileNotFoundError(f"no Chromium at {executable}: the plotly previews are drawn in a headless browser. "
                                "Install Debian's chromium (`apt-get install chromium`) or set HOPE_LITE_CHROMIUM "
                                "to a Chrome or Chromium executable.")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as err:
        raise ImportError("the plotly previews need playwright (`pip install -r requirements-test.txt`; never "
                          "`playwright install`: it drives the Chromium found above).") from err
    script = plotly_js().read_text(encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_content("<!DOCTYPE html><html><head><meta charset='utf-8'></head><body><div id='g'></div>"
                             "</body></html>")
            page.add_script_tag(content=script)
            for path, fig in figures.items():
                spec = figure_json(fig)
                url = page.evaluate(
                    """async ([spec, scale]) => {
                        const gd = document.getElementById('g');
                        await Plotly.newPlot(gd, spec.data, spec.layout, {staticPlot: true});
                        return await Plotly.toImage(gd, {format: 'png', width: spec.layout.width,
                                                         height: spec.layout.height, scale: scale});
                    }""", [spec, scale])
                Path(path).write_bytes(base64.b64decode(url.split(",", 1)[1]))
        finally:
            browser.close()
