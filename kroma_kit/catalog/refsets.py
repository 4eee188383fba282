"""Reference sets and their items (seed 002 §5.2): packs of catalog assets (style, character,
scene, lighting, other) with a weight and notes per item.

SQL only, scoped by project. An item's asset must belong to the set's project: a reference from
another project is refused here, where the rows are written, so no caller can get it wrong.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from kroma_kit.catalog.db import from_json, new_id, to_json, utcnow
from kroma_kit.errors import InputError

REFERENCE_SET_KINDS = ("style", "character", "scene", "lighting", "other")


def _set(row: sqlite3.Row | None) -> dict[str, Any] | None:
    if row is None:
        return None
    data = dict(row)
    data["metadata"] = from_json(data.pop("metadata_json"))
    return data


def list_reference_sets(conn: sqlite3.Connection, project_id: str, *, kind: str | None = None,
                        character_id: str | None = None) -> list[dict[str, Any]]:
    sql = "SELECT * FROM reference_sets WHERE project_id = ?"
    params: list[Any] = [project_id]
    if kind is not None:
        sql += " AND kind = ?"
        params.append(kind)
    if character_id is not None:
        sql += " AND character_id = ?"
        params.append(character_id)
    rows = conn.execute(sql + " ORDER BY name", params).fetchall()
    return [s for s in (_set(row) for row in rows) if s is not None]


def get_reference_set(conn: sqlite3.Connection, project_id: str, *, set_id: str | None = None,
                      name: str | None = None) -> dict[str, Any] | None:
    if set_id is not None:
        row = conn.execute("SELECT * FROM reference_sets WHERE project_id = ? AND id = ?",
                           (project_id, set_id)).fetchone()
    else:
        row = conn.execute("SELECT * FROM reference_sets WHERE project_id = ? AND name = ?",
                           (project_id, name)).fetchone()
    return _set(row)


def insert_reference_set(conn: sqlite3.Connection, project_id: str, name: str, kind: str, *,
                         character_id: str | None = None, description: str = "",
                         metadata: dict[str, Any] | None = None) -> str:
    if kind not in REFERENCE_SET_KINDS:
        raise InputError(f"Invalid reference set kind {kind!r}. Expected {'|'.join(REFERENCE_SET_KINDS)}.")
    if character_id is not None:
        row = conn.execute("SELECT project_id FROM characters WHERE id = ?", (character_id,)).fetchone()
        if row is None or row[0] != project_id:
            raise InputError(f"Character {character_id} is not in this project; a reference set cannot "
                             "point at another project's character.")
    set_id = new_id()
    now = utcnow()
    conn.execute(
        "INSERT INTO reference_sets (id, project_id, name, kind, character_id, description, metadata_json, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (set_id, project_id, name, kind, character_id, description, to_json(metadata or {}), now, now))
    return set_id


def update_reference_set(conn: sqlite3.Connection, project_id: str, set_id: str, *,
                         description: str | None = None, metadata: dict[str, Any] | None = None) -> None:
    current = get_reference_set(conn, project_id, set_id=set_id)
    if current is None:
        raise InputError(f"Reference set {set_id} is not in this project.")
    conn.execute("UPDATE reference_sets SET description = ?, metadata_json = ?, updated_at = ? "
                 "WHERE project_id = ? AND id = ?",
                 (description if description is not None else current["description"],
                  to_json(metadata if metadata is not None else current["metadata"]), utcnow(),
                  project_id, set_id))


def attach_set_to_character(conn: sqlite3.Connection, project_id: str, set_id: str, character_id: str) -> None:
    conn.execute("UPDATE reference_sets SET character_id = ?, updated_at = ? WHERE id = ? AND project_id = ?",
                 (character_id, utcnow(), set_id, project_id))


def delete_reference_sets(conn: sqlite3.Connection, project_id: str, *, exclude_kind: str | None = None) -> int:
    """Bootstrap ``replace`` only: drop the project's sets (items go with them; assets stay)."""
    if exclude_kind:
        return conn.execute("DELETE FROM reference_sets WHERE project_id = ? AND kind <> ?",
                            (project_id, exclude_kind)).rowcount
    return conn.execute("DELETE FROM reference_sets WHERE project_id = ?", (project_id,)).rowcount


def delete_reference_set(conn: sqlite3.Connection, project_id: str, set_id: str) -> int:
    """Erase one set (its items go with it; the assets and their files stay)."""
    return conn.execute("DELETE FROM reference_sets WHERE project_id = ? AND id = ?", (project_id, set_id)).rowcount


def _item(row: sqlite3.Row) -> dict[str, Any]:
    data = dict(row)
    data["metadata"] = from_json(data.pop("metadata_json"))
    return data


def list_items(conn: sqlite3.Connection, project_id: str, set_id: str) -> list[dict[str, Any]]:
    """The set's items with their asset's path and hash, best first (weight, then order)."""
    rows = conn.execute(
        "SELECT i.*, a.storage_uri, a.rel_path, a.sha256, a.width, a.height, a.mime_type "
        "FROM reference_items i JOIN reference_sets s ON s.id = i.reference_set_id "
        "JOIN assets a ON a.id = i.asset_id "
        "WHERE s.project_id = ? AND i.reference_set_id = ? ORDER BY i.weight DESC, i.sort_order, i.created_at",
        (project_id, set_id)).fetchall()
    return [_item(row) for row in rows]


def add_item(conn: sqlite3.Connection, project_id: str, set_id: str, asset_id: str, *, weight: float = 1.0,
             notes: str = "", role: str = "reference", sort_order: int | None = None,
             metadata: dict[str, Any] | None = None) -> str:
    """Add (or refresh the weight/notes of) ``asset_id`` in the set; refuses another project's asset."""
    owner = conn.execute("SELECT project_id FROM reference_sets WHERE id = ?", (set_id,)).fetchone()
    if owner is None or owner[0] != project_id:
        raise InputError(f"Reference set {set_id} is not in this project.")
    asset = conn.execute("SELECT project_id FROM assets WHERE id = ?", (asset_id,)).fetchone()
    if asset is None:
        raise InputError(f"Asset {asset_id} does not exist; register the file first.")
    if asset[0] != project_id:
        raise InputError(f"Asset {asset_id} belongs to another project: a reference set may only hold "
                         "its own project's assets (copy the file into this project instead).")
    if sort_order is None:
        sort_order = int(conn.execute("SELECT COALESCE(MAX(sort_order), 0) + 1 FROM reference_items "
                                      "WHERE reference_set_id = ?", (set_id,)).fetchone()[0])
    item_id = new_id()
    conn.execute(
        "INSERT INTO reference_items (id, reference_set_id, asset_id, weight, notes, role, sort_order, "
        "metadata_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (reference_set_id, asset_id) DO UPDATE SET weight = excluded.weight, "
        "notes = excluded.notes, role = excluded.role, metadata_json = excluded.metadata_json",
        (item_id, set_id, asset_id, float(weight), notes, role, sort_order, to_json(metadata or {}), utcnow()))
    row = conn.execute("SELECT id FROM reference_items WHERE reference_set_id = ? AND asset_id = ?",
                       (set_id, asset_id)).fetchone()
    return str(row[0])


def remove_item(conn: sqlite3.Connection, project_id: str, set_id: str, asset_id: str) -> int:
    """Unlink an asset from a set (the asset row and its file stay)."""
    owner = conn.execute("SELECT project_id FROM reference_sets WHERE id = ?", (set_id,)).fetchone()
    if owner is None or owner[0] != project_id:
        raise InputError(f"Reference set {set_id} is not in this project.")
    return conn.execute("DELETE FROM reference_items WHERE reference_set_id = ? AND asset_id = ?",
                        (set_id, asset_id)).rowcount


def clear_items(conn: sqlite3.Connection, project_id: str, set_id: str) -> int:
    owner = conn.execute("SELECT project_id FROM reference_sets WHERE id = ?", (set_id,)).fetchone()
    if owner is None or owner[0] != project_id:
        raise InputError(f"Reference set {set_id} is not in this project.")
    return conn.execute("DELETE FROM reference_items WHERE reference_set_id = ?", (set_id,)).rowcount


def asset_in_project(conn: sqlite3.Connection, project_id: str, asset_id: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT * FROM assets WHERE project_id = ? AND id = ?", (project_id, asset_id)).fetchone()
    return dict(row) if row else None


def update_item(conn: sqlite3.Connection, project_id: str, set_id: str, item_id: str, *,
                weight: float | None = None, notes: str | None = None, role: str | None = None,
                sort_order: int | None = None, metadata: dict[str, Any] | None = None) -> int:
    """Change an item's weight, notes, role, order or metadata (``None`` keeps the value)."""
    current = next((i for i in list_items(conn, project_id, set_id) if i["id"] == item_id), None)
    if current is None:
        return 0
    return conn.execute(
        "UPDATE reference_items SET weight = ?, notes = ?, role = ?, sort_order = ?, metadata_json = ? "
        "WHERE reference_set_id = ? AND id = ?",
        (float(weight if weight is not None else current["weight"]), notes if notes is not None else current["notes"],
         role if role is not None else current["role"],
         sort_order if sort_order is not None else current["sort_order"],
         to_json(metadata if metadata is not None else current["metadata"]), set_id, item_id)).rowcount
