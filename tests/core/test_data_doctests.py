"""The examples in the data modules' docstrings run and print what they say (doctest)."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["hope_lite.data.tasks", "hope_lite.data.formal", "hope_lite.data.mad",
                                    "hope_lite.data.needles"])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0, result
