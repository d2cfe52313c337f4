"""The experiment of notebook 07 (HOPE): four language models of equal size trained on the same bytes.

HOPE, Transformer++, Titans (LMM) and HOPE-attention (:data:`COMPARED_MODELS`) are
trained with :func:`hope_lite.train.train` under **one** :class:`~hope_lite.train.TrainConfig`
that differs only in ``model`` and ``seed``: the same preset (so the same parameter count, within
0.3 %), corpus, steps, batch, context, learning-rate schedule and validation bytes, hence the same
number of training tokens. Every run lives in its own directory ``OUT/<model>-seed<seed>`` so that
an interrupted comparison continues where it stopped: a finished run is read back from its
``metrics.jsonl``, a run with a checkpoint is resumed (bit for bit, as the trainer guarantees),
and a run that stopped before its first checkpoint starts over. The same command twice trains
nothing the second time::

    python -m hope_lite.lessons.ch07_hope.experiments compare --preset small --steps 140 --seeds 0 1 2 \\
        --out runs/compare --json results/07-compare.json

It prints a markdown table (model | params | validation perplexity per seed | mean ± std |
validation bits per byte) and writes a JSON summary (:func:`compare` documents its schema).
``python -m hope_lite.lessons.ch07_hope.experiments table results/07-compare.json`` prints the
table again. :func:`command_line` rebuilds, from a summary's settings, the command that writes it
with today's options (a summary keeps the command string it was written with, which can be older).

**Variants** (the chapter's capstone): :func:`variant_preset` registers a preset that is a chapter
preset with some of :data:`VARIANT_FIELDS` changed (the CMS periods, the CMS variant or learning
rate, the self-modifying chunk sizes), named e.g. ``small+cms_periods=16-32-64``. The trainer knows
a model by its preset's name, so a variant trains with :func:`hope_lite.train.train` and
:func:`compare` as it is, parameter-matched again like any preset; the command takes the same
changes as options (``compare --preset small --cms-periods 16 32 64 ...``), and
:func:`ensure_preset` registers a variant's name again in a new process (e.g. before
``load_trained`` reads one of its runs).

Default steps (:data:`DEFAULT_STEPS` = 140): what fits about 25 minutes for all 12 runs (4 models x 3
seeds) of the ``small`` preset, batch 8, context 256, on the 2-core CPU this library is developed on,
with nothing else running. One training step there (torch's default 2 threads, measured twice):
HOPE 1.3 s, Titans 0.8 s, HOPE-attention 0.65 s, Transformer++ 0.4 s, i.e. 3.15 s for the four
models, x 3 seeds x 140 steps = 22 minutes, plus 5 validations per run (about 2 minutes). That is
287K training bytes per run, 0.6 epoch of the pydoc corpus: enough to compare the models at this size
and budget (with the seed spread), not to say how they scale. Run it alone: another busy process on the same cores makes
every step up to twice as slow.

:class:`LevelStream` (:mod:`.level_stream`, importable from here too) reads a text through a
model chunk by chunk, carrying its state, with an :class:`~hope_lite.levels.UpdateRecorder`
attached: what the chapter's level explorer (:class:`.explorer.HopeLevelsExplorer`) draws. The
2 KB overfit check of the language models is :mod:`.overfit`. Introduced in notebook 07.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from hope_lite import build_model
from hope_lite.models import MODELS as MODEL_KINDS
from hope_lite.models import PRESETS, SWITCHES_OF_MODEL, count_parameters

from ..results import find_in_repository, read_results, sample_std, write_results
from .._args import require_int
from .level_stream import HOPE_LEVELS_EXPLORER_DEFAULTS, LevelStream, stream_tokens

__all__ = ["COMPARED_MODELS", "LABELS", "DEFAULT_STEPS", "RESULTS", "RUNS", "VARIANT_FIELDS", "run_config", "compare",
           "summarize", "format_table", "format_variants", "load_results", "locate", "verdict", "variant_preset",
           "ensure_preset", "describe_preset", "command", "train_or_read_back", "command_line", "window_reach", "LevelStream",
           "HOPE_LEVELS_EXPLORER_DEFAULTS", "stream_tokens", "main"]

COMPARED_MODELS = ("hope", "transformer", "titans", "hope-attention")
"""The four models of the comparison, in the order of the chapter's tables (all of :data:`hope_lite.models.MODELS`)."""

LABELS = {"hope": "HOPE", "transformer": "Transformer++", "titans": "Titans (LMM)", "hope-attention": "HOPE-attention"}

DEFAULT_STEPS = 140
"""Steps per run of the default comparison (see the module docstring for how it was chosen)."""

RESULTS = "results/07-compare.json"
"""Where the committed summary lives, relative to the repository root."""

RUNS = "runs/compare"
"""Default folder of the run directories."""

FORMAT = 1
CURVE_POINTS = 100          # the train-loss curve kept in the JSON: at most this many bin means


VARIANT_FIELDS = ("cms_periods", "cms_variant", "cms_learning_rate", "chunk_size", "projection_chunk_size")
"""The fields of :class:`hope_lite.models.ModelConfig` a variant may change: the CMS spectrum and rule and the
self-modifying memories' chunk sizes (width, depth and heads stay the chapter's, so the sizes stay comparable)."""

_FIELD_TYPES = {"cms_periods": "periods", "cms_variant": str, "cms_learning_rate": float, "chunk_size": int,
                "projection_chunk_size": int}


def _format_field(value: Any) -> str:
    return "-".join(str(v) for v in value) if isinstance(value, (tuple, list)) else str(value)


def _parse_field(field: str, text: str) -> Any:
    kind = _FIELD_TYPES[field]
    try:
        if kind == "periods":
            return tuple(int(v) for v in text.split("-"))
        return kind(text)
    except ValueError:
        raise ValueError(f"cannot read {field}={text!r} (e.g. cms_periods=16-64-256).") from None


def describe_preset(name: str) -> tuple[str, dict[str, Any]]:
    """``"small+cms_periods=16-32-64"`` -> ``("small", {"cms_periods": (16, 32, 64)})``; a plain preset -> (name, {})."""
    if not isinstance(name, str):
        raise ValueError(f"preset must be a str, got {name!r}.")
    base, *changes = name.split("+")
    overrides: dict[str, Any] = {}
    for change in changes:
        field, eq, text = change.partition("=")
        if not eq or field not in VARIANT_FIELDS:
            raise ValueError(f"preset {name!r}: {change!r} is not <field>=<value> with a field of {VARIANT_FIELDS}.")
        overrides[field] = _parse_field(field, text)
    return base, overrides


def variant_preset(base: str = "small", **changes: Any) -> str:
    """Register the preset ``base`` with some of :data:`VARIANT_FIELDS` changed; returns its name.

    ``variant_preset("small", cms_periods=(16, 32, 64))`` -> ``"small+cms_periods=16-32-64"``, a key of
    :data:`hope_lite.models.PRESETS` from then on, so ``build_model``, ``TrainConfig``, ``train`` and
    :func:`compare` take it like any preset; each model at it is parameter-matched again. Changes equal
    to the base's values are dropped (no change: the base's name). Every change is checked by building
    the HOPE and HOPE-attention models on the meta device (no memory, no time).
    """
    if base not in PRESETS or "+" in base:
        chapter = tuple(p for p in PRESETS if "+" not in p)
        raise ValueError(f"base must be one of the presets {chapter}, got {base!r}.")
    unknown = set(changes) - set(VARIANT_FIELDS)
    if unknown:
        raise ValueError(f"a variant changes only {VARIANT_FIELDS}; got {sorted(unknown)}.")
    config = PRESETS[base]
    wanted = {}
    for field in VARIANT_FIELDS:                     # one order, so one variant has one name
        if field in changes:
            value = tuple(changes[field]) if field == "cms_periods" and isinstance(changes[field], (list, tuple)) \
                else changes[field]
            if value != getattr(config, field):
                wanted[field] = value
    if not wanted:
        return base
    name = "+".join([base] + [f"{k}={_format_field(v)}" for k, v in wanted.items()])
    if name not in PRESETS:
        for kind in ("hope", "hope-attention"):      # each with the fields it reads (a preset serves every model)
            mine = {k: v for k, v in wanted.items() if k not in SWITCHES_OF_MODEL["hope"] or k in SWITCHES_OF_MODEL[kind]}
            with torch.device("meta"):
                build_model(kind, base, **mine)      # refuses bad periods, variants, chunk sizes
        PRESETS[name] = replace(config, notes=f"{base} with {wanted} (notebook 07's capstone)", **wanted)
    return name


def ensure_preset(name: str) -> str:
    """``name`` if it is a preset; a variant's name (``small+cms_periods=16-32-64``) is registered first."""
    if isinstance(name, str) and name in PRESETS:
        return name
    base, overrides = describe_preset(name)
    registered = variant_preset(base, **overrides)
    if registered != name:
        raise ValueError(f"preset {name!r} is not written as variant_preset names it ({registered!r}).")
    return name


def _check_models(models: Sequence[str]) -> tuple[str, ...]:
    if isinstance(models, str):
        models = (models,)
    models = tuple(models)
    if not models:
        raise ValueError(f"models must name at least one of {MODEL_KINDS}.")
    unknown = [m for m in models if m not in MODEL_KINDS]
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}; choose from {MODEL_KINDS}.")
    if len(set(models)) != len(models):
        raise ValueError(f"models must not repeat, got {list(models)}.")
    return models


def _check_seeds(seeds: Sequence[int]) -> tuple[int, ...]:
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        seeds = (seeds,)
    seeds = tuple(seeds)
    if not seeds or any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in seeds):
        raise ValueError(f"seeds must be one or more ints >= 0, got {list(seeds)!r}.")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must not repeat, got {list(seeds)}.")
    return seeds


def run_config(model: str, seed: int, *, preset: str = "small", steps: int = DEFAULT_STEPS, batch: int = 8,
               context: int = 256, corpus: str = "pydoc", eval_every: int | None = None, **overrides: Any):
    """The TrainConfig of one run of the comparison: everything but ``model`` and ``seed`` is shared.

    Validation runs about five times per run (``eval_every = steps // 5``) and a checkpoint is
    written at each validation; the warm-up is 10 % of the steps (at most the trainer's 20).
    ``overrides`` set other TrainConfig fields (``lr``, ``eval_bytes``, ...).
    """
    from hope_lite.train import TrainConfig

    require_int("steps", steps)
    every = max(1, steps // 5) if eval_every is None else eval_every
    settings = dict(preset=preset, corpus=corpus, steps=steps, batch=batch, context=context,
                    warmup=min(TrainConfig.warmup, steps // 10), eval_every=every, checkpoint_every=every)
    settings.update(overrides)
    return TrainConfig(model=model, seed=seed, **settings)


# ---------------------------------------------------------------------------------------------
# One run: train, resume, or read back


def _read_metrics(run_dir: Path, upto: int, log: Callable[[str], Any]) -> list[dict]:
    from hope_lite.run_dir import read_metrics
    from hope_lite.train import METRICS

    return [r for r in read_metrics(run_dir / METRICS, log) if r["step"] <= upto]


def _train_seconds(rows: list[dict]) -> float:
    """Training seconds from the ``seconds`` column, which restarts at 0 when a run is resumed."""
    total, last = 0.0, 0.0
    for r in rows:
        if r["kind"] != "train":
            continue
        if r["seconds"] < last:          # a new session: bank the previous one
            total += last
        last = r["seconds"]
    return total + last


def _curve(rows: list[dict], points: int = CURVE_POINTS) -> dict[str, list]:
    """The train-loss curve as at most ``points`` bin means: ``{"step": [last step of the bin], "loss": [...]}``."""
    train = [(r["step"], r["loss"]) for r in rows if r["kind"] == "train"]
    if not train:
        return {"step": [], "loss": []}
    steps = np.array([s for s, _ in train])
    losses = np.array([v for _, v in train])
    bins = np.array_split(np.arange(len(train)), min(points, len(train)))
    return {"step": [int(steps[b[-1]]) for b in bins], "loss": [round(float(losses[b].mean()), 5) for b in bins]}


def _same_run(saved_config: Path, config) -> bool:
    """Does the run directory's config.json hold this TrainConfig (one process)? (Compared as JSON: tuples
    read back as lists; a run from before ``overrides`` existed had none.)"""
    saved = {"overrides": {}, **json.loads(saved_config.read_text())}
    mine = json.loads(json.dumps(asdict(config)))
    return saved.get("world_size", 1) == 1 and all(saved.get(k) == v for k, v in mine.items())


def train_or_read_back(config, run_dir: Path | None, *, text=None, device: str = "cpu", progress: bool = False,
                       log: Callable[[str], Any] = print, want_model: bool = False, label: str | None = None):
    """Train (or resume, or read back) one run; returns (record, model or None).

    A finished run in ``run_dir`` is read back from its ``metrics.jsonl`` (and its model loaded when
    ``want_model``), a run with a checkpoint is resumed, and a run that stopped before its first
    checkpoint starts over. The record: ``{"model", "seed", "dir", "parameters", "steps", "tokens",
    "seconds", "val_loss", "val_bpb", "val_ppl", "train_curve", "validation"}`` (see :func:`compare`).
    """
    label = LABELS.get(config.model, config.model) if label is None else label
    from hope_lite.train import CHECKPOINT, CONFIG, load_checkpoint, load_trained, train

    model, resume, rows, started = None, False, None, time.perf_counter()
    if run_dir is not None and (run_dir / CHECKPOINT).exists():
        done = load_checkpoint(run_dir / CHECKPOINT)["step"]
        if done >= config.steps and _same_run(run_dir / CONFIG, config):
            rows = _read_metrics(run_dir, config.steps, log)
            log(f"{run_dir}: finished earlier ({done} steps), read back")
            if want_model:
                model = load_trained(run_dir, device="cpu")[0]
        else:
            resume = True                # train() checks that the saved config is this one
    # a run stopped before its first checkpoint is started over by train() itself, under its lock
    if rows is None:
        log(f"{label:>15} seed {config.seed}: {'resuming' if resume else 'training'} "
            f"{config.steps} steps" + (f" in {run_dir}" if run_dir is not None else ""))
        result = train(config, run_dir, resume=resume, device=device, progress=progress, log=log, text=text)
        rows, model = result.metrics, result.model
    validation = [{k: r[k] for k in ("step", "val_loss", "val_bpb", "val_ppl")} for r in rows if r["kind"] == "validation"]
    if not validation or validation[-1]["step"] != config.steps:
        raise RuntimeError(f"run {config.model} seed {config.seed} has no validation at its last step "
                           f"{config.steps}; its directory {run_dir} may be damaged.")
    train_rows = [r for r in rows if r["kind"] == "train"]
    with torch.device("meta"):
        parameters = count_parameters(build_model(config.model, config.preset, **config.overrides))
    record = {"model": config.model, "seed": config.seed, "dir": None if run_dir is None else str(run_dir),
              "parameters": parameters, "steps": train_rows[-1]["step"], "tokens": train_rows[-1]["tokens"],
              "seconds": round(_train_seconds(rows), 2), **{k: validation[-1][k] for k in ("val_loss", "val_bpb", "val_ppl")},
              "train_curve": _curve(rows), "validation": validation}
    log(f"{label:>15} seed {config.seed}: validation {record['val_bpb']:.3f} bits/byte, "
        f"perplexity {record['val_ppl']:.3f} ({time.perf_counter() - started:.0f} s)")
    return record, model


# ---------------------------------------------------------------------------------------------
# The comparison


def compare(models: Sequence[str] = COMPARED_MODELS, seeds: Sequence[int] = (0, 1, 2), preset: str = "small",
            steps: int = DEFAULT_STEPS, batch: int = 8, context: int = 256, out: str | Path | None = RUNS, *,
            corpus: str = "pydoc", json_path: str | Path | None = None, eval_every: int | None = None,
            device: str = "cpu", progress: bool = False, log: Callable[[str], Any] = print,
            text: tuple[Tensor, Tensor] | None = None, trained: dict | None = None, **overrides: Any) -> dict:
    """Train every model x seed under one TrainConfig (see :func:`run_config`) and summarise.

    Args:
        models, seeds: what to train (each model with each seed).
        preset, steps, batch, context, corpus: the shared settings.
        out: the folder of the run directories ``<model>-seed<seed>`` (None: nothing on disk, no resume).
        json_path: also write the summary there (folders are created).
        trained: a dict to fill with ``{(model, seed): trained LanguageModel}`` (e.g. for generation).
        text: (train bytes, validation bytes) instead of loading ``corpus`` (tests).
        overrides: other TrainConfig fields, the same for every run (``lr``, ``eval_bytes``, ...).

    Returns the summary (also what ``json_path`` holds)::

        {"format": 1, "command": "python -m hope_lite.lessons.ch07_hope.experiments compare ...",
         "settings": {every TrainConfig field but model and seed, "tokens_per_run"},
         "models": [...], "seeds": [...],
         "runs": [{"model", "seed", "dir", "parameters", "steps", "tokens", "seconds" (training time),
                   "val_loss" (nats/byte), "val_bpb", "val_ppl" (final validation),
                   "train_curve": {"step": [...], "loss": [...]} (bin means, at most 100 points, nats/byte),
                   "validation": [{"step", "val_loss", "val_bpb", "val_ppl"}, ...]}, ...],
         "summary": {model: see :func:`summarize`},
         "environment": {"python", "torch", "threads", "device", "platform", "created"}}
    """
    models, seeds = _check_models(models), _check_seeds(seeds)
    if not isinstance(preset, str) or (preset not in PRESETS and "+" not in preset):
        raise ValueError(f"preset must be one of {tuple(PRESETS)} (or a variant, see variant_preset), got {preset!r}.")
    preset = ensure_preset(preset)
    for name, value in (("steps", steps), ("batch", batch), ("context", context)):
        require_int(name, value)
    configs = [run_config(m, s, preset=preset, steps=steps, batch=batch, context=context, corpus=corpus,
                          eval_every=eval_every, **overrides) for m in models for s in seeds]   # all checked first
    out = None if out is None else Path(out)
    if text is None and corpus != "pydoc":      # the trainer loads the corpus; refuse a silent fallback first
        from hope_lite.data import load_corpus

        loaded = load_corpus(corpus, log=log)
        if loaded.fell_back:
            raise ValueError(f"corpus {corpus!r} is not available here ({loaded.note}); the comparison would "
                             f"train on 'pydoc' instead. Use corpus='pydoc'.")
    runs = []
    started = time.perf_counter()
    for config in configs:
        run_dir = None if out is None else out / f"{config.model}-seed{config.seed}"
        record, model = train_or_read_back(config, run_dir, text=text, device=device, progress=progress, log=log,
                                 want_model=trained is not None)
        runs.append(record)
        if trained is not None:
            trained[(config.model, config.seed)] = model
    shared = {k: v for k, v in asdict(configs[0]).items() if k not in ("model", "seed")}
    shared["tokens_per_run"] = steps * batch * context
    command_ = command(models, seeds, shared, out=out, json_path=json_path)
    results = {"format": FORMAT, "command": command_, "settings": shared, "models": list(models),
               "seeds": list(seeds), "runs": runs, "summary": summarize(runs),
               "environment": {"python": platform.python_version(), "torch": torch.__version__,
                               "threads": torch.get_num_threads(), "device": device,
                               "platform": platform.platform(terse=True),
                               "created": time.strftime("%Y-%m-%d"),
                               "wall_seconds": round(time.perf_counter() - started, 1)}}
    if json_path is not None:
        write_results(json_path, results)
    return results


def command(models: Sequence[str], seeds: Sequence[int], settings: dict, *, out: str | Path | None = RUNS,
            json_path: str | Path | None = None) -> str:
    """The command line that runs :func:`compare` with these models, seeds and shared ``settings``.

    ``settings`` holds ``preset``, ``steps``, ``batch``, ``context``, ``corpus`` and, when they differ
    from the trainer's defaults, ``lr`` and ``eval_bytes`` (the ``settings`` of a summary will do). A
    variant preset is written as the options that make it (``--preset small --cms-periods 16 32 64``).
    """
    from hope_lite.train import TrainConfig

    base, changes = describe_preset(settings["preset"])
    parts = ["python -m hope_lite.lessons.ch07_hope.experiments compare", f"--preset {base}"]
    parts += [f"--{field.replace('_', '-')} {' '.join(map(str, v)) if isinstance(v, tuple) else v}"
              for field, v in changes.items()]
    parts += [f"--steps {settings['steps']}", f"--batch {settings['batch']}", f"--context {settings['context']}",
              f"--corpus {settings['corpus']}"]
    if settings.get("lr", TrainConfig.lr) != TrainConfig.lr:
        parts.append(f"--lr {settings['lr']}")
    if settings.get("eval_bytes", TrainConfig.eval_bytes) != TrainConfig.eval_bytes:
        parts.append(f"--eval-bytes {settings['eval_bytes']}")
    parts += [f"--models {' '.join(models)}", f"--seeds {' '.join(map(str, seeds))}"]
    if out is not None:
        parts.append(f"--out {out}")
    if json_path is not None:
        parts.append(f"--json {json_path}")
    return " ".join(parts)


def command_line(results: dict) -> str:
    """Today's command that writes ``results`` (a summary of :func:`compare`), rebuilt from its settings.

    The run folder comes from the runs' directories, the JSON path from the recorded command; the
    recorded command itself may name an older module path.
    """
    import re

    dirs = {str(Path(r["dir"]).parent) for r in results["runs"] if r.get("dir")}
    out = dirs.pop() if len(dirs) == 1 else None
    found = re.search(r"--json (\S+)", results.get("command", ""))
    return command(results["models"], results["seeds"], results["settings"], out=out,
                   json_path=found.group(1) if found else None)


def window_reach(periods: Sequence[int], context: int) -> list[dict[str, int]]:
    """For each period C, what one training window of ``context`` tokens (fresh state) sees of that level.

    ``updates``: ``context // C`` in-context updates; ``reading``: ``max(0, context - C)`` positions
    read after the level's first update (an update lands at the chunk's last token, which is
    computed before it, so the first position to read new weights is C).
    """
    require_int("context", context)
    return [{"period": int(C), "updates": context // int(C), "reading": max(0, context - int(C))} for C in periods]


def format_variants(results: dict[str, dict], model: str = "hope") -> str:
    """A markdown table of ``model`` in several summaries, one row per ``{label: summary}``: what the capstone shows."""
    head = ["", "preset", "CMS periods", "params", "val ppl (mean ± std)", "val bits/byte", "seeds", "s/run"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---", "---", "---"] + ["---:"] * (len(head) - 3)) + "|"]
    for label, res in results.items():
        if model not in res.get("summary", {}):
            raise ValueError(f"{label!r} has no {model!r} runs; its models are {list(res.get('summary', {}))}.")
        s, preset = res["summary"][model], ensure_preset(res["settings"]["preset"])
        lines.append("| " + " | ".join([
            label, f"`{preset}`", ", ".join(map(str, PRESETS[preset].cms_periods)), f"{s['parameters']:,}",
            f"{s['val_ppl_mean']:.3f} ± {s['val_ppl_std']:.3f}", f"{s['val_bpb_mean']:.3f}",
            ", ".join(map(str, s["seeds"])), f"{s['seconds_mean']:.0f}"]) + " |")
    return "\n".join(lines)


def summarize(runs: Sequence[dict]) -> dict[str, dict]:
    """Per model, over its seeds: ``{"label", "parameters", "seeds", "val_ppl" (per seed), "val_ppl_mean",
    "val_ppl_std", "val_bpb" (per seed), "val_bpb_mean", "val_bpb_std", "seconds_mean"}``; std is the
    sample standard deviation over seeds (0 with one seed)."""
    summary: dict[str, dict] = {}
    for model in dict.fromkeys(r["model"] for r in runs):
        mine = sorted((r for r in runs if r["model"] == model), key=lambda r: r["seed"])
        ppl, bpb = [r["val_ppl"] for r in mine], [r["val_bpb"] for r in mine]
        summary[model] = {"label": LABELS.get(model, model), "parameters": mine[0]["parameters"],
                          "seeds": [r["seed"] for r in mine], "val_ppl": ppl, "val_ppl_mean": float(np.mean(ppl)),
                          "val_ppl_std": sample_std(ppl), "val_bpb": bpb, "val_bpb_mean": float(np.mean(bpb)),
                          "val_bpb_std": sample_std(bpb), "seconds_mean": float(np.mean([r["seconds"] for r in mine]))}
    return summary


def format_table(results: dict) -> str:
    """The markdown table: model | params | validation perplexity per seed | mean ± std | bits/byte (mean)."""
    if not isinstance(results, dict) or "summary" not in results or "seeds" not in results:
        raise ValueError("format_table takes the dict returned by compare() or load_results().")
    seeds = results["seeds"]
    head = ["model", "params", *[f"val ppl (seed {s})" for s in seeds], "val ppl mean ± std", "val bits/byte (mean)",
            "s/run"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    for model, s in results["summary"].items():
        per_seed = dict(zip(s["seeds"], s["val_ppl"]))
        cells = [s["label"], f"{s['parameters']:,}",
                 *[f"{per_seed[seed]:.3f}" if seed in per_seed else "–" for seed in seeds],
                 f"{s['val_ppl_mean']:.3f} ± {s['val_ppl_std']:.3f}", f"{s['val_bpb_mean']:.3f}",
                 f"{s['seconds_mean']:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    st = results["settings"]
    lines.append("")
    lines.append(f"{st['preset']} preset, corpus {st['corpus']}: {st['steps']} steps x {st['batch']} windows x "
                 f"{st['context']} bytes = {st['tokens_per_run']:,} training bytes per run; validation on the "
                 f"first {st['eval_bytes']:,} bytes of the validation split (all of it, if shorter); perplexity per byte.")
    return "\n".join(lines)


def verdict(results: dict) -> str:
    """A few plain sentences on what the numbers say: the ranking, and whether gaps exceed the seed spread."""
    summary = results["summary"]
    ranked = sorted(summary, key=lambda m: summary[m]["val_ppl_mean"])
    best = ranked[0]
    lines = ["ranking by mean validation perplexity (lower is better): "
             + " < ".join(f"{summary[m]['label']} {summary[m]['val_ppl_mean']:.3f}" for m in ranked)]
    n = len(results["seeds"])
    for other in ranked[1:]:
        gap = summary[other]["val_ppl_mean"] - summary[best]["val_ppl_mean"]
        spread = max(summary[other]["val_ppl_std"], summary[best]["val_ppl_std"])
        if n < 2:
            call = "one seed: no spread to compare with"
        elif gap > 2 * spread:
            call = "more than twice the larger seed std"
        else:
            call = "within twice the seed std: not a clear difference"
        lines.append(f"{summary[best]['label']} vs {summary[other]['label']}: gap {gap:.3f} ({call})")
    if "hope" in summary and "transformer" in summary:
        ratio = summary["hope"]["seconds_mean"] / max(summary["transformer"]["seconds_mean"], 1e-9)
        lines.append(f"training time per run: HOPE {summary['hope']['seconds_mean']:.0f} s, Transformer++ "
                     f"{summary['transformer']['seconds_mean']:.0f} s ({ratio:.1f}x) for the same tokens")
    return "\n".join(lines)


def locate(path: str | Path = RESULTS) -> Path | None:
    """This chapter's results file (or ``path``) wherever the caller runs (:func:`~hope_lite.lessons.results.find_in_repository`)."""
    return find_in_repository(path)


def load_results(path: str | Path = RESULTS) -> dict:
    """Read a summary written by :func:`compare` (default: the committed ``results/07-compare.json``)."""
    command = (f"python -m hope_lite.lessons.ch07_hope.experiments compare --preset small --steps {DEFAULT_STEPS} "
               f"--seeds 0 1 2 --out {RUNS} --json {RESULTS}")
    return read_results(path, what="a summary", fmt=FORMAT, key="runs", command=command)


# ---------------------------------------------------------------------------------------------
# Command line


def build_parser() -> argparse.ArgumentParser:
    """The command line of :func:`main` (also what the tests read a command back with)."""
    p = argparse.ArgumentParser(prog="python -m hope_lite.lessons.ch07_hope.experiments",
                                description="The experiment of notebook 07: four models of equal size, same bytes.")
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("compare", help="train every model x seed, print the table, write the JSON summary")
    c.add_argument("--models", nargs="+", default=list(COMPARED_MODELS), help=f"any of {MODEL_KINDS}")
    c.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    c.add_argument("--preset", default="small", help=f"one of {tuple(PRESETS)}")
    c.add_argument("--steps", type=int, default=DEFAULT_STEPS)
    c.add_argument("--batch", type=int, default=8)
    c.add_argument("--context", type=int, default=256)
    c.add_argument("--corpus", default="pydoc")
    c.add_argument("--lr", type=float, default=None, help="AdamW learning rate (default: the trainer's)")
    c.add_argument("--eval-bytes", type=int, default=None,
                   help="validation bytes scored at each validation (default: the trainer's)")
    v = c.add_argument_group("a HOPE variant (the chapter's capstone): change the preset's ...")
    v.add_argument("--cms-periods", type=int, nargs="+", default=None, help="CMS periods, fastest first, e.g. 16 32 64")
    v.add_argument("--cms-variant", default=None, help="sequential, independent or nested")
    v.add_argument("--cms-learning-rate", type=float, default=None, help="the CMS levels' in-context learning rate")
    v.add_argument("--chunk-size", type=int, default=None, help="the self-modifying output memory's chunk size")
    v.add_argument("--projection-chunk-size", type=int, default=None, help="the k, v, eta, alpha memories' chunk size")
    c.add_argument("--out", default=RUNS, help=f"folder of the run directories (default: {RUNS})")
    c.add_argument("--json", default=None, help=f"write the summary here, e.g. {RESULTS}")
    c.add_argument("--device", default="cpu")
    c.add_argument("--progress", action="store_true", help="a progress bar per run")
    t = sub.add_parser("table", help="print the table of a summary written by compare")
    t.add_argument("path", nargs="?", default=RESULTS)
    return p


def preset_of(args: argparse.Namespace) -> str:
    """The preset a parsed ``compare`` command trains: ``--preset`` with the variant options applied."""
    changes = {f: getattr(args, f) for f in VARIANT_FIELDS if getattr(args, f) is not None}
    return variant_preset(args.preset, **changes) if changes else args.preset


def main(argv: list[str] | None = None) -> int:
    p = build_parser()
    args = p.parse_args(argv)
    try:
        if args.command == "table":
            results = load_results(args.path)
        else:
            extra = {k: getattr(args, k) for k in ("lr", "eval_bytes") if getattr(args, k) is not None}
            preset = preset_of(args)
            results = compare(args.models, args.seeds, preset, args.steps, args.batch, args.context, args.out,
                              corpus=args.corpus, json_path=args.json, device=args.device, progress=args.progress,
                              **extra)
    except (ValueError, FileNotFoundError) as err:
        p.error(str(err))
    print()
    print(format_table(results))
    print()
    print(verdict(results))
    if args.command == "compare" and args.json:
        print(f"\nwrote {args.json}; if it is {RESULTS}, redraw the chapter's figure with\n"
              f"  python -m hope_lite.lessons.figures --only 07-compare.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
