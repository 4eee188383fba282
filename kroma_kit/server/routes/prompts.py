"""``/api/projects/{slug}/prompt-templates``: stage prompts, versioned. Creating or changing one
publishes a new version exactly as ``kroma prompt save`` and the ManifestEditor do (the manifest's
text is updated, older versions stay readable); ``PUT`` therefore answers with the new version's
record (a new id). Only an old version can be deleted."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from kroma_kit.catalog import prompt_templates
from kroma_kit.manifest_edit import publish_prompt
from kroma_kit.server.auth import WS, Slug
from kroma_kit.server.models import DeletedResponse, Envelope, PromptTemplate
from kroma_kit.server.routes import ERRORS

router = APIRouter(prefix="/api/projects/{slug}/prompt-templates", tags=["prompt templates"], responses=ERRORS)


class TemplateCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200, description="manifest prompt key, e.g. style_base")
    template_text: str = Field(min_length=1, max_length=20_000)
    stage: str | None = Field(default=None, description="default: the part of the name before '_'")


class TemplateUpdate(BaseModel):
    template_text: str = Field(min_length=1, max_length=20_000)


class TemplateList(Envelope):
    count: int
    prompt_templates: list[PromptTemplate]


class TemplateResponse(Envelope):
    prompt_template: PromptTemplate


def _published(ws, slug: str, name: str, text: str, stage: str | None) -> dict:
    version = publish_prompt(ws, slug, name, text, stage=stage)
    return prompt_templates.get_prompt_version(ws, slug, name, version)


@router.get("", response_model=TemplateList)
def list_templates(slug: Slug, ws: WS, include_history: bool = False, name: str | None = None) -> dict:
    found = prompt_templates.list_prompt_templates(ws, slug, include_history=include_history, name=name)
    return {"ok": True, "count": len(found), "prompt_templates": found}


@router.post("", response_model=TemplateResponse)
def create_template(slug: Slug, body: TemplateCreate, ws: WS) -> dict:
    return {"ok": True, "prompt_template": _published(ws, slug, body.name, body.template_text, body.stage)}


@router.get("/{template_id}", response_model=TemplateResponse)
def get_template(slug: Slug, template_id: str, ws: WS) -> dict:
    return {"ok": True, "prompt_template": prompt_templates.get_prompt_template(ws, slug, template_id)}


@router.put("/{template_id}", response_model=TemplateResponse)
def update_template(slug: Slug, template_id: str, body: TemplateUpdate, ws: WS) -> dict:
    current = prompt_templates.get_prompt_template(ws, slug, template_id)
    return {"ok": True, "prompt_template": _published(ws, slug, current["name"], body.template_text,
                                                      current["stage"])}


@router.delete("/{template_id}", response_model=DeletedResponse)
def delete_template(slug: Slug, template_id: str, ws: WS) -> dict:
    return {"ok": True, "deleted": True, "id": prompt_templates.delete_prompt_template(ws, slug, template_id)}
