"""The documented analytics views, as portable SELECTs over the catalog's tables.

In every session the catalog tables answer to their own names (``runs``, ``run_jobs``, ...) and
these views sit on top, so the same SQL runs in DuckDB and in SQLite (sessions send selective
queries to SQLite; the benchmark runs the very same text in both). Only SQL that SQLite >= 3.38
and DuckDB both accept is used (``->>`` with a ``$.path``, ``CASE``, ``COALESCE``); a PostgreSQL
catalog would need its own spelling of the JSON paths, nothing else.

Views (one row each):

- ``v_projects``: project (slug), name, status, created_at.
- ``v_runs``: run (mode, status, stage, time/weather, provider, model, costs, jobs, timestamps).
- ``v_jobs``: job with its winner (selected_candidate_index, final_path), winner_reason, overridden.
- ``v_candidates``: candidate with its QA verdict, rank metrics, is_winner, paths and sha256, and
  the continuity gate's verdict and reasons (JSON list) when it was scored.
- ``v_costs``: cost event with its project slug and ``day``.
- ``v_assets``: asset with its project slug and absolute ``path``.
- ``run_logs`` (DuckDB only): one row per run log file of every project: project, run_id, path,
  a few top-level fields and ``log``, the whole document as JSON.

A session defines a view only when a query names it (binding one costs ~2 ms).
"""

from __future__ import annotations

from kroma_kit.storage.runlog_model import CandidateRecord, JobRecord, RunLogModel, runlog_path

# JSON paths into the run log's documents (a job's and a candidate's ``meta_json`` are their
# run-log entries; ``run_logs.log`` is the whole log), derived from the typed model: a renamed
# field fails at import instead of reading NULL.
JOB_WINNER_REASON = runlog_path(JobRecord, "winner_reason")
JOB_REVIEWED_AT = runlog_path(JobRecord, "winner_override", "reviewed_at")
CANDIDATE_CONTINUITY_VERDICT = runlog_path(CandidateRecord, "continuity", "verdict")
CANDIDATE_CONTINUITY_REASONS = runlog_path(CandidateRecord, "continuity", "reasons")
CANDIDATE_CACHED_FROM_RUN = runlog_path(CandidateRecord, "cached_from", "run_id")
LOG_GUARD_MAX_CHROMA = runlog_path(RunLogModel, "output_guard", "max_chroma_delta")
LOG_FIELDS = {name: runlog_path(RunLogModel, name)
              for name in ("run_id", "mode", "status", "stage", "started_at", "finished_at", "actual_cost_usd")}

# QA verdict of a candidate (the agreed rule): fail = a hard failure or a failed status; warn = soft
# warnings only; pass = neither. Candidates not checked yet (planned, generated) have no verdict.
VERDICT_SQL = """CASE
    WHEN c.status IN ('planned', 'generated') THEN NULL
    WHEN c.status IN ('failed', 'failed_output_guard') OR c.rank_hard_failures > 0 THEN 'fail'
    WHEN c.rank_soft_warnings > 0 THEN 'warn'
    ELSE 'pass' END"""

WINNER_REASON_SQL = f"j.meta_json ->> '{JOB_WINNER_REASON}'"
OVERRIDDEN_SQL = f"(j.meta_json ->> '{JOB_REVIEWED_AT}') IS NOT NULL"

VIEW_SQL: dict[str, str] = {
    "v_projects": """
SELECT p.id AS project_id, p.slug AS project, p.name, p.description, p.status, p.created_at, p.updated_at
FROM projects p""",
    "v_runs": """
SELECT r.id AS run_id, r.project_id, p.slug AS project, r.run_mode AS mode, r.status, r.status_reason,
       r.stage, r.time_of_day, r.weather, r.provider_code, r.model_name, r.jobs_total, r.jobs_done,
       r.estimated_cost_usd, r.actual_cost_usd, r.run_log_path, r.pid, r.host,
       r.started_at, r.finished_at, r.created_at, r.settings_snapshot_json
FROM runs r JOIN projects p ON p.id = r.project_id""",
    "v_jobs": f"""
SELECT j.id AS job_id, j.run_id, r.project_id, p.slug AS project, r.run_mode AS mode, r.stage,
       j.job_key, j.status, j.selected_candidate_index, j.final_asset_id, fa.storage_uri AS final_path,
       fa.sha256 AS final_sha256, {WINNER_REASON_SQL} AS winner_reason, {OVERRIDDEN_SQL} AS overridden,
       j.prompt_text, j.estimated_cost_usd, j.meta_json, j.created_at
FROM run_jobs j
JOIN runs r ON r.id = j.run_id
JOIN projects p ON p.id = r.project_id
LEFT JOIN assets fa ON fa.id = j.final_asset_id""",
    "v_candidates": f"""
SELECT c.id AS candidate_id, c.job_id, j.run_id, r.project_id, p.slug AS project, r.run_mode AS mode,
       r.stage, j.job_key, c.candidate_index, c.status, {VERDICT_SQL} AS verdict,
       c.chroma_delta, c.rank_hard_failures AS hard_failures, c.rank_soft_warnings AS soft_warnings,
       c.rank_avg_chroma_exceed AS avg_chroma_exceed, c.rank_position,
       (j.selected_candidate_index IS NOT NULL AND c.candidate_index = j.selected_candidate_index) AS is_winner,
       c.cost_usd, c.latency_ms, c.seed, oa.storage_uri AS output_path,
       COALESCE(fa.storage_uri, oa.storage_uri) AS final_path, COALESCE(fa.sha256, oa.sha256) AS sha256,
       j.prompt_text, r.provider_code, r.model_name, c.created_at,
       c.output_asset_id, c.final_asset_id, c.meta_json,
       c.meta_json ->> '{CANDIDATE_CONTINUITY_VERDICT}' AS continuity_verdict,
       c.meta_json ->> '{CANDIDATE_CONTINUITY_REASONS}' AS continuity_reasons,
       c.meta_json ->> '{CANDIDATE_CACHED_FROM_RUN}' AS cached_from_run
FROM run_candidates c
JOIN run_jobs j ON j.id = c.job_id
JOIN runs r ON r.id = j.run_id
JOIN projects p ON p.id = r.project_id
LEFT JOIN assets oa ON oa.id = c.output_asset_id
LEFT JOIN assets fa ON fa.id = c.final_asset_id""",
    "v_costs": """
SELECT e.id AS cost_event_id, e.project_id, p.slug AS project, e.run_id, e.job_key, e.candidate_index,
       e.provider_code, e.operation_code, e.model_name, e.units, e.cost_usd, e.currency, e.event_key,
       substr(e.created_at, 1, 10) AS day, e.created_at
FROM cost_events e JOIN projects p ON p.id = e.project_id""",
    "v_assets": """
SELECT a.id AS asset_id, a.project_id, p.slug AS project, a.kind, a.storage_uri AS path, a.storage_backend,
       a.rel_path, a.mime_type, a.width, a.height, a.size_bytes, a.sha256, a.run_id, a.metadata_json,
       a.created_at
FROM assets a JOIN projects p ON p.id = a.project_id""",
}

RUN_LOG_COLUMNS = ("project", "run_id", "path", "mode", "status", "stage", "started_at", "finished_at",
                   "actual_cost_usd", "log")


def run_logs_sql(files: list[tuple[str, str]]) -> str:
    """The ``run_logs`` SELECT over ``(project slug, path)`` pairs, read with DuckDB's
    ``read_json_objects``: one JSON value per file, whatever keys a log version has (older and
    newer logs do not share one struct type, which ``read_json``'s inference would insist on)."""
    if not files:
        return ("SELECT NULL::VARCHAR AS project, NULL::VARCHAR AS run_id, NULL::VARCHAR AS path, "
                "NULL::VARCHAR AS mode, NULL::VARCHAR AS status, NULL::VARCHAR AS stage, "
                "NULL::VARCHAR AS started_at, NULL::VARCHAR AS finished_at, NULL::DOUBLE AS actual_cost_usd, "
                "NULL::JSON AS log WHERE false")
    paths = ", ".join(_literal(path) for _slug, path in files)
    slugs = ", ".join(f"({_literal(path)}, {_literal(slug)})" for slug, path in files)
    return f"""
SELECT f.slug AS project, o.json ->> '{LOG_FIELDS["run_id"]}' AS run_id, o.filename AS path,
       o.json ->> '{LOG_FIELDS["mode"]}' AS mode, o.json ->> '{LOG_FIELDS["status"]}' AS status,
       o.json ->> '{LOG_FIELDS["stage"]}' AS stage, o.json ->> '{LOG_FIELDS["started_at"]}' AS started_at,
       o.json ->> '{LOG_FIELDS["finished_at"]}' AS finished_at,
       TRY_CAST(o.json ->> '{LOG_FIELDS["actual_cost_usd"]}' AS DOUBLE) AS actual_cost_usd, o.json AS log
FROM read_json_objects([{paths}], format = 'auto', filename = true, ignore_errors = true,
                       maximum_object_size = 268435456) o
JOIN (VALUES {slugs}) AS f(path, slug) ON f.path = o.filename"""


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
