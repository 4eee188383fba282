"""Small shared helpers of the characters service: project lookup and catalog connections."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kroma_kit.catalog.db import connect, transaction
from kroma_kit.catalog.projects import get_project
from kroma_kit.workspace import Workspace


def project_of(ws: Workspace, project: str | dict[str, Any]) -> dict[str, Any]:
    """A project row from its slug (or the row itself, passed through)."""
    return project if isinstance(project, dict) else get_project(ws, project)


@contextmanager
def reading(ws: Workspace) -> Iterator[sqlite3.Connection]:
    """A read-only connection: listing characters from a dashboard must never write."""
    conn = connect(ws.catalog_path, read_only=True)
    try:
        yield conn
    finally:
        conn.close()


@contextmanager
def writing(ws: Workspace) -> Iterator[sqlite3.Connection]:
    """One short ``BEGIN IMMEDIATE`` transaction: all or nothing."""
    conn = ws.connect()
    try:
        with transaction(conn):
            yield conn
    finally:
        conn.close()
