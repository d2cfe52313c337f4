"""In-context remapping: where could self-modifying projections help? (notebook 05)

The task (:func:`make_remap_batch`) is associative recall whose key -> value mapping **changes
halfway through every sequence**::

    k1 v1 k2 v2 ... kn vn  q1 .. qm  |  k1 v1' ... kn vn'  q1' .. qm'
    ---------- mapping A ----------     ---------- mapping B ----------

The same keys come back in the second half (in a new order) with new values (v_i' != v_i), and
the queries after the switch must be answered with the *new* values. A memory must therefore
write, read, and then **overwrite** associations inside one sequence; the old value is a
distractor ("stale" answer).

Three small models share everything but the sequence layer (:class:`RemapModel`: token
embeddings -> residual layer -> LayerNorm -> head):

* ``"self_modifying"``: :class:`~hope_lite.self_modifying.SelfModifyingTitans`, whose k, v, eta and
  alpha projections are memories that keep learning inside the sequence;
* ``"static"``: the same layer with ``self_modifying=False`` (projection memories frozen at their
  meta-learned initial state: static projections, the same parameter count);
* ``"titans"``: plain Titans, :class:`~hope_lite.titans.TitansLayer` (linear projections,
  data-dependent gates, a deep memory with momentum).

:func:`train_remap` trains one of them with AdamW (the outer optimizer) on fresh batches (the
lessons' one training loop, :func:`hope_lite.lessons.fit.fit`) and evaluates on a fixed held-out
batch; :func:`compare_remap` runs all three for several seeds.

One ablation rides along: ``"shared_input"`` (:func:`shared_input_layer`) is the self-modifying layer
as it was first written, with the k, v, eta and alpha memories all reading one shared input
``conv(x)_t`` instead of one input map and convolution each (``docs/reading.md``).

The command line re-runs a comparison (``remap``), or the whole measurement that notebook 05 and
``docs/reading.md`` quote, written to ``results/05-remap.json`` (``measure``, about 2 minutes on a
2-core CPU)::

    python -m hope_lite.lessons.ch05_self_modifying_titans.experiments remap --steps 300 --seeds 0 1 2
    python -m hope_lite.lessons.ch05_self_modifying_titans.experiments measure --json results/05-remap.json
"""

from __future__ import annotations

import argparse
import datetime
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import parametrize

from hope_lite import SelfModifyingTitans, TitansLayer

from ..results import find_in_repository, read_results, write_results
from .._args import require_choice, require_int
from ..fit import fit
from ..teaching import seeded

__all__ = ["REMAP_TASK", "REMAP_MODEL", "LAYERS", "ABLATIONS", "RemapBatch", "make_remap_batch", "RemapModel",
           "make_remap_model", "shared_input_layer", "RemapResult", "train_remap", "evaluate_remap", "compare_remap",
           "summarize", "format_table", "generated_trace", "kv_cosine", "BUDGETS", "RESULTS", "measure",
           "locate_results", "load_results", "results_table", "main"]

# the task and model sizes of notebook 05 (small enough for a 2-core CPU)
REMAP_TASK = {"n_pairs": 4, "n_queries": 2, "n_keys": 8, "n_values": 8}
# chunk 5: the switch (token 10 of 20) falls on a chunk boundary of both chunk sizes
REMAP_MODEL = {"width": 32, "heads": 2, "chunk_size": 5, "projection_chunk_size": 5}
LAYERS = ("self_modifying", "static", "titans")
#: layers that are not one of the chapter's three models: the shared-input self-modifying layer
ABLATIONS = ("shared_input",)
LR = 1e-2
BATCH = 32
EVAL_BATCH = 512
EVAL_SEED = 10_007  # the held-out batch is the same for every run


# ---------------------------------------------------------------------------------------------
# The task


@dataclass
class RemapBatch:
    """A batch of remapping sequences.

    ``tokens`` (B, T) and ``targets`` (B, T) (-100 = no loss at that position); ``phase`` (T,)
    is 0 at the queries before the switch, 1 at the queries after it, -1 elsewhere; ``stale``
    (B, T) holds the *old* value of each query after the switch (-100 elsewhere); ``switch`` is
    the position of the first token of the second half.
    """

    tokens: Tensor
    targets: Tensor
    phase: Tensor
    stale: Tensor
    switch: int


def make_remap_batch(batch: int, *, n_pairs: int = 4, n_queries: int = 2, n_keys: int = 8, n_values: int = 8,
                     generator: torch.Generator | None = None) -> RemapBatch:
    """Recall with a mid-sequence remapping: ``pairs A, queries, pairs B, queries`` (see the module doc).

    Keys are tokens ``0 .. n_keys-1`` (distinct within a sequence), values ``n_keys ..
    n_keys+n_values-1``. The second half shows the same keys in a new order, each with a value
    different from its first one, and asks ``n_queries`` keys again (drawn anew). Sequences are
    ``2 (2 n_pairs + n_queries)`` tokens long. Guessing a value uniformly scores ln(n_values).
    Deterministic for a seeded ``generator``.
    """
    batch, n_pairs = require_int("batch", batch), require_int("n_pairs", n_pairs)
    n_queries = require_int("n_queries", n_queries)
    n_keys, n_values = require_int("n_keys", n_keys), require_int("n_values", n_values, 2)
    if n_pairs > n_keys:
        raise ValueError(f"n_pairs ({n_pairs}) must be <= n_keys ({n_keys}): keys are distinct in a sequence.")
    if n_queries > n_pairs:
        raise ValueError(f"n_queries ({n_queries}) must be <= n_pairs ({n_pairs}).")
    g = generator
    keys = torch.rand(batch, n_keys, generator=g).argsort(-1)[:, :n_pairs]                 # (B, n) distinct
    old = torch.randint(n_values, (batch, n_pairs), generator=g)
    # a new value that is never the old one: shift by 1 .. n_values-1 (mod n_values)
    new = (old + 1 + torch.randint(n_values - 1, (batch, n_pairs), generator=g)) % n_values
    order = torch.rand(batch, n_pairs, generator=g).argsort(-1)                            # second-half order
    halves, answers, stales = [], [], []
    for vals, perm in ((old, None), (new, order)):
        k = keys if perm is None else keys.gather(1, perm)
        v = vals if perm is None else vals.gather(1, perm)
        asked = torch.rand(batch, n_pairs, generator=g).argsort(-1)[:, :n_queries]
        halves.append(torch.cat([torch.stack([k, v + n_keys], -1).reshape(batch, -1), k.gather(1, asked)], 1))
        answers.append(v.gather(1, asked) + n_keys)
        stales.append((old if perm is None else old.gather(1, perm)).gather(1, asked) + n_keys)
    tokens = torch.cat(halves, 1)
    half = halves[0].shape[1]
    targets = torch.full_like(tokens, -100)
    stale = torch.full_like(tokens, -100)
    phase = torch.full((tokens.shape[1],), -1, dtype=torch.long)
    for i in range(2):
        cols = slice(i * half + 2 * n_pairs, (i + 1) * half)
        targets[:, cols] = answers[i]
        phase[cols] = i
    stale[:, half + 2 * n_pairs:] = stales[1]
    return RemapBatch(tokens, targets, phase, stale, half)


# ---------------------------------------------------------------------------------------------
# The models


class _SharedInput(nn.Module):
    """Parametrization of a per-role weight ``(roles * width, ...)``: the first ``shared`` roles read the same rows.

    ``identity=True`` makes those rows the identity (no input map: the roles read ``x`` itself); the
    remaining role (q) keeps its own rows.
    """

    def __init__(self, width: int, shared: int, identity: bool = False) -> None:
        super().__init__()
        self.width, self.shared, self.identity = width, shared, identity

    def forward(self, X: Tensor) -> Tensor:
        w = self.width
        first = torch.eye(w, dtype=X.dtype, device=X.device) if self.identity else X[:w]
        return torch.cat([first] * self.shared + [X[self.shared * w:]])


def shared_input_layer(width: int, heads: int, chunk_size: int, projection_chunk_size: int) -> SelfModifyingTitans:
    """The ablation ``"shared_input"``: self-modifying Titans whose k, v, eta, alpha memories read one input.

    The first version of the layer fed one shared ``u_t = conv(x)_t`` to every projection memory
    (no input map; one causal convolution); the current :class:`~hope_lite.self_modifying.SelfModifyingTitans`
    gives each memory its own ``conv(x W_m)_t``. Here the current layer is tied back: its input map
    is the identity and its convolution one shared filter for the four roles (q keeps its own map
    and convolution), through :mod:`torch.nn.utils.parametrize`, so the rest of the layer is the
    library's own code.
    """
    layer = SelfModifyingTitans(width, heads, chunk_size, projection_chunk_size)
    shared = len(layer.projections)
    parametrize.register_parametrization(layer.inputs, "weight", _SharedInput(width, shared, identity=True))
    parametrize.register_parametrization(layer.conv, "weight", _SharedInput(width, shared))
    return layer


def _make_layer(layer: str, width: int, heads: int, chunk_size: int, projection_chunk_size: int) -> nn.Module:
    require_choice("layer", layer, LAYERS + ABLATIONS)
    if layer == "titans":
        return TitansLayer(width, heads, chunk_size)
    if layer == "shared_input":
        return shared_input_layer(width, heads, chunk_size, projection_chunk_size)
    return SelfModifyingTitans(width, heads, chunk_size, projection_chunk_size, self_modifying=layer == "self_modifying")


class RemapModel(nn.Module):
    """embeddings -> x + layer(x) -> LayerNorm -> head, for one of :data:`LAYERS` (or :data:`ABLATIONS`).

    x_t = E[token_t] + E_prev[token_{t-1}] (a one-token shift, so that at a value's position the
    layer sees the key and the value together, as in notebook 03's recall model).
    """

    def __init__(self, layer: str = "self_modifying", vocab: int = 16, *, width: int = 32, heads: int = 2,
                 chunk_size: int = 5, projection_chunk_size: int = 5) -> None:
        super().__init__()
        self.kind = layer
        self.embed = nn.Embedding(vocab, width)
        self.embed_prev = nn.Embedding(vocab + 1, width)          # the last id means "no previous token"
        self.layer = _make_layer(layer, width, heads, chunk_size, projection_chunk_size)
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab)

    def embed_tokens(self, tokens: Tensor) -> Tensor:
        prev = F.pad(tokens[:, :-1], (1, 0), value=self.embed_prev.num_embeddings - 1)
        return self.embed(tokens) + self.embed_prev(prev)          # (B, T, width)

    def forward(self, tokens: Tensor, **layer_options: Any) -> Tensor:   # (B, T) -> (B, T, vocab)
        """``layer_options`` go to this call of the layer, e.g. a self-modifying layer's ``chunk_size``
        and ``projection_chunk_size`` (the model itself is not changed)."""
        x = self.embed_tokens(tokens)
        y, _ = self.layer(x, **layer_options)
        return self.head(self.norm(x + y))


def make_remap_model(layer: str = "self_modifying", *, seed: int = 0, **sizes: Any) -> RemapModel:
    """A freshly initialised :class:`RemapModel` (``seed`` fixes its weights; the global RNG is left alone)."""
    config = {**REMAP_MODEL, **sizes}
    vocab = REMAP_TASK["n_keys"] + REMAP_TASK["n_values"]
    with seeded(seed):
        return RemapModel(layer, vocab, **config)


# ---------------------------------------------------------------------------------------------
# Training and evaluation


@dataclass
class RemapResult:
    """One training run: per-step training losses and held-out numbers after training."""

    layer: str
    seed: int
    steps: int
    losses: list[float] = field(default_factory=list)
    eval: dict[str, float] = field(default_factory=dict)   # loss, acc_before, acc_after, stale_after
    seconds: float = 0.0
    model: RemapModel | None = field(default=None, repr=False)

    @property
    def ms_per_step(self) -> float:
        return 1000 * self.seconds / max(self.steps, 1)


@torch.no_grad()
def evaluate_remap(model: RemapModel, batch: RemapBatch) -> dict[str, float]:
    """Held-out numbers: loss over all queries, accuracy before / after the switch, stale-answer rate.

    ``stale_after``: the share of queries after the switch answered with the key's *old* value.
    """
    logits = model(batch.tokens)
    loss = F.cross_entropy(logits.flatten(0, 1), batch.targets.flatten(), ignore_index=-100).item()
    pred = logits.argmax(-1)
    out = {"loss": loss}
    for i, name in enumerate(("before", "after")):
        cols = batch.phase == i
        out[f"acc_{name}"] = (pred[:, cols] == batch.targets[:, cols]).float().mean().item()
        out[f"loss_{name}"] = F.cross_entropy(logits[:, cols].flatten(0, 1), batch.targets[:, cols].flatten()).item()
    cols = batch.phase == 1
    out["stale_after"] = (pred[:, cols] == batch.stale[:, cols]).float().mean().item()
    return out


def eval_batch(size: int = EVAL_BATCH) -> RemapBatch:
    """The fixed held-out batch (seed :data:`EVAL_SEED`, never used for training)."""
    return make_remap_batch(size, **REMAP_TASK, generator=torch.Generator().manual_seed(EVAL_SEED))


def train_remap(layer: str, steps: int = 300, *, seed: int = 0, lr: float = LR, batch: int = BATCH,
                eval_size: int = EVAL_BATCH, keep_model: bool = False, **sizes: Any) -> RemapResult:
    """Train a :class:`RemapModel` with AdamW on fresh batches (seeded), then evaluate it.

    The loss is cross-entropy at the query positions of both halves. Gradient norms are clipped
    to 1 (the unrolled inner updates can give the outer loop large gradients). Returns a
    :class:`RemapResult`; ``keep_model=True`` keeps the trained model in it.
    """
    require_int("steps", steps, 0)
    model = make_remap_model(layer, seed=seed, **sizes)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    gen = torch.Generator().manual_seed(1000 + seed)

    def fresh_batch(step: int) -> tuple[Tensor, Tensor]:
        b = make_remap_batch(batch, **REMAP_TASK, generator=gen)
        return b.tokens, b.targets

    def loss_fn(logits: Tensor, targets: Tensor) -> Tensor:
        return F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=-100)

    run = fit(model, opt, fresh_batch, steps, loss_fn, clip_norm=1.0)
    result = RemapResult(layer, seed, steps, losses=run.losses, seconds=run.seconds)
    model.eval()
    result.eval = evaluate_remap(model, eval_batch(eval_size))
    if keep_model:
        result.model = model
    return result


def compare_remap(steps: int = 300, seeds: Sequence[int] = (0,), layers: Sequence[str] = LAYERS,
                  **kwargs: Any) -> dict[str, list[RemapResult]]:
    """Train every layer of ``layers`` for every seed (same data stream per seed): {layer: [results]}."""
    return {layer: [train_remap(layer, steps, seed=s, **kwargs) for s in seeds] for layer in layers}


def summarize(runs: dict[str, list[RemapResult]]) -> dict[str, dict[str, float]]:
    """Mean over seeds of every held-out number, plus the last-20-steps training loss and ms/step."""
    out = {}
    for layer, results in runs.items():
        row = {key: float(np.mean([r.eval[key] for r in results])) for key in results[0].eval}
        row["train_loss"] = float(np.mean([np.mean(r.losses[-20:]) for r in results])) if results[0].losses else math.nan
        row["ms_per_step"] = float(np.mean([r.ms_per_step for r in results]))
        out[layer] = row
    return out


def format_table(runs: dict[str, list[RemapResult]]) -> str:
    """The comparison table printed by the command line and the notebook."""
    seeds = [r.seed for r in next(iter(runs.values()))]
    lines = [f"held-out batch of {EVAL_BATCH} sequences; mean over seeds {seeds}; chance loss "
             f"ln({REMAP_TASK['n_values']}) = {math.log(REMAP_TASK['n_values']):.3f}",
             f"{'layer':>15} {'loss':>6} {'acc before':>10} {'acc after':>10} {'stale after':>11} "
             f"{'train loss':>10} {'ms/step':>8}   acc after, per seed"]
    for layer, row in summarize(runs).items():
        per_seed = " ".join(f"{r.eval['acc_after']:.3f}" for r in runs[layer])
        lines.append(f"{layer:>15} {row['loss']:6.3f} {row['acc_before']:10.3f} {row['acc_after']:10.3f} "
                     f"{row['stale_after']:11.3f} {row['train_loss']:10.3f} {row['ms_per_step']:8.1f}   {per_seed}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# What the projections do inside one sequence


@torch.no_grad()
def generated_trace(model: RemapModel, batch: RemapBatch) -> dict[str, np.ndarray]:
    """Per-token k, v, eta, alpha that a self-modifying model's layer generates, and how they drift.

    Returns ``eta``, ``alpha`` (B, H, T) and the *drift* of the adaptive projections: for each
    token, |k_t - k_t^static| and |v_t - v_t^static| (B, H, T), where the static values come from
    the same layer with its projection memories frozen at the initial state (same input). A
    static layer has zero drift by construction.
    """
    if not isinstance(model.layer, SelfModifyingTitans):
        raise ValueError("generated_trace needs a self_modifying or static RemapModel.")
    x = model.embed_tokens(batch.tokens)
    _, _, live = model.layer(x, return_generated=True)
    _, _, frozen = model.layer(x, return_generated=True, freeze_projections=True)
    out = {name: live[name].numpy() for name in ("eta", "alpha")}
    out.update({f"{name}_static": frozen[name].numpy() for name in ("eta", "alpha")})
    for name in ("k", "v"):
        out[f"{name}_drift"] = (live[name] - frozen[name]).norm(dim=-1).numpy()
        out[f"{name}_norm"] = frozen[name].norm(dim=-1).numpy()
    return out


@torch.no_grad()
def kv_cosine(model: RemapModel, batch: RemapBatch) -> float:
    """Mean cosine between the key k_t and the value v_t a self-modifying layer generates (all tokens, heads).

    Near 1: the layer writes every key onto (almost) itself, whatever the value says.
    """
    if not isinstance(model.layer, SelfModifyingTitans):
        raise ValueError("kv_cosine needs a RemapModel with a SelfModifyingTitans layer.")
    _, _, gen = model.layer(model.embed_tokens(batch.tokens), return_generated=True)
    return float(F.cosine_similarity(gen["k"], gen["v"], dim=-1).mean())


# ---------------------------------------------------------------------------------------------
# The measurement notebook 05 and docs/reading.md quote: results/05-remap.json

#: the training budgets of the measurement: the notebook's classroom and FAST settings
BUDGETS = {"classroom": {"steps": 300, "batch": 32}, "fast": {"steps": 100, "batch": 16}}
RESULTS = "results/05-remap.json"
MEASURE_COMMAND = f"python -m hope_lite.lessons.ch05_self_modifying_titans.experiments measure --json {RESULTS}"
FORMAT = 1


def measure(seeds: Sequence[int] = (0, 1, 2), *, budgets: dict[str, dict[str, int]] = BUDGETS,
            eval_size: int = EVAL_BATCH, progress: Any = None) -> dict:
    """Notebook 05's measurement: every layer for every seed at both :data:`BUDGETS`, and the ablation.

    The three layers of :data:`LAYERS` train at every budget; the shared-input ablation
    (:func:`shared_input_layer`) at the first (classroom) one. ``kv_cosine`` holds the mean cosine
    of k_t and v_t at initialisation on the held-out batch (mean over seeds) of both
    self-modifying variants. Returns a JSON-ready dict (format :data:`FORMAT`). ``budgets`` and
    ``eval_size`` are for tests; the committed file uses the defaults.
    """
    seeds = [require_int("seed", s, 0) for s in seeds]
    start = time.perf_counter()
    runs = []
    first = next(iter(budgets))
    plan = [(first, layer) for layer in LAYERS + ABLATIONS] + [(b, layer) for b in budgets if b != first for layer in LAYERS]
    for budget, layer in plan:
        b = budgets[budget]
        for s in seeds:
            r = train_remap(layer, b["steps"], seed=s, batch=b["batch"], eval_size=eval_size)
            runs.append({"budget": budget, "layer": layer, "seed": s, "steps": b["steps"], "batch": b["batch"],
                         **{k: round(v, 6) for k, v in r.eval.items()},
                         "train_loss": round(float(np.mean(r.losses[-20:])), 6), "ms_per_step": round(r.ms_per_step, 2)})
        if progress is not None:
            progress(f"  {budget} {layer}: done ({time.perf_counter() - start:.0f} s)")
    held_out = eval_batch(eval_size)
    cosine = {layer: round(float(np.mean([kv_cosine(make_remap_model(layer, seed=s), held_out) for s in seeds])), 6)
              for layer in ("self_modifying",) + ABLATIONS}
    return {"format": FORMAT, "command": MEASURE_COMMAND,
            "written": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
            "torch": torch.__version__, "threads": torch.get_num_threads(),
            "seconds": round(time.perf_counter() - start, 1), "seeds": seeds, "task": dict(REMAP_TASK),
            "model": dict(REMAP_MODEL), "lr": LR, "eval_batch": eval_size, "budgets": dict(budgets),
            "kv_cosine": cosine, "runs": runs}


def locate_results(path: str | Path = RESULTS) -> Path | None:
    """This chapter's results file (or ``path``) wherever the caller runs (:func:`~hope_lite.lessons.results.find_in_repository`)."""
    return find_in_repository(path)


def load_results(path: str | Path = RESULTS) -> dict:
    """Read the measurement written by ``measure --json`` (default: the committed ``results/05-remap.json``)."""
    return read_results(path, what="a measurement", fmt=FORMAT, key="runs", command=MEASURE_COMMAND)


def results_table(results: dict, budget: str = "classroom", key: str = "acc_after") -> dict[str, dict]:
    """{layer: {"mean": ..., "per_seed": [...], "seeds": [...]}} of one number of the runs of ``budget``."""
    require_choice("budget", budget, tuple(results["budgets"]))
    out: dict[str, dict] = {}
    for run in results["runs"]:
        if run["budget"] == budget:
            row = out.setdefault(run["layer"], {"per_seed": [], "seeds": []})
            row["per_seed"].append(run[key])
            row["seeds"].append(run["seed"])
    for row in out.values():
        row["mean"] = float(np.mean(row["per_seed"]))
    return out


# ---------------------------------------------------------------------------------------------
# Command line


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m hope_lite.lessons.ch05_self_modifying_titans.experiments",
                                description="Notebook 05's measurement: self-modifying vs static vs plain Titans "
                                            "on in-context remapping.")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("remap", help="train the three models and print the comparison table")
    r.add_argument("--steps", type=int, default=300)
    r.add_argument("--batch", type=int, default=BATCH)
    r.add_argument("--chunk", type=int, default=REMAP_MODEL["chunk_size"],
                   help="chunk size of the output memory and of the projection memories")
    r.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    r.add_argument("--layers", nargs="+", default=list(LAYERS), choices=LAYERS + ABLATIONS)
    r.add_argument("--lr", type=float, default=LR)
    m = sub.add_parser("measure", help=f"the measurement notebook 05 quotes (both budgets, the shared-input "
                                       f"ablation), written as JSON (e.g. {RESULTS})")
    m.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    m.add_argument("--json", required=True, help=f"where to write it, e.g. {RESULTS}")
    args = p.parse_args(argv)
    torch.set_num_threads(1)  # tiny tensors: one thread is faster and steadier
    if args.command == "measure":
        results = measure(args.seeds, progress=lambda line: print(line, file=sys.stderr, flush=True))
        out = write_results(args.json, results)
        for budget in results["budgets"]:
            table = results_table(results, budget)
            print(f"{budget} ({results['budgets'][budget]['steps']} steps x {results['budgets'][budget]['batch']}): "
                  + ", ".join(f"{layer} {row['mean']:.3f}" for layer, row in table.items()))
        print(f"k/v cosine at initialisation: {results['kv_cosine']}; wrote {out} ({results['seconds']:.0f} s)")
        return 0
    start = time.perf_counter()
    runs = {}
    for layer in args.layers:
        runs[layer] = [train_remap(layer, args.steps, seed=s, lr=args.lr, batch=args.batch, chunk_size=args.chunk,
                                   projection_chunk_size=args.chunk) for s in args.seeds]
        print(f"  {layer}: done ({time.perf_counter() - start:.0f} s)", file=sys.stderr, flush=True)
    print(f"remap task {REMAP_TASK}, model {dict(REMAP_MODEL, chunk_size=args.chunk, projection_chunk_size=args.chunk)}, "
          f"AdamW lr {args.lr}, batch {args.batch}, {args.steps} steps")
    print(format_table(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
