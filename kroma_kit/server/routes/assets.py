"""``/api/projects/{slug}/assets`` and ``/asset-links``: files with their hashes and sizes, and the
lineage between them (create, change, delete links; both ends must be assets of the project)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from kroma_kit.catalog import asset_views
from kroma_kit.server.auth import WS, Slug
from kroma_kit.server.models import Asset, AssetDetail, AssetLink, DeletedResponse, Envelope
from kroma_kit.server.routes import ERRORS

router = APIRouter(prefix="/api/projects/{slug}", tags=["assets"], responses=ERRORS)
Limit = Annotated[int, Query(ge=1, le=5000)]


class AssetList(Envelope):
    count: int
    assets: list[Asset]


class AssetResponse(Envelope):
    asset: AssetDetail


class LinkBody(BaseModel):
    parent_asset_id: str = Field(min_length=1)
    child_asset_id: str = Field(min_length=1)
    link_type: str | None = Field(default=None, description="derived_from (default), variant_of, mask_for, "
                                                             "reference_of")


class LinkList(Envelope):
    count: int
    asset_links: list[AssetLink]


class LinkResponse(Envelope):
    asset_link: AssetLink


@router.get("/assets", response_model=AssetList)
def list_assets(slug: Slug, ws: WS, limit: Limit = 500, kind: str | None = None, run_id: str | None = None) -> dict:
    found = asset_views.list_assets(ws, slug, limit=limit, kind=kind, run_id=run_id)
    return {"ok": True, "count": len(found), "assets": found}


@router.get("/assets/{asset_id}", response_model=AssetResponse)
def get_asset(slug: Slug, asset_id: str, ws: WS) -> dict:
    return {"ok": True, "asset": asset_views.get_asset(ws, slug, asset_id)}


@router.get("/asset-links", response_model=LinkList)
def list_links(slug: Slug, ws: WS, limit: Limit = 500, asset_id: str | None = None) -> dict:
    found = asset_views.list_asset_links(ws, slug, limit=limit, asset_id=asset_id)
    return {"ok": True, "count": len(found), "asset_links": found}


@router.post("/asset-links", response_model=LinkResponse)
def create_link(slug: Slug, body: LinkBody, ws: WS) -> dict:
    link = asset_views.create_asset_link(ws, slug, body.parent_asset_id, body.child_asset_id,
                                         body.link_type or "derived_from")
    return {"ok": True, "asset_link": link}


@router.get("/asset-links/{link_id}", response_model=LinkResponse)
def get_link(slug: Slug, link_id: str, ws: WS) -> dict:
    return {"ok": True, "asset_link": asset_views.get_asset_link(ws, slug, link_id)}


@router.put("/asset-links/{link_id}", response_model=LinkResponse)
def update_link(slug: Slug, link_id: str, body: LinkBody, ws: WS) -> dict:
    link = asset_views.update_asset_link(ws, slug, link_id, parent_asset_id=body.parent_asset_id,
                                         child_asset_id=body.child_asset_id, link_type=body.link_type)
    return {"ok": True, "asset_link": link}


@router.delete("/asset-links/{link_id}", response_model=DeletedResponse)
def delete_link(slug: Slug, link_id: str, ws: WS) -> dict:
    return {"ok": True, "deleted": True, "id": asset_views.delete_asset_link(ws, slug, link_id)}
