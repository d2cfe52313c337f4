"""Print (or ``--write``) docs/bad_inputs.md: the catalogue's cases and the answer each gets today.

    python tests/bad_inputs/table.py --write
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from catalogue import AREAS, Case, all_cases, outcome  # noqa: E402

TABLE_PATH = Path(__file__).resolve().parents[2] / "docs" / "bad_inputs.md"

HEADER = """# Bad inputs and what hope_lite answers

Every row is a case in `tests/bad_inputs/`, run by `make test`; the answers are the library's own
messages, pasted by `python tests/bad_inputs/table.py --write` (a test fails when this file is out of
date). A refused input raises the exception shown with a one-line message that names the argument
and says what to change; an input marked *works* is valid and gives the result described.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown_table(cases: list[Case]) -> str:
    lines = [HEADER]
    for area in AREAS:
        rows = [c for c in cases if c.area == area]
        if not rows:
            continue
        lines += [f"\n## {area.capitalize()}\n", "| # | input | answer |", "|---|---|---|"]
        lines += [f"| {i} | {_cell(c.what)} | {_cell(outcome(c))} |" for i, c in enumerate(rows, 1)]
    refused = sum(c.raises is not None for c in cases)
    lines.append(f"\n{len(cases)} cases: {refused} refused with a message, {len(cases) - refused} that work.\n")
    return "\n".join(lines)


if __name__ == "__main__":
    import torch

    torch.set_num_threads(1)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help=f"write {TABLE_PATH} instead of printing")
    args = parser.parse_args()
    text = markdown_table(all_cases())
    if args.write:
        TABLE_PATH.write_text(text)
        print(f"wrote {TABLE_PATH}")
    else:
        print(text, end="")
