"""Analytics: DuckDB queries over the SQLite catalog and the run logs, returned as pandas.

Every function takes the workspace first and opens its own short-lived DuckDB session that
attaches the catalog read-only (see :mod:`kroma_kit.analytics.session` for why and how), so
panels, dashboards and the CLI can call them from any process while runs are being written.

    from kroma_kit import analytics
    analytics.project_overview(ws)              # one row per active project
    analytics.project_summary(ws, "demo")       # the four cards + runs_by_status
    analytics.candidates(ws, run_id=run_id)     # the candidate grid, with QA verdicts
    analytics.sql(ws, "SELECT stage, count(*) FROM v_candidates GROUP BY stage")

Importing this package is cheap: DuckDB and pandas load on the first query.
"""

from kroma_kit.analytics.costs import (
    budget_vs_actual,
    cost_by_project,
    cost_by_provider_day,
    estimated_vs_actual,
)
from kroma_kit.analytics.engine import reset_engine, uses_sqlite_scanner
from kroma_kit.analytics.queries import (
    candidate_stats,
    candidates,
    project_overview,
    project_summary,
    qa_by_run,
    qa_pass_rate_by_stage,
    records,
    run_detail,
    runs_table,
    sql,
    winner_reasons,
)
from kroma_kit.analytics.session import AnalyticsError, AnalyticsSession, open_session

__all__ = [
    "AnalyticsError", "AnalyticsSession", "budget_vs_actual", "candidate_stats", "candidates", "cost_by_project",
    "cost_by_provider_day", "estimated_vs_actual", "open_session", "project_overview", "project_summary",
    "qa_by_run", "qa_pass_rate_by_stage", "records", "reset_engine", "run_detail", "runs_table", "sql",
    "uses_sqlite_scanner", "winner_reasons",
]
