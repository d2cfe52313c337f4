"""docs/instructor.md, the instructor's guide, stays true to the notebooks and results files it cites.

* every notebook in ``notebooks/`` has one section ``## NN · Title`` and every such section a notebook;
* every ``**Runtime (measured):** classroom N s, FAST M s.`` line sits in a chapter section (one per section)
  and agrees with ``results/notebook_times.json`` (``classroom_s``, ``fast_s``) within 1 s of the rounded
  value; so do the runtimes of the order table and the whole-series line (against the sums);
* every ``**Time to learn (header):** ...`` is the notebook header's "Time to learn", and the series total is
  the sum of the headers' ranges;
* every ``Exercise N · title`` names a cell tagged ``exercise`` of that chapter's notebook, with that title;
  ``(multi-step)`` right after the title only when the cell is tagged ``multi-step``; every exercise of a
  notebook is named in its section and its multi-step ones are marked; a short ``Ex N`` names an existing one;
* 07's section describes the capstone (the notebook has cells tagged ``capstone``), and the
  ``MY_CHANGES = ...`` default it quotes is the capstone cell's;
* the numbers quoted from results/05-remap.json and results/07-compare.json are those files' numbers.

Standard library and pytest only: the notebooks are read as JSON, nothing is executed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "instructor.md"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
TIMES = ROOT / "results" / "notebook_times.json"
REMAP = ROOT / "results" / "05-remap.json"
COMPARE = ROOT / "results" / "07-compare.json"

SECTION = re.compile(r"^## (\d\d) · (.+)$", re.M)
ANY_H2 = re.compile(r"^## ", re.M)
RUNTIME = re.compile(r"\*\*Runtime \(measured\):\*\* classroom (\d+) s, FAST (\d+) s\.")
RUNTIME_LOOSE = re.compile(r"\*\*Runtime \(measured\):\*\*")
LEARN = re.compile(r"\*\*Time to learn \(header\):\*\* ([^.\n]+)\.")
HEADER_LEARN = re.compile(r"\*\*Time to learn:\*\* ([^.\n]+)\.")
SERIES_RUNTIME = re.compile(r"\*\*Whole series, runtime \(measured\):\*\* classroom (\d+) s, FAST (\d+) s\.")
SERIES_LEARN = re.compile(r"\*\*Whole series, time to learn \(headers\):\*\* (\d+)–(\d+) minutes\.")
TABLE_ROW = re.compile(r"^\| \[(\d\d) · [^\]]*\]\([^)]*\) \| ([^|]+?) \| (\d+) s \| (\d+) s \|", re.M)
EXERCISE = re.compile(r"Exercise (\d+) · ")
SHORT = re.compile(r"\bEx (\d+)\b")
EXERCISE_HEADING = re.compile(r"^#+\s*Exercise (\d+) · (.+?)\s*$", re.M)
MULTI = " (multi-step)"


# --------------------------------------------------------------------------------------------
# Reading the guide and the notebooks


def guide_text() -> str:
    return GUIDE.read_text(encoding="utf-8")


def prose(markdown: str) -> str:
    """The text without fenced code blocks and inline code spans (where the guide names its own line forms)."""
    markdown = re.sub(r"^```.*?^```", "", markdown, flags=re.M | re.S)
    return re.sub(r"`[^`\n]*`", "", markdown)


def sections(text: str) -> dict[str, str]:
    """{'03': the text of section '## 03 · ...' up to the next '## ' heading}."""
    found: dict[str, str] = {}
    heads = list(ANY_H2.finditer(text))
    for i, h in enumerate(heads):
        m = SECTION.match(text, h.start())
        if not m:
            continue
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        assert m.group(1) not in found, f"docs/instructor.md has two sections '## {m.group(1)} · ...'"
        found[m.group(1)] = text[h.start():end]
    return found


def notebook_cells(path: Path) -> list[dict]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        cell["text"] = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        cell["tags"] = set(cell.get("metadata", {}).get("tags", []))
    return cells


def exercises(path: Path) -> dict[int, tuple[str, bool]]:
    """{number: (title without a trailing '(multi-step)', tagged multi-step)} of a notebook's exercise cells."""
    found = {}
    for cell in notebook_cells(path):
        if "exercise" not in cell["tags"]:
            continue
        m = EXERCISE_HEADING.search(cell["text"])
        assert m, f"{path.name}: an exercise cell without a '### Exercise N · title' heading: {cell['text'][:80]!r}"
        title = m.group(2).removesuffix(MULTI).strip()
        found[int(m.group(1))] = (title, "multi-step" in cell["tags"])
    return found


def header_time_to_learn(path: Path) -> str:
    for cell in notebook_cells(path)[:3]:
        m = HEADER_LEARN.search(cell["text"])
        if m:
            return m.group(1).strip()
    raise AssertionError(f"{path.name}: no '**Time to learn:** ...' in its first cells")


def minutes(span: str) -> tuple[int, int]:
    """'60–90 minutes' -> (60, 90); '15 minutes' -> (15, 15)."""
    m = re.fullmatch(r"(\d+)(?:\s*[–-]\s*(\d+))? minutes", span.strip())
    assert m, f"a time to learn written as 'N minutes' or 'N–M minutes', got {span!r}"
    return int(m.group(1)), int(m.group(2) or m.group(1))


def measured() -> dict[str, dict]:
    return json.loads(TIMES.read_text())["notebooks"]


def by_number() -> dict[str, Path]:
    return {p.name[:2]: p for p in NOTEBOOKS}


def near(stated: int, seconds: float) -> bool:
    """Within 1 s of the rounded measurement (either rounding of a .5)."""
    return abs(stated - round(seconds)) <= 1


def _params():
    return [pytest.param(p, id=p.name) for p in NOTEBOOKS] or [pytest.param(None, marks=pytest.mark.skip("no notebooks"))]


# --------------------------------------------------------------------------------------------
# Sections and runtimes


def test_every_notebook_has_a_section_and_every_section_a_notebook():
    found = sections(guide_text())
    numbers = set(by_number())
    assert numbers, "no notebooks/NN_*.ipynb found"
    assert not numbers - set(found), f"docs/instructor.md has no section '## NN · Title' for {sorted(numbers - set(found))}"
    assert not set(found) - numbers, f"docs/instructor.md has sections for missing notebooks {sorted(set(found) - numbers)}"


@pytest.mark.parametrize("notebook", _params())
def test_runtime_line_matches_the_measurement(notebook: Path):
    section = prose(sections(guide_text()).get(notebook.name[:2], ""))
    lines = RUNTIME.findall(section)
    assert len(RUNTIME_LOOSE.findall(section)) == len(lines) == 1, (
        f"section {notebook.name[:2]}: exactly one line '**Runtime (measured):** classroom N s, FAST M s.', "
        f"found {len(lines)} in that form and {len(RUNTIME_LOOSE.findall(section))} in all")
    (classroom, fast), = lines
    got = measured()[notebook.name]
    for mode, said, seconds in (("classroom", int(classroom), got["classroom_s"]), ("FAST", int(fast), got["fast_s"])):
        assert near(said, seconds), (
            f"docs/instructor.md says {notebook.name} takes {said} s in {mode} mode; results/notebook_times.json "
            f"measured {seconds} s: write {round(seconds)} s")


def test_every_runtime_line_is_in_a_chapter_section():
    text = prose(guide_text())
    inside = sum(len(RUNTIME_LOOSE.findall(s)) for s in sections(text).values())
    assert len(RUNTIME_LOOSE.findall(text)) == inside, "a '**Runtime (measured):**' line outside the '## NN · ...' sections"


def test_order_table_matches_the_measurements_and_the_headers():
    rows = TABLE_ROW.findall(guide_text())
    numbers = by_number()
    assert sorted(r[0] for r in rows) == sorted(numbers), f"the order table lists {[r[0] for r in rows]}, not every notebook"
    times = measured()
    for nn, learn, classroom, fast in rows:
        path = numbers[nn]
        assert learn.strip() == header_time_to_learn(path), (
            f"order table, {nn}: time to learn {learn.strip()!r}, the notebook's header says {header_time_to_learn(path)!r}")
        assert near(int(classroom), times[path.name]["classroom_s"]) and near(int(fast), times[path.name]["fast_s"]), (
            f"order table, {nn}: {classroom} s / {fast} s, results/notebook_times.json has "
            f"{times[path.name]['classroom_s']} s / {times[path.name]['fast_s']} s")


def test_series_totals():
    text = guide_text()
    times = measured()
    runtime = SERIES_RUNTIME.search(text)
    assert runtime, "no '**Whole series, runtime (measured):** classroom N s, FAST M s.' line"
    for said, key in ((runtime.group(1), "classroom_s"), (runtime.group(2), "fast_s")):
        total = sum(times[p.name][key] for p in NOTEBOOKS)
        assert near(int(said), total), f"whole series: {said} s stated, the notebooks' {key} add up to {total:.1f} s"
    learn = SERIES_LEARN.search(text)
    assert learn, "no '**Whole series, time to learn (headers):** N–M minutes.' line"
    spans = [minutes(header_time_to_learn(p)) for p in NOTEBOOKS]
    expected = (sum(a for a, _ in spans), sum(b for _, b in spans))
    assert (int(learn.group(1)), int(learn.group(2))) == expected, (
        f"whole series: {learn.group(1)}–{learn.group(2)} minutes stated, the headers add up to {expected[0]}–{expected[1]}")


@pytest.mark.parametrize("notebook", _params())
def test_time_to_learn_is_the_header(notebook: Path):
    section = sections(guide_text()).get(notebook.name[:2], "")
    said = LEARN.findall(section)
    assert len(said) == 1, f"section {notebook.name[:2]}: one '**Time to learn (header):** ...' line, found {len(said)}"
    assert said[0].strip() == header_time_to_learn(notebook), (
        f"section {notebook.name[:2]} says {said[0]!r}; the notebook's header says {header_time_to_learn(notebook)!r}")


# --------------------------------------------------------------------------------------------
# Exercises and the capstone


@pytest.mark.parametrize("notebook", _params())
def test_cited_exercises_exist(notebook: Path):
    section = sections(guide_text()).get(notebook.name[:2], "")
    known = exercises(notebook)
    named, marked = set(), set()
    for m in EXERCISE.finditer(section):
        n = int(m.group(1))
        assert n in known, f"section {notebook.name[:2]} cites Exercise {n}; {notebook.name} has exercises {sorted(known)}"
        title, multi = known[n]
        rest = section[m.end():].split("\n", 1)[0]
        assert rest.startswith(title), (
            f"section {notebook.name[:2]}: 'Exercise {n} · {rest[:60]}' — the notebook's title is {title!r}")
        named.add(n)
        if rest[len(title):].startswith(MULTI):
            assert multi, f"section {notebook.name[:2]} marks Exercise {n} multi-step; the cell is not tagged 'multi-step'"
            marked.add(n)
    for m in SHORT.finditer(section):
        assert int(m.group(1)) in known, (
            f"section {notebook.name[:2]} mentions Ex {m.group(1)}; {notebook.name} has exercises {sorted(known)}")
    assert named == set(known), (
        f"section {notebook.name[:2]} does not name exercises {sorted(set(known) - named)} as 'Exercise N · title'")
    multi_step = {n for n, (_, multi) in known.items() if multi}
    assert marked == multi_step, (
        f"section {notebook.name[:2]}: mark the multi-step exercises {sorted(multi_step)} with '(multi-step)' after "
        f"the title (marked: {sorted(marked)})")


def test_capstone():
    numbers = by_number()
    if "07" not in numbers:
        pytest.skip("no chapter 07")
    cells = [c for c in notebook_cells(numbers["07"]) if "capstone" in c["tags"]]
    assert cells, "07_hope.ipynb has no cell tagged 'capstone'"
    section = sections(guide_text())["07"]
    assert "capstone" in section.lower(), "section 07 does not describe the capstone"
    quoted = re.findall(r"`(MY_CHANGES = [^`]+)`", section)
    code = "\n".join(c["text"] for c in cells if c["cell_type"] == "code")
    for snippet in quoted:
        assert snippet in code, f"section 07 quotes `{snippet}`; the capstone cell says {code.splitlines()[0]!r}"


def test_exercise_heading_parser():
    text = "### Exercise 1 · assemble HOPE from its parts (multi-step)\n\nBuild it."
    m = EXERCISE_HEADING.search(text)
    assert (m.group(1), m.group(2).removesuffix(MULTI)) == ("1", "assemble HOPE from its parts")
    assert minutes("60–90 minutes") == (60, 90) and minutes("15 minutes") == (15, 15)
    assert RUNTIME.findall("**Runtime (measured):** classroom 57 s, FAST 24 s.") == [("57", "24")]
    assert near(6, 6.5) and near(7, 6.5) and not near(8, 6.5)


# --------------------------------------------------------------------------------------------
# Numbers quoted from the results files


def test_remap_numbers_are_the_results_file():
    results = json.loads(REMAP.read_text())
    section = sections(guide_text())["05"]
    names = {"self_modifying": "self-modifying", "static": "static", "titans": "plain Titans",
             "shared_input": "shared input"}
    m = re.search(r"classroom\s+budget,\s+mean\s+accuracy\s+after\s+the\s+switch:\s*(.*?);\s*FAST\s+budget:\s*(.*?)\.\s",
                  section, re.S)
    assert m, "section 05 quotes results/05-remap.json as 'classroom budget, mean accuracy after the switch: ...; FAST budget: ...'"
    for budget, quoted in zip(("classroom", "fast"), m.groups()):
        said = dict(re.findall(r"(self-modifying|static|plain\s+Titans|shared\s+input)\s+(\d\.\d{3})", quoted))
        said = {re.sub(r"\s+", " ", name): value for name, value in said.items()}
        runs = [r for r in results["runs"] if r["budget"] == budget]
        means = {names[layer]: sum(r["acc_after"] for r in runs if r["layer"] == layer)
                 / sum(1 for r in runs if r["layer"] == layer) for layer in {r["layer"] for r in runs}}
        assert said and set(said) <= set(means), f"section 05, {budget}: quoted {said}, the file has {sorted(means)}"
        for name, value in said.items():
            assert float(value) == pytest.approx(means[name], abs=0.0006), (
                f"section 05, {budget} budget: {name} {value}, results/05-remap.json gives {means[name]:.3f}")
    ratio = re.search(r"time\s+per\s+step:\s+x(\d+\.\d\d)\s+\(classroom\s+budget,\s+results\s+file\)", section)
    assert ratio, "section 05 quotes the self-modifying / static time per step of the classroom budget"
    ms = {layer: [r["ms_per_step"] for r in results["runs"] if r["budget"] == "classroom" and r["layer"] == layer]
          for layer in ("self_modifying", "static")}
    expected = (sum(ms["self_modifying"]) / len(ms["self_modifying"])) / (sum(ms["static"]) / len(ms["static"]))
    assert float(ratio.group(1)) == pytest.approx(expected, abs=0.006), f"x{ratio.group(1)} quoted, the file gives x{expected:.2f}"


def test_compare_numbers_are_the_results_file():
    summary = json.loads(COMPARE.read_text())["summary"]
    section = sections(guide_text())["07"]
    labels = {entry["label"]: entry for entry in summary.values()}
    alternatives = "|".join(re.escape(label) for label in sorted(labels, key=len, reverse=True))
    quoted = re.findall(rf"({alternatives})\s+(\d+\.\d{{3}})\s+±\s+(\d+\.\d{{3}})", section)
    assert {label for label, _, _ in quoted} == set(labels), (
        f"section 07 quotes 'label mean ± std' for {sorted({q[0] for q in quoted})}, results/07-compare.json has {sorted(labels)}")
    for label, mean, std in quoted:
        entry = labels[label]
        assert float(mean) == pytest.approx(entry["val_ppl_mean"], abs=0.0006) and \
            float(std) == pytest.approx(entry["val_ppl_std"], abs=0.0006), (
            f"section 07: {label} {mean} ± {std}; results/07-compare.json has "
            f"{entry['val_ppl_mean']:.3f} ± {entry['val_ppl_std']:.3f}")
    seconds = re.search(r"HOPE\s+takes\s+(\d+)\s+s\s+per\s+run,\s+Transformer\+\+\s+(\d+)\s+s", section)
    assert seconds, "section 07 quotes the training time per run of HOPE and Transformer++"
    for said, key in zip(seconds.groups(), ("hope", "transformer")):
        assert near(int(said), summary[key]["seconds_mean"]), (
            f"section 07: {said} s per run for {key}, results/07-compare.json has {summary[key]['seconds_mean']:.1f} s")
