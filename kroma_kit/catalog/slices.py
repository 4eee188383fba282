"""One project's slice of the catalog, discovered from the schema, and copying it between catalogs.

A table belongs to a project when it has a ``project_id`` column, or a foreign key into a table
that does (``run_jobs.run_id -> runs``, ``run_candidates.job_id -> run_jobs``, ...), followed to
any depth. Tables added by later migrations (knowledge, copilot, ...) are found the same way, so
exports never need a fixed list. Secrets and machine-local sync state never leave the workspace.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any

from kroma_kit.catalog.db import dialect, table_exists
from kroma_kit.catalog.schema import (
    ForeignKey,
    dangling_references,
    foreign_keys,
    parents_first,
    primary_key,
    quote_ident,
    rows_parents_first,
    table_columns,
    unique_keys,
    user_tables,
)

NEVER_EXPORTED = frozenset({"project_api_secrets", "project_sync_state", "sync_runs", "schema_migrations",
                            "storage_pending_uploads"})
# Handled by the bundle service itself: the project row and its storage policy belong to the
# workspace that holds it (paths, buckets), users are matched by name.
SPECIAL_TABLES = frozenset({"projects", "project_storage", "app_users"})


@dataclass
class TableSlice:
    """The rows of ``table`` that belong to project ``:pid`` (``where`` uses that parameter)."""

    table: str
    where: str
    columns: list[str] = field(default_factory=list)
    primary_key: list[str] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)


def table_info(conn: sqlite3.Connection, table: str) -> tuple[list[str], list[str], list[ForeignKey]]:
    """``(columns, primary key, foreign keys)`` of ``table``, on either engine."""
    return table_columns(conn, table), primary_key(conn, table), foreign_keys(conn, table)


def project_slices(conn: sqlite3.Connection) -> list[TableSlice]:
    """Every exportable project-scoped table with its WHERE clause, parents before children."""
    info = {t: table_info(conn, t) for t in user_tables(conn) if t not in NEVER_EXPORTED}
    where: dict[str, str] = {"projects": "id = :pid"}
    changed = True
    while changed:
        changed = False
        for table, (columns, _pk, fks) in info.items():
            if table in where or table == "app_users":
                continue
            if "project_id" in columns:
                where[table] = "project_id = :pid"
                changed = True
                continue
            links = [fk for fk in fks if fk.parent in where and fk.parent != table]
            if links:
                where[table] = " OR ".join(
                    f"{quote_ident(fk.column)} IN (SELECT {quote_ident(fk.parent_column)} "
                    f"FROM {quote_ident(fk.parent)} WHERE {where[fk.parent]})"
                    for fk in links)
                changed = True
    ordered = parents_first([t for t in where if t in info],
                            {t: [fk.parent for fk in info[t][2]] for t in where if t in info})
    return [TableSlice(t, where[t], *info[t]) for t in ordered]


def unscoped_tables(conn: sqlite3.Connection) -> list[str]:
    """Tables that hold no project rows (workspace-wide), for the export's metadata."""
    scoped = {s.table for s in project_slices(conn)}
    return [t for t in user_tables(conn) if t not in scoped and t not in NEVER_EXPORTED and t != "app_users"]


def slice_rows(conn: sqlite3.Connection, part: TableSlice, project_id: str) -> list[dict[str, Any]]:
    """The slice's rows; in a table referring to itself (``character_images.parent_image_id``) each
    row comes after the row it names, so it can be inserted where keys are checked row by row
    (PostgreSQL) and its parent's new id is known when ids are remapped."""
    cols = ", ".join(quote_ident(c) for c in part.columns)
    rows = [dict(zip(part.columns, row, strict=True)) for row in
            conn.execute(f"SELECT {cols} FROM {quote_ident(part.table)} WHERE {part.where}", {"pid": project_id})]
    for fk in part.foreign_keys:
        if fk.parent == part.table:
            rows = rows_parents_first(rows, fk.parent_column, fk.column)
    return rows


def slice_has_row(conn: sqlite3.Connection, part: TableSlice, project_id: str, key: dict[str, Any]) -> bool:
    """Whether the row with primary key ``key`` exists inside project ``project_id``'s slice."""
    cond = " AND ".join(f"{quote_ident(c)} = :k_{i}" for i, c in enumerate(key))
    params = {"pid": project_id, **{f"k_{i}": v for i, v in enumerate(key.values())}}
    return conn.execute(f"SELECT 1 FROM {quote_ident(part.table)} WHERE {cond} AND ({part.where})", params).fetchone() \
        is not None


def row_exists(conn: sqlite3.Connection, table: str, key: dict[str, Any]) -> bool:
    cond = " AND ".join(f"{quote_ident(c)} = ?" for c in key)
    return conn.execute(f"SELECT 1 FROM {quote_ident(table)} WHERE {cond}", tuple(key.values())).fetchone() is not None


def insert_row(conn: sqlite3.Connection, table: str, row: dict[str, Any], *,
               target_columns: set[str] | None = None) -> bool:
    """Insert ``row`` (only columns the target has; pass ``target_columns`` when inserting many);
    False when a unique key already held it."""
    known = target_columns if target_columns is not None else set(table_info(conn, table)[0])
    cols = [c for c in row if c in known]
    sql = (f"INSERT INTO {quote_ident(table)} ({', '.join(quote_ident(c) for c in cols)}) VALUES "
           f"({', '.join('?' for _ in cols)}) ON CONFLICT DO NOTHING")
    return conn.execute(sql, tuple(row[c] for c in cols)).rowcount > 0


def count_rows(conn: sqlite3.Connection, table: str) -> int:
    return int(conn.execute(f"SELECT COUNT(*) FROM {quote_ident(table)}").fetchone()[0])


def project_row(conn: sqlite3.Connection, project_id: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT * FROM projects WHERE id = ?", (project_id,)).fetchone()
    return dict(zip([d[0] for d in conn.execute("SELECT * FROM projects LIMIT 0").description], row, strict=True)) \
        if row else None


def users_for(conn: sqlite3.Connection, project_id: str) -> list[dict[str, Any]]:
    """The owner and every audit actor of a project (rows a bundle needs for its foreign keys)."""
    rows = conn.execute(
        "SELECT * FROM app_users WHERE id IN (SELECT owner_user_id FROM projects WHERE id = ?) "
        "OR id IN (SELECT actor_user_id FROM audit_events WHERE project_id = ?)", (project_id, project_id))
    names = [d[0] for d in rows.description]
    return [dict(zip(names, r, strict=True)) for r in rows.fetchall()]


def get_export(conn: sqlite3.Connection, project_id: str, export_id: str) -> dict[str, Any] | None:
    """One export of the project (None when the id is unknown or belongs to another project)."""
    rows = conn.execute("SELECT * FROM project_exports WHERE project_id = ? AND id = ?", (project_id, export_id))
    names = [d[0] for d in rows.description]
    row = rows.fetchone()
    return dict(zip(names, row, strict=True)) if row is not None else None


def user_id_by_name(conn: sqlite3.Connection, username: str) -> str | None:
    row = conn.execute("SELECT id FROM app_users WHERE username = ?", (username,)).fetchone()
    return row[0] if row else None


def retire_project(conn: sqlite3.Connection, project_id: str, new_slug: str, pinned_root: str, now: str) -> None:
    """Move a project out of the way of a replacing import: archived, renamed, root pinned."""
    conn.execute("UPDATE projects SET slug = ?, status = 'archived', updated_at = ? WHERE id = ?",
                 (new_slug, now, project_id))
    conn.execute("UPDATE project_storage SET local_project_root = ?, updated_at = ? WHERE project_id = ?",
                 (pinned_root, now, project_id))


def record_export(conn: sqlite3.Connection, export_id: str, project_id: str, asset_id: str | None, fmt: str,
                  sha256: str | None, output_path: str, include_files: bool, metadata_json: str, now: str) -> None:
    conn.execute(
        "INSERT INTO project_exports (id, project_id, export_asset_id, format, sha256, output_path, include_files, "
        "metadata_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (export_id, project_id, asset_id, fmt, sha256, output_path, int(include_files), metadata_json, now))


def secret_names(conn: sqlite3.Connection, project_id: str) -> list[dict[str, str]]:
    rows = conn.execute("SELECT provider_code, secret_name FROM project_api_secrets WHERE project_id = ? "
                        "ORDER BY provider_code, secret_name", (project_id,))
    return [{"provider_code": r[0], "secret_name": r[1]} for r in rows]


def find_conflicting_id(conn: sqlite3.Connection, table: str, row: dict[str, Any]) -> str | None:
    """The ``id`` of the row that holds one of ``row``'s unique keys (other than ``id``), if any."""
    for cols in unique_keys(conn, table):
        if cols == ["id"] or any(c not in row for c in cols):
            continue
        cond = " AND ".join(f"{quote_ident(c)} = ?" for c in cols)
        found = conn.execute(f"SELECT id FROM {quote_ident(table)} WHERE {cond}", tuple(row[c] for c in cols)).fetchone()
        if found:
            return found[0]
    return None


def migration_versions(conn: sqlite3.Connection) -> list[str]:
    """Applied migration versions of a catalog opened read-only (empty when it has none)."""
    if not table_exists(conn, "schema_migrations"):
        return []
    return [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]


def list_exports(conn: sqlite3.Connection, project_id: str, limit: int = 50) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT * FROM project_exports WHERE project_id = ? ORDER BY created_at DESC LIMIT ?",
                        (project_id, limit))
    names = [d[0] for d in rows.description]
    return [dict(zip(names, r, strict=True)) for r in rows.fetchall()]


def copy_project_slice(source: sqlite3.Connection, out: sqlite3.Connection, project_id: str) -> dict[str, int]:
    """Copy project ``project_id``'s rows (and the users they name) from ``source`` into ``out``, a
    freshly migrated catalog; answer the row count per table. Raises ValueError naming the first
    dangling reference, so a broken slice is never shipped."""
    counts: dict[str, int] = {}
    out.execute("PRAGMA foreign_keys = OFF")
    out.execute("BEGIN")
    try:
        for user in users_for(source, project_id):
            insert_row(out, "app_users", user)
        for part in project_slices(source):
            rows = slice_rows(source, part, project_id)
            columns = set(table_info(out, part.table)[0])
            for row in rows:
                insert_row(out, part.table, row, target_columns=columns)
            counts[part.table] = len(rows)
    except BaseException:
        out.execute("ROLLBACK")
        raise
    out.execute("COMMIT")
    problems = dangling_references(out)
    if problems:
        raise ValueError(f"{len(problems)} dangling reference(s), first in table {problems[0][0]}")
    out.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal beside it
    return counts


def begin_import(conn: sqlite3.Connection) -> None:
    """Start the write transaction an import runs in. SQLite checks its foreign keys at COMMIT
    (the slices' rows are then checked whole with :func:`dangling_references`); PostgreSQL checks
    each row as it lands (the migrations declare no key DEFERRABLE), so rows must arrive parents
    first, as :func:`project_slices` and :func:`slice_rows` order them, and a missing parent fails
    the INSERT itself (:func:`kroma_kit.catalog.db.is_foreign_key_failure`)."""
    conn.execute("BEGIN IMMEDIATE")
    if dialect(conn) != "postgresql":
        conn.execute("PRAGMA defer_foreign_keys = ON")


def commit(conn: sqlite3.Connection) -> None:
    conn.execute("COMMIT")


def rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def storage_s3_fields(conn: sqlite3.Connection, project_id: str) -> dict[str, Any]:
    """The ``s3_*`` columns of a project's storage policy (empty when it has none)."""
    row = conn.execute("SELECT * FROM project_storage WHERE project_id = ?", (project_id,)).fetchone()
    if row is None:
        return {}
    names = row.keys() if hasattr(row, "keys") else []
    return {k: row[k] for k in names if k.startswith("s3_")}
