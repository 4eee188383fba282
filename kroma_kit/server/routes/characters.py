"""``/api/projects/{slug}/characters``: character profiles with their identity constraints.
Addressed by id (as the original did) or by code (as ``kroma character`` does). The detail is the
panel's overview (profile, style guide followed, reference set, image counts, best reference,
portfolio); deleting marks the character deleted (rows, images and files stay)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from kroma_kit.characters import profiles
from kroma_kit.characters.overview import character_overview
from kroma_kit.characters.records import IdentityConstraints
from kroma_kit.server.auth import WS, Slug
from kroma_kit.server.knowledge_models import Character, CharacterImage, ReferenceSet, StyleGuide
from kroma_kit.server.models import DeletedResponse, Envelope
from kroma_kit.server.routes import ERRORS

router = APIRouter(prefix="/api/projects/{slug}/characters", tags=["characters"], responses=ERRORS)


class CharacterFields(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    bio: str | None = Field(default=None, max_length=20_000)
    identity: IdentityConstraints | None = None
    style_guide: str | None = Field(default=None, max_length=200, description="name of a style guide of the project")
    metadata: dict[str, Any] | None = None


class CharacterCreate(CharacterFields):
    code: str = Field(min_length=1, max_length=64, description="a-z, 0-9, '_', '-'; starts with a letter or digit")


class CharacterUpdate(CharacterFields):
    replace_identity: bool = Field(default=False, description="identity replaces instead of merging key by key")


class CharacterList(Envelope):
    count: int
    characters: list[Character]


class CharacterResponse(Envelope):
    character: Character


class CharacterDetail(CharacterResponse):
    style_guide: StyleGuide | None = None
    reference_set: ReferenceSet | None = None
    image_counts: dict[str, int]
    best_reference: CharacterImage | None = None
    portfolio: list[CharacterImage]


def _identity(identity: IdentityConstraints | None) -> dict[str, Any] | None:
    return identity.model_dump(exclude_unset=True) if identity is not None else None


@router.get("", response_model=CharacterList)
def list_characters(slug: Slug, ws: WS) -> dict:
    found = [character.to_dict() for character in profiles.list_characters(ws, slug)]
    return {"ok": True, "count": len(found), "characters": found}


@router.post("", response_model=CharacterResponse)
def create_character(slug: Slug, body: CharacterCreate, ws: WS) -> dict:
    character = profiles.create_character(ws, slug, body.code, body.name, bio=body.bio or "",
                                          identity=_identity(body.identity), style_guide=body.style_guide,
                                          metadata=body.metadata)
    return {"ok": True, "character": character.to_dict()}


@router.get("/{character_id}", response_model=CharacterDetail)
def get_character(slug: Slug, character_id: str, ws: WS) -> dict:
    code = profiles.find_character(ws, slug, character_id).code
    return {"ok": True, **character_overview(ws, slug, code)}


@router.put("/{character_id}", response_model=CharacterResponse)
def update_character(slug: Slug, character_id: str, body: CharacterUpdate, ws: WS) -> dict:
    code = profiles.find_character(ws, slug, character_id).code
    character = profiles.update_character(ws, slug, code, name=body.name, bio=body.bio,
                                          identity=_identity(body.identity), replace_identity=body.replace_identity,
                                          style_guide=body.style_guide, metadata=body.metadata)
    return {"ok": True, "character": character.to_dict()}


@router.delete("/{character_id}", response_model=DeletedResponse)
def delete_character(slug: Slug, character_id: str, ws: WS) -> dict:
    code = profiles.find_character(ws, slug, character_id).code
    return {"ok": True, "deleted": True, "id": profiles.delete_character(ws, slug, code).id}
