"""Character profiles and style guides: create, read, update, mark deleted.

A character is keyed by its ``code`` inside its project (slug-checked, unique among the
project's live characters). Creating one also creates its reference set (kind ``character``),
so generated and imported images always have a place to go. Every change writes an audit event
in the same transaction.
"""

from __future__ import annotations

from typing import Any

from kroma_kit.catalog import knowledge as kq
from kroma_kit.catalog import refsets as rq
from kroma_kit.catalog.audit import record_event
from kroma_kit.characters._common import project_of, reading, writing
from kroma_kit.characters.records import (
    CODE_PATTERN,
    Character,
    IdentityConstraints,
    StyleGuide,
    StyleRules,
    parse_model,
    validate_code,
)
from kroma_kit.errors import InputError, NotFoundError
from kroma_kit.workspace import Workspace

DEFAULT_GUIDE_NAME = "default"


def character_set_name(code: str) -> str:
    """The name of a character's own reference set."""
    return f"character:{code}"


# --------------------------------------------------------------------------- characters

def create_character(ws: Workspace, project: str | dict[str, Any], code: str, name: str | None = None, *,
                     bio: str = "", identity: dict[str, Any] | IdentityConstraints | None = None,
                     style_guide: str | None = None, metadata: dict[str, Any] | None = None) -> Character:
    """Create character ``code`` and its reference set; a duplicate or bad code is refused."""
    proj = project_of(ws, project)
    validate_code(code)
    constraints = identity if isinstance(identity, IdentityConstraints) else \
        parse_model(IdentityConstraints, identity, f"identity constraints of character '{code}'")
    with writing(ws) as conn:
        if kq.get_character(conn, proj["id"], code) is not None:
            raise InputError(f"Character '{code}' already exists in project '{proj['slug']}'. Pick another "
                             f"code or change it with `kroma character update {code}`.")
        guide_id = _guide_id(conn, proj, style_guide)
        character_id = kq.insert_character(conn, proj["id"], code, (name or code).strip() or code, bio=bio,
                                           identity=constraints.model_dump(), style_guide_id=guide_id,
                                           metadata=metadata)
        name_taken = rq.get_reference_set(conn, proj["id"], name=character_set_name(code))
        if name_taken is None:
            rq.insert_reference_set(conn, proj["id"], character_set_name(code), "character",
                                    character_id=character_id, description=f"References of {name or code}")
        else:  # a set left by a deleted character of the same code: it follows the new one
            rq.attach_set_to_character(conn, proj["id"], name_taken["id"], character_id)
        record_event(conn, "character.created", {"code": code, "name": name or code}, project_id=proj["id"])
    return get_character(ws, proj, code)


def list_characters(ws: Workspace, project: str | dict[str, Any]) -> list[Character]:
    proj = project_of(ws, project)
    with reading(ws) as conn:
        return [Character.from_row(row) for row in kq.list_characters(conn, proj["id"])]


def get_character(ws: Workspace, project: str | dict[str, Any], code: str) -> Character:
    """The live character ``code``; an unknown code names the known ones."""
    proj = project_of(ws, project)
    validate_code(code)
    with reading(ws) as conn:
        row = kq.get_character(conn, proj["id"], code)
        if row is None:
            known = [c["code"] for c in kq.list_characters(conn, proj["id"])]
            hint = f" Known characters: {', '.join(known)}." if known else " The project has no characters yet."
            raise NotFoundError(f"Unknown character '{code}' in project '{proj['slug']}'.{hint} Create it with "
                                f"`kroma character create --project {proj['slug']} {code}`.")
        return Character.from_row(row)


def update_character(ws: Workspace, project: str | dict[str, Any], code: str, *, name: str | None = None,
                     bio: str | None = None, identity: dict[str, Any] | None = None,
                     replace_identity: bool = False, style_guide: str | None = None,
                     metadata: dict[str, Any] | None = None) -> Character:
    """Change a profile. ``identity`` merges key by key unless ``replace_identity``."""
    proj = project_of(ws, project)
    current = get_character(ws, proj, code)
    merged = (identity or {}) if replace_identity else {**current.identity.model_dump(), **(identity or {})}
    constraints = parse_model(IdentityConstraints, merged, f"identity constraints of character '{code}'")
    with writing(ws) as conn:
        guide_id = _guide_id(conn, proj, style_guide) if style_guide is not None else current.style_guide_id
        kq.update_character(conn, proj["id"], current.id, name=name if name is not None else current.name,
                            bio=bio if bio is not None else current.bio, identity=constraints.model_dump(),
                            style_guide_id=guide_id, metadata={**current.metadata, **(metadata or {})})
        record_event(conn, "character.updated", {"code": code, "fields": sorted(
            k for k, v in (("name", name), ("bio", bio), ("identity", identity), ("style_guide", style_guide),
                           ("metadata", metadata)) if v is not None)}, project_id=proj["id"])
    return get_character(ws, proj, code)


def delete_character(ws: Workspace, project: str | dict[str, Any], code: str) -> Character:
    """Mark the character deleted: its rows, images and files stay; its code is free again."""
    proj = project_of(ws, project)
    current = get_character(ws, proj, code)
    with writing(ws) as conn:
        kq.mark_character_deleted(conn, proj["id"], current.id)
        record_event(conn, "character.deleted", {"code": code, "character_id": current.id}, project_id=proj["id"])
    with reading(ws) as conn:
        row = kq.get_character_by_id(conn, proj["id"], current.id)
    assert row is not None
    return Character.from_row(row)


def find_character(ws: Workspace, project: str | dict[str, Any], key: str) -> Character:
    """The live character whose code or id is ``key`` (the API addresses characters by id, as
    the original did, and by code, as the CLI does); anything else is not found."""
    proj = project_of(ws, project)
    with reading(ws) as conn:
        row = kq.get_character(conn, proj["id"], key) if CODE_PATTERN.fullmatch(key) else None
        if row is None:
            row = kq.get_character_by_id(conn, proj["id"], key)
    if row is None or row.get("deleted_at"):
        raise NotFoundError(f"No character with code or id '{key}' in project '{proj['slug']}'.")
    return Character.from_row(row)


# --------------------------------------------------------------------------- style guides

def _guide_id(conn: Any, proj: dict[str, Any], name: str | None) -> str | None:
    if name is None or name == "":
        return None
    guide = kq.get_style_guide(conn, proj["id"], name=name)
    if guide is None:
        known = [g["name"] for g in kq.list_style_guides(conn, proj["id"])]
        raise NotFoundError(f"Unknown style guide '{name}' in project '{proj['slug']}'"
                            + (f" (known: {', '.join(known)})." if known else " (the project has none yet)."))
    return str(guide["id"])


def create_style_guide(ws: Workspace, project: str | dict[str, Any], name: str, *, description: str = "",
                       rules: dict[str, Any] | None = None, is_default: bool = False) -> StyleGuide:
    proj = project_of(ws, project)
    name = (name or "").strip()
    if not name:
        raise InputError("Style guide name is empty.")
    parsed = parse_model(StyleRules, rules, f"rules of style guide '{name}'")
    with writing(ws) as conn:
        if kq.get_style_guide(conn, proj["id"], name=name) is not None:
            raise InputError(f"Style guide '{name}' already exists in project '{proj['slug']}'.")
        first = kq.default_style_guide(conn, proj["id"]) is None
        kq.insert_style_guide(conn, proj["id"], name, description=description, rules=parsed.model_dump(),
                              is_default=is_default or first)
        record_event(conn, "style_guide.created", {"name": name, "default": is_default or first},
                     project_id=proj["id"])
    return get_style_guide(ws, proj, name)


def list_style_guides(ws: Workspace, project: str | dict[str, Any]) -> list[StyleGuide]:
    proj = project_of(ws, project)
    with reading(ws) as conn:
        return [StyleGuide.from_row(row) for row in kq.list_style_guides(conn, proj["id"])]


def get_style_guide(ws: Workspace, project: str | dict[str, Any], name: str) -> StyleGuide:
    proj = project_of(ws, project)
    with reading(ws) as conn:
        row = kq.get_style_guide(conn, proj["id"], name=name)
        if row is None:
            _guide_id(conn, proj, name)  # raises the error naming the known guides
        assert row is not None
        return StyleGuide.from_row(row)


def update_style_guide(ws: Workspace, project: str | dict[str, Any], name: str, *,
                       description: str | None = None, rules: dict[str, Any] | None = None,
                       replace_rules: bool = False, make_default: bool = False) -> StyleGuide:
    proj = project_of(ws, project)
    current = get_style_guide(ws, proj, name)
    merged = (rules or {}) if replace_rules else {**current.rules.model_dump(), **(rules or {})}
    parsed = parse_model(StyleRules, merged, f"rules of style guide '{name}'")
    with writing(ws) as conn:
        kq.update_style_guide(conn, proj["id"], current.id, description=description, rules=parsed.model_dump(),
                              is_default=True if make_default else None)
        record_event(conn, "style_guide.updated", {"name": name, "default": make_default}, project_id=proj["id"])
    return get_style_guide(ws, proj, name)


def effective_style_guide(ws: Workspace, project: str | dict[str, Any], character: Character | None = None
                          ) -> StyleGuide | None:
    """The guide a character follows: its own, else the project's default, else none."""
    proj = project_of(ws, project)
    with reading(ws) as conn:
        row = None
        if character is not None and character.style_guide_id:
            row = kq.get_style_guide(conn, proj["id"], guide_id=character.style_guide_id)
        row = row or kq.default_style_guide(conn, proj["id"])
        return StyleGuide.from_row(row) if row else None


def find_style_guide(ws: Workspace, project: str | dict[str, Any], key: str) -> StyleGuide:
    """The guide whose id or name is ``key`` (ids for the API, names for the CLI)."""
    proj = project_of(ws, project)
    with reading(ws) as conn:
        row = kq.get_style_guide(conn, proj["id"], guide_id=key) or kq.get_style_guide(conn, proj["id"], name=key)
    if row is None:
        raise NotFoundError(f"No style guide with id or name '{key}' in project '{proj['slug']}'.")
    return StyleGuide.from_row(row)


def delete_style_guide(ws: Workspace, project: str | dict[str, Any], name: str) -> StyleGuide:
    """Erase a guide (it holds no history worth keeping: its rules are in every run log that used
    it); characters that followed it fall back to the project's default guide."""
    proj = project_of(ws, project)
    current = get_style_guide(ws, proj, name)
    with writing(ws) as conn:
        kq.delete_style_guide(conn, proj["id"], current.id)
        record_event(conn, "style_guide.deleted", {"name": name, "style_guide_id": current.id},
                     project_id=proj["id"])
    return current
