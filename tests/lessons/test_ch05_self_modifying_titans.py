"""Chapter 05 (self-modifying Titans): the remap task, the small models, the figures and the explorer."""

from __future__ import annotations

import math

import pytest
import torch

from hope_lite.lessons.ch05_self_modifying_titans import experiments as ex
from hope_lite.lessons.ch05_self_modifying_titans import figures as vsm

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
