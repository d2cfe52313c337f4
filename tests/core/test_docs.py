"""The repository's docs stay reachable from the code that cites them.

* (a) every citation ``docs/<page>.md §N[.M]`` in ``*.py``, ``*.ipynb``, ``*.md`` and ``Makefile``
  names an existing page and a heading of it numbered ``N[.M]`` (``## 1. ...`` / ``### 1.5 ...``);
  ranges (``§1.5–1.6``, ``§4–7``) and lists (``§5, §9.8``) are checked in full;
* (b) nothing cites the old, unresolvable names of the paper notes and the notebook conventions
  (they lived outside the repository; ``OLD_NAMES`` below);
* (c) every relative markdown link ``[text](path)`` in README.md and docs/*.md resolves to a file;
* every page in docs/ is listed in docs/README.md.

Standard library and pytest only. Each citation and link is its own test case, named by file and line.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
THIS_FILE = Path(__file__).resolve()
SKIP_DIRS = {".venv", ".git", "build", "test-artifacts", "__pycache__", ".pytest_cache",
             ".ipynb_checkpoints", "node_modules", "runs"}
SUFFIXES = {".py", ".ipynb", ".md"}
# Built from pieces so that a search-and-replace of the old names cannot rewrite this test.
OLD_NAMES = ("paper" + "_spec", "TEACH" + "ING.md")

_REF = r"\d+(?:\.\d+)?"
_SPAN = _REF + r"(?:\s*[-–]\s*" + _REF + r")?"            # 1.5  or  1.5–1.6  or  4-7
CITATION = re.compile(
    r"docs/(?P<page>[A-Za-z0-9_.-]+?)\.md`?"                  # the page; a closing backtick may follow
    r"(?P<sections>\s*§\s*" + _SPAN + r"(?:\s*,\s*§\s*" + _SPAN + r")*)?")
HEADING = re.compile(r"^#{1,6}\s+(?:§\s*)?(\d+(?:\.\d+)*)\.?(?=\s|$)")
LINK = re.compile(r"\]\(\s*(<[^>]*>|[^)\s]*)(?:\s+[\"'(][^)]*)?\)")
FENCE = re.compile(r"^\s*(```|~~~)")


# --------------------------------------------------------------------------------------------
# Reading the repository


def repository_files() -> list[Path]:
    """Every *.py, *.ipynb, *.md and Makefile of the repository, outside virtualenvs and build output."""
    found = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info"))
        for name in sorted(files):
            path = Path(folder) / name
            if path.suffix in SUFFIXES or name == "Makefile":
                found.append(path)
    return found


def texts(path: Path) -> list[tuple[str, str]]:
    """(label, text) pieces of a file: the whole file, or one piece per notebook cell (its source)."""
    raw = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix != ".ipynb":
        return [("", raw)]
    try:
        cells = json.loads(raw).get("cells", [])
    except ValueError:
        return [("", raw)]
    out = []
    for i, cell in enumerate(cells):
        source = cell.get("source", "")
        out.append((f"cell {i}, ", "".join(source) if isinstance(source, list) else source))
    return out


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def expand(span: str) -> list[str]:
    """'1.5–1.6' -> ['1.5', '1.6']; '4-7' -> ['4', '5', '6', '7']; '5.2–5.4' -> ['5.2', '5.3', '5.4']."""
    ends = [e.strip() for e in re.split(r"[-–]", span)]
    if len(ends) == 1:
        return ends
    a, b = ends
    pa, pb = a.split("."), b.split(".")
    if len(pa) == len(pb) and pa[:-1] == pb[:-1] and int(pa[-1]) <= int(pb[-1]):
        prefix = ".".join(pa[:-1] + [""]) if len(pa) > 1 else ""
        return [f"{prefix}{n}" for n in range(int(pa[-1]), int(pb[-1]) + 1)]
    return [a, b]


def cited_sections(sections: str | None) -> list[str]:
    if not sections:
        return []
    return [s for span in re.findall(r"§\s*(" + _SPAN + ")", sections) for s in expand(span)]


def citations() -> list[tuple[str, str, list[str]]]:
    """(where, page, sections) for every ``docs/<page>.md [§...]`` in the repository."""
    found = []
    for path in repository_files():
        if path == THIS_FILE:
            continue
        for label, text in texts(path):
            for m in CITATION.finditer(text):
                if m.group("page") in {n.split(".")[0] for n in OLD_NAMES}:
                    continue                  # the old names are test (b)'s business
                where = f"{rel(path)}:{label}line {line_of(text, m.start())}"
                case = (where, m.group("page"), cited_sections(m.group("sections")))
                if case not in found:         # a link [docs/x.md](docs/x.md) names the page twice
                    found.append(case)
    return found


def heading_numbers(page: Path) -> set[str]:
    numbers, in_code = set(), False
    for line in page.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            in_code = not in_code
            continue
        m = None if in_code else HEADING.match(line)
        if m:
            numbers.add(m.group(1))
    return numbers


def strip_code(markdown: str) -> str:
    """Blank out fenced code blocks and inline code spans, keeping line numbers."""
    out, in_code = [], False
    for line in markdown.split("\n"):
        if FENCE.match(line):
            in_code = not in_code
            out.append("")
            continue
        out.append("" if in_code else re.sub(r"`[^`]*`", "", line))
    return "\n".join(out)


def markdown_pages() -> list[Path]:
    return [ROOT / "README.md"] + sorted(DOCS.glob("*.md"))


def relative_links() -> list[tuple[str, Path, str]]:
    """(where, base folder, target) of every relative link in README.md and docs/*.md."""
    found = []
    for page in markdown_pages():
        if not page.is_file():
            continue
        text = strip_code(page.read_text(encoding="utf-8"))
        for m in LINK.finditer(text):
            target = m.group(1).strip("<>")
            parts = urlsplit(target)
            if not target or target.startswith(("#", "//")) or parts.scheme:
                continue                      # in-page anchors and web addresses are not files
            case = (f"{rel(page)}:line {line_of(text, m.start())}", page.parent, target)
            if case not in found:
                found.append(case)
    return found


# --------------------------------------------------------------------------------------------
# (a) citations resolve

CITATIONS = citations()
_heading_cache: dict[str, set[str]] = {}


def _ids(cases, key):
    return [key(c) for c in cases] or None


@pytest.mark.parametrize("where, page, sections", CITATIONS,
                         ids=_ids(CITATIONS, lambda c: f"{c[0]}:{c[1]}" + ("#" + ",".join(c[2]) if c[2] else "")))
def test_citation_resolves(where, page, sections):
    target = DOCS / f"{page}.md"
    assert target.is_file(), f"{where} cites docs/{page}.md, which does not exist (pages: " \
                             f"{sorted(p.name for p in DOCS.glob('*.md'))})."
    if page not in _heading_cache:
        _heading_cache[page] = heading_numbers(target)
    missing = [s for s in sections if s not in _heading_cache[page]]
    assert not missing, (f"{where} cites docs/{page}.md §{', §'.join(missing)}, but that page has no heading "
                         f"numbered so (write it as '## N. Title' or '### N.M Title').")


def test_citations_are_found():
    """The scanner itself: the code cites the paper page many times; zero would mean a broken regex."""
    assert len(CITATIONS) >= 5, CITATIONS


def test_citation_parser():
    text = ("see `docs/paper.md` §1.5–1.6 and docs/paper.md §5, §9.8 (x), §9.10; docs/paper.md §4-7.\n"
            "docs/teaching.md rules; `docs/paper.md`\n§2.2: momentum")
    got = [(m.group("page"), cited_sections(m.group("sections"))) for m in CITATION.finditer(text)]
    assert got == [("paper", ["1.5", "1.6"]), ("paper", ["5", "9.8"]), ("paper", ["4", "5", "6", "7"]),
                   ("teaching", []), ("paper", ["2.2"])]
    assert expand("5.2–5.4") == ["5.2", "5.3", "5.4"] and expand("9.9") == ["9.9"]
    assert HEADING.match("## 1. Associative memory").group(1) == "1"
    assert HEADING.match("### 9.10 CMS order").group(1) == "9.10"
    assert HEADING.match("## Glossary") is None


# --------------------------------------------------------------------------------------------
# (b) no old names


def _old_name_hits() -> list[tuple[str, str]]:
    hits = []
    for path in repository_files():
        if path == THIS_FILE:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for name in OLD_NAMES:
            for m in re.finditer(re.escape(name), text):
                hits.append((f"{rel(path)}:line {line_of(text, m.start())}", name))
    return hits


OLD_HITS = _old_name_hits()


@pytest.mark.parametrize("where, name", OLD_HITS or [pytest.param("", "", id="none")],
                         ids=_ids(OLD_HITS, lambda h: h[0]))
def test_no_old_doc_names(where, name):
    assert not where, (f"{where} cites {name!r}, a file outside the repository: cite docs/paper.md §N "
                       f"or docs/teaching.md instead.")


# --------------------------------------------------------------------------------------------
# (c) relative links resolve

LINKS = relative_links()


@pytest.mark.parametrize("where, base, target", LINKS, ids=_ids(LINKS, lambda l: f"{l[0]}:{l[2]}"))
def test_relative_link_resolves(where, base, target):
    path = unquote(urlsplit(target).path)
    resolved = (ROOT / path.lstrip("/")) if path.startswith("/") else (base / path)
    shown = resolved.relative_to(ROOT) if resolved.resolve().is_relative_to(ROOT) else resolved
    assert resolved.exists(), f"{where} links {target!r}, but {shown} does not exist."


def test_docs_index_lists_every_page():
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    linked = {Path(unquote(urlsplit(t).path)).name for t in (m.group(1).strip("<>") for m in LINK.finditer(index))}
    missing = [p.name for p in sorted(DOCS.glob("*.md")) if p.name != "README.md" and p.name not in linked]
    assert not missing, f"docs/README.md does not list {missing}: add one line per page."
