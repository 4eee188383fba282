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

import io
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets

from kroma_kit.widgets._common import VERDICT_COLOURS, Panel, button, records
from kroma_kit.workspace import Workspace

ALL_RUNS = ("(all runs)", "")  # "" not None: a Dropdown treats value None as "nothing selected"
THRESHOLD_SQL = """
SELECT DISTINCT TRY_CAST(log ->> '$.output_guard.max_chroma_delta' AS DOUBLE) AS threshold
FROM run_logs WHERE project = ? AND mode = 'run' {run_filter}
ORDER BY threshold"""


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


@dataclass
class QAChartData:
    """What the QA chart plots: candidates with a chroma measurement, pass rate per stage (of the
    project), and the guard thresholds the runs were judged with."""

    rows: list[dict[str, Any]]
    stages: list[dict[str, Any]]
    thresholds: list[float]


def qa_chart_data(ws: Workspace, slug: str, run_id: str | None = None) -> QAChartData:
    """The chart's numbers for ``slug`` (every real run) or one ``run_id`` of it."""
    from kroma_kit import analytics

    if run_id is not None:
        frame = analytics.candidates(ws, run_id=run_id)
    else:
        frame = analytics.candidates(ws, slug=slug)
        frame = frame[frame["mode"] == "run"]
    rows = [row for row in records(frame) if row.get("chroma_delta") is not None]
    stages = records(analytics.qa_pass_rate_by_stage(ws, slug))
    run_filter = "AND run_id = ?" if run_id else ""
    params = [slug] + ([run_id] if run_id else [])
    thresholds = [float(t) for t in analytics.sql(ws, THRESHOLD_SQL.format(run_filter=run_filter),
                                                  params)["threshold"].dropna()]
    return QAChartData(rows, stages, thresholds)


def qa_chart_png(ws: Workspace, slug: str, run_id: str | None = None) -> bytes:
    """The panel's chart as PNG bytes without a panel (``kroma analytics chart qa``)."""
    if run_id is not None:  # a prefix works too, as everywhere in the CLI
        from kroma_kit.analytics import run_detail

        run = run_detail(ws, run_id)["run"]
        if run["project"] != slug:
            from kroma_kit.errors import InputError

            raise InputError(f"Run {run_id} belongs to project '{run['project']}', not '{slug}'.")
        run_id = str(run["run_id"])
    data = qa_chart_data(ws, slug, run_id)
    scope = f"run {run_id[:8]}" if run_id else "all runs"
    return draw_qa_chart(data.rows, data.stages, data.thresholds, title=f"{slug} · {scope}")


def draw_qa_chart(rows: list[dict[str, Any]], stages: list[dict[str, Any]], thresholds: list[float], *,
                  title: str) -> bytes:
    """Both charts side by side, as PNG bytes (Agg canvas: no pyplot, no display backend)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(9, 3.4), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    hist, bars = fig.subplots(1, 2, width_ratios=[3, 2])
    verdicts = [v for v in ("pass", "warn", "fail") if any(r.get("verdict") == v for r in rows)]
    if rows:
        values = [[float(r["chroma_delta"]) for r in rows if r.get("verdict") == v] for v in verdicts]
        hist.hist(values, bins=20, stacked=True, label=verdicts, color=[VERDICT_COLOURS[v] for v in verdicts])
    else:
        hist.text(0.5, 0.5, "no QA-checked candidates yet", ha="center", va="center", transform=hist.transAxes)
    for threshold in thresholds:
        hist.axvline(threshold, color="black", linestyle="--", linewidth=1.2, label=f"threshold {threshold:g}")
    hist.yaxis.set_major_locator(MaxNLocator(integer=True))
    hist.set_xlabel("chroma delta (0 = grey)")
    hist.set_ylabel("candidates")
    hist.set_title(f"Chroma distribution · {title}", fontsize=10)
    if rows or thresholds:
        hist.legend(fontsize=8)
    names = [str(s["stage"]) for s in stages]
    rates = [float(s["pass_rate"] or 0) for s in stages]
    bars.bar(names, rates, color="#4c78a8")
    for position, stage in enumerate(stages):
        bars.text(position, float(stage["pass_rate"] or 0) + 0.02, f"{int(stage['passed']) + int(stage['warned'])}"
                  f"/{int(stage['checked'])}", ha="center", fontsize=8)
    bars.set_ylim(0, 1.1)
    bars.set_ylabel("pass rate (pass + warn)")
    bars.set_title("QA pass rate by stage (project)", fontsize=10)
    if not stages:
        bars.text(0.5, 0.5, "no runs yet", ha="center", va="center", transform=bars.transAxes)
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()
