"""The catalog on PostgreSQL, spoken in the dialect the catalog code is written in (``sqlite3``).

Why a thin layer and not an ORM: the catalog is ~30 small modules of plain SQL with ``?``
placeholders, ``sqlite3.Row`` access and ``BEGIN IMMEDIATE`` transactions, and engineers keep
adding more. :class:`Connection` wraps a psycopg 3 connection so the same code runs unchanged:

- ``?`` placeholders become ``%s`` (and a literal ``%`` becomes ``%%``) outside quotes;
- rows read by index, by (case-insensitive) name, ``dict(row)`` and ``row.keys()`` like ``sqlite3.Row``;
- ``BEGIN IMMEDIATE`` becomes ``BEGIN`` plus a transaction-scoped advisory lock: writers queue
  exactly as on SQLite's single write lock (the invariants the catalog code relies on, e.g. "read
  the next seq, then insert", keep holding), waiting up to ``lock_timeout`` like ``busy_timeout``;
  a plain ``BEGIN`` is an ordinary transaction (the worker's ``FOR UPDATE SKIP LOCKED`` pick);
- ``INSERT OR IGNORE`` becomes ``INSERT ... ON CONFLICT DO NOTHING``; ``IFNULL`` becomes ``COALESCE``;
- setting pragmas (``PRAGMA x = y``) are no-ops (PostgreSQL has WAL, foreign keys and a lock wait
  of its own); reading pragmas raise :class:`sqlite3.NotSupportedError` naming the statement;
- driver errors are raised as the ``sqlite3`` exceptions callers already catch
  (``IntegrityError``, worded like SQLite's "FOREIGN KEY constraint failed" for a missing parent;
  ``OperationalError`` "database is locked" for lock timeouts and deadlocks).

Connections are pooled per URL and process (a PostgreSQL connection costs a backend fork; the
catalog opens one per call): :meth:`Connection.close` rolls back anything open and returns it.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

POSTGRES_SCHEMES = ("postgresql://", "postgres://")
WRITE_LOCK_KEY = 0x6B726F6D61  # "kroma": the advisory lock every BEGIN IMMEDIATE takes
LOCK_TIMEOUT_MS = 15000  # same wait as the SQLite busy timeout
_POOL_MAX = 8
FOREIGN_KEY_FAILED = "FOREIGN KEY constraint failed"  # SQLite's message for a missing parent row


def is_postgres_url(target: object) -> bool:
    """Whether ``target`` names a PostgreSQL catalog (a ``postgresql://`` URL) rather than a file."""
    return isinstance(target, str) and target.startswith(POSTGRES_SCHEMES)


class Row:
    """A result row read like :class:`sqlite3.Row`: ``row[0]``, ``row["name"]`` (any case),
    ``dict(row)``, ``tuple(row)``, ``row.keys()``."""

    __slots__ = ("_index", "_keys", "_values")

    def __init__(self, keys: list[str], index: dict[str, int], values: Sequence[Any]) -> None:
        self._keys, self._index, self._values = keys, index, tuple(values)

    def __getitem__(self, key: int | str | slice) -> Any:
        if isinstance(key, str):
            try:
                return self._values[self._index[key.lower()]]
            except KeyError:
                raise IndexError(f"No item with that key: {key!r}") from None
        return self._values[key]

    def keys(self) -> list[str]:
        return list(self._keys)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Row):
            return self._keys == other._keys and self._values == other._values
        return NotImplemented

    def __hash__(self) -> int:
        return hash((tuple(self._keys), self._values))

    def __repr__(self) -> str:
        return f"Row({dict(zip(self._keys, self._values, strict=True))!r})"


def _row_maker(cursor: Any) -> Any:
    """psycopg row factory: one :class:`Row` shape per result."""
    if cursor.description is None:
        return tuple
    keys = [column.name for column in cursor.description]
    index: dict[str, int] = {}
    for position, name in enumerate(keys):
        index.setdefault(name.lower(), position)
    return lambda values: Row(keys, index, values)


# --------------------------------------------------------------------------- SQL translation

_BEGIN_LOCKED = "BEGIN IMMEDIATE"
_QUOTED = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*")
_INSERT_OR_IGNORE = re.compile(r"^\s*INSERT\s+OR\s+IGNORE\s+INTO\b", re.IGNORECASE)
_INSERT_OR_OTHER = re.compile(r"^\s*(INSERT\s+OR\s+\w+|REPLACE\s+INTO)\b", re.IGNORECASE)
_RETURNING = re.compile(r"\bRETURNING\b", re.IGNORECASE)
_IFNULL = re.compile(r"\bIFNULL\s*\(", re.IGNORECASE)
_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@lru_cache(maxsize=4096)
def translate(sql: str, named: bool = False) -> tuple[str | None, bool]:
    """``(postgres_sql, has_placeholders)`` for one statement in the catalog's dialect; ``None``
    for a statement with no PostgreSQL meaning (a setting pragma)."""
    text = sql.strip().rstrip(";").strip()
    head = " ".join(text.split()[:2]).upper()
    if head in ("BEGIN IMMEDIATE", "BEGIN EXCLUSIVE"):
        return _BEGIN_LOCKED, False
    if head in ("BEGIN", "BEGIN DEFERRED", "BEGIN TRANSACTION"):
        return "BEGIN", False
    if head.startswith("PRAGMA"):
        if "=" in text:
            return None, False
        raise sqlite3.NotSupportedError(f"{text!r} is SQLite-only; the catalog is on PostgreSQL "
                                        "(ask kroma_kit.catalog.db for the portable helper).")
    if _INSERT_OR_OTHER.match(text) and not _INSERT_OR_IGNORE.match(text):
        raise sqlite3.NotSupportedError(f"{text[:40]!r}... is SQLite-only; write INSERT ... ON CONFLICT "
                                        "(...) DO UPDATE SET ..., which both engines run.")
    pieces: list[str] = []
    placeholders = False
    last = 0
    for quoted in _QUOTED.finditer(text):
        code, placeholders_here = _code(text[last:quoted.start()], named)
        pieces += [code, quoted.group(0).replace("%", "%%")]
        placeholders = placeholders or placeholders_here
        last = quoted.end()
    code, placeholders_here = _code(text[last:], named)
    pieces.append(code)
    placeholders = placeholders or placeholders_here
    out = "".join(pieces)
    if not placeholders:
        out = "".join(_unescape(p) for p in pieces)  # sent without parameters: no %% escapes
    if _INSERT_OR_IGNORE.match(out):
        out = _INSERT_OR_IGNORE.sub("INSERT INTO", out, count=1)
        match = _RETURNING.search(out)
        out = (out[:match.start()] + "ON CONFLICT DO NOTHING " + out[match.start():]) if match \
            else out + " ON CONFLICT DO NOTHING"
    return out, placeholders


def _unescape(piece: str) -> str:
    return piece.replace("%%", "%")


def _code(part: str, named: bool) -> tuple[str, bool]:
    """Translate a stretch of SQL outside quotes."""
    part = _IFNULL.sub("COALESCE(", part).replace("%", "%%")
    if named:
        replaced, count = _NAMED.subn(r"%(\1)s", part)
        return replaced, count > 0
    return part.replace("?", "%s"), "?" in part


def _adapt(value: Any) -> Any:
    """Parameter values as SQLite would store them: booleans as 0/1 (the schema's flags are
    integers), paths as text."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def _params(params: Any) -> Any:
    if isinstance(params, Mapping):
        return {key: _adapt(value) for key, value in params.items()}
    return [_adapt(value) for value in params]


def _mapped(exc: Exception) -> sqlite3.Error:
    """The ``sqlite3`` exception the catalog's callers catch for this driver error."""
    import psycopg.errors as pe

    message = str(exc).strip()
    if isinstance(exc, pe.ForeignKeyViolation):  # SQLite's own words, so one test knows it on both
        return sqlite3.IntegrityError(f"{FOREIGN_KEY_FAILED}: {message}")
    if isinstance(exc, pe.IntegrityError):
        return sqlite3.IntegrityError(f"constraint failed: {message}")
    if isinstance(exc, pe.LockNotAvailable | pe.DeadlockDetected | pe.SerializationFailure):
        return sqlite3.OperationalError(f"database is locked: {message}")
    if isinstance(exc, pe.ReadOnlySqlTransaction):
        return sqlite3.OperationalError(f"attempt to write a readonly database: {message}")
    return sqlite3.OperationalError(message)


# --------------------------------------------------------------------------- connections

class Cursor:
    """The result of :meth:`Connection.execute`: fetch like a ``sqlite3.Cursor`` (a statement
    without rows fetches nothing instead of raising)."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw

    @property
    def rowcount(self) -> int:
        return -1 if self._raw is None else self._raw.rowcount

    @property
    def description(self) -> Any:
        return None if self._raw is None else self._raw.description

    def fetchone(self) -> Any:
        return self._fetch(lambda raw: raw.fetchone(), None)

    def fetchall(self) -> list[Any]:
        return self._fetch(lambda raw: raw.fetchall(), [])

    def fetchmany(self, size: int = 1) -> list[Any]:
        return self._fetch(lambda raw: raw.fetchmany(size), [])

    def _fetch(self, read: Any, empty: Any) -> Any:
        """Read rows, or ``empty`` for a statement without rows. Inside :meth:`Connection.pipelined`
        the result may not have arrived yet (no description before the sync that a fetch forces),
        so the driver is asked and its "no result" answer means ``empty``; an error that a
        pipelined statement raised surfaces here, mapped like any other."""
        import psycopg

        if self._raw is None:
            return empty
        if self._raw.description is not None:
            return read(self._raw)
        if self._raw.connection._pipeline is None:
            return empty
        try:
            return read(self._raw)
        except psycopg.ProgrammingError as exc:
            if self._raw.description is None:  # synced now: the statement has no rows
                return empty
            raise _mapped(exc) from exc
        except psycopg.Error as exc:
            raise _mapped(exc) from exc

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())

    def close(self) -> None:
        if self._raw is not None:
            self._raw.close()


class Connection:
    """A catalog connection to PostgreSQL with the ``sqlite3.Connection`` surface the code uses."""

    dialect = "postgresql"

    def __init__(self, raw: Any, url: str, read_only: bool) -> None:
        self._raw, self.url, self.read_only = raw, url, read_only
        self.row_factory: Any = None  # accepted and ignored: rows are always Row

    @property
    def raw(self) -> Any:
        """The psycopg connection (for ``COPY`` and other PostgreSQL-only work in the catalog)."""
        return self._raw

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return self._raw is not None and self._raw.info.transaction_status != TransactionStatus.IDLE

    def execute(self, sql: str, params: Any = ()) -> Cursor:
        import psycopg

        text, placeholders = translate(sql, isinstance(params, Mapping))
        if text is None:
            return Cursor(None)
        cursor = self._raw.cursor()
        try:
            if text == _BEGIN_LOCKED:
                cursor.execute("BEGIN")
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,))
                return Cursor(None)
            cursor.execute(text, _params(params) if placeholders else None)
        except psycopg.Error as exc:
            raise _mapped(exc) from exc
        return Cursor(cursor)

    def executemany(self, sql: str, seq: Any) -> Cursor:
        import psycopg

        text, placeholders = translate(sql, False)
        if text is None or not placeholders:
            raise sqlite3.ProgrammingError(f"executemany needs a statement with ? placeholders: {sql[:60]!r}")
        cursor = self._raw.cursor()
        try:
            cursor.executemany(text, [_params(p) for p in seq])
        except psycopg.Error as exc:
            raise _mapped(exc) from exc
        return Cursor(cursor)

    @contextmanager
    def pipelined(self) -> Iterator[Connection]:
        """Send the block's statements without waiting for each answer (psycopg's pipeline mode):
        a statement whose rows are read still waits (the fetch syncs), the others travel together.
        Why: a catalog ingest is thousands of small INSERT/UPDATEs, and on PostgreSQL each one's
        round trip, not the work, was most of its time. An error is raised (mapped) at the latest
        when the block ends, and the enclosing transaction rolls back as usual."""
        import psycopg

        try:
            with self._raw.pipeline():
                yield self
        except psycopg.Error as exc:
            raise _mapped(exc) from exc

    def commit(self) -> None:
        if self.in_transaction:
            self.execute("COMMIT")

    def rollback(self) -> None:
        if self.in_transaction:
            self.execute("ROLLBACK")

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, kind: Any, *_: Any) -> None:
        """Like ``sqlite3``: commit on success, roll back on error; the connection stays open."""
        if kind is None:
            self.commit()
        else:
            self.rollback()

    def close(self) -> None:
        """Give the connection back to this process's pool (anything left open is rolled back)."""
        raw, self._raw = self._raw, None
        if raw is not None:
            _release(self.url, self.read_only, raw)


_POOL: dict[tuple[str, bool], list[Any]] = {}
_POOL_LOCK = threading.Lock()
_POOL_PID = os.getpid()


def connect(url: str, *, read_only: bool = False) -> Connection:
    """A catalog connection to ``url`` (autocommit; group writes with ``BEGIN IMMEDIATE``)."""
    return Connection(_acquire(url, read_only), url, read_only)


def _acquire(url: str, read_only: bool) -> Any:
    global _POOL_PID
    with _POOL_LOCK:
        if _POOL_PID != os.getpid():  # a forked child never reuses its parent's sockets
            _POOL.clear()
            _POOL_PID = os.getpid()
        idle = _POOL.get((url, read_only))
        while idle:
            raw = idle.pop()
            if not raw.closed:
                return raw
    import psycopg

    options = f"-c lock_timeout={LOCK_TIMEOUT_MS}" + (" -c default_transaction_read_only=on" if read_only else "")
    try:
        raw = psycopg.connect(url, autocommit=True, cursor_factory=psycopg.ClientCursor, options=options,
                              connect_timeout=10, application_name="kroma")
    except psycopg.Error as exc:
        raise sqlite3.OperationalError(f"unable to open the PostgreSQL catalog {redact(url)}: {exc}") from exc
    raw.row_factory = _row_maker
    return raw


def _release(url: str, read_only: bool, raw: Any) -> None:
    from psycopg.pq import TransactionStatus

    try:
        if raw.closed or os.getpid() != _POOL_PID:
            return
        if raw.info.transaction_status != TransactionStatus.IDLE:
            raw.rollback()
        with _POOL_LOCK:
            idle = _POOL.setdefault((url, read_only), [])
            if len(idle) < _POOL_MAX:
                idle.append(raw)
                return
    except Exception:  # noqa: BLE001 - a broken connection is dropped, not pooled
        pass
    raw.close()


def close_pool(url: str | None = None) -> None:
    """Close the idle pooled connections (all, or those to ``url``): before dropping a database."""
    with _POOL_LOCK:
        for key in [k for k in _POOL if url is None or k[0] == url]:
            for raw in _POOL.pop(key):
                raw.close()


def redact(url: str) -> str:
    """``url`` without its password, for messages."""
    return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", url)
