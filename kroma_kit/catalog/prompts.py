"""Prompt templates: every edit of a stage prompt is a new numbered version, never an overwrite.

Artists tune prompts by trial; "which wording produced last Tuesday's good run?" must stay
answerable. So ``prompt_templates`` keeps one row per (project, name, version), the newest is
the only ``is_active`` one, and older texts stay readable in :func:`prompt_history`.

Names are the manifest's prompt keys (``style_base``, ``time_night``, ``weather_rain``,
``characters_base``, ...) and the stage is the part before the first ``_``. The pipeline reads
prompts from the project's ``manifest.json``; :func:`publish_prompt` is the one call that both
records a version and writes that file, so the catalog and the next run always agree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kroma_kit.catalog.audit import record_event
from kroma_kit.catalog.db import new_id, transaction, utcnow
from kroma_kit.catalog.projects import get_project
from kroma_kit.config import STAGES, ProjectSettings, read_settings_file, resolve_project_settings
from kroma_kit.errors import ConfigError, InputError
from kroma_kit.storage.atomic import atomic_write_json
from kroma_kit.workspace import Workspace


def stage_of(name: str) -> str:
    """The stage a prompt key belongs to (``time_night`` -> ``time``); unknown -> InputError."""
    stage = name.split("_", 1)[0]
    if stage not in STAGES:
        raise InputError(f"Prompt name {name!r} does not start with a stage ({', '.join(STAGES)}), "
                         "e.g. 'style_base', 'time_night', 'weather_rain'.")
    return stage


def _check(name: str, stage: str | None, text: str) -> str:
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
    This only touches the catalog; :func:`publish_prompt` also updates the manifest.
    """
    resolved_stage = _check(name, stage, text)
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


def _manifest_path(resolved: ProjectSettings, project_root: Path) -> Path:
    """Where the project's own manifest lives (``pipeline.manifest_path``), existing or not."""
    if resolved.manifest_file is not None:
        return resolved.manifest_file
    configured = Path(resolved.settings.pipeline.manifest_path)
    return configured if configured.is_absolute() else project_root / configured


def publish_prompt(ws: Workspace, slug: str, name: str, text: str, *, stage: str | None = None) -> int:
    """Make ``text`` the prompt ``name`` for the project's next runs; return its catalog version.

    The project's manifest file gets ``prompts[name] = text`` (only that key changes; the file
    is rewritten atomically and validated before anything is recorded). When the prompt has no
    history yet, the text the pipeline used until now is stored first as version 1, so the
    history always starts from what produced the earlier runs.
    """
    resolved_stage = _check(name, stage, text)
    root = Path(get_project(ws, slug)["root"])
    before = resolve_project_settings(root)  # a broken manifest stops here, with file + key
    path = _manifest_path(before, root)
    raw: dict[str, Any] = read_settings_file(path) if path.is_file() else {}
    prompts = raw.get("prompts", {})
    if not isinstance(prompts, dict):
        raise ConfigError(f"{path}: prompts: must be an object of strings (got {type(prompts).__name__})")
    updated = {**raw, "prompts": {**prompts, name: text}}
    resolve_project_settings(root, manifest_overrides={"prompts": {name: text}})
    if not prompt_history(ws, slug, name):
        baseline = before.manifest.prompts.get(name)
        if baseline and baseline.strip() and baseline != text:
            save_prompt(ws, slug, name, resolved_stage, baseline)
    atomic_write_json(path, updated)
    return save_prompt(ws, slug, name, resolved_stage, text)
