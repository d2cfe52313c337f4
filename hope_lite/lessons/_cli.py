"""The ``run`` / ``table`` command line that chapter 09's experiment modules share.

    python -m hope_lite.lessons.<module> run --seeds 0 1 2 --jobs 2 --json results/<file>.json
    python -m hope_lite.lessons.<module> table results/<file>.json

A module builds its parser with :func:`experiment_parser` (then adds its own ``run`` options) and hands
:func:`run_command` three functions: how to run (from the parsed arguments and the command line, which goes into
the results file), how to read a results file, and how to print one. Bad input ends in one ``error:`` line that
says what to change, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable, Mapping

import torch


#: flags that change what a run prints, not what it computes: left out of the command a results file records
DISPLAY_ONLY = ("--no-progress",)


def experiment_parser(module: str, description: str, run_help: str, results: str, runs: str | None = None,
                      ) -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """The parser of ``python -m hope_lite.lessons.<module>`` and its ``run`` subparser (``--seeds``, ``--json``,
    ``--jobs``); ``table PATH`` prints a results file. ``results``: the committed file, named in ``--json``'s help;
    ``runs``: where a resumable command keeps its finished runs (adds ``--out``, default ``runs``, and
    ``--no-progress``)."""
    parser = argparse.ArgumentParser(prog=f"python -m hope_lite.lessons.{module}", description=description)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help=run_help)
    run.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    run.add_argument("--json", default=None, help=f"write the results here (the committed file is {results})")
    run.add_argument("--jobs", type=int, default=1, help="processes at a time (one torch thread each)")
    if runs is not None:
        run.add_argument("--out", default=runs,
                         help=f"folder of the saved runs, read back on a rerun (default: {runs})")
        run.add_argument("--no-progress", action="store_true", help="no progress bars over the runs")
    table = sub.add_parser("table", help="print the tables of a results file")
    table.add_argument("path")
    return parser, run


def run_command(parser: argparse.ArgumentParser, argv: list[str] | None, *,
                run: Callable[[argparse.Namespace, str], Mapping[str, Any]],
                load: Callable[[str], Mapping[str, Any]], show: Callable[[Mapping[str, Any]], None],
                threads: int | None = 1) -> int:
    """Parse ``argv`` and either print a results file (``table``) or call ``run(args, command)`` and print what it
    returns, with its wall time. ``threads``: torch threads of this process for ``run`` (1: the runs are small;
    None leaves torch's setting)."""
    args = parser.parse_args(argv)
    try:
        if args.command == "table":
            show(load(args.path))
            return 0
        if threads is not None:
            torch.set_num_threads(threads)
        # the command that wrote the file, less the flags that only change what is printed
        words = [w for w in (sys.argv[1:] if argv is None else argv) if w not in DISPLAY_ONLY]
        command = f"{parser.prog} " + " ".join(words)
        results = run(args, command)
    except (ValueError, FileNotFoundError) as err:
        parser.error(str(err))
    show(results)
    print(f"\nwall time {results['environment']['wall_seconds']:.0f} s" + (f"; wrote {args.json}" if args.json else ""))
    return 0
