"""Assets: every file that matters, with sha256, size, mime and dimensions, and the lineage graph
between them (``asset_links``). Registering the same file again updates its row, so ingest and
re-runs stay idempotent."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from kroma_kit.catalog.db import from_json, new_id, to_json, utcnow
from kroma_kit.imaging import describe_file

ASSET_KINDS = ("input", "reference", "generated", "mask", "upscaled", "bg_removed", "color_corrected",
               "final", "run_log", "export", "other")
LINK_TYPES = ("derived_from", "variant_of", "mask_for", "reference_of")


def storage_uri(path: str | Path) -> str:
    """The canonical local URI of a file: its absolute resolved path with '/'."""
    return Path(path).resolve().as_posix()


def register_asset(conn: sqlite3.Connection, project_id: str, path: str | Path, kind: str, *,
                   project_root: Path | None = None, run_id: str | None = None,
                   metadata: dict[str, Any] | None = None, resolved: bool = False) -> str:
    """Insert or refresh the asset row for ``path`` and return its id.

    The row is keyed by (project, storage_uri): re-registering a file that changed on disk
    updates its hash, size and dimensions instead of creating a duplicate. ``resolved``: the
    caller passes ``path`` and ``project_root`` already resolved (a run's ingest resolves each
    once: resolving walks every folder of a path, a system call each).
    """
    if kind not in ASSET_KINDS:
        raise ValueError(f"unknown asset kind {kind!r}; expected one of {ASSET_KINDS}")
    info = describe_file(path)
    real = Path(path) if resolved else Path(path).resolve()
    uri = real.as_posix()
    rel = None
    if project_root is not None:
        try:
            rel = real.relative_to(Path(project_root) if resolved else Path(project_root).resolve()).as_posix()
        except ValueError:
            rel = None
    row = conn.execute("SELECT id, metadata_json FROM assets WHERE project_id = ? AND storage_uri = ?",
                       (project_id, uri)).fetchone()
    if row:
        merged = {**from_json(row["metadata_json"]), **(metadata or {})}
        conn.execute(
            "UPDATE assets SET kind = ?, rel_path = ?, mime_type = ?, width = ?, height = ?, size_bytes = ?, "
            "sha256 = ?, run_id = COALESCE(?, run_id), metadata_json = ? WHERE id = ?",
            (kind, rel, info.mime_type, info.width, info.height, info.size_bytes, info.sha256, run_id,
             to_json(merged), row["id"]))
        return row["id"]
    asset_id = new_id()
    conn.execute(
        "INSERT INTO assets (id, project_id, kind, storage_uri, storage_backend, rel_path, mime_type, width, "
        "height, size_bytes, sha256, run_id, metadata_json, created_at) "
        "VALUES (?, ?, ?, ?, 'local', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (asset_id, project_id, kind, uri, rel, info.mime_type, info.width, info.height, info.size_bytes,
         info.sha256, run_id, to_json(metadata or {}), utcnow()))
    return asset_id


def link_assets(conn: sqlite3.Connection, project_id: str, parent_asset_id: str, child_asset_id: str,
                link_type: str = "derived_from") -> None:
    """Record ``child`` as derived from (or a variant/mask/reference of) ``parent``; idempotent.

    Both assets must belong to ``project_id``: cross-project links are refused (seed 002 §7).
    """
    _check_link_type(link_type)
    owners = {r[0] for r in conn.execute("SELECT project_id FROM assets WHERE id IN (?, ?)",
                                         (parent_asset_id, child_asset_id))}
    if owners != {project_id}:
        raise ValueError("asset links must stay inside one project")
    insert_link(conn, project_id, parent_asset_id, child_asset_id, link_type)


def insert_link(conn: sqlite3.Connection, project_id: str, parent_asset_id: str, child_asset_id: str,
                link_type: str = "derived_from") -> None:
    """:func:`link_assets` for a caller that knows both assets are ``project_id``'s (it registered
    or found them there itself, as a run's ingest does): no query to check it again."""
    _check_link_type(link_type)
    conn.execute(
        "INSERT INTO asset_links (id, project_id, parent_asset_id, child_asset_id, link_type, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (new_id(), project_id, parent_asset_id, child_asset_id, link_type, utcnow()))


def _check_link_type(link_type: str) -> None:
    if link_type not in LINK_TYPES:
        raise ValueError(f"unknown link type {link_type!r}; expected one of {LINK_TYPES}")


def find_asset(conn: sqlite3.Connection, project_id: str, path: str | Path, *,
               resolved: bool = False) -> dict[str, Any] | None:
    """The asset row of the file at ``path`` (``resolved``: the path is resolved already), or None."""
    uri = Path(path).as_posix() if resolved else storage_uri(path)
    row = conn.execute("SELECT * FROM assets WHERE project_id = ? AND storage_uri = ?", (project_id, uri)).fetchone()
    return dict(row) if row else None


def asset_parents(conn: sqlite3.Connection, asset_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT a.*, l.link_type FROM asset_links l JOIN assets a ON a.id = l.parent_asset_id "
        "WHERE l.child_asset_id = ? ORDER BY a.created_at", (asset_id,)).fetchall()
    return [dict(row) for row in rows]
