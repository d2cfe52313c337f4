"""Capacity check of the language models: can a model memorise a small text? (issue 5; notebook 07)

A model that cannot overfit 2 KB of text has a bug, not a capacity limit: a 1M-parameter model
should drive the next-byte loss on text it has seen hundreds of times to almost nothing. The text is
the start of the English documentation that ships with every CPython (the offline ``pydoc`` corpus
of :mod:`hope_lite.data`), so it needs no download. Training uses random windows of the text; the
reported figure is bits per byte over every position of the text, teacher-forced, after training::

    python -m hope_lite.lessons.ch07_hope.overfit overfit --model hope --bytes 2048 --steps 600

Training runs through the lessons' one training loop (:func:`hope_lite.lessons.fit.fit`): AdamW
with a one-cycle schedule, gradients clipped to norm 1.
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import torch
import torch.nn.functional as F
from torch import Tensor

from hope_lite import build_model
from hope_lite.data import corpus_bytes
from hope_lite.models import MODELS, PRESETS

from .._args import require_choice, require_int
from ..fit import fit

__all__ = ["documentation_bytes", "bits_per_byte", "overfit", "main"]


def documentation_bytes(n_bytes: int) -> torch.Tensor:
    """The first ``n_bytes`` bytes of the offline ``pydoc`` corpus's train split (:mod:`hope_lite.data`), int64."""
    if isinstance(n_bytes, bool) or not isinstance(n_bytes, int) or n_bytes < 2:
        raise ValueError(f"n_bytes must be an int >= 2, got {n_bytes!r}.")
    text = corpus_bytes("pydoc", "train")
    if n_bytes > text.numel():
        raise ValueError(f"n_bytes={n_bytes} is more than the {text.numel()} bytes of the documentation text.")
    return text[:n_bytes].long()


@torch.no_grad()
def bits_per_byte(model, data: torch.Tensor, context: int) -> float:
    """Mean next-byte loss in bits over every position of ``data``, as the model was trained.

    Training sees windows of ``context`` bytes from a fresh state, so evaluation does the same:
    windows of ``context`` bytes with stride ``context // 2``, each from a fresh state, and every
    position is scored once, in the second half of its window (or the first window), so it always
    has at least half a window of context. (Carrying the state across a 2 KB stream instead puts a
    model trained on short windows into states it never saw in training.)
    """
    model.eval()
    n, half = data.numel(), max(1, context // 2)
    total, count, scored_until, start = 0.0, 0, 0, 0     # positions < scored_until are done
    while scored_until < n - 1:
        x = data[start:start + context + 1]
        losses = F.cross_entropy(model(x[None, :-1])[0][0], x[1:], reduction="none")  # position start + i
        first = scored_until - start                    # the first position of this window not yet scored
        total, count = total + losses[first:].sum().item(), count + losses[first:].numel()
        scored_until = start + losses.numel()
        start += half
    model.train()
    return total / count / math.log(2)


def overfit(model: str = "hope", preset: str = "small", n_bytes: int = 2048, steps: int = 600, *,
            lr: float = 3e-3, batch: int = 8, context: int = 256, seed: int = 0, every: int = 100,
            log=print) -> dict:
    """Train ``model`` on random windows of ``n_bytes`` bytes of text; return the loss curve and final bits per byte."""
    require_choice("model", model, MODELS)
    require_choice("preset", preset, tuple(PRESETS))
    for name, value in (("steps", steps), ("batch", batch), ("context", context), ("every", every)):
        require_int(name, value)
    data = documentation_bytes(n_bytes)
    context = min(context, n_bytes - 1)
    torch.manual_seed(seed)
    net = build_model(model, preset)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    gen = torch.Generator().manual_seed(seed)

    def windows(step: int) -> tuple[Tensor, Tensor]:
        """``batch`` random windows of ``context + 1`` bytes: inputs and next-byte targets."""
        offsets = torch.randint(0, n_bytes - context, (batch,), generator=gen)
        x = torch.stack([data[o:o + context + 1] for o in offsets.tolist()])
        return x[:, :-1], x[:, 1:]

    def next_byte_loss(output: tuple, targets: Tensor) -> Tensor:
        logits = output[0]                              # a language model returns (logits, state)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))

    def report(step: int, loss: float) -> None:
        if (step + 1) % every == 0 or step + 1 == steps:
            log(f"{model:>14} step {step + 1:5d}  train {loss / math.log(2):.3f} bits/byte  "
                f"({time.perf_counter() - start:.0f} s)")

    start = time.perf_counter()
    run = fit(net, opt, windows, steps, next_byte_loss, clip_norm=1.0, scheduler=sched, after_step=report)
    final = bits_per_byte(net, data, context)
    return {"model": model, "preset": preset, "bytes": n_bytes, "steps": steps,
            "train_curve": [loss / math.log(2) for loss in run.losses],
            "bits_per_byte": final, "seconds": time.perf_counter() - start,
            "parameters": sum(p.numel() for p in net.parameters())}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m hope_lite.lessons.ch07_hope.overfit",
                                description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    o = sub.add_parser("overfit", help="memorise a few KB of text; print the final bits per byte")
    o.add_argument("--model", default="hope", choices=MODELS)
    o.add_argument("--preset", default="small", choices=tuple(PRESETS))
    o.add_argument("--bytes", type=int, default=2048)
    o.add_argument("--steps", type=int, default=600)
    o.add_argument("--lr", type=float, default=3e-3)
    o.add_argument("--batch", type=int, default=8)
    o.add_argument("--context", type=int, default=256)
    o.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    try:
        res = overfit(args.model, args.preset, args.bytes, args.steps, lr=args.lr, batch=args.batch,
                      context=args.context, seed=args.seed)
    except ValueError as err:
        p.error(str(err))
    print(f"{res['model']} ({res['preset']}, {res['parameters']:,} parameters): {res['bytes']} bytes, "
          f"{res['steps']} steps, {res['seconds']:.0f} s -> {res['bits_per_byte']:.4f} bits per byte over the text")
    return 0


if __name__ == "__main__":
    sys.exit(main())
