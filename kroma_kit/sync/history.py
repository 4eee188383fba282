"""Past pushes and pulls of a project (a failed post-run push shows up here and in the audit)."""

from __future__ import annotations

from typing import Any

from kroma_kit.catalog.db import connect
from kroma_kit.catalog.projects import get_project
from kroma_kit.catalog.sync_state import list_sync_runs
from kroma_kit.workspace import Workspace


def sync_history(ws: Workspace, slug: str, *, limit: int = 20) -> list[dict[str, Any]]:
    project = get_project(ws, slug)
    conn = connect(ws.catalog_path, read_only=True)
    try:
        return list_sync_runs(conn, project["id"], max(1, min(limit, 1000)))
    finally:
        conn.close()
