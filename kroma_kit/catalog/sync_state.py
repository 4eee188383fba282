"""S3 sync records: the per-key state the last sync left, the log of sync runs, and the
project's S3 policy columns in ``project_storage``."""

from __future__ import annotations

import sqlite3
from typing import Any

from kroma_kit.catalog.db import from_json, new_id, to_json, utcnow

S3_FIELDS = ("s3_enabled", "s3_bucket", "s3_prefix", "s3_region", "s3_profile", "s3_endpoint_url", "storage_mode")


def load_state(conn: sqlite3.Connection, project_id: str, destination: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT rel_path, size_bytes, mtime_ns, sha256, etag FROM project_sync_state "
        "WHERE project_id = ? AND destination = ?", (project_id, destination)).fetchall()
    return [dict(row) for row in rows]


def save_state(conn: sqlite3.Connection, project_id: str, destination: str, rel_path: str, *, size_bytes: int,
               mtime_ns: int, sha256: str, etag: str | None) -> None:
    conn.execute(
        "INSERT INTO project_sync_state (project_id, destination, rel_path, size_bytes, mtime_ns, sha256, etag, "
        "synced_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (project_id, destination, rel_path) DO UPDATE SET "
        "size_bytes = excluded.size_bytes, mtime_ns = excluded.mtime_ns, sha256 = excluded.sha256, "
        "etag = excluded.etag, synced_at = excluded.synced_at",
        (project_id, destination, rel_path, size_bytes, mtime_ns, sha256, etag, utcnow()))


def forget_state(conn: sqlite3.Connection, project_id: str, destination: str, rel_paths: list[str]) -> None:
    conn.executemany("DELETE FROM project_sync_state WHERE project_id = ? AND destination = ? AND rel_path = ?",
                     [(project_id, destination, rel) for rel in rel_paths])


def start_sync_run(conn: sqlite3.Connection, project_id: str, direction: str, destination: str, *,
                   dry_run: bool, triggered_by: str = "cli", run_id: str | None = None) -> str:
    sync_id = new_id()
    conn.execute(
        "INSERT INTO sync_runs (id, project_id, direction, destination, dry_run, status, triggered_by, run_id, "
        "summary_json, started_at) VALUES (?, ?, ?, ?, ?, 'failed', ?, ?, '{}', ?)",
        (sync_id, project_id, direction, destination, int(dry_run), triggered_by, run_id, utcnow()))
    return sync_id


def finish_sync_run(conn: sqlite3.Connection, sync_id: str, status: str, summary: dict[str, Any],
                    error: str | None = None) -> None:
    conn.execute("UPDATE sync_runs SET status = ?, summary_json = ?, error = ?, finished_at = ? WHERE id = ?",
                 (status, to_json(summary), error, utcnow(), sync_id))


def list_sync_runs(conn: sqlite3.Connection, project_id: str, limit: int = 20) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT * FROM sync_runs WHERE project_id = ? ORDER BY started_at DESC LIMIT ?",
                        (project_id, limit)).fetchall()
    result = []
    for row in rows:
        item = dict(row)
        item["summary"] = from_json(item.pop("summary_json"))
        item["dry_run"] = bool(item["dry_run"])
        result.append(item)
    return result


def update_s3_policy(conn: sqlite3.Connection, project_id: str, changes: dict[str, Any]) -> None:
    """Set some of the ``s3_*`` / ``storage_mode`` columns (only the names in :data:`S3_FIELDS`)."""
    unknown = set(changes) - set(S3_FIELDS)
    if unknown:
        raise ValueError(f"unknown storage fields {sorted(unknown)}")
    if not changes:
        return
    assignments = ", ".join(f"{name} = ?" for name in changes)
    conn.execute(f"UPDATE project_storage SET {assignments}, updated_at = ? WHERE project_id = ?",
                 (*changes.values(), utcnow(), project_id))


def storage_row(conn: sqlite3.Connection, project_id: str) -> dict[str, Any]:
    row = conn.execute("SELECT * FROM project_storage WHERE project_id = ?", (project_id,)).fetchone()
    return dict(row) if row else {}
