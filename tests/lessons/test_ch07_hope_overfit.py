"""Chapter 07's overfit check (hope_lite.lessons.ch07_hope.overfit): the offline text, bits per byte, and the
overfit command's plumbing."""

from __future__ import annotations

import math

import pytest
import torch

from hope_lite.lessons.ch07_hope.overfit import bits_per_byte, documentation_bytes, main, overfit


def test_documentation_bytes_are_fixed_text():
    a, b = documentation_bytes(300), documentation_bytes(1000)
    assert a.dtype == torch.int64 and a.numel() == 300 and torch.equal(a, b[:300])
    assert 0 <= int(a.min()) and int(a.max()) < 256


class Uniform(torch.nn.Module):
    def forward(self, x, state=None):
        return torch.zeros(*x.shape, 256), None


class Oracle(torch.nn.Module):
    """Knows the text: puts (almost) all mass on the true next byte once it has seen one byte."""

    def __init__(self, data):
        super().__init__()
        self.next = {}
        for a, b in zip(data[:-1].tolist(), data[1:].tolist()):
            self.next.setdefault(a, b)

    def forward(self, x, state=None):
        logits = torch.zeros(*x.shape, 256)
        for i, a in enumerate(x[0].tolist()):
            logits[0, i, self.next[a]] = 50.0
        return logits, None


@pytest.mark.parametrize("context", [7, 16, 1000])
def test_bits_per_byte_scores_every_position_once(context):
    data = torch.arange(90) % 256            # every byte distinct, so the oracle is exact
    assert abs(bits_per_byte(Uniform(), data, context) - 8.0) < 1e-6
    assert bits_per_byte(Oracle(data), data, context) < 1e-6


def test_overfit_runs_and_lowers_the_loss():
    res = overfit("transformer", "tiny", 256, steps=30, lr=1e-2, batch=4, context=32, every=1000, log=lambda s: None)
    assert res["bits_per_byte"] < math.log2(256) and len(res["train_curve"]) == 30
    assert sum(res["train_curve"][-5:]) < sum(res["train_curve"][:5])


@pytest.mark.parametrize("argv", [["overfit", "--model", "gpt"], ["overfit", "--steps", "0"],
                                  ["overfit", "--bytes", "1"], ["overfit", "--bytes", "100000000"]])
def test_bad_arguments_exit_with_a_message(argv):
    with pytest.raises(SystemExit):
        main(argv)
