"""Chapter 07 (HOPE): the four-model comparison, its JSON and table, the figures and the level explorer, the
variants of the capstone, and the notebook's stated numbers against the code."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

import torch

from hope_lite.lessons.ch07_hope import experiments as eh
from hope_lite.lessons.ch07_hope import figures as vh
from hope_lite.lessons.interactive import is_plotly, mime_bundle
from hope_lite.data import corpus_bytes
from hope_lite.models import build_model
from hope_lite.self_modifying import SelfModifyingTitans
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
    assert is_plotly(fig) and [d.type for d in fig.data] == ["scatter", "bar", "scatter"]   # ticks, counts, expected
    labels = list(fig.layout.yaxis.ticktext)
    assert labels[:6] == ["b0 Titans memory (C=8)", "b0 Titans k (C=8)", "b0 Titans v (C=8)", "b0 Titans η (C=8)",
                          "b0 Titans α (C=8)", "b0 CMS 1 (C=4)"]
    # one tick per recorded update, and its hover text names the level of its row
    ticks = fig.data[0]
    assert len(ticks.x) == sum(stream.counts()) == sum(fig.data[1].x)
    assert all(labels[int(row)] == name for row, (name, _) in zip(ticks.y, ticks.customdata))
    assert dict(zip(labels, fig.data[2].x)) == {f"{vh.level_label(n)} (C={lv.period})": e
                                                for n, lv, e in zip(stream.names(), stream.levels, stream.expected())}
    one = vh.render_level_stream(stream, blocks=[1])
    assert len(one.layout.yaxis.tickvals) == 7
    # one block: rows without the block prefix, in the projector font (17 px); every block: smaller
    assert list(one.layout.yaxis.ticktext)[:2] == ["Titans memory (C=8)", "Titans k (C=8)"]
    assert one.layout.yaxis.tickfont.size == 17 and fig.layout.yaxis.tickfont.size == 11
    assert "of block 1" in one.layout.annotations[0].text and "7 of 7 equal" in one.layout.annotations[1].text
    assert vh.render_level_stream(stream, blocks=[1], fontsize=20).layout.yaxis.tickfont.size == 20
    assert json.dumps(mime_bundle(one))                       # what an explorer shows: plain JSON
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
    assert [type(c).__name__ for c in w.children] == ["HBox", "IntSlider", "ToggleButtons", "Output"]
    assert isinstance(w.children[0].children[0], widgets.Play) and w.calls.max == 8
    assert w.blocks.options == ("block 0", "block 1", "all") and w.blocks.value == "block 0"   # one block by default
    assert _shown(w).startswith("read 32 of 128 tokens in 2 calls of 16 |")
    assert "recorded == position // period for 14 of 14 levels | showing block 0 (7 levels)" in w.text
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
    assert "showing block 1 (7 levels)" in text and "14 of 14 levels" in text    # the check covers every block
    w.blocks.value = "all"
    assert "showing all (14 levels)" in w.text
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


def test_the_explorers_defaults_show_one_block():
    assert eh.HOPE_LEVELS_EXPLORER_DEFAULTS["blocks"] == "block 0"
    assert vh.LEVELS_PREVIEW["blocks"] == [0]             # the static preview shows what the explorer shows first


# ---- variants (the capstone), the command rebuilt from a summary, a window's reach -----------------


@pytest.fixture
def presets():
    """hope_lite.models.PRESETS as it was after the test: a test's variants do not leak into other tests."""
    from hope_lite.models import PRESETS

    before = dict(PRESETS)
    yield PRESETS
    PRESETS.clear()
    PRESETS.update(before)


def test_variant_presets_are_named_registered_and_checked(presets):
    name = eh.variant_preset("tiny", cms_periods=[8, 16, 32], cms_variant="independent")
    assert name == "tiny+cms_periods=8-16-32+cms_variant=independent" and name in presets
    assert presets[name].cms_periods == (8, 16, 32) and presets[name].cms_variant == "independent"
    assert presets[name].width == presets["tiny"].width and presets[name].depth == presets["tiny"].depth
    assert eh.variant_preset("tiny", cms_variant="independent", cms_periods=(8, 16, 32)) == name   # one name
    assert eh.variant_preset("tiny", cms_periods=(4, 16)) == "tiny"          # no change: the preset itself
    assert eh.describe_preset(name) == ("tiny", {"cms_periods": (8, 16, 32), "cms_variant": "independent"})
    assert eh.describe_preset("small") == ("small", {})
    del presets[name]
    assert eh.ensure_preset(name) == name and name in presets           # a new process registers it from its name
    for bad, match in [(dict(cms_periods=(8, 12)), "multiple"), (dict(cms_variant="x"), "variant"),
                       (dict(chunk_size=0), "chunk_size"), (dict(width=64), "changes only")]:
        with pytest.raises(ValueError, match=match):
            eh.variant_preset("tiny", **bad)
    with pytest.raises(ValueError, match="base"):
        eh.variant_preset(name, cms_learning_rate=0.5)
    with pytest.raises(ValueError, match="field"):
        eh.ensure_preset("tiny+width=64")
    with pytest.raises(ValueError, match="is not written"):
        eh.ensure_preset("tiny+cms_variant=independent+cms_periods=8-16-32")    # not the canonical order


def test_a_variant_trains_on_the_same_bytes_with_the_same_size(presets):
    """What the capstone says: equal size (parameter-matched again), the same TrainConfig but the preset (so the
    same bytes in the same order), and the same initial weights when the shapes do not change."""
    from hope_lite.models import count_parameters

    same_shapes = eh.variant_preset("small", cms_periods=(16, 32, 64))
    for changes in (dict(cms_periods=(16, 32, 64)), dict(cms_periods=(16, 64)), dict(cms_variant="independent"),
                    dict(projection_chunk_size=16)):
        variant = eh.variant_preset("small", **changes)
        with torch.device("meta"):
            sizes = [count_parameters(build_model(k, p)) for k, p in (("hope", variant), ("transformer", "small"))]
        assert abs(sizes[0] - sizes[1]) <= 0.01 * sizes[1], (changes, sizes)
        a, b = eh.run_config("hope", 0, preset="small"), eh.run_config("hope", 0, preset=variant)
        assert {k for k in a.__dataclass_fields__ if getattr(a, k) != getattr(b, k)} == {"preset"}
    torch.manual_seed(0)
    base = build_model("hope", "small").state_dict()
    torch.manual_seed(0)
    mine = build_model("hope", same_shapes).state_dict()
    assert all(torch.equal(base[k], mine[k]) for k in base)


def _read_back(command: str):
    """A command line of the chapter, parsed by its own parser: (the preset it trains, the parsed arguments)."""
    words = command.split()
    assert words[:4] == ["python", "-m", "hope_lite.lessons.ch07_hope.experiments", "compare"], command
    args = eh.build_parser().parse_args(words[3:])
    return eh.preset_of(args), args


def test_the_command_of_a_summary_is_todays_and_writes_it(presets, tmp_path):
    committed = eh.load_results()
    command = eh.command_line(committed)
    assert "hope_lite.experiments_hope" not in command               # the recorded string may be older
    preset, args = _read_back(command)
    config = eh.run_config("hope", 0, preset=preset, steps=args.steps, batch=args.batch, context=args.context,
                           corpus=args.corpus, **{k: getattr(args, k) for k in ("lr", "eval_bytes")
                                                  if getattr(args, k) is not None})
    settings = {k: v for k, v in committed["settings"].items() if k != "tokens_per_run"}
    assert {k: getattr(config, k) for k in settings} == settings
    assert args.models == committed["models"] and args.seeds == committed["seeds"]
    assert args.out == "runs/compare" and args.json == eh.RESULTS
    # a variant's command: the options that make it, read back to the same preset; compare() records it
    variant = eh.variant_preset("tiny", cms_periods=(8, 16), chunk_size=4)
    results = eh.compare(("hope",), (0,), out=None, text=TEXT, log=quiet, **{**TINY, "preset": variant})
    assert "--preset tiny --cms-periods 8 16 --chunk-size 4 " in results["command"]
    assert "--eval-bytes 256" in results["command"] and results["command"] == eh.command_line(results)
    assert _read_back(results["command"])[0] == variant
    assert "CMS periods" in eh.format_variants({"a": results}) and "`tiny+cms_periods=8-16+chunk_size=4`" in \
        eh.format_variants({"a": results})
    with pytest.raises(ValueError, match="no 'titans' runs"):
        eh.format_variants({"a": results}, model="titans")


def test_cli_trains_a_variant(presets, tmp_path, capsys):
    assert eh.main(["compare", "--preset", "tiny", "--cms-periods", "8", "16", "--steps", "2", "--batch", "2",
                    "--context", "32", "--eval-bytes", "64", "--models", "hope", "--seeds", "0",
                    "--out", str(tmp_path / "runs"), "--json", str(tmp_path / "v.json")]) == 0
    results = eh.load_results(tmp_path / "v.json")
    assert results["settings"]["preset"] == "tiny+cms_periods=8-16" and results["settings"]["eval_bytes"] == 64
    assert (tmp_path / "runs" / "hope-seed0" / "checkpoint.pt").exists()
    capsys.readouterr()
    with pytest.raises(SystemExit):
        eh.main(["compare", "--preset", "tiny", "--cms-periods", "8", "12", "--steps", "2"])
    assert "multiple" in capsys.readouterr().err


@pytest.mark.parametrize("context", [5, 24, 40])
def test_window_reach_is_what_switching_a_level_off_changes(context):
    """eh.window_reach (§5 and Exercise 4): the positions whose CMS output changes when one level's in-context
    updates are switched off."""
    from hope_lite.cms import ContinuumMemory

    torch.manual_seed(0)
    cms = ContinuumMemory(16, (4, 8, 16))
    h = torch.randn(1, context, 16)
    with torch.no_grad():
        as_is = cms(h)[0]
        measured = []
        for level in cms.blocks:
            rate, level.learning_rate = level.learning_rate, 0.0
            frozen = cms(h)[0]
            level.learning_rate = rate
            measured.append(int(((as_is - frozen).abs().amax(-1) > 1e-6).sum()))
    reach = eh.window_reach(cms.periods, context)
    assert [r["reading"] for r in reach] == measured
    assert [r["updates"] for r in reach] == [context // C for C in cms.periods]


# ---- the notebook's sentences, against the code (docs/teaching.md: every stated number is checked) ----------

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "07_hope.ipynb"


def _cell(cell_id: str = None, tag: str = None) -> str:
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    found = [c for c in cells if (cell_id is not None and c["id"] == cell_id)
             or (tag is not None and tag in c["metadata"].get("tags", []))]
    assert found, f"no cell {cell_id or tag!r} in {NOTEBOOK.name}"
    return " ".join("".join(found[0]["source"]).split())            # one line, single spaces


def test_section_1_writes_the_equations_the_library_computes():
    """§1: every memory reads its own input u = conv(x W), generates k, v, eta, alpha at the chunk anchor, and the
    output memory is read after its write (M_memory,t, not the paper's M_memory,t-1)."""
    text = _cell("c2b5be38")
    assert r"u_{\square,t} = \mathrm{conv}_\square(x\,W_\square)_t" in text
    assert r"k_t = \ell_2\big(\mathcal M_{k,A}(u_{k,t})\big)" in text and r"\mathcal M_{\text{memory},t}(q_t)" in text
    assert "read after its write" in text.replace("**", "")
    doc = " ".join(SelfModifyingTitans.__doc__.split())
    assert "u_m,t = conv(x W_m)_t" in doc and "y_t = M_memory,t(q_t)" in doc and "k_t = l2norm(M_k,A(u_k,t))" in doc
    # numerically: with chunk sizes 1 (the per-token rule), token 0's read is the memory after token 0's write
    from hope_lite.deep_memory import mlp_forward
    from hope_lite.layers import unit_norm

    torch.manual_seed(0)
    layer = SelfModifyingTitans(8, heads=1, chunk_size=1, projection_chunk_size=1).double()
    x = torch.randn(1, 1, 8, dtype=torch.float64)
    u = layer.conv(layer.inputs(x), None)[0].view(1, 1, len(layer.roles), 1, 8).permute(2, 0, 3, 1, 4).reshape(
        len(layer.roles), 1, 1, 8)
    start = layer.init_state(1, torch.float64)
    y, _, new = layer._reference(u[:len(layer.projections)], {"q": u[-1]}, start, 1, True)   # static inputs
    q = unit_norm(u[-1])[:, 0]
    assert torch.allclose(y[:, 0], mlp_forward(new.memory, q, residual=True))            # after the write
    assert not torch.allclose(y[:, 0], mlp_forward(start.memory, q, residual=True))      # not before it


def test_stated_numbers_of_the_header_and_the_parameters_cell():
    from hope_lite.models import count_parameters

    committed = eh.load_results()
    minutes = committed["environment"]["wall_seconds"] / 60
    said = float(re.search(r"computed once by a command \(about (\d+) minutes\)", _cell("f9ab1ae0")).group(1))
    assert abs(said - minutes) <= 0.15 * minutes, (said, minutes)
    with torch.device("meta"):
        small = count_parameters(build_model("hope", "small"))
    assert '"small" (about 1.1M parameters)' in _cell("0c17aebe") and round(small / 1e6, 1) == 1.1


def test_section_4_sentences():
    from hope_lite.models import PRESETS

    small = PRESETS["small"]
    with torch.device("meta"):
        model = build_model("hope", "small")
    # "at the `small` preset its period is the length of this stream, so it updates once, at the very last token"
    assert "at the `small` preset its period is the length of this stream" in _cell("1d118848")
    assert eh.stream_tokens(model) == max(small.cms_periods)
    # the static preview
    p = vh.LEVELS_PREVIEW
    assert (f"an untrained `{p['preset']}` HOPE reading {p['tokens']:,} bytes in calls of {p['chunk']}, "
            f"block {p['blocks'][0]} shown") in _cell("1d118848")
    # Think! answer 1: in-context updates per 1,024 tokens at the small preset
    per_block = [1024 // small.chunk_size] + [1024 // small.projection_chunk_size] * 4 + \
                [1024 // C for C in small.cms_periods]
    memories = 1 + len(SelfModifyingTitans.PROJECTIONS)
    expected = (f"Per block: {memories} self-modifying memories × {1024 // small.chunk_size} updates + CMS "
                + " + ".join(str(1024 // C) for C in small.cms_periods) + f" = {sum(per_block)}; with {small.depth} "
                f"blocks {small.depth * sum(per_block)} updates per 1,024 tokens")
    assert small.chunk_size == small.projection_chunk_size and expected in _cell("d4425ead")
    # check your understanding 5: a period of 64, 200 tokens in calls of 30
    stream = eh.LevelStream(_LevelToy(64), torch.zeros(201, dtype=torch.long), chunk=30)
    stream.read(100)
    times = stream.recorder.events[stream.names()[0]].all_times().tolist()
    assert "$\\lfloor 200/64 \\rfloor = 3$ updates, at stream positions 63, 127 and 191" in _cell("52545868")
    assert times == [63, 127, 191]


class _LevelToy(torch.nn.Module):
    """The smallest model with one token-clock level: a ContinuumMemory of one level of period C."""

    def __init__(self, period: int) -> None:
        super().__init__()
        from hope_lite.cms import ContinuumMemory

        self.embed = torch.nn.Embedding(256, 8)
        self.memory = ContinuumMemory(8, (period,))

    def forward(self, tokens, state=None):
        y, state = self.memory(self.embed(tokens), state=state)
        return torch.zeros(*tokens.shape, 256), state


def test_section_5_sentences_hold_for_the_committed_comparison():
    from hope_lite.models import PRESETS

    committed = eh.load_results()
    st, text = committed["settings"], _cell("4379b760")
    periods = PRESETS[st["preset"]].cms_periods
    assert (f"the `{st['preset']}` preset's periods {periods[0]}, {periods[1]} and {periods[2]}, windows of "
            f"{st['context']} bytes") in text
    reach = eh.window_reach(periods, st["context"])
    assert [r["updates"] for r in reach] == [4, 1, 0] and [r["reading"] > 0 for r in reach] == [True, False, False]
    assert "level 1 updates 4 times, level 2 once, at the last byte (no byte of the window reads the result), " \
           "level 3 never" in text
    # "several times slower" (§5) and "several times longer per step" (§2's Think!)
    s = committed["summary"]
    assert s["hope"]["seconds_mean"] / s["transformer"]["seconds_mean"] > 2.5
    assert "several times slower" in text and "several times longer per step" in _cell("91efd60d")


def test_the_capstone_is_a_scaffold_with_code():
    assert _cell(tag="capstone").startswith("## 6 · Capstone")
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    capstone = [c for c in cells if "capstone" in c["metadata"].get("tags", [])]
    assert [c["cell_type"] for c in capstone] == ["markdown", "code"]
    src = "".join(capstone[1]["source"])
    assert "eh.variant_preset(PRESET, **MY_CHANGES)" in src and "eh.compare(" in src and "eh.command(" in src
    assert set(re.findall(r"`(\w+)`", _cell(tag="capstone"))) >= set(eh.VARIANT_FIELDS)


def test_readme_shows_the_committed_comparison():
    """README's table and run time are the committed results file's, as format_table prints them."""
    from pathlib import Path
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    committed = eh.load_results(eh.RESULTS)
    assert eh.format_table(committed) in readme
    minutes = committed["environment"]["wall_seconds"] / 60
    assert f"in one command ({minutes:.0f} minutes on the 2-core development CPU" in readme
