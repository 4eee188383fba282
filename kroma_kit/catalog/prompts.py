"""Prompt templates: every edit of a stage prompt is a new numbered version, never an overwrite.

Artists tune prompts by trial; "which wording produced last Tuesday's good run?" must stay
answerable. So ``prompt_templates`` keeps one row per (project, name, version), the newest is
the only ``is_active`` one, and older texts stay readable in :func:`prompt_history`.

Names are the manifest's prompt keys (``style_base``, ``time_night``, ``weather_rain``,
``characters_base``, ...) and the stage is the part before the first ``_``. The pipeline reads
prompts from the project's ``manifest.json``; :func:`~kroma_kit.manifest_edit.publish_prompt` (and
:func:`~kroma_kit.manifest_edit.update_manifest` for several keys) both write that file and
record the version here (:func:`record_published`), so the catalog and the next run always agree.
This module only touches the catalog.
"""

from __future__ import annotations

from typing import Any

from kroma_kit.catalog.audit import record_event
from kroma_kit.catalog.db import new_id, transaction, utcnow
from kroma_kit.catalog.projects import get_project
from kroma_kit.config import STAGES
from kroma_kit.errors import InputError
from kroma_kit.workspace import Workspace


def stage_of(name: str) -> str:
    """The stage a prompt key belongs to (``time_night`` -> ``time``); unknown -> InputError."""
    stage = name.split("_", 1)[0]
    if stage not in STAGES:
        raise InputError(f"Prompt name {name!r} does not start with a stage ({', '.join(STAGES)}), "
                         "e.g. 'style_base', 'time_night', 'weather_rain'.")
    return stage


def check_prompt(name: str, text: str, stage: str | None = None) -> str:
    """Refuse an empty name, an unknown stage or a blank text; return the prompt's stage."""
    if not isinstance(name, str) or not name.strip():
        raise InputError("Prompt name is empty; use a manifest prompt key such as 'style_base'.")
    resolved_stage = stage or stage_of(name)
    if resolved_stage not in STAGES:
        raise InputError(f"Unknown stage {resolved_stage!r} for prompt {name!r}; expected one of "
                         f"{', '.join(STAGES)}.")
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"Prompt {name!r} is empty; a stage prompt needs some text "
                         "(the pipeline refuses a blank prompt).")
    return resolved_stage


def save_prompt(ws: Workspace, slug: str, name: str, stage: str | None, text: str) -> int:
    """Record ``text`` as the next version of prompt ``name`` and make it the active one.

    Returns the new version number (1 for the first). Older versions are kept, inactive.
    This only touches the catalog; :func:`~kroma_kit.manifest_edit.publish_prompt` also updates the manifest.
    """
    resolved_stage = check_prompt(name, text, stage)
    project = get_project(ws, slug)
    conn = ws.connect()
    try:
        with transaction(conn):
            row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM prompt_templates "
                               "WHERE project_id = ? AND name = ?", (project["id"], name)).fetchone()
            version = int(row[0]) + 1
            conn.execute("UPDATE prompt_templates SET is_active = 0 WHERE project_id = ? AND name = ?",
                         (project["id"], name))
            conn.execute(
                "INSERT INTO prompt_templates (id, project_id, name, stage, template_text, version, "
                "is_active, created_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?)",
                (new_id(), project["id"], name, resolved_stage, text, version, utcnow()))
            record_event(conn, "prompt.saved", {"name": name, "stage": resolved_stage, "version": version},
                         project_id=project["id"])
    finally:
        conn.close()
    return version


def prompt_history(ws: Workspace, slug: str, name: str) -> list[dict[str, Any]]:
    """Every version of prompt ``name``, newest first: version, stage, text, is_active, created_at."""
    project = get_project(ws, slug)
    conn = ws.connect()
    try:
        rows = conn.execute(
            "SELECT version, stage, template_text AS text, is_active, created_at FROM prompt_templates "
            "WHERE project_id = ? AND name = ? ORDER BY version DESC", (project["id"], name)).fetchall()
    finally:
        conn.close()
    return [{**dict(row), "is_active": bool(row["is_active"])} for row in rows]


def record_published(ws: Workspace, slug: str, name: str, text: str, *, baseline: str | None = None,
                     stage: str | None = None) -> int:
    """Record ``text``, just written to the manifest, as prompt ``name``'s next version.

    When the prompt has no history yet, ``baseline`` (the text the pipeline used until now) is
    stored first as version 1, so the history always starts from what produced the earlier runs.
    """
    resolved_stage = check_prompt(name, text, stage)
    if not prompt_history(ws, slug, name) and baseline and baseline.strip() and baseline != text:
        save_prompt(ws, slug, name, resolved_stage, baseline)
    return save_prompt(ws, slug, name, resolved_stage, text)
