"""``/api/projects/{slug}/reference-sets`` and their ``items``: packs of the project's own images
(style, character, scene, lighting, other), each item with a weight, notes and a role. Sets are
addressed by id or name, items by id or asset id. An item is added from a catalog asset of the
project or from an image file inside the project root (paths outside it are refused, so no
client can make the server read other files); removing an item or a set keeps the assets."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from kroma_kit.characters import references
from kroma_kit.server.auth import WS, Slug
from kroma_kit.server.knowledge_models import ReferenceItem, ReferenceSet
from kroma_kit.server.models import DeletedResponse, Envelope
from kroma_kit.server.routes import ERRORS

router = APIRouter(prefix="/api/projects/{slug}/reference-sets", tags=["reference sets"], responses=ERRORS)
Kind = Literal["style", "character", "scene", "lighting", "other"]


class SetCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: Kind = "other"
    description: str = Field(default="", max_length=20_000)


class SetUpdate(BaseModel):
    description: str | None = Field(default=None, max_length=20_000)
    metadata_json: dict[str, Any] | None = None


class ItemFields(BaseModel):
    weight: float | None = Field(default=None, ge=0, le=100)
    notes: str | None = Field(default=None, max_length=20_000)
    role: str | None = Field(default=None, min_length=1, max_length=64)


class ItemCreate(ItemFields):
    asset_id: str | None = Field(default=None, min_length=1, max_length=200, description="a catalog asset")
    path: str | None = Field(default=None, min_length=1, max_length=1000,
                             description="an image file inside the project root (instead of asset_id)")


class SetList(Envelope):
    count: int
    reference_sets: list[ReferenceSet]


class SetResponse(Envelope):
    reference_set: ReferenceSet


class ItemList(Envelope):
    count: int
    reference_items: list[ReferenceItem]


class ItemResponse(Envelope):
    reference_item: ReferenceItem


def _set_name(ws: Any, slug: str, key: str) -> str:
    return references.find_reference_set(ws, slug, key).name


@router.get("", response_model=SetList)
def list_sets(slug: Slug, ws: WS, kind: Kind | None = None) -> dict:
    found = [refset.to_dict() for refset in references.list_reference_sets(ws, slug, kind=kind)]
    return {"ok": True, "count": len(found), "reference_sets": found}


@router.post("", response_model=SetResponse)
def create_set(slug: Slug, body: SetCreate, ws: WS) -> dict:
    refset = references.create_reference_set(ws, slug, body.name, body.kind, description=body.description)
    return {"ok": True, "reference_set": refset.to_dict()}


@router.get("/{reference_set_id}", response_model=SetResponse)
def get_set(slug: Slug, reference_set_id: str, ws: WS) -> dict:
    return {"ok": True, "reference_set": references.find_reference_set(ws, slug, reference_set_id).to_dict()}


@router.put("/{reference_set_id}", response_model=SetResponse)
def update_set(slug: Slug, reference_set_id: str, body: SetUpdate, ws: WS) -> dict:
    refset = references.update_reference_set(ws, slug, _set_name(ws, slug, reference_set_id),
                                             description=body.description, metadata=body.metadata_json)
    return {"ok": True, "reference_set": refset.to_dict()}


@router.delete("/{reference_set_id}", response_model=DeletedResponse)
def delete_set(slug: Slug, reference_set_id: str, ws: WS) -> dict:
    deleted = references.delete_reference_set(ws, slug, _set_name(ws, slug, reference_set_id))
    return {"ok": True, "deleted": True, "id": deleted.id}


@router.get("/{reference_set_id}/items", response_model=ItemList)
def list_items(slug: Slug, reference_set_id: str, ws: WS) -> dict:
    items = [item.to_dict() for item in references.find_reference_set(ws, slug, reference_set_id).items]
    return {"ok": True, "count": len(items), "reference_items": items}


@router.post("/{reference_set_id}/items", response_model=ItemResponse)
def add_item(slug: Slug, reference_set_id: str, body: ItemCreate, ws: WS) -> dict:
    item = references.add_set_item(ws, slug, _set_name(ws, slug, reference_set_id), asset_id=body.asset_id,
                                   path=body.path, weight=1.0 if body.weight is None else body.weight,
                                   notes=body.notes or "", role=body.role or "reference")
    return {"ok": True, "reference_item": item.to_dict()}


@router.get("/{reference_set_id}/items/{item_id}", response_model=ItemResponse)
def get_item(slug: Slug, reference_set_id: str, item_id: str, ws: WS) -> dict:
    item = references.get_reference_item(ws, slug, _set_name(ws, slug, reference_set_id), item_id)
    return {"ok": True, "reference_item": item.to_dict()}


@router.put("/{reference_set_id}/items/{item_id}", response_model=ItemResponse)
def update_item(slug: Slug, reference_set_id: str, item_id: str, body: ItemFields, ws: WS) -> dict:
    item = references.update_reference_item(ws, slug, _set_name(ws, slug, reference_set_id), item_id,
                                            weight=body.weight, notes=body.notes, role=body.role)
    return {"ok": True, "reference_item": item.to_dict()}


@router.delete("/{reference_set_id}/items/{item_id}", response_model=DeletedResponse)
def delete_item(slug: Slug, reference_set_id: str, item_id: str, ws: WS) -> dict:
    name = _set_name(ws, slug, reference_set_id)
    item = references.get_reference_item(ws, slug, name, item_id)
    references.remove_reference(ws, slug, name, item.asset_id)
    return {"ok": True, "deleted": True, "id": item.id}
