"""``kroma.bootstrap.v1``: a prompt that lets an outside AI draft a project's settings, and the
import of its answer (kroma-behavior.md §8.4), applied to the knowledge tables.

The original parsing rules: the whole text as JSON, else the text with a leading code fence
stripped, else the substring from the first ``{`` to the last ``}``; the value may be the wrapper
``{mode, settings}`` (its mode is used when the call names none) or the bare settings. Sections
are keyed by natural key (provider_code; name for style guides, characters, reference sets and
templates); ``merge`` upserts what is given and keeps the rest, ``replace`` first empties each
section *present in the answer*. A reference set's ``items`` list is authoritative. Secrets are
metadata-only and merge-only: this catalog has no secret store, so they are counted and reported,
never written. The whole import is one transaction; ``dry_run`` computes the same change counts
and rolls back.

How each section maps onto our tables is :mod:`kroma_kit.characters.bootstrap_sections`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from kroma_kit.catalog import knowledge as kq
from kroma_kit.catalog import project_settings_rows as ps
from kroma_kit.catalog import refsets as rq
from kroma_kit.catalog.audit import record_event
from kroma_kit.catalog.db import transaction, utcnow
from kroma_kit.catalog.projects import project_name_description
from kroma_kit.characters._common import project_of, reading
from kroma_kit.characters.bootstrap_sections import SECTION_APPLIERS
from kroma_kit.errors import InputError, KromaError
from kroma_kit.workspace import Workspace

SCHEMA_VERSION = "kroma.bootstrap.v1"
SECTIONS = ("provider_accounts", "style_guides", "characters", "reference_sets", "secrets", "prompt_templates")
MODES = ("merge", "replace")
EXPECTED_RESPONSE = {
    "mode": "merge",
    "settings": {
        "project": {"name": "", "description": ""},
        "provider_accounts": [{"provider_code": "", "display_name": "", "account_ref": "", "base_url": "",
                               "enabled": True, "config_json": {}}],
        "style_guides": [{"name": "", "instructions": "", "notes": ""}],
        "characters": [{"name": "", "description": "", "prompt_text": ""}],
        "reference_sets": [{"name": "", "description": "", "items": [
            {"label": "", "content_uri": "", "content_text": "", "sort_order": 0, "metadata_json": {}}]}],
        "secrets": [{"provider_code": "", "secret_name": ""}],
        "prompt_templates": [{"name": "", "template_text": ""}],
    },
}


# --------------------------------------------------------------------------- snapshot and prompt

def current_settings(conn: Any, project: dict[str, Any]) -> dict[str, Any]:
    pid = project["id"]
    guides = [{"name": g["name"], "instructions": g["description"], "notes": g["rules"].get("notes", ""),
               "rules": g["rules"], "is_default": g["is_default"]} for g in kq.list_style_guides(conn, pid)]
    characters = [{"name": c["name"], "code": c["code"], "description": c["bio"],
                   "prompt_text": c["metadata"].get("prompt_text", ""), "identity": c["identity"]}
                  for c in kq.list_characters(conn, pid)]
    sets = []
    for refset in rq.list_reference_sets(conn, pid):
        items = [{"label": Path(i["storage_uri"]).name, "content_uri": i["rel_path"] or i["storage_uri"],
                  "content_text": i["notes"], "sort_order": i["sort_order"], "metadata_json": i["metadata"]}
                 for i in rq.list_items(conn, pid, refset["id"])]
        items += list(refset["metadata"].get("external_items", []))
        sets.append({"name": refset["name"], "kind": refset["kind"], "description": refset["description"],
                     "items": items})
    accounts = [{"provider_code": a["provider_code"], "enabled": bool(a["is_enabled"]),
                 "display_name": a["config"].get("display_name", ""), "account_ref": a["config"].get("account_ref", ""),
                 "base_url": a["config"].get("base_url", ""), "config_json": a["config"].get("config_json", {})}
                for a in ps.list_provider_accounts(conn, pid)]
    templates = [{"name": t["name"], "template_text": t["template_text"]}
                 for t in ps.active_prompt_templates(conn, pid)]
    return {"provider_accounts": accounts, "style_guides": guides, "characters": characters,
            "reference_sets": sets, "secrets": [], "prompt_templates": templates}


def bootstrap_prompt(ws: Workspace, project: str | dict[str, Any]) -> dict[str, Any]:
    proj = project_of(ws, project)
    with reading(ws) as conn:
        settings = current_settings(conn, proj)
    prompt = (
        "You are helping set up a comic production project in Kroma Kit. Return ONLY one JSON object in "
        f"the shape of this template (schema {SCHEMA_VERSION}):\n{json.dumps(EXPECTED_RESPONSE, indent=2)}\n"
        "Rules: keep provider_code lowercase; omit sections you do not change; never include secret values "
        "(secrets list provider_code and secret_name only); use mode \"replace\" only to drop every existing "
        "entry of the sections you send.\nCurrent settings:\n"
        f"{json.dumps({'project': _project_card(proj), 'settings': settings}, indent=2, ensure_ascii=False)}\n")
    return {"schema_version": SCHEMA_VERSION, "generated_at": utcnow(), "project": _project_card(proj),
            "settings": settings, "expected_response": EXPECTED_RESPONSE, "prompt": prompt}


def _project_card(proj: dict[str, Any]) -> dict[str, Any]:
    return {"id": proj["id"], "slug": proj["slug"], "name": proj["name"], "description": proj["description"]}


# --------------------------------------------------------------------------- parsing

def parse_answer(text: str) -> Any:
    """The seed's three tries: whole text, leading fence stripped, first '{' to last '}'."""
    if not isinstance(text, str) or not text.strip():
        raise InputError("Bootstrap answer is empty: paste the outside AI's JSON answer.")
    candidates = [text.strip()]
    fenced = re.sub(r"^```[a-zA-Z0-9_-]*\s*\n?", "", text.strip())
    candidates.append(re.sub(r"\n?```\s*$", "", fenced).strip())
    if "{" in text and "}" in text:
        candidates.append(text[text.index("{"):text.rindex("}") + 1])
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    raise InputError("Could not parse JSON from the bootstrap answer (tried the whole text, a fenced block, "
                     "and the first '{' to the last '}'); ask the AI to answer with JSON only.")


def _unwrap(value: Any, mode: str | None) -> tuple[dict[str, Any], str]:
    if not isinstance(value, dict):
        raise InputError("Bootstrap answer must be a JSON object (the settings, or {mode, settings}).")
    if "settings" in value and isinstance(value["settings"], dict):
        settings, mode = value["settings"], mode or value.get("mode")
    else:
        settings = value
    mode = mode or "merge"
    if mode not in MODES:
        raise InputError(f"Field 'mode' must be one of: merge, replace (got {mode!r}).")
    for section in SECTIONS:
        if section in settings and not isinstance(settings[section], list):
            raise InputError(f"Bootstrap section '{section}' must be a list, got {type(settings[section]).__name__}.")
    if "project" in settings and not isinstance(settings["project"], dict):
        raise InputError("Bootstrap section 'project' must be an object with name/description.")
    _check_text_fields(settings)
    return settings, mode


TEXT_FIELDS = ("name", "description", "instructions", "notes", "prompt_text", "display_name", "account_ref",
               "base_url", "template_text", "code", "kind", "label", "content_uri", "content_text")


def _check_text_fields(settings: dict[str, Any]) -> None:
    """Text fields must be text (or null): an answer from an outside AI (or a client over HTTP)
    with a number or a list there is refused with its place, before anything is written."""
    places: list[tuple[str, Any]] = [("project", settings.get("project"))]
    for section in SECTIONS:
        for number, entry in enumerate(settings.get(section) or [], start=1):
            places.append((f"{section} entry {number}", entry))
            if isinstance(entry, dict) and isinstance(entry.get("items"), list):
                places += [(f"{section} entry {number} item {i}", item) for i, item in enumerate(entry["items"], 1)]
    for where, entry in places:
        if not isinstance(entry, dict):
            continue
        for key in TEXT_FIELDS:
            if entry.get(key) is not None and not isinstance(entry[key], str):
                raise InputError(f"Bootstrap {where}: '{key}' must be text, got {type(entry[key]).__name__}.")
        order = entry.get("sort_order")
        if order is not None and (isinstance(order, bool) or not isinstance(order, int)):
            raise InputError(f"Bootstrap {where}: 'sort_order' must be an integer.")


def _named(entries: list[Any], section: str, key: str = "name") -> list[dict[str, Any]]:
    out, seen = [], set()
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not str(entry.get(key) or "").strip():
            raise InputError(f"Bootstrap {section} entry {number} needs a non-empty '{key}'.")
        natural = str(entry[key]).strip().lower() if key == "provider_code" else str(entry[key]).strip()
        if natural in seen:
            raise InputError(f"Bootstrap {section} lists '{natural}' twice.")
        seen.add(natural)
        out.append({**entry, key: natural})
    return out


# --------------------------------------------------------------------------- import

def bootstrap_import(ws: Workspace, project: str | dict[str, Any], *, settings: dict[str, Any] | None = None,
                     ai_response_text: str | None = None, mode: str | None = None,
                     dry_run: bool = False) -> dict[str, Any]:
    """Apply an answer in one transaction (rolled back for ``dry_run``); the change counts are the answer."""
    if (settings is None) == (ai_response_text is None):
        raise InputError("Provide either 'settings' or 'ai_response_text'.")
    if mode is not None and mode not in MODES:
        raise InputError(f"Field 'mode' must be one of: merge, replace (got {mode!r}).")
    value = settings if settings is not None else parse_answer(ai_response_text or "")
    payload, mode = _unwrap(value, mode)
    proj = project_of(ws, project)
    conn = ws.connect()
    try:
        with transaction(conn, rollback=dry_run):
            result = _apply(conn, proj, payload, mode)
            result["settings"] = current_settings(conn, proj)
            result["project"] = _project_card({**proj, **project_name_description(conn, proj["id"])})
            if not dry_run:
                record_event(conn, "project.bootstrap_imported", {"mode": mode, "applied": result["applied"]},
                             project_id=proj["id"])
    finally:
        conn.close()
    return {"schema_version": SCHEMA_VERSION, "mode": mode, "dry_run": dry_run, **result}


def _apply(conn: Any, proj: dict[str, Any], payload: dict[str, Any], mode: str) -> dict[str, Any]:
    pid = proj["id"]
    changes: dict[str, Any] = {}
    applied: dict[str, int] = {}
    project_updated = False
    if "project" in payload:
        patch = payload["project"]
        project_updated = ps.patch_project(conn, pid, name=patch.get("name") or None,
                                           description=patch.get("description"))
    changes["project"] = {"updated": project_updated}
    for section in SECTIONS:
        if section not in payload:
            continue
        key = "provider_code" if section in ("provider_accounts", "secrets") else "name"
        entries = _named(payload[section], section, key)
        try:
            changes[section] = SECTION_APPLIERS[section](conn, proj, entries, mode)
        except KromaError as exc:
            raise type(exc)(f"Bootstrap {section}: {exc}") from None
        changes[section]["provided"] = len(entries)
        applied[section] = len(entries)
    return {"project_updated": project_updated, "applied": applied, "changes": changes}
