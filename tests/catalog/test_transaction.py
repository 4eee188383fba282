"""A catalog write is all or nothing, and a COMMIT that fails undoes what the caller wrote beside
the database in the same step (the winner override's run log)."""

from __future__ import annotations

import sqlite3

import pytest

from kroma_kit.catalog.audit import record_event
from kroma_kit.catalog.db import held_open, transaction
from kroma_kit.workspace import Workspace


def audit_rows(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT COUNT(*) FROM audit_events").fetchone()[0]


@pytest.mark.sqlite_only  # a deferred foreign key failing at COMMIT is SQLite's pragma
def test_a_failed_commit_is_rolled_back_after_the_caller_puts_its_side_back(workspace):
    conn = workspace.connect()
    undone = []
    try:
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            with transaction(conn, on_commit_error=lambda: undone.append(conn.in_transaction)):
                # A deferred foreign key is checked at COMMIT: the commit itself fails.
                conn.execute("PRAGMA defer_foreign_keys = ON")
                record_event(conn, "test.orphan", {}, project_id="no-such-project")
        assert undone == [True]  # called before the rollback
        assert not conn.in_transaction and audit_rows(conn) == 0
        with transaction(conn):  # the connection is usable again
            record_event(conn, "test.fine", {})
        assert audit_rows(conn) == 1
    finally:
        conn.close()


def test_an_error_inside_rolls_back_without_the_commit_hook(workspace):
    conn = workspace.connect()
    undone = []
    try:
        with pytest.raises(RuntimeError):
            with transaction(conn, on_commit_error=lambda: undone.append(True)):
                record_event(conn, "test.dropped", {})
                raise RuntimeError("step failed")
        assert undone == [] and audit_rows(conn) == 0
    finally:
        conn.close()


def test_a_held_connection_keeps_short_connections_from_checkpointing_the_wal(tmp_path):
    """held_open: while it holds, closing a short connection leaves the WAL in place (no checkpoint
    and delete per close); the close at the end of the block checkpoints it once."""
    ws = Workspace(tmp_path, catalog_url=None)
    wal = tmp_path / "catalog.db-wal"

    def write_once() -> None:
        conn = ws.connect()
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS notes (text TEXT)")
            conn.execute("INSERT INTO notes VALUES ('x')")
        finally:
            conn.close()

    write_once()
    assert not wal.exists()  # the last connection closed: checkpointed and deleted
    with held_open(ws):
        write_once()
        assert wal.exists() and wal.stat().st_size > 0
    assert not wal.exists()
    conn = ws.connect()
    try:
        assert conn.execute("SELECT COUNT(*) FROM notes").fetchone()[0] == 2
    finally:
        conn.close()
