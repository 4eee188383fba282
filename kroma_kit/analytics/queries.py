"""The numbers behind the project cards, run tables, candidate grids and QA charts.

Each function opens its own short session (:mod:`kroma_kit.analytics.session`), so every panel
refresh sees the catalog as it is now and holds nothing between calls. Workspace-wide aggregates
run in DuckDB and are written against the tables, not the wide ``v_*`` views, so it reads only
the columns it needs; calls narrowed to one project or one run run the same portable SQL in
SQLite, whose indexes find those rows without scanning (``_engine_for``). Both give identical
frames; the benchmark also runs the workspace-wide SQL unchanged in SQLite.

Conventions: timestamps are the catalog's ISO-8601 UTC text (``pd.to_datetime`` converts them);
money is USD floats; a rate with nothing to divide by is NaN in a DataFrame and None in a dict;
a project with no runs gives zeros and empty frames, never an error; an unknown slug or run id
raises :class:`~kroma_kit.errors.NotFoundError`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from kroma_kit.analytics.session import open_session
from kroma_kit.analytics.views import OVERRIDDEN_SQL, VERDICT_SQL, WINNER_REASON_SQL

if TYPE_CHECKING:
    import pandas as pd

    from kroma_kit.workspace import Workspace

RUN_STATUSES = ("planned", "running", "done", "failed", "partial", "interrupted")
STAGE_ORDER_SQL = ("CASE r.stage WHEN 'style' THEN 1 WHEN 'time' THEN 2 WHEN 'weather' THEN 3 "
                   "WHEN 'characters' THEN 4 ELSE 5 END")

# One row per candidate that QA has judged: (project_id, run_id, stage, verdict).
_VERDICTS = f"""
SELECT r.project_id, j.run_id, r.stage, {VERDICT_SQL} AS verdict
FROM run_candidates c JOIN run_jobs j ON j.id = c.job_id JOIN runs r ON r.id = j.run_id"""

_COUNTS = """COUNT(*) AS checked,
       COUNT(CASE WHEN verdict = 'pass' THEN 1 END) AS passed,
       COUNT(CASE WHEN verdict = 'warn' THEN 1 END) AS warned,
       COUNT(CASE WHEN verdict = 'fail' THEN 1 END) AS failed"""

# {scope} filters every table by project ("1 = 1" for all of them), so one project's summary reads
# only that project's rows through the catalog's project_id indexes.
OVERVIEW_SQL = f"""
WITH run_counts AS (
    SELECT project_id, COUNT(*) AS total_runs, MAX(created_at) AS last_run_at FROM runs WHERE {{scope}}
    GROUP BY project_id),
asset_counts AS (SELECT project_id, COUNT(*) AS assets FROM assets WHERE {{scope}} GROUP BY project_id),
costs AS (SELECT project_id, SUM(cost_usd) AS cost_usd FROM cost_events WHERE {{scope}} GROUP BY project_id),
qa AS (
    SELECT project_id, COUNT(*) AS checked,
           COUNT(CASE WHEN verdict IN ('pass', 'warn') THEN 1 END) AS usable
    FROM ({_VERDICTS} WHERE {{scope}}) v WHERE verdict IS NOT NULL GROUP BY project_id)
SELECT p.slug, p.name, COALESCE(rc.total_runs, 0) AS total_runs, COALESCE(ac.assets, 0) AS assets,
       COALESCE(co.cost_usd, 0.0) AS cost_usd,
       CASE WHEN COALESCE(qa.checked, 0) = 0 THEN NULL ELSE 1.0 * qa.usable / qa.checked END AS qa_pass_rate,
       rc.last_run_at
FROM projects p
LEFT JOIN run_counts rc ON rc.project_id = p.id
LEFT JOIN asset_counts ac ON ac.project_id = p.id
LEFT JOIN costs co ON co.project_id = p.id
LEFT JOIN qa ON qa.project_id = p.id
WHERE {{where}}
ORDER BY p.slug"""

QA_BY_STAGE_SQL = f"""
SELECT stage, {_COUNTS},
       1.0 * COUNT(CASE WHEN verdict IN ('pass', 'warn') THEN 1 END) / COUNT(*) AS pass_rate
FROM ({_VERDICTS} WHERE {{where}}) v
WHERE verdict IS NOT NULL
GROUP BY stage
ORDER BY CASE stage WHEN 'style' THEN 1 WHEN 'time' THEN 2 WHEN 'weather' THEN 3
         WHEN 'characters' THEN 4 ELSE 5 END, stage"""

QA_BY_RUN_SQL = f"""
WITH q AS (
    SELECT run_id, {_COUNTS}
    FROM ({_VERDICTS} WHERE r.project_id = ?) v WHERE verdict IS NOT NULL GROUP BY run_id)
SELECT r.id AS run_id, r.stage, r.created_at, COALESCE(q.checked, 0) AS checked,
       COALESCE(q.passed, 0) AS passed, COALESCE(q.warned, 0) AS warned, COALESCE(q.failed, 0) AS failed,
       CASE WHEN COALESCE(q.checked, 0) = 0 THEN NULL ELSE 1.0 * (q.passed + q.warned) / q.checked END AS pass_rate
FROM runs r LEFT JOIN q ON q.run_id = r.id
WHERE r.project_id = ? AND r.run_mode = 'run'
ORDER BY r.created_at, r.id"""

RUNS_SQL = """
SELECT r.id AS run_id, r.created_at, r.started_at, r.finished_at, r.run_mode AS mode, r.status, r.stage,
       r.time_of_day, r.weather, r.provider_code, r.model_name, r.jobs_total, r.jobs_done,
       r.estimated_cost_usd, r.actual_cost_usd, r.run_log_path, r.status_reason
FROM runs r WHERE r.project_id = ?
ORDER BY r.created_at DESC, r.id"""

RUN_JOBS_SQL = f"""
WITH job_costs AS (
    SELECT job_id, SUM(cost_usd) AS cost_usd, COUNT(*) AS candidates FROM run_candidates
    WHERE job_id IN (SELECT id FROM run_jobs WHERE run_id = ?) GROUP BY job_id)
SELECT j.job_key, j.status, j.selected_candidate_index, fa.storage_uri AS final_path,
       {WINNER_REASON_SQL} AS winner_reason, j.prompt_text, j.estimated_cost_usd,
       COALESCE(jc.cost_usd, 0.0) AS cost_usd, COALESCE(jc.candidates, 0) AS candidates,
       {OVERRIDDEN_SQL} AS overridden, j.id AS job_id
FROM run_jobs j
LEFT JOIN job_costs jc ON jc.job_id = j.id
LEFT JOIN assets fa ON fa.id = j.final_asset_id
WHERE j.run_id = ?
ORDER BY j.created_at, j.job_key"""

CANDIDATE_COLUMNS = (
    "run_id", "stage", "job_key", "candidate_index", "status", "verdict", "chroma_delta", "hard_failures",
    "soft_warnings", "avg_chroma_exceed", "rank_position", "is_winner", "cost_usd", "latency_ms", "seed",
    "output_path", "final_path", "sha256", "prompt_text", "provider_code", "model_name", "created_at",
    "project", "mode", "candidate_id", "job_id", "continuity_verdict", "continuity_reasons", "cached_from_run")

CANDIDATE_STATS_SQL = f"""
SELECT r.stage, c.status, COUNT(*) AS candidates,
       COUNT(CASE WHEN c.candidate_index = j.selected_candidate_index THEN 1 END) AS winners,
       AVG(c.chroma_delta) AS avg_chroma_delta, AVG(c.latency_ms) AS avg_latency_ms,
       SUM(c.cost_usd) AS cost_usd
FROM run_candidates c JOIN run_jobs j ON j.id = c.job_id JOIN runs r ON r.id = j.run_id
WHERE {{where}}
GROUP BY r.stage, c.status
ORDER BY {STAGE_ORDER_SQL}, r.stage, c.status"""

WINNERS_SQL = """
SELECT run_id, job_key, selected_candidate_index, winner_reason, overridden, project, status
FROM v_jobs WHERE {where}
ORDER BY created_at, run_id, job_key"""


# --------------------------------------------------------------------------- projects

def project_overview(ws: Workspace) -> pd.DataFrame:
    """One row per active project: slug, name, total_runs, assets, cost_usd, qa_pass_rate
    (share of QA-checked candidates that passed or only warned; NaN with none), last_run_at."""
    with open_session(ws) as session:
        return session.query(OVERVIEW_SQL.format(scope="1 = 1", where="p.status = 'active'"))


def project_summary(ws: Workspace, slug: str) -> dict[str, Any]:
    """The four cards of one project plus ``runs_by_status`` (every run status, 0 when absent)."""
    project = _project(ws, slug)
    with open_session(ws) as session:
        frame = session.query(OVERVIEW_SQL.format(scope="project_id = ?", where="p.id = ?"), [project["id"]] * 5,
                              engine="sqlite")
        statuses = session.query("SELECT status, COUNT(*) AS runs FROM runs WHERE project_id = ? GROUP BY status",
                                 [project["id"]], engine="sqlite")
    row = _plain(frame.iloc[0].to_dict())
    by_status = dict.fromkeys(RUN_STATUSES, 0)
    by_status.update({str(status): int(count) for status, count in zip(statuses["status"], statuses["runs"],
                                                                        strict=True)})
    return {"project": project["slug"], "name": project["name"], "total_runs": int(row["total_runs"]),
            "assets": int(row["assets"]), "cost_usd": float(row["cost_usd"]), "qa_pass_rate": row["qa_pass_rate"],
            "last_run_at": row["last_run_at"], "runs_by_status": by_status}


# --------------------------------------------------------------------------- runs

def runs_table(ws: Workspace, slug: str, limit: int | None = None) -> pd.DataFrame:
    """The project's runs, newest first; ``run_log_path`` is absolute."""
    project = _project(ws, slug)
    sql = RUNS_SQL + (" LIMIT ?" if limit is not None else "")
    params: list[Any] = [project["id"]] + ([int(limit)] if limit is not None else [])
    with open_session(ws) as session:
        frame = session.query(sql, params, engine="sqlite")
    root = Path(project["root"])
    frame["run_log_path"] = [_absolute(root, path) for path in frame["run_log_path"]]
    return frame


def run_detail(ws: Workspace, run_id: str) -> dict[str, Any]:
    """``{"run": {...}, "settings_snapshot": {...}, "jobs": DataFrame}`` for one run (a unique id
    prefix of 6+ characters works too, as in the CLI)."""
    full_id = _resolve_run(ws, run_id)
    with open_session(ws) as session:
        run = session.query("SELECT * FROM v_runs WHERE run_id = ?", [full_id], engine="sqlite")
        jobs = session.query(RUN_JOBS_SQL, [full_id, full_id], engine="sqlite")
    record = _plain(run.iloc[0].to_dict())
    snapshot = json.loads(record.pop("settings_snapshot_json") or "{}")
    from kroma_kit.catalog.projects import get_project

    record["run_log_path"] = _absolute(Path(get_project(ws, record["project"])["root"]), record["run_log_path"])
    return {"run": record, "settings_snapshot": snapshot, "jobs": jobs}


def candidates(ws: Workspace, run_id: str | None = None, slug: str | None = None) -> pd.DataFrame:
    """Every candidate (of one run, one project, or the workspace) with its QA verdict, rank
    metrics, winner flag, cost and absolute paths (``final_path`` falls back to the raw output
    when the candidate has no final file, e.g. one archived by the guard)."""
    where, params = ["1 = 1"], []
    if run_id is not None:
        where.append("c.run_id = ?")
        params.append(_resolve_run(ws, run_id))
    if slug is not None:
        where.append("c.project_id = ?")
        params.append(_project(ws, slug)["id"])
    sql = (f"SELECT {', '.join('c.' + name for name in CANDIDATE_COLUMNS)} "
           f"FROM v_candidates c JOIN runs r ON r.id = c.run_id WHERE {' AND '.join(where)} "
           "ORDER BY r.created_at DESC, c.run_id, c.job_key, c.candidate_index")
    with open_session(ws) as session:
        return session.query(sql, params, engine=_engine_for(params))


def winner_reasons(ws: Workspace, run_id: str | None = None, slug: str | None = None) -> pd.DataFrame:
    """Why each job's winner won (the ranking's words, or the artist's override note), for the
    jobs of one run, or of every real (non-dry) run of a project or the workspace."""
    where, params = ["1 = 1"], []
    if run_id is not None:
        where.append("run_id = ?")
        params.append(_resolve_run(ws, run_id))
    else:
        where.append("mode = 'run'")
    if slug is not None:
        where.append("project_id = ?")
        params.append(_project(ws, slug)["id"])
    with open_session(ws) as session:
        return session.query(WINNERS_SQL.format(where=" AND ".join(where)), params, engine=_engine_for(params))


# --------------------------------------------------------------------------- QA

def qa_pass_rate_by_stage(ws: Workspace, slug: str | None = None) -> pd.DataFrame:
    """Per stage: checked, passed, warned, failed and pass_rate = (passed + warned) / checked (a
    warning is advisory, as in the seed). ``slug=None`` covers every project."""
    where, params = _project_filter(ws, slug)
    with open_session(ws) as session:
        return session.query(QA_BY_STAGE_SQL.format(where=where), params, engine=_engine_for(params))


def candidate_stats(ws: Workspace, slug: str | None = None) -> pd.DataFrame:
    """The candidate funnel per stage and status: candidates, winners, mean chroma_delta and
    latency, cost_usd (every project when ``slug`` is None)."""
    where, params = _project_filter(ws, slug)
    with open_session(ws) as session:
        return session.query(CANDIDATE_STATS_SQL.format(where=where), params, engine=_engine_for(params))


def qa_by_run(ws: Workspace, slug: str) -> pd.DataFrame:
    """The same counts per real run, oldest first (a run with nothing checked has pass_rate NaN)."""
    project = _project(ws, slug)
    with open_session(ws) as session:
        return session.query(QA_BY_RUN_SQL, [project["id"], project["id"]], engine="sqlite")


# --------------------------------------------------------------------------- ad hoc

def sql(ws: Workspace, query: str, params: list[Any] | None = None) -> pd.DataFrame:
    """Run your own SELECT over the views (``v_runs``, ``v_jobs``, ``v_candidates``, ``v_costs``,
    ``v_assets``, ``v_projects``), the catalog tables under their own names, and ``run_logs``
    (one row per run log file, the document in ``log``). The catalog is attached read-only."""
    with open_session(ws) as session:
        return session.query(query, params)


# --------------------------------------------------------------------------- helpers

def _project(ws: Workspace, slug: str) -> dict[str, Any]:
    from kroma_kit.catalog.projects import get_project

    return get_project(ws, slug)


def _engine_for(params: list[Any]) -> Literal["duckdb", "sqlite"]:
    """A query narrowed to one run or project reads few rows: SQLite's indexes find them faster
    than DuckDB can scan the tables (see :mod:`kroma_kit.analytics.session`). Whole-workspace
    aggregates go to DuckDB."""
    return "sqlite" if params else "duckdb"


def _project_filter(ws: Workspace, slug: str | None) -> tuple[str, list[Any]]:
    """``r.project_id = ?`` for one project, or no filter (over runs ``r``)."""
    if slug is None:
        return "1 = 1", []
    return "r.project_id = ?", [_project(ws, slug)["id"]]


def _resolve_run(ws: Workspace, run_id: str) -> str:
    from kroma_kit.catalog.db import connect
    from kroma_kit.catalog.runs import resolve_run_id

    conn = connect(ws.catalog_path, read_only=True)
    try:
        return resolve_run_id(conn, run_id)
    finally:
        conn.close()


def _absolute(root: Path, path: Any) -> str | None:
    if path is None or (isinstance(path, float) and math.isnan(path)):
        return None
    candidate = Path(str(path))
    return (candidate if candidate.is_absolute() else root / candidate).as_posix()


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """numpy scalars -> Python, NaN/NaT -> None (dicts go to JSON and widgets)."""
    out = {}
    for key, value in row.items():
        if hasattr(value, "item") and not isinstance(value, str | bytes):
            value = value.item()
        if isinstance(value, float) and math.isnan(value):
            value = None
        out[key] = value
    return out


def records(frame: pd.DataFrame | None, *, json_ready: bool = False) -> list[dict[str, Any]]:
    """A frame's rows as dicts with NaN/NaT turned into None: what panels, dashboards and
    pictures iterate over (analytics returns pandas). ``json_ready`` also turns numpy scalars
    into Python numbers and times into ISO text (what the CLI prints as JSON)."""
    import pandas as pd

    if frame is None or len(frame) == 0:
        return []
    if json_ready:
        import json

        return json.loads(frame.to_json(orient="records", date_format="iso", default_handler=str))
    clean = frame.astype(object).where(pd.notna(frame), None)
    return clean.to_dict(orient="records")
