"""QAChartPanel: how far candidates drift from one grey drawing hand, and how often QA passes.

Two charts answer the review questions "are we near the guard's limit?" and "which stage hurts?":
the distribution of ``chroma_delta`` (stacked by verdict) against the threshold line(s) the runs
were judged with, and the pass rate per stage. The numbers come from :mod:`kroma_kit.analytics`
(candidates, ``qa_pass_rate_by_stage``, and the thresholds from the run logs).

The chart is a static PNG drawn with matplotlib's Agg canvas into an ``ipywidgets.Image``: no
pyplot state, no backend setting, no JavaScript, so it renders the same in JupyterLab, in an
offline Voilà page and in a headless test (reference/jupyter-testing.md §5, pitfall 8).
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from kroma_kit.analytics.pictures import qa_chart_data
from kroma_kit.figures.qa_chart import draw_qa_chart
from kroma_kit.widgets._common import Panel, button, records
from kroma_kit.workspace import Workspace

ALL_RUNS = ("(all runs)", "")  # "" not None: a Dropdown treats value None as "nothing selected"


class QAChartPanel(Panel):
    """Chroma histogram with the guard threshold, and pass rate by stage, as one PNG.

    ``render()`` redraws and returns the PNG bytes (also in ``.png`` and ``.image``);
    ``show_run(run_id)`` narrows the histogram to one run (None = every run of the project).
    ``read_only=True`` leaves out "Save to exports" (dashboards do not write into projects).
    """

    def __init__(self, ws: Workspace | None = None, *, project: str | None = None, run_id: str | None = None,
                 read_only: bool = False) -> None:
        super().__init__(ws, project=project)
        self.read_only = read_only
        self.run_id = run_id
        self.png: bytes = b""
        self._syncing = False
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="900px"))
        self.image.add_class("kk-qa-chart")
        self.facts = widgets.HTML()
        self.run_choice = widgets.Dropdown(description="Run", options=[ALL_RUNS], value="")
        self.refresh_button = button("Refresh", "kk-qa-refresh")
        self.refresh_button.on_click(self.action(self.render))
        controls: list[widgets.Widget] = [self.run_choice, self.refresh_button]
        self.save_button: widgets.Button | None = None
        if not read_only:
            self.save_button = button("Save to exports", "kk-qa-save", tooltip="Write this chart as a PNG "
                                      "into the project's exports/ folder")
            self.save_button.on_click(self.action(self.save_png))
            controls.append(self.save_button)
        self.widget = widgets.VBox([widgets.HBox(controls), self.image, self.facts, self.status])
        self.widget.add_class("kk-qa-panel")
        if project or run_id:
            self._fill_runs()
            self.render()
        self.run_choice.observe(self._on_run_choice, names="value")

    # ------------------------------------------------------------------ actions

    def reload(self) -> None:
        self.show_run(self.run_id)

    def show_run(self, run_id: str | None) -> bytes:
        """Narrow the histogram to ``run_id`` (None: every run of the project) and redraw."""
        self.run_id = run_id
        self._fill_runs()
        return self.render()

    def render(self) -> bytes:
        """Query analytics, draw both charts, show and return the PNG."""
        from kroma_kit import analytics

        if self.run_id is not None and not self.project:
            self.project = analytics.run_detail(self.ws, self.run_id)["run"]["project"]
        data = qa_chart_data(self.ws, self.require_project(), self.run_id)
        self.png = draw_qa_chart(data.rows, data.stages, data.thresholds, title=self._title())
        self.image.value = self.png
        checked = sum(int(s["checked"]) for s in data.stages)
        self.facts.value = (f"<small>{len(data.rows)} candidates with a chroma measurement; threshold "
                            f"{', '.join(f'{t:g}' for t in data.thresholds) or '—'}; {checked} QA-checked in "
                            "the project.</small>")
        return self.png

    def save_png(self) -> str:
        """Write the current chart into the project's ``exports/`` folder; returns the path."""
        from kroma_kit.catalog.projects import project_layout
        from kroma_kit.storage.atomic import atomic_write_bytes, file_stamp

        if self.read_only:
            raise PermissionError("This QA chart is read-only.")
        if not self.png:
            self.render()
        name = f"qa_{(self.run_id or 'all')[:8]}_{file_stamp()}.png"
        target = atomic_write_bytes(project_layout(self.ws, self.require_project()).exports / name, self.png)
        self.set_status(f"Saved {target}", "ok")
        return str(target)

    # ------------------------------------------------------------------ internals

    def _title(self) -> str:
        scope = f"run {self.run_id[:8]}" if self.run_id else "all runs"
        return f"{self.project} · {scope}"

    def _fill_runs(self) -> None:
        from kroma_kit.analytics import runs_table

        if not self.project and self.run_id:
            return
        runs = [row for row in records(runs_table(self.ws, self.require_project())) if row["mode"] == "run"]
        options: list[tuple[str, str]] = [ALL_RUNS]
        options += [(f"{row['stage']} · {str(row['run_id'])[:8]} · {row.get('created_at') or ''}", row["run_id"])
                    for row in runs]
        if self.run_id and self.run_id not in [value for _, value in options]:
            options.append((self.run_id[:8], self.run_id))
        self._syncing = True
        try:
            self.run_choice.options = options
            self.run_choice.value = self.run_id or ""
        finally:
            self._syncing = False

    def _on_run_choice(self, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        self.run_id = change["new"] or None
        try:
            self.render()
        except Exception as exc:  # noqa: BLE001 - shown inline, like a button error
            self.show_error(exc)
