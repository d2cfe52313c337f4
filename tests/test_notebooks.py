"""Checks on the teaching notebooks in ``notebooks/`` (conventions in docs/teaching.md).

* every notebook runs top to bottom on a fresh kernel under papermill with ``FAST=True``
  (and ``HOPE_LITE_FAST=1``) within the 60 s FAST budget, with its checks strict
  (``HOPE_LITE_STRICT=1``: a taught number that no longer holds fails), **opened alone, as Colab
  runs it** (``tests/alone.py``): copied into an empty folder outside the repository, in a fresh
  virtual environment with only the notebooks' run-time packages, its own setup cell installing
  hope_lite from a wheel of this checkout, and any read of a repository path refused; the executed
  copies are kept in ``test-artifacts/notebooks/`` for inspection;
* every notebook runs a second time as a student exploring it would: ``SEED=1`` and one changed
  knob (declared in its parameters cell's metadata, ``hope_lite.explore``), checks tolerant;
* the **Runtime:** header of every notebook agrees with ``results/notebook_times.json`` (measured by
  ``python -m hope_lite.lessons.timings``) within a factor of 2;
* chapters 01-09 have at least three exercises (cells tagged ``exercise``, one also ``multi-step``),
  each with a solution cell (tagged ``solution``, source hidden) that calls ``check(...)``, which the
  strict run turns into a drift check; chapter 07 ends with a ``capstone``; no nbval comments
  show in the student's view (tags instead), and "multi-step" is a tag, not part of an exercise's title;
* no cell ends in a bare ``expect(...)`` or ``check(...)`` without ``;`` (Jupyter would show the returned bool);
* notebooks are committed without outputs;
* every image linked from notebook markdown and README.md exists.

The kernel is always this interpreter (``sys.executable``): a ``python3`` kernelspec that
points at it is put first on ``JUPYTER_PATH`` for the papermill runs, so a user-level
``python3`` kernelspec elsewhere cannot take over. ``test_papermill_kernel_is_this_interpreter``
checks that on a throwaway notebook.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

import pytest

if TYPE_CHECKING:                    # imported where used: collecting the tests should not need it
    import nbformat

import alone

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
ARTIFACTS = ROOT / "test-artifacts" / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
README = ROOT / "README.md"

# docs/teaching.md: FAST mode, every notebook <= 60 s on a 2-core CPU; the series <= 8 min.
BUDGET_S = float(os.environ.get("HOPE_LITE_NOTEBOOK_BUDGET_S", "60"))
SERIES_BUDGET_S = 8 * 60
CELL_TIMEOUT_S = 300  # a hung cell fails the test instead of hanging the run


def _notebook_params(paths: list[Path]) -> list:
    if not paths:
        return [pytest.param(None, marks=pytest.mark.skip(reason="no notebooks/*.ipynb yet"))]
    return [pytest.param(p, id=p.name) for p in paths]


def _read(path: Path):
    import nbformat

    return nbformat.read(path, as_version=4)


# --------------------------------------------------------------------------------------------
# Execution with papermill
# --------------------------------------------------------------------------------------------


@pytest.fixture
def notebook_env(monkeypatch, this_interpreter_kernel):
    """Environment of a notebook run: FAST mode, Agg backend, kernel = this interpreter."""
    monkeypatch.setenv("HOPE_LITE_FAST", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    # An explicit JUPYTER_PATH entry is searched before the user, env and system dirs.
    old = os.environ.get("JUPYTER_PATH")
    monkeypatch.setenv("JUPYTER_PATH", os.pathsep.join(
        [str(this_interpreter_kernel)] + ([old] if old else [])))
    # The kernel must import this checkout's hope_lite even without `pip install -e .`.
    old_pp = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT)] + ([old_pp] if old_pp else [])))


def run_notebook(src: Path, out: Path, parameters: dict, cwd: Path) -> float:
    """Execute ``src`` with papermill into ``out``; return the wall time in seconds."""
    import papermill as pm

    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    error = None
    try:
        pm.execute_notebook(
            str(src), str(out), parameters=parameters, kernel_name="python3", cwd=str(cwd),
            progress_bar=False, log_output=False, request_save_on_cell_execute=False,
            execution_timeout=CELL_TIMEOUT_S, start_timeout=120,
        )
    except pm.PapermillExecutionError as exc:
        error = exc
    wall = time.perf_counter() - t0
    if error is not None:
        pytest.fail(f"{src.name} failed in cell [{error.exec_count}] after {wall:.1f} s; "
                    f"executed copy: {out}\n{error}", pytrace=False)
    return wall


class _NotebookTimes:
    """Collects wall times and prints them in pytest's closing summary."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.times:
            return
        tr = terminalreporter
        tr.section("notebook wall times (papermill, FAST=True)")
        for name, dt in sorted(self.times.items()):
            flag = "" if dt <= BUDGET_S else f"   OVER the {BUDGET_S:.0f} s budget"
            tr.write_line(f"{dt:7.1f} s  {name}{flag}")
        total = sum(self.times.values())
        flag = "" if total <= SERIES_BUDGET_S else f"   OVER the {SERIES_BUDGET_S} s series budget"
        tr.write_line(f"{total:7.1f} s  total{flag}")


@pytest.fixture(scope="module")
def notebook_times(request):
    plugin = _NotebookTimes()
    name = "hope-lite-notebook-times"
    if not request.config.pluginmanager.has_plugin(name):
        request.config.pluginmanager.register(plugin, name)
    else:
        plugin = request.config.pluginmanager.get_plugin(name)
    return plugin.times


@pytest.fixture(scope="session")
def alone_environment(tmp_path_factory) -> tuple[Path, Path, Path]:
    """(python, kernel data dir, wheel) of the Colab-like environment (tests/alone.py)."""
    from ipykernel.kernelspec import write_kernel_spec

    python = alone.colab_environment()
    data_dir = tmp_path_factory.mktemp("jupyter-data-alone")
    write_kernel_spec(path=str(data_dir / "kernels" / "python3"), overrides={
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (a notebook opened alone)"})
    return python, data_dir, alone.build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.mark.slow
@pytest.mark.parametrize("notebook", _notebook_params(NOTEBOOKS))
def test_notebook_runs_fast(notebook: Path, alone_environment, notebook_times, monkeypatch, tmp_path):
    """FAST, strict, and opened alone: the setup cell installs hope_lite; no repository file is read."""
    from hope_lite.lessons.links import INSTALL_SOURCE_VARIABLE

    python, data_dir, wheel = alone_environment
    monkeypatch.setenv("HOPE_LITE_STRICT", "1")        # at the defaults, every taught number must hold
    monkeypatch.setenv("HOPE_LITE_FAST", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("JUPYTER_PATH", str(data_dir))
    monkeypatch.delenv("PYTHONPATH", raising=False)
    monkeypatch.setenv(INSTALL_SOURCE_VARIABLE, f"{wheel}[notebooks]")
    monkeypatch.setenv(alone.FORBIDDEN_ROOT_VARIABLE, str(ROOT))
    alone.uninstall_hope_lite(python)
    assert alone.installed_from(python) is None
    folder = tmp_path / "opened-alone"                  # an empty folder outside the repository
    folder.mkdir()
    copy = folder / notebook.name
    copy.write_bytes(notebook.read_bytes())
    out = ARTIFACTS / notebook.name
    wall = run_notebook(copy, out, parameters={"FAST": True}, cwd=folder)
    notebook_times[notebook.name] = wall
    print(f"{notebook.name}: {wall:.1f} s")
    where = alone.installed_from(python)
    assert where is not None and Path(where).is_relative_to(python.parent.parent), (
        f"{notebook.name}'s setup cell did not install hope_lite into the fresh environment ({where})")
    assert wall <= BUDGET_S, (
        f"{notebook.name} took {wall:.1f} s with FAST=True; the budget is {BUDGET_S:.0f} s "
        "(docs/teaching.md). Cache the slow part or shrink the FAST preset.")


def parameters_cell(nb) -> "nbformat.NotebookNode":
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"expected one cell tagged 'parameters', found {len(cells)}"
    return cells[0]


def explore_parameters(notebook: Path) -> dict:
    """The parameters a student might change, from the parameters cell's ``hope_lite.explore`` metadata."""
    cell = parameters_cell(_read(notebook))
    explore = dict(cell.metadata.get("hope_lite", {}).get("explore", {}))
    names = set(re.findall(r"^([A-Z_][A-Z0-9_]*)\s*=", cell.source, re.M))
    assert explore.get("SEED") == 1, f"{notebook.name}: the exploring run uses SEED=1, got {explore}"
    knobs = set(explore) - {"SEED", "FAST"}
    assert knobs, f"{notebook.name}: the exploring run changes one knob besides SEED; declare it in hope_lite.explore"
    assert knobs <= names, f"{notebook.name}: {sorted(knobs - names)} are not in the parameters cell"
    return explore


@pytest.mark.slow
@pytest.mark.parametrize("notebook", _notebook_params(NOTEBOOKS))
def test_notebook_survives_exploration(notebook: Path, notebook_env, notebook_times, monkeypatch):
    """A student's run: another seed and one knob changed; the checks print notes instead of stopping."""
    monkeypatch.delenv("HOPE_LITE_STRICT", raising=False)
    params = {**explore_parameters(notebook), "FAST": True}
    out = ARTIFACTS / "explore" / notebook.name
    wall = run_notebook(notebook, out, parameters=params, cwd=NOTEBOOK_DIR)
    notebook_times[f"{notebook.name} {params}"] = wall


def test_papermill_kernel_is_this_interpreter(tmp_path, notebook_env):
    """The harness itself: parameters injected, FAST env set, kernel = this venv's python."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    params = new_code_cell("FAST = False\nEXPECTED_PREFIX = ''")
    params.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[params, new_code_cell(
        "import os, sys\n"
        "assert FAST is True, FAST\n"
        "assert os.environ.get('HOPE_LITE_FAST') == '1'\n"
        "assert os.path.realpath(sys.prefix) == os.path.realpath(EXPECTED_PREFIX), "
        "(sys.prefix, sys.executable)\n"
        "print(sys.executable)\n")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    src = tmp_path / "probe.ipynb"
    nbformat.write(nb, src)
    run_notebook(src, tmp_path / "probe.out.ipynb",
                 parameters={"FAST": True, "EXPECTED_PREFIX": sys.prefix}, cwd=tmp_path)
    done = nbformat.read(tmp_path / "probe.out.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in done.cells if c.cell_type == "code"
                      for o in c.get("outputs", []))
    assert printed.strip() == sys.executable


@pytest.mark.slow
def test_a_notebook_opened_alone_cannot_read_the_repository(alone_environment, monkeypatch, tmp_path):
    """The harness of test_notebook_runs_fast: a cell that opens a file of the repository fails, and says which."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    python, data_dir, _ = alone_environment
    monkeypatch.setenv("JUPYTER_PATH", str(data_dir))
    monkeypatch.setenv(alone.FORBIDDEN_ROOT_VARIABLE, str(ROOT))
    nb = new_notebook(cells=[new_code_cell(f"import sys\nprint(sys.executable)\nopen({str(README)!r}).read()")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "reads_the_repository.ipynb")
    with pytest.raises(pytest.fail.Exception, match="a path of the repository"):
        run_notebook(tmp_path / "reads_the_repository.ipynb", tmp_path / "out.ipynb", {}, cwd=tmp_path)


@pytest.mark.slow
def test_an_installed_wheel_carries_the_committed_results(alone_environment):
    """Chapters 03-09 read results/*.json; with no checkout around (Colab) they come from the wheel's copies."""
    python, _, wheel = alone_environment
    alone.install_wheel(python, wheel)
    committed = sorted((ROOT / "results").glob("*.json"))
    found = json.loads(alone.run_python(python, (
        "import json; from hope_lite.lessons.results import find_in_repository as find\n"
        f"print(json.dumps({{n: str(find('results/' + n)) for n in {[p.name for p in committed]!r}}}))")))
    for path in committed:
        copy = Path(found[path.name])
        assert copy.is_file() and "site-packages" in copy.parts, f"{path.name} is not in the installed wheel: {copy}"
        assert copy.read_bytes() == path.read_bytes()


# --------------------------------------------------------------------------------------------
# Committed without outputs
# --------------------------------------------------------------------------------------------

# nbval compares a `# NBVAL_CHECK_OUTPUT` cell with its stored output -- and only if the stored
# cell also has an execution_count (a cell with outputs but no count fails as "Unrun reference
# cell has outputs"). Such cells, and cells with metadata "keep_output": true, may keep both.
_KEEP = re.compile(r"^\s*#\s*NBVAL_CHECK_OUTPUT\b", re.M)
_KEEP_TAG = "nbval-check-output"


@pytest.mark.parametrize("notebook", _notebook_params(NOTEBOOKS))
def test_notebook_committed_without_outputs(notebook: Path):
    nb = _read(notebook)
    bad = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if _KEEP.search(cell.source) or _KEEP_TAG in cell.metadata.get("tags", []) or cell.metadata.get("keep_output"):
            continue
        if cell.get("execution_count") is not None:
            bad.append(f"cell {i}: execution_count={cell.execution_count}")
        if cell.get("outputs"):
            bad.append(f"cell {i}: {len(cell.outputs)} output(s)")
    if "widgets" in nb.metadata:
        bad.append("notebook metadata holds saved widget state ('widgets')")
    assert not bad, (f"{notebook.name} is committed with outputs: " + "; ".join(bad)
                     + "\nStrip them, e.g. `nbstripout notebooks/*.ipynb` or Jupyter's "
                     "'Clear All Outputs' then save.")


# --------------------------------------------------------------------------------------------
# Image links resolve
# --------------------------------------------------------------------------------------------

_MD_IMAGE = re.compile(r"!\[[^\]]*\]\(\s*(<[^>]+>|[^)\s]+)(?:\s+[\"'(][^)]*)?\)")
_HTML_IMAGE = re.compile(r"<img\b[^>]*?\bsrc\s*=\s*([\"'])(.*?)\1", re.I | re.S)
_REF_IMAGE = re.compile(r"!\[[^\]]*\]\[([^\]]*)\]")
_REF_DEF = re.compile(r"^\s{0,3}\[([^\]]+)\]:\s*(<[^>]+>|\S+)", re.M)


def image_links(markdown: str) -> list[str]:
    """Image targets in markdown text: ``![alt](path "title")``, ``<img src=...>``, ``![a][ref]``."""
    links = [m.group(1).strip("<>") for m in _MD_IMAGE.finditer(markdown)]
    links += [m.group(2) for m in _HTML_IMAGE.finditer(markdown)]
    refs = {k.lower(): v.strip("<>") for k, v in _REF_DEF.findall(markdown)}
    for m in _REF_IMAGE.finditer(markdown):
        key = m.group(1).lower()
        if key in refs:
            links.append(refs[key])
    return links


def _is_remote(link: str) -> bool:
    scheme = urlsplit(link).scheme.lower()
    return link.startswith("//") or scheme in {"http", "https", "data", "mailto", "ftp"}


def broken_image_links(markdown: str, base: Path, attachments=()) -> list[str]:
    broken = []
    for link in image_links(markdown):
        if not link or _is_remote(link):
            continue  # online badges and images are not ours to check
        if link.startswith("attachment:"):
            if link.split(":", 1)[1] not in attachments:
                broken.append(link)
            continue
        path = unquote(urlsplit(link).path)
        target = (ROOT / path.lstrip("/")) if path.startswith("/") else (base / path)
        if not target.is_file():
            broken.append(link)
    return broken


def _markdown_files() -> list:
    files = ([README] if README.exists() else []) + NOTEBOOKS
    if not files:
        return [pytest.param(None, marks=pytest.mark.skip(reason="no README.md or notebooks yet"))]
    return [pytest.param(p, id=p.name) for p in files]


@pytest.mark.parametrize("path", _markdown_files())
def test_image_links_resolve(path: Path):
    broken = []
    if path.suffix == ".ipynb":
        for i, cell in enumerate(_read(path).cells):
            if cell.cell_type == "markdown":
                attachments = cell.get("attachments", {}) or {}
                broken += [f"cell {i}: {b}" for b in
                           broken_image_links(cell.source, path.parent, attachments)]
    else:
        broken = broken_image_links(path.read_text(encoding="utf-8"), path.parent)
    assert not broken, (f"{path.relative_to(ROOT)} links images that do not exist "
                        f"(paths are relative to {path.parent.relative_to(ROOT) or '.'}/): "
                        + ", ".join(broken) + ". Run `make figures` or fix the path.")


def test_image_link_parser():
    md = ('![a](../figures/01-x.png) ![b](<../figures/with space.png> "t") '
          '<img src="../figures/02-y.png" width=300> <IMG alt=z SRC=\'c.png\'> '
          '![badge](https://colab.research.google.com/assets/colab-badge.svg) '
          '![r][fig]\n\n[fig]: ../figures/03-z.png\n')
    assert sorted(image_links(md)) == sorted([
        "../figures/01-x.png", "../figures/with space.png", "../figures/02-y.png", "c.png",
        "https://colab.research.google.com/assets/colab-badge.svg", "../figures/03-z.png"])
    assert json.dumps(broken_image_links("![ok](test_notebooks.py)", Path(__file__).parent)) == "[]"
    assert broken_image_links("![no](nope.png)", Path(__file__).parent) == ["nope.png"]


# --------------------------------------------------------------------------------------------
# Runtime headers, exercises, scaffolding
# --------------------------------------------------------------------------------------------

TIMINGS = ROOT / "results" / "notebook_times.json"
_RUNTIME = re.compile(r"\*\*Runtime:\*\* about (\d+(?:\.\d+)?) (s|min)\b[^(]*\(FAST mode: about (\d+(?:\.\d+)?) (s|min)\)")
CHAPTERS = [p for p in NOTEBOOKS if p.name[:2] != "00"]      # 00 is the index: a map, no exercises


def runtime_header(nb) -> tuple[float, float]:
    """(classroom, FAST) seconds stated by the notebook's header: "**Runtime:** about 40 s ... (FAST mode: about 15 s)"."""
    for cell in nb.cells[:3]:
        m = _RUNTIME.search(cell.source)
        if m:
            unit = {"s": 1, "min": 60}
            return float(m.group(1)) * unit[m.group(2)], float(m.group(3)) * unit[m.group(4)]
    raise AssertionError("no '**Runtime:** about N s|min on ... (FAST mode: about M s|min)' in the first cells")


@pytest.mark.parametrize("notebook", _notebook_params(NOTEBOOKS))
def test_runtime_header_is_measured(notebook: Path):
    stated = runtime_header(_read(notebook))
    measured = json.loads(TIMINGS.read_text())["notebooks"][notebook.name]
    for mode, said, got in (("classroom", stated[0], measured["classroom_s"]), ("FAST", stated[1], measured["fast_s"])):
        assert got / 2 <= said <= got * 2, (
            f"{notebook.name}: the header says about {said:.0f} s in {mode} mode, results/notebook_times.json "
            f"measured {got:.0f} s; re-measure (python -m hope_lite.lessons.timings --only {notebook.name[:2]}) "
            f"and fix the header")


@pytest.mark.parametrize("notebook", _notebook_params(NOTEBOOKS))
def test_no_test_scaffolding_in_the_students_view(notebook: Path):
    shown = [i for i, c in enumerate(_read(notebook).cells) if re.search(r"^\s*#\s*NBVAL_", c.source, re.M)]
    assert not shown, f"{notebook.name} cells {shown}: use nbval's cell tags (nbval-ignore-output ...), not comments"


def _last_call(source: str) -> str | None:
    """Name of the function a cell's last statement calls as a bare expression (None if it is not a call)."""
    import ast

    # IPython magics and shell escapes are not Python: stand in a no-op with the same indentation
    lines = [ln[:len(ln) - len(ln.lstrip())] + "pass" if ln.lstrip().startswith(("%", "!")) else ln
             for ln in source.splitlines()]
    body = ast.parse("\n".join(lines)).body
    if not body or not isinstance(body[-1], ast.Expr) or not isinstance(body[-1].value, ast.Call):
        return None
    func = body[-1].value.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)


def test_last_call_parser():
    assert _last_call('if x:\n    %pip install y\nexpect(a, "b")') == "expect"
    assert _last_call("check(f, g, 1);") == "check" and _last_call("x = check(f, g)") is None
    assert _last_call("lessons.expect(a, 'b')") == "expect" and _last_call("") is None


@pytest.mark.parametrize("notebook", _notebook_params(NOTEBOOKS))
def test_checks_do_not_echo_their_result(notebook: Path):
    """expect(...) and check(...) return a bool: as a cell's last line, without ';', Jupyter shows a stray True."""
    echoing = [c.get("id", i) for i, c in enumerate(_read(notebook).cells)
               if c.cell_type == "code" and _last_call(c.source) in ("expect", "check")
               and not c.source.rstrip().endswith(";")]
    assert not echoing, f"{notebook.name} cells {echoing}: end the last expect(...)/check(...) with ';'"


@pytest.mark.parametrize("notebook", _notebook_params(NOTEBOOKS))
def test_explore_parameters_are_declared(notebook: Path):
    explore_parameters(notebook)


@pytest.mark.parametrize("notebook", _notebook_params(CHAPTERS))
def test_exercises_have_hidden_solutions_that_check(notebook: Path):
    cells = _read(notebook).cells
    tags = [set(c.metadata.get("tags", [])) for c in cells]
    exercises = [i for i, t in enumerate(tags) if "exercise" in t]
    tagged_in_title = [i for i in exercises if "(multi-step)" in cells[i].source.split("\n", 1)[0]]
    assert not tagged_in_title, (
        f"{notebook.name} cells {tagged_in_title}: 'multi-step' is a cell tag, not part of the exercise's title")
    assert len(exercises) >= 3, f"{notebook.name}: {len(exercises)} cells tagged 'exercise'; a chapter has >= 3"
    assert any("multi-step" in tags[i] for i in exercises), f"{notebook.name}: no exercise tagged 'multi-step'"
    for n, i in enumerate(exercises):
        end = exercises[n + 1] if n + 1 < len(exercises) else len(cells)
        solutions = [j for j in range(i + 1, end) if "solution" in tags[j]]
        assert solutions, f"{notebook.name}: exercise cell {i} has no cell tagged 'solution' after it"
        for j in solutions:
            cell = cells[j]
            assert cell.cell_type == "code" and "check(" in cell.source, (
                f"{notebook.name} cell {j}: a solution is code that ends in check(...), so the tests catch drift")
            assert cell.metadata.get("jupyter", {}).get("source_hidden") is True, (
                f"{notebook.name} cell {j}: hide the solution's source (metadata jupyter.source_hidden = true)")
    if notebook.name.startswith("07"):
        assert any("capstone" in t for t in tags), "07 ends with a capstone (a cell tagged 'capstone')"


def test_readme_runtime_claims_match_measurement():
    times = json.loads(TIMINGS.read_text())["notebooks"]
    readme = README.read_text(encoding="utf-8")
    assert "in under a minute on a 2-core CPU, and in classroom mode (the default) in under\ntwo" in readme
    assert max(t["fast_s"] for t in times.values()) < 60
    assert max(t["classroom_s"] for t in times.values()) < 120
    assert set(times) == {p.name for p in NOTEBOOKS}, "re-measure: python -m hope_lite.lessons.timings"


def test_readme_quotes_the_recorded_book_build():
    """README's sentence on `make book` gives the numbers of results/book.json (tools/book.py --record)."""
    record = json.loads((ROOT / "results" / "book.json").read_text())
    assert record["mode"] == "classroom" and record["command"] == "make book"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sentence = (f"Measured once on the 2-core development CPU ({record['date']}, `results/book.json`): "
                f"{record['seconds']:.0f} s to execute the series and build the book, {len(record['pages'])} pages "
                f"(the index, nine chapters, the search) and {record['bytes'] / 1e6:.0f} MB")
    assert sentence in " ".join(readme.split()), sentence
