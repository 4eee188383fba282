"""From an instruction's envelope to the pipeline's own request types, so the chat's estimate, the
worker's run and the CLI all go through the same public entry points (``PlanRequest``,
``dry_run``, ``execute_run``)."""

from __future__ import annotations

from typing import Any

from kroma_kit.copilot.context import ProjectContext
from kroma_kit.errors import InputError
from kroma_kit.pipeline.execute import dry_run
from kroma_kit.pipeline.plan_model import PlanRequest
from kroma_kit.workspace import Workspace


def plan_request(ctx: ProjectContext, payload: dict[str, Any]) -> PlanRequest:
    """The :class:`PlanRequest` a ``pipeline_run`` envelope stands for."""
    execution = payload.get("execution") or {}
    inputs = payload.get("inputs") or {}
    scenes = inputs.get("scenes") or []
    refs = []
    for scene in scenes:
        if scene not in ctx.scene_refs:
            raise InputError(f"Unknown scene '{scene}' in project {ctx.slug}. Known scenes: "
                             f"{', '.join(ctx.scenes) or 'none (add scene_refs to the manifest)'}.")
        refs.append(ctx.scene_refs[scene])
    candidates = execution.get("candidates")
    return PlanRequest(project=ctx.slug, stage=str(execution.get("stage") or "style"),
                       time=str(execution.get("time") or "day"), weather=str(execution.get("weather") or "clear"),
                       candidates=int(candidates) if candidates else None, provider=execution.get("provider"),
                       from_run=execution.get("from_run"), scene_refs=refs or None)


def estimate(ws: Workspace, ctx: ProjectContext, payload: dict[str, Any]) -> dict[str, Any]:
    """A real dry run of a ``pipeline_run`` (recorded like any dry run): jobs, candidates, cost."""
    summary = dry_run(ws, plan_request(ctx, payload))
    return {"dry_run_id": summary.run_id, "jobs": summary.jobs_total, "candidates": summary.candidates_total,
            "estimated_cost_usd": round(summary.estimated_cost_usd, 6), "warnings": list(summary.warnings)}
