"""Running many independent training runs at once, one process and one torch thread each.

Chapters 08 and 09 train dozens of small runs (rows x seeds, tasks x models x seeds). On a 2-core
machine two processes with one thread each finish sooner than one process with two threads: small
tensors do not keep two threads busy. Every run is a function call on its own arguments, so the
numbers do not depend on how many run at once (each chapter tests this).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch

__all__ = ["run_all"]


def _one_thread() -> None:
    """A worker process: one torch thread, so that N workers share N cores without contention."""
    torch.set_num_threads(1)


def _call(job: tuple) -> Any:
    function, args = job
    return function(*args)


def run_all(function: Callable[..., Any], work: Sequence[tuple], *, jobs: int = 1, progress: str | None = None) -> list:
    """``[function(*args) for args in work]``, in order, with ``jobs`` processes at a time when ``jobs > 1``.

    ``function`` and its arguments must then be picklable (a module-level function; ``print`` as a
    logger is). ``progress``: the label of a tqdm bar over the runs, or None for no bar.
    """
    bar = None
    if progress is not None:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(work), desc=progress, unit="run")
    results = []
    try:
        if jobs == 1:
            for args in work:
                results.append(function(*args))
                if bar is not None:
                    bar.update(1)
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                                     initializer=_one_thread) as pool:
                for result in pool.map(_call, [(function, args) for args in work]):    # in the order of work
                    results.append(result)
                    if bar is not None:
                        bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return results
