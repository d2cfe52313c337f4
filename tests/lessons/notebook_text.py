"""What a notebook says, for the prose tests that compare a chapter's text with its code.

    NB = NotebookText("04_titans.ipynb")
    NB.cells()             # the cells (dicts, as in the .ipynb)
    NB.parameters()        # the parameters cell's flat assignments, as values
    NB.text()              # all markdown, whitespace collapsed (sentences wrap across lines)
    NB.text("code")        # all code, the same way
"""

from __future__ import annotations

import ast
import inspect
import json
from pathlib import Path
from typing import Any, Callable

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


class NotebookText:
    def __init__(self, name: str) -> None:
        self.path = NOTEBOOKS / name

    def cells(self) -> list[dict]:
        return json.loads(self.path.read_text(encoding="utf-8"))["cells"]

    def parameters(self) -> dict:
        cell = next(c for c in self.cells() if "parameters" in c["metadata"].get("tags", []))
        body = ast.parse("".join(cell["source"])).body
        return {node.targets[0].id: ast.literal_eval(node.value) for node in body if isinstance(node, ast.Assign)}

    def text(self, kind: str = "markdown") -> str:
        return " ".join("\n".join("".join(c["source"]) for c in self.cells() if c["cell_type"] == kind).split())


def default(fn: Callable[..., Any], name: str) -> Any:
    """The default value of ``fn``'s argument ``name`` (what a notebook says a default is)."""
    return inspect.signature(fn).parameters[name].default
