"""Agent instructions: the one place their lifecycle is enforced.

``draft -> queued -> running -> done | failed | canceled`` (seed 002 §2.6). The original tool let
confirm and cancel rewrite any row (a canceled or done instruction could be queued again) and left
rows ``running`` forever when a worker died (kroma-behavior.md §7). Here every change goes through
:func:`_move`, which checks the transition table, updates the row only if it is still in the
status it was read in, and writes an ``agent_instruction_events`` row in the same transaction.
An illegal move raises :class:`IllegalTransition`; nothing is rewritten silently.

``running -> queued`` is the retry edge (a failed attempt with attempts left, or a lock taken back
from a worker that died). A running instruction is never canceled directly: ``cancel`` sets
``cancel_requested`` and the worker honours it between steps.

The worker's side (reserve, heartbeat, finish, retry, take back) is in
:mod:`kroma_kit.catalog.instruction_queue`; it moves rows only through :func:`_move` too.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kroma_kit.catalog.db import from_json, new_id, to_json, transaction, utcnow
from kroma_kit.errors import KromaError, NotFoundError
from kroma_kit.workspace import Workspace

INSTRUCTION_TYPES = ("pipeline_run", "asset_edit", "qa_check", "storage_sync", "custom")
STATUSES = ("draft", "queued", "running", "done", "failed", "canceled")
TERMINAL = frozenset({"done", "failed", "canceled"})
TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"queued", "canceled"}),
    "queued": frozenset({"running", "canceled"}),
    "running": frozenset({"done", "failed", "canceled", "queued"}),
    "done": frozenset(),
    "failed": frozenset(),
    "canceled": frozenset(),
}
DEFAULT_MAX_ATTEMPTS = 3
LOCAL_USER_ID = "00000000-0000-4000-8000-000000000001"



class IllegalTransition(KromaError):
    """An instruction was asked to move where its lifecycle does not allow (e.g. confirm a done one)."""


@dataclass
class Instruction:
    """One ``agent_instructions`` row with its JSON columns decoded."""

    id: str
    project_id: str
    instruction_type: str
    status: str
    payload: dict[str, Any]
    priority: int = 100
    requires_confirmation: bool = False
    session_id: str | None = None
    message_id: str | None = None
    confirmed_by_user_id: str | None = None
    estimate: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0
    max_attempts: int | None = None
    locked_by: str | None = None
    locked_at: str | None = None
    next_attempt_at: str | None = None
    cancel_requested: bool = False
    last_error: str | None = None
    result: dict[str, Any] = field(default_factory=dict)
    queued_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    created_at: str = ""
    updated_at: str = ""

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Instruction:
        data = dict(row)
        return cls(
            id=data["id"], project_id=data["project_id"], instruction_type=data["instruction_type"],
            status=data["status"], payload=from_json(data["payload_json"]), priority=int(data["priority"]),
            requires_confirmation=bool(data["requires_confirmation"]), session_id=data["session_id"],
            message_id=data["message_id"], confirmed_by_user_id=data["confirmed_by_user_id"],
            estimate=from_json(data["estimate_json"]), attempts=int(data["attempts"]),
            max_attempts=data["max_attempts"], locked_by=data["locked_by"], locked_at=data["locked_at"],
            next_attempt_at=data["next_attempt_at"], cancel_requested=bool(data["cancel_requested"]),
            last_error=data["last_error"], result=from_json(data["result_json"]), queued_at=data["queued_at"],
            started_at=data["started_at"], finished_at=data["finished_at"], created_at=data["created_at"],
            updated_at=data["updated_at"])

    @property
    def action(self) -> str:
        return str(self.payload.get("execution", {}).get("action") or self.instruction_type)

    @property
    def objective(self) -> str:
        return str(self.payload.get("objective") or "")

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


def iso(moment: datetime) -> str:
    """The catalog's timestamp text (same shape as :func:`utcnow`) for a given moment."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def check_transition(instruction_id: str, current: str, target: str) -> None:
    """Raise :class:`IllegalTransition` unless ``current -> target`` is in :data:`TRANSITIONS`."""
    if target not in STATUSES:
        raise IllegalTransition(f"Unknown instruction status '{target}'. Expected one of: {', '.join(STATUSES)}.")
    allowed = TRANSITIONS[current]
    if target not in allowed:
        options = ", ".join(sorted(allowed)) or "nothing (it is finished)"
        raise IllegalTransition(f"Instruction {instruction_id[:8]} is {current}; it cannot become {target} "
                                f"(from {current} it may become: {options}).")


# --------------------------------------------------------------------------- low level

def _row(conn: sqlite3.Connection, instruction_id: str, project_id: str | None = None) -> sqlite3.Row:
    if len(instruction_id) < 36:
        if len(instruction_id) < 6:
            raise NotFoundError(f"Instruction id '{instruction_id}' is too short: give at least 6 characters.")
        rows = conn.execute("SELECT * FROM agent_instructions WHERE id LIKE ? LIMIT 2",
                            (instruction_id + "%",)).fetchall()
        if len(rows) > 1:
            raise NotFoundError(f"Instruction id prefix '{instruction_id}' is ambiguous: give more characters.")
        row = rows[0] if rows else None
    else:
        row = conn.execute("SELECT * FROM agent_instructions WHERE id = ?", (instruction_id,)).fetchone()
    if row is None or (project_id is not None and row["project_id"] != project_id):
        raise NotFoundError(f"Unknown instruction '{instruction_id}'"
                            + (" in this project" if project_id else "")
                            + ". List them with `kroma instructions list --project P`.")
    return row


def add_event(conn: sqlite3.Connection, instruction_id: str, event_type: str, *, message: str = "",
              payload: dict[str, Any] | None = None, status_from: str | None = None,
              status_to: str | None = None, worker_id: str | None = None) -> str:
    """Insert one ``agent_instruction_events`` row (inside the caller's transaction)."""
    event_id = new_id()
    seq = conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM agent_instruction_events WHERE instruction_id = ?",
                       (instruction_id,)).fetchone()[0]
    conn.execute(
        "INSERT INTO agent_instruction_events (id, instruction_id, seq, event_type, status_from, status_to, "
        "worker_id, message, payload_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (event_id, instruction_id, seq, event_type, status_from, status_to, worker_id, message, to_json(payload or {}),
         utcnow()))
    return event_id


_SETTABLE = frozenset({"attempts", "locked_by", "locked_at", "next_attempt_at", "cancel_requested", "last_error",
                       "result_json", "queued_at", "started_at", "finished_at", "confirmed_by_user_id"})


def _move(conn: sqlite3.Connection, row: sqlite3.Row, target: str, event_type: str, *, message: str = "",
          payload: dict[str, Any] | None = None, worker_id: str | None = None,
          sets: dict[str, Any] | None = None) -> None:
    """The single place a status changes: check, conditional update, event."""
    current = row["status"]
    check_transition(row["id"], current, target)
    sets = dict(sets or {})
    unknown = set(sets) - _SETTABLE
    if unknown:
        raise ValueError(f"not settable: {sorted(unknown)}")
    now = utcnow()
    columns = ", ".join(f"{name} = ?" for name in sets)
    sql = (f"UPDATE agent_instructions SET status = ?, updated_at = ?{', ' if columns else ''}{columns} "
           "WHERE id = ? AND status = ?")
    cursor = conn.execute(sql, (target, now, *sets.values(), row["id"], current))
    if cursor.rowcount != 1:
        raise IllegalTransition(f"Instruction {row['id'][:8]} changed while moving it from {current} to {target}; "
                                "reload and try again.")
    add_event(conn, row["id"], event_type, message=message, payload=payload, status_from=current,
              status_to=target, worker_id=worker_id)


_LOCAL = threading.local()
_MAX_CACHED = 4


def _connection(ws: Workspace, *, read_only: bool = False) -> sqlite3.Connection:
    """This thread's connection to ``ws``'s catalog, kept open between calls.

    A worker makes several short transactions per instruction; opening a connection each time
    costs the pragmas, and closing the last one checkpoints the WAL (an fsync) every time. Reads
    use a read-only connection: listing never writes, not even a checkpoint. Connections are
    never shared across threads (one cache per thread, a few catalogs at most).
    """
    from kroma_kit.catalog.db import connect

    cache: dict[tuple[str, bool], sqlite3.Connection] = getattr(_LOCAL, "conns", None) or {}
    _LOCAL.conns = cache
    key = (str(ws.catalog_url or ws.catalog_path), read_only)
    conn = cache.get(key)
    if conn is None:
        while len(cache) >= _MAX_CACHED:
            cache.pop(next(iter(cache))).close()
        conn = cache[key] = connect(ws.catalog_path, read_only=read_only)
    return conn


def _with(ws: Workspace, work: Callable[[sqlite3.Connection], Any], *, row_locks: bool = False) -> Any:
    with transaction(conn := _connection(ws), row_locks=row_locks):
        return work(conn)


def _load(ws: Workspace, instruction_id: str) -> Instruction:
    return Instruction.from_row(_row(_connection(ws), instruction_id))


# --------------------------------------------------------------------------- public API

def create_instruction(ws: Workspace, project_id: str, instruction_type: str, payload: dict[str, Any], *,
                       requires_confirmation: bool, priority: int = 100, session_id: str | None = None,
                       message_id: str | None = None, estimate: dict[str, Any] | None = None,
                       max_attempts: int | None = None) -> Instruction:
    """Insert a ``draft``; one that needs no confirmation is queued at once (two events)."""
    if instruction_type not in INSTRUCTION_TYPES:
        raise IllegalTransition(f"Unknown instruction type '{instruction_type}'. "
                                f"Expected one of: {', '.join(INSTRUCTION_TYPES)}.")
    instruction_id = str(payload.get("instruction_id") or new_id())
    payload = {**payload, "instruction_id": instruction_id}

    def work(conn: sqlite3.Connection) -> str:
        now = utcnow()
        seq = conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM agent_instructions").fetchone()[0]
        conn.execute(
            "INSERT INTO agent_instructions (id, seq, project_id, session_id, message_id, instruction_type, "
            "payload_json, status, priority, requires_confirmation, estimate_json, max_attempts, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'draft', ?, ?, ?, ?, ?, ?)",
            (instruction_id, seq, project_id, session_id, message_id, instruction_type, to_json(payload), int(priority),
             1 if requires_confirmation else 0, to_json(estimate or {}), max_attempts, now, now))
        add_event(conn, instruction_id, "created", status_to="draft",
                  message=str(payload.get("objective") or instruction_type))
        if not requires_confirmation:
            row = _row(conn, instruction_id)
            _move(conn, row, "queued", "queued", message="no confirmation needed", sets={"queued_at": utcnow()})
        return instruction_id

    return _load(ws, _with(ws, work))


def confirm_instruction(ws: Workspace, instruction_id: str, *, project_id: str | None = None,
                        user_id: str = LOCAL_USER_ID) -> Instruction:
    """``draft -> queued`` by a person. Anything else is an :class:`IllegalTransition`."""
    def work(conn: sqlite3.Connection) -> str:
        row = _row(conn, instruction_id, project_id)
        if row["status"] != "draft":
            raise IllegalTransition(f"Instruction {row['id'][:8]} is {row['status']}: only a draft can be "
                                    "confirmed.")
        _move(conn, row, "queued", "confirmed", message="confirmed by the user",
              sets={"queued_at": utcnow(), "confirmed_by_user_id": user_id})
        return row["id"]

    return _load(ws, _with(ws, work))


def cancel_instruction(ws: Workspace, instruction_id: str, *, project_id: str | None = None,
                       reason: str = "canceled by the user") -> Instruction:
    """Cancel a draft or queued instruction; for a running one, record a cancel request the worker
    honours between steps. A finished one raises :class:`IllegalTransition`."""
    def work(conn: sqlite3.Connection) -> str:
        row = _row(conn, instruction_id, project_id)
        if row["status"] == "running":
            if not row["cancel_requested"]:
                conn.execute("UPDATE agent_instructions SET cancel_requested = 1, updated_at = ? WHERE id = ?",
                             (utcnow(), row["id"]))
                add_event(conn, row["id"], "cancel_requested", message=reason)
            return row["id"]
        if row["status"] in TERMINAL:
            raise IllegalTransition(f"Instruction {row['id'][:8]} is already {row['status']}: it cannot be "
                                    "canceled.")
        _move(conn, row, "canceled", "canceled", message=reason, sets={"finished_at": utcnow()})
        return row["id"]

    return _load(ws, _with(ws, work))


def _read(ws: Workspace) -> sqlite3.Connection:
    """Listing never writes (dashboards read while workers write)."""
    return _connection(ws, read_only=True)


def get_instruction(ws: Workspace, instruction_id: str, *, project_id: str | None = None) -> Instruction:
    conn = _read(ws)
    return Instruction.from_row(_row(conn, instruction_id, project_id))


def list_instructions(ws: Workspace, *, project_id: str | None = None, statuses: Iterable[str] | None = None,
                      session_id: str | None = None, limit: int = 200) -> list[Instruction]:
    """Newest first, optionally filtered by project, statuses and chat session."""
    where, params = [], []
    if project_id:
        where.append("project_id = ?")
        params.append(project_id)
    if session_id:
        where.append("session_id = ?")
        params.append(session_id)
    wanted = list(statuses or [])
    if wanted:
        where.append(f"status IN ({', '.join('?' for _ in wanted)})")
        params.extend(wanted)
    sql = "SELECT * FROM agent_instructions" + (f" WHERE {' AND '.join(where)}" if where else "")
    conn = _read(ws)
    rows = conn.execute(sql + " ORDER BY seq DESC LIMIT ?", (*params, int(limit))).fetchall()
    return [Instruction.from_row(row) for row in rows]


def list_instruction_events(ws: Workspace, instruction_id: str) -> list[dict[str, Any]]:
    """The instruction's event log, oldest first, with ``payload`` decoded."""
    conn = _read(ws)
    ident = _row(conn, instruction_id)["id"]
    rows = conn.execute("SELECT * FROM agent_instruction_events WHERE instruction_id = ? "
                        "ORDER BY seq", (ident,)).fetchall()
    out = []
    for row in rows:
        data = dict(row)
        data["payload"] = from_json(data.pop("payload_json"))
        out.append(data)
    return out


def count_by_status(ws: Workspace, project_id: str | None = None) -> dict[str, int]:
    """Every status with its count (0 when absent), for status answers and the queue dashboard."""
    conn = _read(ws)
    sql = "SELECT status, COUNT(*) AS n FROM agent_instructions"
    rows = conn.execute(sql + (" WHERE project_id = ? GROUP BY status" if project_id else " GROUP BY status"),
                        (project_id,) if project_id else ()).fetchall()
    counts = dict.fromkeys(STATUSES, 0)
    counts.update({row["status"]: int(row["n"]) for row in rows})
    return counts
