"""``/api/projects/{slug}/storage``: the project's storage policy (local root or base dir, the S3
policy fields) and S3 sync. A push or pull is long work: it answers at once with the
``storage_sync`` instruction that carries it (``instruction_url``), the worker runs it (the same
incremental push / verified pull as ``kroma sync push|pull``) and its progress and result are
read from that instruction and its events; ``s3/status`` shows the sync instructions pending and
the latest pushes and pulls."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from kroma_kit.catalog import project_views
from kroma_kit.copilot.instruction_requests import request_sync, sync_status
from kroma_kit.server.auth import WS, Slug
from kroma_kit.server.copilot_models import Instruction, instruction_record
from kroma_kit.server.errors import ApiError
from kroma_kit.server.models import Envelope, Record, Storage
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


class PushRequest(BaseModel):
    dry_run: bool = Field(default=False, description="read the bucket, list what would move, write nothing")
    delete: bool = Field(default=False, description="remove objects under this project's prefix that no "
                                                    "longer exist locally")
    allow_missing_local: bool = Field(default=False, description="a missing project root is skipped, not failed")


class PullRequest(BaseModel):
    dry_run: bool = False


class SyncStarted(Envelope):
    instruction: Instruction
    instruction_url: str = Field(description="read progress and the result here (and at .../events)")


class SyncRun(Record):
    id: str
    direction: str
    destination: str
    status: str
    triggered_by: str
    started_at: str


class SyncPolicy(Record):
    s3_enabled: bool
    s3_bucket: str | None = None
    destination: str | None = None


class SyncState(Record):
    project: str
    policy: SyncPolicy
    pending: list[dict[str, Any]] = Field(description="sync instructions not finished yet (cards)")
    history: list[SyncRun]


class SyncStatusResponse(Envelope):
    sync: SyncState


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


def _started(slug: str, item) -> dict:
    return {"ok": True, "instruction": instruction_record(item),
            "instruction_url": f"/api/projects/{slug}/agent/instructions/{item.id}"}


@router.post("/s3/push", response_model=SyncStarted)
def s3_push(slug: Slug, body: PushRequest, ws: WS) -> dict:
    return _started(slug, request_sync(ws, slug, "push", dry_run=body.dry_run, delete=body.delete,
                                       allow_missing_local=body.allow_missing_local))


@router.post("/s3/pull", response_model=SyncStarted)
def s3_pull(slug: Slug, body: PullRequest, ws: WS) -> dict:
    return _started(slug, request_sync(ws, slug, "pull", dry_run=body.dry_run))


@router.get("/s3/status", response_model=SyncStatusResponse)
def s3_status(slug: Slug, ws: WS, limit: Annotated[int, Query(ge=1, le=1000)] = 20) -> dict:
    return {"ok": True, "sync": sync_status(ws, slug, limit=limit)}
