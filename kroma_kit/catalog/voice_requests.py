"""Voice requests (seed 002 §9.1): one row per speech-to-text or text-to-speech call, with its
backend, latency, text and the audio assets it read or wrote."""

from __future__ import annotations

from typing import Any

from kroma_kit.catalog.db import from_json, new_id, to_json, transaction, utcnow
from kroma_kit.errors import NotFoundError
from kroma_kit.workspace import Workspace


def record_voice_request(ws: Workspace, project_id: str, direction: str, provider_code: str, *, status: str,
                         text: str = "", model_name: str | None = None, latency_ms: int | None = None,
                         input_asset_id: str | None = None, output_asset_id: str | None = None,
                         session_id: str | None = None, message_id: str | None = None, error: str | None = None,
                         meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """Insert a finished (``done``/``failed``) request and return it."""
    request_id = new_id()
    now = utcnow()
    conn = ws.connect()
    try:
        with transaction(conn):
            conn.execute(
                "INSERT INTO voice_requests (id, project_id, session_id, message_id, direction, provider_code, "
                "model_name, status, input_asset_id, output_asset_id, text, latency_ms, error, meta_json, created_at, "
                "finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (request_id, project_id, session_id, message_id, direction, provider_code, model_name, status,
                 input_asset_id, output_asset_id, text, latency_ms, error, to_json(meta or {}), now,
                 now if status in ("done", "failed") else None))
    finally:
        conn.close()
    return get_voice_request(ws, request_id)


def link_message(ws: Workspace, request_id: str, message_id: str, session_id: str) -> None:
    conn = ws.connect()
    try:
        with transaction(conn):
            conn.execute("UPDATE voice_requests SET message_id = ?, session_id = ? WHERE id = ?",
                         (message_id, session_id, request_id))
    finally:
        conn.close()


def get_voice_request(ws: Workspace, request_id: str, *, project_id: str | None = None) -> dict[str, Any]:
    """The request; one of another project is unknown here (project scope)."""
    conn = ws.connect()
    try:
        row = conn.execute("SELECT * FROM voice_requests WHERE id = ?", (request_id,)).fetchone()
    finally:
        conn.close()
    if row is None or (project_id is not None and row["project_id"] != project_id):
        raise NotFoundError(f"Unknown voice request '{request_id}'" + (" in this project" if project_id else "")
                            + ".")
    data = dict(row)
    data["meta"] = from_json(data.pop("meta_json"))
    return data


def list_voice_requests(ws: Workspace, project_id: str, *, limit: int = 100) -> list[dict[str, Any]]:
    conn = ws.connect()
    try:
        rows = conn.execute("SELECT * FROM voice_requests WHERE project_id = ? ORDER BY created_at DESC LIMIT ?",
                            (project_id, limit)).fetchall()
    finally:
        conn.close()
    return [{**dict(row), "meta": from_json(row["meta_json"])} for row in rows]
