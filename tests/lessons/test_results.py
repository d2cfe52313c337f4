"""hope_lite.lessons.results.find_in_repository: the checkout first, then the copies an installed wheel carries."""

from __future__ import annotations

from hope_lite.lessons import results


def test_a_results_file_is_found_in_the_wheel_copies_when_no_checkout_has_it(tmp_path, monkeypatch):
    outside = tmp_path / "somewhere" / "alone"
    outside.mkdir(parents=True)
    committed = tmp_path / "committed"
    committed.mkdir()
    (committed / "07-compare.json").write_text("{}")
    monkeypatch.chdir(outside)
    monkeypatch.setattr(results, "REPOSITORY", tmp_path / "no-checkout")
    monkeypatch.setattr(results, "COMMITTED", committed)
    assert results.find_in_repository("results/07-compare.json") == committed / "07-compare.json"
    assert results.find_in_repository("results/09-mad.json") is None            # not carried: not found
    assert results.find_in_repository("runs/07-compare.json") is None           # only results/ has copies
    (outside / "results").mkdir()
    (outside / "results" / "07-compare.json").write_text("{}")                  # a checkout's file comes first
    assert results.find_in_repository("results/07-compare.json") == outside / "results" / "07-compare.json"
