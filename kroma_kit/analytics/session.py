"""Analytics sessions over the SQLite catalog (ARCHITECTURE decision 2).

Why DuckDB: dashboards aggregate the whole catalog (every project, every candidate), and DuckDB's
parallel, vectorised group-bys over it are several times faster than the same SQL in SQLite. Why
not a DuckDB *file*: a process holding one locks every other process out (reference
jupyter-testing.md §6). So the catalog stays SQLite (WAL), and a session is one connection on the
process-wide DuckDB database (:mod:`kroma_kit.analytics.engine`) that ATTACHes the catalog
READ_ONLY under its own alias, defines connection-local TEMP views, and DETACHes on close: no
SQLite handle, snapshot or lock survives a call, and a writer can always ``BEGIN IMMEDIATE``.

Two engines, one answer. ``query(sql)`` runs in DuckDB: right for workspace-wide aggregates.
``query(sql, engine="sqlite")`` runs the same SQL in SQLite through a short read-only ``sqlite3``
connection: right for *selective* queries (one run, one project), where SQLite's indexes read a
few thousand rows while ``sqlite_scanner`` (no filter pushdown) must scan every table in full.
Measured on a 1M-candidate catalog: one run's 500 candidates in ~4 ms in SQLite vs ~1.2 s through
the scanner. Either way DuckDB types the result (it binds the query with ``LIMIT 0`` and casts
SQLite's rows to those types), so both engines return identical columns and dtypes. The views
are portable SQL for exactly this reason.

Fallback: when the extension cannot be loaded, DuckDB queries read the catalog tables copied
through ``sqlite3`` (one read transaction, a consistent snapshot) into DuckDB temp tables, copied
only when a session first needs them; SQLite queries are unaffected.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from kroma_kit.analytics.engine import get_engine, quote
from kroma_kit.analytics.views import VIEW_SQL, run_logs_sql
from kroma_kit.errors import KromaError, StorageError

if TYPE_CHECKING:
    import pandas as pd

    from kroma_kit.workspace import Workspace

_VIEW_NAME = re.compile(r"\b(v_[a-z_]+|run_logs)\b", re.IGNORECASE)


class AnalyticsError(KromaError):
    """An analytics query failed (bad SQL in ``sql()``, an unreadable catalog)."""


class AnalyticsSession:
    """One DuckDB connection with the catalog attached read-only and the views on demand.

    Use :func:`open_session` (a context manager); do not keep one open across user actions, so
    every query sees the catalog as it is now.
    """

    def __init__(self, ws: Workspace) -> None:
        import duckdb

        self.ws = ws
        if not ws.catalog_path.is_file():
            raise StorageError(f"No catalog at {ws.catalog_path}. Run `kroma init` first.")
        engine = get_engine(ws.home)
        self.scanner = engine.scanner
        self.alias = f"kroma_{uuid.uuid4().hex[:12]}"
        self.con = engine.database.cursor()
        self._attached = False
        self._tables: Literal["none", "schema", "rows"] = "none"  # the fallback's copies so far
        self._views: set[str] = set()
        if self.scanner:
            try:
                self.con.execute(f"ATTACH '{quote(str(ws.catalog_path))}' AS {self.alias} (TYPE sqlite, READ_ONLY)")
                self._attached = True
                # Unqualified table names now resolve to the catalog; the views are TEMP views of
                # this connection, found first, so nothing here is visible to another session.
                self.con.execute(f"USE {self.alias}")
            except duckdb.Error as exc:
                self.close()
                raise AnalyticsError(f"Cannot open the catalog {ws.catalog_path} for analytics: {exc}") from exc

    # ------------------------------------------------------------------ queries

    def query(self, sql: str, params: Sequence[Any] | None = None, *,
              engine: Literal["duckdb", "sqlite"] = "duckdb") -> pd.DataFrame:
        """Run one SELECT and return its rows as a DataFrame (see the module doc for ``engine``)."""
        import duckdb

        args = list(params or [])
        try:
            if engine == "sqlite":
                return self._in_sqlite(sql, args)
            self._prepare(sql, rows=True)
            return self.con.execute(sql, args).df()
        except duckdb.Error as exc:
            raise AnalyticsError(f"Analytics query failed: {str(exc).splitlines()[0]}") from exc

    def _in_sqlite(self, sql: str, args: list[Any]) -> pd.DataFrame:
        import pandas as pd

        from kroma_kit.catalog.db import connect

        self._prepare(sql, rows=False)
        described = self.con.execute(f"SELECT * FROM ({sql}) AS kroma_typed LIMIT 0", args).description
        names, types = [d[0] for d in described], [str(d[1]) for d in described]
        conn = connect(self.ws.catalog_path, read_only=True)
        try:
            for name in dict.fromkeys(_VIEW_NAME.findall(sql)):
                if name in VIEW_SQL:
                    conn.execute(f"CREATE TEMP VIEW {name} AS {VIEW_SQL[name]}")
            rows = conn.execute(sql, args).fetchall()
        finally:
            conn.close()
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
        frame = pd.DataFrame({f"c{i}": pd.Series(_as_sent(values, kind), dtype=object)
                              for i, (values, kind) in enumerate(zip(columns, types, strict=True))})
        staging = f"{self.alias}_rows"
        self.con.register(staging, frame)
        try:
            casts = ", ".join(f'CAST(c{i} AS {kind}) AS "{name}"'
                              for i, (name, kind) in enumerate(zip(names, types, strict=True)))
            return self.con.execute(f"SELECT {casts} FROM {staging}").df()
        finally:
            self.con.unregister(staging)

    # ------------------------------------------------------------------ set-up on demand

    def _prepare(self, sql: str, *, rows: bool) -> None:
        """Make the tables (fallback: copies, or empty typed tables when only typing is needed)
        and the views that ``sql`` mentions exist in this connection."""
        if not self.scanner and (self._tables == "none" or (rows and self._tables == "schema")):
            self._copy_tables(rows=rows)
            self._tables = "rows" if rows else "schema"
        for name in _VIEW_NAME.findall(sql):
            if name in self._views:
                continue
            if name == "run_logs":
                select = run_logs_sql(_run_log_files(self.ws))
            elif name in VIEW_SQL:
                select = VIEW_SQL[name]
            else:
                continue
            self.con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {select}")
            self._views.add(name)

    def _copy_tables(self, *, rows: bool) -> None:
        """The fallback: every catalog table as a DuckDB temp table of the declared types."""
        import pandas as pd

        from kroma_kit.catalog.db import connect

        conn = connect(self.ws.catalog_path, read_only=True)
        try:
            conn.execute("BEGIN")
            names = [row[0] for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
            for table in names:
                columns = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
                ddl = ", ".join(f'"{col["name"]}" {_duck_type(col["type"])}' for col in columns)
                self.con.execute(f'CREATE OR REPLACE TEMP TABLE "{table}" ({ddl})')
                data = conn.execute(f'SELECT * FROM "{table}"').fetchall() if rows else []
                if data:
                    frame = pd.DataFrame.from_records([tuple(row) for row in data],
                                                      columns=[col["name"] for col in columns])
                    staging = f"{self.alias}_{table}"
                    self.con.register(staging, frame)
                    try:
                        self.con.execute(f'INSERT INTO "{table}" SELECT * FROM {staging}')
                    finally:
                        self.con.unregister(staging)
            conn.execute("COMMIT")
        finally:
            conn.close()

    def close(self) -> None:
        """Detach the catalog and close the connection (idempotent)."""
        con, self.con = getattr(self, "con", None), None
        if con is None:
            return
        try:
            if self._attached:
                con.execute("USE memory")
                con.execute(f"DETACH {self.alias}")
        finally:
            con.close()


@contextmanager
def open_session(ws: Workspace) -> Iterator[AnalyticsSession]:
    """``with open_session(ws) as s: s.query("SELECT ... FROM v_runs")`` — detached on exit."""
    session = AnalyticsSession(ws)
    try:
        yield session
    finally:
        session.close()


def _as_sent(values: Sequence[Any], kind: str) -> list[Any]:
    """SQLite's values as DuckDB should read them: text stays text for VARCHAR columns (a JSON
    number extracted by SQLite arrives as a number, DuckDB's ``->>`` gives its text)."""
    if kind == "VARCHAR":
        return [None if value is None else (value if isinstance(value, str) else _text(value)) for value in values]
    return list(values)


def _text(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _run_log_files(ws: Workspace) -> list[tuple[str, str]]:
    """``(project slug, run log path)`` for every ``runs/*.json`` of every project, archived too."""
    from kroma_kit.catalog.projects import list_projects

    found = []
    for project in list_projects(ws, include_archived=True):
        folder = Path(project["root"]) / "runs"
        if folder.is_dir():
            found.extend((project["slug"], str(path)) for path in sorted(folder.glob("*.json")))
    return found


def _duck_type(declared: str | None) -> str:
    """SQLite type affinity rules (declared type -> DuckDB type), as sqlite_scanner maps them."""
    text = (declared or "").upper()
    if "INT" in text:
        return "BIGINT"
    if any(word in text for word in ("CHAR", "CLOB", "TEXT")):
        return "VARCHAR"
    if any(word in text for word in ("REAL", "FLOA", "DOUB")):
        return "DOUBLE"
    return "VARCHAR"
