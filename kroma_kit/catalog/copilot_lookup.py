"""Names the copilot fills slots with, read from tables other features own.

The ``characters`` table comes from the Characters feature (migration 0002); until it exists in a
catalog, :func:`character_codes` returns ``[]`` instead of failing.
"""

from __future__ import annotations

from kroma_kit.catalog.db import table_exists
from kroma_kit.workspace import Workspace


def character_codes(ws: Workspace, project_id: str) -> list[str]:
    """The project's character codes, sorted; ``[]`` when the catalog has no ``characters`` table."""
    conn = ws.connect()
    try:
        if not table_exists(conn, "characters"):
            return []
        rows = conn.execute("SELECT code FROM characters WHERE project_id = ? ORDER BY code", (project_id,)).fetchall()
    finally:
        conn.close()
    return [str(row[0]) for row in rows if row[0]]


def final_files(ws: Workspace, project_id: str, run_id: str | None = None) -> list[str]:
    """The current final (winner) files of a run: ``run_id``, else the project's newest run that
    has any. Winner overrides are followed (the catalog re-kinds the assets)."""
    conn = ws.connect()
    try:
        if run_id is None:
            row = conn.execute(
                "SELECT r.id FROM runs r JOIN run_jobs j ON j.run_id = r.id JOIN assets a ON a.id = j.final_asset_id "
                "WHERE r.project_id = ? AND r.run_mode = 'run' ORDER BY r.created_at DESC LIMIT 1",
                (project_id,)).fetchone()
            if row is None:
                return []
            run_id = row[0]
        rows = conn.execute(
            "SELECT a.storage_uri FROM run_jobs j JOIN assets a ON a.id = j.final_asset_id "
            "WHERE j.run_id = ? AND a.project_id = ? ORDER BY j.job_key", (run_id, project_id)).fetchall()
    finally:
        conn.close()
    return [str(r[0]) for r in rows]
