"""Analytics over a PostgreSQL catalog: DuckDB reads it live through its postgres extension.

Why no snapshot here: the SQLite snapshot exists because ``sqlite_scanner`` re-decodes every page
per query and because a second SQLite library in this process would break SQLite's file locks
(:mod:`kroma_kit.analytics.snapshot`). Neither applies to PostgreSQL: the extension speaks the
wire protocol (``COPY ... TO STDOUT (FORMAT binary)``, filters and projections pushed down), and
every DuckDB query reads in a new PostgreSQL transaction, so each query sees every commit made
before it, by any process on any machine, with no change signature to check. The catalog is
attached once per process and URL, read-only; the views are the same portable SQL, so the same
query gives the same frame on either engine (TEXT -> VARCHAR, BIGINT -> BIGINT, DOUBLE PRECISION
-> DOUBLE, exactly the types the SQLite snapshot's shape gives).

Offline like the SQLite extension: the binary comes from the ``duckdb-extension-postgres`` wheel
(pinned to DuckDB's version), staged under ``<KROMA_HOME>/cache/duckdb`` as
``postgres_scanner.duckdb_extension`` and installed from that path, never downloaded.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

from kroma_kit.analytics.engine import Engine, _stage_extension, extension_cache_dir, quote
from kroma_kit.errors import StorageError

PG_EXTENSION = "postgres_scanner"
_lock = threading.Lock()


def bundled_postgres_extension() -> Path | None:
    """The ``postgres`` extension binary in the ``duckdb-extension-postgres`` wheel, if installed."""
    import duckdb

    try:
        import duckdb_extension_postgres
    except ImportError:
        return None
    base = Path(duckdb_extension_postgres.__file__).resolve().parent / "extensions"
    exact = base / f"v{duckdb.__version__}"
    found = sorted(exact.glob("postgres*.duckdb_extension")) or sorted(base.glob("v*/postgres*.duckdb_extension"))
    return found[-1] if found else None


def libpq_dsn(url: str) -> str:
    """``postgresql://user:pw@host:port/db`` as the ``key=value`` string the extension takes."""
    parts = urlsplit(url)
    fields = {"host": parts.hostname, "port": parts.port, "dbname": unquote(parts.path.lstrip("/")) or None,
              "user": unquote(parts.username) if parts.username else None,
              "password": unquote(parts.password) if parts.password else None}
    pairs = [f"{key}={_dsn_value(str(value))}" for key, value in fields.items() if value not in (None, "")]
    return " ".join(pairs + [p.replace("&", " ") for p in [parts.query] if p])


def _dsn_value(value: str) -> str:
    if value and all(ch not in value for ch in " '\\"):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def attached_catalog(engine: Engine, home: Path, url: str) -> str:
    """Attach ``url`` read-only on the process-wide DuckDB database (once) and return the
    ``search_path`` naming its tables."""
    import duckdb

    name = "kroma_pg_" + hashlib.sha1(url.encode()).hexdigest()[:12]
    with _lock:
        attached = {row[0] for row in engine.database.execute("SELECT database_name FROM duckdb_databases()").fetchall()}
        if name not in attached:
            _load_extension(engine, home)
            try:
                engine.database.execute(f"ATTACH '{quote(libpq_dsn(url))}' AS {name} (TYPE postgres, READ_ONLY)")
            except duckdb.Error as exc:
                raise StorageError(f"DuckDB could not attach the PostgreSQL catalog: {str(exc).splitlines()[0]}") \
                    from exc
    return f"{name}.public"


def _load_extension(engine: Engine, home: Path) -> None:
    import duckdb

    if engine.postgres_loaded:
        return
    source = bundled_postgres_extension()
    if source is None:
        raise StorageError("Analytics on a PostgreSQL catalog need DuckDB's postgres extension: install the "
                           f"'duckdb-extension-postgres' wheel matching duckdb {duckdb.__version__} (it is "
                           "never downloaded at run time).")
    staged = _stage_extension(source, extension_cache_dir(home), name=PG_EXTENSION)
    try:
        engine.database.execute(f"INSTALL '{quote(str(staged))}'")
        engine.database.execute(f"LOAD {PG_EXTENSION}")
    except duckdb.Error as exc:
        raise StorageError(f"DuckDB's postgres extension ({staged}) could not be loaded: "
                           f"{str(exc).splitlines()[0]}") from exc
    engine.postgres_loaded = True
