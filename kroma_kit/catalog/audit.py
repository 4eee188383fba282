"""Audit trail: who did what to which project, one row per event."""

from __future__ import annotations

import sqlite3
from typing import Any

from kroma_kit.catalog.db import new_id, to_json, utcnow

LOCAL_USER_ID = "00000000-0000-4000-8000-000000000001"


def record_event(conn: sqlite3.Connection, event_code: str, payload: dict[str, Any] | None = None, *,
                 project_id: str | None = None, actor_user_id: str | None = LOCAL_USER_ID) -> str:
    """Insert one ``audit_events`` row (inside the caller's transaction, if any)."""
    event_id = new_id()
    conn.execute(
        "INSERT INTO audit_events (id, project_id, actor_user_id, event_code, payload_json, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (event_id, project_id, actor_user_id, event_code, to_json(payload or {}), utcnow()))
    return event_id


def list_events(conn: sqlite3.Connection, project_id: str, limit: int = 100) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT * FROM audit_events WHERE project_id = ? ORDER BY created_at DESC LIMIT ?",
        (project_id, limit)).fetchall()
    return [dict(row) for row in rows]
