"""Real-browser fixtures: serve a small notebook with Voila, drive it with headless Chromium.

Reuse in any ``tests/browser/test_*.py``::

    pytestmark = pytest.mark.browser

    def test_my_widget(widget_notebook):
        wp = widget_notebook("from hope_lite.lessons.ch06_continuum_memory.explorer import explore_x\\nexplore_x()",
                             name="06-x")
        before = wp.wait_for_output(r"some phrase")        # text printed in an ipywidgets.Output
        wp.screenshot("06-x-before.png")
        after = wp.change_sliders_until_output_changes(before)
        wp.screenshot("06-x.png")                           # -> test-artifacts/browser/06-x.png

Chromium is Debian's ``/usr/bin/chromium`` (never ``playwright install``). Without it, or
without playwright / voila, the tests skip; with ``HOPE_LITE_REQUIRE_BROWSER=1`` they fail.
The Voila server binds 127.0.0.1 on a free port, its kernel is this interpreter, its log goes
to ``test-artifacts/browser/<name>.voila.log``, and it is stopped in teardown.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hope_lite.lessons.interactive import CHROMIUM_ARGS, chromium_path

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = chromium_path()
REQUIRE = os.environ.get("HOPE_LITE_REQUIRE_BROWSER", "0") not in ("", "0")

# Slider handles of ipywidgets 8 (noUiSlider) and the text printed into ipywidgets.Output.
SLIDER_HANDLE = ".widget-slider .noUi-handle"
OUTPUT = ".widget-output"


def browser_unavailable(reason: str) -> None:
    """Skip, or fail when HOPE_LITE_REQUIRE_BROWSER=1 (CI must not silently skip)."""
    if REQUIRE:
        pytest.fail(f"{reason} -- and HOPE_LITE_REQUIRE_BROWSER=1 forbids skipping the browser "
                    "tests. Install Debian's chromium (`apt-get install -y chromium`) and the "
                    "playwright/voila Python packages (requirements.txt).", pytrace=False)
    pytest.skip(reason)


# --------------------------------------------------------------------------------------------
# Browser
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium (Debian's), shared by the tests of one module.

    Module scope: Playwright's sync API keeps its own event loop alive while it runs, so it is
    stopped before unrelated tests (papermill, nbval: asyncio/zmq) run in the same process.
    """
    if not CHROMIUM.exists():
        browser_unavailable(f"no Chromium at {CHROMIUM} (Debian package `chromium`)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        browser_unavailable("the playwright Python package is not installed")
    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
    except Exception:
        pw.stop()
        raise
    yield b
    b.close()
    pw.stop()


# --------------------------------------------------------------------------------------------
# Voila server
# --------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


class VoilaServer:
    """``voila NOTEBOOK`` on 127.0.0.1:<free port>, kernel = this interpreter."""

    def __init__(self, notebook: Path, log_path: Path, jupyter_data: Path, env: dict | None = None,
                 startup_timeout_s: float = 60):
        self.notebook = notebook
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.url = ""
        full_env = dict(os.environ)
        full_env.update({
            "HOPE_LITE_FAST": "1",
            # The kernel's figures must render in the page; Agg (exported by `make test` for
            # the papermill/nbval runs) would only print "<Figure ...>".
            "MPLBACKEND": "module://matplotlib_inline.backend_inline",
            # this checkout's hope_lite, even without `pip install -e .`
            "PYTHONPATH": os.pathsep.join([str(ROOT)] + [p for p in
                                          [os.environ.get("PYTHONPATH")] if p]),
            # our python3 kernelspec first, so that no user-level kernelspec takes over
            "JUPYTER_PATH": os.pathsep.join([str(jupyter_data)] + [p for p in
                                            [os.environ.get("JUPYTER_PATH")] if p]),
            "PYTHONUNBUFFERED": "1",
        })
        full_env.update(env or {})
        for attempt in range(3):  # a free port can be taken between probe and bind
            if self._start(full_env, startup_timeout_s):
                return
        raise RuntimeError(f"Voila did not start; log: {log_path}\n{self.log_tail()}")

    def _start(self, env: dict, timeout_s: float) -> bool:
        port = _free_port()
        cmd = [sys.executable, "-m", "voila", str(self.notebook), "--no-browser",
               f"--port={port}", "--Voila.ip=127.0.0.1", "--Voila.port_retries=0",
               "--show_tracebacks=True", "--theme=light"]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        log.write(f"$ {' '.join(cmd)}\n".encode())
        log.flush()
        self.proc = subprocess.Popen(cmd, cwd=self.notebook.parent, env=env, stdout=log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False  # exited: port clash or a real error (see the log)
            if _listening(port):
                self.url = f"http://127.0.0.1:{port}/"
                return True
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"Voila not listening after {timeout_s:.0f} s; log: {self.log_path}\n"
                           + self.log_tail())

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM (Voila then shuts its kernels down), SIGKILL to its group if it lingers."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=5)


# --------------------------------------------------------------------------------------------
# A page showing the served notebook
# --------------------------------------------------------------------------------------------


class WidgetPage:
    """The Voila page of one notebook, with helpers to read and move ipywidgets."""

    def __init__(self, page, server: VoilaServer, name: str):
        self.page = page
        self.server = server
        self.name = name
        self.console: list[str] = []
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}")
                if m.type == "error" else None)
        page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))

    # -- reading ------------------------------------------------------------------------------
    def output_text(self) -> str:
        """Text of every ipywidgets.Output on the page (sliders' readouts excluded)."""
        return "\n".join(t.strip() for t in self.page.locator(OUTPUT).all_inner_texts()).strip()

    def diagnostics(self) -> str:
        try:
            body = self.page.locator("body").inner_text(timeout=2000)[:2000]
            # cell outputs, also while Voila still hides them behind its progress message
            outputs = "\n".join(self.page.locator(".jp-OutputArea-output").all_text_contents())
        except Exception as exc:  # noqa: BLE001 - best effort for a failure message
            body, outputs = f"<no page text: {exc}>", ""
        return (f"\n--- page text ({self.server.url}) ---\n{body}"
                f"\n--- cell outputs ---\n{outputs[:3000]}"
                f"\n--- browser console ---\n" + "\n".join(self.console[-20:]) +
                f"\n--- voila log ({self.server.log_path}) ---\n{self.server.log_tail()}")

    def fail(self, msg: str):
        self.screenshot(f"{self.name}-FAILED.png")
        pytest.fail(msg + self.diagnostics(), pytrace=False)

    # -- waiting ------------------------------------------------------------------------------
    def wait_for_widgets(self, selector: str = SLIDER_HANDLE, timeout_s: float = 120) -> None:
        """Wait for ``selector``; stop early if a cell raised or Voila exited."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.page.locator(selector).first.is_visible():
                return
            if self.page.get_by_text("Traceback (most recent call last)").count() or \
                    self.page.locator(".jp-OutputArea-output[data-mime-type="
                                      "'application/vnd.jupyter.error']").count():
                self.fail("a cell of the served notebook raised")
            if self.server.proc is None or self.server.proc.poll() is not None:
                self.fail("the Voila server exited")
            time.sleep(0.25)
        self.fail(f"no `{selector}` rendered within {timeout_s:.0f} s")

    def wait_for_output(self, pattern: str, timeout_s: float = 120) -> str:
        """Wait until an Output's text matches ``pattern`` (regex, case-insensitive)."""
        self.wait_for_widgets(timeout_s=timeout_s)
        rx = re.compile(pattern, re.I)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            text = self.output_text()
            if rx.search(text):
                return self.wait_until_stable()
            time.sleep(0.25)
        self.fail(f"no widget output matching /{pattern}/ within {timeout_s:.0f} s")

    def wait_until_stable(self, quiet_s: float = 1.0, timeout_s: float = 20) -> str:
        """Output text once it has not changed for ``quiet_s`` (re-renders have settled)."""
        last, since = self.output_text(), time.monotonic()
        deadline = since + timeout_s
        while time.monotonic() < deadline:
            time.sleep(0.2)
            now = self.output_text()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet_s:
                break
        return last

    def wait_for_output_change(self, before: str, timeout_s: float) -> str | None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            text = self.output_text()
            if text and text != before:
                return self.wait_until_stable()
            time.sleep(0.2)
        return None

    # -- acting -------------------------------------------------------------------------------
    def slider_count(self) -> int:
        return self.page.locator(".widget-slider").count()

    def _readout(self, index: int) -> str | None:
        readout = self.page.locator(".widget-slider").nth(index).locator(".widget-readout")
        return readout.first.inner_text() if readout.count() else None

    def nudge_slider(self, index: int = 0, presses: int = 3) -> bool:
        """Move slider ``index`` with the keyboard (right, else left, else drag).

        Returns whether its readout changed (False only if the slider would not move; True
        after the key presses when the slider shows no readout).
        """
        handle = self.page.locator(".widget-slider").nth(index).locator(".noUi-handle").first
        handle.scroll_into_view_if_needed()
        start = self._readout(index)
        for key in ("ArrowRight", "ArrowLeft"):
            handle.focus()
            for _ in range(presses):
                handle.press(key)
                self.page.wait_for_timeout(50)
            if start is None or self._readout(index) != start:
                return True
        box = handle.bounding_box()
        if box:
            x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            for dx in (60, -120):
                self.page.mouse.move(x, y)
                self.page.mouse.down()
                self.page.mouse.move(x + dx, y, steps=8)
                self.page.mouse.up()
                if self._readout(index) != start:
                    return True
                x += dx
        return False

    def change_sliders_until_output_changes(self, before: str, timeout_s: float = 60) -> str:
        """Nudge sliders one after another until the Output text differs from ``before``."""
        n = self.slider_count()
        if n == 0:
            self.fail("the widget shows no slider")
        deadline = time.monotonic() + timeout_s
        moved = []
        for i in range(n):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if not self.nudge_slider(i):
                continue
            moved.append(i)
            # the first slider gets most of the time (a render may be slow); others share the rest
            after = self.wait_for_output_change(before, timeout_s=left if i == n - 1 else
                                                max(left / 2, min(left, 10)))
            if after is not None:
                # on a loaded machine a render of an earlier key press or slider can land after this change: let
                # every render settle (a CI run once read the text between two of them)
                return self.wait_until_stable(quiet_s=3.0 if len(moved) == 1 else 5.0, timeout_s=90)
        self.fail(f"output text did not change within {timeout_s:.0f} s after moving "
                  f"slider(s) {moved} of {n}; it stayed:\n{before}")

    def hover_plotly_point(self, root: str = OUTPUT, timeout_s: float = 60) -> str:
        """Hover the first point of the first plotly figure inside ``root`` (an Output); the tooltip's text."""
        from plotly_page import hover_first_point

        try:
            return hover_first_point(self.page, root, timeout_s)
        except Exception as exc:  # noqa: BLE001 - report with the page's diagnostics
            self.fail(f"hovering a plotly figure inside `{root}` showed no tooltip: {exc}")

    def screenshot(self, filename: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / filename
        try:
            self.page.screenshot(path=str(path), full_page=True)
        except Exception:  # noqa: BLE001 - a screenshot must not hide the real failure
            pass
        return path


@pytest.fixture
def widget_notebook(browser, this_interpreter_kernel, tmp_path):
    """Factory: ``widget_notebook(code, name)`` -> :class:`WidgetPage` of that notebook in Voila.

    ``code`` is one code cell's source, or a list of them. ``env`` overrides the kernel's
    environment. Servers and pages are closed in teardown.
    """
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    try:
        import voila  # noqa: F401
    except ImportError:
        browser_unavailable("the voila Python package is not installed")

    servers: list[VoilaServer] = []
    contexts = []

    def open_notebook(code, name: str = "widget", env: dict | None = None,
                      viewport=(1280, 900)) -> WidgetPage:
        cells = [code] if isinstance(code, str) else list(code)
        nb = new_notebook(cells=[new_code_cell(c) for c in cells])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        path = tmp_path / f"{name}.ipynb"
        nbformat.write(nb, path)
        log = ARTIFACTS / f"{name}.voila.log"
        log.unlink(missing_ok=True)
        server = VoilaServer(path, log, this_interpreter_kernel, env=env)
        servers.append(server)
        context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(server.url, wait_until="domcontentloaded", timeout=120_000)
        return WidgetPage(page, server, name)

    yield open_notebook
    for context in contexts:
        try:
            context.close()
        except Exception:  # noqa: BLE001
            pass
    for server in servers:
        server.stop()
