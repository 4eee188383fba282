"""Audit trail: who did what to which project, one row per event.

This is the one audit writer. Destructive and money-moving actions (archive moves, image
deletes, winner overrides, secret changes, S3 push/pull, imports, exports, project archive) call
:func:`record_event` inside their own transaction, or :func:`write_event` when they hold no
connection. Payloads are redacted on the way in: a key that names a secret never stores its value.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from kroma_kit.catalog.db import connect, new_id, to_json, utcnow

LOCAL_USER_ID = "00000000-0000-4000-8000-000000000001"
REDACTED = "[redacted]"
_SECRET_KEY = re.compile(r"(secret|password|passwd|token|api_?key|access_?key|credential|ciphertext|"
                         r"authorization|master_?key|plaintext)", re.IGNORECASE)
# Names that contain a secret-looking word but hold only metadata about one.
_SAFE_KEYS = {"secret_name", "secret_names", "key_ref", "key_refs", "from_key_ref", "to_key_ref",
              "has_value", "token_prefix"}


def redact(payload: Any) -> Any:
    """``payload`` with every text value under a secret-named key replaced by ``[redacted]``
    (counts and flags under such keys stay: they are not secrets)."""
    if isinstance(payload, dict):
        return {key: (REDACTED if isinstance(key, str) and key not in _SAFE_KEYS and _SECRET_KEY.search(key)
                      and isinstance(value, (str, bytes)) and value else redact(value))
                for key, value in payload.items()}
    if isinstance(payload, (list, tuple)):
        return [redact(item) for item in payload]
    return payload


def record_event(conn: sqlite3.Connection, event_code: str, payload: dict[str, Any] | None = None, *,
                 project_id: str | None = None, actor_user_id: str | None = LOCAL_USER_ID) -> str:
    """Insert one ``audit_events`` row (inside the caller's transaction, if any)."""
    event_id = new_id()
    conn.execute(
        "INSERT INTO audit_events (id, project_id, actor_user_id, event_code, payload_json, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (event_id, project_id, actor_user_id, event_code, to_json(redact(payload or {})), utcnow()))
    return event_id


def write_event(catalog_path: Any, event_code: str, payload: dict[str, Any] | None = None, *,
                project_id: str | None = None, actor_user_id: str | None = LOCAL_USER_ID) -> str:
    """Record one event on its own short connection (for callers outside a transaction, e.g. an
    image delete or an archive move done on files). ``catalog_path`` is ``ws.catalog_path``."""
    conn = connect(catalog_path)
    try:
        return record_event(conn, event_code, payload, project_id=project_id, actor_user_id=actor_user_id)
    finally:
        conn.close()


def list_events(conn: sqlite3.Connection, project_id: str, limit: int = 100, *,
                code_prefix: str | None = None) -> list[dict[str, Any]]:
    """The newest events of a project (optionally only codes starting with ``code_prefix``)."""
    sql = ("SELECT e.*, u.username AS actor FROM audit_events e "
           "LEFT JOIN app_users u ON u.id = e.actor_user_id WHERE e.project_id = ?")
    params: list[Any] = [project_id]
    if code_prefix:
        sql += " AND e.event_code LIKE ? ESCAPE '!'"
        params.append(code_prefix.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%")
    rows = conn.execute(sql + " ORDER BY e.created_at DESC, e.id LIMIT ?", (*params, limit)).fetchall()
    return [dict(row) for row in rows]
