"""Incremental refresh of a snapshot generation: re-read only the catalog rows changed since the
generation was last brought up to date, and apply them to its DuckDB tables in place.

Why: copying a 1M-candidate catalog whole takes seconds, and a catalog changes every few seconds
while a run goes on; a run adds a few dozen rows and updates a few more.

How changes are found (migration ``0007_analytics_changes``):

- **New rows** by rowid: the catalog's tables have TEXT ids, so SQLite numbers each new row
  ``max(rowid) + 1``; every row inserted since the copy has a rowid above the mark read then.
- **Updated rows** (a run's status, a candidate's verdict, an UPSERT's ``DO UPDATE``, a foreign
  key's ``SET NULL``) through the ``kroma_row_changes`` log that triggers fill: ``(seq, table,
  id)``. The rows with a logged id are re-read whole.
- **Deletes** are logged too, and make the caller copy again whole (a delete can free the top
  rowid, which the next insert then reuses below the mark). So does a log pruned past the
  generation's position, a schema change (the shape's key), a replaced catalog file (the probe's
  identity), and a delta above :data:`MAX_DELTA_ROWS` (the child copies faster than this path).
- A table **without the triggers** (``schema_migrations``, the log itself, a later migration's
  table) has no trace of its updates: when a query has copied it, each refresh re-reads it whole
  (these are small; a big one counts against :data:`MAX_DELTA_ROWS`).

Applying is idempotent (delete the fetched ids, insert the fetched rows), so marks read *before*
a copy are safe: a row committed during the copy is fetched again next time and replaced. The
rows are read in one ``sqlite3`` read transaction (a consistent state) in this process, which is
allowed: only the scanner's own SQLite must stay out of this process. Each part is updated in one
DuckDB transaction, so a query running meanwhile sees a part before or after, never half.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

from kroma_kit.analytics.engine import Engine
from kroma_kit.analytics.snapshot_parts import Generation, Part, Shape, _connect_read_only, _ident

CHANGE_LOG = "kroma_row_changes"
TRIGGER_PREFIX = "kroma_changes_"
KEY_COLUMN = "id"
MAX_DELTA_ROWS = 100_000


def tracked_tables(probe: sqlite3.Connection, columns: dict[str, list[tuple[str, str]]]) -> frozenset[str]:
    """Tables whose updates and deletes reach the change log: both triggers exist and the table has
    an ``id`` column (the key the triggers log). Empty when the catalog has no change log yet."""
    if CHANGE_LOG not in columns:
        return frozenset()
    names = {row[0] for row in probe.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'kroma\\_changes\\_%' ESCAPE '\\'")}
    return frozenset(table for table, table_columns in columns.items()
                     if f"{TRIGGER_PREFIX}{table}_update" in names and f"{TRIGGER_PREFIX}{table}_delete" in names
                     and any(column == KEY_COLUMN for column, _kind in table_columns))


def read_marks(probe: sqlite3.Connection, shape: Shape, tables: set[str]) -> tuple[dict[str, int], int]:
    """``({table: max rowid}, last change seq)`` now, for the tracked ``tables``, in one statement
    (one read transaction, ended with it). Read before a copy, so the copy holds at least this."""
    tracked = sorted(tables & shape.tracked)
    if not shape.tracked:
        return {}, 0
    parts = [f'(SELECT max(rowid) FROM "{_ident(table)}")' for table in tracked]
    parts.append(f"(SELECT max(seq) FROM {CHANGE_LOG})")
    row = probe.execute("SELECT " + ", ".join(parts)).fetchone()
    return {table: int(row[i] or 0) for i, table in enumerate(tracked)}, int(row[-1] or 0)


def refresh_in_place(engine: Engine, catalog: Path, generation: Generation, shape: Shape) -> bool:
    """Bring ``generation`` up to the catalog's state now; False (nothing changed) when only a
    whole copy can (see the module doc). Call with the cache's build lock held."""
    tables = set(generation.rows)
    if not tables or CHANGE_LOG not in shape.columns or not tables & shape.tracked <= generation.marks.keys():
        return False
    conn = _connect_read_only(catalog)
    try:
        conn.execute("BEGIN")
        delta = _read_delta(conn, generation, tables, shape.tracked)
        conn.execute("COMMIT")
    finally:
        conn.close()
    if delta is None:
        return False
    fetched, marks, seq = delta
    where = {table: part for part in generation.parts for table in part.tables}
    for part in {id(where[table]): where[table] for table in fetched}.values():
        _apply(engine, part, {table: fetched[table] for table in part.tables if table in fetched},
               generation.columns)
    generation.marks.update(marks)
    generation.change_seq = seq
    return True


Rows = list[tuple[object, ...]]


def _read_delta(conn: sqlite3.Connection, generation: Generation, tables: set[str],
                tracked: frozenset[str]) -> tuple[dict[str, tuple[Rows, bool]], dict[str, int], int] | None:
    """``({table: (rows, whole)}, marks, seq)``: the rows to replace (``whole``: the table's
    every row, for an untracked table), the new marks and log position; None: copy whole."""
    top, bottom = conn.execute(f"SELECT max(seq), min(seq) FROM {CHANGE_LOG}").fetchone()
    top = int(top or 0)
    since = generation.change_seq
    if top < since:
        return None  # the log went back: not the catalog this generation was copied from
    if top > since and (bottom is None or bottom > since + 1):
        return None  # pruned past this generation: some changes are lost
    keys: dict[str, set[str]] = {}
    for table, key, deleted in conn.execute(
            f"SELECT table_name, row_key, deleted FROM {CHANGE_LOG} WHERE seq > ?", (since,)):
        if table in tables:
            if deleted:
                return None
            keys.setdefault(table, set()).add(key)
    fetched: dict[str, tuple[Rows, bool]] = {}
    marks: dict[str, int] = {}
    total = 0
    for table in sorted(tables):
        quoted = ", ".join(f'"{_ident(column)}"' for column, _kind in generation.columns[table])
        name = _ident(table)
        if table not in tracked:
            rows = conn.execute(f'SELECT {quoted} FROM "{name}" LIMIT ?', (MAX_DELTA_ROWS + 1,)).fetchall()
            total += len(rows)
            if total > MAX_DELTA_ROWS:
                return None
            fetched[table] = (rows, True)
            continue
        mark = generation.marks[table]
        marks[table] = int(conn.execute(f'SELECT max(rowid) FROM "{name}"').fetchone()[0] or 0)
        # LIMIT: a bulk import since the last refresh is not read into memory just to be refused.
        rows = conn.execute(f'SELECT {quoted} FROM "{name}" WHERE rowid > ? LIMIT ?', (mark, MAX_DELTA_ROWS + 1)).fetchall()
        if keys.get(table):
            rows += conn.execute(f'SELECT {quoted} FROM "{name}" WHERE rowid <= ? AND "{KEY_COLUMN}" IN '
                                 "(SELECT value FROM json_each(?))", (mark, json.dumps(sorted(keys[table])))).fetchall()
        total += len(rows)
        if total > MAX_DELTA_ROWS:
            return None
        if rows:
            fetched[table] = (rows, False)
    return fetched, marks, top


def _apply(engine: Engine, part: Part, fetched: dict[str, tuple[Rows, bool]],
           columns: dict[str, list[tuple[str, str]]]) -> None:
    """Replace the fetched rows in ``part``'s tables (delete by id, or all rows for a ``whole``
    table, then insert), in one transaction."""
    import pandas as pd

    staging = f"kroma_delta_{uuid.uuid4().hex[:12]}"
    cur = engine.database.cursor()
    try:
        cur.execute("BEGIN")
        try:
            counts = {}
            for table, (rows, whole) in fetched.items():
                names = [column for column, _kind in columns[table]]
                quoted = ", ".join(f'"{_ident(column)}"' for column in names)
                target = f'{part.name}.main."{_ident(table)}"'
                if whole:
                    cur.execute(f"DELETE FROM {target}")
                if not rows:
                    counts[table] = 0
                    continue
                cur.register(staging, pd.DataFrame.from_records(rows, columns=names))
                try:
                    if not whole:
                        cur.execute(f'DELETE FROM {target} WHERE "{KEY_COLUMN}" IN (SELECT "{KEY_COLUMN}" FROM {staging})')
                    cur.execute(f"INSERT INTO {target} ({quoted}) SELECT {quoted} FROM {staging}")
                finally:
                    cur.unregister(staging)
                counts[table] = int(cur.execute(f"SELECT count(*) FROM {target}").fetchone()[0])
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        part.tables.update(counts)
    finally:
        cur.close()
