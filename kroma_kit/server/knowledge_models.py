"""Wire types of the knowledge routes (style guides, characters, reference sets and items,
character images): the records the characters service returns (``to_dict`` of
:mod:`kroma_kit.characters.records`), named for the OpenAPI document. Like :mod:`.models`, they
name the fields clients rely on and allow the rest."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from kroma_kit.server.models import Record


class StyleGuide(Record):
    id: str
    project_id: str
    name: str
    description: str
    rules: dict[str, Any] = Field(description="palette (#rrggbb), line_weight, forbidden_words, notes")
    is_default: bool
    created_at: str
    updated_at: str


class Character(Record):
    id: str
    project_id: str
    code: str = Field(description="stable short id, also used in file names")
    name: str
    bio: str
    identity: dict[str, Any] = Field(description="hair, eyes, skin, build, outfit, signature_colors, must_keep, never")
    style_guide_id: str | None = None
    metadata: dict[str, Any]
    created_at: str
    updated_at: str
    deleted_at: str | None = None


class ReferenceItem(Record):
    id: str
    asset_id: str
    path: str
    weight: float
    notes: str
    role: str
    sha256: str | None = None
    width: int | None = None
    height: int | None = None


class ReferenceSet(Record):
    id: str
    project_id: str
    name: str
    kind: str
    character_id: str | None = None
    description: str
    metadata: dict[str, Any]
    items: list[ReferenceItem]


class CharacterImage(Record):
    """Seed 004's ``character-image-metadata``: the exact prompt, provider, status and metrics of
    one image, with its file (``path``) while it is live and ``archived_path`` once deleted."""

    id: str
    character_id: str
    kind: str = Field(description="reference | portfolio_item | scene")
    view: str | None = None
    provider: str
    prompt: str
    status: str = Field(description="succeeded | failed")
    asset_id: str | None = None
    path: str | None = None
    sha256: str | None = None
    source_url: str | None = None
    external_id: str | None = None
    error: str | None = None
    metrics: dict[str, Any]
    run_id: str | None = None
    job_key: str | None = None
    created_at: str
    updated_at: str
    deleted_at: str | None = None
    archived_path: str | None = None
    remote_delete: dict[str, Any] = Field(default_factory=dict)
    parent_image_id: str | None = None
