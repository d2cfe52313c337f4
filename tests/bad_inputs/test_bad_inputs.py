"""Every bad input of the catalogue gets its clear message (or works), and docs/bad_inputs.md is current."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from catalogue import all_cases, outcome  # noqa: E402
from table import markdown_table, TABLE_PATH  # noqa: E402

CASES = all_cases()


@pytest.mark.filterwarnings("ignore:.*has no checkpoint.pt.sha256")    # the damaged-file cases have none
@pytest.mark.parametrize("case", CASES, ids=[f"{c.area}: {c.what}" for c in CASES])
def test_case(case, one_thread):
    outcome(case)


def test_the_catalogue_is_large_enough():
    refused = sum(c.raises is not None for c in CASES)
    assert len(CASES) >= 33 and refused >= 20


@pytest.mark.filterwarnings("ignore:.*has no checkpoint.pt.sha256")
def test_docs_table_is_current(one_thread):
    assert TABLE_PATH.read_text() == markdown_table(CASES), (
        "docs/bad_inputs.md is out of date: run  python tests/bad_inputs/table.py --write")
