"""Migrations apply once, in order, and re-running them changes nothing."""

from __future__ import annotations

import sqlite3
from multiprocessing import get_context
from pathlib import Path

from kroma_kit.catalog.db import connect
from kroma_kit.catalog.migrations import available_migrations, migrate, migration_status

REQUIRED_TABLES = {"app_users", "projects", "project_storage", "runs", "run_jobs", "run_candidates", "assets",
                   "asset_links", "quality_reports", "cost_events", "prompt_templates", "provider_accounts",
                   "audit_events", "schema_migrations"}


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_fresh_catalog_gets_every_table_and_records_each_migration(tmp_path: Path) -> None:
    conn = connect(tmp_path / "catalog.db")
    applied = migrate(conn)
    assert applied == [version for version, _ in available_migrations()]
    assert REQUIRED_TABLES <= _tables(conn)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert [r[0] for r in conn.execute("SELECT username FROM app_users")] == ["local"]
    assert all(row["applied"] for row in migration_status(conn))


def test_migrate_is_idempotent_and_keeps_data(tmp_path: Path) -> None:
    conn = connect(tmp_path / "catalog.db")
    migrate(conn)
    conn.execute("INSERT INTO audit_events (id, event_code, payload_json, created_at) VALUES ('a', 'x', '{}', 'now')")
    assert migrate(conn) == []
    assert migrate(connect(tmp_path / "catalog.db")) == []
    assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] == len(available_migrations())
    assert conn.execute("SELECT count(*) FROM app_users").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM audit_events").fetchone()[0] == 1


def _migrate_in_child(path: str) -> int:
    return len(migrate(connect(path)))


def test_two_processes_migrating_at_once_apply_each_migration_once(tmp_path: Path) -> None:
    path = str(tmp_path / "catalog.db")
    with get_context("spawn").Pool(3) as pool:
        counts = pool.map(_migrate_in_child, [path] * 3)
    assert sum(counts) == len(available_migrations())
    conn = connect(path)
    assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] == len(available_migrations())


def test_required_indexes_exist(tmp_path: Path) -> None:
    conn = connect(tmp_path / "catalog.db")
    migrate(conn)
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    for name in ("idx_runs_project_created", "idx_run_jobs_run_status", "idx_assets_project_kind_created",
                 "idx_assets_project_sha", "idx_cost_events_project_created", "idx_quality_reports_project_created"):
        assert name in indexes


def test_a_migration_with_a_trigger_and_a_semicolon_in_a_literal_runs_whole(tmp_path: Path) -> None:
    from kroma_kit.catalog.migrations import split_sql

    sql = (
        "-- a comment; with a semicolon\n"
        "CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT NOT NULL DEFAULT 'a;b', edits INTEGER NOT NULL DEFAULT 0);\n"
        "CREATE TRIGGER notes_edit AFTER UPDATE OF body ON notes\nBEGIN\n"
        "  UPDATE notes SET edits = edits + 1 WHERE id = NEW.id;\nEND;\n"
    )
    statements = split_sql(sql)
    assert len(statements) == 2 and statements[1].endswith("END;")
    conn = connect(tmp_path / "catalog.db")
    for statement in statements:
        conn.execute(statement)
    conn.execute("INSERT INTO notes (id) VALUES ('n1')")
    conn.execute("UPDATE notes SET body = 'x;y' WHERE id = 'n1'")
    assert tuple(conn.execute("SELECT body, edits FROM notes").fetchone()) == ("x;y", 1)
