"""Short-lived catalog connections as context managers, for the modules whose functions each do
one read or one write transaction (the REST API calls them from many threads at once: a
connection is opened per call and never shared across threads)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from kroma_kit.catalog.db import connect, transaction
from kroma_kit.workspace import Workspace


@contextmanager
def reading(ws: Workspace) -> Iterator[sqlite3.Connection]:
    """A read-only connection: a read never writes, not even the WAL checkpoint on close."""
    conn = connect(ws.catalog_path, read_only=True)
    try:
        yield conn
    finally:
        conn.close()


@contextmanager
def writing(ws: Workspace) -> Iterator[sqlite3.Connection]:
    """One ``BEGIN IMMEDIATE`` transaction on a fresh read-write connection."""
    conn = ws.connect()
    try:
        with transaction(conn):
            yield conn
    finally:
        conn.close()
