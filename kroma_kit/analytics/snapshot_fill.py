"""Whole-table copies of the catalog into a snapshot part: through ``sqlite_scanner`` in a child
process (the normal path), or through Python's ``sqlite3`` in this process (the fallback); see
:mod:`kroma_kit.analytics.snapshot` for why the scanner only ever runs in a child."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

from kroma_kit.analytics.engine import Engine, quote
from kroma_kit.analytics.snapshot_parts import Part, _connect_read_only, _ddl, _ident, _unlink
from kroma_kit.errors import KromaError

COPY_TIMEOUT_S = 1800
FALLBACK_CHUNK_ROWS = 50_000
# The child: ``python -m kroma_kit.analytics.snapshot_copy`` with a JSON request on stdin; prints
# {table: rows}. It opens no sqlite3 connection: its only SQLite is the extension's.
CHILD_MODULE = "kroma_kit.analytics.snapshot_copy"


class SnapshotError(KromaError):
    """The snapshot of the catalog could not be made (the copy failed)."""


def run(engine: Engine, statement: str) -> None:
    """One DuckDB statement on a cursor of its own (cursors are cheap; the database is shared)."""
    cur = engine.database.cursor()
    try:
        cur.execute(statement)
    finally:
        cur.close()


def child_env() -> dict[str, str]:
    """The parent's environment, with this kroma_kit first on the path (the child imports it)."""
    env = dict(os.environ)
    env.pop("PYTHONSTARTUP", None)
    package_parent = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH")) if p)
    return env


def copy_in_child(engine: Engine, catalog: Path, path: Path, name: str,
                  columns: dict[str, list[tuple[str, str]]]) -> Part:
    """``sqlite_scanner`` in a child process writes the tables into the new DuckDB file ``path``,
    which this process then attaches (read-write: later changes are applied to it in place)."""
    module = sys.modules[__name__]  # looked up per call, so a test can point CHILD_MODULE elsewhere
    request = {"extension_directory": engine.extension_directory, "catalog": str(catalog),
               "target": str(path), "columns": columns, "workers": max(1, min(len(columns), os.cpu_count() or 1, 4))}
    try:
        done = subprocess.run([sys.executable, "-m", module.CHILD_MODULE], input=json.dumps(request),
                              capture_output=True, text=True, timeout=COPY_TIMEOUT_S, env=child_env())
    except subprocess.TimeoutExpired as exc:
        _unlink(path)
        raise SnapshotError(f"Copying the catalog {catalog} for analytics took over {COPY_TIMEOUT_S} s.") from exc
    if done.returncode != 0:
        _unlink(path)
        detail = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise SnapshotError(f"Cannot copy the catalog {catalog} for analytics: {detail}")
    counts = json.loads(done.stdout)
    try:
        run(engine, f"ATTACH '{quote(str(path))}' AS {name}")
    except BaseException:
        _unlink(path)
        raise
    return Part(name, path, {table: int(rows) for table, rows in counts.items()})


def copy_with_sqlite3(engine: Engine, catalog: Path, name: str, columns: dict[str, list[tuple[str, str]]]) -> Part:
    """The fallback: one ``sqlite3`` read transaction (a consistent state), in chunks, into
    in-memory tables."""
    module = sys.modules[__name__]  # looked up per call, so a test can wrap copy_rows
    run(engine, f"ATTACH ':memory:' AS {name}")
    part = Part(name, None, {})
    try:
        conn = _connect_read_only(catalog)
        try:
            conn.execute("BEGIN")
            for table, table_columns in columns.items():
                run(engine, f'CREATE TABLE {name}.main."{_ident(table)}" ({_ddl(table_columns)})')
                quoted = ", ".join(f'"{_ident(column)}"' for column, _kind in table_columns)
                rows = conn.execute(f'SELECT {quoted} FROM "{_ident(table)}"')
                part.tables[table] = module.copy_rows(engine, rows, name, table, table_columns)
            conn.execute("COMMIT")
        finally:
            conn.close()
    except BaseException:
        drop_part(engine, part)
        raise
    return part


def copy_rows(engine: Engine, rows: sqlite3.Cursor, target: str, table: str, columns: list[tuple[str, str]]) -> int:
    """Insert every row of ``rows`` (a sqlite3 cursor over ``columns``) into ``target``'s
    ``table``, in chunks through a registered DataFrame; the number of rows."""
    import pandas as pd

    names = [column for column, _kind in columns]
    quoted = ", ".join(f'"{_ident(column)}"' for column in names)
    staging = f"kroma_staging_{uuid.uuid4().hex[:12]}"
    count = 0
    cur = engine.database.cursor()
    try:
        while chunk := rows.fetchmany(FALLBACK_CHUNK_ROWS):
            cur.register(staging, pd.DataFrame.from_records(chunk, columns=names))
            try:
                cur.execute(f'INSERT INTO {target}.main."{_ident(table)}" ({quoted}) SELECT {quoted} FROM {staging}')
            finally:
                cur.unregister(staging)
            count += len(chunk)
    finally:
        cur.close()
    return count


def drop_part(engine: Engine, part: Part) -> None:
    """Detach ``part`` and delete its file."""
    run(engine, f"DETACH DATABASE IF EXISTS {part.name}")
    if part.path is not None:
        _unlink(part.path)
