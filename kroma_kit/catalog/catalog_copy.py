"""``kroma db copy``: move a workspace's catalog between SQLite and PostgreSQL, verified.

Why a copy command and not a dump: the two engines share one migration history, so the target is
migrated by the same files and then filled table by table with the source's rows, read in one
consistent read transaction (SQLite ``BEGIN``; PostgreSQL ``REPEATABLE READ``). The whole fill is
one target transaction: rows are counted and checksummed on both sides before COMMIT, and any
difference rolls the target back untouched. Checksums are order-free (the sum of one SHA-256 per
row, numbers compared as numbers), so they agree whatever collation a server sorts text with.

A target holding data is refused unless ``replace=True`` (``--force``): a fresh catalog's only row,
the seeded ``local`` user, does not count. Not copied: ``schema_migrations`` (the target records
its own, and the two histories must match) and ``kroma_row_changes`` (the SQLite snapshot's change
log: a copied catalog starts with an empty log, so the first analytics snapshot copies whole).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kroma_kit.catalog.db import dialect
from kroma_kit.catalog.migrations import applied_versions, migrate
from kroma_kit.catalog.schema import (
    dangling_references,
    foreign_keys,
    parents_first,
    quote_ident,
    table_columns,
    user_tables,
)
from kroma_kit.errors import InputError, StorageError
from kroma_kit.postgres import is_postgres_url, redact
from kroma_kit.workspace import connect, connect_sqlite

SKIPPED = ("schema_migrations", "kroma_row_changes")
SEED_USER = "00000000-0000-4000-8000-000000000001"
_BATCH = 2000


@dataclass
class CopyReport:
    """What was copied: rows and checksum per table, both sides equal (else the copy failed)."""

    source: str
    target: str
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(t["rows"] for t in self.tables.values())

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "target": self.target, "rows": self.rows, "seconds": round(self.seconds, 3),
                "tables": self.tables}


def label(target: str | Path) -> str:
    return redact(str(target)) if is_postgres_url(target) else str(target)


def copy_catalog(source: str | Path, target: str | Path, *, replace: bool = False) -> CopyReport:
    """Copy every catalog row from ``source`` to ``target`` (a SQLite path or a postgresql:// URL)."""
    if str(source) == str(target) or (not is_postgres_url(target) and not is_postgres_url(source)
                                      and Path(target).resolve() == Path(source).resolve()):
        raise InputError("The copy's source and target are the same catalog.")
    if not is_postgres_url(source) and not Path(source).is_file():
        raise StorageError(f"No catalog at {source}.")
    started = time.perf_counter()
    report = CopyReport(label(source), label(target))
    src = connect(source, read_only=True)
    out = connect_sqlite(target) if not is_postgres_url(target) else connect(str(target))
    try:
        migrate(out)
        versions, theirs = applied_versions(out), _source_versions(src)
        if versions != theirs:
            raise StorageError(f"The source catalog's migrations ({', '.join(theirs) or 'none'}) differ from the "
                               f"target's ({', '.join(versions)}): run `kroma db migrate` on the source first.")
        tables = [t for t in user_tables(out) if t not in SKIPPED]
        missing = sorted(set(tables) - set(user_tables(src)))
        if missing:
            raise StorageError(f"The source catalog lacks tables {', '.join(missing)}.")
        held = {t: n for t in tables if (n := _count(out, t, seed_free=True))}
        if held and not replace:
            listed = ", ".join(f"{t} ({n})" for t, n in sorted(held.items()))
            raise InputError(f"The target catalog {report.target} already holds rows: {listed}. Copy into an "
                             "empty catalog, or pass --force to replace them.")
        src.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" if dialect(src) == "postgresql" else "BEGIN")
        _fill(src, out, tables, report)
    finally:
        src.close()
        out.close()
    report.seconds = time.perf_counter() - started
    return report


def _fill(src: Any, out: Any, tables: list[str], report: CopyReport) -> None:
    """One target transaction: clear, copy, verify; COMMIT only when every table agrees."""
    postgres = dialect(out) == "postgresql"
    if not postgres:
        out.execute("PRAGMA foreign_keys = OFF")  # any table order; checked whole before COMMIT
    out.execute("BEGIN IMMEDIATE")
    try:
        if postgres:
            out.execute("TRUNCATE " + ", ".join(quote_ident(t) for t in tables))
        else:
            for table in tables:
                out.execute(f"DELETE FROM {quote_ident(table)}")
        for table in parents_first(tables, {t: {fk.parent for fk in foreign_keys(out, t)} for t in tables}):
            columns = [c for c in table_columns(out, table) if c in set(table_columns(src, table))]
            rows = src.execute(f"SELECT {', '.join(quote_ident(c) for c in columns)} FROM {quote_ident(table)}")
            (_copy_pg if postgres else _copy_sqlite)(out, table, columns, rows)
            want, got = _fingerprint(src, table, columns), _fingerprint(out, table, columns)
            if want != got:
                raise StorageError(f"Copy check failed for {table}: source {want[0]} rows ({want[1][:12]}), "
                                   f"target {got[0]} rows ({got[1][:12]}); the target was left unchanged.")
            report.tables[table] = {"rows": want[0], "sha256": want[1]}
        if not postgres:
            problems = dangling_references(out)
            if problems:
                raise StorageError(f"The copied rows break {len(problems)} foreign keys (first: {tuple(problems[0])}); "
                                   "the target was left unchanged.")
        out.execute("COMMIT")
    except BaseException:
        if out.in_transaction:
            out.execute("ROLLBACK")
        raise
    finally:
        if not postgres:
            out.execute("PRAGMA foreign_keys = ON")


def _copy_pg(out: Any, table: str, columns: list[str], rows: Any) -> None:
    """PostgreSQL's ``COPY ... FROM STDIN``: one statement per table (foreign keys are checked at
    its end, so a table referring to itself loads in any order)."""
    import psycopg

    try:
        listed = ", ".join(quote_ident(c) for c in columns)
        with out.raw.cursor().copy(f"COPY {quote_ident(table)} ({listed}) FROM STDIN") as pipe:
            for row in rows:
                pipe.write_row(tuple(row))
    except psycopg.Error as exc:
        raise StorageError(f"Copying {table} into PostgreSQL failed: {str(exc).strip()}") from exc


def _copy_sqlite(out: Any, table: str, columns: list[str], rows: Any) -> None:
    listed = ", ".join(quote_ident(c) for c in columns)
    sql = f"INSERT INTO {quote_ident(table)} ({listed}) VALUES ({', '.join('?' * len(columns))})"
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(tuple(row))
        if len(batch) >= _BATCH:
            out.executemany(sql, batch)
            batch.clear()
    if batch:
        out.executemany(sql, batch)


def _fingerprint(conn: Any, table: str, columns: list[str]) -> tuple[int, str]:
    """``(rows, checksum)``: the sum of each row's SHA-256, so row order does not matter."""
    total, count = 0, 0
    for row in conn.execute(f"SELECT {', '.join(quote_ident(c) for c in columns)} FROM {quote_ident(table)}"):
        text = json.dumps([float(v) if isinstance(v, int | float) and not isinstance(v, bool) else v for v in row],
                          ensure_ascii=False, default=str)
        total = (total + int.from_bytes(hashlib.sha256(text.encode()).digest(), "big")) % (1 << 256)
        count += 1
    return count, f"{total:064x}"


def _count(conn: Any, table: str, *, seed_free: bool = False) -> int:
    extra = f" WHERE id <> '{SEED_USER}'" if seed_free and table == "app_users" else ""
    return int(conn.execute(f"SELECT COUNT(*) FROM {quote_ident(table)}{extra}").fetchone()[0])


def _source_versions(conn: Any) -> list[str]:
    return [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
