"""Issue 14: should self-modifying Titans keep a surprise momentum by default? One run, one JSON line.

    python results/inner_momentum.py lm {off,on} SEED      # HopeLM, tiny preset, 300 steps on pydoc
    python results/inner_momentum.py remap {off,on} SEED   # chapter 05's remapping task, 300 steps of 32

The committed numbers (docs/reading.md, "Momentum in the inner rule"): seeds 0-2 of each, written to
results/14-inner-momentum.jsonl, one thread per run.
"""

import json
import sys

import torch

import hope_lite.train as train
from hope_lite.self_modifying import SelfModifyingTitans


def lm(momentum: bool, seed: int) -> dict:
    config = train.TrainConfig(preset="tiny", steps=300, seed=seed, eval_every=300, checkpoint_every=300,
                               overrides={"inner_momentum": momentum})
    r = train.train(config, progress=False, log=lambda *_: None)
    v = r.validation()[-1]
    return {"val_loss": v["val_loss"], "val_bpb": v["val_bpb"], "val_ppl": v["val_ppl"],
            "train_last20": sum(r.losses()[-20:]) / 20, "parameters": sum(p.numel() for p in r.model.parameters())}


def remap(momentum: bool, seed: int) -> dict:
    import hope_lite.lessons.ch05_self_modifying_titans.experiments as ex
    ex._make_layer = lambda layer, w, h, c, pc: SelfModifyingTitans(w, h, c, pc, inner_momentum=momentum)
    return dict(ex.train_remap("self_modifying", 300, seed=seed).eval)


if __name__ == "__main__":
    task, switch, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    torch.set_num_threads(1)
    result = {"lm": lm, "remap": remap}[task](switch == "on", seed)
    print(json.dumps({"task": task, "inner_momentum": switch == "on", "seed": seed, **result}), flush=True)
