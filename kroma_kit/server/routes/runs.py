"""``/api/projects/{slug}/runs``: list, detail (jobs with candidates), jobs, ``trigger`` and
``validate-config``. A ``run`` trigger answers at once with the run id (the run goes on in the
background, see :mod:`kroma_kit.server.launch`); a ``dry`` trigger plans, writes the run log and
answers when it is done (no call, no image: it is quick)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kroma_kit.catalog.run_views import check_run_in_project, get_project_run, list_project_runs
from kroma_kit.config_validation import validate_project_config
from kroma_kit.pipeline.execute import dry_run
from kroma_kit.pipeline.plan_model import PlanRequest
from kroma_kit.server.auth import WS, Slug
from kroma_kit.server.errors import ApiError
from kroma_kit.server.launch import RunLauncher, confined_refs
from kroma_kit.server.models import Envelope, JobWithCandidates, Run
from kroma_kit.server.routes import ERRORS

router = APIRouter(prefix="/api/projects/{slug}/runs", tags=["runs"], responses=ERRORS)
RefList = Annotated[list[Annotated[str, Field(min_length=1, max_length=1000)]], Field(min_length=1, max_length=500)]


def launcher(request: Request) -> RunLauncher:
    return request.app.state.launcher


class PostprocessFlags(BaseModel):
    """The CLI's ``--post-*`` flags; unset fields come from the project's settings."""

    model_config = ConfigDict(extra="forbid")
    bg_remove: bool | None = None
    upscale: bool | None = None
    color: bool | None = None
    color_profile: str | None = None
    upscale_backend: str | None = None
    upscale_scale: Literal[2, 4] | None = None
    bg_remove_backends: list[str] | None = None
    bg_refine_openai: bool | None = None
    bg_refine_openai_required: bool | None = None


class TriggerRequest(BaseModel):
    """What ``kroma dry`` / ``kroma run`` take. Enums are matched case-insensitively; ``input`` (one
    scene) and ``scene_refs`` exclude each other (neither: the manifest's scenes); ref paths must lie
    inside the project root; ``project_root`` is refused (the project's storage decides it)."""

    mode: Literal["dry", "run"] = "dry"
    stage: Literal["style", "time", "weather", "characters"] = "style"
    time: Literal["day", "night"] = "day"
    weather: Literal["clear", "rain"] = "clear"
    candidates: int | None = Field(default=None, ge=1, le=64)
    provider: str | None = Field(default=None, description="local (free, offline) or openai (paid)")
    confirm_spend: bool = Field(default=False, description="required for any paid call")
    input: str | None = Field(default=None, min_length=1, description="one scene file (instead of scene_refs)")
    scene_refs: RefList | None = None
    style_refs: RefList | None = None
    from_run: str | None = Field(default=None, description="use the approved outputs of this run as scenes")
    allow_many_candidates: bool = False
    allow_large_batch: bool = False
    concurrency: int | None = Field(default=None, ge=1, le=64)
    postprocess: PostprocessFlags | None = None
    project_root: Any = Field(default=None, description="refused: managed by the project's storage policy")

    @field_validator("mode", "stage", "time", "weather", mode="before")
    @classmethod
    def _case_insensitive(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_scene_source(self) -> TriggerRequest:
        if self.input is not None and self.scene_refs is not None:
            raise ValueError("give either 'input' or 'scene_refs', not both")
        return self


class Trigger(BaseModel):
    mode: Literal["dry", "run"]
    run_id: str
    status: str
    adapter: str = "kroma_kit"
    run_url: str
    estimated_cost_usd: float | None = None
    jobs_total: int | None = None


class TriggerResponse(Envelope):
    pipeline_trigger: Trigger


class ResumeRequest(BaseModel):
    confirm_spend: bool = Field(default=False, description="required when the rest of the run is paid")
    concurrency: int | None = Field(default=None, ge=1, le=64)


class ValidateConfigRequest(BaseModel):
    app_settings_path: str | None = None
    project_settings_path: str | None = None
    manifest_path: str | None = None
    postprocess_config_path: str | None = None


class Validation(BaseModel):
    project: str
    valid: bool
    problems: list[str]
    notes: list[str] = Field(default_factory=list, description="what a run still needs, with the fix")
    manifest_file: str | None = None
    scenes: int
    style_refs: int
    character_refs: int
    files_checked: dict[str, str]


class ValidationResponse(Envelope):
    validation: Validation


class RunList(Envelope):
    count: int
    runs: list[Run]


class RunDetail(Envelope):
    run: Run
    jobs: list[JobWithCandidates]


class JobList(Envelope):
    count: int
    jobs: list[JobWithCandidates]


@router.get("", response_model=RunList)
def runs(slug: Slug, ws: WS, limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> dict:
    found = list_project_runs(ws, slug, limit=limit)
    return {"ok": True, "count": len(found), "runs": found}


@router.post("/trigger", response_model=TriggerResponse)
def trigger(slug: Slug, body: TriggerRequest, ws: WS, runs: Annotated[RunLauncher, Depends(launcher)]) -> dict:
    if body.project_root is not None:
        raise ApiError("Field 'project_root' is managed by project storage and cannot be overridden",
                       code="project_root_managed")
    scenes = [body.input] if body.input is not None else body.scene_refs
    request = PlanRequest(
        project=slug, stage=body.stage, time=body.time, weather=body.weather, candidates=body.candidates,
        provider=body.provider, from_run=body.from_run, scene_refs=confined_refs(ws, slug, scenes),
        manifest_overrides={"style_refs": confined_refs(ws, slug, body.style_refs)} if body.style_refs else None,
        allow_many_candidates=body.allow_many_candidates, allow_large_batch=body.allow_large_batch,
        postprocess=body.postprocess.model_dump(exclude_none=True) or None if body.postprocess else None)
    if body.mode == "dry":
        summary = dry_run(ws, request)
        run_id, status, extra = summary.run_id, summary.status, {"estimated_cost_usd": summary.estimated_cost_usd,
                                                                 "jobs_total": summary.jobs_total}
    else:
        planned = runs.launch(ws, request, confirm_spend=body.confirm_spend, concurrency=body.concurrency)
        run_id, status, extra = planned.run_id, "running", {"estimated_cost_usd": planned.estimated_cost_usd,
                                                            "jobs_total": planned.jobs_total}
    return {"ok": True, "pipeline_trigger": {"mode": body.mode, "run_id": run_id, "status": status,
                                             "run_url": f"/api/projects/{slug}/runs/{run_id}", **extra}}


@router.post("/{run_id}/resume", response_model=TriggerResponse)
def resume(slug: Slug, run_id: str, body: ResumeRequest, ws: WS,
           runs: Annotated[RunLauncher, Depends(launcher)]) -> dict:
    """Finish a partial, interrupted or failed run in the background (``kroma run --resume``);
    nothing already on disk is paid for again."""
    planned = runs.resume(ws, check_run_in_project(ws, slug, run_id), confirm_spend=body.confirm_spend,
                          concurrency=body.concurrency)
    return {"ok": True, "pipeline_trigger": {
        "mode": "run", "run_id": planned.run_id, "status": "running", "run_url": f"/api/projects/{slug}/runs/{run_id}",
        "estimated_cost_usd": planned.estimated_cost_usd, "jobs_total": planned.jobs_total}}


@router.post("/validate-config", response_model=ValidationResponse)
def validate_config(slug: Slug, ws: WS, body: ValidateConfigRequest | None = None) -> dict:
    files = body.model_dump() if body else None
    return {"ok": True, "validation": validate_project_config(ws, slug, files=files)}


@router.get("/{run_id}", response_model=RunDetail)
def run_detail(slug: Slug, run_id: str, ws: WS) -> dict:
    run = get_project_run(ws, slug, run_id)
    return {"ok": True, "jobs": run.pop("jobs"), "run": run}


@router.get("/{run_id}/jobs", response_model=JobList)
def run_jobs(slug: Slug, run_id: str, ws: WS) -> dict:
    jobs = get_project_run(ws, slug, run_id)["jobs"]
    return {"ok": True, "count": len(jobs), "jobs": jobs}
