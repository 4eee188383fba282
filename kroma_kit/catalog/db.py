"""Catalog connections: SQLite in WAL mode, foreign keys on, a busy timeout, short transactions.

Many processes share the catalog (JupyterLab kernels, one Voilà kernel per tab, the worker, the
CLI): WAL lets them all read while one writes. Connections are never shared across threads.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BUSY_TIMEOUT_MS = 15000


def connect(path: str | Path, *, read_only: bool = False) -> sqlite3.Connection:
    """Open the catalog with the pragmas every connection needs.

    ``isolation_level=None`` means autocommit: writers group statements with :func:`transaction`.
    """
    db_path = Path(path)
    if read_only:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000,
                               isolation_level=None, check_same_thread=True)
    else:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(db_path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    if not read_only:
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        if str(mode).lower() != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (rollback on error). Takes the write lock up front so
    two writers queue on the busy timeout instead of failing on lock upgrade."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def new_id() -> str:
    """A new UUID4 as text (the seed's id format)."""
    return str(uuid.uuid4())


def utcnow() -> str:
    """ISO-8601 UTC with milliseconds and a ``Z``; sorts as text."""
    moment = datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def to_json(value: Any) -> str:
    """Compact JSON for ``*_json`` columns."""
    return json.dumps(value if value is not None else {}, ensure_ascii=False, sort_keys=True, default=str)


def from_json(text: str | None, default: Any = None) -> Any:
    if not text:
        return {} if default is None else default
    return json.loads(text)


def row_dict(row: sqlite3.Row | None) -> dict[str, Any] | None:
    return dict(row) if row is not None else None
