"""A notebook opened alone, as Colab opens it: the environment of ``tests/test_notebooks.py``'s FAST run.

* **A fresh virtual environment with only the notebooks' run-time packages**: hope_lite's dependencies and
  its ``notebooks`` extra, read from ``pyproject.toml`` (what Colab has preinstalled), never hope_lite itself;
  PyTorch's CPU build first where no NVIDIA driver is found, as ``make lab`` does.
  It lives outside the repository, in the system's temporary folder, named by a digest of that list and
  this Python, and is built once (about a minute) then reused until the list changes.
* **hope_lite from a wheel built from this checkout**, installed by each notebook's own setup cell:
  the wheel's path goes in ``HOPE_LITE_SOURCE`` (``hope_lite.lessons.links.INSTALL_SOURCE_VARIABLE``),
  and hope_lite is uninstalled before every notebook, so that every setup cell is tested.
* **No file of the repository**: an audit hook, started in that environment by a ``.pth`` file, refuses
  to open (or list) any path inside the directory named by ``HOPE_LITE_FORBIDDEN_ROOT``, and says which
  path the notebook tried to read. The notebook itself is copied into an empty folder first.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:                      # Python 3.10 (requirements-test.txt installs tomli there)
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN_ROOT_VARIABLE = "HOPE_LITE_FORBIDDEN_ROOT"
# As `make lab`: PyTorch's CPU build where no NVIDIA driver is found (PyPI's Linux build is several GB of CUDA);
# TORCH_INDEX in the environment overrides it ("" = PyPI).
TORCH_INDEX = os.environ.get("TORCH_INDEX", "" if shutil.which("nvidia-smi") else "https://download.pytorch.org/whl/cpu")

# Runs at start-up in every Python of the Colab-like environment (the kernel included). Reads of the
# repository are refused; the standard library, site-packages and the temporary folder stay readable.
_GUARD = '''"""Refuses files under $HOPE_LITE_FORBIDDEN_ROOT: the test of a notebook opened alone (tests/alone.py)."""
import os
import sys

_ROOT = os.environ.get("HOPE_LITE_FORBIDDEN_ROOT")


def _refuse(event, args):
    if event in ("open", "os.listdir", "os.scandir") and args and isinstance(args[0], (str, bytes, os.PathLike)):
        path = os.fsdecode(args[0])
        full = os.path.realpath(path)
        if full == _ROOT or full.startswith(_ROOT + os.sep):
            raise PermissionError(f"a notebook opened alone read {path!r}, a path of the repository")


if _ROOT:
    _ROOT = os.path.realpath(_ROOT)
    sys.addaudithook(_refuse)
'''


def runtime_requirements() -> list[str]:
    """hope_lite's dependencies and its ``notebooks`` extra, from pyproject.toml."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return list(project["dependencies"]) + list(project["optional-dependencies"]["notebooks"])


def colab_environment() -> Path:
    """The Python of the Colab-like virtual environment, built on first use (see the module docstring)."""
    wanted = runtime_requirements()
    digest = hashlib.sha256("\n".join([sys.version, TORCH_INDEX, _GUARD, *wanted]).encode()).hexdigest()[:12]
    home = Path(tempfile.gettempdir()) / f"hope_lite-colab-{digest}"
    python, stamp = home / "bin" / "python", home / ".ready"
    if not stamp.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(home)], check=True)
        if TORCH_INDEX:
            torch = next(r for r in wanted if r.startswith("torch"))
            subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", torch, "--index-url", TORCH_INDEX],
                           check=True)                           # its dependencies come from PyPI on the next line
        subprocess.run([str(python), "-m", "pip", "install", "-q", *wanted], check=True)
        site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                   check=True, capture_output=True, text=True).stdout.strip())
        (site / "hope_lite_test_guard.py").write_text(_GUARD)
        (site / "hope_lite_test_guard.pth").write_text("import hope_lite_test_guard\n")
        stamp.touch()
    return python


def build_wheel(folder: Path) -> Path:
    """A wheel of this checkout (hope_lite with its committed results, setup.py), written into ``folder``."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(folder), str(ROOT)], check=True, cwd=folder)
    (wheel,) = folder.glob("hope_lite-*.whl")
    return wheel


def _outside(python: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the environment's Python away from the repository (the guard off, not the repository's folder)."""
    env = {k: v for k, v in os.environ.items() if k not in (FORBIDDEN_ROOT_VARIABLE, "PYTHONPATH")}
    return subprocess.run([str(python), *args], capture_output=True, text=True, env=env, cwd=tempfile.gettempdir())


def install_wheel(python: Path, wheel: Path) -> None:
    done = _outside(python, "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", str(wheel))
    assert done.returncode == 0, done.stderr


def uninstall_hope_lite(python: Path) -> None:
    done = _outside(python, "-m", "pip", "uninstall", "-q", "-y", "hope_lite")
    assert done.returncode == 0, done.stderr


def run_python(python: Path, code: str) -> str:
    """What ``code`` prints in the environment, run away from the repository."""
    done = _outside(python, "-c", code)
    assert done.returncode == 0, done.stderr
    return done.stdout


def installed_from(python: Path) -> str | None:
    """Where the environment's hope_lite lives (None when it is not installed)."""
    done = _outside(python, "-c", "import hope_lite; print(hope_lite.__file__)")
    return done.stdout.strip() if done.returncode == 0 else None
