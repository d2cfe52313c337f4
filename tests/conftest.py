"""Fixtures every test folder may use. Needs torch only: tests/core runs without the teaching packages."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch


def pytest_collection_modifyitems(items):
    """Tests marked ``after_notebooks`` run last: they read what the notebook tests executed (tests/browser/test_book.py)."""
    items.sort(key=lambda item: item.get_closest_marker("after_notebooks") is not None)


@pytest.fixture(scope="session")
def this_interpreter_kernel(tmp_path_factory) -> Path:
    """A jupyter data dir whose ``kernels/python3`` runs ``sys.executable`` (this venv's Python).

    Put first on ``JUPYTER_PATH``, it makes papermill, nbval and Voila start kernels in this
    environment even when a user-level ``python3`` kernelspec points elsewhere.
    """
    from ipykernel.kernelspec import write_kernel_spec

    data_dir = tmp_path_factory.mktemp("jupyter-data")
    write_kernel_spec(path=str(data_dir / "kernels" / "python3"), overrides={
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"Python 3 ({sys.prefix})",
    })
    return data_dir


@pytest.fixture(scope="module")
def one_thread():
    """Tiny tensors: one torch thread is faster and steadier on small CI machines."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
