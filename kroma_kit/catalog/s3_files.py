"""Catalog records of S3-first project files: uploads that failed and wait for a retry
(``storage_pending_uploads``), the sha256 the catalog expects at a project-relative path, and
which asset rows have their bytes in the bucket (``assets.storage_backend = 's3'``).

Plain, portable SQL (``ON CONFLICT ... DO UPDATE`` works on SQLite and PostgreSQL alike)."""

from __future__ import annotations

import sqlite3
from typing import Any

from kroma_kit.catalog.db import utcnow


def mark_pending(conn: sqlite3.Connection, project_id: str, rel_path: str, *, sha256: str, size_bytes: int,
                 error: str, run_id: str | None = None) -> None:
    """Record (or count another) failed upload of ``rel_path``: the file stays on disk until it is up."""
    now = utcnow()
    conn.execute(
        "INSERT INTO storage_pending_uploads (project_id, rel_path, sha256, size_bytes, run_id, attempts, "
        "last_error, first_failed_at, last_failed_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?) "
        "ON CONFLICT (project_id, rel_path) DO UPDATE SET sha256 = excluded.sha256, "
        "size_bytes = excluded.size_bytes, run_id = COALESCE(excluded.run_id, storage_pending_uploads.run_id), "
        "attempts = storage_pending_uploads.attempts + 1, last_error = excluded.last_error, "
        "last_failed_at = excluded.last_failed_at",
        (project_id, rel_path, sha256, size_bytes, run_id, error, now, now))


def clear_pending(conn: sqlite3.Connection, project_id: str, rel_paths: list[str]) -> None:
    conn.executemany("DELETE FROM storage_pending_uploads WHERE project_id = ? AND rel_path = ?",
                     [(project_id, rel) for rel in rel_paths])


def list_pending(conn: sqlite3.Connection, project_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT rel_path, sha256, size_bytes, run_id, attempts, last_error, first_failed_at, last_failed_at "
        "FROM storage_pending_uploads WHERE project_id = ? ORDER BY rel_path", (project_id,)).fetchall()
    return [dict(row) for row in rows]


def expected_sha256(conn: sqlite3.Connection, project_id: str, rel_path: str) -> str | None:
    """The sha256 the newest asset row at ``rel_path`` records (None when no row has one)."""
    row = conn.execute(
        "SELECT sha256 FROM assets WHERE project_id = ? AND rel_path = ? AND sha256 IS NOT NULL "
        "ORDER BY created_at DESC LIMIT 1", (project_id, rel_path)).fetchone()
    return row["sha256"] if row else None


def mark_assets_in_bucket(conn: sqlite3.Connection, project_id: str, uploaded: dict[str, str]) -> int:
    """``storage_backend = 's3'`` on asset rows whose path and sha256 match an object now in the
    bucket (``uploaded``: rel_path -> sha256); answer how many rows changed."""
    changed = 0
    for rel, sha in uploaded.items():
        cursor = conn.execute(
            "UPDATE assets SET storage_backend = 's3' WHERE project_id = ? AND rel_path = ? AND sha256 = ? "
            "AND storage_backend <> 's3'", (project_id, rel, sha))
        changed += max(cursor.rowcount, 0)
    return changed
