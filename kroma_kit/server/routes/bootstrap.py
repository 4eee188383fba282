"""``/api/projects/{slug}/bootstrap-prompt`` and ``bootstrap-import`` (``kroma.bootstrap.v1``,
kroma-behavior.md §8.4): a prompt that lets an outside AI draft the project's settings, and the
import of its answer in one transaction (``dry_run`` previews the same change counts)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from kroma_kit.characters.bootstrap import bootstrap_import, bootstrap_prompt
from kroma_kit.server.auth import WS, Slug
from kroma_kit.server.models import Envelope, Record
from kroma_kit.server.routes import ERRORS

router = APIRouter(prefix="/api/projects/{slug}", tags=["bootstrap"], responses=ERRORS)


class ImportRequest(BaseModel):
    """Either ``settings`` (an object) or ``ai_response_text`` (the AI's raw answer: JSON, a fenced
    block, or text around one object). ``mode``: default the answer's own, else merge."""

    mode: Literal["merge", "replace"] | None = None
    dry_run: bool = False
    settings: dict[str, Any] | None = None
    ai_response_text: str | None = Field(default=None, max_length=1_000_000)


class ProjectCard(Record):
    id: str
    slug: str
    name: str
    description: str


class Bootstrap(Record):
    schema_version: str
    generated_at: str
    project: ProjectCard
    settings: dict[str, Any]
    expected_response: dict[str, Any]
    prompt: str


class BootstrapImport(Record):
    schema_version: str
    mode: Literal["merge", "replace"]
    dry_run: bool
    project_updated: bool
    applied: dict[str, int]
    changes: dict[str, Any]
    project: ProjectCard
    settings: dict[str, Any]


class BootstrapResponse(Envelope):
    bootstrap: Bootstrap


class ImportResponse(Envelope):
    bootstrap_import: BootstrapImport


@router.get("/bootstrap-prompt", response_model=BootstrapResponse)
def get_bootstrap_prompt(slug: Slug, ws: WS) -> dict:
    return {"ok": True, "bootstrap": bootstrap_prompt(ws, slug)}


@router.post("/bootstrap-import", response_model=ImportResponse)
def post_bootstrap_import(slug: Slug, body: ImportRequest, ws: WS) -> dict:
    result = bootstrap_import(ws, slug, settings=body.settings, ai_response_text=body.ai_response_text,
                              mode=body.mode, dry_run=body.dry_run)
    return {"ok": True, "bootstrap_import": result}
