"""Continuity scores as the catalog holds them: ``quality_reports`` rows of type ``model_score``
written by run ingest (``summary_json.model == "continuity"``), and the project's final images.
Read-only queries for the continuity report and the continuity sheet."""

from __future__ import annotations

from typing import Any

from kroma_kit.catalog.db import connect, from_json
from kroma_kit.workspace import Workspace


def continuity_rows(ws: Workspace, project_id: str) -> list[dict[str, Any]]:
    """Every continuity score of the project's candidates, oldest run first: run, stage, job key,
    candidate index, candidate status, verdict and the stored block (style, identity, reasons)."""
    conn = connect(ws.catalog_path, read_only=True)
    try:
        rows = conn.execute(
            "SELECT q.run_id, r.stage, r.started_at, j.job_key, c.candidate_index, c.status, "
            "j.selected_candidate_index, q.verdict, q.summary_json "
            "FROM quality_reports q JOIN runs r ON r.id = q.run_id JOIN run_jobs j ON j.id = q.job_id "
            "JOIN run_candidates c ON c.id = q.candidate_id "
            "WHERE q.project_id = ? AND q.report_type = 'model_score' "
            "ORDER BY r.started_at, r.id, j.job_key, c.candidate_index", (project_id,)).fetchall()
    finally:
        conn.close()
    out = []
    for row in rows:
        summary = from_json(row["summary_json"])
        if summary.get("model") != "continuity":
            continue
        out.append({"run_id": row["run_id"], "stage": row["stage"], "started_at": row["started_at"],
                    "job": row["job_key"], "candidate_index": row["candidate_index"], "status": row["status"],
                    "winner": row["selected_candidate_index"] == row["candidate_index"], "verdict": row["verdict"],
                    "block": summary})
    return out


def final_images(ws: Workspace, project_id: str) -> list[dict[str, Any]]:
    """The project's final images (assets of kind ``final``), oldest first, with their job key."""
    conn = connect(ws.catalog_path, read_only=True)
    try:
        rows = conn.execute(
            "SELECT a.id, a.storage_uri, a.rel_path, a.run_id, a.created_at, j.job_key "
            "FROM assets a LEFT JOIN run_jobs j ON j.final_asset_id = a.id "
            "WHERE a.project_id = ? AND a.kind = 'final' ORDER BY a.created_at, a.rel_path", (project_id,)).fetchall()
    finally:
        conn.close()
    return [dict(row) for row in rows]


def passing_outputs(ws: Workspace, project_id: str, *, limit: int = 48) -> list[dict[str, Any]]:
    """Earlier outputs in the project's hand, newest first: each job's selected candidate whose
    continuity score passed, and any candidate a person approved (a ``human_review`` pass), with
    the run's stage, the file (``storage_uri``) and its recorded ``sha256`` (a later run of the
    same job writes the same file name: the caller checks the file still holds those bytes). The
    continuity calibration widens its "same" spread with them."""
    conn = connect(ws.catalog_path, read_only=True)
    try:
        rows = conn.execute(
            "SELECT r.stage, a.storage_uri, a.sha256, r.started_at, j.job_key FROM run_candidates c "
            "JOIN run_jobs j ON j.id = c.job_id JOIN runs r ON r.id = j.run_id "
            "JOIN assets a ON a.id = COALESCE(c.final_asset_id, c.output_asset_id) "
            "WHERE r.project_id = ? AND c.status = 'done' AND ("
            "(c.candidate_index = j.selected_candidate_index AND EXISTS (SELECT 1 FROM quality_reports q "
            "WHERE q.candidate_id = c.id AND q.report_type = 'model_score' AND q.verdict = 'pass')) "
            "OR EXISTS (SELECT 1 FROM quality_reports q WHERE q.candidate_id = c.id "
            "AND q.report_type = 'human_review' AND q.verdict = 'pass')) "
            "ORDER BY r.started_at DESC, j.job_key LIMIT ?", (project_id, limit)).fetchall()
    finally:
        conn.close()
    return [dict(row) for row in rows]
