"""Project overview: the producer's first page (seed 003 §10 Phase 2 "Project Dashboard").

For the chosen project: the cards Total runs, Assets, Cost (USD), QA pass rate and Last run;
a recent-runs table (stage, jobs done/total, status badge); and the list of every project with
its own totals, so a producer sees the whole slate at a glance.
"""

from __future__ import annotations

from typing import Any

from kroma_kit.dashboards import cards
from kroma_kit.dashboards.base import DashboardView
from kroma_kit.dashboards.cards import Card, Column
from kroma_kit.workspace import Workspace

RECENT_RUNS = 15
RECENT_AUDIT = 10
AUDIT_COLUMNS = (Column("when", "When"), Column("event", "Event"), Column("actor", "Actor"),
                 Column("details", "Details"))

RUN_COLUMNS = (
    Column("run-id", "Run"), Column("stage", "Stage"), Column("jobs", "Jobs", numeric=True),
    Column("status", "Status"), Column("provider", "Provider / model"), Column("started", "Created"),
    Column("cost", "Cost", numeric=True),
)
PROJECT_COLUMNS = (
    Column("project", "Project"), Column("runs", "Runs", numeric=True), Column("assets", "Assets", numeric=True),
    Column("cost", "Cost", numeric=True), Column("qa", "QA pass rate", numeric=True), Column("last-run", "Last run"),
)


class ProjectOverviewView(DashboardView):
    """Cards and recent runs for one project, plus the project list."""

    title = "Project overview"
    css_name = "overview"

    def render_body(self) -> str:
        from kroma_kit import analytics

        summary = analytics.project_summary(self.workspace, self.project)
        runs = analytics.runs_table(self.workspace, self.project, limit=RECENT_RUNS)
        projects = analytics.project_overview(self.workspace)
        self.figures = {
            "total-runs": int(summary.get("total_runs") or 0),
            "assets": int(summary.get("assets") or 0),
            "cost-usd": float(summary.get("cost_usd") or 0.0),
            "qa-pass-rate": None if cards.is_missing(summary.get("qa_pass_rate")) else float(summary["qa_pass_rate"]),
            "last-run-at": cards.iso_utc(summary.get("last_run_at")) or None,
            "runs-by-status": dict(summary.get("runs_by_status") or {}),
            "recent-runs": [str(run_id) for run_id in runs["run_id"]],
            "projects": [str(slug) for slug in projects["slug"]],
        }
        parts = [summary_cards(self.figures), status_line(self.figures["runs-by-status"])]
        if runs.empty:
            self.message = (f"No runs yet for project <b>{cards.esc(self.project)}</b>. Start one from the "
                            f"workbench or with <code>kroma run --project {cards.esc(self.project)}</code>.")
            parts.append(cards.section("Recent runs", cards.note(self.message, kind="no-runs"), name="recent-runs"))
        else:
            parts.append(cards.section(f"Recent runs (newest {len(runs)})", recent_runs_table(runs),
                                       name="recent-runs"))
        parts.append(cards.section("All projects", projects_table(projects, current=self.project), name="projects"))
        parts.append(audit_section(self.workspace, self.project, self.figures))
        return "".join(parts)


def audit_section(ws: Workspace, project: str, figures: dict[str, Any]) -> str:
    """The newest audit events (secrets, sync, exports, overrides, archive moves): who did what."""
    from kroma_kit.security.audit_view import audit_rows

    events = audit_rows(ws, project, limit=RECENT_AUDIT)
    figures["audit-events"] = [event["id"] for event in events]
    rows = [[cards.esc(cards.when(e["created_at"])), f"<code>{cards.esc(e['event_code'])}</code>",
             cards.esc(e["actor"]), cards.esc(e["summary"])] for e in events]
    return cards.section(f"Audit trail (newest {len(events)})",
                         cards.table(AUDIT_COLUMNS, rows, name="audit", row_keys=figures["audit-events"]),
                         name="audit")


def summary_cards(figures: dict[str, Any]) -> str:
    last = figures["last-run-at"]
    return cards.cards([
        Card("total-runs", "Total runs", cards.number(figures["total-runs"]), figures["total-runs"]),
        Card("assets", "Assets", cards.number(figures["assets"]), figures["assets"]),
        Card("cost-usd", "Cost (USD)", cards.money(figures["cost-usd"]), figures["cost-usd"]),
        Card("qa-pass-rate", "QA pass rate", cards.percent(figures["qa-pass-rate"]), figures["qa-pass-rate"],
             note="" if figures["qa-pass-rate"] is not None else "nothing checked yet"),
        Card("last-run", "Last run", cards.ago(cards.to_datetime(last)) if last else "never", last,
             note=cards.when(last).split(" (")[0] if last else ""),
    ], name="project-summary")


def status_line(by_status: dict[str, int]) -> str:
    """"done 2 · failed 1": only the statuses that occur (analytics lists every status, zeros too)."""
    present = [(status, int(count)) for status, count in by_status.items() if count]
    if not present:
        return ""
    badges = " ".join(f'<span data-status-count="{cards.esc(status)}" data-value="{count}">'
                      f"{cards.status_badge(status)} {count}</span>" for status, count in present)
    return f'<div class="kk-sub" data-section="runs-by-status">Runs by status: {badges}</div>'


def recent_runs_table(runs) -> str:
    rows, keys = [], []
    for run in runs.itertuples(index=False):
        provider = " / ".join(str(v) for v in (run.provider_code, run.model_name) if not cards.is_missing(v) and v)
        done, total = int(run.jobs_done or 0), int(run.jobs_total or 0)
        rows.append([
            f'<code title="{cards.esc(run.run_id)}">{cards.esc(cards.shorten(run.run_id, 40))}</code>',
            cards.esc(run.stage or "—"),
            f'<span data-jobs-done="{done}" data-jobs-total="{total}">{done}/{total}</span>',
            cards.status_badge(run.status),
            cards.esc(provider or "—"),
            cards.esc(cards.when(run.created_at)),
            cards.value_cell(cards.money(run.actual_cost_usd), run.actual_cost_usd),
        ])
        keys.append(str(run.run_id))
    return cards.table(RUN_COLUMNS, rows, name="recent-runs", row_keys=keys)


def projects_table(projects, *, current: str | None) -> str:
    rows, keys = [], []
    for item in projects.itertuples(index=False):
        label = cards.esc(item.name or item.slug)
        if item.slug == current:
            label = f"<b>{label}</b>"
        rows.append([
            f'{label} <span class="kk-muted">{cards.esc(item.slug)}</span>',
            cards.value_cell(cards.number(item.total_runs), item.total_runs),
            cards.value_cell(cards.number(item.assets), item.assets),
            cards.value_cell(cards.money(item.cost_usd), item.cost_usd),
            cards.value_cell(cards.percent(item.qa_pass_rate), item.qa_pass_rate),
            cards.esc(cards.when(item.last_run_at) if not cards.is_missing(item.last_run_at) else "never"),
        ])
        keys.append(str(item.slug))
    return cards.table(PROJECT_COLUMNS, rows, name="projects", row_keys=keys)


def project_overview_dashboard(ws: Workspace | None = None, *, project: str | None = None) -> ProjectOverviewView:
    """Build the project overview for ``project`` (default: URL/env choice, else the first project)."""
    return ProjectOverviewView(ws, project=project)
