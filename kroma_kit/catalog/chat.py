"""Chat sessions and messages (seed 002 §5.6): the persistent transcript of the copilot.

A session belongs to one project; messages are ``user | assistant | system | tool`` with text,
structured JSON (instruction cards, tool calls), token usage and an optional voice asset.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass, field
from typing import Any

from kroma_kit.catalog.costs import upsert_cost_event
from kroma_kit.catalog.db import from_json, new_id, to_json, transaction, utcnow
from kroma_kit.errors import InputError, NotFoundError
from kroma_kit.workspace import Workspace

ROLES = ("user", "assistant", "system", "tool")
LOCAL_USER_ID = "00000000-0000-4000-8000-000000000001"


@dataclass
class ChatSession:
    id: str
    project_id: str
    title: str
    status: str
    context: dict[str, Any]
    created_at: str
    updated_at: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> ChatSession:
        return cls(id=row["id"], project_id=row["project_id"], title=row["title"], status=row["status"],
                   context=from_json(row["context_json"]), created_at=row["created_at"], updated_at=row["updated_at"])

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ChatMessage:
    id: str
    session_id: str
    role: str
    text: str
    data: dict[str, Any] = field(default_factory=dict)
    token_usage: dict[str, Any] = field(default_factory=dict)
    voice_asset_id: str | None = None
    created_at: str = ""

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> ChatMessage:
        return cls(id=row["id"], session_id=row["session_id"], role=row["role"], text=row["content_text"],
                   data=from_json(row["content_json"]), token_usage=from_json(row["token_usage_json"]),
                   voice_asset_id=row["voice_asset_id"], created_at=row["created_at"])

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def create_session(ws: Workspace, project_id: str, *, title: str = "", context: dict[str, Any] | None = None,
                   user_id: str = LOCAL_USER_ID) -> ChatSession:
    session_id = new_id()
    now = utcnow()
    conn = ws.connect()
    try:
        with transaction(conn):
            conn.execute("INSERT INTO chat_sessions (id, project_id, user_id, title, status, context_json, created_at, "
                         "updated_at) VALUES (?, ?, ?, ?, 'active', ?, ?, ?)",
                         (session_id, project_id, user_id, title, to_json(context or {}), now, now))
    finally:
        conn.close()
    return get_session(ws, session_id, project_id=project_id)


def get_session(ws: Workspace, session_id: str, *, project_id: str | None = None) -> ChatSession:
    """The session; one of another project is "unknown" here (project scope)."""
    conn = ws.connect()
    try:
        row = conn.execute("SELECT * FROM chat_sessions WHERE id = ? OR (length(?) >= 6 AND id LIKE ?)",
                           (session_id, session_id, session_id + "%")).fetchall()
    finally:
        conn.close()
    if len(row) != 1 or (project_id is not None and row[0]["project_id"] != project_id):
        raise NotFoundError(f"Unknown chat session '{session_id}'" + (" in this project" if project_id else "")
                            + ". Start one with `kroma chat new --project P`.")
    return ChatSession.from_row(row[0])


def list_sessions(ws: Workspace, project_id: str, *, limit: int = 100) -> list[ChatSession]:
    conn = ws.connect()
    try:
        rows = conn.execute("SELECT * FROM chat_sessions WHERE project_id = ? ORDER BY updated_at DESC LIMIT ?",
                            (project_id, limit)).fetchall()
    finally:
        conn.close()
    return [ChatSession.from_row(row) for row in rows]


def add_message(ws: Workspace, session_id: str, role: str, text: str, *, data: dict[str, Any] | None = None,
                token_usage: dict[str, Any] | None = None, voice_asset_id: str | None = None) -> ChatMessage:
    """Append a message and touch the session's ``updated_at`` in one transaction."""
    if role not in ROLES:
        raise InputError(f"Unknown chat role '{role}'. Expected one of: {', '.join(ROLES)}.")
    message_id = new_id()
    now = utcnow()
    conn = ws.connect()
    try:
        with transaction(conn):
            conn.execute("INSERT INTO chat_messages (id, session_id, role, content_text, content_json, voice_asset_id, "
                         "token_usage_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         (message_id, session_id, role, text, to_json(data or {}), voice_asset_id,
                          to_json(token_usage or {}), now))
            conn.execute("UPDATE chat_sessions SET updated_at = ? WHERE id = ?", (now, session_id))
        row = conn.execute("SELECT * FROM chat_messages WHERE id = ?", (message_id,)).fetchone()
    finally:
        conn.close()
    return ChatMessage.from_row(row)


def get_message(ws: Workspace, message_id: str) -> ChatMessage | None:
    conn = ws.connect()
    try:
        row = conn.execute("SELECT * FROM chat_messages WHERE id = ?", (message_id,)).fetchone()
    finally:
        conn.close()
    return ChatMessage.from_row(row) if row is not None else None


def list_messages(ws: Workspace, session_id: str, *, limit: int = 500) -> list[ChatMessage]:
    """Oldest first (the transcript order)."""
    conn = ws.connect()
    try:
        rows = conn.execute("SELECT * FROM chat_messages WHERE session_id = ? ORDER BY created_at, id LIMIT ?",
                            (session_id, limit)).fetchall()
    finally:
        conn.close()
    return [ChatMessage.from_row(row) for row in rows]


def record_llm_cost(ws: Workspace, project_id: str, message_id: str, *, provider_code: str, model: str,
                    tokens: float, cost_usd: float, usage: dict[str, Any]) -> None:
    """A ``cost_events`` row for one chat completion (no run), keyed by the message so it is
    booked once; written through the catalog's one cost-event upsert."""
    conn = ws.connect()
    try:
        with transaction(conn):
            upsert_cost_event(conn, new_id(), project_id, None, {
                "provider_code": provider_code, "operation_code": "chat", "model": model, "units": tokens,
                "cost_usd": cost_usd, "event_key": f"chat:{message_id}", "usage": usage})
    finally:
        conn.close()
