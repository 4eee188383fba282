"""The catalog side of an artist's winner review: the rows an override reads and writes.

An override (:func:`kroma_kit.pipeline.review.override_winner`) changes the run log and these rows
together, inside one catalog transaction the caller holds: the job's ``run_jobs`` row, the
``final`` asset kind, a ``human_review`` quality report that keeps the previous and the new choice,
and an audit event. The SQL lives here, next to the tables, so the review itself only decides.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from kroma_kit.catalog.assets import find_asset
from kroma_kit.catalog.audit import LOCAL_USER_ID, record_event
from kroma_kit.catalog.db import from_json, to_json
from kroma_kit.catalog.projects import get_project
from kroma_kit.catalog.runs import resolve_run_id
from kroma_kit.errors import NotFoundError
from kroma_kit.workspace import Workspace

EVENT_CODE = "run.winner_overridden"
KIND_BY_ROLE = {"candidate_output": "generated", "bg_remove": "bg_removed", "upscale": "upscaled",
                "color": "color_corrected"}


@dataclass(frozen=True)
class ReviewedJobRows:
    """The catalog rows of the job and candidate an override names."""

    job_id: str
    old_final_asset_id: str | None
    candidate_id: str
    candidate_output_asset_id: str | None
    candidate_final_asset_id: str | None
    chroma_delta: float | None


def review_target(ws: Workspace, run_id: str) -> dict[str, Any]:
    """The run a review names (full id or unique prefix): id, project id and slug, mode, status,
    run-log path, and the project's root."""
    conn = ws.connect()
    try:
        full_id = resolve_run_id(conn, run_id)
        row = dict(conn.execute("SELECT r.id, r.project_id, r.run_mode, r.status, r.run_log_path, p.slug "
                                "FROM runs r JOIN projects p ON p.id = r.project_id WHERE r.id = ?",
                                (full_id,)).fetchone())
    finally:
        conn.close()
    row["project_root"] = get_project(ws, row["slug"])["root"]
    return row


def run_liveness(conn: sqlite3.Connection, run_id: str) -> dict[str, Any]:
    """The run's ``status``, ``pid`` and ``host`` as the catalog says now (read inside the caller's
    transaction, so no other writer changes them before the review is recorded)."""
    return dict(conn.execute("SELECT status, pid, host FROM runs WHERE id = ?", (run_id,)).fetchone())


def reviewed_rows(conn: sqlite3.Connection, run_id: str, job_key: str, index: int) -> ReviewedJobRows:
    job = conn.execute("SELECT id, final_asset_id FROM run_jobs WHERE run_id = ? AND job_key = ?",
                       (run_id, job_key)).fetchone()
    candidate = conn.execute("SELECT id, status, output_asset_id, final_asset_id, chroma_delta FROM run_candidates "
                             "WHERE job_id = ? AND candidate_index = ?",
                             (job["id"] if job else None, index)).fetchone()
    if job is None or candidate is None:
        raise NotFoundError(f"The catalog has no row for job '{job_key}' candidate {index} of run {run_id}; "
                            "re-ingest the run log (`kroma runs ingest`) and try again.")
    return ReviewedJobRows(job["id"], job["final_asset_id"], candidate["id"], candidate["output_asset_id"],
                           candidate["final_asset_id"], candidate["chroma_delta"])


def new_final_asset(conn: sqlite3.Connection, project_id: str, rows: ReviewedJobRows, new_file: Any) -> str | None:
    """The asset of the file the winner now points at (for a forced guard failure after a post
    chain that is the archived last step, not the raw output); the candidate's recorded assets
    when the catalog has not registered that file yet (a live run's mirror lags a little)."""
    asset = find_asset(conn, project_id, new_file)
    return asset["id"] if asset else rows.candidate_final_asset_id or rows.candidate_output_asset_id


def record_winner_review(conn: sqlite3.Connection, *, project_id: str, run_id: str, rows: ReviewedJobRows,
                         candidate_index: int, new_final: str | None, meta: dict[str, Any], job_status: str,
                         report_id: str, summary: dict[str, Any], reviewer: str, reviewed_at: str) -> str:
    """Write one override: the job row (its winner, final asset and ``meta_json``), the asset kinds,
    a ``human_review`` quality report with ``summary``, and the audit event (its id is returned)."""
    conn.execute("UPDATE run_jobs SET selected_candidate_index = ?, final_asset_id = ?, meta_json = ? WHERE id = ?",
                 (candidate_index, new_final, to_json(meta), rows.job_id))
    _rekind(conn, rows.old_final_asset_id, new_final, job_status=job_status)
    conn.execute(
        "INSERT INTO quality_reports (id, project_id, run_id, job_id, candidate_id, asset_id, report_type, "
        "verdict, chroma_delta, summary_json, created_at) VALUES (?, ?, ?, ?, ?, ?, 'human_review', 'pass', ?, ?, ?)",
        (report_id, project_id, run_id, rows.job_id, rows.candidate_id, new_final, rows.chroma_delta,
         to_json(summary), reviewed_at))
    return record_event(conn, EVENT_CODE, summary, project_id=project_id, actor_user_id=_user_id(conn, reviewer))


def job_reviews(ws: Workspace, run_id: str, job_key: str) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    """Job ``job_key`` of run ``run_id`` (``selected_candidate_index`` and its ``meta``) and its
    ``human_review`` reports, oldest first, as ``(report id, summary)``."""
    conn = ws.connect()
    try:
        job = conn.execute("SELECT id, selected_candidate_index, meta_json FROM run_jobs WHERE run_id = ? AND "
                           "job_key = ?", (run_id, job_key)).fetchone()
        if job is None:
            raise NotFoundError(f"Run {run_id} has no job '{job_key}'.")
        reports = conn.execute("SELECT id, summary_json, created_at FROM quality_reports WHERE job_id = ? AND "
                               "report_type = 'human_review' ORDER BY created_at, id", (job["id"],)).fetchall()
    finally:
        conn.close()
    return ({"selected_candidate_index": job["selected_candidate_index"], "meta": from_json(job["meta_json"])},
            [(row["id"], from_json(row["summary_json"])) for row in reports])


def _rekind(conn: sqlite3.Connection, old: str | None, new: str | None, *, job_status: str) -> None:
    """The previous winner's file goes back to the kind its role gives it; the new one becomes
    ``final`` (as ingest does, only for a ``done`` job)."""
    if old and old != new:
        row = conn.execute("SELECT metadata_json FROM assets WHERE id = ?", (old,)).fetchone()
        role = from_json(row["metadata_json"]).get("role") if row else None
        conn.execute("UPDATE assets SET kind = ? WHERE id = ? AND kind = 'final'",
                     (KIND_BY_ROLE.get(role, "generated"), old))
    if new and job_status == "done":
        conn.execute("UPDATE assets SET kind = 'final' WHERE id = ?", (new,))


def _user_id(conn: sqlite3.Connection, username: str) -> str:
    row = conn.execute("SELECT id FROM app_users WHERE username = ?", (username,)).fetchone()
    return row["id"] if row else LOCAL_USER_ID
