"""Trained models that ship with hope_lite: text generation and the level explorer of chapter 07 read with a
model that has learned something, without a training run first.

    from hope_lite.pretrained import load_pretrained
    model, card = load_pretrained("hope")            # the `small` HOPE; eval mode, on the CPU
    print(card["val_bpb"], card["command"])

Each model is two files in this folder, package data of the wheel:

* ``<model>-<preset>.pt``: the weights alone (float32, the trainer's state dict; no optimizer state);
* ``<model>-<preset>.json``, its card: the command that trained it and its config, the bytes it read and the
  training time, the validation bits per byte on the *whole* validation split of its corpus, a sample, the
  torch version, and the SHA-256 of the weights file (checked at every load).

They are written from a finished trainer run (``python -m hope_lite.train ... --out runs/<name>``) by

    python -m hope_lite.pretrained runs/<name>

which scores and samples the run's final model and copies its weights here.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import sys
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

import torch

__all__ = ["FOLDER", "SAMPLE_PROMPT", "available", "load_pretrained", "export", "main"]

FOLDER = Path(__file__).resolve().parent
SAMPLE_PROMPT = 'The "while" statement is used for'   # the prompt of chapter 07's generation (§3)
SAMPLE_BYTES = 200


def _name(model: str, preset: str) -> str:
    return f"{model}-{preset}"


def available(folder: str | Path = FOLDER) -> list[str]:
    """The models that ship (or that ``folder`` holds), as ``"<model>-<preset>"`` names."""
    return sorted(p.stem for p in Path(folder).glob("*.json"))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_pretrained(model: str = "hope", preset: str = "small", *, device: Any = "cpu", folder: str | Path = FOLDER):
    """``(model, card)``: the shipped ``model`` of ``preset`` in eval mode on ``device``, and its card (a dict).
    ``folder``: another folder written by :func:`export` (default: the models that ship with hope_lite)."""
    from hope_lite.models import build_model

    name, folder = _name(model, preset), Path(folder)
    card_path, weights_path = folder / f"{name}.json", folder / f"{name}.pt"
    if not card_path.is_file():
        raise ValueError(f"no shipped model {name!r}; {folder} holds {available(folder)}. Train one with "
                         f"`python -m hope_lite.train --model {model} --preset {preset} --out runs/{name}`, write "
                         f"it with `python -m hope_lite.pretrained runs/{name} --folder F`, then load it with "
                         f"load_pretrained({model!r}, {preset!r}, folder=F).")
    if not weights_path.is_file():
        raise ValueError(f"{card_path.name} is here but its weights {weights_path} are missing: reinstall hope_lite "
                         "(or rewrite both with `python -m hope_lite.pretrained`).")
    card = json.loads(card_path.read_text())
    if _sha256(weights_path) != card["sha256"]:
        raise ValueError(f"{weights_path} does not match the SHA-256 in {card_path.name}: the file is damaged or was "
                         "replaced; reinstall hope_lite (or rewrite both with `python -m hope_lite.pretrained`).")
    net = build_model(card["model"], card["preset"], device=device, **card["config"]["overrides"])
    net.load_state_dict(torch.load(weights_path, map_location=device, weights_only=True))
    return net.eval(), card


def _train_command(config, device: str) -> str:
    """The trainer command that reproduces ``config`` on ``device`` (every field spelled out, quoted for a shell)."""
    parts = ["python -m hope_lite.train"]
    for f in fields(config):
        value = getattr(config, f.name)
        if f.name == "overrides":
            parts += [f"--override {shlex.quote(f'{k}={json.dumps(v)}')}" for k, v in sorted(value.items())]
        elif f.name == "carry_memory":
            parts += ["--carry-memory"] if value else []
        else:
            parts.append(f"--{f.name.replace('_', '-')} {value}")
    return " ".join(parts + [f"--device {device}"])


def export(run: str | Path, folder: str | Path = FOLDER, *, log=print) -> dict:
    """Score, sample and copy the final model of the trainer run in ``run`` into ``folder``; returns the card."""
    from hope_lite.data import BYTES, corpus_bytes
    from hope_lite.run_dir import read_json, read_metrics
    from hope_lite.train import evaluate, load_trained

    run, folder = Path(run), Path(folder)
    net, config = load_trained(run)
    saved = read_json(run / "config.json")
    device = saved.get("device", "cpu")                                              # where it was trained
    records = read_metrics(run / "metrics.jsonl", log=log)
    trained = [r for r in records if r.get("kind") == "train"]
    if not trained or trained[-1]["step"] != config.steps:
        raise ValueError(f"{run} has not finished: its last step is {trained[-1]['step'] if trained else 0} of "
                         f"{config.steps}; resume it with `python -m hope_lite.train ... --out {run} --resume`.")
    started = time.perf_counter()
    validation = corpus_bytes(config.corpus, "validation")
    with torch.no_grad():
        scores = evaluate(net, validation, config.context)
        prompt = BYTES.encode(SAMPLE_PROMPT)[None]
        out = net.generate(prompt, SAMPLE_BYTES, temperature=0.8, generator=torch.Generator().manual_seed(0))
    name = _name(config.model, config.preset)
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / f"{name}.pt"
    torch.save({k: v.detach().float().cpu().contiguous() for k, v in net.state_dict().items()}, weights)
    card = {
        "model": config.model, "preset": config.preset, "corpus": config.corpus,
        "parameters": sum(p.numel() for p in net.parameters()),
        "config": {f.name: getattr(config, f.name) for f in fields(config)},
        "command": _train_command(config, device) + (" --compile" if saved.get("compiled") else "")
        + f" --out {shlex.quote(str(run))}", "device": device,
        "steps": config.steps, "tokens": trained[-1]["tokens"], "train_seconds": trained[-1]["seconds"],
        "final_train_bpb": trained[-1]["bpb"],
        "validation_bytes": validation.numel(), "val_bpb": scores["val_bpb"], "val_ppl": scores["val_ppl"],
        "sample": {"prompt": SAMPLE_PROMPT, "temperature": 0.8, "seed": 0,
                   "text": BYTES.decode(out[0, prompt.shape[1]:])},
        "weights_bytes": weights.stat().st_size, "sha256": _sha256(weights),
        "torch": torch.__version__, "python": sys.version.split()[0],
        "exported": time.strftime("%Y-%m-%d"), "export_seconds": round(time.perf_counter() - started, 1),
    }
    (folder / f"{name}.json").write_text(json.dumps(card, indent=1) + "\n")
    log(f"{name}: {card['parameters']:,} parameters, {card['weights_bytes'] / 1e6:.1f} MB; validation "
        f"{card['val_bpb']:.3f} bits per byte on {card['validation_bytes']:,} bytes ({card['val_ppl']:.2f} "
        f"perplexity); sample:\n{SAMPLE_PROMPT}{card['sample']['text']}")
    return card


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m hope_lite.pretrained", description=export.__doc__)
    p.add_argument("run", help="a finished trainer run directory (config.json, metrics.jsonl, checkpoint.pt)")
    p.add_argument("--folder", default=str(FOLDER), help="where to write <model>-<preset>.pt / .json")
    args = p.parse_args(argv)
    try:
        export(args.run, args.folder)
    except (ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0
