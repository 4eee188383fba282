"""Running a plan: candidates of all jobs on a bounded thread pool, crash-safe, money-safe.

``execute_run`` plans (all validation happens there, before anything is written or paid), checks
the spend lock, writes the run log with status ``running`` (pid, host) and its catalog row, then
runs every candidate of every job on ``concurrency`` worker threads, in job order so finished
jobs arrive early. Each candidate goes through :mod:`kroma_kit.pipeline.candidate`; when a job's
last candidate settles, the job is ranked (seed rule) and its winner recorded. Cancel
(``threading.Event`` or Ctrl-C) and the budget stop new calls; calls in flight finish and are
recorded; the run ends ``partial``. The log and the catalog agree at the end: the run log is
ingested once more, every job the live mirror has not already written as it now is.

``dry_run`` writes the same log with every job ``planned`` and ingests it: no call, no image.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from kroma_kit.catalog.db import held_open, new_id, utcnow
from kroma_kit.catalog.projects import get_project
from kroma_kit.catalog.runs import ingest_log_data, mark_interrupted_runs, project_spent_usd, running_jobs
from kroma_kit.errors import ConfigError, InputError, ProviderNotConfigured
from kroma_kit.pipeline import events as ev
from kroma_kit.pipeline import s3_outputs
from kroma_kit.pipeline.candidate import adopt_orphan, run_candidate
from kroma_kit.pipeline.context import RunContext
from kroma_kit.pipeline.executor import Executor, executor_for
from kroma_kit.pipeline.guard import GuardSettings
from kroma_kit.pipeline.model_check import check_paid_models, offline_model_warnings
from kroma_kit.pipeline.pixel_kernel import warm_in_background
from kroma_kit.pipeline.plan import plan_run
from kroma_kit.pipeline.plan_model import PlannedJob, PlanRequest
from kroma_kit.pipeline.ranking import CandidateScore, rank_candidates
from kroma_kit.pipeline.runlog import RunLog, log_from_plan, run_log_path
from kroma_kit.pipeline.stage_cache import remember_run, reuse_cached
from kroma_kit.pipeline.summary import RunSummary
from kroma_kit.processes import this_host
from kroma_kit.providers.spend import Budgets, SpendGuard, require_confirmation
from kroma_kit.security.secrets import with_project_keys
from kroma_kit.storage.runlog import JobSettlement, write_run_log
from kroma_kit.storage.runlog_model import JobRecord, RunLogModel
from kroma_kit.sync.after_run import push_after_run
from kroma_kit.workspace import Workspace

log = logging.getLogger(__name__)
PostChain = Callable[[PlannedJob, dict[str, Any], Path], tuple[Path, dict[str, Any]]]


# --------------------------------------------------------------------------- public faces

@with_project_keys
def dry_run(ws: Workspace, request: PlanRequest) -> RunSummary:
    """Plan, write a run log whose jobs are all ``planned`` (with seeds, targets and costs) and
    ingest it. No provider is called and no image is written."""
    mark_interrupted_runs(ws, request.project)
    plan = plan_run(ws, request, mode="dry")
    plan.warnings.extend(offline_model_warnings(plan.provider_obj, plan.settings,
                                                refine=refine_is_paid(plan.postprocess)))
    run_id = new_id()
    data = log_from_plan(plan, run_id, "dry", request.to_dict())
    path = run_log_path(plan.layout.ensure().root, run_id)
    write_run_log(path, data)
    ingest_log_data(ws, data, path)
    return RunSummary.from_log(data, path)


@with_project_keys
def execute_run(ws: Workspace, request: PlanRequest, *, confirm_spend: bool = False, concurrency: int | None = None,
                on_event: ev.EventCallback | None = None, cancel: threading.Event | None = None,
                archive_replaced: bool | None = None, executor: str | Executor | None = None,
                scheduler: str | None = None) -> RunSummary:
    """Plan and run ``request``. Raises before anything is written for bad input, a locked
    spend or an unreachable Dask scheduler; afterwards it never raises for provider failures:
    they show in the summary. ``executor``/``scheduler``: see :mod:`kroma_kit.pipeline.executor`."""
    with held_open(ws):  # its dozen short catalog connections do not each checkpoint the WAL
        mark_interrupted_runs(ws, request.project)
        plan = plan_run(ws, request, mode="run")
        provider = plan.provider_obj
        assert provider is not None
        require_confirmation(plan.paid or refine_is_paid(plan.postprocess), confirm_spend, plan.provider)
        if plan.paid and not plan.provider_params.get("configured", True):
            raise ProviderNotConfigured(f"Provider '{plan.provider}' is not configured (no API key): set "
                                        "OPENAI_API_KEY or pick --provider local. Nothing was sent.",
                                        provider=plan.provider)
        if plan.paid:  # a retired model stops here, before the log is written and before any money moves
            plan.warnings.extend(check_paid_models(provider, plan.settings, refine=refine_is_paid(plan.postprocess)))
        workers = _concurrency(concurrency, plan.concurrency)
        project = plan.catalog_project or get_project(ws, request.project)
        _refuse_colliding_run(ws, project["id"], {job.id for job in plan.jobs})
        runner = executor_for(executor, scheduler, plan.settings.settings.pipeline)
        runner.check()
        run_id = new_id()
        data = log_from_plan(plan, run_id, "run", request.to_dict())
        keep = plan.archive_replaced if archive_replaced is None else bool(archive_replaced)
        layout = plan.layout.ensure()
        runlog = RunLog(run_log_path(layout.root, run_id), data)
        runlog.set_run(concurrency=workers, archive_replaced=keep)  # the run's first write
        manifest = plan.settings.manifest
        budgets = Budgets(**plan.budgets)
        # What the project's other runs spent matters to a per-project budget only.
        spent = project_spent_usd(ws, project["id"], exclude_run=run_id) if budgets.per_project_usd is not None else 0.0
        spend = SpendGuard(paid=plan.paid or refine_is_paid(plan.postprocess), budgets=budgets, project_spent=spent)
        ctx = RunContext(ws=ws, project=project, layout=layout, log=runlog, jobs=plan.jobs, provider=provider,
                         guard_settings=GuardSettings.from_mapping(manifest.output_guard.model_dump()),
                         settings=plan.settings, archive_replaced=keep,
                         concurrency=workers, spend=spend, events=ev.EventEmitter(on_event),
                         cancel=cancel or threading.Event(), grayscale=manifest.output_guard.enforce_grayscale,
                         confirm_spend=confirm_spend, executor=runner)
        ctx.recorder.record_now()
        summary = run_context(ctx)
        if plan.settings.settings.pipeline.storage_sync_s3:
            push_after_run(ws, project["slug"], run_id)  # records its own failure; never fails the run
        return summary


def _refuse_colliding_run(ws: Workspace, project_id: str, job_ids: set[str]) -> None:
    """Two live runs writing the same job ids would overwrite (and archive) each other's files.
    Runs of this host only: a run elsewhere cannot be checked for life, and must not block forever."""
    rows = running_jobs(ws, project_id, this_host())
    clashing = sorted({row["job_key"] for row in rows} & job_ids)
    if clashing:
        run = next(row for row in rows if row["job_key"] in job_ids)
        raise InputError(f"Run {run['id']} (pid {run['pid']}) is still running job(s) {', '.join(clashing[:5])} of "
                         "this project; a second run would overwrite its files. Wait for it, cancel it, or run "
                         "another stage.")


def refine_is_paid(postprocess: dict[str, Any]) -> bool:
    """The OpenAI cutout refine is a paid call even when the image provider is free."""
    return bool(postprocess.get("bg_remove") and postprocess.get("bg_refine_openai"))


def _concurrency(given: int | None, configured: int) -> int:
    value = configured if given is None else given
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 64:
        raise ConfigError(f"Concurrency must be an integer from 1 to 64, got {value!r}.")
    return value


# --------------------------------------------------------------------------- the run

def run_context(ctx: RunContext) -> RunSummary:
    """Run (or resume) every unsettled candidate of ``ctx``, settle jobs and the run, ingest."""
    try:
        # One copy of the log for the reads below, not one per job and candidate.
        planned = {job.id: job for job in ctx.log.model.jobs}
        tasks = _schedule(ctx, planned)
        ctx.events.emit(ev.Planned(
            ctx.log.run_id, project=ctx.project["slug"], jobs_total=len(ctx.jobs),
            candidates_total=sum(len(planned[j.id].candidates) for j in ctx.jobs),
            candidates_to_run=len(tasks), estimated_cost_usd=float(ctx.log.head().estimated_cost_usd or 0),
            run_log_path=ctx.log.path.as_posix()))
        tasks = reuse_cached(ctx, tasks)  # stage cache: unchanged candidates settle here, unpaid
        if tasks and ctx.guard_settings.enabled:
            warm_in_background()  # the guard's compiled kernel, ready by the time the first image is
        calls = sum(1 for _job, _index, action in tasks if action == "generate")
        warming = ctx.warm_continuity(min(calls, ctx.concurrency)) if calls else None
        # Workers never wait on the log's fsync (see RunLog); nor do the jobs settled from the
        # cache here: one write carries them all, not one fsync per job.
        ctx.log.start_write_behind()
        try:
            for job in ctx.jobs:
                if ctx._pending.get(job.id) == 0 and ctx.log.job(job.id).status in ("planned", "running"):
                    _settle_job(ctx, job)
            with ctx.executor.attach(ctx):  # threads: nothing; dask: the cluster for this run's tasks
                _run_tasks(ctx, tasks)
        finally:
            if warming is not None:
                warming.join()  # long done: its files and catalog reads end with the run
            # Not flushed here: the run's settling (or its failure, below) is the next change and
            # writes everything pending, in the seed's layout.
            ctx.log.stop_write_behind(flush=False)
            # Every task has ended: what the mirror still gathers is left to the closing ingest,
            # which writes every job the mirror has not (as it then is). A mirror write started
            # now would hold the catalog's write lock (and the interpreter) while the run settles.
            ctx.recorder.close(flush=False)
        _settle_run(ctx)
        remember_run(ctx)  # stage cache: index what this run made for the next one
    except BaseException as exc:
        ctx.recorder.close(flush=False)  # the ingest below writes every job
        reason = f"run failed: {type(exc).__name__}: {exc}"
        ctx.log.set_run(status="failed", status_reason=reason, finished_at=utcnow(), pretty=True)
        try:
            ingest_log_data(ctx.ws, ctx.log.current_model, ctx.log.path, current_job=ctx.log.job_snapshot)
        finally:
            ctx.events.emit(ev.Failed(ctx.log.run_id, error=reason))
        raise
    finally:
        for client in {id(p): p for p in (ctx.provider, ctx._refiner) if p is not None}.values():
            close = getattr(client, "close", None)
            if callable(close):
                close()  # the HTTP client of a paid provider; a new run builds a new one
    # The live log, read inside the catalog transaction: an override made during the run is kept.
    # Jobs the live mirror committed as they still are are not written again (see CatalogRecorder).
    ingested: list[RunLogModel] = []

    def live_log() -> RunLogModel:
        ingested.append(ctx.log.current_model())
        return ingested[-1]

    ingest_log_data(ctx.ws, live_log, ctx.log.path, current_job=ctx.log.job_snapshot,
                    mirrored=ctx.recorder.mirrored_jobs(), project=ctx.project)
    s3_outputs.after_run(ctx)  # S3-first projects: the rest of the run, then its log, to the bucket
    # The summary of the log as the catalog now has it (what S3 adds to the log is not in a summary).
    summary = RunSummary.from_log(ingested[-1], ctx.log.path)
    ctx.events.emit(ev.Finished(ctx.log.run_id, status=summary.status, status_reason=summary.status_reason,
                                jobs_done=summary.jobs_done, jobs_failed=summary.jobs_failed,
                                actual_cost_usd=summary.actual_cost_usd))
    return summary


def _schedule(ctx: RunContext, jobs: dict[str, JobRecord]) -> list[tuple[PlannedJob, int, str]]:
    """The candidates still to do, job by job (``jobs``: copies of the log's jobs as they are now):
    ``generate`` (call the provider) or ``finish`` (the file is on disk and paid for: post chain
    and guard only). Settled candidates are kept; a job settled early (budget, cancel) gets its
    never-started candidates now and is re-ranked. Only a resume looks for orphaned files: a new
    run's id is new, so no file on disk can carry it."""
    tasks = []
    for job in ctx.jobs:
        count = 0
        for candidate in jobs[job.id].candidates:
            status, index = candidate.status, candidate.candidate_index
            if status == "generated":
                action = "finish"
            elif status == "planned":
                action = "finish" if ctx.resumed and adopt_orphan(ctx, job, index, candidate) else "generate"
            else:
                continue
            tasks.append((job, index, action))
            count += 1
        ctx._pending[job.id] = count
    return tasks


def _run_tasks(ctx: RunContext, tasks: list[tuple[PlannedJob, int, str]]) -> None:
    with ThreadPoolExecutor(max_workers=ctx.concurrency, thread_name_prefix="kroma-run") as pool:
        futures = [pool.submit(_task, ctx, job, index, action) for job, index, action in tasks]
        try:
            for future in as_completed(futures):
                future.result()
        except KeyboardInterrupt:
            ctx.cancel.set()
            ctx.spend.stop("cancelled: interrupted by the user (Ctrl-C); calls in flight were finished")
            for future in futures:
                future.cancel()
            pool.shutdown(wait=True)
            for job in ctx.jobs:  # jobs whose queued tasks were cancelled never reached zero
                if ctx._pending.get(job.id):
                    _settle_job(ctx, job)


def _task(ctx: RunContext, job: PlannedJob, index: int, action: str) -> str:
    try:
        status = run_candidate(ctx, job, index, action)
    except Exception as exc:  # noqa: BLE001 - a bug in one candidate must not lose the others
        log.exception("candidate %s c%d crashed", job.id, index)
        message = f"internal error: {type(exc).__name__}: {exc}"
        ctx.log.fail_unsettled_candidate(job.id, index, message)
        status = "failed"
    s3_outputs.after_candidate(ctx, job.id, index)  # S3-first projects: the files go up as they are made
    with ctx._pending_lock:
        ctx._pending[job.id] -= 1
        last = ctx._pending[job.id] == 0
    if last:
        _settle_job(ctx, job)
    return status


def _settle_job(ctx: RunContext, job: PlannedJob) -> None:
    """Rank the job's candidates (seed rule) and record the winner, or why there is none."""
    # Every candidate of the job has settled (none is in flight), so ranking a copy is ranking the
    # log; the log keeps a winner an artist chose meanwhile (RunLog.settle_job).
    record = ctx.log.settle_job(job.id, job_settlement(ctx.log.job(job.id), ctx.spend.stop_reason))
    ctx.record(job.id)
    ctx.events.emit(ev.JobDone(ctx.log.run_id, job_id=job.id, status=record.status,
                               selected_candidate=record.selected_candidate,
                               final_output=record.final_output,
                               reason=record.winner_reason or record.failure_reason))


def job_settlement(record: JobRecord, stop_reason: str | None) -> JobSettlement:
    """What the seed's ranking rule decides for a job whose candidates have all settled."""
    candidates = record.candidates
    # ``generated`` = paid and on disk but not finished (its post chain waits for budget, or
    # its finish task was cancelled): not ranked now, finished by a resume.
    tried = [c for c in candidates if c.status not in ("planned", "generated")]
    not_started = len(candidates) - len(tried)
    if not tried:
        budget_stop = (stop_reason or "").startswith("budget")
        return JobSettlement("skipped_budget" if budget_stop else "planned", stop_reason, not_started)
    ranking = rank_candidates(CandidateScore.from_record(c) for c in tried)
    positions = {item.score.candidate_index: item.position for item in ranking.ordered}
    guard_failed = [c for c in tried if c.status == "failed_output_guard"]
    errors = sorted({c.error for c in tried if c.error})
    if ranking.winner_index is not None:
        status, reason = "done", None
    elif guard_failed:
        status = "failed_output_guard"
        reason = "all_candidates_failed_output_guard" if len(guard_failed) == len(tried) else \
            f"no candidate passed: {len(guard_failed)} failed the output guard, " \
            f"{len(tried) - len(guard_failed)} failed ({'; '.join(errors)})"
    else:
        status, reason = "failed", f"all candidates failed: {'; '.join(errors)}"
    return JobSettlement(status, reason, not_started, ranking=ranking.to_dict()["ordered"], positions=positions,
                         winner_index=ranking.winner_index, winner_reason=ranking.reason)


def _settle_run(ctx: RunContext) -> None:
    """The run's status: partial when stopped early (budget, cancel) with work left, else failed
    when a job failed, else done. The reason says why in one line."""
    stop = ctx.spend.stop_reason
    # Every task has finished: the statuses no longer change. Read in place, not copied.
    status, reason, not_started = ctx.log.read(lambda log: run_settlement(log.jobs, stop))
    ctx.log.settle_run(status, reason, candidates_not_started=not_started)


def run_settlement(jobs: list[JobRecord], stop: str | None) -> tuple[str, str | None, int]:
    """(status, reason, candidates not started) of a run whose tasks have all ended."""
    failed = [job for job in jobs if job.status.startswith("failed")]
    unfinished = [job for job in jobs if job.status in ("planned", "running", "skipped_budget")]
    not_started = sum(1 for job in jobs for c in job.candidates if c.status == "planned")
    waiting = sum(1 for job in jobs for c in job.candidates if c.status == "generated")
    failures = "; ".join(f"{job.id}: {job.failure_reason}" for job in failed[:3])
    if len(failed) > 3:
        failures += f"; and {len(failed) - 3} more"
    if stop and (unfinished or not_started or waiting):
        return "partial", stop + (f"; {len(failed)} job(s) failed: {failures}" if failed else ""), not_started
    if failed:
        return "failed", f"{len(failed)} job(s) failed: {failures}", not_started
    return "done", None, not_started
