"""QA report: did the output guard let the work through, per run and per stage?

Shows pass / warn / fail counts (for one run, or the whole project), per-stage and per-run
tables, the continuity gate's view (scores per run and scene, the shots that broke), the distribution of ``chroma_delta`` against the guard's threshold (how close to the
line the drawing hand is), and the failing files with their thumbnails, so a producer can see
*what* failed without opening a notebook.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from kroma_kit.dashboards import cards
from kroma_kit.dashboards.base import DashboardView, EmptyState, full_width
from kroma_kit.dashboards.cards import Card, Column
from kroma_kit.dashboards.context import requested_run
from kroma_kit.dashboards.continuity_view import continuity_section
from kroma_kit.dashboards.runs import RunPicker
from kroma_kit.dashboards.thumbs import thumb_img
from kroma_kit.errors import KromaError
from kroma_kit.pipeline.guard_settings import GuardSettings
from kroma_kit.storage.runlog import load_run_log
from kroma_kit.sync.files import local_copy
from kroma_kit.widgets.qa_chart import QAChartPanel
from kroma_kit.workspace import Workspace

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 2.0  # GuardSettings.max_chroma_delta default, used when a run recorded none
MAX_FAILING_SHOWN = 48
COUNT_COLUMNS = (
    Column("checked", "Checked", numeric=True), Column("passed", "Pass", numeric=True),
    Column("warned", "Warn", numeric=True), Column("failed", "Fail", numeric=True),
    Column("pass-rate", "Pass rate", numeric=True),
)


class QAReportView(DashboardView):
    """Counts, per-stage and per-run tables, chroma chart and failing files for a project or one run."""

    title = "QA report"
    css_name = "qa-report"

    def __init__(self, ws: Workspace | None = None, *, project: str | None = None, run_id: str | None = None) -> None:
        self.run_picker = RunPicker(wanted=requested_run(run_id), include_all=True)
        self.chart: QAChartPanel | None = None
        self.chart_box = widgets.VBox(layout=full_width())
        self.chart_box.add_class("kk-chart-box")
        self.failing = widgets.HTML(layout=full_width())
        self.failing.add_class("kk-failing-files")
        super().__init__(ws, project=project)
        self.run_picker.on_change(lambda _run: self.refresh())

    @property
    def run_id(self) -> str | None:
        """The chosen run, or ``None`` for the whole project."""
        return self.run_picker.value

    def extra_controls(self) -> list[widgets.Widget]:
        return [self.run_picker.widget]

    def widgets_below_body(self) -> list[widgets.Widget]:
        return [self.chart_box, self.failing]

    def clear_extras(self) -> None:
        self.chart_box.children = ()
        self.failing.value = ""

    def on_project_changed(self) -> None:
        if self.project is not None and self._listing_error is None:
            self.run_picker.load(self.workspace, self.project)

    def render_body(self) -> str:
        from kroma_kit import analytics

        runs = self.run_picker.runs
        if runs is None or runs.empty:
            raise EmptyState(f"No runs yet for project <b>{cards.esc(self.project)}</b>, so nothing has been "
                             "checked. The QA report fills in after the first run.", kind="no-runs")
        by_stage = analytics.qa_pass_rate_by_stage(self.workspace, self.project)
        by_run = analytics.qa_by_run(self.workspace, self.project)
        run_id = self.run_id
        scope = by_run[by_run["run_id"].astype(str) == run_id] if run_id else by_stage
        frame = (analytics.candidates(self.workspace, run_id=run_id) if run_id
                 else analytics.candidates(self.workspace, slug=self.project))
        chosen = runs[runs["run_id"].astype(str) == run_id] if run_id else runs[runs["mode"] == "run"]
        threshold = self._threshold(chosen["run_log_path"].iloc[0] if len(chosen) else None)
        totals = {name: int(scope[name].fillna(0).sum()) if len(scope) else 0
                  for name in ("checked", "passed", "warned", "failed")}
        failing = frame[frame["verdict"] == "fail"] if len(frame) else frame
        usable = totals["passed"] + totals["warned"]
        self.figures = {
            "scope": run_id or "all",
            **totals,
            "pass-rate": (usable / totals["checked"]) if totals["checked"] else None,
            "threshold": threshold,
            "chroma-points": int(frame["chroma_delta"].notna().sum()) if len(frame) else 0,
            "failing-files": len(failing),
            "stages": {str(row.stage): int(row.checked or 0) for row in by_stage.itertuples(index=False)},
        }
        self._show_chart(run_id)
        self.failing.value = ('<div class="kk-dash">' + cards.section(
            f"Failing files ({len(failing)})", failing_files(failing, home=self.workspace.home,
                                                           fetch=self._fetch), name="failing")
            + "</div>")
        scope_label = f"run <code>{cards.esc(run_id)}</code>" if run_id else "all runs of this project"
        return "".join([
            f'<div class="kk-sub" data-field="scope">Showing {scope_label}. Pass rate counts pass and warn '
            "(usable) over everything the guard checked.</div>",
            count_cards(self.figures),
            cards.section("By stage (all runs)", counts_table(by_stage, key="stage", name="by-stage"),
                          name="by-stage"),
            cards.section("By run", counts_table(by_run, key="run_id", name="by-run", current=run_id),
                          name="by-run"),
            self._continuity(run_id),
            '<div class="kk-section-title">Chroma distribution against the threshold</div>',
        ])

    def _fetch(self, path: Path) -> Path:
        """A failing file an S3-first project evicted from its local cache, fetched back verified."""
        return local_copy(self.workspace, self.project, path)

    def _continuity(self, run_id: str | None) -> str:
        """The continuity view: the gate's scores per run and scene, and the shots that broke."""
        from kroma_kit.continuity.report import continuity_report

        report = continuity_report(self.workspace, self.project)
        self.figures["continuity-scored"] = report["scored"]
        self.figures["continuity-broken"] = report["broken"]
        return continuity_section(report, run_id)

    def _show_chart(self, run_id: str | None) -> None:
        """The workbench's QA chart (chroma histogram with the threshold line(s), pass rate by
        stage), read-only; only its picture and facts are shown: the run is picked above."""
        if self.chart is None:
            self.chart = QAChartPanel(self.workspace, project=None, read_only=True)
        self.chart.project = self.project
        self.chart.run_id = run_id
        self.chart.render()
        self.chart_box.children = (self.chart.image, self.chart.facts, self.chart.continuity_image)

    def _threshold(self, run_log_path: Any) -> float:
        """The guard threshold the run was checked against: its run log's ``output_guard``, read
        through the typed log and the guard's own settings type (a log that recorded none gives
        the guard's default; an unreadable one, this view's default)."""
        if cards.is_missing(run_log_path) or not run_log_path:
            return DEFAULT_THRESHOLD
        try:
            return GuardSettings.from_mapping(load_run_log(run_log_path).output_guard).max_chroma_delta
        except KromaError:
            log.info("No guard threshold in %s; using the default", run_log_path)
            return DEFAULT_THRESHOLD


def count_cards(figures: dict[str, Any]) -> str:
    return cards.cards([
        Card("checked", "Checked", cards.number(figures["checked"]), figures["checked"]),
        Card("passed", "Pass", cards.number(figures["passed"]), figures["passed"]),
        Card("warned", "Warn", cards.number(figures["warned"]), figures["warned"]),
        Card("failed", "Fail", cards.number(figures["failed"]), figures["failed"]),
        Card("pass-rate", "Pass rate", cards.percent(figures["pass-rate"]), figures["pass-rate"],
             note="pass + warn"),
        Card("threshold", "Chroma threshold", f"{figures['threshold']:g}", figures["threshold"],
             note="max chroma delta"),
    ], name="qa-summary")


def failing_files(failing, *, home: Path, fetch: Callable[[Path], Path] | None = None) -> str:
    if failing is None or failing.empty:
        return cards.note("No failing files in this selection.", kind="no-failures")
    tiles = []
    for row in failing.head(MAX_FAILING_SHOWN).itertuples(index=False):
        path = row.output_path if not cards.is_missing(row.output_path) and row.output_path else row.final_path
        shown = None if cards.is_missing(path) or not path else Path(path)
        chroma = "—" if cards.is_missing(row.chroma_delta) else f"{float(row.chroma_delta):.2f}"
        reasons = _reasons(row.hard_failures)
        tiles.append(
            f'<div class="kk-tile kk-failing" data-job="{cards.esc(row.job_key)}" '
            f'data-candidate-index="{int(row.candidate_index)}" data-run-id="{cards.esc(row.run_id)}">'
            f"{thumb_img(path, row.sha256, home=home, alt=f'{row.job_key} c{int(row.candidate_index)}', fetch=fetch)}"
            f'<div style="margin-top:4px"><b>{cards.esc(row.job_key)}</b> c{int(row.candidate_index)} '
            f"{cards.verdict_badge(row.verdict)}</div>"
            f"<div>chroma Δ {chroma} · stage {cards.esc(row.stage or '—')}</div>"
            f'<div class="kk-muted">{cards.esc(reasons)}</div>'
            f"<div>{cards.path_html(shown.name if shown else None, name='failing-file')}</div></div>")
    more = "" if len(failing) <= MAX_FAILING_SHOWN else cards.note(
        f"Showing {MAX_FAILING_SHOWN} of {len(failing)} failing files.", kind="truncated")
    return f'<div class="kk-tiles" data-failing="{len(failing)}">{"".join(tiles)}</div>{more}'


def _reasons(value: Any) -> str:
    """Hard-failure reasons as text, whether the column holds a count, a list or JSON text."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    if cards.is_missing(value) or not value:
        return ""
    return f"{value} hard failure(s)"


def counts_table(frame, *, key: str, name: str, current: str | None = None) -> str:
    if frame is None or frame.empty:
        return cards.note("Nothing checked yet.", kind="nothing-checked")
    header = Column(key.replace("_", "-"), "Run" if key == "run_id" else "Stage")
    rows, keys = [], []
    for row in frame.itertuples(index=False):
        label = cards.esc(getattr(row, key))
        if key == "run_id":
            label = f'<code title="{label}">{cards.esc(cards.shorten(getattr(row, key), 14))}</code> ' \
                    f'<span class="kk-muted">{cards.esc(row.stage or "")}</span>'
            if current and str(getattr(row, key)) == current:
                label = f"<b>{label}</b>"
        rows.append([
            label,
            *(cards.value_cell(cards.number(getattr(row, col)), getattr(row, col))
              for col in ("checked", "passed", "warned", "failed")),
            cards.value_cell(cards.percent(row.pass_rate), row.pass_rate),
        ])
        keys.append(str(getattr(row, key)))
    return cards.table((header, *COUNT_COLUMNS), rows, name=name, row_keys=keys)


def qa_report_dashboard(ws: Workspace | None = None, *, project: str | None = None,
                        run_id: str | None = None) -> QAReportView:
    """Build the QA report (default: URL/env choice, else the first project, all runs)."""
    return QAReportView(ws, project=project, run_id=run_id)
