"""Money: what was spent, where, when, against which budget, and how good the estimates were.

Actual spend is always the sum of ``cost_events`` (ARCHITECTURE decision 7: actual cost comes
from the provider's usage and is stored as cost events), so every chart and card adds up to the
same total. Cost views keep archived projects (money spent stays spent); only deleted projects
are left out.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kroma_kit.analytics.queries import _engine_for, _plain, _project
from kroma_kit.analytics.session import open_session

if TYPE_CHECKING:
    import pandas as pd

    from kroma_kit.workspace import Workspace

log = logging.getLogger(__name__)

COST_BY_PROVIDER_DAY_SQL = """
SELECT substr(e.created_at, 1, 10) AS day, p.slug AS project, e.provider_code,
       COUNT(*) AS events, SUM(e.cost_usd) AS cost_usd
FROM cost_events e JOIN projects p ON p.id = e.project_id
WHERE p.status != 'deleted' AND {where}
GROUP BY substr(e.created_at, 1, 10), p.slug, e.provider_code
ORDER BY day, project, provider_code"""

COST_BY_PROJECT_SQL = """
WITH spent AS (SELECT project_id, SUM(cost_usd) AS cost_usd FROM cost_events GROUP BY project_id),
run_counts AS (SELECT project_id, COUNT(*) AS runs FROM runs GROUP BY project_id)
SELECT p.slug AS project, COALESCE(s.cost_usd, 0.0) AS cost_usd, COALESCE(rc.runs, 0) AS runs, p.status
FROM projects p
LEFT JOIN spent s ON s.project_id = p.id
LEFT JOIN run_counts rc ON rc.project_id = p.id
WHERE p.status != 'deleted'
ORDER BY cost_usd DESC, project"""

RUN_COSTS_SQL = """
WITH spent AS (SELECT run_id, SUM(cost_usd) AS cost_usd FROM cost_events WHERE project_id = ? GROUP BY run_id)
SELECT r.id AS run_id, r.created_at, r.estimated_cost_usd, COALESCE(s.cost_usd, 0.0) AS actual_cost_usd,
       r.stage, r.status, r.provider_code,
       r.settings_snapshot_json ->> '$.budgets.per_run_usd' AS run_budget,
       r.settings_snapshot_json ->> '$.settings.budgets.per_run_usd' AS settings_run_budget
FROM runs r LEFT JOIN spent s ON s.run_id = r.id
WHERE r.project_id = ? AND r.run_mode = 'run'
ORDER BY r.created_at, r.id"""

PROJECT_SPENT_SQL = "SELECT COALESCE(SUM(cost_usd), 0.0) AS spent FROM cost_events WHERE project_id = ?"


def cost_by_provider_day(ws: Workspace, slug: str | None = None) -> pd.DataFrame:
    """Spend per UTC day, project and provider: day ('YYYY-MM-DD'), project, provider_code,
    events, cost_usd."""
    where, params = "1 = 1", []
    if slug is not None:
        where, params = "p.id = ?", [_project(ws, slug)["id"]]
    with open_session(ws) as session:
        return session.query(COST_BY_PROVIDER_DAY_SQL.format(where=where), params, engine=_engine_for(params))


def cost_by_project(ws: Workspace) -> pd.DataFrame:
    """Spend and run count per project (archived ones included), biggest spender first."""
    with open_session(ws) as session:
        return session.query(COST_BY_PROJECT_SQL)


def estimated_vs_actual(ws: Workspace, slug: str) -> pd.DataFrame:
    """Per real run (dry runs spend nothing): run_id, created_at, estimated_cost_usd,
    actual_cost_usd, plus stage, status and provider_code."""
    project = _project(ws, slug)
    with open_session(ws) as session:
        frame = session.query(RUN_COSTS_SQL, [project["id"], project["id"]], engine="sqlite")
    return frame.drop(columns=["run_budget", "settings_run_budget"])


def budget_vs_actual(ws: Workspace, slug: str) -> pd.DataFrame:
    """The project's budget and each real run's budget against what was spent.

    scope is "project" (budget from the project's resolved settings now) or a run id (the
    per-run budget in force when that run started, from its settings snapshot); budget_usd and
    remaining_usd are NaN where no budget is set.
    """
    import pandas as pd

    project = _project(ws, slug)
    with open_session(ws) as session:
        spent = float(session.query(PROJECT_SPENT_SQL, [project["id"]], engine="sqlite")["spent"].iloc[0])
        runs = session.query(RUN_COSTS_SQL, [project["id"], project["id"]], engine="sqlite")
    rows: list[dict[str, Any]] = [{"scope": "project", "budget_usd": _project_budget(project),
                                   "actual_usd": spent, "created_at": None}]
    for run in runs.to_dict("records"):
        run = _plain(run)
        budget = run["run_budget"] if run["run_budget"] is not None else run["settings_run_budget"]
        rows.append({"scope": run["run_id"], "budget_usd": float(budget) if budget is not None else None,
                     "actual_usd": float(run["actual_cost_usd"]), "created_at": run["created_at"]})
    frame = pd.DataFrame(rows, columns=["scope", "budget_usd", "actual_usd", "created_at"])
    frame["budget_usd"] = frame["budget_usd"].astype("float64")
    frame["remaining_usd"] = frame["budget_usd"] - frame["actual_usd"]
    return frame[["scope", "budget_usd", "actual_usd", "remaining_usd", "created_at"]]


def _project_budget(project: dict[str, Any]) -> float | None:
    from kroma_kit.config import resolve_project_settings
    from kroma_kit.errors import ConfigError

    try:
        settings = resolve_project_settings(Path(project["root"]))
    except ConfigError as exc:
        log.warning("budget_vs_actual: project '%s' settings are invalid (%s); no project budget shown",
                    project["slug"], exc)
        return None
    return settings.settings.budgets.per_project_usd
