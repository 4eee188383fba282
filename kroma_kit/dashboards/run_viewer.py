"""Run viewer: one run as a client sees it, read-only.

Pick a run; see its status, jobs done, estimated vs actual cost and timings, where its run log
and outputs are, the settings snapshot it ran with, its jobs (winner, reason, prompt, cost), and
every candidate with its QA verdict in a read-only grid.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from kroma_kit.dashboards import cards
from kroma_kit.dashboards.base import DashboardView, EmptyState, full_width
from kroma_kit.dashboards.cards import Card, Column
from kroma_kit.dashboards.context import requested_run
from kroma_kit.dashboards.runs import RunPicker
from kroma_kit.widgets.candidate_grid import CandidateGrid
from kroma_kit.workspace import Workspace

JOB_COLUMNS = (
    Column("job", "Job"), Column("status", "Status"), Column("winner", "Winner"), Column("reason", "Winner reason"),
    Column("prompt", "Prompt"), Column("estimated", "Est. cost", numeric=True), Column("cost", "Cost", numeric=True),
    Column("final", "Final file"),
)


class RunViewerView(DashboardView):
    """Run header, links, settings snapshot, jobs table and the read-only candidate grid."""

    title = "Run viewer"
    css_name = "run-viewer"

    def __init__(self, ws: Workspace | None = None, *, project: str | None = None, run_id: str | None = None) -> None:
        self.run_picker = RunPicker(wanted=requested_run(run_id))
        self.grid: CandidateGrid | None = None
        self.grid_box = widgets.VBox(layout=full_width())
        self.grid_box.add_class("kk-grid-box")
        self.grid_title = widgets.HTML()
        self.grid_title.add_class("kk-grid-title")
        super().__init__(ws, project=project)
        self.run_picker.on_change(lambda _run: self.refresh())

    @property
    def run_id(self) -> str | None:
        return self.run_picker.value

    def extra_controls(self) -> list[widgets.Widget]:
        return [self.run_picker.widget]

    def widgets_below_body(self) -> list[widgets.Widget]:
        return [self.grid_title, self.grid_box]

    def on_project_changed(self) -> None:
        if self.project is not None and self._listing_error is None:
            self.run_picker.load(self.workspace, self.project)

    def clear_extras(self) -> None:
        self.grid_title.value = ""
        self.grid_box.children = ()
        if self.grid is not None:
            close_tree(self.grid.widget)
            self.grid = None

    def render_body(self) -> str:
        from kroma_kit import analytics

        run_id = self.run_id
        if run_id is None:
            raise EmptyState(f"No runs yet for project <b>{cards.esc(self.project)}</b>. Start one from the "
                             f"workbench or with <code>kroma run --project {cards.esc(self.project)}</code>.",
                             kind="no-runs")
        detail = analytics.run_detail(self.workspace, run_id)
        run, jobs = detail["run"], detail["jobs"]
        frame = analytics.candidates(self.workspace, run_id=run_id)
        self.figures = {
            "run-id": run_id,
            "status": run.get("status"),
            "jobs-total": int(run.get("jobs_total") or 0),
            "jobs-done": int(run.get("jobs_done") or 0),
            "candidates": len(frame),
            "winners": int(frame["is_winner"].fillna(False).astype(bool).sum()) if len(frame) else 0,
            "estimated-cost-usd": float(run.get("estimated_cost_usd") or 0.0),
            "actual-cost-usd": float(run.get("actual_cost_usd") or 0.0),
        }
        self._show_grid(run_id, len(frame))
        return "".join([
            run_cards(run, self.figures),
            run_meta(run),
            cards.section("Files", links_html(run, jobs), name="links"),
            cards.section("Jobs", jobs_table(jobs), name="jobs"),
            cards.section("Candidates: cost and timings", candidates_table(frame), name="candidate-facts"),
            cards.section("Settings snapshot", snapshot_html(detail.get("settings_snapshot")), name="settings"),
        ])

    def _show_grid(self, run_id: str, count: int) -> None:
        """Show ``run_id`` in the workbench's candidate grid, read-only (no "Make winner", no notes).

        A fresh grid per run, finished before it is attached to the page: Voilà 0.5.13's widget
        front end cannot build an ``Image`` view whose model got a tooltip ("Could not create a
        view for model id ..."), and the grid sets one on every thumbnail. Building off-page lets
        us clear those tooltips before any view exists (the prompt and cost are in the jobs table
        and behind "Details"). The title carries ``data-run-id`` / ``data-candidates`` for tests.
        """
        grid = CandidateGrid(self.workspace, project=self.project, run_id=run_id, read_only=True)
        for card in grid.cards.values():
            if isinstance(card.picture, widgets.Image):
                card.picture.tooltip = None
        previous, self.grid = self.grid, grid
        self.grid_title.value = (
            f'<div class="kk-dash"><div class="kk-section-title kk-grid-meta" data-run-id="{cards.esc(run_id)}" '
            f'data-candidates="{count}">Candidates ({count}) — "Details" shows everything about one</div></div>')
        self.grid_box.children = (grid.widget,)
        if previous is not None:
            close_tree(previous.widget)


def close_tree(widget: widgets.Widget) -> None:
    """Close a widget and everything inside it, so a replaced grid does not pile up in the kernel."""
    for child in getattr(widget, "children", ()):
        close_tree(child)
    widget.close()


def run_cards(run: dict[str, Any], figures: dict[str, Any]) -> str:
    """Status, jobs done, candidates, estimated and actual cost, duration (``data-card`` names are stable)."""
    done, total = figures["jobs-done"], figures["jobs-total"]
    return cards.cards([
        Card("status", "Status", str(run.get("status") or "—"), run.get("status")),
        Card("jobs", "Jobs done", f"{done}/{total}", done, note=f"of {total}"),
        Card("candidates", "Candidates", cards.number(figures["candidates"]), figures["candidates"],
             note=f"{figures['winners']} winner(s)"),
        Card("estimated-cost", "Estimated cost", cards.money(figures["estimated-cost-usd"]),
             figures["estimated-cost-usd"]),
        Card("actual-cost", "Actual cost", cards.money(figures["actual-cost-usd"]), figures["actual-cost-usd"]),
        Card("duration", "Duration", cards.duration(run.get("started_at"), run.get("finished_at")),
             note=f"started {cards.when(run.get('started_at'))}" if run.get("started_at") else "not started"),
    ], name="run-summary")


def run_meta(run: dict[str, Any]) -> str:
    """One line of facts about the run, and why it ended as it did when the pipeline said so."""
    parts = [
        f"{cards.status_badge(run.get('status'))}",
        f"<code>{cards.esc(run.get('run_id'))}</code>",
        f"mode <b>{cards.esc(run.get('mode') or '—')}</b>",
        f"stage <b>{cards.esc(run.get('stage') or '—')}</b>",
        f"time <b>{cards.esc(run.get('time_of_day') or '—')}</b>",
        f"weather <b>{cards.esc(run.get('weather') or '—')}</b>",
        f"provider <b>{cards.esc(run.get('provider_code') or '—')}</b> / <b>{cards.esc(run.get('model_name') or '—')}</b>",
        f"created {cards.esc(cards.when(run.get('created_at')))}",
        f"finished {cards.esc(cards.when(run.get('finished_at')))}",
    ]
    reason = run.get("status_reason")
    extra = f'<div class="kk-sub" data-field="status-reason">{cards.esc(reason)}</div>' if reason else ""
    return f'<div class="kk-sub" data-section="run-meta">{" · ".join(parts)}</div>{extra}'


def links_html(run: dict[str, Any], jobs) -> str:
    """Where the run log and the outputs are (analytics gives absolute paths)."""
    log_path = run.get("run_log_path")
    finals = [Path(path) for path in (jobs["final_path"] if jobs is not None and len(jobs) else [])
              if not cards.is_missing(path) and path]
    outputs = _common_folder(finals)
    if outputs is None and log_path:
        outputs = Path(log_path).parent.parent / "outputs"
    return (f'<div class="kk-sub">Run log: {cards.path_html(log_path, name="run-log")}</div>'
            f'<div class="kk-sub">Outputs: {cards.path_html(outputs, name="outputs")}</div>')


def _common_folder(paths: list[Path]) -> Path | None:
    """The folder holding all of ``paths`` (the run's outputs), or ``None`` for no paths."""
    if not paths:
        return None
    return Path(os.path.commonpath([str(path.parent) for path in paths]))


def jobs_table(jobs) -> str:
    """One row per job: status, winner and why, prompt, estimated and actual cost, final file."""
    if jobs is None or jobs.empty:
        return cards.note("This run has no jobs.", kind="no-jobs")
    rows, keys = [], []
    for job in jobs.itertuples(index=False):
        winner = "—" if cards.is_missing(job.selected_candidate_index) else f"c{int(job.selected_candidate_index)}"
        final = None if cards.is_missing(job.final_path) or not job.final_path else Path(job.final_path)
        rows.append([
            f"<b>{cards.esc(job.job_key)}</b>",
            cards.status_badge(job.status),
            f'<span data-field="winner">{cards.esc(winner)}</span>',
            cards.esc(job.winner_reason if not cards.is_missing(job.winner_reason) and job.winner_reason else "—"),
            f'<span title="{cards.esc(job.prompt_text)}">{cards.esc(cards.shorten(job.prompt_text, 80))}</span>',
            cards.value_cell(cards.money(job.estimated_cost_usd), job.estimated_cost_usd),
            cards.value_cell(cards.money(job.cost_usd), job.cost_usd),
            cards.path_html(final.name if final else None, name="final"),
        ])
        keys.append(str(job.job_key))
    return cards.table(JOB_COLUMNS, rows, name="jobs", row_keys=keys)


def candidates_table(frame) -> str:
    """Every candidate's verdict, rank, cost, latency, seed and provider in one folded table (the
    grid below shows the pictures; this is what a producer checks the bill and speed against)."""
    if frame is None or frame.empty:
        return cards.note("This run has no candidates (a dry run, or it stopped before any call).",
                          kind="no-candidates")
    rows, keys = [], []
    for row in frame.sort_values(["job_key", "candidate_index"]).itertuples(index=False):
        winner = bool(row.is_winner) if not cards.is_missing(row.is_winner) else False
        provider = " / ".join(str(v) for v in (row.provider_code, row.model_name) if not cards.is_missing(v) and v)
        rows.append([
            f"{cards.esc(row.job_key)} <b>c{int(row.candidate_index)}</b>"
            + (' <span class="kk-badge kk-badge-winner">winner</span>' if winner else ""),
            cards.verdict_badge(row.verdict),
            cards.value_cell("—" if cards.is_missing(row.chroma_delta) else f"{float(row.chroma_delta):.2f}",
                             row.chroma_delta),
            cards.esc("—" if cards.is_missing(row.rank_position) else int(row.rank_position)),
            cards.value_cell(cards.money(row.cost_usd), row.cost_usd),
            cards.value_cell("—" if cards.is_missing(row.latency_ms) else f"{int(row.latency_ms):,} ms", row.latency_ms),
            cards.esc("—" if cards.is_missing(row.seed) else int(row.seed)),
            cards.esc(provider or "—"),
        ])
        keys.append(f"{row.job_key}/{int(row.candidate_index)}")
    table = cards.table((Column("candidate", "Candidate"), Column("verdict", "QA"),
                         Column("chroma", "Chroma Δ", numeric=True), Column("rank", "Rank", numeric=True),
                         Column("cost", "Cost", numeric=True), Column("latency", "Latency", numeric=True),
                         Column("seed", "Seed", numeric=True), Column("provider", "Provider / model")),
                        rows, name="candidates", row_keys=keys)
    total_ms = frame["latency_ms"].dropna().sum() if "latency_ms" in frame else 0
    return (f'<details data-field="candidate-facts"><summary>Show all {len(frame)} candidates '
            f"(total {cards.money(frame['cost_usd'].fillna(0).sum())}, {int(total_ms) / 1000:.1f} s of provider time)"
            f"</summary>{table}</details>")


def snapshot_html(snapshot: Any) -> str:
    """The settings the run was made with, folded (it is long, and only some readers need it)."""
    if not snapshot:
        return cards.note("No settings snapshot was recorded for this run.", kind="no-snapshot")
    text = json.dumps(snapshot, indent=2, sort_keys=True, default=str)
    return (f'<details data-field="settings-snapshot"><summary>Show the settings this run used '
            f"({len(text.splitlines())} lines)</summary><pre class='kk-json'>{cards.esc(text)}</pre></details>")


def run_viewer_dashboard(ws: Workspace | None = None, *, project: str | None = None,
                         run_id: str | None = None) -> RunViewerView:
    """Build the run viewer (default: URL/env choice, else the first project's newest run)."""
    return RunViewerView(ws, project=project, run_id=run_id)
