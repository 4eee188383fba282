"""One-line audit calls for the places that move or delete project files (the pipeline's archive
moves, ``kroma qa archive-bad``, image deletes in the character workspace)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kroma_kit.catalog.audit import write_event
from kroma_kit.workspace import Workspace

MAX_LISTED = 50


def audit_archive_moves(ws: Workspace, project_id: str | None, moves: Sequence[dict[str, Any]], *, reason: str,
                        run_id: str | None = None) -> str | None:
    """Record that files moved to the project's archive (``moves``: ``{"from", "to"}`` each).
    Nothing is written when nothing moved."""
    if not moves or project_id is None:
        return None
    listed = [{"from": str(m.get("from")), "to": str(m.get("to"))} for m in moves[:MAX_LISTED]]
    return write_event(ws.catalog_path, "files.archived", {"reason": reason, "count": len(moves), "run_id": run_id,
                                                           "moves": listed}, project_id=project_id)


def audit_image_deleted(ws: Workspace, project_id: str, path: str, *, archived_to: str | None = None,
                        **details: Any) -> str:
    """Record an image delete (the file should have gone to the archive: say where)."""
    return write_event(ws.catalog_path, "image.deleted", {"path": path, "archived_to": archived_to, **details},
                       project_id=project_id)
