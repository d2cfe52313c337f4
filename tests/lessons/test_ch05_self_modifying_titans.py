"""Chapter 05 (self-modifying Titans): the remap task, the small models, the figures and the explorer."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
import torch

from hope_lite import SelfModifyingTitans

from hope_lite.lessons.ch05_self_modifying_titans import experiments as ex
from hope_lite.lessons.ch05_self_modifying_titans import figures as vsm
from hope_lite.lessons.links import notebook_url

from notebook_text import NotebookText, default  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")


# ---- the task -------------------------------------------------------------------------------

def test_remap_batch_layout_and_answers():
    b = ex.make_remap_batch(64, **ex.REMAP_TASK, generator=torch.Generator().manual_seed(0))
    n, m, nk = ex.REMAP_TASK["n_pairs"], ex.REMAP_TASK["n_queries"], ex.REMAP_TASK["n_keys"]
    half = 2 * n + m
    assert b.tokens.shape == b.targets.shape == (64, 2 * half) and b.switch == half
    assert b.phase.tolist() == [-1] * 2 * n + [0] * m + [-1] * 2 * n + [1] * m
    for seq in range(64):
        tok, tgt, stale = b.tokens[seq].tolist(), b.targets[seq].tolist(), b.stale[seq].tolist()
        first = dict(zip(tok[0:2 * n:2], tok[1:2 * n:2]))
        second = dict(zip(tok[half:half + 2 * n:2], tok[half + 1:half + 2 * n:2]))
        assert set(first) == set(second) and len(first) == n and all(k < nk for k in first)
        assert all(first[k] != second[k] and second[k] >= nk for k in first)          # every value changes
        for t in range(2 * n, half):
            assert tgt[t] == first[tok[t]] and stale[t] == -100
        for t in range(half + 2 * n, 2 * half):
            assert tgt[t] == second[tok[t]] and stale[t] == first[tok[t]]


def test_remap_batch_is_seeded_and_checks_arguments():
    a = ex.make_remap_batch(4, generator=torch.Generator().manual_seed(3))
    b = ex.make_remap_batch(4, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a.tokens, b.tokens) and torch.equal(a.targets, b.targets)
    with pytest.raises(ValueError, match="n_pairs"):
        ex.make_remap_batch(2, n_pairs=9, n_keys=8)
    with pytest.raises(ValueError, match="n_queries"):
        ex.make_remap_batch(2, n_pairs=2, n_queries=3)
    with pytest.raises(ValueError, match="batch"):
        ex.make_remap_batch(0)


# ---- models and training ----------------------------------------------------------------------

@pytest.mark.parametrize("layer", ex.LAYERS)
def test_models_shapes_and_seeding(layer):
    model = ex.make_remap_model(layer, seed=1)
    again = ex.make_remap_model(layer, seed=1)
    tokens = ex.make_remap_batch(3, generator=torch.Generator().manual_seed(0)).tokens
    out = model(tokens)
    assert out.shape == (3, tokens.shape[1], ex.REMAP_TASK["n_keys"] + ex.REMAP_TASK["n_values"])
    assert torch.equal(out, again(tokens))


def test_static_and_self_modifying_share_parameters():
    sm, st = ex.make_remap_model("self_modifying", seed=0), ex.make_remap_model("static", seed=0)
    assert sm.layer.self_modifying and not st.layer.self_modifying
    assert [n for n, _ in sm.named_parameters()] == [n for n, _ in st.named_parameters()]
    with pytest.raises(ValueError, match="layer"):
        ex.make_remap_model("attention")


def test_train_remap_tiny_runs_and_table():
    runs = ex.compare_remap(3, (0,), batch=4, eval_size=8)
    assert set(runs) == set(ex.LAYERS)
    for results in runs.values():
        r = results[0]
        assert len(r.losses) == 3 and all(math.isfinite(x) for x in r.losses)
        assert set(r.eval) >= {"loss", "acc_before", "acc_after", "stale_after"} and r.model is None
        assert 0 <= r.eval["acc_after"] <= 1 and r.ms_per_step > 0
    again = ex.train_remap("static", 3, seed=0, batch=4, eval_size=8)
    assert again.losses == runs["static"][0].losses                                   # seeded
    table = ex.format_table(runs)
    assert all(layer in table for layer in ex.LAYERS) and "acc after" in table


def test_generated_trace_drift():
    model = ex.make_remap_model("self_modifying", seed=0)
    batch = ex.make_remap_batch(4, generator=torch.Generator().manual_seed(0))
    tr = ex.generated_trace(model, batch)
    C, T = model.layer.projection_chunk_size, batch.tokens.shape[1]
    assert tr["k_drift"].shape == (4, 2, T) and tr["eta"].shape == (4, 2, T)
    assert tr["k_drift"][..., :C].max() < 1e-6 and tr["v_drift"][..., C:].min() > 0
    assert model.layer.self_modifying                                                 # restored
    static = ex.generated_trace(ex.make_remap_model("static", seed=0), batch)
    assert static["k_drift"].max() == 0
    with pytest.raises(ValueError):
        ex.generated_trace(ex.make_remap_model("titans"), batch)


def test_cli_prints_table(capsys):
    assert ex.main(["remap", "--steps", "1", "--seeds", "0", "--layers", "static", "--batch", "2"]) == 0
    out = capsys.readouterr().out
    assert "static" in out and "acc after" in out


# ---- figures ---------------------------------------------------------------------------------

def test_repeated_input_and_figures(no_open_figures):
    r = vsm.repeated_input_projections(tokens=12, projection_chunk_size=4)
    assert r["static_k"][3:].max() < 1e-5 and r["self_modifying_v"][8:].min() > 0
    figs = [vsm.render_static_vs_adaptive(r)]
    runs = ex.compare_remap(2, (0,), batch=2, eval_size=4)
    figs.append(vsm.render_remap_training(runs))
    model = ex.make_remap_model("self_modifying")
    batch = ex.make_remap_batch(4, generator=torch.Generator().manual_seed(0))
    figs.append(vsm.render_drift(ex.generated_trace(model, batch), switch=batch.switch))
    mags = vsm.update_magnitudes(model, batch.tokens[0], projection_chunk=2, memory_chunk=10)
    assert mags["k"]["times"].tolist() == list(range(1, 20, 2)) and mags["memory"]["times"].tolist() == [9, 19]
    assert (model.layer.chunk_size, model.layer.projection_chunk_size) == (5, 5)      # restored
    figs.append(vsm.render_update_magnitudes(mags, tokens=vsm.token_labels(batch.tokens[0]), switch=batch.switch))
    assert all(f.axes for f in figs) and no_open_figures()
    assert set(vsm.FIGURES) == {"05-static-vs-adaptive.png", "05-remap-training.png", "05-drift.png",
                                "05-update-explorer.png"}


# ---- the explorer --------------------------------------------------------------------------

def test_explorer_driven_from_python():
    from hope_lite.lessons.ch05_self_modifying_titans.explorer import explore_self_modification

    w = explore_self_modification(batch=ex.eval_batch(4))
    first = w.text
    assert "memory 4x" in first and "k 4x" in first and len(w.output.outputs) == 2
    w.children[1].value = 2                                          # projection chunk
    text = w.update()
    assert text != first and "k 10x" in text and "memory 4x" in text
    w.children[2].value = 10                                         # memory chunk
    assert "memory 2x" in w.update()
    w.children[0].value = 3                                          # sequence
    assert w.update().startswith("sequence 3")
    with pytest.raises(ValueError, match="unknown"):
        explore_self_modification(nope=1)
    with pytest.raises(ValueError, match="SelfModifyingTitans"):
        explore_self_modification(ex.make_remap_model("titans"))


# ---- the shared-input ablation and the measurement (results/05-remap.json) -------------------

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "05_self_modifying_titans.ipynb"
NB = NotebookText("05_self_modifying_titans.ipynb")
_cells = NB.cells
_text = NB.text
_default = default


def test_shared_input_layer_feeds_one_input_to_the_projection_memories():
    model = ex.make_remap_model("shared_input", seed=0)
    layer, width = model.layer, model.layer.width
    x = model.embed_tokens(ex.make_remap_batch(3, generator=torch.Generator().manual_seed(0)).tokens)
    u, _ = layer.conv(layer.inputs(x))
    roles = u.split(width, dim=-1)                                    # k, v, eta, alpha, q
    assert layer.roles == ("k", "v", "eta", "alpha", "q")
    assert all(torch.equal(r, roles[0]) for r in roles[1:4]) and not torch.allclose(roles[4], roles[0])
    reference = ex.make_remap_model("self_modifying", seed=0)
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in reference.parameters())
    held_out = ex.eval_batch(64)
    assert ex.kv_cosine(model, held_out) > 0.95 and abs(ex.kv_cosine(reference, held_out)) < 0.2
    out = model(ex.make_remap_batch(2, generator=torch.Generator().manual_seed(1)).tokens)
    out.sum().backward()                                              # trainable through the parametrization
    assert torch.isfinite(out).all()


def test_measure_tiny_writes_a_readable_summary(tmp_path):
    budgets = {"classroom": {"steps": 2, "batch": 2}, "fast": {"steps": 1, "batch": 2}}
    lines = []
    results = ex.measure((0,), budgets=budgets, eval_size=8, progress=lines.append)
    assert len(results["runs"]) == len(ex.LAYERS + ex.ABLATIONS) + len(ex.LAYERS) and len(lines) == 7
    assert set(ex.results_table(results, "classroom")) == set(ex.LAYERS + ex.ABLATIONS)
    assert set(ex.results_table(results, "fast", "ms_per_step")) == set(ex.LAYERS)
    path = tmp_path / "05.json"
    path.write_text(json.dumps(results))
    assert ex.load_results(path)["runs"] == results["runs"]
    path.write_text(json.dumps({"format": 0}))
    with pytest.raises(ValueError, match="format"):
        ex.load_results(path)
    with pytest.raises(FileNotFoundError, match="measure --json"):
        ex.load_results(tmp_path / "missing.json")
    with pytest.raises(ValueError, match="budget"):
        ex.results_table(results, "weekly")


def _committed() -> dict:
    return ex.load_results(ROOT / ex.RESULTS)


def test_committed_measurement_follows_the_protocol():
    results = _committed()
    assert results["command"] == ex.MEASURE_COMMAND and results["budgets"] == ex.BUDGETS
    assert results["task"] == ex.REMAP_TASK and results["model"] == ex.REMAP_MODEL and results["lr"] == ex.LR
    assert results["eval_batch"] == ex.EVAL_BATCH and results["seeds"] == [0, 1, 2]
    expected = {(b, layer, s) for b in ex.BUDGETS for layer in ex.LAYERS for s in (0, 1, 2)}
    expected |= {("classroom", layer, s) for layer in ex.ABLATIONS for s in (0, 1, 2)}
    assert {(r["budget"], r["layer"], r["seed"]) for r in results["runs"]} == expected
    assert 60 <= results["seconds"] <= 240         # "about 2 minutes on a 2-core CPU" (notebook and module doc)


def test_reading_md_states_the_committed_shared_input_result():
    text = " ".join((ROOT / "docs" / "reading.md").read_text(encoding="utf-8").split())
    m = re.search(r"start with a mean cosine of (-?\d\.\d\d) \((-?\d\.\d\d) with per-memory inputs\), and on the "
                  r"remapping task it reaches (\d\.\d\d) accuracy after the switch against (\d\.\d\d) with per-memory "
                  r"input maps \((\d+) steps of (\d+) sequences, mean of seeds (\d)-(\d): `results/05-remap.json`, "
                  r"written by `(.+?)`\)", text)
    assert m, "docs/reading.md: the sentence on the shared-input version is not in the expected form"
    results = _committed()
    table = ex.results_table(results, "classroom")
    assert float(m.group(1)) == round(results["kv_cosine"]["shared_input"], 2)
    assert float(m.group(2)) == round(results["kv_cosine"]["self_modifying"], 2)
    assert float(m.group(3)) == round(table["shared_input"]["mean"], 2)
    assert float(m.group(4)) == round(table["self_modifying"]["mean"], 2)
    assert (int(m.group(5)), int(m.group(6))) == tuple(ex.BUDGETS["classroom"].values())
    assert [int(m.group(7)), int(m.group(8))] == [results["seeds"][0], results["seeds"][-1]]
    assert m.group(9) == ex.MEASURE_COMMAND


# ---- the notebook's sentences against the code -------------------------------------------------

def test_notebook_states_the_task_and_models_of_the_code():
    text = _text()
    task, model = ex.REMAP_TASK, ex.REMAP_MODEL
    T = 2 * (2 * task["n_pairs"] + task["n_queries"])
    assert (f"Sequences are {T} tokens; the vocabulary has {task['n_keys']} key tokens and {task['n_values']} value "
            f"tokens, and each half of a sequence shows {task['n_pairs']} of the keys with a value each, then asks "
            f"{task['n_queries']} of them (chance: loss $\\ln {task['n_values']}$, accuracy 1/{task['n_values']})") in text
    assert model["chunk_size"] == model["projection_chunk_size"]
    assert (f"width {model['width']}, {model['heads']} heads, chunk size {model['chunk_size']} for every memory so that "
            f"the switch falls on a chunk boundary") in text
    assert (T // 2) % model["chunk_size"] == 0 and ex.make_remap_batch(1).switch == T // 2 == 10
    assert "The drift steps up at token 10, where the mapping switches" in text and "at tokens 5 and 15" in text
    assert f"evaluated on a fixed held-out batch of {ex.EVAL_BATCH} sequences" in text
    assert f"the model was trained with {model['projection_chunk_size']} and {model['chunk_size']}" in text
    assert _default(SelfModifyingTitans, "conv_window") == 4 and "over the last 4 tokens" in text
    layer = SelfModifyingTitans(8, heads=2)
    assert _default(SelfModifyingTitans, "max_step") == 0.5 and (layer.gate_bias[0] == -2).all()
    assert "the gate bias $-2$ puts $\\eta$ near $0.5\\,\\sigma(-2)$ at initialisation" in text
    assert "(about 2 minutes on a 2-core CPU)" in text


def test_notebook_budgets_are_the_measured_ones():
    params = next(c for c in _cells() if "parameters" in c["metadata"].get("tags", []))
    source = "".join(params["source"])
    steps = int(re.search(r"^TRAIN_STEPS = (\d+)", source, re.M).group(1))
    batch = int(re.search(r"^BATCH = (\d+)", source, re.M).group(1))
    assert {"steps": steps, "batch": batch} == ex.BUDGETS["classroom"]
    code = _text("code")
    fast = ex.BUDGETS["fast"]
    assert f"pick(fast=min(TRAIN_STEPS, {fast['steps']})" in code and f"pick(fast=min(BATCH, {fast['batch']})" in code
    assert f"classroom mode: {steps} steps of {batch} sequences" in _text()
    assert params["metadata"]["hope_lite"]["explore"]["SEED"] == 1


def test_whats_next_names_chapter_06():
    title = json.loads((ROOT / "notebooks" / "06_continuum_memory.ipynb").read_text())["cells"][0]["source"][0]
    name = re.match(r"# (06 · [^:]+)", title).group(1).strip()
    assert name == "06 · Continuum Memory System"
    text = _text()
    url = notebook_url("06_continuum_memory.ipynb")
    assert f"[{name}]({url})" in text and f"[next: {name} >]({url})" in text
