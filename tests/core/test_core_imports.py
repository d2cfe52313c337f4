"""Importing the core needs torch and numpy only, and the core never imports the teaching layer.

The core (every module of ``hope_lite`` outside ``hope_lite.lessons``) is what a researcher
imports; matplotlib, ipywidgets, plotly and IPython belong to the notebooks, ``datasets`` and
``tqdm`` are imported where a corpus is built or a progress bar shown. A fresh interpreter in
which those packages cannot be imported must still import every core module, and must not have
imported any ``hope_lite.lessons`` module on the way.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import hope_lite

PACKAGE = Path(hope_lite.__file__).resolve().parent
LESSONS = "hope_lite.lessons"
BLOCKED = ("matplotlib", "ipywidgets", "plotly", "IPython", "datasets", "tqdm")


def core_modules() -> list[str]:
    """Every module of hope_lite outside hope_lite.lessons (new ones included), found by pkgutil."""
    names = ["hope_lite"]
    for info in pkgutil.walk_packages([str(PACKAGE)], prefix="hope_lite.", onerror=lambda name: None):
        if info.name == LESSONS or info.name.startswith(LESSONS + "."):
            continue
        names.append(info.name)
    return names


_PROBE = """
import importlib, json, sys

BLOCKED = {blocked!r}

class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{{name}} is blocked: the core must not need it")
        return None

sys.meta_path.insert(0, Blocker())
failed = {{}}
for name in {modules!r}:
    try:
        importlib.import_module(name)
    except Exception as err:
        failed[name] = f"{{type(err).__name__}}: {{err}}"
lessons = sorted(m for m in sys.modules if m == "{lessons}" or m.startswith("{lessons}."))
print(json.dumps({{"failed": failed, "lessons": lessons}}))
"""


def test_the_core_modules_are_found():
    modules = core_modules()
    for name in ("hope_lite.levels", "hope_lite.memory", "hope_lite.titans", "hope_lite.cms", "hope_lite.optim",
                 "hope_lite.models", "hope_lite.train", "hope_lite.bench", "hope_lite.data",
                 "hope_lite.data.corpora", "hope_lite.data.tasks", "hope_lite.data.tokenizer",
                 "hope_lite.data.formal", "hope_lite.data.mad"):
        assert name in modules, name
    assert not [m for m in modules if m.startswith(LESSONS)]


def test_every_core_module_imports_without_the_teaching_packages_and_without_the_lessons():
    modules = core_modules()
    code = _PROBE.format(blocked=BLOCKED, modules=modules, lessons=LESSONS)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          cwd=PACKAGE.parent)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["failed"] == {}, report["failed"]
    assert report["lessons"] == [], f"the core imported the teaching layer: {report['lessons']}"


def test_no_core_file_names_the_lessons():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if (PACKAGE / "lessons") in path.parents:
            continue
        text = path.read_text(encoding="utf-8")
        for needle in ("from .lessons", "from ..lessons", "hope_lite.lessons"):
            if needle in text:
                offenders.append(f"{path.relative_to(PACKAGE.parent)}: {needle}")
    assert offenders == []
