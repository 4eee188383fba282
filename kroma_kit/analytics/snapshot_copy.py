"""The snapshot copy, run as a child process: ``python -m kroma_kit.analytics.snapshot_copy``.

It reads a JSON request on stdin (``extension_directory``, ``catalog``, ``target``, ``columns``
{table: [[column, duckdb type], ...]}, ``workers``), copies each table from the SQLite catalog into
a new DuckDB file through ``sqlite_scanner`` and prints ``{table: rows}``. Why a child at all:
see :mod:`kroma_kit.analytics.snapshot` (two SQLite libraries in one process break SQLite's
locks); this process opens no ``sqlite3`` connection, so the extension's SQLite is its only one.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def ident(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def copy_table(con: Any, columns: dict[str, list[list[str]]], table: str) -> tuple[str, int]:
    """Copy one table on its own cursor (one read transaction per table); return its row count."""
    names = ", ".join(ident(c) for c, _kind in columns[table])
    cur = con.cursor()
    try:
        cur.execute(f"INSERT INTO dst.main.{ident(table)} ({names}) SELECT {names} FROM src.{ident(table)}")
        return table, cur.fetchone()[0]
    finally:
        cur.close()


def copy_tables(request: dict[str, Any]) -> dict[str, int]:
    """Do the copy the request describes; {table: rows copied}."""
    import duckdb

    config = {"autoinstall_known_extensions": False, "autoload_known_extensions": False,
              "extension_directory": request["extension_directory"]}
    con = duckdb.connect(":memory:", config=config)
    con.execute("LOAD sqlite_scanner")
    con.execute(f"ATTACH {literal(request['catalog'])} AS src (TYPE sqlite, READ_ONLY)")
    con.execute(f"ATTACH {literal(request['target'])} AS dst")
    columns = request["columns"]
    for table, cols in columns.items():
        con.execute(f"CREATE TABLE dst.main.{ident(table)} ({', '.join(f'{ident(c)} {kind}' for c, kind in cols)})")
    module = sys.modules[__name__]  # looked up per call, so a test can wrap copy_table in the child
    with ThreadPoolExecutor(max_workers=request["workers"]) as pool:
        counts = dict(pool.map(lambda table: module.copy_table(con, columns, table), list(columns)))
    con.execute("DETACH src")
    con.execute("DETACH dst")
    return counts


def main() -> None:
    print(json.dumps(copy_tables(json.load(sys.stdin))))


if __name__ == "__main__":
    main()
