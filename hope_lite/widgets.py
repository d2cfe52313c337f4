"""ipywidgets explorers built on :mod:`hope_lite.viz` (core ipywidgets only, so Colab works as is).

Each explorer is the thin top layer of three (docs/TEACHING.md): the numbers and the figure come
from a pure, unit-tested function in :mod:`hope_lite.viz`; the explorer only wires controls to
it; the notebook shows a static preview PNG above it for readers without a kernel.

ipywidgets swallows exceptions raised inside callbacks, so every explorer also has an
``update()`` method: tests (and curious readers) can set a control and call it directly::

    w = explore_associative_memory()
    w.children[0].value = 40          # the "pairs" slider
    w.update()                        # re-render now; errors surface here
"""

from __future__ import annotations

import base64
import io
import math
from typing import Any

import ipywidgets as widgets

from . import viz

__all__ = ["AssociativeMemoryExplorer", "explore_associative_memory", "show"]


class _Explorer(widgets.VBox):
    """Shared wiring of the explorers: controls above an Output, and any change re-draws via update()."""

    def _start(self, controls: list, output: widgets.Output, watched: list | None = None) -> None:
        super().__init__(children=[*controls, output])
        for control in controls if watched is None else watched:
            control.observe(self._on_change, names="value")
        self.update()

    @staticmethod
    def _settings(defaults: dict, initial: dict) -> dict:
        """The explorer's starting settings: ``defaults`` overridden by ``initial``; unknown names are refused."""
        unknown = set(initial) - set(defaults)
        if unknown:
            raise ValueError(f"unknown initial setting(s) {sorted(unknown)}; choose from {sorted(defaults)}.")
        return {**defaults, **initial}

    def _on_change(self, change: dict) -> None:
        self.update()

    def update(self) -> str:  # pragma: no cover - every explorer defines it
        raise NotImplementedError


class AssociativeMemoryExplorer(_Explorer):
    """Sliders for :func:`hope_lite.viz.render_retrieval` and an Output showing the result (notebook 01).

    Children, in order: IntSlider ``pairs``, FloatSlider ``correlation``, FloatSlider ``step``,
    FloatSlider ``retention``, Dropdown ``rule``, Output. The Output shows one line
    ``... mean retrieval error = 0.1234`` and the figure; it is re-drawn on every change.
    """

    def __init__(self, *, dim: int = 32, seed: int = 0, **initial: Any) -> None:
        start = self._settings(viz.EXPLORER_DEFAULTS, initial)
        self.dim, self.seed = dim, seed
        style = {"description_width": "90px"}
        layout = widgets.Layout(width="420px")
        self.pairs = widgets.IntSlider(value=start["n_pairs"], min=1, max=3 * dim, step=1, description="pairs",
                                       continuous_update=False, style=style, layout=layout)
        self.correlation = widgets.FloatSlider(value=start["correlation"], min=0.0, max=0.9, step=0.05,
                                               description="correlation", readout_format=".2f",
                                               continuous_update=False, style=style, layout=layout)
        self.step = widgets.FloatSlider(value=start["step"], min=0.0, max=2.0, step=0.05, description="step",
                                        readout_format=".2f", continuous_update=False, style=style,
                                        layout=layout)
        self.retention = widgets.FloatSlider(value=start["alpha"], min=0.8, max=1.0, step=0.01,
                                             description="retention", readout_format=".2f",
                                             continuous_update=False, style=style, layout=layout)
        self.rule = widgets.Dropdown(options=list(viz.RULES), value=start["rule"], description="rule",
                                     style=style, layout=widgets.Layout(width="260px"))
        self.output = widgets.Output()
        self.text = ""  # the last line shown, e.g. for tests
        self._start([self.pairs, self.correlation, self.step, self.retention, self.rule], self.output)

    def update(self) -> str:
        """Recompute and re-draw from the current control values; returns the text line shown."""
        n, c, step, alpha, rule = (self.pairs.value, self.correlation.value, self.step.value,
                                   self.retention.value, self.rule.value)
        errors = viz.retrieval_errors(n, c, step, rule, dim=self.dim, alpha=alpha, seed=self.seed)
        fig = viz.render_retrieval(n, c, step, rule, dim=self.dim, alpha=alpha, seed=self.seed, errors=errors)
        mean = float(errors.mean())
        note = "" if math.isfinite(mean) else " (the memory diverged: lower the step)"
        self.text = (f"{rule}: {n} pairs, correlation {c:.2f}, step {step:.2f}, retention {alpha:.2f}"
                     f" -> mean retrieval error = {mean:.4f}{note}")
        show(self.output, self.text, fig)
        return self.text


def _png_base64(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def show(output: widgets.Output, text: str, fig) -> None:
    """Replace what ``output`` shows by one line of ``text`` and the figure ``fig`` (then closed).

    The outputs are set directly (a stream and a PNG), rather than captured with ``with output:``,
    so the result does not depend on the kernel's matplotlib backend, and tests without a kernel
    can read ``output.outputs``.
    """
    import matplotlib.pyplot as plt

    try:
        image = _png_base64(fig)
    finally:
        plt.close(fig)  # viz closes its figures already; this keeps pyplot empty whatever the source
    output.outputs = (
        {"output_type": "stream", "name": "stdout", "text": text + "\n"},
        {"output_type": "display_data", "metadata": {},
         "data": {"image/png": image, "text/plain": f"<figure: {text}>"}},
    )


def explore_associative_memory(**initial: Any) -> AssociativeMemoryExplorer:
    """Explore retrieval error of a Hebbian, delta-rule or Titans memory (notebook 01, §5).

    Move ``pairs`` past 32 (the key width) to leave capacity, raise ``correlation`` to make keys
    alike, change ``step`` (eta, or theta for Titans) and ``retention`` (alpha). Keyword
    arguments set the start values (``n_pairs``, ``correlation``, ``step``, ``rule``, ``alpha``).
    """
    return AssociativeMemoryExplorer(**initial)


# ---- notebook 02: nested optimization ----

__all__ += ["NestedLevelsExplorer", "explore_nested_levels"]


def _show_text_and_figures(output: widgets.Output, text: str, figs: list) -> None:
    """Like :func:`show`, with several figures below the text line.

    Each item of ``figs`` is a Figure (encoded, then closed) or an already encoded base64 PNG.
    """
    import matplotlib.pyplot as plt

    images = []
    try:
        for fig in figs:
            images.append(fig if isinstance(fig, str) else _png_base64(fig))
    finally:
        for fig in figs:
            if not isinstance(fig, str):
                plt.close(fig)
    output.outputs = ({"output_type": "stream", "name": "stdout", "text": text + "\n"},) + tuple(
        {"output_type": "display_data", "metadata": {},
         "data": {"image/png": image, "text/plain": f"<figure {i + 1}: {text}>"}}
        for i, image in enumerate(images))


class NestedLevelsExplorer(_Explorer):
    """Train a tiny model under an UpdateRecorder and draw its levels from the records (notebook 02, §5).

    Children, in order: Dropdown ``optimizer`` (:data:`hope_lite.viz.NESTED_OPTIMIZERS`), Dropdown
    ``memory`` (hebbian, delta, titans), IntSlider ``slow period`` (M3's slow momentum, DeepMomentum's
    memory; disabled for the others), IntSlider ``chunk`` (the memory's chunk size), IntSlider
    ``steps``, Output. Each change runs :func:`hope_lite.viz.nested_training_run` (a real, short
    training) and shows one line of recorded counts, the update timeline
    (:func:`hope_lite.viz.render_update_timeline`) and the level diagram
    (:func:`hope_lite.viz.render_levels` of ``levels_of(model, optimizer)``). The last run is kept
    in ``.run``.
    """

    def __init__(self, *, seed: int = 0, **initial: Any) -> None:
        start = self._settings(viz.NESTED_EXPLORER_DEFAULTS, initial)
        self.seed = seed
        style = {"description_width": "90px"}
        layout = widgets.Layout(width="420px")
        self.optimizer = widgets.Dropdown(options=list(viz.NESTED_OPTIMIZERS), value=start["optimizer"],
                                          description="optimizer", style=style,
                                          layout=widgets.Layout(width="300px"))
        self.memory = widgets.Dropdown(options=list(viz.NESTED_MEMORIES), value=start["memory"],
                                       description="memory", style=style, layout=widgets.Layout(width="300px"))
        self.period = widgets.IntSlider(value=start["period"], min=1, max=8, description="slow period",
                                        continuous_update=False, style=style, layout=layout)
        self.chunk = widgets.IntSlider(value=start["chunk"], min=2, max=16, description="chunk",
                                       continuous_update=False, style=style, layout=layout)
        self.steps = widgets.IntSlider(value=start["steps"], min=2, max=16, description="steps",
                                       continuous_update=False, style=style, layout=layout)
        self.output = widgets.Output()
        self.text = ""  # the last line shown, e.g. for tests
        self.run: dict | None = None
        self._diagram: tuple = (None, "")  # (levels, PNG): the diagram is re-drawn only when the levels change
        controls = [self.optimizer, self.memory, self.period, self.chunk, self.steps]
        self._start(controls, self.output)

    def update(self) -> str:
        """Run the short training for the current controls, re-draw; returns the text line shown."""
        name, memory, period, chunk, steps = (self.optimizer.value, self.memory.value, self.period.value,
                                              self.chunk.value, self.steps.value)
        has_period = name in ("M3", "DeepMomentum")
        self.period.disabled = not has_period
        run = viz.nested_training_run(name, memory=memory, period=period, chunk=chunk, steps=steps,
                                      seed=self.seed)
        self.run = run
        counts = run["counts"]
        listed = " · ".join(f"{lv.name} {counts.get(lv.qualified_name, 0)}" for lv in run["levels"])
        setting = f"{name}" + (f" (slow period {period})" if has_period else "")
        losses = run["losses"]
        loss = f"loss {losses[0]:.3f} -> {losses[-1]:.3f}" if len(losses) else "loss -"
        if run["diverged"]:
            loss += f" (diverged after {len(losses)} steps)"
        self.text = (f"{setting}, {memory} memory (chunk {chunk}), {steps} steps of {run['tokens']} tokens "
                     f"-> recorded updates: {listed} | {loss}")
        timeline = viz.render_update_timeline(
            run["recorder"], run["levels"], title=f"{setting} training a {memory} memory block (chunk {chunk}): "
                                                  "recorded updates")
        levels = tuple(run["levels"])
        if self._diagram[0] != levels:
            import matplotlib.pyplot as plt

            diagram = viz.render_levels(levels, title=f"levels_of(model, {name}(...)), fastest first")
            try:
                self._diagram = (levels, _png_base64(diagram))
            finally:
                plt.close(diagram)
        _show_text_and_figures(self.output, self.text, [timeline, self._diagram[1]])
        return self.text


def explore_nested_levels(**initial: Any) -> NestedLevelsExplorer:
    """Explore the levels of a model + deep optimizer, drawn from a real recorded run (notebook 02, §5).

    Pick an optimizer and a memory, move ``slow period`` (M3, DeepMomentum), ``chunk`` (a Titans
    memory updates once per chunk; a linear memory still writes every token) and ``steps``.
    Keyword arguments set the start values (``optimizer``, ``memory``, ``period``, ``chunk``, ``steps``).
    """
    return NestedLevelsExplorer(**initial)


# ---- end of notebook 02 ----


# ---- notebook 03: deep optimizers ----

__all__ += ["LandscapeExplorer", "explore_landscape"]


class LandscapeExplorer(_Explorer):
    """An optimizer and its hyper-parameters -> its trajectory on the toy landscape (notebook 03, §10).

    Children, in order: Dropdown ``optimizer`` (``LANDSCAPE_OPTIMIZERS``), FloatLogSlider ``lr``,
    FloatSlider ``beta`` (momentum; beta1 for m3/adamw; the memory's retention for dmgd),
    FloatSlider ``erase`` (delta only), IntSlider ``period`` (DMGD's period, M3's slow period),
    IntSlider ``steps``, Output. Choosing an optimizer loads its tuned settings
    (:data:`hope_lite.experiments.LANDSCAPE_SETTINGS`); controls that the optimizer does not use
    are disabled. The Output shows one line (final loss, steps to tolerance) and
    :func:`hope_lite.viz.render_landscape`; the last trajectory is kept in ``.trajectory``.
    """

    def __init__(self, **initial: Any) -> None:
        from .experiments import LANDSCAPE_LRS, LANDSCAPE_OPTIMIZERS

        start = dict(viz.LANDSCAPE_EXPLORER_DEFAULTS)
        allowed = set(start) | {"lr", "beta", "erase", "period"}
        unknown = set(initial) - allowed
        if unknown:
            raise ValueError(f"unknown initial setting(s) {sorted(unknown)}; choose from {sorted(allowed)}.")
        start.update(initial)
        if start["optimizer"] not in LANDSCAPE_OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {LANDSCAPE_OPTIMIZERS}, got {start['optimizer']!r}.")
        controls = {**viz.landscape_controls(start["optimizer"]),
                    **{k: start[k] for k in ("lr", "beta", "erase", "period") if k in start}}
        style = {"description_width": "90px"}
        layout = widgets.Layout(width="420px")
        self.optimizer = widgets.Dropdown(options=list(LANDSCAPE_OPTIMIZERS), value=start["optimizer"],
                                          description="optimizer", style=style, layout=widgets.Layout(width="300px"))
        self.lr = widgets.FloatLogSlider(value=controls["lr"], base=10, min=math.log10(LANDSCAPE_LRS[0]),
                                         max=math.log10(LANDSCAPE_LRS[-1]), step=0.05, description="lr",
                                         readout_format=".3g", continuous_update=False, style=style, layout=layout)
        self.beta = widgets.FloatSlider(value=controls["beta"], min=0.0, max=0.99, step=0.01,
                                        description="momentum β", readout_format=".2f", continuous_update=False,
                                        style=style, layout=layout)
        self.erase = widgets.FloatSlider(value=controls["erase"], min=0.0, max=1.0, step=0.01, description="erase γ",
                                         readout_format=".2f", continuous_update=False, style=style, layout=layout)
        self.period = widgets.IntSlider(value=controls["period"], min=1, max=30, description="period",
                                        continuous_update=False, style=style, layout=layout)
        self.steps = widgets.IntSlider(value=start["steps"], min=10, max=800, step=10, description="steps",
                                       continuous_update=False, style=style, layout=layout)
        self.output = widgets.Output()
        self.text = ""  # the last line shown, e.g. for tests
        self.trajectory = None
        self._loading = False
        sliders = [self.lr, self.beta, self.erase, self.period, self.steps]
        self.optimizer.observe(self._on_optimizer, names="value")
        self._start([self.optimizer] + sliders, self.output, watched=sliders)

    def _on_optimizer(self, change: dict) -> None:
        """Load the tuned settings of the new optimizer into the sliders, then draw once."""
        self._loading = True
        try:
            for key, value in viz.landscape_controls(change["new"]).items():
                getattr(self, key).value = value
        finally:
            self._loading = False
        self.update()

    def _on_change(self, change: dict) -> None:
        if not self._loading:
            self.update()

    def hparams(self) -> dict[str, Any]:
        """The optimizer's hyper-parameters for the current slider values."""
        return viz.landscape_hparams(self.optimizer.value, self.lr.value, self.beta.value, self.erase.value,
                                     self.period.value)

    def update(self) -> str:
        """Run the optimizer for the current controls and re-draw; returns the text line shown."""
        from .experiments import LANDSCAPE_TOL, run_landscape, steps_to_tolerance

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
        self.text = f"{name}: {viz._describe_hparams(hp)}, {self.steps.value} steps -> {final}, {where}"
        fig = viz.render_landscape(name, self.steps.value, trajectory=traj)
        show(self.output, self.text, fig)
        return self.text


def explore_landscape(**initial: Any) -> LandscapeExplorer:
    """Explore the optimizers on the toy landscape of the paper (notebook 03, §10).

    Pick an optimizer (its tuned settings are loaded), then move ``lr``, ``beta``, ``erase``
    (delta momentum), ``period`` (DMGD, M3) and ``steps``. Keyword arguments set the start
    values (``optimizer``, ``steps``, ``lr``, ``beta``, ``erase``, ``period``).
    """
    return LandscapeExplorer(**initial)

# ---- end of notebook 03 ----



# ---- notebook 05: self-modifying Titans ----

__all__ += ["SelfModificationExplorer", "explore_self_modification"]


class SelfModificationExplorer(_Explorer):
    """Each memory's update magnitudes over the tokens of one real forward pass (notebook 05, §6).

    Children, in order: IntSlider ``sequence`` (a held-out remap sequence), IntSlider
    ``projection chunk`` (period of the k, v, eta, alpha memories), IntSlider ``memory chunk``
    (period of the output memory), Output. Each change runs the model once under an
    :class:`~hope_lite.levels.UpdateRecorder` (:func:`hope_lite.viz_self_modifying.update_magnitudes`)
    and shows one line (updates per memory, mean magnitude, the sequence's answers) and
    :func:`hope_lite.viz_self_modifying.render_update_magnitudes`. The last records are kept in
    ``.magnitudes``.
    """

    def __init__(self, model=None, batch=None, **initial: Any) -> None:
        from . import experiments_self_modifying as exsm
        from . import viz_self_modifying as vsm

        start = self._settings(vsm.UPDATE_EXPLORER_DEFAULTS, initial)
        self.model = exsm.make_remap_model("self_modifying") if model is None else model
        if not hasattr(getattr(self.model, "layer", None), "projection_chunk_size"):
            raise ValueError("explore_self_modification needs a RemapModel with a SelfModifyingTitans layer.")
        self.batch = exsm.eval_batch(16) if batch is None else batch
        n_seq = self.batch.tokens.shape[0]
        if not 0 <= start["sequence"] < n_seq:
            raise ValueError(f"sequence must lie in 0..{n_seq - 1}, got {start['sequence']!r}.")
        style = {"description_width": "110px"}
        layout = widgets.Layout(width="420px")
        self.sequence = widgets.IntSlider(value=start["sequence"], min=0, max=n_seq - 1, description="sequence",
                                          continuous_update=False, style=style, layout=layout)
        self.projection_chunk = widgets.IntSlider(value=start["projection_chunk"], min=1, max=10,
                                                  description="projection chunk", continuous_update=False,
                                                  style=style, layout=layout)
        self.memory_chunk = widgets.IntSlider(value=start["memory_chunk"], min=1, max=10, description="memory chunk",
                                              continuous_update=False, style=style, layout=layout)
        self.output = widgets.Output()
        self.text = ""  # the last line shown, e.g. for tests
        self.magnitudes: dict | None = None
        self._start([self.sequence, self.projection_chunk, self.memory_chunk], self.output)

    def update(self) -> str:
        """Run the forward pass for the current controls, re-draw; returns the text line shown."""
        import torch

        from . import viz_self_modifying as vsm

        i, pc, mc = self.sequence.value, self.projection_chunk.value, self.memory_chunk.value
        tokens = self.batch.tokens[i]
        mags = vsm.update_magnitudes(self.model, tokens, projection_chunk=pc, memory_chunk=mc)
        self.magnitudes = mags
        layer = self.model.layer
        old = (layer.chunk_size, layer.projection_chunk_size)
        layer.chunk_size, layer.projection_chunk_size = mc, pc
        try:
            with torch.no_grad():
                pred = self.model(tokens[None]).argmax(-1)[0]
        finally:
            layer.chunk_size, layer.projection_chunk_size = old
        answers = []
        for phase, name in ((0, "before"), (1, "after")):
            cols = self.batch.phase == phase
            right = int((pred[cols] == self.batch.targets[i, cols]).sum())
            answers.append(f"{right}/{int(cols.sum())} {name}")
        listed = " · ".join(f"{lv} {len(m['times'])}x {m['magnitudes'].mean():.3f}"
                            for lv, m in ((lv, mags[lv]) for lv in vsm.MEMORY_LEVELS if lv in mags))
        self.text = (f"sequence {i}, projection chunk {pc}, memory chunk {mc} -> updates (count x mean |dM|): "
                     f"{listed} | right answers: {', '.join(answers)} the switch")
        fig = vsm.render_update_magnitudes(mags, tokens=vsm.token_labels(tokens), switch=self.batch.switch,
                                           title=f"held-out sequence {i}: every memory's writes in one forward pass")
        show(self.output, self.text, fig)
        return self.text


def explore_self_modification(model=None, batch=None, **initial: Any) -> SelfModificationExplorer:
    """Inspect each memory's update magnitude over tokens, from a real recorded forward pass (notebook 05, §6).

    ``model``: a :class:`~hope_lite.experiments_self_modifying.RemapModel` with a self-modifying
    layer (default: a fresh, untrained one); ``batch``: a
    :class:`~hope_lite.experiments_self_modifying.RemapBatch` (default: 16 held-out sequences).
    Move ``sequence``, ``projection chunk`` and ``memory chunk``; keyword arguments set their start
    values (``sequence``, ``projection_chunk``, ``memory_chunk``).
    """
    return SelfModificationExplorer(model, batch, **initial)

# ---- end of notebook 05 ----


# ---- notebook 04: Titans ----

__all__ += ["TitansMemoryExplorer", "explore_titans_memory"]


class TitansMemoryExplorer(_Explorer):
    """θ, η, α and chunk size -> memory error and surprise trace on a shift stream (notebook 04, §6).

    Children, in order: FloatSlider ``θ step``, FloatSlider ``η momentum``, FloatSlider ``α forget``,
    SelectionSlider ``chunk`` (1 ... 64), Output. Each change runs
    :func:`hope_lite.experiments_titans.shift_run` (a fresh memory writes 256 tokens of rule A, then
    128 of rule B) and shows one line ``... memory error = 0.1234 ...`` (the mean error on rule B
    for fresh keys after the stream) and :func:`hope_lite.viz_titans.render_shift_run`. The last run
    is kept in ``.run``.
    """

    CHUNKS = (1, 2, 4, 8, 16, 32, 64)

    def __init__(self, **initial: Any) -> None:
        from .experiments_titans import EXPLORER_DEFAULTS

        start = self._settings(EXPLORER_DEFAULTS, initial)
        if start["chunk_size"] not in self.CHUNKS:
            raise ValueError(f"chunk_size must be one of {self.CHUNKS}, got {start['chunk_size']!r}.")
        style = {"description_width": "90px"}
        layout = widgets.Layout(width="420px")
        self.theta = widgets.FloatSlider(value=start["theta"], min=0.0, max=1.0, step=0.01, description="θ step",
                                         readout_format=".2f", continuous_update=False, style=style, layout=layout)
        self.eta = widgets.FloatSlider(value=start["eta"], min=0.0, max=0.99, step=0.01, description="η momentum",
                                       readout_format=".2f", continuous_update=False, style=style, layout=layout)
        self.alpha = widgets.FloatSlider(value=start["alpha"], min=0.0, max=0.05, step=0.001, description="α forget",
                                         readout_format=".3f", continuous_update=False, style=style, layout=layout)
        self.chunk = widgets.SelectionSlider(options=list(self.CHUNKS), value=start["chunk_size"], description="chunk",
                                             continuous_update=False, style=style, layout=layout)
        self.output = widgets.Output()
        self.text = ""  # the last line shown, e.g. for tests
        self.run: dict | None = None
        self._start([self.theta, self.eta, self.alpha, self.chunk], self.output)

    def update(self) -> str:
        """Run the stream for the current controls and re-draw; returns the text line shown."""
        from .experiments_titans import shift_run
        from .viz_titans import render_shift_run

        theta, eta, alpha, chunk = self.theta.value, self.eta.value, self.alpha.value, self.chunk.value
        run = shift_run(theta, eta, alpha, chunk)
        self.run = run
        head = f"θ {theta:.2f}, η {eta:.2f}, α {alpha:.3f}, chunk {chunk}"
        if run["diverged"]:
            self.text = (f"{head} -> memory error = inf: the memory DIVERGED "
                         f"(effective step θ/(1-η) = {theta / max(1 - eta, 1e-9):.2f} per token, times about the chunk)")
        else:
            self.text = (f"{head} -> memory error = {run['error_B']:.4f} (rule B, fresh keys, end of stream) | "
                         f"rule A {run['error_A']:.3f} | surprise ratio at the shift {run['ratio']:.1f}x | "
                         f"{run['ms_per_token']:.2f} ms/token")
        show(self.output, self.text, render_shift_run(run))
        return self.text


def explore_titans_memory(**initial: Any) -> TitansMemoryExplorer:
    """Explore a Titans memory written at test time (notebook 04, §6).

    Move θ (step), η (momentum decay), α (forget gate) and the chunk size; watch the surprise spike
    at the distribution shift and the memory error on the new rule. Keyword arguments set the
    start values (``theta``, ``eta``, ``alpha``, ``chunk_size``).
    """
    return TitansMemoryExplorer(**initial)

# ---- end of notebook 04 ----


# ---- notebook 06: continuum memory ----

__all__ += ["CMSTimelineExplorer", "explore_cms_timeline"]


class CMSTimelineExplorer(_Explorer):
    """Number of levels and each level's period -> which level updates at which token (notebook 06, §3).

    Children, in order: IntSlider ``levels`` (1-4), IntSlider ``log2 C1`` ... ``log2 C4`` (level l's
    period is 2 to that power), IntSlider ``tokens``, Output. Periods must be listed fastest first,
    each a multiple of the one before; with powers of two that means strictly increasing exponents,
    so the explorer **repairs** the exponents (raises a level's exponent to one above the level
    before; lowers them from the top if the last passes the maximum), moves the sliders to the
    repaired values and says so. Sliders of levels beyond ``levels`` are disabled. Each change runs
    :func:`hope_lite.experiments_cms.timeline_run` (one real forward pass of a ContinuumMemory under
    an UpdateRecorder, task A then task B) and shows one line ``recorded updates per level: L1=64
    L2=16 L3=4 | ...`` and :func:`hope_lite.viz_cms.render_update_timeline`. The last run is kept
    in ``.run``.
    """

    MAX_LEVELS = 4
    MAX_EXPONENT = 9

    def __init__(self, **initial: Any) -> None:
        from .experiments_cms import TIMELINE_DEFAULTS

        start = self._settings(TIMELINE_DEFAULTS, initial)
        exps = list(start["exponents"])
        if len(exps) != self.MAX_LEVELS or not all(isinstance(e, int) and 0 <= e <= self.MAX_EXPONENT for e in exps):
            raise ValueError(f"exponents must be {self.MAX_LEVELS} ints in 0..{self.MAX_EXPONENT}, got {exps!r}.")
        if not (isinstance(start["levels"], int) and 1 <= start["levels"] <= self.MAX_LEVELS):
            raise ValueError(f"levels must be an int in 1..{self.MAX_LEVELS}, got {start['levels']!r}.")
        style = {"description_width": "90px"}
        layout = widgets.Layout(width="420px")
        self.levels = widgets.IntSlider(value=start["levels"], min=1, max=self.MAX_LEVELS, description="levels",
                                        continuous_update=False, style=style, layout=layout)
        self.exponents = [widgets.IntSlider(value=e, min=0, max=self.MAX_EXPONENT, description=f"log2 C{i + 1}",
                                            continuous_update=False, style=style, layout=layout)
                          for i, e in enumerate(exps)]
        self.tokens = widgets.IntSlider(value=start["tokens"], min=32, max=512, step=32, description="tokens",
                                        continuous_update=False, style=style, layout=layout)
        self.output = widgets.Output()
        self.text = ""  # the last line shown, e.g. for tests
        self.run: dict | None = None
        self._loading = False
        self._start([self.levels, *self.exponents, self.tokens], self.output)

    def _on_change(self, change: dict) -> None:
        if not self._loading:
            self.update()

    def periods(self) -> tuple[tuple[int, ...], bool]:
        """The periods the controls ask for, repaired (see the class docstring); (periods, repaired?)."""
        from .viz_cms import explorer_periods

        return explorer_periods(self.levels.value, [s.value for s in self.exponents], self.MAX_EXPONENT)

    def update(self) -> str:
        """Run the recorded forward pass for the current controls and re-draw; returns the text line shown."""
        from .experiments_cms import timeline_run
        from .viz_cms import render_update_timeline

        n = self.levels.value
        periods, repaired = self.periods()
        self._loading = True            # move the sliders to the repaired values without re-running
        try:
            for i, s in enumerate(self.exponents):
                s.disabled = i >= n
                if i < n:
                    s.value = int(math.log2(periods[i]))
        finally:
            self._loading = False
        tokens = self.tokens.value
        run = timeline_run(periods, tokens)
        self.run = run
        counts = " ".join(f"L{i + 1}={c}" for i, c in enumerate(run["counts"]))
        frozen = [f"L{i + 1}" for i, p in enumerate(periods) if p > tokens]
        note = " | repaired: each period must be a larger multiple of the one before" if repaired else ""
        note += f" | {', '.join(frozen)} never update{'s' if len(frozen) == 1 else ''} (period > tokens)" if frozen else ""
        self.text = (f"recorded updates per level: {counts} | periods {', '.join(map(str, periods))} | "
                     f"{tokens} tokens{note}")
        fig = render_update_timeline(run["recorder"], tokens, names=run["names"],
                                     labels=[f"level {i + 1}" for i in range(n)], periods=periods,
                                     switch=run["switch"],
                                     title=f"ContinuumMemory{periods}: recorded updates in one forward pass "
                                           f"(task A, then task B)")
        show(self.output, self.text, fig)
        return self.text


def explore_cms_timeline(**initial: Any) -> CMSTimelineExplorer:
    """Explore a Continuum Memory System's spectrum of update frequencies (notebook 06, §3).

    Move ``levels`` (1-4), each level's period (as log2 C: periods are powers of two, each a
    multiple of the one before; the explorer repairs them) and ``tokens``; the heat map is drawn
    from the updates an UpdateRecorder saw in a real forward pass. Keyword arguments set the start
    values (``levels``, ``exponents`` (four ints), ``tokens``).
    """
    return CMSTimelineExplorer(**initial)

# ---- end of notebook 06 ----


# ---- notebook 07: HOPE ----

__all__ += ["HopeLevelsExplorer", "explore_hope_levels"]


class HopeLevelsExplorer(_Explorer):
    """Read a text through a whole model, call after call, and watch every level update (notebook 07, §4).

    Children, in order: HBox(Play, IntSlider ``calls``), IntSlider ``chunk``, Dropdown ``blocks``,
    Output. The model reads its text in calls of ``chunk`` tokens, carrying its state from call to
    call, with an UpdateRecorder attached (:class:`hope_lite.experiments_hope.LevelStream`);
    ``calls`` is how many calls it has made (the Play button advances it one call at a time, so
    the picture fills in live). Raising ``calls`` reads only the new calls; lowering it, or a new
    ``chunk``, starts the stream over. The Output shows one line ``read 256 of 1024 tokens in 4
    calls of 64 | ... | recorded == position // period for 32 of 32 levels | ...`` and
    :func:`hope_lite.viz_hope.render_level_stream`. The stream is kept in ``.stream``.
    """

    def __init__(self, model: Any = None, text: Any = None, *, tokens: int | None = None, preset: str = "tiny",
                 seed: int = 0, **initial: Any) -> None:
        import torch

        from .experiments_hope import LEVELS_DEFAULTS, stream_tokens

        start = self._settings(LEVELS_DEFAULTS, initial)
        if model is None:
            from .models import build_model

            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                model = build_model("hope", preset)
        if text is None:
            from .data import corpus_bytes

            ids = corpus_bytes("pydoc", "validation").long()
        elif isinstance(text, str):
            from .data import BYTES

            ids = BYTES.encode(text)
        else:
            ids = torch.as_tensor(text).long().reshape(-1)
        self.model = model
        self.tokens = min(stream_tokens(model) if tokens is None else int(tokens), ids.numel() - 1)
        if self.tokens < 1:
            raise ValueError("the text must hold at least 2 tokens.")
        self.ids = ids[: self.tokens + 1]
        depth = len(getattr(model, "blocks", []))
        options = ["all"] + [f"block {i}" for i in range(depth)]
        if start["blocks"] not in options:
            raise ValueError(f"blocks must be one of {options}, got {start['blocks']!r}.")
        chunk, top = start["chunk"], min(256, self.tokens)
        if isinstance(chunk, bool) or not isinstance(chunk, int) or not min(8, top) <= chunk <= top:
            raise ValueError(f"chunk must be an int in {min(8, top)}..{top}, got {chunk!r}.")
        style = {"description_width": "90px"}
        layout = widgets.Layout(width="420px")
        most = math.ceil(self.tokens / chunk)
        self.calls = widgets.IntSlider(value=min(int(start["calls"]), most), min=0, max=most, description="calls",
                                       continuous_update=False, style=style, layout=layout)
        self.play = widgets.Play(value=self.calls.value, min=0, max=most, step=1, interval=2000,
                                 description="read call after call")
        widgets.jslink((self.play, "value"), (self.calls, "value"))
        self.chunk = widgets.IntSlider(value=chunk, min=min(8, top), max=top, step=8,
                                       description="chunk", continuous_update=False, style=style, layout=layout)
        self.blocks = widgets.Dropdown(options=options, value=start["blocks"], description="blocks", style=style,
                                       layout=widgets.Layout(width="260px"))
        self.output = widgets.Output()
        self.text = ""  # the last line shown, e.g. for tests
        self.stream = None
        self._loading = False
        self._start([widgets.HBox([self.play, self.calls]), self.chunk, self.blocks], self.output,
                    watched=[self.calls, self.chunk, self.blocks])

    def _on_change(self, change: dict) -> None:
        if not self._loading:
            self.update()

    def update(self) -> str:
        """Read up to ``calls`` calls of ``chunk`` tokens (continuing the stream when possible), re-draw."""
        from .experiments_hope import LevelStream
        from .viz_hope import render_level_stream

        chunk = self.chunk.value
        most = math.ceil(self.tokens / chunk)
        self._loading = True             # a new chunk size changes how many calls the text holds
        try:
            for control in (self.calls, self.play):
                control.max = most
            if self.calls.value > most:
                self.calls.value = most
        finally:
            self._loading = False
        wanted = self.calls.value
        if self.stream is None or self.stream.chunk != chunk or len(self.stream.calls) > wanted:
            self.stream = LevelStream(self.model, self.ids, chunk)
        self.stream.read(wanted - len(self.stream.calls))
        s = self.stream
        blocks = None if self.blocks.value == "all" else [int(self.blocks.value.split()[1])]
        counts, expected = s.counts(), s.expected()
        equal = sum(c == e for c, e in zip(counts, expected))
        last = f" | last call: {s.bits[-1]:.2f} bits/byte" if s.bits else ""
        self.text = (f"read {s.position} of {self.tokens} tokens in {len(s.calls)} calls of {chunk} | "
                     f"{sum(counts)} updates of {len(counts)} levels recorded | recorded == position // period "
                     f"for {equal} of {len(counts)} levels{last}")
        if not s.levels:
            show(self.output, self.text + " | this model has no in-context levels", _empty_figure())
            return self.text
        fig = render_level_stream(s, tokens=self.tokens, blocks=blocks,
                                  title=f"{type(self.model).__name__} ({getattr(self.model, 'kind', '')}): "
                                        f"{s.position} of {self.tokens} tokens read in calls of {chunk}")
        show(self.output, self.text, fig)
        return self.text


def _empty_figure():
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(4, 0.5))
    plt.close(fig)
    return fig


def explore_hope_levels(model: Any = None, text: Any = None, **initial: Any) -> HopeLevelsExplorer:
    """Watch every in-context level of a language model update while it reads a text (notebook 07, §4).

    ``model``: a model of :func:`hope_lite.models.build_model` (default: an untrained tiny HOPE);
    ``text``: a str, or token ids (default: the pydoc validation text). Move ``calls`` (or press
    Play) to read call after call, ``chunk`` to change the tokens per call (the update times stay
    the same: every level counts tokens from the start of the stream), ``blocks`` to show one
    block. Keyword arguments: ``tokens`` (length of the stream), and the start values ``chunk``,
    ``calls``, ``blocks``.
    """
    return HopeLevelsExplorer(model, text, **initial)

# ---- end of notebook 07 ----
