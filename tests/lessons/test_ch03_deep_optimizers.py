"""Chapter 03 (deep optimizers): the toy landscape, the small models, training and timing (experiments),
the figures and the landscape explorer (driven from Python)."""

from __future__ import annotations

import inspect
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from hope_lite import optim
from hope_lite.lessons import figures as lessons_figures
from hope_lite.lessons.ch03_deep_optimizers import experiments as ex
from hope_lite.lessons.ch03_deep_optimizers import figures as viz
from hope_lite.lessons.interactive import is_plotly

from notebook_text import NotebookText  # noqa: E402


pytestmark = pytest.mark.usefixtures("one_thread")


# --------------------------------------------------------------------------------------------
# The landscape
# --------------------------------------------------------------------------------------------


def test_landscape_minimum_and_valley_floor():
    assert ex.landscape(*ex.LANDSCAPE_MINIMUM) == 0.0
    assert ex.landscape_gradient(*ex.LANDSCAPE_MINIMUM) == (0.0, 0.0)
    r = np.linspace(-3, 3, 121)
    R, T = np.meshgrid(r, np.linspace(-3, 4, 141))
    Z = ex.landscape(R, T)
    assert Z.min() >= 0.0 and np.unravel_index(Z.argmin(), Z.shape) == (np.abs(T[:, 0]).argmin(), 60)
    a, omega = ex.LANDSCAPE["a"], ex.LANDSCAPE["omega"]
    floor = ex.landscape(r, r + a * np.sin(omega * r))          # on the valley floor psi = r^2
    assert np.allclose(floor, r ** 2, atol=1e-12)


def test_landscape_gradient_equals_autograd_on_floats_arrays_and_tensors():
    g = torch.Generator().manual_seed(0)
    pts = torch.randn(20, 2, generator=g, dtype=torch.float64) * 2
    for constants in ({}, {"k": 3.0, "a": 0.2, "omega": 5.0}):
        x = pts.clone().requires_grad_(True)
        ex.landscape(x[:, 0], x[:, 1], **constants).sum().backward()
        dr, dth = ex.landscape_gradient(pts[:, 0], pts[:, 1], **constants)
        assert torch.allclose(torch.stack([dr, dth], 1), x.grad, atol=1e-10)
        dr_np, _ = ex.landscape_gradient(pts[:, 0].numpy(), pts[:, 1].numpy(), **constants)
        assert np.allclose(dr_np, dr.numpy(), atol=1e-12)
        assert isinstance(ex.landscape(1.0, 2.0, **constants), float)


@pytest.mark.parametrize("name", list(ex.OPTIMIZERS))
def test_run_landscape_finite_for_every_optimizer(name):
    traj = ex.run_landscape(name, 30)
    assert traj.points.shape == (31, 2) and traj.losses.shape == (31,)
    assert np.isfinite(traj.points).all() and np.isfinite(traj.losses).all() and not traj.diverged
    assert tuple(traj.points[0]) == ex.LANDSCAPE_START
    assert traj.losses[0] == pytest.approx(ex.landscape(*ex.LANDSCAPE_START))
    assert traj.hparams == ex.LANDSCAPE_SETTINGS.get(name, {})


def test_one_d_fallbacks_muon_is_momentum_and_dgd_is_gradient_descent():
    a = ex.run_landscape("muon", 60, tuned=False, lr=0.01, momentum=0.9)
    b = ex.run_landscape("momentum", 60, tuned=False, lr=0.01, momentum=0.9)
    assert np.array_equal(a.points, b.points)
    c = ex.run_landscape("dgd", 60, tuned=False, lr=0.01)
    d = ex.run_landscape("sgd", 60, tuned=False, lr=0.01)
    assert np.array_equal(c.points, d.points)


def test_tuned_settings_give_the_documented_table():
    """LANDSCAPE_SETTINGS docs: momentum 141 steps, delta (erase 0.15) 80, erase 0.1 124; erase = beta never."""
    assert ex.LANDSCAPE_SETTINGS["delta"]["erase"] == 0.15
    assert ex.run_landscape("momentum").steps_to() == 141
    assert ex.run_landscape("delta").steps_to() == 80
    assert ex.run_landscape("delta", erase=0.1).steps_to() == 124
    assert ex.run_landscape("delta", erase=0.9).steps_to() is None
    assert ex.run_landscape("sgd").steps_to() is None


def test_m3_landscape_alpha_one_is_algorithm1_alpha_one_over_f():
    """M3's default divides the slow sums by f = 10: its tuned alpha 1 walks Algorithm 1's alpha-0.1 path."""
    default = ex.run_landscape("m3")
    as_printed = ex.run_landscape("m3", alpha=0.1, scale="algorithm1")
    assert default.hparams == {"alpha": 1.0, "lr": 1.0} and default.steps_to() == as_printed.steps_to() == 188
    assert np.allclose(default.points, as_printed.points, rtol=0, atol=1e-12)


def test_run_landscape_stops_when_it_diverges():
    traj = ex.run_landscape("momentum", 400, lr=1.0)
    assert traj.diverged and len(traj.losses) < 401 and np.isfinite(traj.losses).all()
    assert traj.final_loss == math.inf and ex.steps_to_tolerance(traj) is None


def test_steps_to_tolerance():
    losses = [5.0, 1.0, 0.5, 0.1, 0.05]
    assert ex.steps_to_tolerance(losses, 0.2) == 3
    assert ex.steps_to_tolerance(np.array(losses), 10.0) == 0
    assert ex.steps_to_tolerance(torch.tensor(losses), 0.01) is None
    bouncing = [1.0, 0.1, 1.0, 0.1, 0.05]
    assert ex.steps_to_tolerance(bouncing, 0.2) == 3
    assert ex.steps_to_tolerance(bouncing, 0.2, sustained=False) == 1
    assert ex.steps_to_tolerance([1.0, float("nan"), 0.1], 0.5) == 2
    assert ex.steps_to_tolerance([1.0, 0.1, float("nan")], 0.5) is None
    traj = ex.run_landscape("momentum", 200)
    assert ex.steps_to_tolerance(traj) == ex.steps_to_tolerance(traj.losses) == traj.steps_to() == 141


def test_sweep_and_best_settings():
    rows = ex.landscape_sweep(["momentum"], lrs=[0.001, 0.01585], grid={"momentum": [{"momentum": 0.9}]}, steps=200)
    assert [r["hparams"] for r in rows] == [{"momentum": 0.9, "lr": 0.001}, {"momentum": 0.9, "lr": 0.01585}]
    assert rows[0]["steps"] is None and rows[1]["steps"] == 141
    best = ex.best_settings(rows)
    assert best["momentum"]["hparams"]["lr"] == 0.01585
    fake = [{"optimizer": "x", "hparams": {"lr": 1}, "steps": None, "final_loss": 0.5},
            {"optimizer": "x", "hparams": {"lr": 2}, "steps": None, "final_loss": 0.1}]
    assert ex.best_settings(fake)["x"]["hparams"] == {"lr": 2}


def test_compare_on_landscape_uses_held_out_starts():
    out = ex.compare_on_landscape(["momentum", "sgd"], starts=ex.LANDSCAPE_STARTS[:2], steps=300)
    assert out["momentum"]["steps"][0] == 141 and out["momentum"]["converged"] == 2
    assert out["sgd"]["converged"] == 0 and out["sgd"]["median"] == math.inf


# --------------------------------------------------------------------------------------------
# Newton-Schulz
# --------------------------------------------------------------------------------------------


def test_newton_schulz_errors_cubic_converges_quintic_stays_near():
    cubic = ex.ns_orthogonality_error((16, 48), 14, "cubic", samples=2)
    quintic = ex.ns_orthogonality_error((16, 48), 14, "quintic", samples=2)
    assert cubic.shape == quintic.shape == (15,)
    assert cubic[0] == pytest.approx(quintic[0]) and cubic[0] > 0.8      # the normalised input
    assert cubic[-1] < 1e-8
    assert 0.05 < quintic[5] < 0.5 and quintic[-1] > 0.05
    assert quintic[3] < cubic[3]                                         # quintic is faster at first


# --------------------------------------------------------------------------------------------
# Models and data
# --------------------------------------------------------------------------------------------


def test_recall_batch_structure():
    tokens, targets = ex.make_recall_batch(64, n_pairs=6, n_queries=3, seed=0)
    assert tokens.shape == targets.shape == (64, 15)
    keys, values = tokens[:, 0:12:2], tokens[:, 1:12:2]
    assert (keys < 16).all() and (values >= 16).all() and (values < 32).all()
    assert all(len(set(row.tolist())) == 6 for row in keys)              # distinct keys
    assert (targets[:, :12] == -100).all()
    for b in range(64):
        table = dict(zip(keys[b].tolist(), values[b].tolist()))
        assert [table[q] for q in tokens[b, 12:].tolist()] == targets[b, 12:].tolist()


def test_recall_batch_is_multi_query_recall_without_the_teacher_forced_answers():
    from hope_lite.data import multi_query_recall

    task = multi_query_recall(8, 6, 3, vocab_size=32, seed=4)
    tokens, targets = ex.make_recall_batch(8, n_pairs=6, n_queries=3, seed=4)
    assert torch.equal(tokens, torch.cat([task["tokens"][:, :12], task["tokens"][:, 12::2]], 1))
    assert torch.equal(targets[:, 12:], task["targets"][:, 12::2])


def test_regression_data_seeded_and_test_split_shares_the_teacher():
    X, y = ex.make_regression_data(256, seed=3)
    X2, y2 = ex.make_regression_data(256, seed=3)
    assert torch.equal(X, X2) and torch.equal(y, y2)
    Xt, yt = ex.make_regression_data(256, seed=3, split="test")
    assert not torch.equal(X, Xt)
    assert 0.6 < y.var().item() < 1.4 and 0.6 < yt.var().item() < 1.4


def test_models_forward_shapes():
    assert ex.make_model("mlp")(torch.randn(5, 8)).shape == (5, 1)
    tokens, _ = ex.make_recall_batch(3)
    assert ex.make_model("recall")(tokens).shape == (3, tokens.shape[1], 32)
    a, b = ex.make_model("recall", seed=1), ex.make_model("recall", seed=1)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(ex.OPTIMIZERS))
def test_train_with_smoke_both_models(name):
    r = ex.train_with(name, "mlp", steps=4)
    assert len(r.losses) == len(r.step_times) == 4 and not r.diverged
    assert np.isfinite(r.losses).all() and (r.step_times > 0).all() and r.ms_per_step > 0
    assert math.isfinite(r.eval_loss) and r.accuracy is None and r.lr == ex.DEFAULT_LR["mlp"][name]
    r = ex.train_with(name, "recall", steps=2, seed=1)
    assert len(r.losses) == 2 and np.isfinite(r.losses).all() and 0.0 <= r.accuracy <= 1.0


def test_train_with_is_deterministic_and_learns():
    a = ex.train_with("adamw", "mlp", steps=40)
    b = ex.train_with("adamw", "mlp", steps=40)
    assert np.array_equal(a.losses, b.losses)
    assert a.final_loss < 0.5 * a.losses[0]


def test_train_with_reports_divergence():
    r = ex.train_with("sgd", "mlp", steps=50, lr=50.0)
    assert r.diverged and r.final_loss == math.inf and len(r.losses) < 50


def test_tune_lr_scores_each_lr_by_the_median_over_its_seeds():
    res = ex.tune_lr("sgd", "mlp", lrs=[0.1, 0.3], steps=5, seeds=(0, 1, 2))
    assert res["seeds"] == (0, 1, 2) and set(res["final_loss"]) == {0.1, 0.3}
    for lr, finals in res["final_losses"].items():
        assert len(finals) == 3 and res["final_loss"][lr] == float(np.median(finals))
        assert finals[1] == ex.train_with("sgd", "mlp", 5, lr, seed=1).final_loss
    assert res["best_lr"] == min(res["final_loss"], key=res["final_loss"].get)
    assert ex.tune_lr("sgd", "mlp", lrs=[0.1], steps=2)["seeds"] == (0,)         # one seed unless TUNE_SEEDS says
    assert ex.TUNE_SEEDS["m3"] == (0, 1, 2, 3, 4)


def test_default_lrs_and_settings_cover_every_optimizer():
    for model in ex.TOY_MODELS:
        assert set(ex.DEFAULT_LR[model]) == set(ex.TRAIN_OPTIMIZERS)
        assert all(lr in ex.TRAIN_LRS for lr in ex.DEFAULT_LR[model].values())
    assert set(ex.LANDSCAPE_SETTINGS) == set(ex.LANDSCAPE_OPTIMIZERS)
    assert ex.make_optimizer("adamw", ex.make_model()).param_groups[0]["weight_decay"] == 0.0


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("call,match", [
    (lambda: ex.run_landscape("nesterov"), "optimizer"),
    (lambda: ex.run_landscape("momentum", 0), "steps"),
    (lambda: ex.run_landscape("momentum", 2.5), "steps"),
    (lambda: ex.run_landscape("momentum", start=(1.0,)), "start"),
    (lambda: ex.run_landscape("momentum", constants={"b": 1.0}), "constant"),
    (lambda: ex.run_landscape("momentum", constants={"k": -1.0}), "k"),
    (lambda: ex.run_landscape("momentum", lr=-0.1), "lr"),
    (lambda: ex.run_landscape("momentum", nesterov=True), "nesterov"),
    (lambda: ex.landscape(1.0, 1.0, omega2=1.0), "constant"),
    (lambda: ex.steps_to_tolerance([1.0, 0.5], 0.0), "tol"),
    (lambda: ex.steps_to_tolerance([], 0.1), "run"),
    (lambda: ex.steps_to_tolerance(np.ones((2, 2)), 0.1), "run"),
    (lambda: ex.train_with("rmsprop"), "optimizer"),
    (lambda: ex.train_with("sgd", "cnn"), "model"),
    (lambda: ex.train_with("sgd", steps=0), "steps"),
    (lambda: ex.train_with("sgd", lr=0.0), "lr"),
    (lambda: ex.train_with("sgd", lr=float("nan")), "lr"),
    (lambda: ex.train_with("sgd", seed=-1), "seed"),
    (lambda: ex.train_with("delta", erase=2.0), "erase"),
    (lambda: ex.make_optimizer("sgd", [torch.zeros(2)]), "model"),
    (lambda: ex.make_recall_batch(0), "batch"),
    (lambda: ex.make_recall_batch(2, n_pairs=20), "n_pairs"),
    (lambda: ex.make_recall_batch(2, n_pairs=2, n_queries=3), "n_queries"),
    (lambda: ex.make_regression_data(8, split="valid"), "split"),
    (lambda: ex.ns_orthogonality_error((4,), 3), "shape"),
    (lambda: ex.ns_orthogonality_error((4, 4), 3, "septic"), "coefficients"),
    (lambda: ex.landscape_sweep(["nope"]), "optimizer"),
    (lambda: ex.knob_profile("delta", "momentum_x", settings=[{"erase": 0.1}]), "knob"),
    (lambda: ex.knob_profile("delta", "erase", settings=[{"erase": 0.1}], rows=[]), "rows"),
    (lambda: ex.knob_profile("nope", "erase"), "optimizer"),
    (lambda: ex.landscape_controls("nope"), "optimizer"),
])
def test_bad_input_raises_value_error_naming_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --------------------------------------------------------------------------------------------
# Figures and the explorer
# --------------------------------------------------------------------------------------------


def test_render_functions_return_figures(no_open_figures):
    path = viz.render_landscape("momentum", 20)              # interactive: contours, floor, path, start, minimum, ψ
    traj = ex.run_landscape("momentum", 20)
    assert is_plotly(path) and [d.type for d in path.data] == ["contour", "scatter", "scatter", "scatter", "scatter",
                                                               "scatter"]
    assert np.allclose(path.data[2].x, traj.points[:, 0]) and np.allclose(path.data[5].y, traj.losses)
    assert [int(c[0]) for c in path.data[2].customdata] == list(range(len(traj.points)))     # hover: the step
    diverged = viz.render_landscape("momentum", 400, lr=1.0)      # diverged: still a figure, and it says so
    assert any("diverged after" in a.text for a in diverged.layout.annotations)
    figs = [
        viz.render_landscape_runs({n: ex.run_landscape(n, 15) for n in ("sgd", "delta")}),
        viz.render_newton_schulz(shapes=((8, 8), (8, 24)), max_steps=3, samples=1, spectrum_steps=2),
        viz.render_training_runs({n: ex.train_with(n, "mlp", 3) for n in ("sgd", "muon")}),
        viz.render_training_runs({"adamw": ex.train_with("adamw", "recall", 2)}),
    ]
    assert all(isinstance(f, Figure) for f in figs)
    assert no_open_figures()
    with pytest.raises(ValueError):
        viz.render_landscape_runs({})


@pytest.mark.parametrize("name", ex.LANDSCAPE_OPTIMIZERS)
def test_explorer_controls_round_trip_to_the_tuned_settings(name):
    hp = ex.landscape_hparams(name, **ex.landscape_controls(name))
    a = ex.run_landscape(name, 40, tuned=False, **hp)
    b = ex.run_landscape(name, 40)
    assert np.array_equal(a.points, b.points)


def test_landscape_explorer_driven_from_python(no_open_figures):
    from hope_lite.lessons.ch03_deep_optimizers.explorer import LandscapeExplorer, explore_landscape

    w = explore_landscape(steps=40)
    assert isinstance(w, LandscapeExplorer)
    optimizer, lr, beta, erase, period, steps, output = w.children
    assert optimizer.value == "delta" and not erase.disabled and period.disabled
    assert all(not c.continuous_update for c in (lr, beta, erase, period, steps))
    first = w.text
    assert first.startswith("delta:") and "40 steps" in first
    assert [o["output_type"] for o in output.outputs] == ["stream", "display_data"]
    optimizer.value = "momentum"                                  # loads momentum's tuned settings
    assert lr.value == pytest.approx(ex.LANDSCAPE_SETTINGS["momentum"]["lr"], rel=0.06)
    assert erase.disabled and w.text.startswith("momentum:") and w.text != first
    lr.value = 0.9
    text = w.update()
    assert text == w.text and "diverged" in text
    steps.value = 400
    lr.value = ex.LANDSCAPE_SETTINGS["momentum"]["lr"]
    w.update()
    assert "after 1" in w.text and w.trajectory.steps_to() is not None
    optimizer.value = "m3"
    assert not period.disabled and beta.description == "β1"
    with pytest.raises(ValueError, match="unknown"):
        explore_landscape(colour="red")
    with pytest.raises(ValueError, match="optimizer"):
        explore_landscape(optimizer="dgd")
    assert no_open_figures()


def test_figures_registered_and_the_explorer_preview_is_small(tmp_path, chromium):
    for name in ("03-landscape.png", "03-landscape-explorer.png", "03-newton-schulz.png", "03-training-mlp.png",
                 "03-training-recall.png", "03-m3-readings.png", "03-erase-sweep.png"):
        assert name in viz.FIGURES
    assert lessons_figures.main(["--out", str(tmp_path), "--only", "03-landscape-explorer.png"]) == 0
    assert 0 < (tmp_path / "03-landscape-explorer.png").stat().st_size < 300 * 1024


def test_m3_readings_sum_grows_ema_levels_off():
    r = ex.m3_readings(40, seed=0)
    assert set(r) == {"ema", "sum"} and all(len(v["loss"]) == 40 for v in r.values())
    # the readings are Algorithm 1's: M3(scale="algorithm1") at its own tuned lr
    as_printed = ex.train_with("m3", "mlp", 40, lr=ex.M3_ALGORITHM1_LR["mlp"], scale="algorithm1")
    assert np.array_equal(r["ema"]["loss"], as_printed.losses)
    assert r["sum"]["second"][-1] > 1.2 * r["sum"]["second"][19]          # a running sum keeps growing
    assert r["sum"]["second"][-1] > 100 * r["ema"]["second"][-1]
    assert isinstance(viz.render_m3_readings(r), Figure)


# --------------------------------------------------------------------------------------------
# Least squares: M3's default step vs Algorithm 1 as printed
# --------------------------------------------------------------------------------------------


def test_least_squares_problem_is_seeded_and_its_floor_is_the_exact_fit():
    state = torch.random.get_rng_state()
    X, Y, student = ex.make_least_squares(3)
    assert torch.equal(torch.random.get_rng_state(), state)                       # global RNG untouched
    assert X.shape == (32, 16) and Y.shape == (32, 8) and X.dtype == Y.dtype == torch.float32
    assert (student.in_features, student.out_features) == (16, 8)
    X2, Y2, student2 = ex.make_least_squares(3)
    assert torch.equal(X, X2) and torch.equal(Y, Y2) and torch.equal(student.weight, student2.weight)
    floor = ex.least_squares_floor(X, Y)
    assert 0.2 * 0.1 ** 2 < floor < 0.1 ** 2                 # noise variance 0.01, times (32 - 17) / 32 on average
    with torch.no_grad():                                     # no affine map does better than the floor
        assert torch.nn.functional.mse_loss(student(X), Y).item() > floor


def test_least_squares_m3_default_converges_algorithm1_does_not():
    """The bug that changed M3's default: Algorithm 1's NS(M1)/sqrt(V) steps grow as the gradients shrink."""
    r = ex.least_squares_comparison(300, seeds=(0,), optimizers=("m3", "m3 algorithm1"))
    for lr in (1e-2, 1e-3):
        final, low = r["final"][("m3", lr)], r["min"][("m3", lr)]
        assert final.shape == (1,) and (final < 0.05).all() and (final <= 1.01 * low).all()
    assert (r["final"][("m3", 1e-2)] < 1.1 * r["floor"]).all()                       # the noise floor
    assert (r["final"][("m3 algorithm1", 1e-2)] > 0.05).all()
    assert (r["final"][("m3 algorithm1", 1e-2)] > r["start"]).all()                   # above where it started
    assert (r["final"][("m3 algorithm1", 1e-3)] > 2 * r["min"][("m3 algorithm1", 1e-3)]).all()   # climbs back
    assert [len(c) for c in r["losses"][("m3", 1e-2)]] == [301]


def test_least_squares_command_prints_the_table(capsys):
    assert ex.main(["least-squares", "--steps", "3", "--seeds", "1"]) == 0
    out = capsys.readouterr().out
    assert "noise floor" in out and "seeds 1" in out
    assert all(f" {label}  final [" in out for label in ex.LEAST_SQUARES_OPTIMIZERS)
    with pytest.raises(ValueError, match="optimizer"):
        ex.least_squares_comparison(2, optimizers=("sgd",))
    with pytest.raises(ValueError, match="lr"):
        ex.least_squares_comparison(2, lrs=(0.0,))


# --------------------------------------------------------------------------------------------
# Delta momentum's erase strength: the study behind §8's verdict and its results file
# --------------------------------------------------------------------------------------------


def test_erase_and_momentum_grids_get_the_same_budget():
    assert len(ex.ERASE_GRID) == len(ex.MOMENTUM_GRID) == 8
    assert ex.ERASE_GRID[0] == 0.0 and 0.9 in ex.ERASE_GRID and list(ex.ERASE_GRID) == sorted(ex.ERASE_GRID)
    assert ex.LANDSCAPE_GRID["delta"] == [{"momentum": 0.9, "erase": e} for e in ex.ERASE_GRID]
    for name in ("momentum", "muon"):                                  # muon is momentum on the landscape
        assert ex.LANDSCAPE_GRID[name] == [{"momentum": b} for b in ex.MOMENTUM_GRID]
    assert all(len(ex.LANDSCAPE_GRID[n]) == 3 for n in ("preconditioned", "dmgd", "m3", "adamw"))


def test_knob_profile_sweeps_each_setting_and_replays_it_from_every_start():
    settings = [{"momentum": 0.9, "erase": e} for e in (0.0, 0.15)]
    lrs = (0.01, 0.01585)
    profile = ex.knob_profile("delta", "erase", settings=settings, lrs=lrs, starts=ex.LANDSCAPE_STARTS[:2])
    assert [r["value"] for r in profile] == [0.0, 0.15]
    assert [r["lr"] for r in profile] == [0.01585, 0.01585] and [r["steps"] for r in profile] == [141, 80]
    assert profile[0]["per_start"] == [141, 160] and profile[0]["converged"] == 2 and profile[0]["median"] == 150.5
    rows = ex.landscape_sweep(["delta"], lrs=lrs, grid={"delta": settings})
    assert ex.knob_profile("delta", "erase", settings=settings, rows=rows, starts=ex.LANDSCAPE_STARTS[:2]) == profile
    replay = ex.knob_profile("delta", "erase", settings=settings, starts=ex.LANDSCAPE_STARTS[:2],
                             best_lrs={0.0: 0.01585, 0.15: 0.01585})
    assert [(r["lr"], r["steps"], r["per_start"]) for r in replay] == [(r["lr"], r["steps"], r["per_start"])
                                                                       for r in profile]
    straight = ex.knob_profile("delta", "erase", settings=settings[:1], lrs=lrs, starts=ex.LANDSCAPE_STARTS[:1],
                               constants={"a": 0.0})
    assert straight[0]["steps"] != profile[0]["steps"]                  # the straight valley is another landscape


def _study() -> dict:
    return ex.load_erase_study()


def test_committed_erase_study_has_the_codes_grids():
    study = _study()
    assert study["command"] == "python -m hope_lite.lessons.ch03_deep_optimizers.experiments erase-sweep"
    assert study["erase_grid"] == list(ex.ERASE_GRID) and study["momentum_grid"] == list(ex.MOMENTUM_GRID)
    assert study["lrs"] == list(ex.LANDSCAPE_LRS) and [tuple(s) for s in study["starts"]] == list(ex.LANDSCAPE_STARTS)
    assert study["steps"] == 400 and study["tol"] == ex.LANDSCAPE_TOL and study["delta_momentum"] == 0.9
    assert set(study["landscapes"]) == set(ex.ERASE_LANDSCAPES) == {"curved", "straight"}
    assert study["landscapes"]["curved"]["constants"] == ex.LANDSCAPE
    assert study["landscapes"]["straight"]["constants"] == {**ex.LANDSCAPE, "a": 0.0}
    assert 0 < study["seconds"] < 600


def test_committed_erase_study_replays():
    """The FAST check of the notebook: delta momentum's stored settings, run again from every start."""
    study = _study()
    live = ex.replay_erase_study(study)
    got = [(r["value"], r["lr"], r["steps"], r["per_start"]) for r in live["curved"]["delta"]]
    assert got == [(r["value"], r["lr"], r["steps"], r["per_start"]) for r in study["landscapes"]["curved"]["delta"]]


@pytest.mark.slow
def test_committed_erase_study_is_what_the_command_computes():
    """The whole study again (about 15 s on one thread): the committed results file must not drift from the code."""
    study, live = _study(), ex.erase_study()
    for name in study["landscapes"]:
        for opt in ("delta", "momentum"):
            keys = ("value", "hparams", "lr", "steps", "per_start", "median", "converged")
            assert [{k: r[k] for k in keys} for r in live["landscapes"][name][opt]] == \
                   [{k: r[k] for k in keys} for r in study["landscapes"][name][opt]], (name, opt)


def test_erase_verdict_is_what_the_notebook_says():
    """§8's verdict and Think! answers, and the summary, against the committed study."""
    study = _study()
    curved, straight = ex.erase_verdict(study, "curved"), ex.erase_verdict(study, "straight")
    # the sweep's pick is the stored setting; it beats the best-tuned momentum from every start
    assert curved["best"]["hparams"] == ex.LANDSCAPE_SETTINGS["delta"]
    assert curved["momentum"]["hparams"] == ex.LANDSCAPE_SETTINGS["momentum"]
    assert curved["gain"] > 0 and curved["fewer_from"] == curved["starts"] == 6
    # "a band of gamma around it beats momentum's median; below the band it does not; near gamma = beta never"
    gammas = list(ex.ERASE_GRID)
    idx = [gammas.index(g) for g in curved["beating"]]
    assert idx == list(range(min(idx), max(idx) + 1)) and 0.0 not in curved["beating"]
    assert curved["best"]["value"] in curved["beating"] and curved["full_erase"]["converged"] == 0
    assert curved["full_erase"]["value"] == 0.9
    # "hope_lite's default erase lies in the band"
    default = inspect.signature(optim.DeltaMomentum).parameters["erase"].default
    assert default in curved["beating"]
    # "on the bending valley momentum is slower with a smaller beta"
    assert curved["momentum"]["value"] == study["delta_momentum"]
    smaller = [r for r in study["landscapes"]["curved"]["momentum"] if r["value"] < curved["momentum"]["value"]]
    assert smaller and all(r["steps"] is None or r["steps"] > curved["momentum"]["steps"] for r in smaller)
    # Think! 2: on the straight valley a large erase, not gamma ~ 0; momentum with a smaller beta at least as fast
    assert straight["best"]["value"] >= 0.3 and straight["best"]["steps"] < straight["plain"]["steps"]
    assert straight["momentum"]["value"] < study["delta_momentum"]
    assert straight["momentum"]["steps"] <= straight["best"]["steps"]
    # Think! 2's suggested run: the straight valley's pick
    best = straight["best"]
    assert (best["value"], best["lr"]) == (0.5, 0.03981)
    assert "erase=0.5, lr=0.03981)" in _markdown()
    lines = ex.verdict_lines(study)
    assert len(lines) == 4 and f"{100 * curved['gain']:.0f} % fewer" in lines[0]
    assert "fewer steps from 6 of 6 starts" in lines[0]


def test_erase_sweep_command_writes_the_results_file(tmp_path, capsys):
    out = tmp_path / "erase.json"
    assert ex.main(["erase-sweep", "--steps", "10", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "curved valley" in printed and "straight valley" in printed and f"{out} written" in printed
    study = ex.load_erase_study(out)
    assert study["steps"] == 10 and all(r["steps"] is None and r["median"] == math.inf
                                        for r in study["landscapes"]["curved"]["delta"])
    assert json.loads(out.read_text())["landscapes"]["curved"]["delta"][0]["median"] is None   # inf -> null
    assert len(ex.verdict_lines(study)) == 4                                        # words even when nothing converges
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": 0}))
    with pytest.raises(ValueError, match="erase study"):
        ex.load_erase_study(bad)
    with pytest.raises(FileNotFoundError, match="erase-sweep"):
        ex.load_erase_study(tmp_path / "missing.json")


def test_render_erase_study(no_open_figures):
    assert isinstance(viz.render_erase_study(_study()), Figure)
    assert no_open_figures()


# --------------------------------------------------------------------------------------------
# What notebook 03 says, checked against the code
# --------------------------------------------------------------------------------------------

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "03_deep_optimizers.ipynb"
NB = NotebookText("03_deep_optimizers.ipynb")
_cells = NB.cells
_markdown = NB.text


def test_landscape_numbers_in_the_text():
    text = _markdown()
    k, a, omega = ex.LANDSCAPE["k"], ex.LANDSCAPE["a"], ex.LANDSCAPE["omega"]
    assert f"uses $k = {k:g}$, $a = {a:g}$, $\\omega = {omega:g}$" in text
    assert f"$a\\omega = {a * omega:g} > 1$" in text
    hessian = torch.autograd.functional.hessian(lambda p: ex.landscape(p[0], p[1]), torch.zeros(2, dtype=torch.float64))
    eig = torch.linalg.eigvalsh(hessian)
    said = int(re.search(r"condition number is about (\d+)", text).group(1))
    assert abs(eig[1] / eig[0] - said) / said < 0.02
    assert f"The start is $({ex.LANDSCAPE_START[0]:g}, {ex.LANDSCAPE_START[1]:g})$" in text
    assert f"$\\psi \\approx {ex.landscape(*ex.LANDSCAPE_START):.0f}$" in text
    assert ex.LANDSCAPE_TOL == 1e-5 and "$\\psi \\le 10^{-5}$" in text
    # §2's Think! 1: the gradient at the start, and the literal key diverging even at lr 1e-4
    assert "has $\\lVert g\\rVert \\approx 94$" in text
    assert round(math.hypot(*ex.landscape_gradient(*ex.LANDSCAPE_START))) == 94
    assert ex.run_landscape("delta", normalize=False, erase=0.9).diverged
    assert ex.run_landscape("delta", normalize=False, erase=0.9, lr=1e-4).diverged


def test_newton_schulz_and_muon_numbers_in_the_text():
    text = _markdown()
    a, b, c = optim.NS_COEFFICIENTS["quintic"]
    assert f"$(a, b, c) = ({a}, {b:.4f}, {c})$" in text
    steps = inspect.signature(optim.Muon).parameters["ns_steps"].default
    assert steps == 5 and "Muon's five quintic steps" in text and "within Muon's five steps" in text
    assert "within its five steps" in text


def test_m3_and_least_squares_numbers_in_the_text():
    text = _markdown()
    f = inspect.signature(optim.M3).parameters["slow_period"].default
    assert f"$\\alpha = 1/f = {1 / f:g}$ at the default $f = {f}$" in text
    params = inspect.signature(ex.make_least_squares).parameters
    rows, inputs, outputs, noise = (params[n].default for n in ("rows", "inputs", "outputs", "noise"))
    assert f"a linear layer {inputs} → {outputs} fitted to {rows} noisy points (noise {noise:g}" in text
    assert inspect.signature(ex.least_squares_comparison).parameters["seeds"].default == (0, 1, 2)
    assert "prints the table for seeds 0–2" in text
    assert "tuned learning rate ($3\\cdot10^{-5}$)" in text and ex.M3_ALGORITHM1_LR["recall"] == 3e-5


def test_section_9_setup_in_the_text():
    text = _markdown()
    mlp = ex.make_mlp()
    widths = [m.in_features for m in mlp if isinstance(m, torch.nn.Linear)] + [1]
    assert f"an {' → '.join(map(str, widths))} tanh network" in text
    assert isinstance(mlp[1], torch.nn.Tanh)
    assert inspect.signature(ex.make_regression_data).parameters["n"].default == 512 and "(512 points" in text
    X, y = ex.make_regression_data()
    assert "predicting 0 scores about 1" in text and 0.8 < y.pow(2).mean().item() < 1.2
    model = ex.RecallModel()
    assert model.block.memory.__class__.__name__ and 'MemoryBlock("delta", width=32, heads=2)' in text
    rp = inspect.signature(ex.RecallModel).parameters
    assert rp["width"].default == 32 and rp["heads"].default == 2
    bp = inspect.signature(ex.make_recall_batch).parameters
    n_pairs, n_queries, vocab = bp["n_pairs"].default, bp["n_queries"].default, bp["vocab_size"].default
    assert f"k{n_pairs} v{n_pairs} q1 ... q{n_queries}" in text
    assert f"({vocab // 2} possible values: chance is $\\ln {vocab // 2} \\approx {math.log(vocab // 2):.2f}$)" in text
    lrs = ex.TRAIN_LRS
    assert f"`ex.TRAIN_LRS`, {len(lrs)} values from $10^{{-5}}$ to 3" in text and (lrs[0], lrs[-1]) == (1e-5, 3.0)
    assert "by the best median over seeds 0–4, `ex.TUNE_SEEDS`" in text and ex.TUNE_SEEDS["m3"] == (0, 1, 2, 3, 4)


def test_mlp_and_dgd_numbers_in_the_text():
    """§7 and §9's MLP bullet (classroom mode, 300 steps, seed 0)."""
    text = _markdown()
    assert "stalls at a training loss of about 0.23 for every learning rate from 0.01 to 0.3" in text
    for lr in (0.01, 0.03, 0.1, 0.3):
        assert 0.2 < ex.train_with("dgd", "mlp", 300, lr=lr).final_loss < 0.26
    final = {n: ex.train_with(n, "mlp", 300).final_loss for n in ex.TRAIN_OPTIMIZERS}
    assert "M3 gets the training loss lowest, to about $2\\cdot10^{-4}$ in 300 steps" in text
    assert final["m3"] == min(final.values()) and 1e-4 < final["m3"] < 3e-4
    assert "Muon, AdamW, preconditioned momentum and momentum get it to about $10^{-3}$" in text
    assert all(5e-4 < final[n] < 2.5e-3 for n in ("muon", "adamw", "preconditioned", "momentum"))
    assert "to a few $10^{-3}$" in text and 2e-3 < final["delta"] < 6e-3
    assert "plain gradient descent stays near 0.04" in text and 0.03 < final["sgd"] < 0.05
    assert "DMGD and DGD stall at 0.1–0.25" in text and all(0.1 <= final[n] <= 0.25 for n in ("dmgd", "dgd"))


def test_held_out_starts_in_the_text():
    text = _markdown()
    assert len(ex.LANDSCAPE_STARTS) == 6 and ex.LANDSCAPE_STARTS[0] == ex.LANDSCAPE_START
    assert "Run them, unchanged, from six starts (the first is the tuning start; five are held out)" in text


def test_reading_rows_numbers_are_the_studys():
    """docs/reading.md's delta-momentum row quotes the landscape and the committed erase study."""
    row = next(line for line in (NOTEBOOK.parents[1] / "docs" / "reading.md").read_text().splitlines()
               if line.startswith("| Delta momentum |"))
    study = _study()
    curved = ex.erase_verdict(study, "curved")
    by_value = {r["value"]: r for r in study["landscapes"]["curved"]["delta"]}
    assert f"it needs {by_value[0.1]['steps']} steps to 1e-5 against {curved['momentum']['steps']} for momentum" in row
    assert f"picks {curved['best']['value']:g}, {curved['best']['steps']} steps" in row
    lo, hi = min(curved["beating"]), max(curved["beating"])
    assert f"finds γ = {lo:g}–{hi:g} ahead of momentum's median over six starts" in row and curved["starts"] == 6
