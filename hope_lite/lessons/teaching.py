"""Helpers for the notebooks: seeding, FAST presets and exercise checks (``hope_lite.lessons``).

Every notebook has a papermill ``parameters`` cell with ``FAST = False``. CI runs the notebooks
with ``FAST=True``; a learner can get the same short run with ``HOPE_LITE_FAST=1`` in the
environment. ``fast_mode`` merges the two, and ``pick`` chooses a size by mode so that a notebook
reads ``steps = pick(fast=50, full=2000)`` instead of an if/else in every cell.

A notebook checks the numbers it teaches with ``expect(condition, "what was expected, got ...")``:
a note when the condition fails (a student who changed a parameter is exploring, and a run-all must
not stop), an AssertionError in strict mode, which the tests switch on (``HOPE_LITE_STRICT=1``)
when they run a notebook at its default parameters.
"""

from __future__ import annotations

import contextlib
import os
import random
from typing import Any, Callable, Iterator

import numpy as np
import torch

__all__ = ["seed_everything", "seeded", "fast_mode", "pick", "check", "expect", "strict_checks"]

_TRUE_STRINGS = {"1", "true", "yes", "on"}


def seed_everything(seed: int = 0) -> torch.Generator:
    """Seed Python, NumPy and torch (CPU and every CUDA device) and return a torch.Generator.

    The returned generator is seeded too, for code that wants its own stream.
    """
    # NumPy takes seeds below 2**32 only; one range for all three keeps "seed 5" the same everywhere
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be an int in [0, 2**32 - 1], got {seed!r}; pass e.g. seed=0.")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Inside the block torch's global RNG is seeded with ``seed``; after it, the RNG is as it was.

    For building something seeded (a model's initial weights, a random input) without changing
    what later code draws::

        with seeded(0):
            model = NestedToyModel()
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def fast_mode(fast: bool | None = None) -> bool:
    """True when the notebook should run its short (CI) version.

    ``fast`` is the notebook's ``FAST`` parameter; the environment variable ``HOPE_LITE_FAST=1``
    switches FAST mode on as well, so ``HOPE_LITE_FAST=1 jupyter lab`` gives short runs everywhere.
    """
    # bool("no") is True: a string here is a mistake (papermill passes FAST as a Python bool)
    # (``papermill -p FAST 1`` passes the int 1, which is accepted as True)
    if not (fast is None or isinstance(fast, (bool, np.bool_)) or (isinstance(fast, int) and fast in (0, 1))):
        raise TypeError(f"fast must be True, False or None, got {fast!r}; set FAST = True or FAST = False.")
    from_env = os.environ.get("HOPE_LITE_FAST", "").strip().lower() in _TRUE_STRINGS
    return bool(fast) or from_env


def strict_checks() -> bool:
    """True when ``expect`` should raise: the environment variable ``HOPE_LITE_STRICT=1`` (set by the tests)."""
    return os.environ.get("HOPE_LITE_STRICT", "").strip().lower() in _TRUE_STRINGS


def expect(condition: Any, what: str) -> bool:
    """Check a number the notebook teaches: True when it holds; otherwise a note (or, strict, an error).

    ``what`` says what was expected and what came out, e.g.
    ``expect(err < 1e-4, f"retrieval error below 1e-4, got {err:.2g}")``. At a notebook's default
    parameters the tests run it strictly, so a taught number that stops holding fails CI; in a
    classroom a changed parameter only prints the note and the notebook runs on.
    """
    if bool(condition):
        return True
    if strict_checks():
        raise AssertionError(f"expected {what}")
    print(f"Note: expected {what}. That is what the defaults give; with the parameters changed it can "
          f"differ, which is part of exploring, not an error.")
    return False


def pick_device(device: str = "auto") -> str:
    """Where a chapter trains: a notebook's ``DEVICE`` parameter. ``"auto"`` is ``"cuda"`` when a CUDA GPU is
    present (a Colab GPU runtime) and ``"cpu"`` otherwise; ``"cpu"`` and ``"cuda"`` (or ``"cuda:1"``) force one."""
    import torch

    if not isinstance(device, str) or not (device in ("auto", "cpu") or device.split(":")[0] == "cuda"):
        raise ValueError(f"DEVICE must be 'auto', 'cpu' or 'cuda', got {device!r}.")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"DEVICE = {device!r}, but torch sees no CUDA GPU here (torch {torch.__version__}); "
                         "set DEVICE = 'auto' or 'cpu', or on Colab pick a GPU runtime.")
    index = device.partition(":")[2]
    if index and not (index.isdigit() and int(index) < torch.cuda.device_count()):
        raise ValueError(f"DEVICE = {device!r}, but torch sees {torch.cuda.device_count()} CUDA GPU(s), numbered from 0; "
                         "set DEVICE = 'cuda' (the first) or 'auto'.")
    return device


def pick(fast: Any, full: Any, *, fast_flag: bool | None = None) -> Any:
    """Return ``fast`` in FAST mode and ``full`` otherwise (see :func:`fast_mode`)."""
    return fast if fast_mode(fast_flag) else full


def check(
    learner: Callable[..., Any],
    reference: Callable[..., Any],
    *args: Any,
    atol: float = 1e-6,
    rtol: float = 1e-5,
    name: str | None = None,
    **kwargs: Any,
) -> bool:
    """Compare a learner's function with the library's reference on the same inputs.

    Prints a one-line verdict and returns True/False. It never raises for an unfinished stub
    (``NotImplementedError``) or a wrong answer, so a notebook keeps running top to bottom;
    it does raise for a reference that fails, because that is a bug in the notebook itself.
    In strict mode (:func:`strict_checks`, the tests) a function that runs and disagrees with the
    reference raises: that is how the tests catch an exercise's solution drifting from the library.
    """
    label = name or getattr(learner, "__name__", "exercise")
    expected = reference(*args, **kwargs)
    try:
        got = learner(*args, **kwargs)
    except NotImplementedError:
        print(f"[ ] {label}: not done yet - fill in the function above and run this cell again.")
        return False
    except Exception as err:  # the learner's code may raise anything; report it, keep going
        if strict_checks():
            raise AssertionError(f"{label} raised {type(err).__name__}: {err}") from err
        print(f"[x] {label}: your function raised {type(err).__name__}: {err}")
        return False
    ok, detail = _close(got, expected, atol=atol, rtol=rtol)
    print(f"[{'v' if ok else 'x'}] {label}: {'correct' if ok else 'not yet'} - {detail}")
    if not ok and strict_checks():
        raise AssertionError(f"{label} disagrees with the reference: {detail}")
    return ok


def _close(got: Any, expected: Any, *, atol: float, rtol: float) -> tuple[bool, str]:
    """Tolerant comparison of tensors, arrays, numbers and (nested) tuples/lists of them."""
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return False, f"expected a sequence of {len(expected)} items, got {type(got).__name__}"
        for i, (g, e) in enumerate(zip(got, expected)):
            ok, detail = _close(g, e, atol=atol, rtol=rtol)
            if not ok:
                return False, f"item {i}: {detail}"
        return True, f"all {len(expected)} items match"
    try:
        g = torch.as_tensor(np.asarray(got.detach().cpu() if torch.is_tensor(got) else got), dtype=torch.float64)
        e = torch.as_tensor(np.asarray(expected.detach().cpu() if torch.is_tensor(expected) else expected), dtype=torch.float64)
    except (TypeError, ValueError):
        return got == expected, f"expected {expected!r}, got {got!r}"
    if g.shape != e.shape:
        return False, f"expected shape {tuple(e.shape)}, got {tuple(g.shape)}"
    err = (g - e).abs().max().item() if e.numel() else 0.0
    ok = bool(torch.allclose(g, e, atol=atol, rtol=rtol))
    return ok, f"max abs difference {err:.2e}"
