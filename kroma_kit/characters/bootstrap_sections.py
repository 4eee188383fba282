"""The sections of a ``kroma.bootstrap.v1`` import, each applied to its catalog tables.

:func:`kroma_kit.characters.bootstrap.bootstrap_import` parses and checks the answer and opens the
one transaction; each applier here takes that connection, the project, the section's entries
(already keyed by natural key) and the mode, and returns the section's change counts. ``merge``
upserts what is given and keeps the rest; ``replace`` first empties the section.

Mapping onto our tables: a style guide's ``instructions`` is its description and ``notes`` its
``rules.notes`` (a ``rules`` object is taken as is); a character's ``description`` is its bio and
``prompt_text`` lives in its metadata, its code is the slug of its name unless ``code`` is given;
characters are marked deleted, never erased. Reference items whose ``content_uri`` is an image
inside the project become asset items; others are kept in the set's metadata.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kroma_kit.catalog import knowledge as kq
from kroma_kit.catalog import project_settings_rows as ps
from kroma_kit.catalog import refsets as rq
from kroma_kit.characters.records import IdentityConstraints, StyleRules, parse_model, validate_code
from kroma_kit.characters.references import reference_asset
from kroma_kit.errors import ImageInputError, InputError, KromaError
from kroma_kit.imaging import is_image_path, open_image
from kroma_kit.workspace import ProjectLayout

# The signature every applier shares: (connection, project row, entries, mode) -> change counts.
SectionApplier = Callable[[Any, dict[str, Any], list[dict[str, Any]], str], dict[str, Any]]


def _counts(before: int) -> dict[str, Any]:
    return {"provided": 0, "replaced": False, "before_count": before, "after_count": before, "created": 0,
            "updated": 0, "deleted": 0, "unchanged": 0}


def _code_of(entry: dict[str, Any]) -> str:
    if entry.get("code"):
        return validate_code(str(entry["code"]))
    slug = re.sub(r"[^a-z0-9]+", "_", str(entry["name"]).lower()).strip("_")[:64]
    return validate_code(slug or "character")



def _accounts(conn: Any, proj: dict[str, Any], entries: list[dict[str, Any]], mode: str) -> dict[str, Any]:
    pid = proj["id"]
    existing = {a["provider_code"]: a for a in ps.list_provider_accounts(conn, pid)}
    counts = _counts(len(existing))
    if mode == "replace":
        counts["deleted"] = ps.delete_provider_accounts(conn, pid)
        counts["replaced"] = True
        existing = {}
    for entry in entries:
        config = {k: entry.get(k, "") for k in ("display_name", "account_ref", "base_url")}
        config["config_json"] = entry.get("config_json") or {}
        enabled = bool(entry.get("enabled", True))
        old = existing.get(entry["provider_code"])
        if old is not None and old["config"] == config and bool(old["is_enabled"]) == enabled:
            counts["unchanged"] += 1
            continue
        ps.upsert_provider_account(conn, pid, entry["provider_code"], enabled=enabled, config=config)
        counts["updated" if old is not None else "created"] += 1
    counts["after_count"] = len(ps.list_provider_accounts(conn, pid))
    return counts


def _guides(conn: Any, proj: dict[str, Any], entries: list[dict[str, Any]], mode: str) -> dict[str, Any]:
    pid = proj["id"]
    existing = {g["name"]: g for g in kq.list_style_guides(conn, pid)}
    counts = _counts(len(existing))
    if mode == "replace":
        counts["deleted"] = kq.delete_style_guides(conn, pid)
        counts["replaced"] = True
        existing = {}
    for entry in entries:
        base = dict(entry.get("rules") or {})
        if entry.get("notes") is not None and "notes" not in base:
            base["notes"] = entry.get("notes") or ""
        old = existing.get(entry["name"])
        rules = parse_model(StyleRules, {**(old["rules"] if old else {}), **base},
                            f"rules of style guide '{entry['name']}'").model_dump()
        description = entry.get("instructions", entry.get("description"))
        if old is None:
            first = kq.default_style_guide(conn, pid) is None
            kq.insert_style_guide(conn, pid, entry["name"], description=description or "", rules=rules,
                                  is_default=bool(entry.get("is_default")) or first)
            counts["created"] += 1
        elif old["rules"] == rules and (description is None or description == old["description"]):
            counts["unchanged"] += 1
        else:
            kq.update_style_guide(conn, pid, old["id"], description=description, rules=rules)
            counts["updated"] += 1
    counts["after_count"] = len(kq.list_style_guides(conn, pid))
    return counts


def _characters(conn: Any, proj: dict[str, Any], entries: list[dict[str, Any]], mode: str) -> dict[str, Any]:
    pid = proj["id"]
    existing = {c["name"]: c for c in kq.list_characters(conn, pid)}
    counts = _counts(len(existing))
    if mode == "replace":
        for character in existing.values():
            kq.mark_character_deleted(conn, pid, character["id"])
        counts["deleted"], counts["replaced"], existing = len(existing), True, {}
    for entry in entries:
        old = existing.get(entry["name"])
        identity = parse_model(IdentityConstraints, {**(old["identity"] if old else {}), **(entry.get("identity") or {})},
                               f"identity of character '{entry['name']}'").model_dump()
        bio = entry.get("description", old["bio"] if old else "") or ""
        metadata = {**(old["metadata"] if old else {})}
        if entry.get("prompt_text") is not None:
            metadata["prompt_text"] = entry["prompt_text"]
        if old is None:
            code = _code_of(entry)
            if kq.get_character(conn, pid, code) is not None:
                raise InputError(f"character '{entry['name']}' would get code '{code}', which another character "
                                 "already has; give it a 'code'.")
            character_id = kq.insert_character(conn, pid, code, entry["name"], bio=bio, identity=identity,
                                               metadata=metadata)
            name = f"character:{code}"
            found = rq.get_reference_set(conn, pid, name=name)
            if found is None:
                rq.insert_reference_set(conn, pid, name, "character", character_id=character_id)
            else:
                rq.attach_set_to_character(conn, pid, found["id"], character_id)
            counts["created"] += 1
        elif (old["bio"], old["identity"], old["metadata"]) == (bio, identity, metadata):
            counts["unchanged"] += 1
        else:
            kq.update_character(conn, pid, old["id"], name=old["name"], bio=bio, identity=identity,
                                style_guide_id=old["style_guide_id"], metadata=metadata)
            counts["updated"] += 1
    counts["after_count"] = len(kq.list_characters(conn, pid))
    return counts


def _set_items(conn: Any, proj: dict[str, Any], set_id: str, items: list[Any], set_name: str) -> list[dict[str, Any]]:
    """Insert the authoritative item list; returns the items kept as metadata (not project images)."""
    layout = ProjectLayout(Path(proj["root"]))
    external = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise InputError(f"set '{set_name}' item {number} must be an object.")
        uri = str(item.get("content_uri") or "").strip()
        path = None
        if uri and "://" not in uri and is_image_path(uri):
            try:
                path = layout.inside(uri)
                open_image(path).close()
            except (KromaError, ImageInputError) as exc:
                raise InputError(f"set '{set_name}' item {number}: {exc}") from None
        if path is None:
            external.append({k: item.get(k) for k in ("label", "content_uri", "content_text", "sort_order",
                                                       "metadata_json")})
            continue
        asset_id = reference_asset(conn, proj, path)
        rq.add_item(conn, proj["id"], set_id, asset_id, notes=str(item.get("content_text") or item.get("label") or ""),
                    sort_order=int(item.get("sort_order") or number), metadata=item.get("metadata_json") or {})
    return external


def _sets(conn: Any, proj: dict[str, Any], entries: list[dict[str, Any]], mode: str) -> dict[str, Any]:
    pid = proj["id"]
    existing = {s["name"]: s for s in rq.list_reference_sets(conn, pid)}
    counts = _counts(len(existing))
    if mode == "replace":
        counts["deleted"] = rq.delete_reference_sets(conn, pid)
        counts["replaced"], existing = True, {}
    for entry in entries:
        kind = entry.get("kind") or "other"
        old = existing.get(entry["name"])
        if old is None:
            set_id = rq.insert_reference_set(conn, pid, entry["name"], kind, description=entry.get("description") or "")
            counts["created"] += 1
        else:
            set_id = old["id"]
            counts["updated"] += 1
        if "items" in entry:
            rq.clear_items(conn, pid, set_id)
            external = _set_items(conn, proj, set_id, entry.get("items") or [], entry["name"])
            current = rq.get_reference_set(conn, pid, set_id=set_id)
            assert current is not None
            rq.update_reference_set(conn, pid, set_id, description=entry.get("description"),
                                    metadata={**current["metadata"], "external_items": external})
        elif entry.get("description") is not None:
            rq.update_reference_set(conn, pid, set_id, description=entry["description"])
    counts["after_count"] = len(rq.list_reference_sets(conn, pid))
    return counts


def _templates(conn: Any, proj: dict[str, Any], entries: list[dict[str, Any]], mode: str) -> dict[str, Any]:
    pid = proj["id"]
    existing = {t["name"]: t for t in ps.active_prompt_templates(conn, pid)}
    counts = _counts(len(existing))
    if mode == "replace":
        counts["deleted"] = ps.deactivate_prompt_templates(conn, pid)
        counts["replaced"], existing = True, {}
    for entry in entries:
        text = str(entry.get("template_text") or "").strip()
        if not text:
            raise InputError(f"template '{entry['name']}' has an empty template_text.")
        old = existing.get(entry["name"])
        if old is not None and old["template_text"] == text:
            counts["unchanged"] += 1
            continue
        stage = entry["name"].split("_", 1)[0]
        ps.add_prompt_version(conn, pid, entry["name"], stage if stage in ("style", "time", "weather", "characters")
                              else "other", text)
        counts["updated" if old is not None else "created"] += 1
    counts["after_count"] = len(ps.active_prompt_templates(conn, pid))
    return counts


def _secrets(conn: Any, proj: dict[str, Any], entries: list[dict[str, Any]], mode: str) -> dict[str, Any]:
    for entry in entries:
        if any(key in entry for key in ("secret_value", "value", "api_key")):
            raise InputError(f"secret '{entry['provider_code']}/{entry.get('secret_name')}' carries a value; "
                             "bootstrap answers must never include secret values.")
    counts = _counts(0)
    counts["unchanged"] = len(entries)
    counts["note"] = "metadata only; this catalog keeps no secrets (keys come from the environment)"
    return counts


SECTION_APPLIERS: dict[str, SectionApplier] = {
    "provider_accounts": _accounts, "style_guides": _guides, "characters": _characters,
    "reference_sets": _sets, "prompt_templates": _templates, "secrets": _secrets,
}
