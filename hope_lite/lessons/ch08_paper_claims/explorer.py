"""The explorer of notebook 08: pick rows of an ablation table, see how they trained and how they use context."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from ..explorer import STYLE, Explorer
from . import experiments as ex
from .figures import START_ROWS, render_context, render_training, short_call

__all__ = ["CLAIMS_EXPLORER_DEFAULTS", "ClaimsExplorer", "explore_paper_claims"]

TABLE_NAMES = {"hope": "HOPE", "titans": "Titans"}

#: the start values; ``rows`` per table, as row keys (the full model and two rows; the HOPE ones are also
#: in the context figure, so both figures show from the start)
CLAIMS_EXPLORER_DEFAULTS = {"table": "hope", "rows": START_ROWS}


def _checked(results: Any, which: str) -> dict:
    """``results`` (None: the committed file) if it is the ``which`` results; else a ValueError naming it."""
    if results is None:
        results = ex.load_results(which)
    kind = "context" if which == "context" else "ablation"
    if not isinstance(results, dict) or results.get("kind") != kind or \
            (kind == "ablation" and results.get("table") != which):
        got = (results.get("kind"), results.get("table")) if isinstance(results, dict) else type(results).__name__
        source = "context_use() or load_results('context')" if kind == "context" else \
            f"ablation({which!r}) or load_results({which!r})"
        raise ValueError(f"{which}= takes the dict returned by {source}, got (kind, table) {got!r}.")
    return results


class ClaimsExplorer(Explorer):
    """Choose rows of the HOPE or the Titans ablation table and see their training and their context use
    (notebook 08).

    Children, in order: ToggleButtons ``table`` (``HOPE``, ``Titans``; values ``"hope"``, ``"titans"``),
    SelectMultiple ``rows`` (that table's rows, labels shown, row keys as values), Output. The Output
    shows one line, per chosen row ``label: val ppl mean ± std (verdicts ppl / acc)`` joined by `` | ``,
    then :func:`.figures.render_training` of the chosen rows (every seed) and, below, :func:`.figures.
    render_context` of those of them that are in the context figure (:data:`.experiments.CONTEXT_MODELS`;
    none: the line says so and only the training figure is shown). A new table resets ``rows`` to that
    table's defaults. After every update ``.text`` holds the line.
    """

    def __init__(self, hope: dict | None = None, titans: dict | None = None, context: dict | None = None,
                 **initial: Any) -> None:
        start = self.settings({"table": CLAIMS_EXPLORER_DEFAULTS["table"], "rows": None}, initial)
        self.results = {"hope": _checked(hope, "hope"), "titans": _checked(titans, "titans")}
        self.context = _checked(context, "context")
        if start["table"] not in self.results:
            raise ValueError(f"table must be one of {tuple(self.results)}, got {start['table']!r}.")
        self.table = widgets.ToggleButtons(options=[(TABLE_NAMES[t], t) for t in self.results], value=start["table"],
                                           description="table", style=STYLE)
        self.rows = widgets.SelectMultiple(description="rows", style=STYLE, layout=widgets.Layout(width="420px"))
        self._set_rows(start["table"], start["rows"])
        self._start([self.table, self.rows])

    # the rows of the current table ----------------------------------------------------------------

    def _set_rows(self, table: str, wanted: Any = None) -> None:
        """Show ``table``'s rows in ``rows`` and choose ``wanted`` (row keys; None: the defaults)."""
        summary = self.results[table]["summary"]
        keys = [r["row"] for r in summary]
        if wanted is None:
            wanted = [k for k in CLAIMS_EXPLORER_DEFAULTS["rows"][table] if k in keys]
            if len(wanted) < min(3, len(keys)):     # a results file of a few rows: its first three
                wanted = keys[:3]
        else:
            wanted = [wanted] if isinstance(wanted, str) else list(wanted)
            unknown = [k for k in wanted if k not in keys]
            if unknown:
                raise ValueError(f"rows {unknown} are not in the {TABLE_NAMES[table]} results; they hold {keys}.")
        with self.quietly():          # new options reset the value: one re-draw, by the caller
            self.rows.options = [(r["label"], r["row"]) for r in summary]
            self.rows.rows = len(summary)
            self.rows.value = tuple(wanted)
        self._shown_table = table

    def render(self) -> tuple[str, list]:
        table = self.table.value
        if table != self._shown_table:
            self._set_rows(table)
        results = self.results[table]
        chosen = [r for r in results["summary"] if r["row"] in self.rows.value]
        if not chosen:
            return f"{TABLE_NAMES[table]} table: choose at least one row", []
        calls = {v["row"]: v for v in results["verdicts"]}
        parts = []
        for r in chosen:
            ppl = "no finished seed" if r["val_ppl_mean"] is None else \
                f"val ppl {r['val_ppl_mean']:.2f} ± {r['val_ppl_std']:.2f}"
            v = calls.get(r["row"])
            said = "full model" if v is None else \
                f"ppl {short_call(v['ppl']['call'])} / acc {short_call(v['acc']['call'])}"
            if r["diverged"]:
                said += f", {r['diverged']} of {len(r['seeds'])} seeds diverged"
            parts.append(f"{r['label']}: {ppl} ({said})")
        st = results["settings"]
        runs = {r["label"]: [run for run in results["runs"] if run["row"] == r["row"]] for r in chosen}
        figures = [render_training(runs, bytes_per_step=st["batch"] * st["context"],
                                   title=f"{TABLE_NAMES[table]} table: training loss of the chosen rows, "
                                         f"one line per seed ({st['preset']} preset, {st['steps']} steps)")]
        # the context figure names its models apart ("HOPE w/o CMS" is the HOPE table's "w/o CMS")
        keys = {r["row"] for r in chosen}
        present = {m["label"] for m in self.context["models"]}
        labels = [label for label, t, key in ex.CONTEXT_MODELS if t == table and key in keys and label in present]
        if labels:
            figures.append(render_context(self.context, labels=labels))
        else:
            parts.append("none of these rows is in the context figure")
        return " | ".join(parts), figures


def explore_paper_claims(hope: dict | None = None, titans: dict | None = None, context: dict | None = None,
                         **initial: Any) -> ClaimsExplorer:
    """Browse the ablation tables and the context use of notebook 08.

    ``hope``, ``titans``, ``context``: the results dicts of :func:`.experiments.ablation` (tables
    ``"hope"`` and ``"titans"``) and :func:`.experiments.context_use`; None reads the committed file
    (:func:`.experiments.load_results`). Keyword arguments: the start values ``table`` (``"hope"`` or
    ``"titans"``) and ``rows`` (row keys of that table; default: the full model and two rows).
    """
    return ClaimsExplorer(hope, titans, context, **initial)
