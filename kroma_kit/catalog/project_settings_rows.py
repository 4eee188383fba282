"""Connection-level SQL for the project-wide settings a ``kroma.bootstrap.v1`` import touches
besides the knowledge tables: the project's name/description, its provider accounts and its
prompt templates. The caller owns the (single) transaction; every query is scoped by project."""

from __future__ import annotations

import sqlite3
from typing import Any

from kroma_kit.catalog.db import from_json, new_id, to_json, utcnow


def patch_project(conn: sqlite3.Connection, project_id: str, *, name: str | None, description: str | None) -> bool:
    row = conn.execute("SELECT name, description FROM projects WHERE id = ?", (project_id,)).fetchone()
    new_name = name if name is not None else row["name"]
    new_description = description if description is not None else row["description"]
    if (new_name, new_description) == (row["name"], row["description"]):
        return False
    conn.execute("UPDATE projects SET name = ?, description = ?, updated_at = ? WHERE id = ?",
                 (new_name, new_description, utcnow(), project_id))
    return True


def list_provider_accounts(conn: sqlite3.Connection, project_id: str) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT * FROM provider_accounts WHERE project_id = ? ORDER BY provider_code",
                        (project_id,)).fetchall()
    accounts = []
    for row in rows:
        data = dict(row)
        data["config"] = from_json(data.pop("config_json"))
        accounts.append(data)
    return accounts


def upsert_provider_account(conn: sqlite3.Connection, project_id: str, provider_code: str, *, enabled: bool,
                            config: dict[str, Any]) -> None:
    now = utcnow()
    conn.execute(
        "INSERT INTO provider_accounts (id, project_id, provider_code, is_enabled, config_json, created_at, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (project_id, provider_code) DO UPDATE SET "
        "is_enabled = excluded.is_enabled, config_json = excluded.config_json, updated_at = excluded.updated_at",
        (new_id(), project_id, provider_code, 1 if enabled else 0, to_json(config), now, now))


def delete_provider_accounts(conn: sqlite3.Connection, project_id: str) -> int:
    return conn.execute("DELETE FROM provider_accounts WHERE project_id = ?", (project_id,)).rowcount


def active_prompt_templates(conn: sqlite3.Connection, project_id: str) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT name, stage, template_text, version FROM prompt_templates WHERE project_id = ? "
                        "AND is_active = 1 ORDER BY name", (project_id,)).fetchall()
    return [dict(row) for row in rows]


def add_prompt_version(conn: sqlite3.Connection, project_id: str, name: str, stage: str, text: str) -> int:
    version = int(conn.execute("SELECT COALESCE(MAX(version), 0) FROM prompt_templates WHERE project_id = ? "
                               "AND name = ?", (project_id, name)).fetchone()[0]) + 1
    conn.execute("UPDATE prompt_templates SET is_active = 0 WHERE project_id = ? AND name = ?", (project_id, name))
    conn.execute("INSERT INTO prompt_templates (id, project_id, name, stage, template_text, version, is_active, "
                 "created_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?)", (new_id(), project_id, name, stage, text, version,
                                                                 utcnow()))
    return version


def deactivate_prompt_templates(conn: sqlite3.Connection, project_id: str) -> int:
    """Bootstrap ``replace``: older versions stay (history), none is active any more."""
    return conn.execute("UPDATE prompt_templates SET is_active = 0 WHERE project_id = ? AND is_active = 1",
                        (project_id,)).rowcount
