"""The optimizers of notebook 03, by name: the deep optimizers of :mod:`hope_lite.optim` and two references.

The chapter runs every optimizer on the same problems under one name each (``"momentum"``,
``"delta"``, ``"muon"``, ...): :data:`OPTIMIZERS` maps the names to constructors and
:func:`make_optimizer` builds one for a model. ``torch.optim.SGD`` (plain gradient descent) and
``torch.optim.AdamW`` are the references; no weight decay anywhere (AdamW included), so that
every optimizer solves the same problem.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

import torch
from torch import nn

from hope_lite import optim

from .._args import require_choice

__all__ = ["OPTIMIZERS", "LANDSCAPE_OPTIMIZERS", "TRAIN_OPTIMIZERS", "make_optimizer"]

#: name -> (constructor, takes the model instead of its parameters, one-line description)
OPTIMIZERS: dict[str, tuple[Callable[..., torch.optim.Optimizer], bool, str]] = {
    "sgd": (torch.optim.SGD, False, "torch SGD without momentum: plain gradient descent (reference)"),
    "momentum": (optim.MomentumSGD, False, "momentum: a Hebbian memory of gradients"),
    "preconditioned": (optim.PreconditionedMomentum, False, "momentum of RMS-preconditioned gradients"),
    "delta": (optim.DeltaMomentum, False, "delta-rule momentum: erases along the new gradient"),
    "dmgd": (optim.DeepMomentum, False, "deep momentum: an MLP memory of gradients (DMGD)"),
    "muon": (optim.Muon, False, "Newton-Schulz output on linear momentum (Muon)"),
    "m3": (optim.M3, False, "multi-scale momentum Muon: fast + slow momentum (M3)"),
    "adamw": (torch.optim.AdamW, False, "torch AdamW, weight_decay=0 (reference)"),
    "dgd": (optim.DeltaGradientDescent, True, "delta gradient descent on nn.Linear layers (DGD)"),
}
#: the optimizers drawn on the landscape. DGD is left out: a bare parameter has no layer input x,
#: so DGD's input-dependent decay term is absent and DGD *is* gradient descent ("sgd") there.
LANDSCAPE_OPTIMIZERS = ("sgd", "momentum", "preconditioned", "delta", "dmgd", "muon", "m3", "adamw")
TRAIN_OPTIMIZERS = tuple(OPTIMIZERS)


def make_optimizer(name: str, model: nn.Module, **hparams: Any) -> torch.optim.Optimizer:
    """Build optimizer ``name`` of :data:`OPTIMIZERS` for ``model`` (keyword hyper-parameters).

    ``"adamw"`` gets ``weight_decay=0`` unless given. Unknown names or hyper-parameters raise
    ValueError naming them; bad values raise the optimizer's own ValueError.
    """
    require_choice("optimizer", name, tuple(OPTIMIZERS))
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be an nn.Module, got {type(model).__name__}.")
    cls, takes_model, _ = OPTIMIZERS[name]
    allowed = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "params", "model")]
    unknown = sorted(set(hparams) - set(allowed))
    if unknown:
        raise ValueError(f"unknown hyper-parameter(s) {unknown} for optimizer {name!r}; choose from {allowed}.")
    if name == "adamw":
        hparams.setdefault("weight_decay", 0.0)
    if takes_model:
        return cls(model, **hparams)
    return cls([p for p in model.parameters() if p.requires_grad], **hparams)
