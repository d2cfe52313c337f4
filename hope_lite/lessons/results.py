"""Finding the repository's committed files (results JSON, run checkpoints) wherever the caller runs, also
from an installed wheel with no checkout around it (a notebook opened alone on Colab)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Mapping

import numpy as np

__all__ = ["find_in_repository", "read_results", "write_results", "sample_std", "environment", "jsonable",
           "REPOSITORY"]

REPOSITORY = Path(__file__).resolve().parents[2]          # hope_lite/lessons/ -> the checkout
#: the copies of ``results/*.json`` that a built wheel carries (setup.py); absent in a checkout
COMMITTED = Path(__file__).resolve().parent / "committed"


def find_in_repository(path: str | Path) -> Path | None:
    """``path`` if it is a file; a relative path is also looked for in the folders above the working
    directory (a notebook runs in ``notebooks/``) and in the checkout that holds the package, and a
    ``results/<name>.json`` in the copies an installed wheel carries (:data:`COMMITTED`). None when not
    found."""
    path = Path(path)
    if path.is_absolute():
        return path if path.is_file() else None
    for base in [Path.cwd(), *Path.cwd().parents, REPOSITORY]:
        if (base / path).is_file():
            return base / path
    if len(path.parts) == 2 and path.parts[0] == "results" and (COMMITTED / path.name).is_file():
        return COMMITTED / path.name
    return None


def write_results(path: str | Path, data: dict) -> Path:
    """Write a chapter's results JSON whole (folders created; temp file and rename, so a kill leaves the old
    file or the new one, never half of one)."""
    from hope_lite.run_dir import atomic_write

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, (json.dumps(data, indent=1) + "\n").encode())
    return path


def sample_std(values) -> float:
    """Sample standard deviation (n - 1) of a list of per-seed numbers; 0 for a single value."""
    import numpy as np

    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def environment(device: str, started: float) -> dict:
    """Where and when a results file was made, for its ``"environment"`` entry: versions, torch threads, device,
    platform, the CPU's vector instructions as torch uses them, date, and the wall time since ``started`` (a
    ``time.perf_counter()`` reading). A run repeats to the last bit on one machine (tested); on another machine
    float sums may round differently, and a long training run can end elsewhere, as another seed would."""
    import platform
    import time

    import torch

    return {"python": platform.python_version(), "torch": torch.__version__, "threads": torch.get_num_threads(),
            "device": device, "platform": platform.platform(terse=True),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(), "created": time.strftime("%Y-%m-%d"),
            "wall_seconds": round(time.perf_counter() - started, 1)}


def read_results(path: str | Path, *, what: str, fmt: int, key: str, command: str, kind: str | None = None) -> dict:
    """A chapter's results JSON: found with :func:`find_in_repository`, of format ``fmt``, holding ``key`` (and, when
    given, of ``"kind"`` ``kind``).

    A missing file names the ``command`` that writes it; another kind of file is refused as not ``what``.
    """
    found = find_in_repository(path)
    if found is None:
        raise FileNotFoundError(f"{path} does not exist; it is written by\n  {command}")
    data = json.loads(found.read_text())
    if not isinstance(data, dict) or data.get("format") != fmt or key not in data:
        raise ValueError(f"{found} is not {what} of format {fmt} written by `{command}`.")
    if kind is not None and data.get("kind") != kind:
        raise ValueError(f"{found} is not {what} (kind {data.get('kind')!r}); it is written by\n  {command}")
    return data


def jsonable(obj: Any) -> Any:
    """Plain JSON types: tuples as lists, NumPy numbers as Python numbers, NaN / inf as None (JSON has no NaN)."""
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj
