"""One-line audit calls for the places that move project files to the archive (the pipeline's
archive moves, ``kroma qa archive-bad``). Character image deletes write their own event in
``characters.images`` inside the delete's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kroma_kit.catalog.audit import write_event
from kroma_kit.workspace import Workspace

MAX_LISTED = 50
ARCHIVED = "files.archived"


def archive_moves_event(moves: Sequence[dict[str, Any]], *, reason: str,
                        run_id: str | None = None) -> dict[str, Any] | None:
    """The ``files.archived`` payload for ``moves`` (``{"from", "to"}`` each); None when nothing moved."""
    if not moves:
        return None
    listed = [{"from": str(m.get("from")), "to": str(m.get("to"))} for m in moves[:MAX_LISTED]]
    return {"reason": reason, "count": len(moves), "run_id": run_id, "moves": listed}


def audit_archive_moves(ws: Workspace, project_id: str | None, moves: Sequence[dict[str, Any]], *, reason: str,
                        run_id: str | None = None) -> str | None:
    """Record that files moved to the project's archive (``moves``: ``{"from", "to"}`` each).
    Nothing is written when nothing moved."""
    payload = archive_moves_event(moves, reason=reason, run_id=run_id)
    if payload is None or project_id is None:
        return None
    return write_event(ws.catalog_path, ARCHIVED, payload, project_id=project_id)
