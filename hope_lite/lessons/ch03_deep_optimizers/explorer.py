"""The explorer of notebook 03 (§10): an optimizer and its hyper-parameters -> its path on the toy landscape."""

from __future__ import annotations

import math
from typing import Any

import ipywidgets as widgets

from ..explorer import STYLE, WIDTH, Explorer, dropdown, float_slider, int_slider
from .figures import describe_hparams, render_landscape
from .landscape import (LANDSCAPE_EXPLORER_DEFAULTS, LANDSCAPE_LRS, LANDSCAPE_TOL, landscape_controls,
                        landscape_hparams, run_landscape, steps_to_tolerance)
from .optimizers import LANDSCAPE_OPTIMIZERS

__all__ = ["LandscapeExplorer", "explore_landscape"]


class LandscapeExplorer(Explorer):
    """An optimizer and its hyper-parameters -> its trajectory on the toy landscape (notebook 03, §10).

    Children, in order: Dropdown ``optimizer`` (``LANDSCAPE_OPTIMIZERS``), FloatLogSlider ``lr``,
    FloatSlider ``beta`` (momentum; beta1 for m3/adamw; the memory's retention for dmgd),
    FloatSlider ``erase`` (delta only), IntSlider ``period`` (DMGD's period, M3's slow period),
    IntSlider ``steps``, Output. Choosing an optimizer loads its tuned settings
    (:data:`.landscape.LANDSCAPE_SETTINGS`); controls that the optimizer does not use are
    disabled. The Output shows one line (final loss, steps to tolerance) and
    :func:`.figures.render_landscape`; the last trajectory is kept in ``.trajectory``.
    """

    def __init__(self, **initial: Any) -> None:
        # the start values may also set the sliders (lr, beta, erase, period) instead of the tuned ones
        start = self.settings({**LANDSCAPE_EXPLORER_DEFAULTS, "lr": None, "beta": None, "erase": None,
                               "period": None}, initial)
        if start["optimizer"] not in LANDSCAPE_OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {LANDSCAPE_OPTIMIZERS}, got {start['optimizer']!r}.")
        controls = {**landscape_controls(start["optimizer"]),
                    **{k: start[k] for k in ("lr", "beta", "erase", "period") if start[k] is not None}}
        self.optimizer = dropdown("optimizer", LANDSCAPE_OPTIMIZERS, start["optimizer"])
        self.lr = widgets.FloatLogSlider(value=controls["lr"], base=10, min=math.log10(LANDSCAPE_LRS[0]),
                                         max=math.log10(LANDSCAPE_LRS[-1]), step=0.05, description="lr",
                                         readout_format=".3g", continuous_update=False, style=STYLE,
                                         layout=widgets.Layout(width=WIDTH))
        self.beta = float_slider("momentum β", controls["beta"], 0.0, 0.99, 0.01)
        self.erase = float_slider("erase γ", controls["erase"], 0.0, 1.0, 0.01)
        self.period = int_slider("period", controls["period"], 1, 30)
        self.steps = int_slider("steps", start["steps"], 10, 800, step=10)
        self.trajectory = None
        sliders = [self.lr, self.beta, self.erase, self.period, self.steps]
        self.optimizer.observe(self._on_optimizer, names="value")
        self._start([self.optimizer] + sliders, watched=sliders)

    def _on_optimizer(self, change: dict) -> None:
        """Load the tuned settings of the new optimizer into the sliders, then draw once."""
        with self.quietly():
            for key, value in landscape_controls(change["new"]).items():
                getattr(self, key).value = value
        self.update()

    def hparams(self) -> dict[str, Any]:
        """The optimizer's hyper-parameters for the current slider values."""
        return landscape_hparams(self.optimizer.value, self.lr.value, self.beta.value, self.erase.value,
                                 self.period.value)

    def render(self) -> tuple[str, list]:
        name = self.optimizer.value
        self.beta.disabled = name == "sgd"
        self.beta.description = {"dmgd": "retention α", "m3": "β1", "adamw": "β1"}.get(name, "momentum β")
        self.erase.disabled = name != "delta"
        self.period.disabled = name not in ("dmgd", "m3")
        hp = self.hparams()
        traj = run_landscape(name, self.steps.value, tuned=False, **hp)
        self.trajectory = traj
        reached = steps_to_tolerance(traj, LANDSCAPE_TOL)
        where = (f"reached psi <= {LANDSCAPE_TOL:g} after {reached} steps" if reached is not None
                 else f"psi <= {LANDSCAPE_TOL:g} not reached")
        final = "diverged (lower lr)" if traj.diverged else f"final psi = {traj.final_loss:.3e}"
        text = f"{name}: {describe_hparams(hp)}, {self.steps.value} steps -> {final}, {where}"
        return text, [render_landscape(name, self.steps.value, trajectory=traj)]


def explore_landscape(**initial: Any) -> LandscapeExplorer:
    """Explore the optimizers on the toy landscape of the paper (notebook 03, §10).

    Pick an optimizer (its tuned settings are loaded), then move ``lr``, ``beta``, ``erase``
    (delta momentum), ``period`` (DMGD, M3) and ``steps``. Keyword arguments set the start
    values (``optimizer``, ``steps``, ``lr``, ``beta``, ``erase``, ``period``).
    """
    return LandscapeExplorer(**initial)
