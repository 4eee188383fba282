"""Analytics sessions over the SQLite catalog (ARCHITECTURE decision 2).

Why DuckDB: dashboards aggregate the whole catalog (every project, every candidate), and DuckDB's
parallel, vectorised group-bys over it are several times faster than the same SQL in SQLite. Why
not a DuckDB *file*: a process holding one locks every other process out (reference
jupyter-testing.md §6). So the catalog stays SQLite (WAL), and a session is one connection on the
process-wide DuckDB database (:mod:`kroma_kit.analytics.engine`) with connection-local TEMP views.

Why a snapshot: reading the catalog through ``sqlite_scanner`` on every call re-reads every SQLite
page every time (~0.5 s per dashboard query on a 1M-candidate catalog, nearly all of it in the
scan). So DuckDB queries run on this process's snapshot of the catalog
(:mod:`kroma_kit.analytics.snapshot`): native DuckDB copies of the tables, keyed by a cheap change
signature of the catalog that is checked before *every* query, so any commit by any process is
seen by the next query, including the next one of an open session. The copy is paid once per
catalog change, not per query; the session points ``search_path`` at the current generation
for the query and holds a lease on it meanwhile. No SQLite handle is attached per session, and
nothing but the snapshot's probe connection (idle, no transaction) outlives a call, so a writer
can always ``BEGIN IMMEDIATE`` and checkpoint.

Two engines, one answer. ``query(sql)`` runs in DuckDB on the snapshot: right for workspace-wide
aggregates. ``query(sql, engine="sqlite")`` runs the same SQL in SQLite through a short read-only
``sqlite3`` connection: right for *selective* queries (one run, one project), where SQLite's
indexes read a few thousand rows (~4 ms for one run's 500 candidates on a 1M-candidate catalog)
and no snapshot has to be fresh: a run in progress does not make the project page copy the whole
catalog. Either way DuckDB types the result: the SQLite path binds the query with ``LIMIT 0``
against the snapshot's *shape* (empty tables with the snapshot's exact column types) and casts
SQLite's rows to those types, so both engines return identical columns and dtypes. The views are
portable SQL for exactly this reason.

On a PostgreSQL catalog (``KROMA_CATALOG_URL``) both engines read it live through DuckDB's postgres
extension instead (:mod:`kroma_kit.analytics.live_pg`): no snapshot, same views, same frames.

Fallback: when the extension cannot be loaded, the snapshot is copied through ``sqlite3`` (one
read transaction, a consistent state) instead of ``sqlite_scanner``; nothing else changes.
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from kroma_kit.analytics.engine import get_engine
from kroma_kit.analytics.live_pg import attached_catalog
from kroma_kit.analytics.snapshot import SnapshotError, shape, snapshot
from kroma_kit.analytics.views import VIEW_SQL, run_logs_sql
from kroma_kit.errors import KromaError, StorageError

if TYPE_CHECKING:
    import pandas as pd

    from kroma_kit.workspace import Workspace

_VIEW_NAME = re.compile(r"\b(v_[a-z_]+|run_logs)\b", re.IGNORECASE)


class AnalyticsError(KromaError):
    """An analytics query failed (bad SQL in ``sql()``, an unreadable catalog)."""


class AnalyticsSession:
    """One DuckDB connection on the process-wide database, the views on demand.

    Use :func:`open_session` (a context manager). Every DuckDB query checks the catalog's change
    signature first, so even a session kept open sees each commit on its next query.
    """

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        if not ws.catalog_path.is_file():
            raise StorageError(f"No catalog at {ws.catalog_path}. Run `kroma init` first.")
        self.engine = get_engine(ws.home)
        self.scanner = self.engine.scanner
        self.alias = f"kroma_{uuid.uuid4().hex[:12]}"  # names this session's staging views
        self.con = self.engine.database.cursor()
        self._views: set[str] = set()

    # ------------------------------------------------------------------ queries

    def query(self, sql: str, params: Sequence[Any] | None = None, *,
              engine: Literal["duckdb", "sqlite"] = "duckdb") -> pd.DataFrame:
        """Run one SELECT and return its rows as a DataFrame (see the module doc for ``engine``)."""
        import duckdb

        args = list(params or [])
        try:
            self._check_read_only(sql)
            if self.ws.catalog_url:  # PostgreSQL: read live, one path for both engines (live_pg)
                self._prepare(sql, attached_catalog(self.engine, self.ws.home, self.ws.catalog_url))
                return self.con.execute(sql, args).df()
            if engine == "sqlite":
                return self._in_sqlite(sql, args)
            with snapshot(self.engine, self.ws.catalog_path, sql) as search_path:
                self._prepare(sql, search_path)
                return self.con.execute(sql, args).df()
        except (duckdb.Error, sqlite3.Error, SnapshotError) as exc:
            raise AnalyticsError(f"Analytics query failed: {str(exc).splitlines()[0]}") from exc

    def _check_read_only(self, sql: str) -> None:
        """Only SELECTs (and EXPLAIN): the snapshot is shared by every query of this process."""
        import duckdb

        for statement in self.con.extract_statements(sql):
            if statement.type not in (duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN):
                raise AnalyticsError(f"Analytics queries are read-only: {statement.type.name} is not allowed "
                                     "(the catalog changes through kroma_kit, not through analytics SQL).")

    def _in_sqlite(self, sql: str, args: list[Any]) -> pd.DataFrame:
        import pandas as pd

        from kroma_kit.catalog.db import connect

        with shape(self.engine, self.ws.catalog_path) as search_path:  # leased until the cast is done
            self._prepare(sql, search_path)
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

    def _prepare(self, sql: str, search_path: str) -> None:
        """Point unqualified table names at ``search_path`` (a snapshot generation or the shape)
        and make the views ``sql`` mentions exist in this connection. TEMP views are found first and
        bind their tables when a query runs, so they follow ``search_path`` from query to query."""
        self.con.execute(f"SET search_path = '{search_path}'")
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

    def close(self) -> None:
        """Close the connection (idempotent)."""
        con, self.con = getattr(self, "con", None), None
        if con is not None:
            con.close()


@contextmanager
def open_session(ws: Workspace) -> Iterator[AnalyticsSession]:
    """``with open_session(ws) as s: s.query("SELECT ... FROM v_runs")`` — closed on exit."""
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

