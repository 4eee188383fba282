"""The PostgreSQL dialect layer (kroma_kit/postgres.py): the catalog's sqlite3-style SQL, rows,
transactions and errors behave the same on a real PostgreSQL server."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from kroma_kit.catalog.db import connect, new_id, pipelined, table_exists, transaction, utcnow
from kroma_kit.catalog.migrations import available_migrations, migrate, migration_status
from kroma_kit.errors import StorageError
from kroma_kit.postgres import Row, redact, translate
from kroma_kit.workspace import Workspace, catalog_url_from_env
from tests.conftest import REPO_ROOT

# --------------------------------------------------------------------------- translation, no server

def test_placeholders_outside_quotes_become_percent_s_and_percent_is_escaped() -> None:
    sql, params = translate("SELECT id FROM runs WHERE id LIKE ? AND note = 'a?b%' AND x = \"q?\"")
    assert params and sql == "SELECT id FROM runs WHERE id LIKE %s AND note = 'a?b%%' AND x = \"q?\""
    raw, none = translate("SELECT '50%' FROM t WHERE a LIKE 'x%'")  # no parameters: sent as written
    assert not none and raw == "SELECT '50%' FROM t WHERE a LIKE 'x%'"
    named, has = translate("UPDATE t SET a = :a WHERE b = :b AND c = 'x:y' AND d = e::text", True)
    assert has and named == "UPDATE t SET a = %(a)s WHERE b = %(b)s AND c = 'x:y' AND d = e::text"


def test_sqlite_only_forms_are_ported_or_refused_with_a_reason() -> None:
    assert translate("INSERT OR IGNORE INTO t (a) VALUES (?) RETURNING a")[0] == \
        "INSERT INTO t (a) VALUES (%s) ON CONFLICT DO NOTHING RETURNING a"
    assert translate("INSERT OR IGNORE INTO t (a) VALUES (1);")[0] == "INSERT INTO t (a) VALUES (1) ON CONFLICT DO NOTHING"
    assert translate("SELECT IFNULL(a, 0) FROM t")[0] == "SELECT COALESCE(a, 0) FROM t"
    assert translate("BEGIN IMMEDIATE")[0] != translate("BEGIN")[0] == "BEGIN"
    assert translate("PRAGMA foreign_keys = ON")[0] is None  # a setting PostgreSQL has its own way
    with pytest.raises(sqlite3.NotSupportedError, match="SQLite-only"):
        translate("PRAGMA table_info(runs)")
    with pytest.raises(sqlite3.NotSupportedError, match="ON CONFLICT"):
        translate("INSERT OR REPLACE INTO t (a) VALUES (?)")


def test_rows_read_like_sqlite3_rows() -> None:
    row = Row(["id", "jobsFailed"], {"id": 0, "jobsfailed": 1}, ("r1", 2))
    assert row[0] == row["ID"] == "r1" and row["jobsfailed"] == 2 and row[-1] == 2
    assert dict(row) == {"id": "r1", "jobsFailed": 2} and tuple(row) == ("r1", 2) and row.keys() == ["id", "jobsFailed"]
    with pytest.raises(IndexError):
        row["nope"]


def test_a_bad_catalog_url_is_refused_and_passwords_are_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KROMA_CATALOG_URL", "mysql://x")
    with pytest.raises(StorageError, match="postgresql://"):
        catalog_url_from_env()
    assert redact("postgresql://kroma:s3cret@db:5432/kroma") == "postgresql://kroma:***@db:5432/kroma"
    with pytest.raises(sqlite3.OperationalError) as caught:
        connect("postgresql://kroma:s3cret@127.0.0.1:1/none")
    assert "s3cret" not in str(caught.value) and "unable to open the PostgreSQL catalog" in str(caught.value)


# --------------------------------------------------------------------------- a real server

@pytest.fixture
def pg_url(pg_server):
    url = pg_server.new_database()
    yield url
    pg_server.release(url)


def test_migrations_port_apply_once_and_record_the_same_history(pg_server) -> None:
    url = pg_server.new_database(migrated=False)
    conn = connect(url)
    try:
        assert migrate(conn) == [version for version, _ in available_migrations()]
        assert migrate(conn) == []
        assert all(row["applied"] for row in migration_status(conn))
        assert table_exists(conn, "agent_instructions") and not table_exists(conn, "nope")
        assert [tuple(r) for r in conn.execute("SELECT username FROM app_users")] == [("local",)]
        kinds = dict(conn.execute("SELECT column_name, data_type FROM information_schema.columns "
                                  "WHERE table_name = 'runs' AND column_name IN ('pid', 'actual_cost_usd')").fetchall())
        assert kinds == {"pid": "bigint", "actual_cost_usd": "double precision"}  # SQLite's widths
    finally:
        conn.close()
        pg_server.release(url)


def test_two_processes_migrating_one_database_apply_each_migration_once(pg_server) -> None:
    url = pg_server.new_database(migrated=False)
    code = "import sys; from kroma_kit.catalog.db import connect; from kroma_kit.catalog.migrations import migrate; " \
           "print(len(migrate(connect(sys.argv[1]))))"
    procs = [subprocess.Popen([sys.executable, "-c", code, url], stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT,
                              env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"}) for _ in range(2)]
    counts = [int(p.communicate(timeout=60)[0].strip()) for p in procs]
    assert sum(counts) == len(available_migrations())  # each applied by exactly one of them
    conn = connect(url)
    assert conn.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0] == len(available_migrations())
    conn.close()
    pg_server.release(url)


def test_integrity_errors_are_sqlite3_errors_and_the_connection_stays_usable(pg_url) -> None:
    conn = connect(pg_url)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="foreign key"):
            with transaction(conn):
                conn.execute("INSERT INTO audit_events (id, project_id, event_code, payload_json, created_at) "
                             "VALUES (?, ?, 'x', '{}', ?)", (new_id(), "no-such-project", utcnow()))
        assert not conn.in_transaction
        with transaction(conn):
            conn.execute("INSERT INTO audit_events (id, event_code, payload_json, created_at) VALUES (?, ?, '{}', ?)",
                         (new_id(), "ok", utcnow()))
        assert conn.execute("SELECT COUNT(*) AS n FROM audit_events").fetchone()["n"] == 1
        reader = connect(pg_url, read_only=True)
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            reader.execute("DELETE FROM audit_events")
        reader.close()
    finally:
        conn.close()


def test_pipelined_statements_return_rows_and_raise_mapped_errors(pg_url) -> None:
    """Inside pipelined(): RETURNING and SELECT rows arrive (the fetch syncs), statements without
    rows fetch nothing, and a failing statement raises the sqlite3 error and rolls back the lot."""
    conn = connect(pg_url)
    try:
        with transaction(conn), pipelined(conn):
            first = conn.execute("INSERT INTO audit_events (id, event_code, payload_json, created_at) "
                                 "VALUES (?, 'a', '{}', ?) RETURNING id", ("e1", utcnow())).fetchone()
            assert first["id"] == "e1"
            assert conn.execute("UPDATE audit_events SET event_code = 'b' WHERE id = 'e1'").fetchone() is None
            assert conn.execute("SELECT event_code FROM audit_events WHERE id = 'e1'").fetchall()[0][0] == "b"
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY constraint failed"):
            with transaction(conn), pipelined(conn):
                conn.execute("INSERT INTO audit_events (id, event_code, payload_json, created_at) "
                             "VALUES (?, 'kept?', '{}', ?)", ("e2", utcnow()))
                conn.execute("INSERT INTO audit_events (id, project_id, event_code, payload_json, created_at) "
                             "VALUES (?, 'no-such-project', 'x', '{}', ?)", ("e3", utcnow()))
                conn.execute("INSERT INTO audit_events (id, event_code, payload_json, created_at) "
                             "VALUES (?, 'after', '{}', ?)", ("e4", utcnow()))
        assert not conn.in_transaction
        assert [r[0] for r in conn.execute("SELECT id FROM audit_events ORDER BY id")] == ["e1"]
    finally:
        conn.close()


def test_begin_immediate_queues_writers_like_sqlites_write_lock(pg_url) -> None:
    """Two writers: the second ``BEGIN IMMEDIATE`` waits until the first commits."""
    first, second = connect(pg_url), connect(pg_url)
    order: list[str] = []

    def later() -> None:
        with transaction(second):
            order.append("second")

    try:
        with transaction(first):
            worker = threading.Thread(target=later)
            worker.start()
            time.sleep(0.5)
            order.append("first")
        worker.join(timeout=30)
        assert order == ["first", "second"]
    finally:
        first.close()
        second.close()


def test_the_workspace_selects_postgresql_from_the_environment(pg_url, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from kroma_kit.catalog import open_workspace
    from kroma_kit.catalog.projects import create_project, list_projects

    monkeypatch.setenv("KROMA_CATALOG_URL", pg_url)
    ws = open_workspace(tmp_path / "home")
    assert ws.engine == "postgresql" and ws.catalog_url == pg_url
    create_project(ws, "pg", "On PostgreSQL")
    assert [p["slug"] for p in list_projects(ws)] == ["pg"]
    assert not (tmp_path / "home" / "catalog.db").exists()  # no SQLite file was made
    monkeypatch.delenv("KROMA_CATALOG_URL")
    assert Workspace(tmp_path / "home").engine == "sqlite"
