"""Delta momentum's erase strength on the toy landscape (notebook 03, §8): the sweep behind the chapter's verdict.

Does delta momentum beat momentum, and with which erase strength gamma? :func:`erase_study` answers
with the chapter's protocol for every gamma of :data:`.landscape.ERASE_GRID` and, as the baseline with
the same budget, every beta of momentum's :data:`.landscape.MOMENTUM_GRID`: for each setting, the best
of the 18 learning rates from the tuning start, then that setting unchanged from the six starts
(:func:`.landscape.knob_profile`). It does so on two landscapes: the paper's (``"curved"``: a valley
that bends back on itself) and the same valley straightened (``"straight"``, a = 0), which separates
what the erase does in a narrow valley from what it does at a bend. :func:`erase_verdict` reads the
verdict off the measurement, and :func:`verdict_lines` words it.

The full study (about 800 runs of 400 steps) is a command that writes the committed results file
:data:`RESULTS`, which the notebook reads::

    python -m hope_lite.lessons.ch03_deep_optimizers.experiments erase-sweep   # writes results/03-erase-sweep.json

The file records the seconds the command took. The notebook replays delta momentum's stored settings
from every start in FAST mode (:func:`replay_erase_study`) and reruns the whole study in classroom mode.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Sequence

from ..results import find_in_repository, read_results, write_results
from .._args import require_int
from .landscape import (ERASE_GRID, LANDSCAPE, LANDSCAPE_GRID, LANDSCAPE_LRS, LANDSCAPE_STARTS, LANDSCAPE_TOL,
                        MOMENTUM_GRID, knob_profile)

__all__ = ["RESULTS", "FORMAT", "ERASE_LANDSCAPES", "STUDIED", "erase_study", "replay_erase_study",
           "erase_verdict", "verdict_lines", "format_erase_study", "locate", "load_erase_study",
           "save_erase_study", "erase_study_or_load"]

#: the committed results file (relative to the repository root)
RESULTS = "results/03-erase-sweep.json"
FORMAT = 1
COMMAND = "python -m hope_lite.lessons.ch03_deep_optimizers.experiments erase-sweep"
#: the two landscapes of the study: the paper's, whose valley bends, and the same valley straight (a = 0)
ERASE_LANDSCAPES: dict[str, dict[str, float]] = {"curved": {}, "straight": {"a": 0.0}}
#: the two optimizers of the study and the knob each one sweeps (the other hyper-parameters: LANDSCAPE_GRID's)
STUDIED: dict[str, str] = {"delta": "erase", "momentum": "momentum"}


def erase_study(steps: int = 400, *, rows: Sequence[dict] | None = None) -> dict[str, Any]:
    """Delta momentum for every gamma of ERASE_GRID and momentum for every beta of MOMENTUM_GRID, on both landscapes.

    Each setting gets its own best lr of :data:`LANDSCAPE_LRS` from the tuning start and is then run
    from every start of :data:`LANDSCAPE_STARTS` (:func:`.landscape.knob_profile`). ``rows`` (a
    :func:`.landscape.landscape_sweep` of the curved landscape that covers both optimizers' grids,
    e.g. the notebook's) saves the curved sweep. Returns a dict that :func:`save_erase_study` writes
    as JSON: the grids, the starts, ``"landscapes": {name: {"constants", "delta": [...], "momentum":
    [...]}}`` and ``"seconds"``, the wall time it took.
    """
    steps = require_int("steps", steps)
    start = time.perf_counter()
    landscapes = {}
    for name, constants in ERASE_LANDSCAPES.items():
        reuse = rows if name == "curved" else None
        landscapes[name] = {"constants": {**LANDSCAPE, **constants},
                            **{opt: knob_profile(opt, knob, steps=steps, constants=constants, rows=reuse)
                               for opt, knob in STUDIED.items()}}
    return {"format": FORMAT, "command": COMMAND, "steps": steps, "tol": LANDSCAPE_TOL,
            "delta_momentum": LANDSCAPE_GRID["delta"][0]["momentum"], "erase_grid": list(ERASE_GRID),
            "momentum_grid": list(MOMENTUM_GRID), "lrs": list(LANDSCAPE_LRS),
            "starts": [list(s) for s in LANDSCAPE_STARTS], "landscapes": landscapes,
            "seconds": round(time.perf_counter() - start, 1)}


def replay_erase_study(study: dict, landscapes: Sequence[str] = ("curved",), optimizers: Sequence[str] = ("delta",),
                       steps: int | None = None) -> dict:
    """The FAST check of a stored study: every stored (setting, lr) of ``optimizers`` run again from every start.

    The lr choice itself is not redone (that is :func:`erase_study`'s sweep). Returns
    ``{landscape: {optimizer: [...]}}`` in :func:`.landscape.knob_profile`'s form, to compare with
    ``study["landscapes"]``.
    """
    steps = study["steps"] if steps is None else require_int("steps", steps)
    out = {}
    for name in landscapes:
        stored = study["landscapes"][name]
        constants = ERASE_LANDSCAPES[name]
        out[name] = {}
        for opt in optimizers:
            knob = STUDIED[opt]
            settings = [{k: v for k, v in row["hparams"].items() if k != "lr"} for row in stored[opt]]
            out[name][opt] = knob_profile(opt, knob, settings=settings, steps=steps, constants=constants,
                                          best_lrs={row["value"]: row["lr"] for row in stored[opt]})
    return out


def _key(row: dict) -> tuple:
    """The chapter's protocol: fewest steps from the tuning start; never last; ties -> lower final loss."""
    return (row["steps"] is None, row["steps"] or 0, row["final_loss"])


def _never(s: int | None) -> float:
    return math.inf if s is None else s


def erase_verdict(study: dict, landscape: str = "curved") -> dict[str, Any]:
    """What the study says on one landscape, read off the numbers.

    Returns ``{"best" (delta's row the protocol picks: fewest steps from the tuning start),
    "momentum" (momentum's pick), "gain" (1 - delta's median / momentum's median over the starts),
    "fewer_from" (from how many starts the picked delta needs fewer steps than the picked momentum),
    "beating" (the gammas whose median beats momentum's), "gains" ({gamma: gain}), "failing" (the
    gammas that converge from at most one start), "full_erase" (the row with gamma = delta's beta),
    "plain" (the row with gamma = 0, i.e. momentum at delta's beta), "starts" (how many)}``.
    """
    profiles = study["landscapes"][landscape]
    delta, momentum = profiles["delta"], profiles["momentum"]
    best, base = min(delta, key=_key), min(momentum, key=_key)
    gains = {row["value"]: 1 - row["median"] / base["median"] if math.isfinite(row["median"]) else -math.inf
             for row in delta}
    by_value = {row["value"]: row for row in delta}
    return {"landscape": landscape, "best": best, "momentum": base, "gain": gains[best["value"]],
            "fewer_from": sum(_never(d) < _never(m) for d, m in zip(best["per_start"], base["per_start"])),
            "beating": [v for v, g in gains.items() if g > 0], "gains": gains,
            "failing": [row["value"] for row in delta if row["converged"] <= 1],
            "full_erase": by_value.get(study["delta_momentum"]), "plain": by_value.get(0.0),
            "starts": len(study["starts"])}


def _steps(s: int | None) -> str:
    return "never" if s is None else str(s)


def _median(m: float) -> str:
    return "never" if not math.isfinite(m) else f"{m:g}"


def verdict_lines(study: dict) -> list[str]:
    """The verdict in words, one line per finding, every number from ``study`` (printed by the notebook)."""
    c, s = erase_verdict(study, "curved"), erase_verdict(study, "straight")
    best, base, n = c["best"], c["momentum"], c["starts"]
    beating = [v for v in c["beating"]]
    lo, hi = (min(c["gains"][v] for v in beating), max(c["gains"][v] for v in beating)) if beating else (0, 0)
    lines = [
        f"curved valley: the protocol picks erase {best['value']:g} (lr {best['lr']:g}): {_steps(best['steps'])} steps "
        f"from the tuning start against {_steps(base['steps'])} for momentum (beta {base['value']:g}); median over "
        f"{n} starts {_median(best['median'])} against {_median(base['median'])}, {100 * c['gain']:.0f} % fewer, "
        f"fewer steps from {c['fewer_from']} of {n} starts",
        "curved valley: erase strengths whose median beats momentum's: "
        + (", ".join(f"{v:g}" for v in beating) + f" ({100 * lo:.0f}-{100 * hi:.0f} % fewer steps)" if beating
           else "none"),
        "curved valley: converged from at most one start: erase " + (", ".join(f"{v:g}" for v in c["failing"])
                                                                     or "none"),
        f"straight valley: the protocol picks erase {s['best']['value']:g}: {_steps(s['best']['steps'])} steps, "
        f"against {_steps(s['plain']['steps'])} with erase 0 (momentum at beta {study['delta_momentum']:g}) and "
        f"{_steps(s['momentum']['steps'])} for momentum at its own best beta {s['momentum']['value']:g}",
    ]
    return lines


def format_erase_study(study: dict) -> str:
    """The study as a table: one line per setting and landscape (steps from the tuning start, median, converged)."""
    n = len(study["starts"])
    out = [f"{'':>10} {'':>14} {'':>9}  " + "  ".join(f"{name + ' valley':^38}" for name in study["landscapes"]),
           f"{'optimizer':>10} {'knob':>14} {'':>9}  "
           + "  ".join(f"{'best lr':>8} {'tuning start':>12} {'median':>7} {'conv':>7}" for _ in study["landscapes"])]
    for opt, knob in STUDIED.items():
        rows = zip(*(study["landscapes"][name][opt] for name in study["landscapes"]))
        for per_landscape in rows:
            label = f"{'gamma' if knob == 'erase' else 'beta'} {per_landscape[0]['value']:g}"
            out.append(f"{opt:>10} {label:>14} {'':>9}  " + "  ".join(
                f"{r['lr']:>8g} {_steps(r['steps']):>12} {_median(r['median']):>7} {r['converged']:>3} / {n}"
                for r in per_landscape))
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# The results file


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None                                     # inf (never) -> null
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    return obj


def save_erase_study(study: dict, path: str | Path = RESULTS) -> Path:
    """Write ``study`` as JSON (medians and final losses that are infinite become null)."""
    return write_results(path, _jsonable(study))


def locate(path: str | Path = RESULTS) -> Path | None:
    """This chapter's results file (or ``path``) wherever the caller runs (:func:`~hope_lite.lessons.results.find_in_repository`)."""
    return find_in_repository(path)


def load_erase_study(path: str | Path = RESULTS) -> dict:
    """Read a study written by :func:`save_erase_study` (default: the committed :data:`RESULTS`)."""
    study = read_results(path, what="an erase study", fmt=FORMAT, key="landscapes", command=COMMAND)
    for profiles in study["landscapes"].values():
        for opt in STUDIED:
            for row in profiles[opt]:
                row["median"] = math.inf if row["median"] is None else row["median"]
                row["final_loss"] = math.inf if row["final_loss"] is None else row["final_loss"]
    return study


def erase_study_or_load(path: str | Path = RESULTS, steps: int = 400) -> tuple[dict, str]:
    """The committed study if it is there, else the study computed now; and where it came from."""
    found = locate(path)
    if found is not None:
        return load_erase_study(found), str(found)
    return erase_study(steps), "computed now (no " + str(path) + ")"
