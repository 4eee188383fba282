"""The worker's side of agent instructions: reserve, heartbeat, progress, finish, retry, take back.

Every status change goes through :func:`kroma_kit.catalog.instructions._move`, the one place the
lifecycle is enforced. The reservation is one ``BEGIN IMMEDIATE`` transaction: pick the next
queued row (priority, then age) and move it to running under the worker's lock. On PostgreSQL the
same pick becomes ``SELECT ... FOR UPDATE SKIP LOCKED`` (:data:`PICK_SQL` +
:data:`POSTGRES_PICK_SUFFIX`) inside an ordinary transaction; the rest of the code is unchanged.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from kroma_kit.catalog.db import dialect, from_json, to_json, utcnow
from kroma_kit.catalog.instructions import (
    DEFAULT_MAX_ATTEMPTS,
    Instruction,
    _load,
    _move,
    _read,
    _row,
    _with,
    add_event,
    iso,
)
from kroma_kit.errors import KromaError
from kroma_kit.workspace import Workspace

PICK_SQL = ("SELECT id FROM agent_instructions WHERE status = 'queued' "
            "AND (next_attempt_at IS NULL OR next_attempt_at <= ?){scope} "
            "ORDER BY priority ASC, seq ASC LIMIT 1")
POSTGRES_PICK_SUFFIX = " FOR UPDATE SKIP LOCKED"


class LockLost(KromaError):
    """A worker tried to finish an instruction it no longer holds (its lock was taken back)."""


def reserve_next(ws: Workspace, worker_id: str, *, project_id: str | None = None) -> Instruction | None:
    """Take the next runnable queued instruction (priority, then age) under ``worker_id``'s lock.

    One ``BEGIN IMMEDIATE`` transaction on SQLite, so two workers never take the same row; on
    PostgreSQL an ordinary transaction whose pick locks the row and skips rows other workers are
    taking (``FOR UPDATE SKIP LOCKED``), so workers reserve side by side without waiting.
    """
    def work(conn: sqlite3.Connection) -> str | None:
        now = utcnow()
        scope = " AND project_id = ?" if project_id else ""
        params: list[Any] = [now] + ([project_id] if project_id else [])
        suffix = POSTGRES_PICK_SUFFIX if dialect(conn) == "postgresql" else ""
        picked = conn.execute(PICK_SQL.format(scope=scope) + suffix, params).fetchone()
        if picked is None:
            return None
        row = _row(conn, picked["id"])
        _move(conn, row, "running", "started", worker_id=worker_id, message=f"attempt {row['attempts'] + 1}",
              sets={"attempts": row["attempts"] + 1, "locked_by": worker_id, "locked_at": now,
                    "next_attempt_at": None, "started_at": row["started_at"] or now})
        return row["id"]

    picked_id = _with(ws, work, row_locks=True)
    return _load(ws, picked_id) if picked_id else None


def _held(conn: sqlite3.Connection, instruction_id: str, worker_id: str) -> sqlite3.Row:
    row = _row(conn, instruction_id)
    if row["status"] != "running" or row["locked_by"] != worker_id:
        raise LockLost(f"Worker {worker_id} no longer holds instruction {instruction_id[:8]} (status "
                       f"{row['status']}, lock {row['locked_by']}); its result was not recorded.")
    return row


def heartbeat(ws: Workspace, instruction_id: str, worker_id: str) -> bool:
    """Refresh the lock; returns whether a cancel was requested. Raises :class:`LockLost`."""
    def work(conn: sqlite3.Connection) -> bool:
        row = _held(conn, instruction_id, worker_id)
        conn.execute("UPDATE agent_instructions SET locked_at = ? WHERE id = ?", (utcnow(), instruction_id))
        return bool(row["cancel_requested"])

    return bool(_with(ws, work))


def record_step(ws: Workspace, instruction_id: str, worker_id: str, event_type: str, *, message: str = "",
                payload: dict[str, Any] | None = None, result: dict[str, Any] | None = None) -> None:
    """A progress event from the worker; ``result`` keys are merged into ``result_json`` (e.g. the
    run id, so a retried attempt can resume that run instead of starting another)."""
    def work(conn: sqlite3.Connection) -> None:
        row = _held(conn, instruction_id, worker_id)
        if result:
            merged = {**from_json(row["result_json"]), **result}
            conn.execute("UPDATE agent_instructions SET result_json = ?, updated_at = ? WHERE id = ?",
                         (to_json(merged), utcnow(), instruction_id))
        add_event(conn, instruction_id, event_type, message=message, payload=payload, worker_id=worker_id)

    _with(ws, work)


def finish_instruction(ws: Workspace, instruction_id: str, worker_id: str, status: str, *, message: str = "",
                       result: dict[str, Any] | None = None, error: str | None = None) -> Instruction:
    """``running -> done | failed | canceled`` by the worker holding the lock."""
    def work(conn: sqlite3.Connection) -> None:
        row = _held(conn, instruction_id, worker_id)
        merged = {**from_json(row["result_json"]), **(result or {})}
        event = {"done": "result", "failed": "error", "canceled": "canceled"}.get(status, status)
        _move(conn, row, status, event, worker_id=worker_id, message=message or (error or ""),
              payload={"result": result or {}, "error": error, "attempts": row["attempts"]},
              sets={"finished_at": utcnow(), "locked_by": None, "locked_at": None, "result_json": to_json(merged),
                    "last_error": error if error else row["last_error"]})

    _with(ws, work)
    return _load(ws, instruction_id)


def retry_later(ws: Workspace, instruction_id: str, worker_id: str, error: str, delay_s: float) -> Instruction:
    """``running -> queued`` after a failed attempt with attempts left; runnable again after ``delay_s``."""
    def work(conn: sqlite3.Connection) -> None:
        row = _held(conn, instruction_id, worker_id)
        when = iso(datetime.now(UTC) + timedelta(seconds=max(0.0, delay_s)))
        _move(conn, row, "queued", "retry_scheduled", worker_id=worker_id,
              message=f"attempt {row['attempts']} failed: {error}; next try after {when}",
              payload={"error": error, "attempts": row["attempts"], "next_attempt_at": when},
              sets={"locked_by": None, "locked_at": None, "next_attempt_at": when, "last_error": error})

    _with(ws, work)
    return _load(ws, instruction_id)


def reclaim_stale(ws: Workspace, *, max_locked_seconds: float, is_dead: Callable[[str], bool] | None = None,
                  default_max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> list[Instruction]:
    """Take back running instructions whose worker is gone: the lock is older than
    ``max_locked_seconds`` (a live worker refreshes it) or ``is_dead(locked_by)`` says the process
    no longer exists. The abandoned attempt is recorded; the row is queued again, canceled (when a
    cancel was requested) or failed (no attempts left)."""
    cutoff = iso(datetime.now(UTC) - timedelta(seconds=max_locked_seconds))

    def abandoned(row: sqlite3.Row) -> bool:
        owner = row["locked_by"] or ""
        return row["locked_at"] is None or row["locked_at"] <= cutoff or bool(is_dead and owner and is_dead(owner))

    running = "SELECT * FROM agent_instructions WHERE status = 'running'"
    # Look first without the write lock: workers call this every loop and almost always find nothing.
    if not any(abandoned(row) for row in _read(ws).execute(running).fetchall()):
        return []

    def work(conn: sqlite3.Connection) -> list[str]:
        taken = []
        for row in conn.execute(running).fetchall():
            if not abandoned(row):
                continue
            owner = row["locked_by"] or ""
            dead = bool(is_dead and owner and is_dead(owner))
            why = f"worker {owner or '?'} " + ("is gone" if dead else f"held the lock over {max_locked_seconds:g} s")
            error = f"attempt {row['attempts']} abandoned: {why}"
            limit = row["max_attempts"] or default_max_attempts
            clear = {"locked_by": None, "locked_at": None, "last_error": error}
            add_event(conn, row["id"], "attempt_abandoned", message=error,
                      payload={"locked_by": owner, "locked_at": row["locked_at"], "attempts": row["attempts"]})
            if row["cancel_requested"]:
                _move(conn, row, "canceled", "canceled", message="cancel requested; worker gone",
                      sets={**clear, "finished_at": utcnow()})
            elif row["attempts"] >= limit:
                _move(conn, row, "failed", "error", message=f"{error}; no attempts left ({row['attempts']}/{limit})",
                      sets={**clear, "finished_at": utcnow()})
            else:
                _move(conn, row, "queued", "lock_reclaimed", message=error, sets={**clear, "next_attempt_at": None})
            taken.append(row["id"])
        return taken

    return [_load(ws, ident) for ident in _with(ws, work)]
