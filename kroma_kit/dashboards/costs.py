"""Costs: where the money went, against what was planned and allowed.

For the chosen project: total spend, cost by provider, cost by day (stacked by provider),
budget vs actual where budgets are set, and estimated vs actual per run (the spend guard's
estimate is only useful if someone checks it against the bill). For the workspace: cost by
project. Figures come from ``cost_events`` via :mod:`kroma_kit.analytics`, i.e. the provider's
reported usage, not the estimate.
"""

from __future__ import annotations

from typing import Any

from kroma_kit.dashboards import cards
from kroma_kit.dashboards.base import DashboardView
from kroma_kit.dashboards.cards import Card, Column
from kroma_kit.figures import charts
from kroma_kit.figures.costs import day_pivot, day_series, provider_totals
from kroma_kit.workspace import Workspace

MAX_RUNS_CHARTED = 20


class CostsView(DashboardView):
    """Spend by provider, day and project; budgets; estimate vs actual per run."""

    title = "Costs"
    css_name = "costs"

    def render_body(self) -> str:
        from kroma_kit import analytics

        events = analytics.cost_by_provider_day(self.workspace, self.project)
        by_project = analytics.cost_by_project(self.workspace)
        budgets = analytics.budget_vs_actual(self.workspace, self.project)
        estimates = analytics.estimated_vs_actual(self.workspace, self.project)
        by_provider = provider_totals(events)
        project_row = by_project[by_project["project"].astype(str) == str(self.project)] if len(by_project) else by_project
        self.figures = {
            "cost-usd": float(events["cost_usd"].sum()) if len(events) else 0.0,
            "events": int(events["events"].sum()) if len(events) else 0,
            "runs": int(project_row["runs"].iloc[0]) if len(project_row) else 0,
            "estimated-usd": float(estimates["estimated_cost_usd"].fillna(0).sum()) if len(estimates) else 0.0,
            "actual-usd": float(estimates["actual_cost_usd"].fillna(0).sum()) if len(estimates) else 0.0,
            "by-provider": {str(r.provider_code): float(r.cost_usd) for r in by_provider.itertuples(index=False)},
            "by-project": {str(r.project): float(r.cost_usd) for r in by_project.itertuples(index=False)},
            "budgets": {str(r.scope): float(r.budget_usd) for r in budgets.itertuples(index=False)
                        if not cards.is_missing(r.budget_usd)},
        }
        return "".join([
            cost_cards(self.figures, budgets),
            cards.section("Cost by provider", provider_section(by_provider), name="by-provider"),
            cards.section("Cost by day", day_section(events), name="by-day"),
            cards.section("Budget vs actual", budget_section(budgets), name="budgets"),
            cards.section("Estimated vs actual per run", estimate_section(estimates), name="estimates"),
            cards.section("Cost by project (whole workspace)", project_section(by_project, self.project),
                          name="by-project"),
        ])


def cost_cards(figures: dict[str, Any], budgets) -> str:
    project_budget = _project_budget(budgets)
    remaining = None if project_budget is None else project_budget.remaining_usd
    return cards.cards([
        Card("cost-usd", "Spent (USD)", cards.money(figures["cost-usd"]), figures["cost-usd"],
             note=f"{figures['events']} cost event(s)"),
        Card("runs", "Runs", cards.number(figures["runs"]), figures["runs"]),
        Card("estimated-usd", "Estimated (all runs)", cards.money(figures["estimated-usd"]), figures["estimated-usd"]),
        Card("actual-usd", "Actual (all runs)", cards.money(figures["actual-usd"]), figures["actual-usd"]),
        Card("budget-remaining", "Budget left", cards.money(remaining) if remaining is not None else "no budget",
             remaining, note="" if project_budget is None else f"of {cards.money(project_budget.budget_usd)}"),
    ], name="cost-summary")


def _project_budget(budgets) -> Any:
    if budgets is None or budgets.empty:
        return None
    for row in budgets.itertuples(index=False):
        if "project" in str(row.scope) and not cards.is_missing(row.budget_usd):
            return row
    return None


def provider_section(by_provider) -> str:
    if by_provider is None or by_provider.empty:
        return cards.note("No cost events yet for this project (local providers are free).", kind="no-costs")
    chart = charts.bar_chart(by_provider["provider_code"].astype(str).tolist(), by_provider["cost_usd"].tolist(),
                             name="cost-by-provider", title="Cost by provider (USD)")
    rows = [[cards.esc(r.provider_code), cards.value_cell(cards.number(r.events), r.events),
             cards.value_cell(cards.money(r.cost_usd), r.cost_usd)] for r in by_provider.itertuples(index=False)]
    table = cards.table((Column("provider", "Provider"), Column("events", "Events", numeric=True),
                         Column("cost", "Cost", numeric=True)), rows, name="cost-by-provider",
                        row_keys=by_provider["provider_code"].astype(str).tolist())
    return cards.split(chart, table)


def day_section(events) -> str:
    if events is None or events.empty:
        return cards.note("No spending recorded on any day yet.", kind="no-costs")
    pivot = day_pivot(events)
    chart = charts.stacked_bars(pivot.index.tolist(), day_series(pivot), name="cost-by-day",
                                title="Cost per day by provider (USD)")
    totals = pivot.sum(axis=1)
    rows = [[cards.esc(day), cards.value_cell(cards.money(total), float(total))] for day, total in totals.items()]
    table = cards.table((Column("day", "Day (UTC)"), Column("cost", "Cost", numeric=True)), rows,
                        name="cost-by-day", row_keys=[str(day) for day in totals.index])
    return cards.split(chart, table)


def budget_section(budgets) -> str:
    if budgets is None or budgets.empty or budgets["budget_usd"].isna().all():
        return cards.note("No budgets are set for this project. Set <code>budgets.per_run_usd</code> or "
                          "<code>budgets.per_project_usd</code> in the project settings to track them here.",
                          kind="no-budgets")
    rows, keys = [], []
    for row in budgets.itertuples(index=False):
        if cards.is_missing(row.budget_usd):
            continue
        budget, actual = float(row.budget_usd), float(row.actual_usd or 0.0)
        share = min(1.0, actual / budget) if budget > 0 else 1.0
        over = actual > budget
        meter = (f'<span class="kk-meter{" kk-over" if over else ""}" title="{share:.0%} used">'
                 f'<span style="width:{share * 100:.1f}%"></span></span>')
        rows.append([cards.esc(row.scope), cards.value_cell(cards.money(budget), budget),
                     cards.value_cell(cards.money(actual), actual),
                     cards.value_cell(cards.money(row.remaining_usd), row.remaining_usd), meter])
        keys.append(str(row.scope))
    return cards.table((Column("scope", "Scope"), Column("budget", "Budget", numeric=True),
                        Column("actual", "Actual", numeric=True), Column("remaining", "Remaining", numeric=True),
                        Column("used", "Used")), rows, name="budgets", row_keys=keys)


def estimate_section(estimates) -> str:
    if estimates is None or estimates.empty:
        return cards.note("No runs yet for this project.", kind="no-runs")
    recent = estimates.tail(MAX_RUNS_CHARTED)  # analytics lists runs oldest first
    labels = [str(run_id)[:8] for run_id in recent["run_id"]]
    chart = charts.paired_bars(labels, recent["estimated_cost_usd"].fillna(0).tolist(),
                               recent["actual_cost_usd"].fillna(0).tolist(), names=("estimated", "actual"),
                               name="estimated-vs-actual", title="Estimated vs actual per run (USD)")
    rows, keys = [], []
    for row in estimates.itertuples(index=False):
        estimated, actual = float(row.estimated_cost_usd or 0.0), float(row.actual_cost_usd or 0.0)
        delta = actual - estimated
        rows.append([f'<code title="{cards.esc(row.run_id)}">{cards.esc(str(row.run_id)[:12])}</code>',
                     cards.esc(cards.when(row.created_at)),
                     cards.value_cell(cards.money(estimated), estimated), cards.value_cell(cards.money(actual), actual),
                     cards.value_cell(("+" if delta > 0 else "") + cards.money(delta) if delta else "—", delta)])
        keys.append(str(row.run_id))
    table = cards.table((Column("run", "Run"), Column("created", "Created"),
                         Column("estimated", "Estimated", numeric=True), Column("actual", "Actual", numeric=True),
                         Column("delta", "Actual − estimate", numeric=True)), rows, name="estimated-vs-actual",
                        row_keys=keys)
    return cards.split(chart, table)


def project_section(by_project, current: str | None) -> str:
    if by_project is None or by_project.empty:
        return cards.note("No projects have spent anything yet.", kind="no-costs")
    chart = charts.bar_chart(by_project["project"].astype(str).tolist(), by_project["cost_usd"].fillna(0).tolist(),
                             name="cost-by-project", title="Cost by project (USD)", color=charts.PALETTE[2])
    rows = []
    for row in by_project.itertuples(index=False):
        label = cards.esc(row.project)
        rows.append([f"<b>{label}</b>" if str(row.project) == str(current) else label,
                     cards.value_cell(cards.number(row.runs), row.runs),
                     cards.value_cell(cards.money(row.cost_usd), row.cost_usd)])
    table = cards.table((Column("project", "Project"), Column("runs", "Runs", numeric=True),
                         Column("cost", "Cost", numeric=True)), rows, name="cost-by-project",
                        row_keys=by_project["project"].astype(str).tolist())
    return cards.split(chart, table)


def costs_dashboard(ws: Workspace | None = None, *, project: str | None = None) -> CostsView:
    """Build the costs dashboard (default: URL/env choice, else the first project)."""
    return CostsView(ws, project=project)
