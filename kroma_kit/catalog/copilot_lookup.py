"""Names the copilot fills slots with, read from tables other features own.

The ``characters`` table comes from the Characters feature (migration 0002); until it exists in a
catalog, :func:`character_codes` returns ``[]`` instead of failing.
"""

from __future__ import annotations

from kroma_kit.workspace import Workspace


def character_codes(ws: Workspace, project_id: str) -> list[str]:
    """The project's character codes, sorted; ``[]`` when the catalog has no ``characters`` table."""
    conn = ws.connect()
    try:
        exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'characters'").fetchone()
        if not exists:
            return []
        rows = conn.execute("SELECT code FROM characters WHERE project_id = ? ORDER BY code", (project_id,)).fetchall()
    finally:
        conn.close()
    return [str(row[0]) for row in rows if row[0]]
