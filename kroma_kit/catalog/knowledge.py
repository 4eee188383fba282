"""Style guides and characters (seed 002 §5.2): the knowledge a project's images must obey.

SQL only; every function takes an open connection (the caller owns the transaction, so a
service can group several writes, e.g. a bootstrap import, into one) and every query is scoped
by ``project_id``. Rows come back as plain dicts with their ``*_json`` columns decoded; the
typed records live in the service package (:mod:`kroma_kit.characters.records`).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from kroma_kit.catalog.db import from_json, new_id, to_json, utcnow
from kroma_kit.errors import InputError

# --------------------------------------------------------------------------- style guides


def _guide(row: sqlite3.Row | None) -> dict[str, Any] | None:
    if row is None:
        return None
    guide = dict(row)
    guide["rules"] = from_json(guide.pop("rules_json"))
    guide["is_default"] = bool(guide["is_default"])
    return guide


def list_style_guides(conn: sqlite3.Connection, project_id: str) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT * FROM style_guides WHERE project_id = ? ORDER BY is_default DESC, name",
                        (project_id,)).fetchall()
    return [g for g in (_guide(row) for row in rows) if g is not None]


def get_style_guide(conn: sqlite3.Connection, project_id: str, *, guide_id: str | None = None,
                    name: str | None = None) -> dict[str, Any] | None:
    if guide_id is not None:
        row = conn.execute("SELECT * FROM style_guides WHERE project_id = ? AND id = ?",
                           (project_id, guide_id)).fetchone()
    else:
        row = conn.execute("SELECT * FROM style_guides WHERE project_id = ? AND name = ?",
                           (project_id, name)).fetchone()
    return _guide(row)


def default_style_guide(conn: sqlite3.Connection, project_id: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT * FROM style_guides WHERE project_id = ? AND is_default = 1",
                       (project_id,)).fetchone()
    return _guide(row)


def insert_style_guide(conn: sqlite3.Connection, project_id: str, name: str, *, description: str = "",
                       rules: dict[str, Any] | None = None, is_default: bool = False) -> str:
    """Insert a guide; ``is_default`` first clears the project's previous default (one per project)."""
    if is_default:
        conn.execute("UPDATE style_guides SET is_default = 0 WHERE project_id = ? AND is_default = 1",
                     (project_id,))
    guide_id = new_id()
    now = utcnow()
    conn.execute(
        "INSERT INTO style_guides (id, project_id, name, description, rules_json, is_default, created_at, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (guide_id, project_id, name, description, to_json(rules or {}), 1 if is_default else 0, now, now))
    return guide_id


def update_style_guide(conn: sqlite3.Connection, project_id: str, guide_id: str, *,
                       description: str | None = None, rules: dict[str, Any] | None = None,
                       is_default: bool | None = None, name: str | None = None) -> None:
    current = get_style_guide(conn, project_id, guide_id=guide_id)
    if current is None:
        raise InputError(f"Style guide {guide_id} is not in this project.")
    if is_default:
        conn.execute("UPDATE style_guides SET is_default = 0 WHERE project_id = ? AND is_default = 1 AND id <> ?",
                     (project_id, guide_id))
    conn.execute(
        "UPDATE style_guides SET name = ?, description = ?, rules_json = ?, is_default = ?, updated_at = ? "
        "WHERE project_id = ? AND id = ?",
        (name if name is not None else current["name"],
         description if description is not None else current["description"],
         to_json(rules if rules is not None else current["rules"]),
         (1 if is_default else 0) if is_default is not None else (1 if current["is_default"] else 0),
         utcnow(), project_id, guide_id))


def delete_style_guides(conn: sqlite3.Connection, project_id: str) -> int:
    """Bootstrap ``replace`` only: drop every guide of the project (characters keep no dangling id)."""
    conn.execute("UPDATE characters SET style_guide_id = NULL WHERE project_id = ?", (project_id,))
    return conn.execute("DELETE FROM style_guides WHERE project_id = ?", (project_id,)).rowcount


def delete_style_guide(conn: sqlite3.Connection, project_id: str, guide_id: str) -> int:
    """Erase one guide; the characters that followed it fall back to the project's default."""
    conn.execute("UPDATE characters SET style_guide_id = NULL WHERE project_id = ? AND style_guide_id = ?",
                 (project_id, guide_id))
    return conn.execute("DELETE FROM style_guides WHERE project_id = ? AND id = ?", (project_id, guide_id)).rowcount


# --------------------------------------------------------------------------- characters


def _character(row: sqlite3.Row | None) -> dict[str, Any] | None:
    if row is None:
        return None
    character = dict(row)
    character["identity"] = from_json(character.pop("identity_constraints_json"))
    character["metadata"] = from_json(character.pop("metadata_json"))
    return character


def list_characters(conn: sqlite3.Connection, project_id: str, *, include_deleted: bool = False
                    ) -> list[dict[str, Any]]:
    where = "" if include_deleted else " AND deleted_at IS NULL"
    rows = conn.execute(f"SELECT * FROM characters WHERE project_id = ?{where} ORDER BY code",
                        (project_id,)).fetchall()
    return [c for c in (_character(row) for row in rows) if c is not None]


def get_character(conn: sqlite3.Connection, project_id: str, code: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT * FROM characters WHERE project_id = ? AND code = ? AND deleted_at IS NULL",
                       (project_id, code)).fetchone()
    return _character(row)


def get_character_by_id(conn: sqlite3.Connection, project_id: str, character_id: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT * FROM characters WHERE project_id = ? AND id = ?",
                       (project_id, character_id)).fetchone()
    return _character(row)


def insert_character(conn: sqlite3.Connection, project_id: str, code: str, name: str, *, bio: str = "",
                     identity: dict[str, Any] | None = None, style_guide_id: str | None = None,
                     metadata: dict[str, Any] | None = None) -> str:
    _check_guide_in_project(conn, project_id, style_guide_id)
    character_id = new_id()
    now = utcnow()
    conn.execute(
        "INSERT INTO characters (id, project_id, code, name, bio, identity_constraints_json, style_guide_id, "
        "metadata_json, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (character_id, project_id, code, name, bio, to_json(identity or {}), style_guide_id,
         to_json(metadata or {}), now, now))
    return character_id


def update_character(conn: sqlite3.Connection, project_id: str, character_id: str, *, name: str, bio: str,
                     identity: dict[str, Any], style_guide_id: str | None, metadata: dict[str, Any]) -> None:
    _check_guide_in_project(conn, project_id, style_guide_id)
    conn.execute(
        "UPDATE characters SET name = ?, bio = ?, identity_constraints_json = ?, style_guide_id = ?, "
        "metadata_json = ?, updated_at = ? WHERE project_id = ? AND id = ?",
        (name, bio, to_json(identity), style_guide_id, to_json(metadata), utcnow(), project_id, character_id))


def mark_character_deleted(conn: sqlite3.Connection, project_id: str, character_id: str) -> None:
    now = utcnow()
    conn.execute("UPDATE characters SET deleted_at = ?, updated_at = ? WHERE project_id = ? AND id = ?",
                 (now, now, project_id, character_id))


def _check_guide_in_project(conn: sqlite3.Connection, project_id: str, style_guide_id: str | None) -> None:
    if style_guide_id is None:
        return
    row = conn.execute("SELECT project_id FROM style_guides WHERE id = ?", (style_guide_id,)).fetchone()
    if row is None or row[0] != project_id:
        raise InputError(f"Style guide {style_guide_id} does not belong to this project; a character can "
                         "only follow a style guide of its own project.")
