"""The bad-input catalogue: every input a user can get wrong, and what hope_lite answers.

Each area of the library keeps its cases in its own ``cases_<area>.py`` (a list ``CASES``). A case is
either *refused* (it must raise ``raises`` with a one-line message matching ``match``, which names
the argument and says what to change) or *works* (``check`` inspects the result, asserts it is
right and returns a short description of it).

``test_bad_inputs.py`` runs every case; ``table.py`` prints the Markdown table of
``docs/bad_inputs.md`` from the messages the library actually gives today, and a test checks that
the committed table equals it.
"""

from __future__ import annotations

import importlib
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
# Files a case needs (a damaged checkpoint, a run directory) live here; the table shows it as <scratch>,
# so that the messages are the same on every machine.
SCRATCH = Path(tempfile.gettempdir()) / "hope_lite_bad_inputs"


def scratch(name: str) -> Path:
    """A fresh path ``<scratch>/name`` (removed if it exists; its folder created)."""
    path = SCRATCH / name
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
AREAS = ("layers", "models", "optimizers", "training", "data", "teaching")


@dataclass(frozen=True)
class Case:
    area: str                                   # one of AREAS
    what: str                                   # the input, in a few words: "Hebbian memory, batch of 0"
    call: Callable[[], Any]                     # does the bad thing
    raises: type[BaseException] | None = None   # the exception it must raise (None: it must work)
    match: str = ""                             # a regex the message must contain
    check: Callable[[Any], str] | None = None   # for a case that works: asserts, returns a description

    def __post_init__(self) -> None:
        if self.area not in AREAS:
            raise ValueError(f"area must be one of {AREAS}, got {self.area!r}.")
        if (self.raises is None) == (self.check is None):
            raise ValueError(f"case {self.what!r}: give exactly one of raises= (refused) or check= (works).")


def all_cases() -> list[Case]:
    """Every case of every ``cases_*.py`` beside this file, in AREAS order."""
    cases: list[Case] = []
    for path in sorted(HERE.glob("cases_*.py")):
        module = importlib.import_module(path.stem)
        cases.extend(module.CASES)
    return sorted(cases, key=lambda c: AREAS.index(c.area))


def outcome(case: Case) -> str:
    """What the library answers to ``case`` today, as one line: "ValueError: ..." or "works: ...".

    Raises AssertionError when the answer is not the expected one.
    """
    if case.raises is None:
        return "works: " + case.check(case.call())
    try:
        case.call()
    except case.raises as err:
        message = str(err)
        if isinstance(err, KeyError) and err.args:      # KeyError quotes its message
            message = str(err.args[0])
        message = message.replace(str(SCRATCH), "<scratch>")
        assert "\n" not in message.strip(), f"{case.what}: the message is not one line: {message!r}"
        assert re.search(case.match, message), f"{case.what}: {message!r} does not match {case.match!r}"
        return f"{type(err).__name__}: {message.strip()}"
    raise AssertionError(f"{case.what}: no {case.raises.__name__} was raised")
