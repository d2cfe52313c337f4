"""The experiments of notebook 08: the paper's ablation tables and its context-use figure, at classroom scale.

Three commands, each resumable (a finished run is read back, an interrupted one resumed from its
checkpoint) and each writing one JSON file that the notebook reads::

    python -m hope_lite.lessons.ch08_paper_claims.experiments ablation --table hope --preset small \\
        --seeds 0 1 2 --json results/08-hope-ablation.json
    python -m hope_lite.lessons.ch08_paper_claims.experiments ablation --table titans --preset small \\
        --seeds 0 1 2 --json results/08-titans-ablation.json
    python -m hope_lite.lessons.ch08_paper_claims.experiments context --preset small --seeds 0 1 2 \\
        --json results/08-context.json

**An ablation table** (:data:`TABLES`): every row is the table's full model with one switch of
:class:`hope_lite.models.ModelConfig` changed (the row's ``overrides``), trained with
:func:`hope_lite.train.train` under one :class:`~hope_lite.train.TrainConfig` that differs only in
those overrides and the seed: the same preset, bytes, steps, schedule and validation bytes, and the
same parameter count within 0.5 % (the channel mixer is re-solved for the budget). Two numbers per
row and seed:

* validation perplexity (and bits per byte) on the offline corpus -- the paper's "ppl";
* in-context recall accuracy: the same configuration trained from scratch on multi-query associative
  recall (:func:`hope_lite.data.tasks.multi_query_recall`) for :data:`RECALL` steps and scored on
  held-out sequences -- standing in for the paper's "reasoning accuracy", which needs benchmarks
  this library cannot download.

The HOPE table's full model is the paper's HOPE: every projection (k, v, q) a memory, the L2 inner
rule with surprise momentum and retention, and the CMS (``adaptive_q=True, inner_momentum=True``;
the library's default ``hope`` has neither, see docs/reading.md). The Titans table's full model is
the chapter-07 Titans (LMM) with :data:`PERSISTENT_TOKENS` persistent tokens.

**Context use** (:func:`context_use`, the paper's Fig. 10): the validation text is read in documents
of :data:`CONTEXT_LENGTH` bytes, and the loss is averaged per block of :data:`CONTEXT_BLOCK` positions.
HOPE, HOPE without CMS, HOPE with plain GD and Titans are the ablation tables' runs (trained on
256-byte windows) reading each document in one pass, their memories' state carried from the first
byte to the last; Transformer++ (trained the same way, in ``OUT/context``) reads it in windows of its
training context moved by half a window, so each byte after the first window sees 128-255 bytes
before it. A curve that keeps falling past 256 bytes is a model using context it was never trained on.

**The verdict rule** (:func:`verdict`): a row's gap to the full model counts when it exceeds twice the
seed spread (the larger of the two rows' sample standard deviations over seeds). A counted gap in the
paper's direction: *holds*; a counted gap the other way: *does not hold*; a gap within the spread:
*not testable at this scale* (this budget cannot tell the effect, if any, from seed noise).

The default budget (:data:`DEFAULT_STEPS`) keeps every command under 45 minutes on a 2-core CPU with
``--jobs 2`` (two runs at a time, one thread each; each results file records its command's wall time).
It is far from the paper's 30B tokens, and the tables say so.
Introduced in notebook 08.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from hope_lite.models import build_model, count_parameters

from .._args import add_run_options, require_int
from ..ch07_hope.experiments import train_or_read_back
from ..parallel import run_all
from ..results import environment, read_results, sample_std, write_results

__all__ = ["Row", "Table", "TABLES", "CONTEXT_MODELS", "DEFAULT_STEPS", "RECALL", "PERSISTENT_TOKENS",
           "CONTEXT_LENGTH", "CONTEXT_BLOCK", "RESULTS", "RUNS", "FORMAT", "run_config", "train_recall",
           "ablation", "context_use", "loss_by_position", "rule", "verdict", "verdicts", "verdict_sentence", "context_verdicts",
           "format_table",
           "format_context", "load_results", "main"]

FORMAT = 1
RUNS = "runs/paper_claims"
RESULTS = {"hope": "results/08-hope-ablation.json", "titans": "results/08-titans-ablation.json",
           "context": "results/08-context.json"}
DEFAULT_STEPS = 50          # training steps per run (batch 8 x 256 bytes); the budget, see the module docstring
PERSISTENT_TOKENS = 4       # the Titans table's full model (Titans Table 5 ablates "w/o persistent memory")
CONTEXT_LENGTH = 4096
CONTEXT_BLOCK = 256


@dataclass(frozen=True)
class Recall:
    """The recall task every row is trained and scored on: MQAR with ``pairs`` key-value pairs listed
    and ``queries`` of them asked, tokens from a ``vocab``-symbol alphabet (keys and values from
    disjoint halves, so a blind guess scores 2 / vocab, and repeating one of the listed values about
    1 / pairs), ``steps`` AdamW steps of ``batch`` fresh sequences at ``lr`` (10 % linear warm-up,
    gradient clip 1), scored on ``test`` held-out sequences.

    A sequence is ``2 * (pairs + queries)`` tokens long (16 by default), shorter than the ``small``
    preset's chunks (64): inside it the self-modifying projection memories (k, v, q, eta, alpha) and
    the CMS levels never update, so the task can only test switches of the output memory's rule
    (:func:`recall_reaches`). A longer sequence tests more, but did not train past copying a listed
    value within this budget."""

    @property
    def length(self) -> int:
        return 2 * (self.pairs + self.queries)

    pairs: int = 4
    queries: int = 4
    vocab: int = 16
    steps: int = 80
    batch: int = 64
    lr: float = 1e-2
    test: int = 512


RECALL = Recall()


@dataclass(frozen=True)
class Row:
    """One row of an ablation table: its label, the switches it changes, and the paper's (ppl, acc).

    ``period_of_part``: the model-config field holding the update period of the part this row
    switches, when that part only changes at its chunk boundaries (the projection memories, the CMS);
    None when the part acts at every token (the output memory's rule, Titans' memory).
    """

    label: str
    overrides: dict
    paper: tuple[float, float]
    key: str = ""
    period_of_part: str | None = None


@dataclass(frozen=True)
class Table:
    """An ablation table: the model, its full configuration (``base``), the rows (first: the full model)."""

    name: str
    model: str
    base: dict
    rows: tuple[Row, ...]
    source: str
    model_label: str = ""

    def with_row(self, label: str, overrides: dict, key: str = "mine") -> "Table":
        """This table's full model and one row of your own (no paper numbers: the verdict reports the gap only)."""
        if not isinstance(overrides, dict) or not overrides:
            raise ValueError(f"overrides must be a non-empty dict of switches, e.g. {{'retention': False}}, "
                             f"got {overrides!r}.")
        if key == "full":
            raise ValueError("key 'full' is the full model's; choose another key.")
        own = Row(label, dict(overrides), (math.nan, math.nan), key)
        return replace(self, name=f"{self.name}+{key}", rows=(self.row("full"), own))

    def row(self, key: str) -> Row:
        for r in self.rows:
            if r.key == key:
                return r
        raise ValueError(f"table {self.name!r} has no row {key!r}; its rows are {[r.key for r in self.rows]}.")


TABLES: dict[str, Table] = {
    "hope": Table(
        "hope", "hope", {"adaptive_q": True, "inner_momentum": True},
        (Row("HOPE", {}, (12.24, 58.1), "full"),
         Row("DGD → plain GD", {"inner_rule": "dot"}, (13.41, 56.5), "plain_gd"),
         Row("w/o momentum", {"inner_momentum": False}, (13.58, 56.9), "no_momentum"),
         Row("w/o weight decay (α)", {"retention": False}, (13.71, 57.2), "no_retention"),
         Row("w/o CMS", {"cms": False}, (13.04, 57.3), "no_cms", "cms_periods"),
         Row("w/o inner projection k", {"static_projections": ("k",)}, (13.77, 56.9), "static_k", "projection_chunk_size"),
         Row("w/o inner projection v", {"static_projections": ("v",)}, (13.90, 55.1), "static_v", "projection_chunk_size"),
         Row("w/o inner projection q", {"static_projections": ("q",)}, (12.19, 57.4), "static_q", "projection_chunk_size")),
        source="Nested Learning, Table 6 (760M parameters): perplexity ↓ / reasoning accuracy ↑", model_label="HOPE"),
    "titans": Table(
        "titans", "titans", {"titans_persistent_tokens": PERSISTENT_TOKENS},
        (Row("Titans (LMM)", {}, (27.01, 47.83), "full"),
         Row("linear memory", {"titans_memory_depth": 1}, (28.49, 46.97), "linear_memory"),
         Row("w/o convolution", {"titans_conv": False}, (28.73, 45.82), "no_conv"),
         Row("w/o momentum", {"titans_momentum": False}, (28.98, 45.49), "no_momentum"),
         Row("w/o weight decay", {"titans_weight_decay": False}, (29.04, 45.11), "no_weight_decay"),
         Row("w/o persistent memory", {"titans_persistent_tokens": 0}, (27.63, 46.35), "no_persistent")),
        source="Titans, Table 5: perplexity ↓ / reasoning accuracy ↑", model_label="Titans"),
}

# The models of the context-use figure (paper Fig. 10): (label, table, row key); Transformer++ is trained apart.
CONTEXT_MODELS = (("HOPE", "hope", "full"), ("HOPE w/o CMS", "hope", "no_cms"), ("HOPE with plain GD", "hope", "plain_gd"),
                  ("Titans (LMM)", "titans", "full"), ("Transformer++", None, None))


def run_config(model: str, overrides: dict, seed: int, *, preset: str = "small", steps: int = DEFAULT_STEPS,
               batch: int = 8, context: int = 256, corpus: str = "pydoc", **settings: Any):
    """The TrainConfig of one run: a validation and a checkpoint every ``steps // 3`` steps and at the end, 10 % warm-up."""
    from hope_lite.train import TrainConfig

    require_int("steps", steps)
    every = max(1, steps // 3)
    base = dict(preset=preset, corpus=corpus, steps=steps, batch=batch, context=context,
                warmup=max(1, steps // 10), eval_every=every, checkpoint_every=every)
    return TrainConfig(model=model, seed=seed, overrides=dict(overrides), **{**base, **settings})


def recall_reaches(table: "Table", row: Row, preset: str = "small", recall: "Recall | None" = None) -> str | None:
    """None when the recall task exercises the part ``row`` switches; otherwise why it cannot: the part's
    first update lands at token ``period - 1``, and a recall sequence of ``recall.length`` tokens ends first."""
    from hope_lite.models import preset_config

    recall = RECALL if recall is None else recall
    if row.period_of_part is None:
        return None
    value = getattr(preset_config(table.model, preset, **table.base), row.period_of_part)
    period = min(value) if isinstance(value, tuple) else value
    if period < recall.length:
        return None
    return (f"the switched part first updates at token {period} ({row.period_of_part} = {value}), after the "
            f"{recall.length}-token recall sequence ends")


# ---------------------------------------------------------------------------------------------
# In-context recall, the stand-in for "reasoning accuracy"


def train_recall(model: str, overrides: dict, seed: int, *, preset: str = "small", recall: Recall = RECALL,
                 device: str = "cpu") -> dict:
    """Train ``model`` (with ``overrides``) from scratch on MQAR and score it: ``{"recall_acc", "recall_loss",
    "recall_seconds"}`` (accuracy on the asked values of ``recall.test`` held-out sequences; see :class:`Recall`
    for the baselines). A run whose loss, gradients or activations become NaN or inf is reported as
    ``{"recall_diverged": step, "recall_seconds"}`` instead."""
    from functools import partial

    from ..task_training import TaskTraining, train_on_task

    draw = partial(_recall_batch, recall)
    test = draw(recall.test, 2**31 - 1)              # far from the training seeds (seed * 100_003 + step)
    result = train_on_task(model, overrides, seed, draw, {"test": test},
                           TaskTraining(steps=recall.steps, batch=recall.batch, lr=recall.lr), preset=preset,
                           device=device)
    if "diverged" in result:
        return {"recall_diverged": result["diverged"], "recall_seconds": result["seconds"]}
    return {"recall_acc": result["acc"]["test"], "recall_loss": result["loss"]["test"],
            "recall_seconds": result["seconds"]}


def _recall_batch(recall: Recall, n: int, seed: int) -> dict:
    from hope_lite.data.tasks import multi_query_recall

    return multi_query_recall(n, recall.pairs, recall.queries, vocab_size=recall.vocab, seed=seed)


# ---------------------------------------------------------------------------------------------
# An ablation table


def _one_row_seed(table: Table, row: Row, seed: int, out: Path | None, settings: dict, recall: Recall, device: str,
                  log: Callable[[str], Any], text) -> dict:
    """The language-model run and the recall run of one row and seed (each read back when done before)."""
    overrides = {**table.base, **row.overrides}
    config = run_config(table.model, overrides, seed, **settings)
    run_dir = None if out is None else out / table.name / f"{row.key}-seed{seed}"
    try:
        record, _ = train_or_read_back(config, run_dir, text=text, device=device, log=log, label=row.label)
    except FloatingPointError as err:          # the trainer stops at a non-finite loss: the row diverged
        log(f"{row.label} seed {seed}: diverged ({err})")
        with torch.device("meta"):
            parameters = count_parameters(build_model(table.model, settings.get("preset", "small"), **overrides))
        record = {"seed": seed, "parameters": parameters, "diverged": str(err)}
    record = {"row": row.key, "label": row.label, **record}
    recall_file = None if run_dir is None else run_dir / "recall.json"
    wanted = {"recall": asdict(recall), "overrides": json.loads(json.dumps(overrides)), "seed": seed,
              "preset": config.preset, "version": 2}
    if recall_file is not None and recall_file.exists():
        saved = json.loads(recall_file.read_text())
        if saved.get("settings") == wanted:
            record.update(saved["result"])
            return record
    log(f"{row.label:>24} seed {seed}: recall task ({recall.steps} steps)")
    result = train_recall(table.model, overrides, seed, preset=config.preset, recall=recall, device=device)
    log(f"{row.label:>24} seed {seed}: " + (f"recall accuracy {result['recall_acc']:.3f}" if "recall_acc" in result
                                            else f"the recall task diverged at step {result['recall_diverged']}"))
    if recall_file is not None:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_results(recall_file, {"settings": wanted, "result": result})
    record.update(result)
    return record


def summarize(table: Table, runs: Sequence[dict], preset: str = "small", recall: "Recall | None" = None) -> list[dict]:
    """Per row (in the table's order), over seeds: label, parameters, per-seed and mean ± std of val ppl,
    val bits/byte and recall accuracy; ``diverged`` / ``recall_diverged`` count seeds whose language-model /
    recall training did not finish; ``recall_untestable`` says why the recall task cannot test the row
    (:func:`recall_reaches`), or None."""
    rows = []
    for row in table.rows:
        recall_untestable = recall_reaches(table, row, preset, recall)
        mine = sorted((r for r in runs if r["row"] == row.key), key=lambda r: r["seed"])
        if not mine:
            continue
        finished = [r for r in mine if "val_ppl" in r]
        recalled = [r for r in mine if "recall_acc" in r]
        entry = {"row": row.key, "label": row.label, "overrides": json.loads(json.dumps(row.overrides)),
                 "paper": {"ppl": row.paper[0], "acc": row.paper[1]}, "parameters": mine[0]["parameters"],
                 "seeds": [r["seed"] for r in mine], "diverged": len(mine) - len(finished),
                 "recall_diverged": len(mine) - len(recalled), "recall_untestable": recall_untestable}
        for name, pool in (("val_ppl", finished), ("val_bpb", finished), ("recall_acc", recalled)):
            values = [r[name] for r in pool]
            entry[name] = {str(r["seed"]): r[name] for r in pool}
            entry[f"{name}_mean"] = float(np.mean(values)) if values else None
            entry[f"{name}_std"] = sample_std(values) if values else None
        entry["seconds_mean"] = float(np.mean([r["seconds"] for r in finished])) if finished else None
        entry["recall_seconds_mean"] = float(np.mean([r["recall_seconds"] for r in mine]))
        rows.append(entry)
    return rows


def rule(gap: float, spread: float, paper_gap: float, n: int) -> str:
    """The chapter's verdict rule, in one place: a gap counts when it exceeds twice the seed spread.

    A counted gap with the sign of ``paper_gap`` (the paper's own change): "holds"; with the other sign: "does
    not hold"; a gap that does not count, or fewer than ``n = 2`` seeds: "not testable at this scale". Without a
    paper number (``paper_gap`` NaN, a row of your own): "a gap that counts" or "within the seed spread". Where
    the paper reports a tie (``paper_gap == 0``, e.g. every model at 100 %), the claim is that no gap counts: a gap
    within the spread (over at least two seeds) "holds", a counted one "does not hold".
    """
    counts = n >= 2 and abs(gap) > 2 * spread
    if math.isnan(paper_gap):
        return "a gap that counts" if counts else "within the seed spread"
    if paper_gap == 0:
        return "does not hold" if counts else ("holds" if n >= 2 else "not testable at this scale")
    if not counts:
        return "not testable at this scale"
    return "holds" if (gap > 0) == (paper_gap > 0) else "does not hold"


def verdict(full: dict, row: dict, metric: str) -> dict:
    """The rule, for one row against the full model on ``metric`` (``val_ppl``: lower is better;
    ``recall_acc``: higher is better). The paper's direction is read from its own numbers for the row.

    Returns ``{"gap", "spread", "paper_gap", "call"}``: gap = row mean - full mean; spread = the larger
    sample std over seeds; call = "holds" / "does not hold" when |gap| > 2 x spread (in / against the
    paper's direction), else "not testable at this scale". Fewer than two seeds on either side, or a
    diverged seed: "not testable at this scale" (no spread to compare with); so is recall accuracy for a
    row whose switched part does not update within a recall sequence (``row["recall_untestable"]``, also
    returned as ``"why"``). A row of your own has no paper numbers: its call is "a gap that counts" or
    "within the seed spread".
    """
    column = "ppl" if metric == "val_ppl" else "acc"
    paper_gap = row["paper"][column] - full["paper"][column]
    mean, base = row.get(f"{metric}_mean"), full.get(f"{metric}_mean")
    n = min(len(row.get(metric) or {}), len(full.get(metric) or {}))
    failed = "diverged" if metric == "val_ppl" else "recall_diverged"
    if metric == "recall_acc" and row.get("recall_untestable"):
        return {"gap": None if mean is None or base is None else mean - base, "spread": None, "paper_gap": paper_gap,
                "call": "not testable at this scale", "why": row["recall_untestable"]}
    if mean is None or base is None or n < 2 or row.get(failed) or full.get(failed):
        return {"gap": None if mean is None or base is None else mean - base, "spread": None, "paper_gap": paper_gap,
                "call": "not testable at this scale"}
    gap, spread = mean - base, max(row[f"{metric}_std"], full[f"{metric}_std"])
    return {"gap": gap, "spread": spread, "paper_gap": paper_gap, "call": rule(gap, spread, paper_gap, n)}


def verdicts(results: dict) -> list[dict]:
    """Every row but the full model: ``{"label", "ppl": verdict(...), "acc": verdict(...)}``."""
    rows = results["summary"]
    full = rows[0]
    return [{"row": r["row"], "label": r["label"], "ppl": verdict(full, r, "val_ppl"),
             "acc": verdict(full, r, "recall_acc")} for r in rows[1:]]


def ablation(table: str | Table = "hope", seeds: Sequence[int] = (0, 1, 2), *, preset: str = "small",
             steps: int = DEFAULT_STEPS, batch: int = 8, context: int = 256, corpus: str = "pydoc",
             rows: Sequence[str] | None = None, recall: Recall = RECALL, out: str | Path | None = RUNS,
             json_path: str | Path | None = None, device: str = "cpu", log: Callable[[str], Any] = print,
             text=None, jobs: int = 1, progress: bool = False, **settings: Any) -> dict:
    """Train every row x seed of ``TABLES[table]`` (or the ``rows`` named), score both numbers, summarise.

    ``jobs > 1`` trains that many (row, seed) pairs at once, each in its own process with one torch
    thread (every pair has its own run directory; the numbers are those of ``jobs=1``, tested); ``log``
    must then be picklable (``print`` is). ``progress``: a tqdm bar over the (row, seed) pairs.
    ``table`` may also be a :class:`Table` (e.g. ``TABLES["hope"].with_row(...)``, a row of your own).

    Returns (and writes to ``json_path``)::

        {"format": 1, "kind": "ablation", "table": name, "source": the paper's table, "command": ...,
         "model": the table's model, "base": its full model's switches,
         "settings": {the shared TrainConfig fields, "tokens_per_run"}, "recall": {the Recall fields},
         "seeds": [...], "runs": [one record per row and seed, see train_or_read_back, plus "row", "label",
         "recall_acc", "recall_loss"], "summary": [see summarize], "verdicts": [see verdicts],
         "environment": {"python", "torch", "threads", "device", "platform", "created", "wall_seconds" (this
         call), "compute_seconds" (the training time of every run, summed), "jobs"}}
    """
    if isinstance(table, Table):
        spec, table = table, table.name
    elif table in TABLES:
        spec = TABLES[table]
    else:
        raise ValueError(f"table must be one of {tuple(TABLES)} (or a Table), got {table!r}.")
    seeds = [require_int("seed", s, low=0) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct ints >= 0, at least one, got {list(seeds)}.")
    if rows is None:
        chosen = list(spec.rows)
    else:                                            # every verdict is against the full model: always first, once
        chosen = [spec.row("full")] + [spec.row(key) for key in dict.fromkeys(rows) if key != "full"]
    shared = dict(preset=preset, steps=steps, batch=batch, context=context, corpus=corpus, **settings)
    for row in chosen:                               # every configuration checked before anything trains
        run_config(spec.model, {**spec.base, **row.overrides}, seeds[0], **shared)
    require_int("jobs", jobs)
    out = None if out is None else Path(out)
    started = time.perf_counter()
    work = [(spec, row, seed, out, shared, recall, device, log, text) for row in chosen for seed in seeds]
    runs = run_all(_one_row_seed, work, jobs=jobs, progress=f"{spec.name} table" if progress else None)
    config = run_config(spec.model, spec.base, seeds[0], **shared)
    settings_out = {k: v for k, v in asdict(config).items() if k not in ("model", "seed", "overrides")}
    settings_out["tokens_per_run"] = config.steps * config.batch * config.context
    results = {"format": FORMAT, "kind": "ablation", "table": table, "source": spec.source,
               "model": spec.model, "base": json.loads(json.dumps(spec.base)),
               "command": command("ablation", table=table, seeds=seeds, settings=settings_out, out=out,
                                  json_path=json_path, rows=None if rows is None else [r.key for r in chosen[1:]]),
               "settings": settings_out, "recall": asdict(recall), "seeds": seeds, "runs": runs,
               "summary": summarize(spec, runs, config.preset, recall), "environment": environment(device, started)}
    results["environment"]["jobs"] = jobs
    if jobs > 1:
        results["command"] += f" --jobs {jobs}"
    # the table's training time, summed over its runs (this call's wall time is short when it read runs back)
    results["environment"]["compute_seconds"] = round(sum(r.get("seconds", 0.0) + r["recall_seconds"] for r in runs), 1)
    results["verdicts"] = verdicts(results)
    if json_path is not None:
        write_results(json_path, results)
    return results


# ---------------------------------------------------------------------------------------------
# Context use (the paper's Fig. 10)


@torch.no_grad()
def loss_by_position(model, text: torch.Tensor, *, length: int = CONTEXT_LENGTH, block: int = CONTEXT_BLOCK,
                     window: int | None = None) -> dict:
    """Mean next-byte loss (nats) per block of ``block`` positions over documents of ``length`` bytes.

    ``text`` is cut into ``len(text) // (length + 1)`` documents. ``window=None``: each document is
    read in one pass (a memory model carries its state from the first byte to the last). ``window=W``:
    read in windows of W bytes moved by W // 2, each byte scored once (in the first window all of
    them, later only the second half), so every byte after the first window sees W // 2 to W - 1
    bytes before it (attention limited to its training context).

    Returns ``{"positions": [block ends], "loss": [mean per block], "documents": n}``.
    """
    require_int("length", length)
    require_int("block", block)
    if length % block:
        raise ValueError(f"length ({length}) must be a multiple of block ({block}).")
    n = (text.numel()) // (length + 1)
    if n < 1:
        raise ValueError(f"the text has {text.numel()} bytes, fewer than one document of {length + 1}.")
    device = next(model.parameters()).device
    docs = torch.stack([text[i * (length + 1):(i + 1) * (length + 1)] for i in range(n)]).long().to(device)
    inputs, targets = docs[:, :-1], docs[:, 1:]
    model.eval()
    if window is None:
        logits = model(inputs)[0]
        losses = F.cross_entropy(logits.float().transpose(1, 2), targets, reduction="none")      # (n, length)
    else:
        require_int("window", window, low=2)
        half = window // 2
        losses = torch.empty(n, length, device=device)
        start = 0
        while True:
            end = min(start + window, length)
            logits = model(inputs[:, start:end])[0]
            part = F.cross_entropy(logits.float().transpose(1, 2), targets[:, start:end], reduction="none")
            first = 0 if start == 0 else half       # in later windows only the second half is new
            losses[:, start + first:end] = part[:, first:]
            if end == length:
                break
            start += half
    per_block = losses.view(n, length // block, block).mean(dim=(0, 2))
    return {"positions": [block * (i + 1) for i in range(length // block)], "loss": per_block.cpu().tolist(),
            "documents": n}


def context_use(seeds: Sequence[int] = (0, 1, 2), *, preset: str = "small", steps: int = DEFAULT_STEPS,
                batch: int = 8, context: int = 256, corpus: str = "pydoc", out: str | Path | None = RUNS,
                json_path: str | Path | None = None, device: str = "cpu", log: Callable[[str], Any] = print,
                length: int = CONTEXT_LENGTH, block: int = CONTEXT_BLOCK, text=None, **settings: Any) -> dict:
    """Loss by position for :data:`CONTEXT_MODELS` (training the runs that are not there yet).

    Returns (and writes)::

        {"format": 1, "kind": "context", "command", "settings", "seeds", "length", "block", "documents",
         "positions": [...], "models": [{"label", "model", "overrides", "read": "carried state" or
         "windows of W moved by W/2", "loss": {seed: [per block, nats]}, "loss_mean": [...], "loss_std": [...],
         "diverged": [seeds left out]}], "environment"}
    """
    from hope_lite.data import corpus_bytes, load_corpus
    from hope_lite.train import load_trained

    seeds = [require_int("seed", s, low=0) for s in seeds]
    shared = dict(preset=preset, steps=steps, batch=batch, context=context, corpus=corpus, **settings)
    out = None if out is None else Path(out)
    if text is None:
        loaded = load_corpus(corpus, log=log)
        val = corpus_bytes(loaded, "validation")
    else:
        val = text[1]
    started = time.perf_counter()
    models = []
    documents = None
    for label, table, key in CONTEXT_MODELS:
        if table is None:
            model_kind, overrides, folder, row_label = "transformer", {}, "context", label
            row_key = "transformer"
        else:
            spec = TABLES[table]
            row = spec.row(key)
            model_kind, overrides, folder, row_label, row_key = spec.model, {**spec.base, **row.overrides}, spec.name, \
                row.label, row.key
        per_seed = {}
        for seed in seeds:
            config = run_config(model_kind, overrides, seed, **shared)
            run_dir = None if out is None else out / folder / f"{row_key}-seed{seed}"
            try:
                _, net = train_or_read_back(config, run_dir, text=text, device=device, log=log, want_model=True,
                                            label=row_label)
            except FloatingPointError as err:        # a diverged run has no curve; the others still do
                log(f"{label} seed {seed}: diverged ({err}); left out")
                continue
            if net is None and run_dir is not None:
                net = load_trained(run_dir, device=device)[0]
            window = context if model_kind == "transformer" else None
            curve = loss_by_position(net, val, length=length, block=block, window=window)
            per_seed[str(seed)] = curve["loss"]
            documents, positions = curve["documents"], curve["positions"]
            log(f"{label:>20} seed {seed}: loss {curve['loss'][0]:.3f} (first {block} bytes) -> "
                f"{curve['loss'][-1]:.3f} (last {block})")
        if not per_seed:
            models.append({"label": label, "model": model_kind, "overrides": json.loads(json.dumps(overrides)),
                           "read": None, "loss": {}, "loss_mean": None, "loss_std": None, "diverged": list(seeds)})
            continue
        table_ = np.array(list(per_seed.values()))
        models.append({"label": label, "model": model_kind, "overrides": json.loads(json.dumps(overrides)),
                       "read": "carried state" if model_kind != "transformer" else
                       f"windows of {context} moved by {context // 2}",
                       "loss": per_seed, "loss_mean": table_.mean(0).tolist(),
                       "loss_std": (table_.std(0, ddof=1) if len(per_seed) > 1 else np.zeros(table_.shape[1])).tolist(),
                       "diverged": [s for s in seeds if str(s) not in per_seed]})
    config = run_config("hope", {}, seeds[0], **shared)
    settings_out = {k: v for k, v in asdict(config).items() if k not in ("model", "seed", "overrides")}
    results = {"format": FORMAT, "kind": "context",
               "command": command("context", seeds=seeds, settings=settings_out, out=out, json_path=json_path),
               "settings": settings_out, "seeds": seeds, "length": length, "block": block, "documents": documents,
               "positions": positions, "models": models, "environment": environment(device, started)}
    if json_path is not None:
        write_results(json_path, results)
    return results


def context_verdicts(results: dict) -> list[dict]:
    """The paper's Fig. 10 claims, judged by the same rule as the tables, on the loss beyond the training context.

    * "HOPE's loss keeps falling with more context": per seed, the change from the block that ends at the
      training context to the last block (bits per byte); the gap is its mean, the spread its sample std over seeds;
      the paper's direction is negative (falling).
    * "HOPE w/o CMS / with plain GD do worse": per model, the mean loss over the blocks past the training
      context, against HOPE's; gap = other - HOPE, spread = the larger std over seeds; the paper's direction
      is positive (worse).

    Returns ``[{"claim", "gap", "spread", "call"}, ...]``; a model with a diverged seed is not testable.
    """
    context = results["settings"]["context"]
    positions = results["positions"]
    at = max(i for i, p in enumerate(positions) if p <= context) if positions[0] <= context else 0
    models = {m["label"]: m for m in results["models"]}
    out = []

    def per_seed(model: dict, fn) -> list[float]:
        return [fn(np.asarray(curve) / math.log(2)) for curve in model["loss"].values()]    # nats -> bits per byte

    hope = models.get("HOPE")
    if hope is not None and hope["loss"]:
        change = per_seed(hope, lambda c: float(c[-1] - c[at]))
        ok = not hope.get("diverged")
        out.append({"claim": f"HOPE's loss falls from byte {positions[at]} to byte {positions[-1]}",
                    "gap": float(np.mean(change)), "spread": sample_std(change),
                    "call": rule(float(np.mean(change)), sample_std(change), -1.0, len(change) if ok else 0)})
    for label in ("HOPE w/o CMS", "HOPE with plain GD"):
        other = models.get(label)
        if hope is None or other is None or not hope["loss"] or not other["loss"]:
            continue
        beyond = lambda c: float(c[at + 1:].mean()) if at + 1 < len(c) else float(c[-1])   # noqa: E731
        mine, theirs = per_seed(hope, beyond), per_seed(other, beyond)
        gap, spread = float(np.mean(theirs) - np.mean(mine)), max(sample_std(mine), sample_std(theirs))
        ok = not hope.get("diverged") and not other.get("diverged")
        out.append({"claim": f"{label} has a higher loss than HOPE past byte {positions[at]}", "gap": gap,
                    "spread": spread, "call": rule(gap, spread, +1.0, min(len(mine), len(theirs)) if ok else 0)})
    return out


# ---------------------------------------------------------------------------------------------
# Reading, printing


def command(kind: str, *, seeds: Sequence[int], settings: dict, table: str | None = None,
            out: str | Path | None = RUNS, json_path: str | Path | None = None, rows: Sequence[str] | None = None) -> str:
    """The command line that writes these results."""
    parts = ["python -m hope_lite.lessons.ch08_paper_claims.experiments", kind]
    if table is not None:
        parts.append(f"--table {table}")
    if rows:
        parts.append(f"--rows {' '.join(rows)}")
    parts += [f"--preset {settings['preset']}", f"--steps {settings['steps']}", f"--batch {settings['batch']}",
              f"--context {settings['context']}", f"--corpus {settings['corpus']}",
              f"--seeds {' '.join(map(str, seeds))}"]
    if out is not None:
        parts.append(f"--out {out}")
    if json_path is not None:
        parts.append(f"--json {json_path}")
    return " ".join(parts)


def load_results(which: str = "hope", path: str | Path | None = None) -> dict:
    """A committed results file: ``which`` is ``"hope"``, ``"titans"`` or ``"context"`` (or give ``path``)."""
    if which not in RESULTS:
        raise ValueError(f"which must be one of {tuple(RESULTS)}, got {which!r}.")
    kind = "context" if which == "context" else f"ablation --table {which}"
    cmd = f"python -m hope_lite.lessons.ch08_paper_claims.experiments {kind} --preset small --seeds 0 1 2 " \
          f"--json {RESULTS[which]}"
    return read_results(path or RESULTS[which], what="a chapter-08 results file", fmt=FORMAT,
                        key="models" if which == "context" else "summary", command=cmd)


def _cell(mean: float | None, std: float | None, digits: int) -> str:
    return "–" if mean is None else f"{mean:.{digits}f} ± {std:.{digits}f}"


def _paper(paper: dict) -> str:
    return "–" if math.isnan(paper["ppl"]) else f"{paper['ppl']} / {paper['acc']}"


def format_table(results: dict) -> str:
    """The markdown ablation table: row | params | val ppl per seed | mean ± std | val bits/byte mean ± std |
    recall acc mean ± std |
    training seconds per language-model run | the paper's ppl / acc | verdict (ppl, acc)."""
    if not isinstance(results, dict) or results.get("kind") != "ablation":
        raise ValueError("format_table takes the dict returned by ablation() or load_results('hope' / 'titans').")
    seeds = results["seeds"]
    head = ["row", "params", *[f"ppl s{s}" for s in seeds], "val ppl", "val bits/byte", "recall acc", "s/run",
            "paper ppl / acc", "verdict ppl", "verdict acc"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 4) + ["---"] * 3) + "|"]
    calls = {v["row"]: v for v in results["verdicts"]}
    for r in results["summary"]:
        per_seed = [f"{r['val_ppl'][str(s)]:.2f}" if str(s) in r["val_ppl"] else "diverged" for s in seeds]
        v = calls.get(r["row"])
        lines.append("| " + " | ".join([
            r["label"], f"{r['parameters']:,}", *per_seed, _cell(r["val_ppl_mean"], r["val_ppl_std"], 2),
            _cell(r["val_bpb_mean"], r["val_bpb_std"], 3),
            _cell(r["recall_acc_mean"], r["recall_acc_std"], 3),
            "–" if r["seconds_mean"] is None else f"{r['seconds_mean']:.0f}", _paper(r["paper"]),
            "(full model)" if v is None else v["ppl"]["call"], "" if v is None else v["acc"]["call"]]) + " |")
    return "\n".join(lines)


def verdict_sentence(results: dict) -> str:
    """The verdicts of an ablation results dict in one sentence, per metric: each call and the rows it got."""
    calls: dict[str, dict[str, list[str]]] = {}
    for v in results["verdicts"]:
        for metric in ("ppl", "acc"):
            calls.setdefault(metric, {}).setdefault(v[metric]["call"], []).append(v["label"])
    parts = [f"on {name}, " + "; ".join(f"{call} for {len(rows)} ({', '.join(rows)})"
                                       for call, rows in sorted(calls[metric].items()))
             for metric, name in (("ppl", "perplexity"), ("acc", "recall"))]
    name = results["table"]
    return f"{TABLES[name].model_label if name in TABLES else name}: " + "; ".join(parts) + "."


def format_context(results: dict, every: int = 4) -> str:
    """The context-use numbers: mean loss in bits per byte per model at every ``every``-th block (and the last)."""
    if not isinstance(results, dict) or results.get("kind") != "context":
        raise ValueError("format_context takes the dict returned by context_use() or load_results('context').")
    picks = list(range(0, len(results["positions"]), every))
    if picks[-1] != len(results["positions"]) - 1:
        picks.append(len(results["positions"]) - 1)
    head = ["model", "read", *[f"bits/byte ≤{results['positions'][i]}" for i in picks]]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---", "---"] + ["---:"] * len(picks)) + "|"]
    for m in results["models"]:
        cells = [f"{m['loss_mean'][i] / math.log(2):.3f}" for i in picks] if m["loss_mean"] else ["diverged"] * len(picks)
        lines.append("| " + " | ".join([m["label"], m["read"] or "–", *cells]) + " |")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m hope_lite.lessons.ch08_paper_claims.experiments",
                                description="The experiments of notebook 08: ablation tables and context use.")
    sub = p.add_subparsers(dest="command", required=True)
    for name, helptext in (("ablation", "train every row x seed of an ablation table, print it, write JSON"),
                           ("context", "loss by position in 4096-byte documents (paper Fig. 10)")):
        c = sub.add_parser(name, help=helptext)
        if name == "ablation":
            c.add_argument("--table", default="hope", help=f"one of {tuple(TABLES)}")
            c.add_argument("--rows", nargs="+", default=None, help="only these rows (the full model is always run)")
        c.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
        c.add_argument("--preset", default="small")
        c.add_argument("--steps", type=int, default=DEFAULT_STEPS)
        c.add_argument("--batch", type=int, default=8)
        c.add_argument("--context", type=int, default=256)
        c.add_argument("--corpus", default="pydoc")
        add_run_options(c, RUNS, jobs=name == "ablation")
    t = sub.add_parser("table", help="print a results file")
    t.add_argument("path")
    return p


def main(argv: list[str] | None = None) -> int:
    p = build_parser()
    args = p.parse_args(argv)
    try:
        if args.command == "table":
            data = json.loads(Path(args.path).read_text())
            print(format_context(data) if data.get("kind") == "context" else format_table(data))
            return 0
        if args.threads is not None:
            torch.set_num_threads(require_int("threads", args.threads))
        shared = dict(seeds=args.seeds, preset=args.preset, steps=args.steps, batch=args.batch, context=args.context,
                      corpus=args.corpus, out=args.out, json_path=args.json, device=args.device)
        if args.command == "ablation":
            results = ablation(args.table, rows=args.rows, jobs=args.jobs, progress=not args.no_progress, **shared)
            print()
            print(format_table(results))
        else:
            results = context_use(**shared)
            print()
            print(format_context(results))
    except (ValueError, FileNotFoundError) as err:
        p.error(str(err))
    print(f"\nwall time {results['environment']['wall_seconds']:.0f} s" + (f"; wrote {args.json}" if args.json else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
