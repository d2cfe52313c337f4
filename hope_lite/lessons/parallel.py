"""Running many independent training runs at once, one process and one torch thread each.

Chapters 08 and 09 train dozens of small runs (rows x seeds, tasks x models x seeds). On a 2-core
machine two processes with one thread each finish sooner than one process with two threads: small
tensors do not keep two threads busy. Every run is a function call on its own arguments, so the
numbers do not depend on how many run at once (each chapter tests this).
"""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

__all__ = ["run_all", "kept"]


def _one_thread() -> None:
    """A worker process: one torch thread, so that N workers share N cores without contention."""
    torch.set_num_threads(1)


def _call(job: tuple) -> Any:
    function, args = job
    return function(*args)


def run_all(function: Callable[..., Any], work: Sequence[tuple], *, jobs: int = 1, progress: str | None = None,
            keep: str | Path | None = None) -> list:
    """``[function(*args) for args in work]``, in order, with ``jobs`` processes at a time when ``jobs > 1``.

    ``function`` and its arguments must then be picklable (a module-level function; ``print`` as a
    logger is). ``progress``: the label of a tqdm bar over the runs, or None for no bar.

    ``keep``: a folder where every finished call is saved as it finishes (a pickle named after the function and its
    arguments) and read back on a rerun, so an interrupted command resumes where it stopped. Only the arguments name
    a saved call: after changing the code a run calls, delete the folder.
    """
    saved = [None if keep is None else Path(keep) / _saved_name(function, args) for args in work]
    results: list[Any] = [_UNDONE] * len(work)
    for i, path in enumerate(saved):
        if path is not None and path.exists():
            results[i] = pickle.loads(path.read_bytes())
    todo = [i for i, r in enumerate(results) if r is _UNDONE]

    def finished(i: int, result: Any) -> None:
        results[i] = result
        if saved[i] is not None:                 # written whole, then renamed: never half a file
            saved[i].parent.mkdir(parents=True, exist_ok=True)
            part = saved[i].with_suffix(".part")
            part.write_bytes(pickle.dumps(result))
            part.replace(saved[i])
        if bar is not None:
            bar.update(1)

    bar = None
    if progress is not None:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(work), initial=len(work) - len(todo), desc=progress, unit="run")
    try:
        if jobs == 1:
            for i in todo:
                finished(i, function(*work[i]))
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                                     initializer=_one_thread) as pool:
                for i, result in zip(todo, pool.map(_call, [(function, work[i]) for i in todo])):  # in order
                    finished(i, result)
    finally:
        if bar is not None:
            bar.close()
    return results


#: a call not done yet (None is a result a function may return)
_UNDONE = object()


def _saved_name(function: Callable[..., Any], args: tuple) -> str:
    """The file of one saved call: the function's name and a digest of its pickled arguments."""
    return f"{function.__name__}-{hashlib.sha256(pickle.dumps(args)).hexdigest()[:20]}.pkl"


def kept(folder: str | Path | None, stage: str) -> Path | None:
    """Where one stage of an experiment keeps its finished calls (``folder / stage``), or None when nothing is kept."""
    return None if folder is None else Path(folder) / stage
