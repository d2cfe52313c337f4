"""hope_lite.lessons.fit: the one small training loop of the chapters."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from hope_lite.lessons.fit import fit


def _problem(seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(32, 4, generator=gen)
    y = x @ torch.randn(4, 1, generator=gen)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = torch.nn.Linear(4, 1)
    return model, x, y


def test_fit_records_every_step_and_learns():
    model, x, y = _problem()
    seen = []
    run = fit(model, torch.optim.SGD(model.parameters(), lr=0.1), lambda step: (x, y), 50, F.mse_loss,
              after_step=lambda step, loss: seen.append((step, loss)))
    assert len(run.losses) == len(run.step_times) == 50 and not run.diverged
    assert [s for s, _ in seen] == list(range(50)) and [v for _, v in seen] == run.losses
    assert run.losses[-1] < 0.05 * run.losses[0] and run.seconds >= sum(run.step_times) > 0


def test_fit_is_the_hand_written_loop():
    """The same numbers as zero_grad / forward / backward / clip / step written out."""
    model, x, y = _problem(1)
    reference, _, _ = _problem(1)
    opt = torch.optim.AdamW(reference.parameters(), lr=0.05)
    losses = []
    for _ in range(20):
        loss = F.mse_loss(reference(x), y)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(reference.parameters(), 0.5)
        opt.step()
        losses.append(loss.item())
    run = fit(model, torch.optim.AdamW(model.parameters(), lr=0.05), lambda step: (x, y), 20, F.mse_loss,
              clip_norm=0.5)
    assert run.losses == losses
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), reference.parameters()))


def test_fit_stops_before_the_step_of_a_diverged_loss():
    model, x, y = _problem()
    run = fit(model, torch.optim.SGD(model.parameters(), lr=10.0), lambda step: (x, y), 100, F.mse_loss,
              max_loss=1e6)
    assert run.diverged and len(run.losses) < 100
    assert all(math.isfinite(v) and v <= 1e6 for v in run.losses)      # the loss that diverged is not kept
    assert all(torch.isfinite(p).all() for p in model.parameters())     # and no step was taken on it


@pytest.mark.parametrize("steps", [0, 1])
def test_fit_short_runs(steps):
    model, x, y = _problem()
    run = fit(model, torch.optim.SGD(model.parameters(), lr=0.1), lambda step: (x, y), steps, F.mse_loss)
    assert len(run.losses) == steps and not run.diverged
