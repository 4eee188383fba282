"""Numbered, additive SQL migrations (``NNNN_name.sql``), applied in order and recorded in
``schema_migrations``. A migration never drops or rewrites data; later issues add files."""

from __future__ import annotations

import sqlite3
from importlib import resources

from kroma_kit.catalog.db import utcnow


def available_migrations() -> list[tuple[str, str]]:
    """``(version, sql)`` for every bundled migration, sorted by version."""
    folder = resources.files(__package__)
    found = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((name[:-4], entry.read_text(encoding="utf-8")))
    return sorted(found)


def applied_versions(conn: sqlite3.Connection) -> list[str]:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    return [row[0] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]


def migrate(conn: sqlite3.Connection) -> list[str]:
    """Apply pending migrations; return the versions applied now (empty when up to date).

    Each migration runs in its own ``BEGIN IMMEDIATE`` transaction and re-checks that it is still
    pending inside it, so two processes migrating at once apply each file exactly once.
    """
    done = set(applied_versions(conn))
    applied = []
    for version, sql in available_migrations():
        if version in done:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute("SELECT 1 FROM schema_migrations WHERE version = ?", (version,)).fetchone():
                conn.execute("ROLLBACK")
                continue
            for statement in split_sql(sql):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                         (version, utcnow()))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        applied.append(version)
    return applied


def migration_status(conn: sqlite3.Connection) -> list[dict[str, object]]:
    """Every known migration with whether (and when) it was applied."""
    applied_at = dict(conn.execute("SELECT version, applied_at FROM schema_migrations").fetchall()) \
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'schema_migrations'").fetchone() else {}
    return [{"version": v, "applied": v in applied_at, "applied_at": applied_at.get(v)}
            for v, _ in available_migrations()]


def split_sql(sql: str) -> list[str]:
    """Split a migration file into whole statements with :func:`sqlite3.complete_statement`, so a
    ``CREATE TRIGGER ... BEGIN ...; ...; END;`` or a ';' inside a literal stays one statement."""
    statements: list[str] = []
    pending = ""
    for line in sql.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statement = pending.strip()
            if _has_code(statement):
                statements.append(statement)
            pending = ""
    if _has_code(pending):
        statements.append(pending.strip())  # an unterminated last statement: let SQLite judge it
    return statements


def _has_code(text: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in text.splitlines())
