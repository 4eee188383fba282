"""One catalog's snapshot in one process: the probe that reads the change signature, the shape,
the current generation and its leases, and the decision between an in-place refresh and a new
copy; see :mod:`kroma_kit.analytics.snapshot` for the design."""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from kroma_kit.analytics.engine import Engine
from kroma_kit.analytics.snapshot_delta import read_marks, refresh_in_place, tracked_tables
from kroma_kit.analytics.snapshot_fill import copy_in_child, copy_with_sqlite3, drop_part, run
from kroma_kit.analytics.snapshot_parts import (
    Generation,
    Part,
    Shape,
    SnapshotInfo,
    _connect_read_only,
    _ddl,
    _ident,
    _size,
    duck_type,
)
from kroma_kit.analytics.snapshot_temp import FOLDER_PREFIX, forget_folder, keep_folder, sweep_stale_folders
from kroma_kit.analytics.views import VIEW_SQL

SNAPSHOT_PREFIX = "catalog_snapshot_"
SHAPE_PREFIX = "catalog_shape_"

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_VIEW_WORDS = {name: frozenset(word.lower() for word in _WORD.findall(sql)) for name, sql in VIEW_SQL.items()}
# Every table a view reads: copied together, so a dashboard pays one copy per catalog change.
VIEW_TABLES = frozenset({"projects", "runs", "run_jobs", "run_candidates", "cost_events", "assets"})
# Copied first (in parallel): the big tables, so the small ones fill the gaps.
_COPY_ORDER = ("run_candidates", "cost_events", "run_jobs", "assets", "runs", "projects")


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


def _stat(path: Path) -> os.stat_result:
    return os.stat(path)


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
        self.refreshes = 0
        self.last_refresh_s = 0.0
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
            if generation is not None and generation.signature != signature:
                try:
                    refreshed = self._refresh(generation, shape, signature)
                except BaseException:
                    self._current = None
                    self._retire(generation)
                    raise
                if not refreshed:
                    self._retire(generation)
                    generation = self._current = None
            if generation is None:
                generation = self._current = Generation(_next_number(), signature, shape.columns, shape.key)
                self.builds += 1
            missing = tables_in(sql, shape.tables) - generation.rows.keys()
            if missing & VIEW_TABLES:
                missing |= (VIEW_TABLES & shape.tables) - generation.rows.keys()
            if missing:
                try:
                    self._fill(generation, shape, missing)
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
                                last_build_s=self.last_build_s, scanner=self.engine.scanner,
                                refreshes=self.refreshes, last_refresh_s=self.last_refresh_s)

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
        shape.tracked = tracked_tables(self._probe, shape.columns)
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

    def _fill(self, generation: Generation, shape: Shape, tables: set[str]) -> None:
        """Copy ``tables`` whole into a new part of ``generation``; their marks are read first,
        so the copy holds at least that state (see :mod:`kroma_kit.analytics.snapshot_delta`)."""
        ordered = sorted(tables, key=lambda t: (_COPY_ORDER.index(t) if t in _COPY_ORDER else len(_COPY_ORDER), t))
        columns = {table: generation.columns[table] for table in ordered}
        name = f"{SNAPSHOT_PREFIX}{generation.number}_{len(generation.parts) + 1}"
        assert self._probe is not None
        marks, seq = read_marks(self._probe, shape, tables)
        if not generation.parts:
            generation.change_seq = seq
        started = time.perf_counter()
        if self.engine.scanner:
            part = copy_in_child(self.engine, self.path, self._snapshot_folder() / f"{name}.duckdb", name, columns)
        else:
            part = copy_with_sqlite3(self.engine, self.path, name, columns)
        generation.parts.append(part)
        generation.marks.update(marks)
        elapsed = time.perf_counter() - started
        generation.build_s += elapsed
        self.last_build_s = elapsed

    def _refresh(self, generation: Generation, shape: Shape, signature: tuple[Any, ...]) -> bool:
        """Apply the rows changed since ``generation`` was made or last refreshed, in place; False
        when it needs a whole new copy instead."""
        if generation.shape_key != shape.key or not generation.parts:
            return False
        started = time.perf_counter()
        if not refresh_in_place(self.engine, self.path, generation, shape):
            return False
        generation.signature = signature
        self.refreshes += 1
        self.last_refresh_s = time.perf_counter() - started
        return True

    def _snapshot_folder(self) -> Path:
        import tempfile

        if self._folder is None:
            sweep_stale_folders(Path(tempfile.gettempdir()))
            self._folder = Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-"))
            keep_folder(self._folder)
        return self._folder

    # ------------------------------------------------------------------ DuckDB housekeeping

    def _run(self, statement: str) -> None:
        run(self.engine, statement)

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
        drop_part(self.engine, part)
