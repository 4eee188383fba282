"""Assets and their lineage links as the REST API and scripts see them: listed, read and (for
links) created, changed and deleted, always inside one project. An id from another project is
"not found" there, never a way into it."""

from __future__ import annotations

import sqlite3
from typing import Any

from kroma_kit.catalog.access import reading, writing
from kroma_kit.catalog.assets import ASSET_KINDS, LINK_TYPES, link_assets
from kroma_kit.catalog.audit import record_event
from kroma_kit.catalog.db import from_json
from kroma_kit.catalog.projects import get_project
from kroma_kit.errors import InputError, NotFoundError
from kroma_kit.workspace import Workspace


def _asset(row: sqlite3.Row) -> dict[str, Any]:
    asset = dict(row)
    asset["metadata"] = from_json(asset.pop("metadata_json"))
    return asset


def list_assets(ws: Workspace, slug: str, *, limit: int = 500, kind: str | None = None,
                run_id: str | None = None) -> list[dict[str, Any]]:
    """The project's assets, newest first, optionally of one kind or one run."""
    if kind is not None and kind not in ASSET_KINDS:
        raise InputError(f"Unknown asset kind {kind!r}; expected one of {', '.join(ASSET_KINDS)}.")
    project_id = get_project(ws, slug)["id"]
    query = "SELECT * FROM assets WHERE project_id = ?"
    params: list[Any] = [project_id]
    if kind is not None:
        query += " AND kind = ?"
        params.append(kind)
    if run_id is not None:
        query += " AND run_id = ?"
        params.append(run_id)
    with reading(ws) as conn:
        rows = conn.execute(f"{query} ORDER BY created_at DESC, id LIMIT ?", (*params, limit)).fetchall()
    return [_asset(row) for row in rows]


def get_asset(ws: Workspace, slug: str, asset_id: str) -> dict[str, Any]:
    """One asset of the project with its ``parents`` and ``children`` (id + link type)."""
    project_id = get_project(ws, slug)["id"]
    with reading(ws) as conn:
        row = conn.execute("SELECT * FROM assets WHERE id = ? AND project_id = ?", (asset_id, project_id)).fetchone()
        if row is None:
            raise NotFoundError(f"Unknown asset '{asset_id}' in project '{slug}'.")
        asset = _asset(row)
        asset["parents"] = [dict(r) for r in conn.execute(
            "SELECT id AS link_id, parent_asset_id AS asset_id, link_type FROM asset_links "
            "WHERE child_asset_id = ? ORDER BY created_at, id", (asset_id,))]
        asset["children"] = [dict(r) for r in conn.execute(
            "SELECT id AS link_id, child_asset_id AS asset_id, link_type FROM asset_links "
            "WHERE parent_asset_id = ? ORDER BY created_at, id", (asset_id,))]
    return asset


def list_asset_links(ws: Workspace, slug: str, *, limit: int = 500,
                     asset_id: str | None = None) -> list[dict[str, Any]]:
    """The project's lineage links, newest first (only those touching ``asset_id`` when given)."""
    project_id = get_project(ws, slug)["id"]
    query, params = "SELECT * FROM asset_links WHERE project_id = ?", [project_id]
    if asset_id is not None:
        query += " AND (parent_asset_id = ? OR child_asset_id = ?)"
        params += [asset_id, asset_id]
    with reading(ws) as conn:
        rows = conn.execute(f"{query} ORDER BY created_at DESC, id LIMIT ?", (*params, limit)).fetchall()
    return [dict(row) for row in rows]


def get_asset_link(ws: Workspace, slug: str, link_id: str) -> dict[str, Any]:
    project_id = get_project(ws, slug)["id"]
    with reading(ws) as conn:
        row = conn.execute("SELECT * FROM asset_links WHERE id = ? AND project_id = ?",
                           (link_id, project_id)).fetchone()
    if row is None:
        raise NotFoundError(f"Unknown asset link '{link_id}' in project '{slug}'.")
    return dict(row)


def _check_link(conn: sqlite3.Connection, project_id: str, slug: str, parent: str, child: str,
                link_type: str) -> None:
    if link_type not in LINK_TYPES:
        raise InputError(f"Unknown link_type {link_type!r}; expected one of {', '.join(LINK_TYPES)}.")
    if parent == child:
        raise InputError("An asset cannot be linked to itself (parent_asset_id equals child_asset_id).")
    for role, asset_id in (("parent_asset_id", parent), ("child_asset_id", child)):
        if not conn.execute("SELECT 1 FROM assets WHERE id = ? AND project_id = ?", (asset_id, project_id)).fetchone():
            raise NotFoundError(f"{role} '{asset_id}' is not an asset of project '{slug}'.")


def create_asset_link(ws: Workspace, slug: str, parent_asset_id: str, child_asset_id: str,
                      link_type: str = "derived_from") -> dict[str, Any]:
    """Link two assets of the project (idempotent: the same link twice is one row)."""
    project_id = get_project(ws, slug)["id"]
    with writing(ws) as conn:
        _check_link(conn, project_id, slug, parent_asset_id, child_asset_id, link_type)
        link_assets(conn, project_id, parent_asset_id, child_asset_id, link_type)
        row = conn.execute("SELECT * FROM asset_links WHERE parent_asset_id = ? AND child_asset_id = ? AND "
                           "link_type = ?", (parent_asset_id, child_asset_id, link_type)).fetchone()
        record_event(conn, "asset_link.created", dict(row), project_id=project_id)
    return dict(row)


def update_asset_link(ws: Workspace, slug: str, link_id: str, *, parent_asset_id: str, child_asset_id: str,
                      link_type: str | None = None) -> dict[str, Any]:
    """Re-point a link; a change that would duplicate another link is refused."""
    current = get_asset_link(ws, slug, link_id)
    kind = link_type or current["link_type"]
    with writing(ws) as conn:
        _check_link(conn, current["project_id"], slug, parent_asset_id, child_asset_id, kind)
        clash = conn.execute("SELECT id FROM asset_links WHERE parent_asset_id = ? AND child_asset_id = ? AND "
                             "link_type = ? AND id <> ?", (parent_asset_id, child_asset_id, kind, link_id)).fetchone()
        if clash:
            raise InputError(f"Asset link {clash[0]} already links these assets as {kind}.")
        conn.execute("UPDATE asset_links SET parent_asset_id = ?, child_asset_id = ?, link_type = ? WHERE id = ?",
                     (parent_asset_id, child_asset_id, kind, link_id))
        record_event(conn, "asset_link.updated", {"id": link_id, "from": current,
                                                  "parent_asset_id": parent_asset_id,
                                                  "child_asset_id": child_asset_id, "link_type": kind},
                     project_id=current["project_id"])
    return get_asset_link(ws, slug, link_id)


def delete_asset_link(ws: Workspace, slug: str, link_id: str) -> str:
    current = get_asset_link(ws, slug, link_id)
    with writing(ws) as conn:
        conn.execute("DELETE FROM asset_links WHERE id = ?", (link_id,))
        record_event(conn, "asset_link.deleted", current, project_id=current["project_id"])
    return link_id
