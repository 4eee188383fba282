"""What the catalog's schema holds, asked of either engine: tables, columns, keys, references.

Why one module: the code that moves rows between catalogs (``kroma db copy``, project bundles)
must discover the schema rather than keep a list of tables, so tables added by later migrations
travel too. SQLite answers through ``sqlite_master`` and its pragmas; PostgreSQL through
``information_schema`` and ``pg_catalog`` (its reading pragmas do not exist). Both answers have
the same shape, so callers never branch on the engine for discovery.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kroma_kit.catalog.db import dialect
from kroma_kit.errors import StorageError


@dataclass(frozen=True)
class ForeignKey:
    """``table.column`` refers to ``parent.parent_column`` (one row per column of a key)."""

    column: str
    parent: str
    parent_column: str


def quote_ident(name: str) -> str:
    """``name`` as a double-quoted SQL identifier (both engines)."""
    return '"' + name.replace('"', '""') + '"'


def user_tables(conn: Any) -> list[str]:
    """The catalog's tables, sorted (SQLite's internal ``sqlite_*`` tables left out)."""
    if dialect(conn) == "postgresql":
        sql = ("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
               "AND table_type = 'BASE TABLE' ORDER BY table_name")
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite!_%' ESCAPE '!' ORDER BY name"
    return [r[0] for r in conn.execute(sql)]


def table_columns(conn: Any, table: str) -> list[str]:
    """``table``'s columns in declaration order."""
    if dialect(conn) == "postgresql":
        return [r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = ? ORDER BY ordinal_position", (table,))]
    return [r[1] for r in conn.execute(f"PRAGMA table_info({quote_ident(table)})")]


_PG_PRIMARY = ("SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
               "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = CAST(? AS regclass) AND i.indisprimary "
               "ORDER BY array_position(CAST(i.indkey AS int2[]), a.attnum)")
_PG_FOREIGN = ("SELECT a.attname, parent.relname, af.attname FROM pg_constraint c "
               "JOIN pg_class parent ON parent.oid = c.confrelid "
               "CROSS JOIN LATERAL unnest(c.conkey, c.confkey) AS k(col, fcol) "
               "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.col "
               "JOIN pg_attribute af ON af.attrelid = c.confrelid AND af.attnum = k.fcol "
               "WHERE c.contype = 'f' AND c.conrelid = CAST(? AS regclass) ORDER BY c.conname, a.attnum")
# Unique indexes over plain columns (partial ones included: ON CONFLICT DO NOTHING meets them too).
_PG_UNIQUE = ("SELECT i.indexrelid, a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
              "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = CAST(? AS regclass) AND i.indisunique "
              "AND i.indexprs IS NULL ORDER BY i.indexrelid, array_position(CAST(i.indkey AS int2[]), a.attnum)")


def primary_key(conn: Any, table: str) -> list[str]:
    """``table``'s primary-key columns in key order (empty when it has none)."""
    if dialect(conn) == "postgresql":
        return [r[0] for r in conn.execute(_PG_PRIMARY, (quote_ident(table),))]
    cols = conn.execute(f"PRAGMA table_info({quote_ident(table)})").fetchall()
    return [c[1] for c in sorted((c for c in cols if c[5]), key=lambda c: c[5])]


def foreign_keys(conn: Any, table: str) -> list[ForeignKey]:
    """Where ``table``'s columns refer to (a key of several columns gives several entries)."""
    if dialect(conn) == "postgresql":
        return [ForeignKey(r[0], r[1], r[2]) for r in conn.execute(_PG_FOREIGN, (quote_ident(table),))]
    return [ForeignKey(r[3], r[2], r[4] or "id")
            for r in conn.execute(f"PRAGMA foreign_key_list({quote_ident(table)})")]


def unique_keys(conn: Any, table: str) -> list[list[str]]:
    """The column lists of ``table``'s unique indexes (its primary key's included; indexes over
    expressions left out: no row value can be matched against them)."""
    if dialect(conn) == "postgresql":
        keys: dict[Any, list[str]] = {}
        for index_id, column in conn.execute(_PG_UNIQUE, (quote_ident(table),)):
            keys.setdefault(index_id, []).append(column)
        return list(keys.values())
    found: list[list[str]] = []
    for index in conn.execute(f"PRAGMA index_list({quote_ident(table)})").fetchall():
        if not index[2]:  # not unique
            continue
        cols = [c[2] for c in conn.execute(f"PRAGMA index_info({quote_ident(index[1])})").fetchall()]
        if cols and None not in cols:
            found.append(cols)
    return found


def parents_first(tables: Iterable[str], parents: Mapping[str, Iterable[str]]) -> list[str]:
    """``tables`` ordered so each comes after the tables it refers to (``parents[t]``; a table's
    reference to itself and to tables outside ``tables`` do not count). Ties keep name order.

    Why a cycle is an error: PostgreSQL checks each foreign key as the row lands (the
    migrations declare none DEFERRABLE), so rows of tables referring to each other in a circle
    could not be inserted in any order."""
    wanted = set(tables)
    pending = {t: set(parents.get(t, ())) & wanted - {t} for t in wanted}
    ordered: list[str] = []
    while pending:
        ready = sorted(t for t, refs in pending.items() if not refs - set(ordered))
        if not ready:
            raise StorageError(f"Foreign keys form a cycle among {', '.join(sorted(pending))}; rows of these "
                               "tables cannot be copied parents first.")
        ordered += ready
        for table in ready:
            del pending[table]
    return ordered


def rows_parents_first(rows: list[dict[str, Any]], key: str, parent_column: str) -> list[dict[str, Any]]:
    """``rows`` of a table referring to itself (``parent_column`` -> ``key``), each after the row it
    names, otherwise in their given order: how such rows insert where foreign keys are checked
    row by row, and how a remapped parent's id is known before its children are copied. Rows that
    name each other in a circle stay last, in their order (only a deferred check can take them)."""
    held = {row[key] for row in rows}
    placed: set[Any] = set()
    ordered: list[dict[str, Any]] = []
    pending = list(rows)
    while pending:
        waiting = []
        for row in pending:
            parent = row.get(parent_column)
            if parent is None or parent not in held or parent in placed or parent == row[key]:
                ordered.append(row)
                placed.add(row[key])
            else:
                waiting.append(row)
        if len(waiting) == len(pending):
            return ordered + waiting
        pending = waiting
    return ordered


_PG_UNCHECKED = ("SELECT c.conname, child.relname, parent.relname, a.attname, af.attname FROM pg_constraint c "
                 "JOIN pg_class child ON child.oid = c.conrelid JOIN pg_class parent ON parent.oid = c.confrelid "
                 "JOIN pg_namespace n ON n.oid = child.relnamespace "
                 "CROSS JOIN LATERAL unnest(c.conkey, c.confkey) AS k(col, fcol) "
                 "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.col "
                 "JOIN pg_attribute af ON af.attrelid = c.confrelid AND af.attnum = k.fcol "
                 "WHERE c.contype = 'f' AND n.nspname = current_schema() AND (c.condeferrable OR NOT c.convalidated) "
                 "ORDER BY child.relname, c.conname")


def dangling_references(conn: Any, tables: list[str] | None = None) -> list[tuple[Any, ...]]:
    """Rows whose foreign key names a row that does not exist, as ``(table, row, parent, key)``
    (``row`` is the engine's own handle: SQLite's rowid, PostgreSQL's primary key), in ``tables``
    or everywhere.

    On PostgreSQL only keys that can hold such rows are searched (DEFERRABLE or added NOT VALID):
    a validated immediate key refuses the row when it is written, so scanning it finds nothing."""
    if dialect(conn) != "postgresql":
        if tables is None:
            return [tuple(r) for r in conn.execute("PRAGMA foreign_key_check").fetchall()]
        found: list[tuple[Any, ...]] = []
        for table in tables:
            found += [tuple(r) for r in conn.execute(f"PRAGMA foreign_key_check({quote_ident(table)})").fetchall()]
        return found
    wanted = None if tables is None else set(tables)
    problems: list[tuple[Any, ...]] = []
    for name, child, parent, column, parent_column in conn.execute(_PG_UNCHECKED).fetchall():
        if wanted is not None and child not in wanted:
            continue
        key = primary_key(conn, child) or [column]
        handle = ", ".join(f"c.{quote_ident(k)}" for k in key)
        rows = conn.execute(
            f"SELECT {handle} FROM {quote_ident(child)} c LEFT JOIN {quote_ident(parent)} p "
            f"ON p.{quote_ident(parent_column)} = c.{quote_ident(column)} "
            f"WHERE c.{quote_ident(column)} IS NOT NULL AND p.{quote_ident(parent_column)} IS NULL").fetchall()
        problems += [(child, tuple(row), parent, name) for row in rows]
    return problems
