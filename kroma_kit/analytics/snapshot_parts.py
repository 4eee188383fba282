"""What a catalog snapshot is made of (parts, generations, the shape) and the small helpers that
type and name its tables the way ``sqlite_scanner`` does; see :mod:`kroma_kit.analytics.snapshot`."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote as url_quote

from kroma_kit.analytics.snapshot_temp import (  # noqa: F401 (FOLDER_PREFIX re-exported)
    FOLDER_PREFIX,
    forget_folder,
    keep_folder,
    sweep_stale_folders,
)

# --------------------------------------------------------------------------- what is attached

@dataclass(eq=False)
class Part:
    """One attached DuckDB database of a generation: a file written by the copy child, or
    (``path`` None) in-memory tables copied by the sqlite3 fallback."""

    name: str
    path: Path | None
    tables: dict[str, int]  # table -> rows


@dataclass(eq=False)
class Generation:
    """One snapshot: every table copied so far, all as of ``signature``. Brought up to date in
    place while the catalog only gains and updates rows (``marks``: the max rowid of each tracked
    table, ``change_seq``: the change log's position, as of the last copy or refresh; see
    :mod:`kroma_kit.analytics.snapshot_delta`); ``shape_key`` is the shape it was copied with."""

    number: int
    signature: tuple[Any, ...]
    columns: dict[str, list[tuple[str, str]]]
    shape_key: tuple[Any, ...] = ()
    parts: list[Part] = field(default_factory=list)
    marks: dict[str, int] = field(default_factory=dict)
    change_seq: int = 0
    build_s: float = 0.0
    leases: int = 0
    retired: bool = False

    @property
    def rows(self) -> dict[str, int]:
        return {table: rows for part in self.parts for table, rows in part.tables.items()}

    @property
    def search_path(self) -> str:
        """Unqualified table names resolve in the parts (``memory.main`` when there is none)."""
        return ",".join(f"{part.name}.main" for part in self.parts) or "memory.main"


@dataclass(eq=False)
class Shape:
    """Empty tables with the catalog's columns as DuckDB types them; ``key`` = (probe, schema_version)."""

    name: str
    key: tuple[Any, ...]
    columns: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    tracked: frozenset[str] = frozenset()  # tables the change log covers (refreshed in place)
    leases: int = 0
    retired: bool = False

    @property
    def tables(self) -> frozenset[str]:
        return frozenset(self.columns)


@dataclass(frozen=True)
class SnapshotInfo:
    """What :func:`snapshot_info` reports about one catalog's snapshot in this process."""

    databases: tuple[str, ...]    # the attached DuckDB databases holding the current generation
    fresh: bool                   # its signature is the catalog's signature now
    rows: dict[str, int]          # table -> rows copied into it
    size_bytes: int               # size of its files (0 for in-memory fallback copies)
    build_s: float                # seconds spent copying into it so far
    builds: int                   # generations made in this process for this catalog
    last_build_s: float           # duration of the latest copy (any generation)
    scanner: bool                 # copied through sqlite_scanner (False: the sqlite3 fallback)
    refreshes: int = 0            # in-place refreshes (changed rows only) made in this process
    last_refresh_s: float = 0.0   # duration of the latest in-place refresh


# --------------------------------------------------------------------------- helpers

def duck_type(declared: str | None) -> str:
    """The DuckDB type ``sqlite_scanner`` (DuckDB 1.5) reads a column of this declared type as:
    SQLite's affinity rules plus its extra rules for dates, times and decimals."""
    text = (declared or "").strip().lower()
    if "int" in text or "bool" in text:
        return "BIGINT"
    if any(word in text for word in ("char", "clob", "text")):
        return "VARCHAR"
    if "blob" in text or not text:
        return "BLOB"
    if any(word in text for word in ("real", "floa", "doub")):
        return "DOUBLE"
    if text == "date":
        return "DATE"
    if "time" in text:
        return "TIMESTAMP"
    if "dec" in text or "num" in text:
        return "DOUBLE"
    return "VARCHAR"


BUSY_TIMEOUT_S = 15.0  # how long a read-only catalog connection waits on a lock


def _connect_read_only(path: Path, *, check_same_thread: bool = True) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{url_quote(str(path))}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S,
                           isolation_level=None, check_same_thread=check_same_thread)


def _size(path: Path | None) -> int:
    try:
        return path.stat().st_size if path is not None else 0
    except OSError:
        return 0


def _unlink(path: Path) -> None:
    for leftover in (path, Path(f"{path}.wal")):
        leftover.unlink(missing_ok=True)


def _ident(name: str) -> str:
    return name.replace('"', '""')


def _ddl(columns: list[tuple[str, str]]) -> str:
    return ", ".join(f'"{_ident(name)}" {kind}' for name, kind in columns)
