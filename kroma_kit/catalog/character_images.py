"""Character images (seed 004 ``character-image-metadata``): one row per image a character's
workspace produced or imported, joined to its asset (the file: sha256, size, dimensions).

SQL only, scoped by project. Nothing is erased: a deleted image keeps its row with
``deleted_at``, the archive path its file moved to and what the remote delete answered.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from kroma_kit.catalog.audit import LOCAL_USER_ID
from kroma_kit.catalog.db import from_json, new_id, to_json, utcnow
from kroma_kit.errors import InputError

IMAGE_KINDS = ("reference", "portfolio_item", "scene")
IMAGE_STATUSES = ("succeeded", "failed")

_SELECT = ("SELECT ci.*, a.storage_uri, a.rel_path, a.sha256, a.size_bytes, a.width, a.height, a.mime_type "
           "FROM character_images ci LEFT JOIN assets a ON a.id = ci.asset_id")


def _image(row: sqlite3.Row | None) -> dict[str, Any] | None:
    if row is None:
        return None
    data = dict(row)
    data["metrics"] = from_json(data.pop("metrics_json"))
    data["remote_delete"] = from_json(data.pop("remote_delete_json"))
    return data


def insert_image(conn: sqlite3.Connection, project_id: str, character_id: str, *, kind: str, provider: str,
                 prompt: str, status: str, asset_id: str | None = None, view: str | None = None,
                 source_url: str | None = None, external_id: str | None = None, error: str | None = None,
                 metrics: dict[str, Any] | None = None, run_id: str | None = None, job_key: str | None = None,
                 parent_image_id: str | None = None, created_by: str | None = LOCAL_USER_ID,
                 image_id: str | None = None) -> str:
    """Insert one image row; the character and the asset must be this project's."""
    if kind not in IMAGE_KINDS:
        raise InputError(f"Invalid character image kind {kind!r}. Expected {'|'.join(IMAGE_KINDS)}.")
    if status not in IMAGE_STATUSES:
        raise InputError(f"Invalid character image status {status!r}. Expected {'|'.join(IMAGE_STATUSES)}.")
    owner = conn.execute("SELECT project_id FROM characters WHERE id = ?", (character_id,)).fetchone()
    if owner is None or owner[0] != project_id:
        raise InputError(f"Character {character_id} is not in this project.")
    if asset_id is not None:
        asset = conn.execute("SELECT project_id FROM assets WHERE id = ?", (asset_id,)).fetchone()
        if asset is None or asset[0] != project_id:
            raise InputError(f"Asset {asset_id} is not in this project: a character image must be a file of "
                             "its own project.")
    image_id = image_id or new_id()
    now = utcnow()
    conn.execute(
        "INSERT INTO character_images (id, project_id, character_id, asset_id, kind, view, provider, prompt, "
        "source_url, external_id, status, error, metrics_json, run_id, job_key, parent_image_id, created_by, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (id) DO NOTHING",
        (image_id, project_id, character_id, asset_id, kind, view, provider, prompt, source_url, external_id,
         status, error, to_json(metrics or {}), run_id, job_key, parent_image_id, created_by, now, now))
    return image_id


def list_images(conn: sqlite3.Connection, project_id: str, character_id: str, *, kind: str | None = None,
                include_deleted: bool = False) -> list[dict[str, Any]]:
    """The character's images, newest first (seed 004 ``GET .../images``)."""
    sql = f"{_SELECT} WHERE ci.project_id = ? AND ci.character_id = ?"
    params: list[Any] = [project_id, character_id]
    if kind is not None:
        sql += " AND ci.kind = ?"
        params.append(kind)
    if not include_deleted:
        sql += " AND ci.deleted_at IS NULL"
    rows = conn.execute(sql + " ORDER BY ci.created_at DESC, ci.id", params).fetchall()
    return [i for i in (_image(row) for row in rows) if i is not None]


def get_image(conn: sqlite3.Connection, project_id: str, image_id: str) -> dict[str, Any] | None:
    row = conn.execute(f"{_SELECT} WHERE ci.project_id = ? AND ci.id = ?", (project_id, image_id)).fetchone()
    return _image(row)


def find_images_by_run(conn: sqlite3.Connection, project_id: str, run_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(f"{_SELECT} WHERE ci.project_id = ? AND ci.run_id = ? ORDER BY ci.created_at",
                        (project_id, run_id)).fetchall()
    return [i for i in (_image(row) for row in rows) if i is not None]


def mark_image_deleted(conn: sqlite3.Connection, project_id: str, image_id: str, *, archived_path: str | None,
                       remote_delete: dict[str, Any]) -> None:
    now = utcnow()
    conn.execute(
        "UPDATE character_images SET deleted_at = ?, archived_path = ?, remote_delete_json = ?, updated_at = ? "
        "WHERE project_id = ? AND id = ?",
        (now, archived_path, to_json(remote_delete), now, project_id, image_id))


def count_images(conn: sqlite3.Connection, project_id: str, character_id: str) -> dict[str, int]:
    rows = conn.execute("SELECT kind, COUNT(*) FROM character_images WHERE project_id = ? AND character_id = ? "
                        "AND deleted_at IS NULL AND status = 'succeeded' GROUP BY kind",
                        (project_id, character_id)).fetchall()
    return {row[0]: int(row[1]) for row in rows}


PORTFOLIO_ORDER = ("front", "three_quarter_left", "left_profile", "back", "right_profile", "three_quarter_right")


def reference_files(conn: sqlite3.Connection, project_id: str, code: str) -> list[dict[str, Any]]:
    """What a live character must look like, as files: its best reference (the one chosen in the
    character's metadata, else the newest succeeded one), then the newest succeeded portfolio item
    of each view in turnaround order. Rows with ``storage_uri``; deleted images never count.
    The one definition of "best reference + portfolio" for every caller (service or pipeline)."""
    character = conn.execute("SELECT id, metadata_json FROM characters WHERE project_id = ? AND code = ? "
                             "AND deleted_at IS NULL", (project_id, code)).fetchone()
    if character is None:
        return []
    chosen = from_json(character["metadata_json"]).get("best_reference_image_id")
    live = [row for row in list_images(conn, project_id, character["id"])
            if row["status"] == "succeeded" and row.get("storage_uri")]
    references = [row for row in live if row["kind"] == "reference"]
    best = next((row for row in references if row["id"] == chosen), references[0] if references else None)
    newest: dict[str, dict[str, Any]] = {}
    for row in live:
        if row["kind"] == "portfolio_item":
            newest.setdefault(row["view"] or row["id"], row)
    order = {view: index for index, view in enumerate(PORTFOLIO_ORDER)}
    portfolio = sorted(newest.values(), key=lambda row: (order.get(row["view"] or "", len(order)), row["view"] or ""))
    return ([best] if best else []) + portfolio
