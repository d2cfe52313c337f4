"""Chapter 07 (HOPE): the four-model comparison, its JSON and table, the figures and the level explorer."""

from __future__ import annotations

import json
import math

import pytest
import torch

from hope_lite.lessons.ch07_hope import experiments as eh
from hope_lite.lessons.ch07_hope import figures as vh
from hope_lite.data import corpus_bytes
from hope_lite.models import build_model
from hope_lite.train import train

pytestmark = pytest.mark.usefixtures("one_thread")

TEXT = (corpus_bytes("pydoc", "train"), corpus_bytes("pydoc", "validation"))
TINY = dict(preset="tiny", steps=4, batch=2, context=32, eval_bytes=256)
RUN_KEYS = {"model", "seed", "dir", "parameters", "steps", "tokens", "seconds", "val_loss", "val_bpb", "val_ppl",
            "train_curve", "validation"}


def quiet(_: str) -> None:
    pass


# ---- compare(): runs, JSON, resume ----------------------------------------------------------------


def test_compare_tiny_writes_the_json_summary(tmp_path):
    path = tmp_path / "results" / "07.json"
    trained = {}
    results = eh.compare(("hope", "transformer"), (0, 1), out=tmp_path / "runs", json_path=path, text=TEXT,
                         log=quiet, trained=trained, **TINY)
    assert json.loads(path.read_text()) == results
    assert set(results) == {"format", "command", "settings", "models", "seeds", "runs", "summary", "environment"}
    assert results["models"] == ["hope", "transformer"] and results["seeds"] == [0, 1]
    st = results["settings"]
    assert st["steps"] == 4 and st["batch"] == 2 and st["context"] == 32 and st["tokens_per_run"] == 4 * 2 * 32
    assert "model" not in st and "seed" not in st and st["eval_bytes"] == 256
    assert [(r["model"], r["seed"]) for r in results["runs"]] == [("hope", 0), ("hope", 1), ("transformer", 0),
                                                                  ("transformer", 1)]
    for r in results["runs"]:
        assert set(r) == RUN_KEYS
        assert r["steps"] == 4 and r["tokens"] == 256 and r["seconds"] >= 0
        assert r["val_ppl"] == pytest.approx(math.exp(r["val_loss"]))
        assert r["val_bpb"] == pytest.approx(r["val_loss"] / math.log(2))
        assert r["train_curve"]["step"] == [1, 2, 3, 4] and len(r["train_curve"]["loss"]) == 4
        assert r["validation"][-1]["step"] == 4 and r["validation"][-1]["val_loss"] == r["val_loss"]
        assert (tmp_path / "runs" / f"{r['model']}-seed{r['seed']}" / "checkpoint.pt").exists()
    params = [s["parameters"] for s in results["summary"].values()]
    assert max(params) - min(params) <= 0.01 * max(params)              # equal size within 1 %
    s = results["summary"]["hope"]
    assert s["label"] == "HOPE" and s["seeds"] == [0, 1] and len(s["val_ppl"]) == 2
    assert s["val_ppl_mean"] == pytest.approx(sum(s["val_ppl"]) / 2)
    assert s["val_ppl_std"] == pytest.approx(abs(s["val_ppl"][0] - s["val_ppl"][1]) / math.sqrt(2))
    assert set(trained) == {("hope", 0), ("hope", 1), ("transformer", 0), ("transformer", 1)}
    assert results["command"].startswith("python -m hope_lite.lessons.ch07_hope.experiments compare --preset tiny "
                                         "--steps 4")


def test_compare_reads_finished_runs_back_and_resumes_interrupted_ones(tmp_path):
    out = tmp_path / "runs"
    config = eh.run_config("hope", 0, **TINY)
    train(config, out / "hope-seed0", stop_at=2, progress=False, log=quiet, text=TEXT)    # "interrupted"
    logged = []
    first = eh.compare(("hope",), (0,), out=out, text=TEXT, log=logged.append, **TINY)
    assert not any("read back" in line for line in logged)
    fresh = eh.compare(("hope",), (0,), out=None, text=TEXT, log=quiet, **TINY)
    assert first["runs"][0]["val_loss"] == fresh["runs"][0]["val_loss"]            # resumed = never stopped
    assert first["runs"][0]["train_curve"] == fresh["runs"][0]["train_curve"]
    logged.clear()
    again = eh.compare(("hope",), (0,), out=out, text=TEXT, log=logged.append, **TINY)
    assert any("read back" in line for line in logged)
    assert again["runs"] == first["runs"]
    # a run directory that stopped before its first checkpoint starts over
    (out / "hope-seed0" / "checkpoint.pt").unlink()
    assert eh.compare(("hope",), (0,), out=out, text=TEXT, log=quiet, **TINY)["runs"][0]["val_loss"] == \
        first["runs"][0]["val_loss"]
    # other settings in the same folder: refused, nothing overwritten
    with pytest.raises(ValueError, match="different run"):
        eh.compare(("hope",), (0,), out=out, text=TEXT, log=quiet, **{**TINY, "steps": 5})


def test_run_config_shares_everything_but_model_and_seed():
    a, b = eh.run_config("hope", 0, preset="tiny", steps=50), eh.run_config("titans", 3, preset="tiny", steps=50)
    differ = {k for k in a.__dataclass_fields__ if getattr(a, k) != getattr(b, k)}
    assert differ == {"model", "seed"}
    assert a.eval_every == 10 and a.checkpoint_every == 10 and a.warmup == 5


def test_curve_and_seconds_helpers():
    rows = [{"kind": "train", "step": s, "loss": float(s), "seconds": t} for s, t in
            zip(range(1, 7), (1.0, 2.0, 3.0, 0.5, 1.5, 2.5))]                # resumed after step 3
    assert eh._train_seconds(rows) == pytest.approx(5.5)
    curve = eh._curve(rows, points=3)
    assert curve == {"step": [2, 4, 6], "loss": [1.5, 3.5, 5.5]}


# ---- the table, the verdict, loading -------------------------------------------------------------


def _fake_results() -> dict:
    runs = [{"model": m, "seed": s, "parameters": 1000 + i, "seconds": 10.0 * (i + 1), "val_ppl": p,
             "val_bpb": math.log2(p)} for i, (m, ps) in enumerate({"hope": (3.0, 3.2), "transformer": (3.5, 3.4)}.items())
            for s, p in zip((0, 1), ps)]
    return {"seeds": [0, 1], "summary": eh.summarize(runs), "runs": runs,
            "settings": {"preset": "small", "corpus": "pydoc", "steps": 10, "batch": 8, "context": 256,
                         "tokens_per_run": 20480, "eval_bytes": 16384}}


def test_format_table_is_markdown_with_one_row_per_model():
    text = eh.format_table(_fake_results())
    lines = text.splitlines()
    assert lines[0] == ("| model | params | val ppl (seed 0) | val ppl (seed 1) | val ppl mean ± std | "
                        "val bits/byte (mean) | s/run |")
    assert lines[1].startswith("|---|---:|")
    assert lines[2].startswith("| HOPE | 1,000 | 3.000 | 3.200 | 3.100 ± 0.141 |")
    assert lines[3].startswith("| Transformer++ | 1,001 | 3.500 | 3.400 | 3.450 ± 0.071 |")
    assert all(line.count("|") == 8 for line in lines[:4])
    with pytest.raises(ValueError, match="compare"):
        eh.format_table({"runs": []})


def test_verdict_ranks_and_weighs_the_gap_against_the_seed_spread():
    text = eh.verdict(_fake_results())
    assert text.splitlines()[0].startswith("ranking by mean validation perplexity (lower is better): HOPE 3.100 <")
    assert "more than twice the larger seed std" in text and "(0.5x)" in text


def test_load_results_says_which_command_writes_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="python -m hope_lite.lessons.ch07_hope.experiments compare"):
        eh.load_results(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": 99}')
    with pytest.raises(ValueError, match="format"):
        eh.load_results(bad)


def test_cli_compare_then_table(tmp_path, capsys):
    path = tmp_path / "r.json"
    assert eh.main(["compare", "--preset", "tiny", "--steps", "2", "--batch", "2", "--context", "32", "--models",
                    "transformer", "--seeds", "0", "--out", str(tmp_path / "runs"), "--json", str(path)]) == 0
    out = capsys.readouterr().out
    assert "| Transformer++ |" in out and "| model | params | val ppl (seed 0) |" in out and path.exists()
    assert eh.main(["table", str(path)]) == 0
    assert "| Transformer++ |" in capsys.readouterr().out


# ---- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs,match", [
    (dict(models=("hope", "gpt")), "unknown model"),
    (dict(models=()), "at least one"),
    (dict(models=("hope", "hope")), "repeat"),
    (dict(seeds=()), "seeds"),
    (dict(seeds=(0, -1)), "seeds"),
    (dict(seeds=(1, 1)), "repeat"),
    (dict(preset="huge"), "preset"),
    (dict(steps=0), "steps"),
    (dict(steps=-3), "steps"),
    (dict(steps=2.5), "steps"),
    (dict(batch=0), "batch"),
    (dict(context=0), "context"),
    (dict(corpus="nope"), "corpus"),
])
def test_compare_refuses_bad_input_before_training(kwargs, match, tmp_path):
    with pytest.raises(ValueError, match=match):
        eh.compare(**{"out": tmp_path, "text": TEXT, "log": quiet, "preset": "tiny", "steps": 2, **kwargs})
    assert not any(tmp_path.iterdir())                       # nothing was started


@pytest.mark.parametrize("argv", [["compare", "--models", "gpt"], ["compare", "--steps", "0"],
                                  ["compare", "--preset", "huge"], ["table", "/nonexistent/07.json"]])
def test_cli_reports_bad_input(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        eh.main(argv)
    assert exc.value.code == 2 and "error" in capsys.readouterr().err


# ---- the level stream and the figures ------------------------------------------------------------


@pytest.mark.parametrize("kind", ["hope", "hope-attention", "titans"])
@pytest.mark.parametrize("chunk", [5, 24, 64])
def test_level_stream_counts_equal_the_declared_periods(kind, chunk):
    torch.manual_seed(0)
    stream = eh.LevelStream(build_model(kind, "tiny"), TEXT[1][:201], chunk)
    assert stream.read(2) == min(2 * chunk, 200)
    stream.read(100)
    assert stream.position == 200 and stream.calls[-1] == 200 and len(stream.bits) == len(stream.calls)
    assert stream.counts() == stream.expected() == [200 // lv.period for lv in stream.levels]
    assert stream.levels and all(c > 0 for c in stream.counts())


def test_level_stream_refuses_bad_input():
    model = build_model("hope", "tiny")
    with pytest.raises(ValueError, match="1-D"):
        eh.LevelStream(model, torch.zeros(2, 5, dtype=torch.long))
    with pytest.raises(ValueError, match="chunk"):
        eh.LevelStream(model, torch.zeros(10, dtype=torch.long), 0)


def test_figures(no_open_figures):
    stream = eh.LevelStream(build_model("hope", "tiny"), TEXT[1][:129], 16)
    stream.read(3)
    fig = vh.render_level_stream(stream, tokens=128)
    assert len(fig.axes) == 3 and no_open_figures()             # timeline, counts, colour bar
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[:6] == ["b0 Titans memory (C=8)", "b0 Titans k (C=8)", "b0 Titans v (C=8)", "b0 Titans η (C=8)",
                          "b0 Titans α (C=8)", "b0 CMS 1 (C=4)"]
    assert len(vh.render_level_stream(stream, blocks=[1]).axes[0].get_yticks()) == 7
    with pytest.raises(ValueError, match="no levels"):
        vh.render_level_stream(stream, blocks=[5])
    empty = eh.LevelStream(build_model("transformer", "tiny"), TEXT[1][:64], 16)
    with pytest.raises(ValueError, match="no token-clock levels"):
        vh.render_level_stream(empty)
    fig = vh.render_compare(_fake_results() | {"runs": [
        {**r, "train_curve": {"step": [5, 10], "loss": [4.0, 3.0]},
         "validation": [{"step": 10, "val_bpb": r["val_bpb"]}]} for r in _fake_results()["runs"]]})
    assert len(fig.axes) == 3 and no_open_figures()
    with pytest.raises(ValueError, match="compare"):
        vh.render_compare({})
    assert vh.level_label("blocks.2.cms.blocks.0.memory") == "b2 CMS 1"
    assert vh.level_label("blocks.0.mixer.alpha") == "b0 Titans α"
    from hope_lite.lessons.figures import all_figures

    assert set(vh.FIGURES) == {"07-compare.png", "07-levels.png"} and set(vh.FIGURES) <= set(all_figures())


# ---- the explorer, driven from Python ------------------------------------------------------------


def _shown(w) -> str:
    return "".join(o.get("text", "") for o in w.output.outputs if o["output_type"] == "stream")


def test_hope_levels_explorer_reads_call_after_call(no_open_figures):
    import ipywidgets as widgets

    from hope_lite.lessons.ch07_hope.explorer import HopeLevelsExplorer, explore_hope_levels

    torch.manual_seed(0)
    model = build_model("hope", "tiny")
    w = explore_hope_levels(model, TEXT[1], tokens=128, chunk=16, calls=2)
    assert isinstance(w, HopeLevelsExplorer) and w.tokens == 128
    assert [type(c).__name__ for c in w.children] == ["HBox", "IntSlider", "Dropdown", "Output"]
    assert isinstance(w.children[0].children[0], widgets.Play) and w.calls.max == 8
    assert _shown(w).startswith("read 32 of 128 tokens in 2 calls of 16 |")
    assert "recorded == position // period for 14 of 14 levels" in w.text
    stream = w.stream
    w.calls.value = 5                                  # more calls: the same stream reads on
    assert w.stream is stream and stream.position == 80 and "read 80 of 128" in w.text
    assert stream.counts() == stream.expected()
    w.calls.value = 1                                  # fewer: start over
    assert w.stream is not stream and w.stream.position == 16
    w.chunk.value = 48                                 # a new chunk size: fewer calls fit
    assert w.calls.max == 3 and w.play.max == 3 and "calls of 48" in w.text
    w.calls.value = 3
    assert "read 128 of 128 tokens in 3 calls of 48" in w.text and "14 of 14 levels" in w.text
    w.blocks.value = "block 1"
    text = w.update()
    assert text == w.text and len(w.output.outputs) == 2 and no_open_figures()
    w.calls.value = 0
    assert "read 0 of 128" in w.text
    with pytest.raises(ValueError, match="unknown"):
        explore_hope_levels(model, TEXT[1], nope=1)
    with pytest.raises(ValueError, match="blocks"):
        explore_hope_levels(model, TEXT[1], blocks="block 9")
    with pytest.raises(ValueError, match="chunk"):
        explore_hope_levels(model, TEXT[1], chunk=1000)


def test_hope_levels_explorer_takes_a_string_and_a_model_without_levels():
    from hope_lite.lessons.ch07_hope.explorer import explore_hope_levels

    w = explore_hope_levels(build_model("transformer", "tiny"), "def f(x):\n    return x\n" * 4, chunk=16)
    assert "0 updates of 0 levels" in w.text and "no in-context levels" in _shown(w)
