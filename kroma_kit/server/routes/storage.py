"""``/api/projects/{slug}/storage``: the project's storage policy; local root or base dir, and the
S3 policy fields (where a sync would go; syncing itself is the storage service's)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from kroma_kit.catalog import project_views
from kroma_kit.server.auth import WS, Slug
from kroma_kit.server.errors import ApiError
from kroma_kit.server.models import Envelope, Storage
from kroma_kit.server.routes import ERRORS

router = APIRouter(prefix="/api/projects/{slug}/storage", tags=["storage"], responses=ERRORS)


class LocalStorageUpdate(BaseModel):
    base_dir: str | None = Field(default=None, description="folder holding <slug>/ (relative: in the workspace)")
    project_root: str | None = Field(default=None, description="explicit project root folder (absolute)")


class S3StorageUpdate(BaseModel):
    enabled: bool | None = None
    bucket: str | None = None
    prefix: str | None = None
    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None


class StorageResponse(Envelope):
    storage: Storage


@router.get("", response_model=StorageResponse)
def get_storage(slug: Slug, ws: WS) -> dict:
    return {"ok": True, "storage": project_views.storage_policy(ws, slug)}


@router.put("/local", response_model=StorageResponse)
def set_local(slug: Slug, body: LocalStorageUpdate, ws: WS) -> dict:
    if not body.base_dir and not body.project_root:
        raise ApiError("Provide at least one of 'base_dir' or 'project_root'.", code="validation_error")
    if body.base_dir:
        project_views.set_local_base_dir(ws, slug, body.base_dir)
    if body.project_root:
        project_views.set_project_root(ws, slug, body.project_root)
    return {"ok": True, "storage": project_views.storage_policy(ws, slug)}


@router.put("/s3", response_model=StorageResponse)
def set_s3(slug: Slug, body: S3StorageUpdate, ws: WS) -> dict:
    return {"ok": True, "storage": project_views.set_s3_policy(ws, slug, **body.model_dump())}
