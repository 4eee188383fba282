"""The catalog: the system of record in SQLite (WAL). One module per domain.

:func:`open_workspace` lives here, not in :mod:`kroma_kit.workspace`, because opening a workspace
applies the catalog's migrations and the base layer never imports the catalog.
"""

from __future__ import annotations

import os

from kroma_kit.catalog.db import connect
from kroma_kit.catalog.migrations import migrate
from kroma_kit.errors import StorageError
from kroma_kit.workspace import CATALOG_FILE, Workspace, workspace_home

__all__ = ["open_workspace"]


def open_workspace(home: str | os.PathLike[str] | None = None, *, create: bool = True) -> Workspace:
    """Return the workspace, creating its folders and applying catalog migrations when needed.

    Migrations are additive and idempotent, so calling this from every process is safe.
    """
    ws = Workspace(workspace_home(home))
    if not create and not ws.catalog_path.exists():
        raise StorageError(
            f"No Kroma workspace at {ws.home} (no {CATALOG_FILE}). Run `kroma init` or set KROMA_HOME."
        )
    ws.projects_dir.mkdir(parents=True, exist_ok=True)
    conn = connect(ws.catalog_path)
    try:
        migrate(conn)
    finally:
        conn.close()
    return ws
