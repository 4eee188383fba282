"""The audit trail as people read it: newest first, with the actor's name and a one-line summary."""

from __future__ import annotations

from typing import Any

from kroma_kit.catalog.audit import list_events
from kroma_kit.catalog.db import connect, from_json
from kroma_kit.catalog.projects import get_project
from kroma_kit.errors import InputError
from kroma_kit.workspace import Workspace

MAX_LIMIT = 10000


def summarize(payload: dict[str, Any], width: int = 90) -> str:
    """``key=value`` pairs of the payload's plain fields, cut to ``width`` characters."""
    parts = [f"{key}={value}" for key, value in payload.items()
             if isinstance(value, (str, int, float, bool)) and value not in ("", None)]
    text = " ".join(parts)
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def audit_rows(ws: Workspace, slug: str, *, limit: int = 50, code_prefix: str | None = None) -> list[dict[str, Any]]:
    """The project's newest audit events: ``created_at, event_code, actor, payload, summary``."""
    if limit < 1 or limit > MAX_LIMIT:
        raise InputError(f"--limit must be between 1 and {MAX_LIMIT}, got {limit}.")
    project = get_project(ws, slug)
    conn = connect(ws.catalog_path, read_only=True)
    try:
        events = list_events(conn, project["id"], limit, code_prefix=code_prefix)
    finally:
        conn.close()
    rows = []
    for event in events:
        payload = from_json(event["payload_json"])
        rows.append({"id": event["id"], "project_id": event["project_id"], "created_at": event["created_at"],
                     "event_code": event["event_code"], "actor_user_id": event.get("actor_user_id"),
                     "actor": event.get("actor") or event.get("actor_user_id") or "-",
                     "payload": payload, "summary": summarize(payload)})
    return rows
