"""Finishing a run that did not finish: interrupted (the process died), partial (budget or
cancel) or failed (provider errors).

The run log is the plan: jobs, prompts, inputs, seeds, provider and settings come from it, not
from today's manifest, so the resumed run is the same run (same id, same seeds, same files).
Settled candidates are kept; candidates already on disk and paid for are reused (``generated``
ones go through the post chain and guard only; a file whose embedded record names this run, job
and candidate is adopted even when the log never heard of it); candidates never started (the
budget or a cancel stopped the run) are run and their job is ranked again (a winner an artist
chose stays); in jobs without a winner, candidates that failed without a charge are tried again,
their earlier failure kept under ``previous_failures``. A candidate that was paid for is never
paid for again. Budgets are today's settings (raising a budget and
resuming is how a budget-stopped run is finished); everything else is the log's.

The log is held in memory while the run goes on, but it is not the only writer: an artist may
override a job's winner (:func:`kroma_kit.pipeline.review.override_winner`) at any moment, before
the first write of the resume or while it runs. Every write adopts such an override first
(:class:`~kroma_kit.pipeline.runlog.RunLog`), a job ranked again keeps it, and the catalog mirror
and the final ingest read the log inside their transactions: the artist's choice always wins.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from kroma_kit.catalog.projects import get_project
from kroma_kit.catalog.runs import get_run, mark_interrupted_runs, project_spent_usd
from kroma_kit.config import ProjectSettings, Resolved, resolve_project_settings
from kroma_kit.errors import InputError, ProviderNotConfigured
from kroma_kit.pipeline import events as ev
from kroma_kit.pipeline.context import RunContext
from kroma_kit.pipeline.execute import _concurrency, refine_is_paid, run_context
from kroma_kit.pipeline.executor import Executor, executor_for
from kroma_kit.pipeline.guard import GuardSettings
from kroma_kit.pipeline.model_check import check_paid_models
from kroma_kit.pipeline.plan import build_provider, validate_inputs
from kroma_kit.pipeline.plan_model import PlannedJob
from kroma_kit.pipeline.runlog import process_start_token, this_host
from kroma_kit.pipeline.summary import RunSummary
from kroma_kit.postprocess.project import check_post_chain
from kroma_kit.project_setup import resolve_ref
from kroma_kit.providers.spend import Budgets, SpendGuard, require_confirmation
from kroma_kit.security.secrets import project_keys
from kroma_kit.settings_models import Manifest, PipelineSettings
from kroma_kit.storage.runlog_live import RunLog
from kroma_kit.storage.runlog_model import RunLogModel
from kroma_kit.workspace import ProjectLayout, Workspace

RESUMABLE = ("interrupted", "partial", "failed")


def settings_from_log(log: RunLogModel, root: Path) -> ProjectSettings:
    """The settings the run was planned with (its log's snapshot), not today's: a resume finishes
    the run it was, whatever the project's settings have become since (pipeline and character runs)."""
    settings = PipelineSettings.model_validate(log.settings_snapshot)
    manifest = Manifest.model_validate(log.manifest)
    return ProjectSettings(settings, manifest, Resolved(log.settings_snapshot, {}), Resolved(log.manifest, {}),
                           root, None)


def _jobs_from_log(log: RunLogModel, root: Path) -> list[PlannedJob]:
    return [PlannedJob(id=job.id, mode=job.mode, time=job.time, weather=job.weather, prompt=job.prompt,
                       input_images=list(job.input_images), candidates=len(job.candidates),
                       estimated_cost_usd=float(job.estimated_cost_usd or 0), scene_key=job.scene_key,
                       character_ref_count=int(job.character_ref_count or 0), source=dict(job.source or {}),
                       character_placements=list(job.character_placements or []),
                       input_paths=[resolve_ref(root, path) for path in job.input_images])
            for job in log.jobs]


def resume_run(ws: Workspace, run_id: str, *, confirm_spend: bool = False, on_event: ev.EventCallback | None = None,
               concurrency: int | None = None, cancel: threading.Event | None = None,
               executor: str | Executor | None = None, scheduler: str | None = None) -> RunSummary:
    """Finish run ``run_id`` (full id or unique prefix) under the same id, with the project's own
    provider keys available like a new run has them (call option > environment > project secret).
    ``executor``/``scheduler`` as for a new run (the default: today's ``pipeline.executor``)."""
    run = get_run(ws, run_id)
    with project_keys(ws, run["project_slug"]):
        return _resume(ws, run, confirm_spend=confirm_spend, on_event=on_event, concurrency=concurrency,
                       cancel=cancel, executor=executor, scheduler=scheduler)


def _resume(ws: Workspace, run: dict, *, confirm_spend: bool, on_event: ev.EventCallback | None,
            concurrency: int | None, cancel: threading.Event | None, executor: str | Executor | None = None,
            scheduler: str | None = None) -> RunSummary:
    mark_interrupted_runs(ws, run["project_slug"])
    project = get_project(ws, run["project_slug"])
    root = Path(project["root"])
    path = resolve_ref(root, run["run_log_path"])
    runlog = RunLog.open(path)
    log = runlog.model
    if log.character_run is not None:  # its jobs make character images with a character provider
        raise InputError(f"Run {log.run_id} is a character run: resume it with "
                         f"`kroma character resume {log.run_id}`.")
    status = log.status
    if status == "running":
        raise InputError(f"Run {log.run_id} is still running (pid {log.pid} on {log.host}). "
                         "Wait for it to finish, or stop that process first.")
    if log.mode == "dry" or status == "planned":
        raise InputError(f"Run {log.run_id} is a dry run (a plan): nothing was started, so there is nothing "
                         "to resume. Start a real run with `kroma run`.")
    if status not in RESUMABLE:
        raise InputError(f"Run {log.run_id} is {status}; only {', '.join(RESUMABLE)} runs can be resumed.")

    resolved = settings_from_log(log, root)
    provider = build_provider(log.provider, resolved)
    refine_paid = refine_is_paid(log.postprocess or {})
    require_confirmation(provider.paid or refine_paid, confirm_spend, provider.code)
    if provider.paid and not provider.describe().get("configured", True):
        raise ProviderNotConfigured(f"Provider '{provider.code}' is not configured (no API key): set "
                                    "OPENAI_API_KEY to resume. Nothing was sent.", provider=provider.code)
    if provider.paid or refine_paid:
        runlog.set_run(warnings=[*log.warnings, *check_paid_models(provider, resolved, refine=refine_paid)],
                       write=False)
    jobs = _jobs_from_log(log, root)
    runlog.reopen_unpaid_failures()
    open_jobs = {job.id for job in runlog.model.jobs
                 if any(c.status in ("planned", "generated") for c in job.candidates)}
    validate_inputs([job for job in jobs if job.id in open_jobs])
    check_post_chain(resolved)
    current = resolve_project_settings(root).settings
    today = current.budgets
    budgets = Budgets(per_run_usd=today.per_run_usd, per_project_usd=today.per_project_usd)
    workers = _concurrency(concurrency, int(log.concurrency or resolved.settings.pipeline.concurrency))
    runner = executor_for(executor, scheduler, current.pipeline)  # where to run is today's choice, like budgets
    runner.check()
    pid = os.getpid()
    runlog.begin_resume(pid=pid, host=this_host(), process_start=process_start_token(pid), budgets=budgets.to_dict(),
                        concurrency=workers)
    spend = SpendGuard(paid=provider.paid or refine_paid, budgets=budgets, run_spent=runlog.head().actual_cost_usd,
                       project_spent=project_spent_usd(ws, project["id"], exclude_run=log.run_id))
    manifest = resolved.manifest
    ctx = RunContext(ws=ws, project=project, layout=ProjectLayout(root).ensure(), log=runlog, jobs=jobs,
                     provider=provider, guard_settings=GuardSettings.from_mapping(log.output_guard or {}),
                     settings=resolved, archive_replaced=log.archive_replaced is not False,
                     concurrency=workers, spend=spend, events=ev.EventEmitter(on_event),
                     cancel=cancel or threading.Event(), grayscale=manifest.output_guard.enforce_grayscale,
                     confirm_spend=confirm_spend, executor=runner, resumed=True)
    ctx.recorder.record_now()
    return run_context(ctx)
