"""lessons.parallel.run_all: in order, in processes, and resumable from the calls it kept."""

from __future__ import annotations

import pickle

import pytest

from hope_lite.lessons.parallel import kept, run_all


def square_and_note(x: int, calls: list | None = None) -> int:
    if calls is not None:
        calls.append(x)
    return x * x


def nothing(x: int) -> None:
    return None


def test_the_results_come_in_the_order_of_the_work_with_one_or_two_processes():
    work = [(x,) for x in (3, 1, 2, 5)]
    assert run_all(square_and_note, work) == [9, 1, 4, 25]
    assert run_all(square_and_note, work, jobs=2) == [9, 1, 4, 25]


def test_kept_calls_are_read_back_and_only_the_missing_ones_run(tmp_path):
    calls: list[int] = []
    first = run_all(square_and_note, [(1, calls), (2, calls)], keep=tmp_path)
    assert first == [1, 4] and calls == [1, 2] and len(list(tmp_path.glob("square_and_note-*.pkl"))) == 2
    # an interrupted command: one call's file is gone, as if it had never finished
    sorted(tmp_path.glob("*.pkl"))[0].unlink()
    calls.clear()
    again = run_all(square_and_note, [(1, calls), (2, calls)], keep=tmp_path)
    assert again == [1, 4] and len(calls) == 1          # only the missing call ran
    calls.clear()
    assert run_all(square_and_note, [(1, calls), (2, calls), (3, calls)], keep=tmp_path) == [1, 4, 9]
    assert calls == [3]                                  # new work runs; kept work does not


def test_kept_calls_resume_with_two_processes_and_a_none_result_counts_as_done(tmp_path):
    assert run_all(square_and_note, [(4,), (5,)], jobs=2, keep=tmp_path) == [16, 25]
    for path in tmp_path.glob("*.pkl"):
        assert pickle.loads(path.read_bytes()) in (16, 25)
    assert run_all(nothing, [(1,)], keep=tmp_path) == [None]
    saved = list(tmp_path.glob("nothing-*.pkl"))
    assert len(saved) == 1 and not list(tmp_path.glob("*.part"))
    assert run_all(nothing, [(1,)], keep=tmp_path) == [None]


def test_kept_names_a_stage_folder_or_nothing(tmp_path):
    assert kept(None, "sweep") is None
    assert kept(tmp_path, "sweep") == tmp_path / "sweep"


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_progress_bar_counts_the_kept_calls_as_done(tmp_path, capsys, jobs):
    run_all(square_and_note, [(1,), (2,)], keep=tmp_path, jobs=jobs)
    capsys.readouterr()
    assert run_all(square_and_note, [(1,), (2,), (3,)], keep=tmp_path, jobs=jobs, progress="squares") == [1, 4, 9]
    err = capsys.readouterr().err
    assert "squares" in err and "3/3" in err
