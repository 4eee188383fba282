"""The per-process DuckDB snapshot of the catalog that whole-workspace analytics run on.

Why: a dashboard aggregates every candidate of every project. Reading the SQLite catalog through
``sqlite_scanner`` on every call re-reads (and re-decodes) every SQLite page every time: ~0.5 s
per query on a 1M-candidate catalog, nearly all of it in the scan. DuckDB's own columnar tables
answer the same SQL several times faster. So each process keeps a snapshot: the catalog tables
its queries need, copied once into native DuckDB tables, and runs the views over those.

Freshness: the snapshot is keyed by a cheap change signature of the catalog, checked before every
query (tens of microseconds): SQLite's ``PRAGMA data_version`` and ``schema_version``, read on one
kept read-only ``sqlite3`` connection (the *probe*), plus ``(size, mtime_ns)`` of ``catalog.db``
(with its device and inode, so a replaced file counts) and of ``catalog.db-wal``. File stats alone
are not enough: after a checkpoint a writer restarts the WAL from its start, so the WAL can keep
its size, and two commits inside one coarse kernel timestamp tick keep its mtime. ``data_version``
is SQLite's documented answer: on one connection it changes whenever any other connection, in any
process, has committed since the previous read. So any commit by any process changes the
signature, and the next query copies the tables again into a new generation. (A checkpoint that
changes no data may also change it: one spare copy, never a stale figure.)

Why the copy runs in a child process: ``sqlite_scanner`` carries its own SQLite library. Two
SQLite libraries in one process break SQLite's POSIX locks (sqlite.org/howtocorrupt.html §2.2.1):
when the extension closes its handle on ``catalog.db`` (a DETACH), the kernel drops *every* lock
this process holds on the file, including those of Python's ``sqlite3`` connections: a pipeline
writing in the same notebook kernel can lose its WAL write lock mid-transaction, and a kept probe
loses the lock that keeps the WAL and its index from being deleted and recreated under it, after
which it can miss commits (verified here: a sqlite_scanner ATTACH/DETACH lets another process
delete the WAL a Python connection still has open). So this process only touches the catalog
through Python's ``sqlite3``; the copy is done by ``python -c`` with DuckDB and the extension
(loaded offline from the engine's extension directory), which writes the tables into a private
DuckDB file under the system temp folder that this process then attaches read-only
(``catalog_snapshot_<n>``). The file is compressed (~70 MiB for the benchmark's 1M candidates and
1M cost events, against ~650 MiB as in-memory tables) and DuckDB reads it as fast as memory.
Without the extension the copy is made in this process through ``sqlite3`` (one read transaction)
into in-memory tables: slower, same answers.

Locks: the probe runs each PRAGMA as one autocommit statement read to the end, so it never keeps a
read transaction open; idle, it only holds what every open WAL connection holds, which no writer or
checkpoint waits on (and which keeps the WAL file in place, so the probe's view stays valid). The
child's reads are WAL reads: writers go on meanwhile. A commit during a copy is harmless for
freshness: the generation keeps the signature read *before* the copy, so the next query sees a
new signature and copies again. (``sqlite_scanner`` reads each table in its own read transaction,
so that one call may mix states just committed, exactly as reading the attached catalog did.)

Generations: a new signature makes a new generation; the old one is detached (and its file
deleted) as soon as no running query holds it (queries take a lease). Tables are copied on first
need, the tables behind the views all at once (one child per catalog change for a dashboard), any
other table (``sql()`` over the audit log) only when a query names it, as a further part of the
same generation. Every table is created from an explicit column list: the catalog's *shape*, an
attached database of empty tables (``catalog_shape_<n>``, rebuilt when ``schema_version``
changes) typed by the rules ``sqlite_scanner`` applies to declared types; it also types the
selective queries sent to SQLite, so both engines return identical frames.

Threads: one build lock per catalog guards the signature check and every copy (panels may call
from worker threads); leases have their own short lock, so a finishing query never waits for a
copy. At most :data:`MAX_CATALOGS` catalogs keep a snapshot per process (least recently used idle
ones are closed).
"""

from __future__ import annotations

import os
import re
import sqlite3
import sys
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kroma_kit.analytics.engine import Engine, quote
from kroma_kit.analytics.snapshot_parts import (  # noqa: F401 (duck_type, BUSY_TIMEOUT_S re-exported)
    BUSY_TIMEOUT_S,
    Generation,
    Part,
    Shape,
    SnapshotInfo,
    _connect_read_only,
    _ddl,
    _ident,
    _size,
    _unlink,
    duck_type,
)
from kroma_kit.analytics.snapshot_temp import (  # noqa: F401 (FOLDER_PREFIX re-exported)
    FOLDER_PREFIX,
    forget_folder,
    keep_folder,
    sweep_stale_folders,
)
from kroma_kit.analytics.views import VIEW_SQL
from kroma_kit.errors import KromaError

if TYPE_CHECKING:
    from kroma_kit.workspace import Workspace

SNAPSHOT_PREFIX = "catalog_snapshot_"
SHAPE_PREFIX = "catalog_shape_"
MAX_CATALOGS = 4
COPY_TIMEOUT_S = 1800
FALLBACK_CHUNK_ROWS = 50_000

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_VIEW_WORDS = {name: frozenset(word.lower() for word in _WORD.findall(sql)) for name, sql in VIEW_SQL.items()}
# Every table a view reads: copied together, so a dashboard pays one copy per catalog change.
VIEW_TABLES = frozenset({"projects", "runs", "run_jobs", "run_candidates", "cost_events", "assets"})
# Copied first (in parallel): the big tables, so the small ones fill the gaps.
_COPY_ORDER = ("run_candidates", "cost_events", "run_jobs", "assets", "runs", "projects")


class SnapshotError(KromaError):
    """The snapshot of the catalog could not be made (the copy failed)."""


def tables_in(sql: str, known: frozenset[str]) -> set[str]:
    """The catalog tables ``sql`` may read: every word that is a table name, plus the tables of
    the views it names. A word that only looks like a table (a column alias) costs a spare copy."""
    words = {word.lower() for word in _WORD.findall(sql)}
    for view in words & _VIEW_WORDS.keys():
        words |= _VIEW_WORDS[view]
    return words & known


_counter = 0
_counter_lock = threading.Lock()


def _next_number() -> int:
    global _counter
    with _counter_lock:
        _counter += 1
        return _counter


# --------------------------------------------------------------------------- one catalog

class CatalogCache:
    """The probe, the shape and the current generation of one catalog in one process."""

    def __init__(self, engine: Engine, path: Path) -> None:
        self.engine = engine
        self.path = path
        self.wal_path = Path(f"{path}-wal")
        self.build_lock = threading.Lock()   # signature checks, shape and copies
        self.state_lock = threading.Lock()   # leases and detaching
        self.closed = False
        self.builds = 0
        self.last_build_s = 0.0
        self._folder: Path | None = None      # this cache's snapshot files
        self._probe: sqlite3.Connection | None = None
        self._probe_ident: tuple[int, int] | None = None
        self._probe_number = 0
        self._shape: Shape | None = None
        self._current: Generation | None = None

    # ------------------------------------------------------------------ signature

    def signature(self) -> tuple[tuple[Any, ...], int]:
        """``(signature, schema_version)`` of the catalog now (call with ``build_lock`` held).

        The probe reads before the files are looked at: opening the catalog in WAL mode creates
        the ``-wal`` file when the last connection had removed it, which is no change of data."""
        stat = _stat(self.path)
        ident = (stat.st_dev, stat.st_ino)
        if self._probe is None or self._probe_ident != ident:
            self._open_probe(ident)
        assert self._probe is not None
        try:
            # One autocommit statement, read to the end: its read transaction ends with it.
            data_version, schema_version = self._probe.execute(
                "SELECT (SELECT data_version FROM pragma_data_version), "
                "(SELECT schema_version FROM pragma_schema_version)").fetchall()[0]
        except sqlite3.Error:
            self._close_probe()
            raise
        stat = _stat(self.path)
        try:
            wal = _stat(self.wal_path)
            wal_sig: tuple[int, int] | None = (wal.st_size, wal.st_mtime_ns)
        except FileNotFoundError:
            wal_sig = None
        return ((self._probe_number, *ident, stat.st_size, stat.st_mtime_ns, wal_sig, data_version, schema_version),
                schema_version)

    def _open_probe(self, ident: tuple[int, int]) -> None:
        self._close_probe()
        self._probe = _connect_read_only(self.path, check_same_thread=False)  # used under build_lock only
        self._probe_ident = ident
        self._probe_number += 1

    def _close_probe(self) -> None:
        probe, self._probe, self._probe_ident = self._probe, None, None
        if probe is not None:
            probe.close()

    # ------------------------------------------------------------------ leases

    def acquire_shape(self) -> Shape | None:
        """The current shape, leased (None when this cache was closed: ask the registry again)."""
        with self.build_lock:
            if self.closed:
                return None
            _signature, schema_version = self.signature()
            shape = self._shape_for(schema_version)
            with self.state_lock:
                shape.leases += 1
            return shape

    def acquire_generation(self, sql: str) -> Generation | None:
        """A fresh generation holding every table ``sql`` needs, leased (None when closed)."""
        with self.build_lock:
            if self.closed:
                return None
            signature, schema_version = self.signature()
            shape = self._shape_for(schema_version)
            generation = self._current
            if generation is None or generation.signature != signature:
                self._retire(generation)
                generation = self._current = Generation(_next_number(), signature, shape.columns)
                self.builds += 1
            missing = tables_in(sql, shape.tables) - generation.rows.keys()
            if missing & VIEW_TABLES:
                missing |= (VIEW_TABLES & shape.tables) - generation.rows.keys()
            if missing:
                try:
                    self._fill(generation, missing)
                except BaseException:
                    self._current = None
                    self._retire(generation)
                    raise
            with self.state_lock:
                generation.leases += 1
            return generation

    def release(self, item: Generation | Shape) -> None:
        with self.state_lock:
            item.leases -= 1
            if item.retired and item.leases == 0:
                self._drop(item)

    def _retire(self, item: Generation | Shape | None) -> None:
        if item is None:
            return
        with self.state_lock:
            item.retired = True
            if item.leases == 0:
                self._drop(item)

    def close(self, *, wait: bool = True) -> bool:
        """Retire everything and close the probe; False (and nothing done) when ``wait`` is False
        and the cache is busy (a copy running, or a query holding a lease)."""
        if not self.build_lock.acquire(blocking=wait):
            return False
        try:
            with self.state_lock:
                busy = any(item is not None and item.leases for item in (self._current, self._shape))
            if busy and not wait:
                return False
            self.closed = True
            self._retire(self._current)
            self._retire(self._shape)
            self._current = self._shape = None
            self._close_probe()
            return True
        finally:
            self.build_lock.release()

    def info(self) -> SnapshotInfo:
        with self.build_lock:
            generation = self._current
            fresh = generation is not None and not self.closed and generation.signature == self.signature()[0]
            parts = generation.parts if generation else []
            return SnapshotInfo(databases=tuple(part.name for part in parts), fresh=fresh,
                                rows=generation.rows if generation else {},
                                size_bytes=sum(_size(part.path) for part in parts),
                                build_s=generation.build_s if generation else 0.0, builds=self.builds,
                                last_build_s=self.last_build_s, scanner=self.engine.scanner)

    # ------------------------------------------------------------------ shape

    def _shape_for(self, schema_version: int) -> Shape:
        key = (self._probe_number, schema_version)
        if self._shape is not None and self._shape.key == key:
            return self._shape
        self._retire(self._shape)
        self._shape = None
        assert self._probe is not None
        shape = Shape(f"{SHAPE_PREFIX}{_next_number()}", key)
        tables = [row[0] for row in self._probe.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").fetchall()]
        for table in tables:
            info = self._probe.execute(f'PRAGMA table_info("{_ident(table)}")').fetchall()
            shape.columns[table] = [(row[1], duck_type(row[2])) for row in info]
        self._run(f"ATTACH ':memory:' AS {shape.name}")
        try:
            for table, columns in shape.columns.items():
                self._run(f'CREATE TABLE {shape.name}.main."{_ident(table)}" ({_ddl(columns)})')
        except BaseException:
            self._retire(shape)
            raise
        self._shape = shape
        return shape

    # ------------------------------------------------------------------ copies

    def _fill(self, generation: Generation, tables: set[str]) -> None:
        ordered = sorted(tables, key=lambda t: (_COPY_ORDER.index(t) if t in _COPY_ORDER else len(_COPY_ORDER), t))
        columns = {table: generation.columns[table] for table in ordered}
        name = f"{SNAPSHOT_PREFIX}{generation.number}_{len(generation.parts) + 1}"
        started = time.perf_counter()
        if self.engine.scanner:
            part = self._copy_in_child(name, columns)
        else:
            part = self._copy_with_sqlite3(name, columns)
        generation.parts.append(part)
        elapsed = time.perf_counter() - started
        generation.build_s += elapsed
        self.last_build_s = elapsed

    def _copy_in_child(self, name: str, columns: dict[str, list[tuple[str, str]]]) -> Part:
        """``sqlite_scanner`` in a child process writes the tables into a new DuckDB file, which
        this process attaches read-only."""
        import json
        import subprocess

        path = self._snapshot_folder() / f"{name}.duckdb"
        request = {"extension_directory": self.engine.extension_directory, "catalog": str(self.path),
                   "target": str(path), "columns": columns, "workers": max(1, min(len(columns), os.cpu_count() or 1, 4))}
        try:
            done = subprocess.run([sys.executable, "-m", CHILD_MODULE], input=json.dumps(request), capture_output=True,
                                  text=True, timeout=COPY_TIMEOUT_S, env=_child_env())
        except subprocess.TimeoutExpired as exc:
            _unlink(path)
            raise SnapshotError(f"Copying the catalog {self.path} for analytics took over {COPY_TIMEOUT_S} s.") from exc
        if done.returncode != 0:
            _unlink(path)
            detail = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
            raise SnapshotError(f"Cannot copy the catalog {self.path} for analytics: {detail}")
        counts = json.loads(done.stdout)
        try:
            self._run(f"ATTACH '{quote(str(path))}' AS {name} (READ_ONLY)")
        except BaseException:
            _unlink(path)
            raise
        return Part(name, path, {table: int(rows) for table, rows in counts.items()})

    def _copy_with_sqlite3(self, name: str, columns: dict[str, list[tuple[str, str]]]) -> Part:
        """The fallback: one ``sqlite3`` read transaction (a consistent state), in chunks, into
        in-memory tables."""
        self._run(f"ATTACH ':memory:' AS {name}")
        part = Part(name, None, {})
        try:
            conn = _connect_read_only(self.path)
            try:
                conn.execute("BEGIN")
                for table, table_columns in columns.items():
                    self._run(f'CREATE TABLE {name}.main."{_ident(table)}" ({_ddl(table_columns)})')
                    part.tables[table] = self._copy_rows(conn, name, table, table_columns)
                conn.execute("COMMIT")
            finally:
                conn.close()
        except BaseException:
            self._drop_part(part)
            raise
        return part

    def _copy_rows(self, conn: sqlite3.Connection, target: str, table: str, columns: list[tuple[str, str]]) -> int:
        import pandas as pd

        names = [column for column, _kind in columns]
        quoted = ", ".join(f'"{_ident(column)}"' for column in names)
        rows = conn.execute(f'SELECT {quoted} FROM "{_ident(table)}"')
        staging = f"kroma_staging_{uuid.uuid4().hex[:12]}"
        count = 0
        cur = self.engine.database.cursor()
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

    def _snapshot_folder(self) -> Path:
        import tempfile

        if self._folder is None:
            sweep_stale_folders(Path(tempfile.gettempdir()))
            self._folder = Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-"))
            keep_folder(self._folder)
        return self._folder

    # ------------------------------------------------------------------ DuckDB housekeeping

    def _run(self, statement: str) -> None:
        cur = self.engine.database.cursor()
        try:
            cur.execute(statement)
        finally:
            cur.close()

    def _drop(self, item: Generation | Shape) -> None:
        if isinstance(item, Shape):
            self._run(f"DETACH DATABASE IF EXISTS {item.name}")
            return
        for part in item.parts:
            self._drop_part(part)
        if self.closed and self._folder is not None:
            import shutil

            shutil.rmtree(self._folder, ignore_errors=True)
            forget_folder(self._folder)

    def _drop_part(self, part: Part) -> None:
        self._run(f"DETACH DATABASE IF EXISTS {part.name}")
        if part.path is not None:
            _unlink(part.path)


# --------------------------------------------------------------------------- the copy child

# The child: ``python -m kroma_kit.analytics.snapshot_copy`` with a JSON request on stdin; prints
# {table: rows}. It opens no sqlite3 connection: its only SQLite is the extension's.
CHILD_MODULE = "kroma_kit.analytics.snapshot_copy"


def _child_env() -> dict[str, str]:
    """The parent's environment, with this kroma_kit first on the path (the child imports it)."""
    env = dict(os.environ)
    env.pop("PYTHONSTARTUP", None)
    package_parent = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH")) if p)
    return env


# --------------------------------------------------------------------------- the registry

def catalog_cache(engine: Engine, path: Path) -> CatalogCache:
    """This process's cache for the catalog at ``path`` on ``engine`` (made on first use); the
    least recently used idle caches beyond :data:`MAX_CATALOGS` are closed."""
    key = str(Path(path).resolve())
    with engine.caches_lock:
        caches: OrderedDict[str, CatalogCache] = engine.caches
        cache = caches.get(key)
        if cache is None or cache.closed:
            cache = caches[key] = CatalogCache(engine, Path(key))
        caches.move_to_end(key)
        for other_key, other in list(caches.items())[:-1]:
            if len(caches) <= MAX_CATALOGS:
                break
            if other.close(wait=False):
                del caches[other_key]
    return cache


@contextmanager
def snapshot(engine: Engine, path: Path, sql: str) -> Iterator[str]:
    """``with snapshot(engine, path, sql) as search_path:`` a fresh generation holding the tables
    ``sql`` needs, leased; run ``sql`` with DuckDB's ``search_path`` set to it inside the block."""
    while True:
        cache = catalog_cache(engine, path)
        generation = cache.acquire_generation(sql)
        if generation is not None:
            break
    try:
        yield generation.search_path
    finally:
        cache.release(generation)


@contextmanager
def shape(engine: Engine, path: Path) -> Iterator[str]:
    """``with shape(engine, path) as search_path:`` the catalog's empty typed tables, for typing."""
    while True:
        cache = catalog_cache(engine, path)
        leased = cache.acquire_shape()
        if leased is not None:
            break
    try:
        yield f"{leased.name}.main"
    finally:
        cache.release(leased)


def refresh_snapshot(ws: Workspace, sql: str | None = None) -> SnapshotInfo:
    """Make this process's snapshot fresh now (by default with every table the views read), e.g.
    when a dashboard kernel starts, so that its first query does not wait for the copy."""
    from kroma_kit.analytics.engine import get_engine

    engine = get_engine(ws.home)
    with snapshot(engine, ws.catalog_path, sql if sql is not None else " ".join(sorted(VIEW_TABLES))):
        pass
    return catalog_cache(engine, ws.catalog_path).info()


def snapshot_info(ws: Workspace) -> SnapshotInfo:
    """What this process's snapshot of ``ws``'s catalog holds now (copies nothing)."""
    from kroma_kit.analytics.engine import get_engine

    return catalog_cache(get_engine(ws.home), ws.catalog_path).info()


def close_caches(engine: Engine) -> None:
    """Close every cache of ``engine`` (snapshots are dropped once no query holds them)."""
    engine.close_caches()


# --------------------------------------------------------------------------- helpers

def _stat(path: Path) -> os.stat_result:
    return os.stat(path)
