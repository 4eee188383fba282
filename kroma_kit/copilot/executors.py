"""What the worker runs for each instruction, in-process, through the same functions as the CLI.

A small registry keyed ``"<instruction_type>:<action>"`` (like the provider registry): adding a
capability is registering one function. Capabilities this build does not have (S3 sync, character
sheets) are registered as :func:`missing`, which fails the instruction with an error naming what is
missing; the features that bring them register their own executor with :func:`register_executor`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kroma_kit.catalog import instruction_queue as queue
from kroma_kit.catalog import instructions as ins
from kroma_kit.catalog.copilot_lookup import final_files
from kroma_kit.catalog.projects import get_project
from kroma_kit.catalog.runs import get_run, list_runs, record_quality_reports
from kroma_kit.copilot.bridge import plan_request
from kroma_kit.copilot.context import ProjectContext
from kroma_kit.errors import InputError, KromaError, NotFoundError
from kroma_kit.imaging import list_images
from kroma_kit.pipeline import events as ev
from kroma_kit.pipeline.execute import dry_run, execute_run
from kroma_kit.pipeline.guard import GuardSettings, archive_failing, audit, run_qa
from kroma_kit.pipeline.resume import resume_run
from kroma_kit.pipeline.review import override_winner
from kroma_kit.postprocess.batch import process_files
from kroma_kit.storage.atomic import atomic_write_json
from kroma_kit.workspace import ProjectLayout, Workspace


class Canceled(Exception):
    """The person asked a running instruction to stop; raised between steps."""


class MissingCapability(KromaError):
    """The instruction needs a feature this installation does not have."""


@dataclass
class StepContext:
    """What an executor gets: the instruction, its project, and the means to report and stop."""

    ws: Workspace
    instruction: ins.Instruction
    project: ProjectContext
    worker_id: str
    cancel: threading.Event = field(default_factory=threading.Event)

    @property
    def payload(self) -> dict[str, Any]:
        return self.instruction.payload

    def step(self, event_type: str, message: str = "", *, payload: dict[str, Any] | None = None,
             result: dict[str, Any] | None = None) -> None:
        queue.record_step(self.ws, self.instruction.id, self.worker_id, event_type, message=message, payload=payload,
                        result=result)

    def check_cancel(self) -> None:
        """Between steps: stop when the person asked to (read from the catalog, so a request made
        a moment ago counts even before the next heartbeat)."""
        if not self.cancel.is_set() and ins.get_instruction(self.ws, self.instruction.id).cancel_requested:
            self.cancel.set()
        if self.cancel.is_set():
            raise Canceled("cancel requested")


@dataclass
class Outcome:
    """An executor's result: one line for the chat and the data for ``result_json``."""

    message: str
    result: dict[str, Any] = field(default_factory=dict)
    status: str = "done"  # done | failed | canceled (a run stopped by a cancel request)


Executor = Callable[[StepContext], Outcome]
EXECUTORS: dict[str, Executor] = {}


def register_executor(key: str, executor: Executor) -> None:
    """Register (or replace) the executor for ``"<instruction_type>:<action>"``."""
    EXECUTORS[key] = executor


def executor_for(instruction: ins.Instruction) -> Executor:
    key = f"{instruction.instruction_type}:{instruction.action}"
    if key not in EXECUTORS:
        raise MissingCapability(f"No executor for {key}: this worker cannot run it. Known: "
                                f"{', '.join(sorted(EXECUTORS))}. Configure KROMA_AGENT_API_URL to hand such "
                                "instructions to an external agent.")
    return EXECUTORS[key]


# --------------------------------------------------------------------------- helpers

def _files(ctx: StepContext, *, finals_only: bool = False) -> list[Path]:
    """The images an asset instruction works on: ``inputs.path`` (default ``outputs``) inside the
    project, narrowed to the named scenes. ``finals_only`` (post-processing) takes the winners of
    the newest run instead of every candidate in ``outputs`` (the PostProcessPanel's default)."""
    layout = ProjectLayout(ctx.project.root)
    inputs = ctx.payload.get("inputs", {})
    folder = layout.inside(str(inputs.get("path") or "outputs"))
    scenes = inputs.get("scenes") or []
    if finals_only and folder == layout.outputs.resolve():
        files = [Path(p) for p in final_files(ctx.ws, ctx.project.project_id, inputs.get("run_id")) if Path(p).is_file()]
        what = "winners of the newest run"
    else:
        if not folder.exists():
            raise InputError(f"{layout.relative(folder)} does not exist in project {ctx.project.slug}: nothing to do.")
        files = list_images(folder)
        what = layout.relative(folder)
    if scenes:
        files = [f for f in files if any(scene in f.stem.lower() for scene in scenes)]
    if not files:
        where = f" for {', '.join(scenes)}" if scenes else ""
        raise InputError(f"No images in the {what}{where} of project {ctx.project.slug}.")
    return files


def _guard(ctx: StepContext) -> GuardSettings:
    from kroma_kit.config import resolve_project_settings

    section = resolve_project_settings(ctx.project.root).manifest.output_guard
    return GuardSettings.from_mapping(section.model_dump())


# --------------------------------------------------------------------------- pipeline

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


# --------------------------------------------------------------------------- QA and assets

def qa_check(ctx: StepContext) -> Outcome:
    """The output guard over the project's images (``kroma qa --project``), with the quality
    reports recorded and the whole report kept as a file in ``exports/qa/``."""
    files = _files(ctx)
    settings = _guard(ctx)
    entries = []
    for number, file in enumerate(files):
        if number % 8 == 0:
            ctx.check_cancel()
        entries.append(run_qa(file, settings))
    checked = [entry["report"]["files"][0] for entry in entries if entry.get("enabled")]
    report = {"input": str(ctx.project.root / "outputs"), "settings": settings.report_settings(), "files": checked,
              "summary": {"total_files": len(checked),
                          "hard_failures": sum(1 for e in checked if e["hard_fail_reasons"]),
                          "soft_warnings": sum(1 for e in checked if e["soft_warnings"])}}
    written = record_quality_reports(ctx.ws, get_project(ctx.ws, ctx.project.slug), report)
    path = ProjectLayout(ctx.project.root).exports / "qa" / f"qa_{ctx.instruction.id}.json"
    atomic_write_json(path, report)
    summary = report["summary"]
    return Outcome(f"QA checked {summary['total_files']} images: {summary['hard_failures']} failing, "
                   f"{summary['soft_warnings']} with warnings.",
                   {"summary": summary, "quality_reports": written, "report_path": str(path)})


def archive_bad(ctx: StepContext) -> Outcome:
    layout = ProjectLayout(ctx.project.root)
    ctx.check_cancel()
    settings = _guard(ctx)
    report = {"files": [entry for file in _files(ctx) for entry in audit(file, settings)["files"]]}
    ctx.check_cancel()
    moved = archive_failing(report, layout.archive_bad)
    return Outcome(f"Moved {moved['moved_count']} failing image(s) to archive/bad.",
                   {"moved_count": moved["moved_count"], "moved": moved["moved"], "skipped": moved["skipped"]})


def postprocess(ctx: StepContext) -> Outcome:
    """Each step over the files, the next step reading the previous one's outputs; a cancel
    request stops between steps."""
    execution = ctx.payload.get("execution", {})
    steps = list(execution.get("steps") or [])
    if not steps:
        raise InputError("A postprocess instruction needs execution.steps (bg_remove, upscale, color).")
    ctx.check_cancel()
    files: list[Path] = _files(ctx, finals_only=True)
    done = []
    for step in steps:
        ctx.check_cancel()
        outputs: list[Path] = []
        cost = 0.0
        for file in files:
            batch = process_files(ctx.ws, ctx.project.slug, step, file, upscale_scale=execution.get("upscale_scale"),
                                  color_profile=execution.get("color_profile"),
                                  confirm_spend=ctx.instruction.confirmed_by_user_id is not None)
            if batch.failed:
                raise InputError(f"{step} failed on {file.name}: {batch.failed[0]['error']}")
            outputs += [Path(entry["output"]) for entry in batch.processed]
            cost += batch.cost_usd
        ctx.step("step_done", f"{step}: {len(outputs)} file(s)", payload={"step": step, "outputs": len(outputs)})
        done.append({"step": step, "outputs": [str(p) for p in outputs], "cost_usd": round(cost, 6)})
        files = outputs
    return Outcome(f"{' then '.join(steps)}: {len(files)} file(s) written.", {"steps": done})


def set_winner(ctx: StepContext) -> Outcome:
    inputs = ctx.payload.get("inputs", {})
    run_id = inputs.get("run_id") or "latest"
    if run_id == "latest":
        runs = [r for r in list_runs(ctx.ws, ctx.project.slug) if r.get("run_mode") == "run"]
        if not runs:
            raise NotFoundError(f"Project {ctx.project.slug} has no runs yet: nothing to pick a winner from.")
        run_id = runs[0]["id"]
    job = inputs.get("job")
    if not job:
        scenes = inputs.get("scenes") or []
        jobs = [j["job_key"] for j in get_run(ctx.ws, run_id)["jobs"]]
        matches = [key for key in jobs if scenes and key.endswith("_" + scenes[0])]
        if len(matches) != 1:
            raise InputError(f"Cannot tell which job of run {run_id[:8]} is meant (jobs: {', '.join(jobs)}); "
                             "name the job.")
        job = matches[0]
    result = override_winner(ctx.ws, run_id, job, int(inputs["candidate"]), note="set by the copilot")
    return Outcome(f"Candidate {inputs['candidate']} is now the winner of {job} in run {run_id[:8]}.",
                   {"run_id": run_id, "job": job, "review": result})


def missing(capability: str, where: str) -> Executor:
    """An executor for a capability this build lacks: fails with an error that names it."""
    def execute(ctx: StepContext) -> Outcome:
        raise MissingCapability(f"{ctx.instruction.instruction_type}:{ctx.instruction.action} needs {capability}, "
                                f"which this installation does not have yet ({where}).")
    return execute


register_executor("pipeline_run:dry_run", run_dry)
register_executor("pipeline_run:run", run_pipeline)
register_executor("qa_check:qa_check", qa_check)
register_executor("asset_edit:archive_bad", archive_bad)
register_executor("asset_edit:postprocess", postprocess)
register_executor("asset_edit:set_winner", set_winner)
register_executor("storage_sync:sync_push", missing("S3 storage sync", "the Sync feature registers it"))
register_executor("custom:character_reference", missing("character reference sheets",
                                                        "the Characters feature registers it"))
register_executor("custom:character_portfolio", missing("character portfolios",
                                                        "the Characters feature registers it"))
