"""Executors of ``pipeline_run`` instructions: a dry run, or a normal run with its run log
(resumed, not restarted, when an earlier attempt's worker died), through the pipeline's public
entry points."""

from __future__ import annotations

from kroma_kit.catalog.runs import get_run
from kroma_kit.copilot.bridge import plan_request
from kroma_kit.copilot.executors import Outcome, StepContext
from kroma_kit.pipeline import events as ev
from kroma_kit.pipeline.execute import dry_run, execute_run
from kroma_kit.pipeline.resume import resume_run


def run_dry(ctx: StepContext) -> Outcome:
    summary = dry_run(ctx.ws, plan_request(ctx.project, ctx.payload))
    return Outcome(f"Dry run {summary.run_id[:8]}: {summary.jobs_total} jobs, {summary.candidates_total} "
                   f"candidates, estimated ${summary.estimated_cost_usd:.4f}.",
                   {"run_id": summary.run_id, "jobs": summary.jobs_total, "candidates": summary.candidates_total,
                    "estimated_cost_usd": summary.estimated_cost_usd, "run_log_path": summary.run_log_path})


def run_pipeline(ctx: StepContext) -> Outcome:
    """A normal run with its run log. A retried attempt whose run was interrupted resumes that run
    (same id, nothing paid twice) instead of starting another."""
    confirmed = ctx.instruction.confirmed_by_user_id is not None or not ctx.instruction.requires_confirmation

    def on_event(event: ev.RunEvent) -> None:
        if isinstance(event, ev.Planned):
            ctx.step("run_started", f"run {event.run_id[:8]}: {event.jobs_total} jobs",
                     payload=event.to_dict(), result={"run_id": event.run_id})
        elif isinstance(event, ev.JobDone):
            ctx.step("job_done", f"{event.job_id}: {event.status}", payload=event.to_dict())

    earlier = ctx.instruction.result.get("run_id")
    run = get_run(ctx.ws, earlier) if earlier else None
    if run is not None and run["status"] == "done":
        return Outcome(f"Run {run['id'][:8]} had already finished.", {"run_id": run["id"], "status": "done"})
    if run is not None and run["status"] in ("interrupted", "partial", "running"):
        ctx.step("run_resumed", f"resuming run {run['id'][:8]} ({run['status']})")
        summary = resume_run(ctx.ws, run["id"], confirm_spend=confirmed, on_event=on_event, cancel=ctx.cancel)
    else:
        summary = execute_run(ctx.ws, plan_request(ctx.project, ctx.payload), confirm_spend=confirmed,
                              on_event=on_event, cancel=ctx.cancel)
    result = {"run_id": summary.run_id, "status": summary.status, "jobs_done": summary.jobs_done,
              "jobs_failed": summary.jobs_failed, "actual_cost_usd": summary.actual_cost_usd,
              "outputs": summary.outputs, "run_log_path": summary.run_log_path}
    text = (f"Run {summary.run_id[:8]} {summary.status}: {summary.jobs_done}/{summary.jobs_total} jobs done, "
            f"cost ${summary.actual_cost_usd:.4f}.")
    if ctx.cancel.is_set() and summary.status != "done":
        return Outcome(text + f" Stopped on request; resume with `kroma run --resume {summary.run_id[:8]}`.",
                       result, status="canceled")
    if summary.status != "done":
        return Outcome(text + (f" {summary.status_reason}." if summary.status_reason else ""), result,
                       status="failed")
    return Outcome(text, result)
