"""Catalog connections: SQLite in WAL mode, foreign keys on, a busy timeout, short transactions
(or PostgreSQL through :mod:`kroma_kit.postgres`, same surface).

Many processes share the catalog (JupyterLab kernels, one Voilà kernel per tab, the worker, the
CLI): WAL lets them all read while one writes. Connections are never shared across threads.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from kroma_kit.clock import utcnow
from kroma_kit.postgres import FOREIGN_KEY_FAILED
from kroma_kit.sqlite_held import HeldConnection, holding
from kroma_kit.workspace import BUSY_TIMEOUT_MS, connect, connect_sqlite

__all__ = ["BUSY_TIMEOUT_MS", "connect", "dialect", "from_json", "held_open", "is_foreign_key_failure", "new_id",
           "pipelined", "row_dict", "table_exists", "to_json", "transaction", "utcnow"]


def dialect(conn: Any) -> str:
    """``"postgresql"`` or ``"sqlite"``: the engine behind a catalog connection, for the few
    statements that differ (locking clauses, catalog discovery)."""
    return getattr(conn, "dialect", "sqlite")


def is_foreign_key_failure(exc: BaseException) -> bool:
    """Whether ``exc`` is a write refused because a row names a parent row that does not exist:
    SQLite's "FOREIGN KEY constraint failed", which the PostgreSQL layer words the same way."""
    return isinstance(exc, sqlite3.IntegrityError) and FOREIGN_KEY_FAILED in str(exc)


@contextmanager
def held_open(ws: Any) -> Iterator[None]:
    """Hold one connection to ``ws``'s SQLite catalog for the block, and lend it to this thread's
    short connections (:mod:`kroma_kit.sqlite_held`).

    Two costs a run paid a dozen times: when the last connection to a WAL database closes, SQLite
    checkpoints the WAL into the file and deletes it (fsyncs: ~3 ms on an idle disk, more on a busy
    one), and a new connection parses the schema at its first statement (~1 ms). A run opens and
    closes a dozen short connections one after another (planning lookups, its first rows, the
    stage cache, the closing ingest). Between loans the held connection has no statement running,
    so it holds no snapshot: it blocks neither writers nor checkpoints, and the close at the end of
    the block checkpoints once. PostgreSQL needs none: nothing is held there."""
    if getattr(ws, "engine", "sqlite") != "sqlite":
        yield
        return
    with holding(ws.catalog_path, lambda: connect_sqlite(ws.catalog_path, factory=HeldConnection)):
        yield


@contextmanager
def pipelined(conn: Any) -> Iterator[Any]:
    """Batch the block's statements where the engine can (PostgreSQL's pipeline mode, see
    :meth:`kroma_kit.postgres.Connection.pipelined`); on SQLite, in-process, nothing to batch."""
    if dialect(conn) == "postgresql":
        with conn.pipelined():
            yield conn
    else:
        yield conn


def table_exists(conn: Any, name: str) -> bool:
    """Whether the catalog has table ``name`` (``sqlite_master`` / ``information_schema``)."""
    if dialect(conn) == "postgresql":
        sql = ("SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() "
               "AND table_name = ?")
    else:
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    return conn.execute(sql, (name,)).fetchone() is not None


@contextmanager
def transaction(conn: sqlite3.Connection, *, on_commit_error: Callable[[], None] | None = None,
                rollback: bool = False, row_locks: bool = False) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (rollback on error). Takes the write lock up front so
    two writers queue on the busy timeout instead of failing on lock upgrade (on PostgreSQL the
    same statement takes the catalog's advisory write lock: :mod:`kroma_kit.postgres`).

    A COMMIT that fails is rolled back too, after ``on_commit_error`` (what the caller wrote
    outside the database in the same step, put back: the winner override's run log).
    ``rollback`` ends a successful block with ROLLBACK instead: a dry run that computes its
    change counts with the real statements and keeps none of them.
    ``row_locks``: on PostgreSQL, an ordinary transaction without the catalog's write lock, for a
    block that locks the rows it touches itself (``FOR UPDATE SKIP LOCKED``), so such blocks run
    side by side; SQLite has one write lock and takes it as always."""
    conn.execute("BEGIN" if row_locks and dialect(conn) == "postgresql" else "BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    if rollback:
        conn.execute("ROLLBACK")
        return
    try:
        conn.execute("COMMIT")
    except BaseException:
        try:
            if on_commit_error is not None:
                on_commit_error()
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        raise


def new_id() -> str:
    """A new UUID4 as text (the seed's id format)."""
    return str(uuid.uuid4())


def to_json(value: Any) -> str:
    """Compact JSON for ``*_json`` columns."""
    return json.dumps(value if value is not None else {}, ensure_ascii=False, sort_keys=True, default=str)


def from_json(text: str | None, default: Any = None) -> Any:
    if not text:
        return {} if default is None else default
    return json.loads(text)


def row_dict(row: sqlite3.Row | None) -> dict[str, Any] | None:
    return dict(row) if row is not None else None
