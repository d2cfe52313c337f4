"""Figures of notebook 05 (self-modifying Titans): pure functions that return a matplotlib Figure.

Each ``render_*`` draws numbers computed elsewhere (by :mod:`.experiments` or an
:class:`~hope_lite.levels.UpdateRecorder`), or computes them itself when called without them, so
that :data:`FIGURES` can regenerate every static preview the notebook links::

    python -m hope_lite.lessons.figures --only 05-drift.png

Figures are closed in pyplot before they are returned (:mod:`hope_lite.lessons.plotting`).
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import numpy as np
import torch

from hope_lite import SelfModifyingTitans, UpdateRecorder

from ..plotting import finish, subplots
from ..teaching import seeded
from . import experiments as ex

__all__ = ["LAYER_COLORS", "MEMORY_COLORS", "MEMORY_LEVELS", "repeated_input_projections", "render_static_vs_adaptive",
           "render_remap_training", "render_drift", "update_magnitudes", "render_update_magnitudes",
           "SELF_MODIFICATION_EXPLORER_DEFAULTS", "trained_model", "token_labels", "FIGURES"]

LAYER_COLORS = {"self_modifying": "#d95f02", "static": "#7570b3", "titans": "#1b9e77"}
#: one colour per memory of a self-modifying layer (the output memory and the k, v, eta, alpha memories)
MEMORY_COLORS = {"memory": "#1b9e77", "k": "#d95f02", "v": "#7570b3", "eta": "#e7298a", "alpha": "#66a61e"}
MEMORY_LEVELS = ("memory", "k", "v", "eta", "alpha")
FIGURE_STEPS = 300   # training steps behind the static previews (the notebook's classroom setting)


def _mark_switch(ax, switch: int | None) -> None:
    if switch is not None:
        ax.axvline(switch - 0.5, color="#555555", ls="--", lw=1)


# ---------------------------------------------------------------------------------------------
# Section 1: static vs adaptive projections on a repeated input


@torch.no_grad()
def repeated_input_projections(tokens: int = 32, *, width: int = 32, heads: int = 2, projection_chunk_size: int = 4,
                               seed: int = 0) -> dict[str, np.ndarray]:
    """Feed one input vector ``tokens`` times to a fresh layer, static and self-modifying.

    Returns, per token (first head, first sequence), the distance of k_t and v_t from their
    value at the last token of the convolution warm-up (t = 3: from there on u_t is constant),
    and eta_t, alpha_t, for ``"static"`` and ``"self_modifying"``. A static projection is a
    function of u_t alone, so its distances stay 0; an adaptive one moves at every chunk boundary.
    """
    with seeded(seed):
        layer = SelfModifyingTitans(width, heads, chunk_size=projection_chunk_size,
                                    projection_chunk_size=projection_chunk_size)
        x = torch.randn(1, 1, width).expand(1, tokens, width).contiguous()
    out: dict[str, np.ndarray] = {}
    warm = min(3, tokens - 1)
    for name, frozen in (("static", True), ("self_modifying", False)):
        _, _, gen = layer(x, return_generated=True, freeze_projections=frozen)
        for key in ("k", "v"):
            g = gen[key][0, 0]                                        # (T, dh)
            out[f"{name}_{key}"] = (g - g[warm]).norm(dim=-1).numpy()
        for key in ("eta", "alpha"):
            out[f"{name}_{key}"] = gen[key][0, 0].numpy()
    out["chunk"] = np.array(projection_chunk_size)
    return out


def render_static_vs_adaptive(result: dict | None = None, **params: Any):
    """Two panels: |k_t - k_3| and |v_t - v_3| for a repeated input, static vs self-modifying."""
    result = repeated_input_projections(**params) if result is None else result
    fig, axes = subplots(9.0, 3.0, ncols=2)
    for ax, key in zip(axes, ("k", "v")):
        for name in ("static", "self_modifying"):
            y = result[f"{name}_{key}"]
            ax.plot(np.arange(len(y)), y, marker="o", ms=3, color=LAYER_COLORS[name], label=name.replace("_", "-"))
        C = int(result["chunk"])
        for b in range(C, len(y), C):
            ax.axvline(b - 0.5, color="#cccccc", lw=0.8, zorder=0)
        ax.set_xlabel("token t (the same input every time)")
        ax.set_ylabel(f"|{key}_t - {key}_3|")
        ax.set_title(f"{key}: how far the projection moved")
        ax.legend(frameon=False)
    fig.suptitle("A repeated input: static projections return the same k, v; adaptive ones drift "
                 "(grey: chunk boundaries)", fontsize=10)
    fig.tight_layout()
    return finish(fig)


# ---------------------------------------------------------------------------------------------
# Section 4: the remap comparison


def render_remap_training(runs: dict | None = None, *, steps: int = FIGURE_STEPS, seed: int = 0, smooth: int = 10):
    """Training loss of each layer (moving average over ``smooth`` steps) and held-out accuracies."""
    runs = ex.compare_remap(steps, (seed,)) if runs is None else runs
    fig, (ax, bx) = subplots(10.0, 3.4, ncols=2, gridspec_kw={"width_ratios": [1.4, 1]})
    for layer, results in runs.items():
        for i, r in enumerate(results):
            y = np.asarray(r.losses)
            if len(y) >= smooth:
                y = np.convolve(y, np.ones(smooth) / smooth, mode="valid")
            ax.plot(np.arange(len(y)) + (smooth - 1 if len(r.losses) >= smooth else 0), y,
                    color=LAYER_COLORS[layer], alpha=0.9 if i == 0 else 0.45,
                    label=layer.replace("_", "-") if i == 0 else None)
    ax.axhline(np.log(ex.REMAP_TASK["n_values"]), color="#555555", ls=":", lw=1, label="chance")
    ax.set_xlabel("outer step (AdamW)")
    ax.set_ylabel("training loss at the queries")
    ax.set_title("training")
    ax.legend(frameon=False)
    summary = ex.summarize(runs)
    keys = (("acc_before", "before switch"), ("acc_after", "after switch"), ("stale_after", "stale (old value)"))
    width = 0.8 / len(summary)
    for i, (layer, row) in enumerate(summary.items()):
        xs = np.arange(len(keys)) + (i - (len(summary) - 1) / 2) * width
        vals = [row[k] for k, _ in keys]
        bx.bar(xs, vals, width, color=LAYER_COLORS[layer], label=layer.replace("_", "-"))
        for x, v in zip(xs, vals):
            bx.text(x, v + 0.01, f"{v:.2f}", ha="center", va="bottom", fontsize=7)
    bx.axhline(1 / ex.REMAP_TASK["n_values"], color="#555555", ls=":", lw=1)
    bx.set_xticks(np.arange(len(keys)), [label for _, label in keys])
    bx.set_ylim(0, 1.12)
    bx.set_ylabel("share of held-out queries")
    bx.set_title("held-out accuracy")
    seeds = [r.seed for r in next(iter(runs.values()))]
    fig.suptitle(f"In-context remapping: {len(next(iter(runs.values()))[0].losses)} steps, seeds {seeds}", fontsize=10)
    fig.tight_layout()
    return finish(fig)


# ---------------------------------------------------------------------------------------------
# Section 5: drift of k, v, eta, alpha inside a sequence


@functools.lru_cache(maxsize=4)
def trained_model(steps: int = FIGURE_STEPS, seed: int = 0, layer: str = "self_modifying") -> ex.RemapModel:
    """A model trained by :func:`.experiments.train_remap` (cached: the previews share it)."""
    return ex.train_remap(layer, steps, seed=seed, keep_model=True).model


def render_drift(trace: dict | None = None, *, switch: int | None = None, title: str | None = None):
    """Four panels over tokens: |k - k_static|, |v - v_static| (relative), eta_t, alpha_t.

    ``trace`` comes from :func:`.experiments.generated_trace` (mean over
    sequences and heads, band = 10-90 % of sequences); the static layer is drawn for eta, alpha.
    """
    if trace is None:
        batch = ex.eval_batch(64)
        trace = ex.generated_trace(trained_model(), batch)
        switch = batch.switch
    fig, axes = subplots(12.0, 3.0, ncols=4)
    panels = (("k_drift", "k_norm", "|k_t - k_t^static| / |k^static|"),
              ("v_drift", "v_norm", "|v_t - v_t^static| / |v^static|"),
              ("eta", None, "inner step eta_t"), ("alpha", None, "retention alpha_t"))
    for ax, (key, norm, label) in zip(axes, panels):
        y = trace[key] / trace[norm] if norm else trace[key]
        y = y.mean(1)                                              # over heads -> (B, T)
        t = np.arange(y.shape[1])
        color = MEMORY_COLORS[key.split("_")[0]]
        ax.plot(t, y.mean(0), color=color, label="self-modifying")
        ax.fill_between(t, np.quantile(y, 0.1, axis=0), np.quantile(y, 0.9, axis=0), color=color, alpha=0.2)
        if norm is None:
            s = trace[f"{key}_static"].mean(1)
            ax.plot(t, s.mean(0), color="#555555", ls="--", lw=1, label="static (frozen)")
            ax.legend(frameon=False, fontsize=7)
        _mark_switch(ax, switch)
        ax.set_xlabel("token t")
        ax.set_title(label, fontsize=9)
    fig.suptitle(title or "What the trained self-modifying layer generates inside a sequence "
                          "(mean over held-out sequences, band 10-90 %; dashed line: the switch)", fontsize=10)
    fig.tight_layout()
    return finish(fig)


# ---------------------------------------------------------------------------------------------
# Section 6: update magnitudes of every memory (the explorer)


#: the start values of explore_self_modification() (also its static preview, 05-update-explorer.png)
SELF_MODIFICATION_EXPLORER_DEFAULTS = {"sequence": 0, "projection_chunk": 5, "memory_chunk": 5}


@torch.no_grad()
def update_magnitudes(model: ex.RemapModel, tokens: torch.Tensor, *, projection_chunk: int | None = None,
                      memory_chunk: int | None = None) -> dict[str, dict[str, np.ndarray]]:
    """One real forward pass under an UpdateRecorder: {level: {"times", "magnitudes"}} of every memory.

    ``tokens`` (T,) or (1, T). ``projection_chunk`` and ``memory_chunk`` override the layer's two
    chunk sizes for this pass only (its parameters do not depend on them). Magnitude =
    |M_after - M_before| of the chunk's write, mean over heads (what
    :class:`~hope_lite.self_modifying.SelfModifyingTitans` records).
    """
    chunks = {"chunk_size": memory_chunk, "projection_chunk_size": projection_chunk}
    with UpdateRecorder(model) as rec:
        model(tokens.reshape(1, -1), **{k: int(v) for k, v in chunks.items() if v is not None})
    out = {}
    for name in rec.levels():
        level = name.split(".")[-1]
        out[level] = {"times": rec.times(name), "magnitudes": rec.magnitudes(name)}
    return out


def render_update_magnitudes(magnitudes: dict, *, tokens: Sequence[str] | None = None, switch: int | None = None,
                             title: str | None = None):
    """One row per memory: a stem at each recorded update (token time), height = its magnitude."""
    levels = [lv for lv in MEMORY_LEVELS if lv in magnitudes]
    fig, axes = subplots(9.5, 0.9 + 1.0 * len(levels))
    import matplotlib.pyplot as plt

    plt.close(fig)
    fig.clf()
    axes = fig.subplots(len(levels), 1, sharex=True, squeeze=False)[:, 0]
    T = len(tokens) if tokens is not None else 1 + max(int(m["times"].max()) for m in magnitudes.values()
                                                          if len(m["times"]))
    for ax, level in zip(axes, levels):
        t, m = magnitudes[level]["times"], magnitudes[level]["magnitudes"]
        ax.vlines(t, 0, m, color=MEMORY_COLORS[level], lw=3)
        ax.plot(t, m, "o", color=MEMORY_COLORS[level], ms=4)
        ax.set_ylabel(level, rotation=0, ha="right", va="center")
        ax.set_ylim(0, max(1e-6, float(m.max()) if len(m) else 1.0) * 1.25)
        ax.set_xlim(-0.5, T - 0.5)
        ax.tick_params(axis="y", labelsize=7)
        _mark_switch(ax, switch)
    if tokens is not None:
        axes[-1].set_xticks(np.arange(T), list(tokens), fontsize=7)
    axes[-1].set_xlabel("token (the update is logged at the last token of its chunk)")
    fig.suptitle(title or "|M_after - M_before| of every memory's writes in one forward pass", fontsize=10)
    fig.tight_layout()
    return fig


def token_labels(tokens: torch.Tensor) -> list[str]:
    """Readable labels of a remap sequence: keys ``k3``, values ``v5``."""
    n_keys = ex.REMAP_TASK["n_keys"]
    return [f"k{int(t)}" if int(t) < n_keys else f"v{int(t) - n_keys}" for t in tokens.reshape(-1)]


def _explorer_preview():
    batch = ex.eval_batch(8)
    d = SELF_MODIFICATION_EXPLORER_DEFAULTS
    tokens = batch.tokens[d["sequence"]]
    mags = update_magnitudes(trained_model(), tokens, projection_chunk=d["projection_chunk"],
                             memory_chunk=d["memory_chunk"])
    return render_update_magnitudes(mags, tokens=token_labels(tokens), switch=batch.switch,
                                    title="explore_self_modification() at its start values: trained model, "
                                          "held-out sequence 0")


FIGURES: dict[str, Callable[[], Any]] = {
    "05-static-vs-adaptive.png": lambda: render_static_vs_adaptive(),
    "05-remap-training.png": lambda: render_remap_training(),
    "05-drift.png": lambda: render_drift(),
    "05-update-explorer.png": _explorer_preview,
}
