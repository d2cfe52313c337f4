"""Bad inputs for hope_lite.optim: param groups checked as the constructor's arguments, empty parameters, bf16."""

from __future__ import annotations

import torch
from torch import nn

from catalogue import Case
from hope_lite.optim import (M3, DeepMomentum, DeltaGradientDescent, DeltaMomentum, MomentumSGD, Muon,
                             NewtonSchulzMomentum, PreconditionedMomentum)

# each optimizer and a hyperparameter of its memory, with a value outside its rule
OPTIMIZERS = [
    (MomentumSGD, "momentum", 3),
    (PreconditionedMomentum, "beta2", 3),
    (DeltaMomentum, "erase", 3),
    (DeepMomentum, "retention", 3),
    (NewtonSchulzMomentum, "ns_steps", 0),
    (Muon, "momentum", 3),
    (M3, "beta1", 3),
    (DeltaGradientDescent, "weight_decay", -1),
]


def _layers() -> tuple[nn.Linear, nn.Linear]:
    torch.manual_seed(0)
    return nn.Linear(4, 4), nn.Linear(4, 2)


def _build(cls, layer: nn.Linear):
    return cls(layer) if cls is DeltaGradientDescent else cls(layer.parameters())   # DGD hooks a model


def group_with_lr(cls, lr):
    first, second = _layers()
    if cls is DeltaGradientDescent:             # DGD takes a model: its extra groups come from add_param_group
        return _build(cls, first).add_param_group({"params": second.parameters(), "lr": lr})
    return cls([{"params": first.parameters()}, {"params": second.parameters(), "lr": lr}])


def add_group(cls, **hparams):
    first, second = _layers()
    return _build(cls, first).add_param_group({"params": second.parameters(), **hparams})


def steps_with_an_empty_parameter(cls, shape, **hparams):
    torch.manual_seed(0)
    layer, empty = nn.Linear(4, 3), nn.Parameter(torch.zeros(shape))
    opt = cls([{"params": layer.parameters()}, {"params": [empty]}], **hparams)
    before = layer.weight.detach().clone()
    for _ in range(3):
        opt.zero_grad()
        (layer(torch.randn(8, 4)).square().mean() + empty.sum()).backward()
        opt.step()
    return layer.weight, before, empty, opt


def left_as_it_is(result) -> str:
    weight, before, empty, opt = result
    assert empty.grad is not None and empty.numel() == 0 and opt.state[empty] == {}
    assert torch.isfinite(weight).all() and not torch.equal(weight, before)
    return f"steps; the {tuple(empty.shape)} parameter is left as it is, with no state"


def dgd_after_bf16_forward():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 12), nn.Tanh(), nn.Linear(12, 3))
    opt = DeltaGradientDescent(model, lr=0.05)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = model(torch.randn(8, 6)).float().square().mean()
    loss.backward()
    recorded = opt._inputs[id(model[2].weight)].dtype
    opt.step()
    return model, recorded


def steps_in_float32(result) -> str:
    model, recorded = result
    assert recorded == torch.bfloat16
    assert all(p.dtype == torch.float32 and torch.isfinite(p).all() for p in model.parameters())
    return "the bf16 layer inputs are cast to the weights' float32; finite weights"


CASES = [Case("optimizers", f"{cls.__name__}: param group with lr=-1", lambda cls=cls: group_with_lr(cls, -1),
              raises=ValueError, match=r"^param group 1: lr must be .*-1")
         for cls, _, _ in OPTIMIZERS]
CASES += [Case("optimizers", f"{cls.__name__}: add_param_group with {name}={bad}",
               lambda cls=cls, name=name, bad=bad: add_group(cls, **{name: bad}),
               raises=ValueError, match=rf"^param group 1: {name} must be .*{bad}")
          for cls, name, bad in OPTIMIZERS]
CASES += [
    Case("optimizers", "Muon: a parameter of shape (0, 4)", lambda: steps_with_an_empty_parameter(Muon, (0, 4)),
         check=left_as_it_is),
    Case("optimizers", "NewtonSchulzMomentum: a parameter of shape (4, 0)",
         lambda: steps_with_an_empty_parameter(NewtonSchulzMomentum, (4, 0), memory="delta"), check=left_as_it_is),
    Case("optimizers", "M3: a parameter of shape (0, 4)",
         lambda: steps_with_an_empty_parameter(M3, (0, 4), slow_period=2), check=left_as_it_is),
    Case("optimizers", "DeepMomentum: a parameter of shape (4, 0)",
         lambda: steps_with_an_empty_parameter(DeepMomentum, (4, 0)), check=left_as_it_is),
    Case("optimizers", "DeltaGradientDescent: step after a bf16 autocast forward", dgd_after_bf16_forward,
         check=steps_in_float32),
]
