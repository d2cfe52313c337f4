"""Chapter 08 (the paper's claims): the ablation, context and training figures, the static previews' registry,
and the explorer driven from Python, on small results trained once for the module."""

from __future__ import annotations

import copy
import math

import pytest

from hope_lite.data import corpus_bytes
from hope_lite.lessons.ch08_paper_claims import experiments as ex
from hope_lite.lessons.ch08_paper_claims import figures as vf

pytestmark = pytest.mark.usefixtures("one_thread")

TEXT = (corpus_bytes("pydoc", "train"), corpus_bytes("pydoc", "validation"))
TINY = dict(preset="tiny", steps=3, batch=2, context=32, eval_bytes=256)
RECALL = ex.Recall(steps=2, batch=4, test=16)
LN2 = math.log(2)


def quiet(*_) -> None:
    pass


@pytest.fixture(scope="module")
def hope(one_thread):
    """The whole HOPE table, 2 seeds (8 rows)."""
    return ex.ablation("hope", (0, 1), recall=RECALL, out=None, text=TEXT, log=quiet, **TINY)


@pytest.fixture(scope="module")
def titans(one_thread):
    """Two rows of the Titans table, 2 seeds."""
    return ex.ablation("titans", (0, 1), rows=("full", "no_conv"), recall=RECALL, out=None, text=TEXT, log=quiet,
                       **TINY)


@pytest.fixture(scope="module")
def context(one_thread):
    """Every model of the context figure, 2 seeds, 512-byte documents in blocks of 64."""
    return ex.context_use((0, 1), out=None, text=TEXT, log=quiet, length=512, block=64, **TINY)


def _bars(ax):
    """The axes' bar containers, in drawing order: ours, then the paper's."""
    from matplotlib.container import BarContainer

    return [c for c in ax.containers if isinstance(c, BarContainer)]


def _labels(ax):
    return [t.get_text() for t in ax.get_yticklabels()]


# ---- render_ablation -------------------------------------------------------------------------------


def test_render_ablation_draws_ours_beside_the_papers_for_every_row(hope, no_open_figures):
    fig = vf.render_ablation(hope)
    assert no_open_figures()
    ax, ax2 = fig.axes
    rows = hope["summary"]
    calls = {v["row"]: v for v in hope["verdicts"]}
    full = rows[0]
    for a, metric, column in ((ax, "val_ppl", "ppl"), (ax2, "recall_acc", "acc")):
        ours, paper = _bars(a)
        assert len(ours) == len(paper) == len(rows) == 8
        labels = _labels(a)
        assert labels[0] == "HOPE (full model)"
        assert labels[1:] == [f"{r['label']} — {vf.short_call(calls[r['row']][column]['call'])}" for r in rows[1:]]
        assert ours[0].get_width() == 0 and paper[0].get_width() == 0          # the full model at 0
        # the rows top to bottom in the table's order
        assert [b.get_y() for b in ours] == sorted(b.get_y() for b in ours) and a.get_ylim()[0] > a.get_ylim()[1]
        dots = [line for line in a.lines if line.get_marker() == "o"]
        assert len(dots) == 8 and all(len(line.get_xdata()) == 2 for line in dots)    # a dot per seed
    no_cms = next(r for r in rows if r["row"] == "no_cms")
    i = rows.index(no_cms)
    ours, paper = _bars(ax)
    assert ours[i].get_width() == pytest.approx(100 * (no_cms["val_ppl_mean"] - full["val_ppl_mean"])
                                                / full["val_ppl_mean"])
    assert paper[i].get_width() == pytest.approx(100 * (13.04 - 12.24) / 12.24)
    ours, paper = _bars(ax2)
    assert ours[i].get_width() == pytest.approx(100 * (no_cms["recall_acc_mean"] - full["recall_acc_mean"]))
    assert paper[i].get_width() == pytest.approx(57.3 - 58.1)                      # percentage points
    assert "Nested Learning, Table 6" in fig._suptitle.get_text() and "2 seeds, 3 steps" in fig._suptitle.get_text()
    assert vf.render_ablation(hope, title="mine")._suptitle.get_text() == "mine"


def test_render_ablation_names_diverged_rows_and_draws_no_bar_without_a_mean(hope, titans):
    data = copy.deepcopy(hope)
    gone = next(r for r in data["summary"] if r["row"] == "no_cms")
    gone.update(val_ppl={}, val_ppl_mean=None, val_ppl_std=None, val_bpb={}, val_bpb_mean=None, val_bpb_std=None,
                diverged=2)
    half = next(r for r in data["summary"] if r["row"] == "static_v")
    half.update(val_ppl={"0": half["val_ppl"]["0"]}, val_ppl_std=0.0, diverged=1)
    ax = vf.render_ablation(data).axes[0]
    ours, paper = _bars(ax)
    assert len(ours) == 7 and len(paper) == 8
    assert "w/o CMS — not testable (diverged)" in _labels(ax)
    assert "w/o inner projection v — not testable (diverged: 1 of 2 seeds)" in _labels(ax)
    data["summary"][0].update(val_ppl={}, val_ppl_mean=None, val_ppl_std=None, diverged=2)
    ax = vf.render_ablation(data).axes[0]                      # no full model: nothing to measure a change from
    assert len(_bars(ax)[0]) == 0 and "no finished seed" in ax.get_title()
    assert _labels(ax)[0] == "HOPE (full model) (diverged)"
    fig = vf.render_ablation(titans)
    assert [len(c) for c in _bars(fig.axes[0])] == [2, 2] and "Titans, Table 5" in fig._suptitle.get_text()


def test_render_ablation_draws_a_row_of_your_own(hope):
    data = copy.deepcopy(hope)          # what ablation(TABLES["hope"].with_row(...)) returns: no paper numbers
    data["summary"] = data["summary"][:2]
    data["summary"][1].update(label="mine", paper={"ppl": math.nan, "acc": math.nan})
    data["verdicts"] = ex.verdicts(data)
    ax = vf.render_ablation(data).axes[0]
    ours, paper = _bars(ax)
    assert len(ours) == len(paper) == 2 and paper[1].get_width() == 0
    assert _labels(ax)[1] in ("mine — a gap that counts", "mine — within the seed spread")
    assert any(t.get_text().strip() == "no paper number" for t in ax.texts)


# ---- render_context, render_training ----------------------------------------------------------------


def test_render_context_draws_a_line_per_model_and_the_training_context(context, no_open_figures):
    fig = vf.render_context(context)
    assert no_open_figures()
    ax = fig.axes[0]
    curves = [line for line in ax.lines if line.get_marker() == "o"]
    assert len(curves) == 5 and len(ax.collections) == 5                # a line and a band per model
    assert list(curves[0].get_xdata()) == [64 * (i + 1) for i in range(8)]
    assert curves[0].get_ydata() == pytest.approx([v / LN2 for v in context["models"][0]["loss_mean"]])
    (marker,) = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert list(marker.get_xdata()) == [32, 32]                         # the training context
    two = vf.render_context(context, labels=["HOPE", "Transformer++"]).axes[0]
    assert [line.get_label().split(" (")[0] for line in two.lines if line.get_marker() == "o"] == \
        ["HOPE", "Transformer++"]
    with pytest.raises(ValueError, match="no model"):
        vf.render_context(context, labels=["w/o CMS"])
    with pytest.raises(ValueError, match="empty"):
        vf.render_context(context, labels=[])


def test_render_training_draws_a_line_per_seed(hope, no_open_figures):
    by_label = {r["label"]: [run for run in hope["runs"] if run["row"] == r["row"]] for r in hope["summary"][:3]}
    fig = vf.render_training(by_label)
    assert no_open_figures()
    ax = fig.axes[0]
    assert len(ax.lines) == 6
    run = by_label["HOPE"][0]
    assert list(ax.lines[0].get_xdata()) == [s * 2 * 32 for s in run["train_curve"]["step"]]
    assert ax.lines[0].get_ydata() == pytest.approx([v / LN2 for v in run["train_curve"]["loss"]])
    assert len(vf.render_training(by_label, bytes_per_step=1).axes[0].lines) == 6
    diverged = {"HOPE": [by_label["HOPE"][0], {"seed": 1, "parameters": 1, "diverged": "loss nan at step 2"}],
                "w/o CMS": [{"seed": 0, "parameters": 1, "diverged": "loss nan"}]}
    ax = vf.render_training(diverged).axes[0]
    assert [line.get_label() for line in ax.lines] == ["HOPE (diverged: seed 1)", "w/o CMS (diverged: every seed)"]


def test_bad_input_is_refused_clearly(hope, context):
    with pytest.raises(ValueError, match=r"render_ablation takes .*\(kind 'ablation'\), got 'context'"):
        vf.render_ablation(context)
    with pytest.raises(ValueError, match="render_ablation"):
        vf.render_ablation({})
    with pytest.raises(ValueError, match=r"render_context takes .*\(kind 'context'\), got 'ablation'"):
        vf.render_context(hope)
    with pytest.raises(ValueError, match="render_training"):
        vf.render_training({})
    with pytest.raises(ValueError, match="list of run records"):
        vf.render_training({"HOPE": hope["runs"][0]})


# ---- the static previews ------------------------------------------------------------------------------


def test_figures_registry_and_its_placeholders(hope, titans, context, monkeypatch):
    from hope_lite.lessons import figures

    assert set(vf.FIGURES) == {"08-hope-ablation.png", "08-titans-ablation.png", "08-context.png", "08-claims-explorer.png"}
    assert figures.CHAPTERS[-2:] == ("ch08_paper_claims", "ch09_memory_benchmarks")
    made = {}
    # no committed file: a quick tiny run (stood in for by the module's results), and the title says so
    monkeypatch.setattr(vf, "find_in_repository", lambda path: None)
    monkeypatch.setattr(ex, "ablation", lambda table, seeds, **kw: made.setdefault(table, kw) and
                        {"hope": hope, "titans": titans}[table])
    monkeypatch.setattr(ex, "context_use", lambda seeds, **kw: made.setdefault("context", kw) and context)
    for name in vf.FIGURES:
        fig = vf.FIGURES[name]()
        title = (fig._suptitle or fig.axes[0].title).get_text()
        assert title.startswith("PLACEHOLDER (results/08-") and "not written yet" in title
    assert made["hope"]["out"] is None and made["hope"]["preset"] == "tiny" and made["context"]["length"] == 512
    # a committed file: drawn from it
    monkeypatch.setattr(vf, "find_in_repository", lambda path: path)
    monkeypatch.setattr(ex, "load_results", lambda which: {"hope": hope, "titans": titans, "context": context}[which])
    assert "PLACEHOLDER" not in vf.FIGURES["08-hope-ablation.png"]()._suptitle.get_text()
    assert "PLACEHOLDER" not in vf.FIGURES["08-context.png"]().axes[0].get_title()


# ---- the explorer -------------------------------------------------------------------------------------


def _shown(w) -> str:
    return w.output.outputs[0]["text"].strip()


def _images(w) -> int:
    return sum("image/png" in o.get("data", {}) for o in w.output.outputs)


def test_claims_explorer_follows_the_table_and_the_rows(hope, titans, context, no_open_figures):
    from hope_lite.lessons.ch08_paper_claims.explorer import ClaimsExplorer, explore_paper_claims

    w = explore_paper_claims(hope, titans, context)
    assert isinstance(w, ClaimsExplorer) and no_open_figures()
    assert [type(c).__name__ for c in w.children] == ["ToggleButtons", "SelectMultiple", "Output"]
    assert w.table.value == "hope" and w.rows.value == ("full", "plain_gd", "no_cms")
    assert len(w.rows.options) == 8
    full = hope["summary"][0]
    assert w.text.startswith(f"HOPE: val ppl {full['val_ppl_mean']:.2f} ± {full['val_ppl_std']:.2f} (full model) | "
                             f"DGD → plain GD: val ppl ")
    assert "w/o CMS: val ppl" in w.text and _shown(w) == w.text
    assert _images(w) == 2                            # training, and context use of the three (all in Fig. 10)
    before = w.text
    w.table.value = "titans"                          # a new table: its rows, its defaults (here its two rows)
    assert w.rows.value == ("full", "no_conv") and [label for label, _ in w.rows.options] == \
        ["Titans (LMM)", "w/o convolution"]
    assert w.text != before and w.text.startswith("Titans (LMM): val ppl") and _images(w) == 2
    w.rows.value = ("no_conv",)                       # not in the context figure
    assert w.text.endswith("| none of these rows is in the context figure") and _images(w) == 1
    assert w.text.startswith("w/o convolution: val ppl") and "(ppl " in w.text
    w.table.value = "hope"
    w.rows.value = ()
    assert w.update() == "HOPE table: choose at least one row" and _images(w) == 0
    w.rows.value = ("static_k",)
    assert w.text.startswith("w/o inner projection k:") and _images(w) == 1
    start = explore_paper_claims(hope, titans, context, table="titans", rows=["no_conv"])
    assert start.table.value == "titans" and start.rows.value == ("no_conv",)


def test_claims_explorer_reads_the_committed_files_and_refuses_bad_input(hope, titans, context, monkeypatch):
    from hope_lite.lessons.ch08_paper_claims.explorer import explore_paper_claims

    monkeypatch.setattr(ex, "load_results", lambda which: {"hope": hope, "titans": titans, "context": context}[which])
    assert explore_paper_claims().text.startswith("HOPE: val ppl")
    with pytest.raises(ValueError, match="hope= takes the dict returned by ablation"):
        explore_paper_claims(context, titans, context)
    with pytest.raises(ValueError, match="titans= takes"):
        explore_paper_claims(hope, hope, context)
    with pytest.raises(ValueError, match="context= takes"):
        explore_paper_claims(hope, titans, hope)
    with pytest.raises(ValueError, match="not in the HOPE results"):
        explore_paper_claims(hope, titans, context, rows=["no_conv"])
    with pytest.raises(ValueError, match="unknown initial setting"):
        explore_paper_claims(hope, titans, context, seeds=2)
    with pytest.raises(ValueError, match="table must be one of"):
        explore_paper_claims(hope, titans, context, table="transformer")
