"""Projects and their storage policy. A project is the isolation boundary: every other query is
scoped by ``project_id``.

Functions take a :class:`~kroma_kit.workspace.Workspace` and open a short-lived connection, so
any process (CLI, kernel, dashboard, worker) can call them without holding the catalog.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

from kroma_kit.catalog.audit import LOCAL_USER_ID, record_event
from kroma_kit.catalog.db import connect, from_json, new_id, to_json, transaction, utcnow
from kroma_kit.errors import InputError, KromaError, NotFoundError, StorageError
from kroma_kit.workspace import ProjectLayout, Workspace

SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
STATUSES = ("active", "archived", "deleted")


def validate_slug(slug: object) -> str:
    """Return ``slug`` if it matches ``^[a-z0-9][a-z0-9_-]{0,63}$``; else explain why not.

    Slugs become folder names, so anything that could escape (``..``, ``/``), hide (leading
    ``.``), or confuse (spaces, capitals, unicode look-alikes) is refused.
    """
    if not isinstance(slug, str) or not slug:
        raise InputError("Project slug is empty. Use 1-64 characters: a-z, 0-9, '_' and '-', "
                         "starting with a letter or digit.")
    if len(slug) > 64:
        raise InputError(f"Project slug is {len(slug)} characters long; the limit is 64.")
    if not SLUG_PATTERN.fullmatch(slug):
        bad = sorted({ch for ch in slug if not re.fullmatch(r"[a-z0-9_-]", ch)})
        detail = f" (not allowed: {' '.join(repr(ch) for ch in bad)})" if bad else \
            " (it must start with a letter or digit)"
        raise InputError(f"Invalid project slug {slug!r}{detail}. Use a-z, 0-9, '_' and '-', "
                         "starting with a letter or digit, at most 64 characters.")
    return slug


def _row_to_project(ws: Workspace, row: sqlite3.Row) -> dict[str, Any]:
    project = dict(row)
    project["settings"] = from_json(project.pop("settings_json"))
    project["root"] = str(_root_from_row(ws, project))
    return project


def _root_from_row(ws: Workspace, row: dict[str, Any]) -> Path:
    local_root = row.get("local_project_root")
    if local_root:
        root = Path(local_root).expanduser()
        return root if root.is_absolute() else (ws.home / root)
    base = Path(row.get("local_base_dir") or "projects").expanduser()
    base = base if base.is_absolute() else ws.home / base
    return base / row["slug"]


_SELECT = (
    "SELECT p.*, s.local_base_dir, s.local_project_root, s.s3_enabled, s.s3_bucket, s.s3_prefix "
    "FROM projects p LEFT JOIN project_storage s ON s.project_id = p.id"
)


def create_project(ws: Workspace, slug: str, name: str | None = None, *, description: str = "",
                   root: str | Path | None = None) -> dict[str, Any]:
    """Create the project row, its storage policy and its folders; refuse a duplicate slug."""
    validate_slug(slug)
    now = utcnow()
    project_id = new_id()
    conn = ws.connect()
    try:
        with transaction(conn):
            existing = conn.execute("SELECT status FROM projects WHERE owner_user_id = ? AND slug = ?",
                                    (LOCAL_USER_ID, slug)).fetchone()
            if existing:
                raise KromaError(f"Project '{slug}' already exists (status {existing[0]}). "
                                 f"Pick another slug or use `kroma project show {slug}`.")
            conn.execute(
                "INSERT INTO projects (id, owner_user_id, slug, name, description, status, settings_json, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'active', '{}', ?, ?)",
                (project_id, LOCAL_USER_ID, slug, name or slug, description, now, now))
            conn.execute(
                "INSERT INTO project_storage (id, project_id, local_base_dir, local_project_root, created_at, "
                "updated_at) VALUES (?, ?, 'projects', ?, ?, ?)",
                (new_id(), project_id, _normalise_root(root), now, now))
            record_event(conn, "project.created", {"slug": slug, "name": name or slug}, project_id=project_id)
    finally:
        conn.close()
    project = get_project(ws, slug)
    ProjectLayout(Path(project["root"])).ensure()
    return project


def _normalise_root(root: str | Path | None) -> str | None:
    if root is None or str(root).strip() == "":
        return None
    path = Path(root).expanduser()
    if not path.is_absolute():
        path = Path.cwd() / path
    path = path.resolve()
    if path.exists() and not path.is_dir():
        raise StorageError(f"Project root {path} exists and is not a folder.")
    return str(path)


def _read_conn(ws: Workspace) -> sqlite3.Connection:
    """A read-only connection: lookups from dashboards and analytics must never write, not even
    the WAL checkpoint a read-write connection performs when it is the last one to close."""
    return connect(ws.catalog_path, read_only=True)


def get_project(ws: Workspace, slug: str, *, include_archived: bool = True) -> dict[str, Any]:
    """The project with its storage policy and resolved ``root``; unknown -> NotFoundError."""
    validate_slug(slug)
    conn = _read_conn(ws)
    try:
        row = conn.execute(f"{_SELECT} WHERE p.owner_user_id = ? AND p.slug = ?",
                           (LOCAL_USER_ID, slug)).fetchone()
        if row is None or (not include_archived and row["status"] != "active"):
            known = [r[0] for r in conn.execute(
                "SELECT slug FROM projects WHERE status = 'active' ORDER BY slug LIMIT 20")]
            hint = f" Known projects: {', '.join(known)}." if known else " There are no projects yet."
            raise NotFoundError(f"Unknown project '{slug}'.{hint} Create it with "
                                f"`kroma project create --slug {slug} --name ...`.")
        return _row_to_project(ws, row)
    finally:
        conn.close()


def list_projects(ws: Workspace, *, include_archived: bool = False) -> list[dict[str, Any]]:
    conn = _read_conn(ws)
    try:
        where = "" if include_archived else " WHERE p.status = 'active'"
        rows = conn.execute(f"{_SELECT}{where} ORDER BY p.slug").fetchall()
        return [_row_to_project(ws, row) for row in rows]
    finally:
        conn.close()


def update_project(ws: Workspace, slug: str, *, name: str | None = None, description: str | None = None,
                   settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """Change name, description or the free-form ``settings_json`` (merged key by key)."""
    project = get_project(ws, slug)
    merged = {**project["settings"], **(settings or {})}
    conn = ws.connect()
    try:
        with transaction(conn):
            conn.execute(
                "UPDATE projects SET name = ?, description = ?, settings_json = ?, updated_at = ? WHERE id = ?",
                (name if name is not None else project["name"],
                 description if description is not None else project["description"],
                 to_json(merged), utcnow(), project["id"]))
            record_event(conn, "project.updated", {"name": name, "description": description,
                                                   "settings_keys": sorted(settings or {})},
                         project_id=project["id"])
    finally:
        conn.close()
    return get_project(ws, slug)


def archive_project(ws: Workspace, slug: str) -> dict[str, Any]:
    """Mark the project archived. Files and rows stay; it just leaves the active lists."""
    project = get_project(ws, slug)
    conn = ws.connect()
    try:
        with transaction(conn):
            conn.execute("UPDATE projects SET status = 'archived', updated_at = ? WHERE id = ?",
                         (utcnow(), project["id"]))
            record_event(conn, "project.archived", {"slug": slug}, project_id=project["id"])
    finally:
        conn.close()
    return get_project(ws, slug)


def get_storage(ws: Workspace, slug: str) -> dict[str, Any]:
    project = get_project(ws, slug)
    conn = ws.connect()
    try:
        row = conn.execute("SELECT * FROM project_storage WHERE project_id = ?", (project["id"],)).fetchone()
        storage = dict(row) if row else {}
    finally:
        conn.close()
    storage["resolved_root"] = project["root"]
    return storage


def set_local_root(ws: Workspace, slug: str, root: str | Path) -> dict[str, Any]:
    """Point the project at another local folder (absolute, or relative to the current
    directory). Existing files are not moved; the new root gets the standard folders."""
    project = get_project(ws, slug)
    normalised = _normalise_root(root)
    if normalised is None:
        raise InputError("Project root path is empty.")
    conn = ws.connect()
    try:
        with transaction(conn):
            conn.execute("UPDATE project_storage SET local_project_root = ?, updated_at = ? WHERE project_id = ?",
                         (normalised, utcnow(), project["id"]))
            record_event(conn, "storage.local.updated", {"from": project["root"], "to": normalised},
                         project_id=project["id"])
    finally:
        conn.close()
    ProjectLayout(Path(normalised)).ensure()
    return get_storage(ws, slug)


def project_layout(ws: Workspace, slug: str) -> ProjectLayout:
    """The folder layout of an existing project (folders created if missing)."""
    return ProjectLayout(Path(get_project(ws, slug)["root"])).ensure()


def project_name_description(conn: sqlite3.Connection, project_id: str) -> dict[str, Any]:
    """The project's current name and description, read inside the caller's transaction (so a
    change made in it shows)."""
    row = conn.execute("SELECT name, description FROM projects WHERE id = ?", (project_id,)).fetchone()
    return dict(row) if row is not None else {}
