"""The run picker shared by the run viewer and the QA report.

Runs are listed newest first (``analytics.runs_table`` order) with a label a producer can read
("2026-02-21 14:32 · style · done · 3f2a9c1e"), and the choice survives a project reload when
the run still exists.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from kroma_kit.dashboards import cards
from kroma_kit.dashboards.context import pick
from kroma_kit.workspace import Workspace

ALL_RUNS = "__all__"


def run_label(run: Any) -> str:
    moment = cards.to_datetime(run.created_at)
    stamp = f"{moment:%Y-%m-%d %H:%M}" if moment else "?"
    return " · ".join([stamp, str(run.stage or "—"), str(run.status), str(run.run_id)[:12]])


class RunPicker:
    """A ``kk-run-select`` dropdown over one project's runs (optionally with "All runs" first)."""

    def __init__(self, *, wanted: str | None = None, include_all: bool = False) -> None:
        self.wanted = wanted
        self.include_all = include_all
        self.runs = None
        self._loading = False
        self.widget = widgets.Dropdown(description="Run", layout=widgets.Layout(width="460px"))
        self.widget.add_class("kk-run-select")

    @property
    def value(self) -> str | None:
        """The chosen run id, or ``None`` for "all runs" / no runs."""
        chosen = self.widget.value
        return None if chosen in (None, ALL_RUNS) else chosen

    def load(self, ws: Workspace, project: str | None) -> None:
        """Fill the options for ``project`` without firing the observer twice for one reload."""
        from kroma_kit import analytics

        options: list[tuple[str, str]] = []
        if project is not None:
            self.runs = analytics.runs_table(ws, project)
            options = [(run_label(run), str(run.run_id)) for run in self.runs.itertuples(index=False)]
        if self.include_all and options:
            options.insert(0, ("All runs", ALL_RUNS))
        values = [value for _, value in options]
        default = self.wanted if self.wanted in values else (
            self.widget.value if self.widget.value in values else None)
        chosen = pick(default, values)
        self._loading = True
        try:
            self.widget.options = options
            self.widget.value = chosen
        finally:
            self._loading = False
        self.widget.disabled = not options

    def on_change(self, callback) -> None:
        """Call ``callback(run_id)`` when a person picks another run (not while options reload)."""

        def handler(change: dict[str, Any]) -> None:
            if not self._loading and change["new"] != change["old"]:
                callback(self.value)

        self.widget.observe(handler, names="value")
