"""Prompt templates read by id (the REST API's ``prompt-templates`` routes). Saving a text is
:func:`kroma_kit.catalog.prompts.publish_prompt` (a new version, the manifest updated); this module
lists the versions, reads one, and deletes an old one. The active version is the text the next
run uses, so it cannot be deleted: publish another text first."""

from __future__ import annotations

from typing import Any

from kroma_kit.catalog.access import reading, writing
from kroma_kit.catalog.audit import record_event
from kroma_kit.catalog.projects import get_project
from kroma_kit.errors import InputError, NotFoundError
from kroma_kit.workspace import Workspace

_COLUMNS = "id, project_id, name, stage, template_text, version, is_active, created_at"


def _template(row: Any) -> dict[str, Any]:
    data = dict(row)
    data["is_active"] = bool(data["is_active"])
    return data


def list_prompt_templates(ws: Workspace, slug: str, *, include_history: bool = False,
                          name: str | None = None) -> list[dict[str, Any]]:
    """The active version of every prompt (every version with ``include_history``), by name then
    newest version first."""
    project_id = get_project(ws, slug)["id"]
    query, params = f"SELECT {_COLUMNS} FROM prompt_templates WHERE project_id = ?", [project_id]
    if not include_history:
        query += " AND is_active = 1"
    if name is not None:
        query += " AND name = ?"
        params.append(name)
    with reading(ws) as conn:
        rows = conn.execute(f"{query} ORDER BY name, version DESC", params).fetchall()
    return [_template(row) for row in rows]


def get_prompt_template(ws: Workspace, slug: str, template_id: str) -> dict[str, Any]:
    project_id = get_project(ws, slug)["id"]
    with reading(ws) as conn:
        row = conn.execute(f"SELECT {_COLUMNS} FROM prompt_templates WHERE id = ? AND project_id = ?",
                           (template_id, project_id)).fetchone()
    if row is None:
        raise NotFoundError(f"Unknown prompt template '{template_id}' in project '{slug}'.")
    return _template(row)


def delete_prompt_template(ws: Workspace, slug: str, template_id: str) -> str:
    """Delete one old version; the active one is refused (the manifest and next run use it)."""
    template = get_prompt_template(ws, slug, template_id)
    if template["is_active"]:
        raise InputError(f"Prompt template {template['name']!r} v{template['version']} is the active version "
                         "(the manifest's text for the next run); publish another text before deleting it.")
    with writing(ws) as conn:
        conn.execute("DELETE FROM prompt_templates WHERE id = ?", (template_id,))
        record_event(conn, "prompt.deleted", {"name": template["name"], "version": template["version"]},
                     project_id=template["project_id"])
    return template_id


def get_prompt_version(ws: Workspace, slug: str, name: str, version: int) -> dict[str, Any]:
    """Version ``version`` of prompt ``name`` (what :func:`~kroma_kit.catalog.prompts.publish_prompt`
    returns the number of)."""
    project_id = get_project(ws, slug)["id"]
    with reading(ws) as conn:
        row = conn.execute(f"SELECT {_COLUMNS} FROM prompt_templates WHERE project_id = ? AND name = ? "
                           "AND version = ?", (project_id, name, version)).fetchone()
    if row is None:
        raise NotFoundError(f"Prompt {name!r} has no version {version} in project '{slug}'.")
    return _template(row)
