"""``/api/projects/{slug}/style-guides``: the style locks of a project (palette, line weight,
forbidden words). Addressed by id, as the original did, or by name, as ``kroma character guide``
does. The first guide of a project becomes its default; ``is_default`` moves the default."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from kroma_kit.characters import profiles
from kroma_kit.characters.records import StyleRules
from kroma_kit.server.auth import WS, Slug
from kroma_kit.server.knowledge_models import StyleGuide
from kroma_kit.server.models import DeletedResponse, Envelope
from kroma_kit.server.routes import ERRORS

router = APIRouter(prefix="/api/projects/{slug}/style-guides", tags=["style guides"], responses=ERRORS)


class GuideCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=20_000)
    rules: StyleRules | None = None
    is_default: bool = False


class GuideUpdate(BaseModel):
    description: str | None = Field(default=None, max_length=20_000)
    rules: StyleRules | None = Field(default=None, description="merged key by key unless replace_rules")
    replace_rules: bool = False
    is_default: bool = Field(default=False, description="make this the project's default guide")


class GuideList(Envelope):
    count: int
    style_guides: list[StyleGuide]


class GuideResponse(Envelope):
    style_guide: StyleGuide


def _rules(rules: StyleRules | None) -> dict | None:
    return rules.model_dump(exclude_unset=True) if rules is not None else None


@router.get("", response_model=GuideList)
def list_guides(slug: Slug, ws: WS) -> dict:
    found = [guide.to_dict() for guide in profiles.list_style_guides(ws, slug)]
    return {"ok": True, "count": len(found), "style_guides": found}


@router.post("", response_model=GuideResponse)
def create_guide(slug: Slug, body: GuideCreate, ws: WS) -> dict:
    guide = profiles.create_style_guide(ws, slug, body.name, description=body.description, rules=_rules(body.rules),
                                        is_default=body.is_default)
    return {"ok": True, "style_guide": guide.to_dict()}


@router.get("/{style_guide_id}", response_model=GuideResponse)
def get_guide(slug: Slug, style_guide_id: str, ws: WS) -> dict:
    return {"ok": True, "style_guide": profiles.find_style_guide(ws, slug, style_guide_id).to_dict()}


@router.put("/{style_guide_id}", response_model=GuideResponse)
def update_guide(slug: Slug, style_guide_id: str, body: GuideUpdate, ws: WS) -> dict:
    current = profiles.find_style_guide(ws, slug, style_guide_id)
    guide = profiles.update_style_guide(ws, slug, current.name, description=body.description,
                                        rules=_rules(body.rules), replace_rules=body.replace_rules,
                                        make_default=body.is_default)
    return {"ok": True, "style_guide": guide.to_dict()}


@router.delete("/{style_guide_id}", response_model=DeletedResponse)
def delete_guide(slug: Slug, style_guide_id: str, ws: WS) -> dict:
    current = profiles.find_style_guide(ws, slug, style_guide_id)
    return {"ok": True, "deleted": True, "id": profiles.delete_style_guide(ws, slug, current.name).id}
