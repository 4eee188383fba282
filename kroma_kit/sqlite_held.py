"""One SQLite catalog connection held open for a block of work and lent to that thread's short
connections, so each of them does not pay for opening one.

Why: opening a connection is cheap, but its first statement parses the catalog's schema (130
tables, indexes and triggers: about 1 ms each time), and a run opens a dozen short connections
one after another on its own thread (planning lookups, its first rows, the stage cache, the
closing ingest), all of them on the path between the command and its first paid call or its
answer. While :func:`holding` holds a connection, :func:`borrow` hands that same connection to a
connection request of the same thread; its ``close`` gives it back instead of closing it.

What a borrower sees is what it would see with a fresh connection: autocommit, ``sqlite3.Row``
rows, a transaction left open is rolled back when it is given back (as ``close`` would), and a
read-only request gets the connection with ``PRAGMA query_only`` on, so it cannot write. A
request while the connection is lent (a borrower opening a second connection) gets a fresh one,
as does any other thread (SQLite connections stay on the thread that made them).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class HeldConnection(sqlite3.Connection):
    """The connection :func:`holding` holds: while held, ``close`` gives it back instead."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.held = True  # until its holding block ends
        self.lent = False
        self.read_only = False

    def lend(self, *, read_only: bool) -> HeldConnection:
        self.lent, self.read_only = True, read_only
        if read_only:
            self.execute("PRAGMA query_only = ON")
        return self

    def close(self) -> None:
        if not self.held:
            super().close()  # its block has ended: this borrower's close is the real one
        elif self.lent:
            self.give_back()
        # held and not lent: a borrower closing twice; the second close has nothing to do

    def give_back(self) -> None:
        if self.in_transaction:
            self.rollback()  # what closing a connection does to a transaction left open
        if self.read_only:
            self.execute("PRAGMA query_only = OFF")
        self.row_factory = sqlite3.Row
        self.lent = self.read_only = False

    def release(self) -> None:
        """The holding block has ended: closed now, or by its borrower's close when it is lent."""
        self.held = False
        if not self.lent:
            super().close()


_held: dict[tuple[str, int], HeldConnection] = {}
_held_lock = threading.Lock()


def _key(path: str | Path) -> tuple[str, int]:
    return str(path), threading.get_ident()


def borrow(path: str | Path, *, read_only: bool) -> HeldConnection | None:
    """The connection held for ``path`` on this thread, lent out; None when there is none or it
    is lent already (the caller opens its own)."""
    held = _held.get(_key(path))
    if held is None or held.lent:
        return None
    return held.lend(read_only=read_only)


@contextmanager
def holding(path: str | Path, open_connection: Callable[[], HeldConnection]) -> Iterator[None]:
    """Hold a connection to ``path`` (``open_connection()``, made with ``factory=HeldConnection``)
    for the block, lending it to this thread's requests; closed at the end (by its borrower, if it
    is lent then). A nested block for the same path keeps the outer one's connection."""
    key = _key(path)
    if key in _held:  # only this thread adds or removes its own keys
        yield
        return
    conn = open_connection()
    with _held_lock:
        _held[key] = conn
    try:
        yield
    finally:
        with _held_lock:
            del _held[key]
        conn.release()
