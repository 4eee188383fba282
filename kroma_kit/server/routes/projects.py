"""``/api/projects``: list, upsert (the seed's ``POST``), detail with counts and storage."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from kroma_kit.catalog import project_views, projects
from kroma_kit.server.auth import WS, Slug, Who
from kroma_kit.server.models import Envelope, Project, Storage
from kroma_kit.server.routes import ERRORS

router = APIRouter(prefix="/api/projects", tags=["projects"], responses=ERRORS)


class ProjectUpsert(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    slug: str | None = Field(default=None, description="derived from the name when omitted")
    description: str | None = Field(default=None, max_length=10_000)
    username: str | None = Field(default=None, description="accepted for the seed's clients; single-user")
    user_display_name: str | None = None


class ProjectList(Envelope):
    count: int
    projects: list[Project]


class ProjectUpserted(Envelope):
    created: bool
    project: Project


class Counts(BaseModel):
    runs: int
    jobs: int
    assets: int


class ProjectDetail(Envelope):
    project: Project
    counts: Counts
    storage: Storage


@router.get("", response_model=ProjectList)
def list_projects(ws: WS, who: Who) -> dict:
    found = [p for p in projects.list_projects(ws) if who.may_see(p["slug"])]
    return {"ok": True, "count": len(found), "projects": found}


@router.post("", response_model=ProjectUpserted)
def upsert_project(body: ProjectUpsert, ws: WS, who: Who) -> dict:
    who.check_project(body.slug or project_views.slug_from_name(body.name))
    project, created = project_views.upsert_project(ws, body.name, slug=body.slug, description=body.description)
    return {"ok": True, "created": created, "project": project}


@router.get("/{slug}", response_model=ProjectDetail)
def project_detail(slug: Slug, ws: WS) -> dict:
    return {"ok": True, "project": projects.get_project(ws, slug), "counts": project_views.project_counts(ws, slug),
            "storage": project_views.storage_policy(ws, slug)}
