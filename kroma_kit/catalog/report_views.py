"""Per-project listings of the observation tables: quality reports, cost events, audit events.
Pure reads through the tables' ``(project_id, created_at)`` indexes, newest first."""

from __future__ import annotations

from typing import Any

from kroma_kit.catalog.access import reading
from kroma_kit.catalog.audit import list_events
from kroma_kit.catalog.db import from_json
from kroma_kit.catalog.projects import get_project
from kroma_kit.workspace import Workspace


def _decoded(row: Any, column: str, name: str) -> dict[str, Any]:
    data = dict(row)
    data[name] = from_json(data.pop(column))
    return data


def _listing(ws: Workspace, slug: str, table: str, limit: int, run_id: str | None) -> list[Any]:
    project_id = get_project(ws, slug)["id"]
    query, params = f"SELECT * FROM {table} WHERE project_id = ?", [project_id]
    if run_id is not None:
        query += " AND run_id = ?"
        params.append(run_id)
    with reading(ws) as conn:
        return conn.execute(f"{query} ORDER BY created_at DESC, id LIMIT ?", (*params, limit)).fetchall()


def list_quality_reports(ws: Workspace, slug: str, *, limit: int = 200,
                         run_id: str | None = None) -> list[dict[str, Any]]:
    return [_decoded(row, "summary_json", "summary")
            for row in _listing(ws, slug, "quality_reports", limit, run_id)]


def list_cost_events(ws: Workspace, slug: str, *, limit: int = 200,
                     run_id: str | None = None) -> list[dict[str, Any]]:
    return [_decoded(row, "meta_json", "meta") for row in _listing(ws, slug, "cost_events", limit, run_id)]


def list_audit_events(ws: Workspace, slug: str, *, limit: int = 200) -> list[dict[str, Any]]:
    project_id = get_project(ws, slug)["id"]
    with reading(ws) as conn:
        return [_decoded(row, "payload_json", "payload") for row in list_events(conn, project_id, limit)]
