"""Measure how long every notebook takes, in classroom mode and in FAST mode: the runtime headers' source.

::

    python -m hope_lite.lessons.timings --out results/notebook_times.json
    python -m hope_lite.lessons.timings --only 03 06 --modes classroom --out results/notebook_times.json

Each notebook runs top to bottom on a fresh kernel of this interpreter under papermill, from
``notebooks/`` (as a student runs it), once with ``FAST=False`` (classroom mode, the default) and
once with ``FAST=True``, with the checks strict (``HOPE_LITE_STRICT=1``: at the default parameters
every number a notebook teaches must hold, so a run that finishes is also a test). The wall time of each run goes to the JSON file with what the machine was
(CPU count, the torch thread count a kernel starts with, the load average before each run), merged
with the entries already there, so one notebook can be re-measured alone. ``tests/test_notebooks.py``
checks every notebook's **Runtime:** header against this file (within a factor of 2), and
docs/instructor.md's timings come from it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = ROOT / "notebooks"
RESULTS = ROOT / "results" / "notebook_times.json"
MODES = {"classroom": False, "fast": True}


def _kernel_dir() -> Path:
    """A jupyter data dir whose python3 kernel is this interpreter (as the tests do)."""
    from ipykernel.kernelspec import write_kernel_spec

    data_dir = Path(tempfile.mkdtemp(prefix="hope-lite-kernel-"))
    write_kernel_spec(path=str(data_dir / "kernels" / "python3"), overrides={
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"Python 3 ({sys.prefix})"})
    return data_dir


def time_notebook(path: Path, fast: bool) -> float:
    """Wall seconds of one papermill run of ``path`` (FAST as given); raises if a cell fails."""
    import papermill as pm

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        pm.execute_notebook(str(path), str(Path(tmp) / path.name), parameters={"FAST": fast}, kernel_name="python3",
                            cwd=str(NOTEBOOK_DIR), progress_bar=False, log_output=False, execution_timeout=1800)
        return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hope_lite.lessons.timings", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", default=None, metavar="NN", help="notebook numbers, e.g. 03 06")
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    notebooks = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
    if args.only:
        notebooks = [p for p in notebooks if p.name[:2] in args.only]
        if not notebooks:
            parser.error(f"--only {' '.join(args.only)} matches no notebook in {NOTEBOOK_DIR}.")
    os.environ["JUPYTER_PATH"] = os.pathsep.join([str(_kernel_dir()), os.environ.get("JUPYTER_PATH", "")])
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    os.environ.pop("HOPE_LITE_FAST", None)          # the mode is set by FAST alone
    os.environ["HOPE_LITE_STRICT"] = "1"            # default parameters: every taught number must hold
    results = json.loads(args.out.read_text()) if args.out.exists() else {"notebooks": {}}
    import torch

    results["machine"] = {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                          "python": platform.python_version(), "torch": torch.__version__,
                          "platform": platform.platform()}
    for path in notebooks:
        entry = results["notebooks"].setdefault(path.name, {})
        for mode in args.modes:
            load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
            seconds = time_notebook(path, MODES[mode])
            entry[f"{mode}_s"] = round(seconds, 1)
            entry[f"{mode}_load_before"] = None if load is None else round(load, 2)
            entry[f"{mode}_measured"] = time.strftime("%Y-%m-%d %H:%M")
            print(f"{path.name:38s} {mode:9s} {seconds:7.1f} s   (load average before: {load:.2f})", flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")    # after every notebook
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
