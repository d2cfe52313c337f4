"""The install routes the README gives: what each requirements file holds, what `make` runs, the sizes quoted."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from alone import tomllib

ROOT = Path(__file__).resolve().parents[1]
TEST_ONLY = {"pytest", "nbval", "papermill", "playwright", "voila", "nbclient", "setuptools", "tomli",
             "sphinx-mathjax-offline"}


def _lines(name: str) -> list[str]:
    return [ln.strip() for ln in (ROOT / name).read_text().splitlines() if ln.strip() and not ln.startswith("#")]


def test_requirements_hold_the_run_time_and_the_tests_add_theirs():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert _lines("requirements.txt") == ["-e .[lab]"]
    runtime = project["dependencies"] + project["optional-dependencies"]["notebooks"] + \
        project["optional-dependencies"]["lab"]
    names = {re.split(r"[<>=\[ ]", r)[0].lower() for r in runtime}
    assert not names & TEST_ONLY, f"test-only packages in the notebooks' run time: {names & TEST_ONLY}"
    assert {"torch", "numpy", "matplotlib", "plotly", "nbformat", "ipywidgets", "ipykernel"} <= names
    tests = _lines("requirements-test.txt")
    assert tests[0] == "-r requirements.txt" and {re.split(r"[<>=;# ]", t)[0] for t in tests[1:]} == TEST_ONLY


@pytest.mark.skipif(shutil.which("make") is None, reason="no make")
@pytest.mark.parametrize("index, expected", [(None, "https://download.pytorch.org/whl/cpu"), ("", None)])
def test_make_lab_installs_the_cpu_torch_first_without_a_driver(index, expected, tmp_path):
    """`make -n` prints what `make lab` would run: PyTorch from its CPU index (pyproject's range) before
    requirements.txt, where no nvidia-smi is found; TORCH_INDEX= leaves it to PyPI."""
    if index is None and shutil.which("nvidia-smi"):
        pytest.skip("this machine has an NVIDIA driver: make lab leaves torch to PyPI")
    spec = next(d for d in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
                if d.startswith("torch"))
    args = ["make", "-n", "-C", str(ROOT), "venv", f"VENV={tmp_path / 'venv'}"]
    printed = subprocess.run(args + ([] if index is None else [f"TORCH_INDEX={index}"]), capture_output=True,
                             text=True, check=True).stdout
    torch_line = [ln for ln in printed.splitlines() if "--index-url" in ln]
    if expected is None:
        assert not torch_line
    else:
        assert len(torch_line) == 1 and f'--no-deps "{spec}" --index-url {expected}' in torch_line[0]
        assert printed.index(torch_line[0]) < printed.index("-r requirements.txt")


def test_the_readme_quotes_the_measured_download_sizes():
    measured = (ROOT / "results" / "torch-download.txt").read_text()
    readme = (ROOT / "README.md").read_text()
    total = re.search(r"= ([\d,]+) MB to download from PyPI", measured).group(1)
    torch_mb = re.search(r"PyPI \(the CUDA build\): torch-\S+\s+([\d,]+) MB", measured).group(1)
    cpu_mb = re.search(r"a local copy of the CPU build: torch-\S+\s+([\d,]+) MB", measured).group(1)
    assert f"downloads\n{total} MB (torch itself {torch_mb} MB" in readme
    assert f"the CPU build is one {cpu_mb} MB" in readme
