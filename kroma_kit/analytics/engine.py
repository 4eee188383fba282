"""The process-wide DuckDB database, and the offline ``sqlite_scanner`` extension.

The in-memory DuckDB *database* lives as long as the process: every analytics session is a fresh
connection on it (:mod:`kroma_kit.analytics.session`), and it holds this process's snapshot of the
catalog (:mod:`kroma_kit.analytics.snapshot`, one cache per catalog in ``Engine.caches``).

The extension is installed and loaded here once per process (~150-300 ms: DuckDB verifies its
signature by hashing 34 MB): that proves it works on this machine, and installs it into the
extension directory that snapshot copies load it from. The copies read the catalog through it in
a *child process*: this process never opens the catalog with the extension's own bundled SQLite
(see :mod:`kroma_kit.analytics.snapshot` for why).

Offline by design: the extension is never downloaded. The binary comes from the
``duckdb-extension-sqlite`` wheel (pinned to DuckDB's version), is copied under the name
``sqlite_scanner.duckdb_extension`` into ``<KROMA_HOME>/cache/duckdb/v<version>-<key>/``, installed
from that path into DuckDB's extension directory beside it (``INSTALL '<path>'; LOAD
sqlite_scanner``), with DuckDB's auto-install and auto-load switched off. If that fails, snapshots
are copied through Python's ``sqlite3`` instead (slower); a warning says so once per process.
``KROMA_DUCKDB_SQLITE_EXTENSION`` points at another extension file, or ``off`` forces the fallback.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import threading
import uuid
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb

    from kroma_kit.workspace import Workspace

log = logging.getLogger("kroma_kit.analytics")

EXTENSION_NAME = "sqlite_scanner"
EXTENSION_ENV = "KROMA_DUCKDB_SQLITE_EXTENSION"  # path to a .duckdb_extension file, or "off"
FALLBACK_WARNING = (
    "DuckDB's sqlite_scanner extension could not be loaded ({reason}); Kroma analytics falls back "
    "to copying the catalog through Python's sqlite3 into DuckDB. Results are the same but slower "
    "on big catalogs. Reinstall the 'duckdb-extension-sqlite' wheel matching duckdb {version}.")


# --------------------------------------------------------------------------- the extension

def bundled_extension_file() -> Path | None:
    """The ``sqlite`` extension binary shipped in the ``duckdb-extension-sqlite`` wheel, if any."""
    import duckdb

    override = os.environ.get(EXTENSION_ENV)
    if override:
        return None if override.lower() == "off" else Path(override).expanduser()
    try:
        import duckdb_extension_sqlite
    except ImportError:
        return None
    base = Path(duckdb_extension_sqlite.__file__).resolve().parent / "extensions"
    exact = base / f"v{duckdb.__version__}" / "sqlite.duckdb_extension"
    if exact.is_file():
        return exact
    found = sorted(base.glob("v*/sqlite*.duckdb_extension"))
    return found[-1] if found else None


def extension_cache_dir(home: Path) -> Path:
    """Where the renamed copy and DuckDB's extension directory live: ``<home>/cache/duckdb``."""
    return Path(home) / "cache" / "duckdb"


def _stage_extension(source: Path, cache: Path, name: str = EXTENSION_NAME) -> Path:
    """Copy ``source`` to ``<cache>/v<duckdb>-<key>/sqlite_scanner.duckdb_extension`` (atomically,
    once): ``INSTALL '<path>'`` names the extension after the file. ``key`` identifies the source
    file (path, size, mtime), so a different binary gets its own folder and its own DuckDB
    extension directory instead of being shadowed by one installed earlier."""
    import duckdb

    stat = source.stat()
    key = hashlib.sha1(f"{source.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:12]
    target = cache / f"v{duckdb.__version__}-{key}" / f"{name}.duckdb_extension"
    if target.is_file() and target.stat().st_size == stat.st_size:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


# --------------------------------------------------------------------------- the process-wide engine

@dataclass
class Engine:
    """The shared database; ``scanner`` False means the sqlite3 fallback (``reason`` says why).
    ``extension_directory`` holds the installed extension (snapshot copies load it from there);
    ``caches`` maps a catalog path to its :class:`~kroma_kit.analytics.snapshot.CatalogCache`."""

    database: duckdb.DuckDBPyConnection
    scanner: bool
    reason: str = ""
    extension_directory: str | None = None
    caches: OrderedDict[str, Any] = field(default_factory=OrderedDict)
    caches_lock: threading.Lock = field(default_factory=threading.Lock)
    postgres_loaded: bool = False  # the postgres extension (PostgreSQL catalogs: analytics.live_pg)

    def close_caches(self) -> None:
        """Close every catalog cache (snapshots are dropped once no query holds them)."""
        with self.caches_lock:
            caches = list(self.caches.values())
            self.caches.clear()
        for cache in caches:
            cache.close()


_engine: Engine | None = None
_engine_lock = threading.Lock()
_warned = False


def _open_engine(home: Path) -> Engine:
    import duckdb

    config: dict[str, Any] = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    source = bundled_extension_file()
    if source is None or not source.is_file():
        reason = f"no extension file ({source or 'duckdb-extension-sqlite is not installed'})"
        return Engine(duckdb.connect(":memory:", config=config), False, reason)
    try:
        staged = _stage_extension(source, extension_cache_dir(home))
    except OSError as exc:
        return Engine(duckdb.connect(":memory:", config=config), False, f"cannot copy {source}: {exc}")
    config["extension_directory"] = str(staged.parent / "extensions")
    database = duckdb.connect(":memory:", config=config)
    try:
        database.execute(f"INSTALL '{quote(str(staged))}'")
        database.execute(f"LOAD {EXTENSION_NAME}")
    except duckdb.Error as exc:
        return Engine(database, False, f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
    return Engine(database, True, extension_directory=config["extension_directory"])


def get_engine(home: Path) -> Engine:
    """The shared engine, made on first use (``home`` decides where the extension is staged);
    the first caller that gets the fallback engine triggers the one warning."""
    global _engine, _warned
    with _engine_lock:
        if _engine is None:
            _engine = _open_engine(home)
        engine = _engine
        if not engine.scanner and not _warned:
            import duckdb

            _warned = True
            message = FALLBACK_WARNING.format(reason=engine.reason, version=duckdb.__version__)
            log.warning(message)
            warnings.warn(message, RuntimeWarning, stacklevel=5)
    return engine


def reset_engine() -> None:
    """Forget the process-wide DuckDB database (and the once-per-process warning), e.g. after
    changing ``KROMA_DUCKDB_SQLITE_EXTENSION``. Its snapshots are dropped (and its probe
    connections closed) as soon as no running query holds them; sessions already open keep working."""
    global _engine, _warned
    with _engine_lock:
        old, _engine, _warned = _engine, None, False
    if old is not None:
        old.close_caches()


def uses_sqlite_scanner(ws: Workspace) -> bool:
    """True when sessions read the catalog through ``sqlite_scanner`` (False: the sqlite3 fallback)."""
    return get_engine(ws.home).scanner


def quote(text: str) -> str:
    """A string for a single-quoted SQL literal."""
    return text.replace("'", "''")
