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
signature, and the next query brings the snapshot up to date before it runs. Usually in place: only
the rows added or updated since (found by rowid marks and the catalog's change log, see
:mod:`kroma_kit.analytics.snapshot_delta`) are re-read, ~tens of ms whatever the catalog's size.
After a delete, a migration, a replaced file or a table the log does not cover, the tables are
copied again whole into a new generation. (A checkpoint that changes no data may also change the
signature: one empty refresh, never a stale figure.)

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
DuckDB file under the system temp folder that this process then attaches
(``catalog_snapshot_<n>``; writable by this process for in-place refreshes, while analytics SQL is
SELECT only). The file is compressed (~70 MiB for the benchmark's 1M candidates and
1M cost events, against ~650 MiB as in-memory tables) and DuckDB reads it as fast as memory.
Without the extension the copy is made in this process through ``sqlite3`` (one read transaction)
into in-memory tables: slower, same answers.

Locks: the probe runs each PRAGMA as one autocommit statement read to the end, so it never keeps a
read transaction open; idle, it only holds what every open WAL connection holds, which no writer or
checkpoint waits on (and which keeps the WAL file in place, so the probe's view stays valid). The
child's reads are WAL reads: writers go on meanwhile. A commit during a copy is harmless for
freshness: the generation keeps the signature read *before* the copy, so the next query sees a
new signature and refreshes (the refresh re-applies any row the copy already held: applying is
idempotent). (``sqlite_scanner`` reads each table in its own read transaction,
so that one call may mix states just committed, exactly as reading the attached catalog did.)

Generations: a whole copy makes a new generation; the old one is detached (and its file
deleted) as soon as no running query holds it (queries take a lease). Tables are copied on first
need, the tables behind the views all at once (one child per whole copy for a dashboard), any
other table (``sql()`` over the audit log) only when a query names it, as a further part of the
same generation. Every table is created from an explicit column list: the catalog's *shape*, an
attached database of empty tables (``catalog_shape_<n>``, rebuilt when ``schema_version``
changes) typed by the rules ``sqlite_scanner`` applies to declared types; it also types the
selective queries sent to SQLite, so both engines return identical frames.

Threads: one build lock per catalog guards the signature check, every copy and every refresh
(panels may call from worker threads); leases have their own short lock, so a finishing query
never waits for a copy. At most :data:`MAX_CATALOGS` catalogs keep a snapshot per process (least recently used idle
ones are closed).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from kroma_kit.analytics.engine import Engine
from kroma_kit.analytics.live_pg import attached_catalog
from kroma_kit.analytics.snapshot_cache import (  # noqa: F401 (re-exported)
    _COPY_ORDER,
    SHAPE_PREFIX,
    SNAPSHOT_PREFIX,
    VIEW_TABLES,
    CatalogCache,
    tables_in,
)
from kroma_kit.analytics.snapshot_fill import CHILD_MODULE, SnapshotError  # noqa: F401 (re-exported)
from kroma_kit.analytics.snapshot_parts import BUSY_TIMEOUT_S, SnapshotInfo, duck_type  # noqa: F401 (re-exported)
from kroma_kit.analytics.snapshot_temp import FOLDER_PREFIX, sweep_stale_folders  # noqa: F401 (re-exported)

if TYPE_CHECKING:
    from kroma_kit.workspace import Workspace

MAX_CATALOGS = 4


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
    if ws.catalog_url:
        return _live_info(engine, ws)
    with snapshot(engine, ws.catalog_path, sql if sql is not None else " ".join(sorted(VIEW_TABLES))):
        pass
    return catalog_cache(engine, ws.catalog_path).info()


def snapshot_info(ws: Workspace) -> SnapshotInfo:
    """What this process's snapshot of ``ws``'s catalog holds now (copies nothing)."""
    from kroma_kit.analytics.engine import get_engine

    if ws.catalog_url:
        return _live_info(get_engine(ws.home), ws)
    return catalog_cache(get_engine(ws.home), ws.catalog_path).info()


def _live_info(engine: Engine, ws: Workspace) -> SnapshotInfo:
    """A PostgreSQL catalog has no snapshot: it is read live (always fresh, nothing copied)."""
    database = attached_catalog(engine, ws.home, str(ws.catalog_url)).split(".")[0]
    return SnapshotInfo(databases=(database,), fresh=True, rows={}, size_bytes=0, build_s=0.0, builds=0,
                        last_build_s=0.0, scanner=False)


def close_caches(engine: Engine) -> None:
    """Close every cache of ``engine`` (snapshots are dropped once no query holds them)."""
    engine.close_caches()
