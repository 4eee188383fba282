"""``/api/projects/{slug}/exports``: write the project as a bundle (``kroma project export``), list
its exports (``project_exports``) and read one. ``output`` is a file name or a relative path inside
the project's exports folder (``<KROMA_HOME>/exports/<slug>/``); absolute paths, ``..`` and
symlinks leading out of it are refused before anything is written. As the original did, the
answer puts the export's ``export_asset_id`` at the top of the envelope beside the record."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from kroma_kit.bundles.export import confined_output, export_project, get_project_export, list_project_exports
from kroma_kit.server.auth import WS, Slug
from kroma_kit.server.models import Envelope, Record
from kroma_kit.server.routes import ERRORS

router = APIRouter(prefix="/api/projects/{slug}/exports", tags=["exports"], responses=ERRORS)


class ExportCreate(BaseModel):
    include_files: bool = Field(default=True, description="copy the project root's files into the bundle")
    output: str | None = Field(default=None, max_length=500,
                               description="file name (.tar.gz/.tgz: an archive; else a new folder) or relative "
                                           "path inside the project's exports folder; default <slug>_<stamp>.tar.gz")


class ProjectExport(Record):
    id: str
    project_id: str
    export_asset_id: str | None = None
    format: str
    sha256: str | None = None
    output_path: str | None = None
    include_files: bool
    summary: dict[str, Any]
    present: bool
    created_at: str


class ExportCreated(Envelope):
    export_asset_id: str | None = Field(description="the bundle's asset (null for a folder export)")
    export_id: str
    project_export: ProjectExport


class ExportList(Envelope):
    count: int
    project_exports: list[ProjectExport]


class ExportDetail(Envelope):
    project_export: ProjectExport


@router.post("", response_model=ExportCreated)
def create_export(slug: Slug, body: ExportCreate, ws: WS) -> dict:
    result = export_project(ws, slug, output=confined_output(ws, slug, body.output),
                            include_files=body.include_files)
    return {"ok": True, "export_asset_id": result.asset_id, "export_id": result.export_id,
            "project_export": get_project_export(ws, slug, result.export_id)}


@router.get("", response_model=ExportList)
def list_exports(slug: Slug, ws: WS, limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> dict:
    found = list_project_exports(ws, slug, limit=limit)
    return {"ok": True, "count": len(found), "project_exports": found}


@router.get("/{export_id}", response_model=ExportDetail)
def export_detail(slug: Slug, export_id: str, ws: WS) -> dict:
    return {"ok": True, "project_export": get_project_export(ws, slug, export_id)}
