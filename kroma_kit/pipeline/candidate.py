"""One candidate, start to finish: spend check, provider call, atomic file with its generation
record, post chain, output guard, run-log entry, catalog rows, events.

The order matters for money and for crashes. The spend guard is asked right before the call;
the file is written (atomically, with the embedded record) before the run log says
``generated``, so a crash after the call leaves either a recorded candidate or a file whose
embedded record lets resume adopt it: a paid image is never paid for twice. That file is the
durable record, so ``generated`` is only set in memory and reaches disk with the candidate's next
write (its settling, or a paid post step's cost): one fsync of the log per candidate, not two,
which is what kept eight workers queueing on the log's write lock. Provider errors (after the provider's own retries) fail only
this candidate, with every attempt recorded; they never stop the run.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kroma_kit.catalog.db import utcnow
from kroma_kit.errors import BudgetExceeded, ImageInputError, KromaError, ProviderError
from kroma_kit.imaging import open_image, sha256_file
from kroma_kit.pipeline import events as ev
from kroma_kit.pipeline.metadata import embed_record, embed_record_in_file, read_record, to_png_bytes
from kroma_kit.pipeline.postchain import run_post_chain
from kroma_kit.storage.atomic import atomic_write_bytes, move_to_archive
from kroma_kit.storage.runlog import GENERATION_OPERATION, PaidCall, attempt_records  # noqa: F401 (re-exported)
from kroma_kit.storage.runlog_model import CandidateRecord

if TYPE_CHECKING:
    from PIL import Image

    from kroma_kit.pipeline.context import RunContext
    from kroma_kit.pipeline.plan_model import PlannedJob
    from kroma_kit.providers.base import ImageResult

NOT_STARTED = "not_started"


def _ms(clock: float) -> int:
    return int((time.perf_counter() - clock) * 1000)


def generation_record(ctx: RunContext, job: PlannedJob, candidate: CandidateRecord, *, model: str | None,
                      cost_usd: float, usage: dict[str, Any]) -> dict[str, Any]:
    """What goes into the PNG: enough to know, from the file alone, how it was made."""
    run = ctx.fixed_head()
    return {"prompt": job.prompt, "provider": ctx.provider.code, "model": model, "size": run.get("size"),
            "quality": run.get("quality"), "seed": candidate.seed, "run_id": ctx.log.run_id,
            "job_id": job.id, "candidate_index": candidate.candidate_index, "project": run.project,
            "stage": job.mode, "time": job.time, "weather": job.weather, "cost_usd": cost_usd,
            "usage": usage, "created_at": utcnow(), "software": "kroma-kit"}


def run_candidate(ctx: RunContext, job: PlannedJob, index: int, action: str) -> str:
    """Do one candidate's work; ``action`` is ``generate`` (call the provider) or ``finish`` (the
    file exists and is paid for: post chain and guard only). Returns the final status or
    ``not_started`` when cancel or the budget stopped it."""
    if action == "generate":
        started = _generate(ctx, job, index)
        if started != "generated":
            return started
    return _finish(ctx, job, index)


def _generate(ctx: RunContext, job: PlannedJob, index: int) -> str:
    if ctx.cancel.is_set():
        ctx.spend.stop("cancelled: the run was cancelled before all candidates started")
        return NOT_STARTED
    candidate = ctx.log.candidate(job.id, index)
    request = job.image_request(candidate.seed, grayscale=ctx.grayscale)
    key = f"{job.id}#c{index}"
    if ctx.spend.stopped or not ctx.spend.reserve(key, float(ctx.provider.estimate_cost(request))):
        return NOT_STARTED
    started_at = utcnow()
    ctx.log.start_job(job.id)
    ctx.events.emit(ev.Started(ctx.log.run_id, job_id=job.id, candidate_index=index))
    ctx.call_leaving()
    clock = time.perf_counter()
    try:
        result = ctx.executor.generate(ctx.provider, request, key)  # this thread, or a Dask worker
    except Exception as exc:  # noqa: BLE001 - a provider failure fails this candidate, never the run
        ctx.spend.settle(key, 0.0)
        message = str(exc) if isinstance(exc, KromaError) else f"{type(exc).__name__}: {exc}"
        attempts = attempt_records(getattr(exc, "attempts", []))
        http_status = exc.status if isinstance(exc, ProviderError) else None

        ctx.log.set_candidate(job.id, index, status="failed", error=message, attempts=attempts, error_status=http_status,
                              timings={"started_at": started_at, "finished_at": utcnow(), "generate_ms": _ms(clock)})
        ctx.record(job.id)
        ctx.events.emit(ev.CandidateDone(ctx.log.run_id, job_id=job.id, candidate_index=index, status="failed",
                                         output=None, cost_usd=0.0, error=message))
        return "failed"
    with ctx.lane:
        return _keep(ctx, job, index, candidate, result, key, started_at=started_at, generate_ms=_ms(clock))


def _keep(ctx: RunContext, job: PlannedJob, index: int, candidate: CandidateRecord, result: ImageResult, key: str,
          *, started_at: str, generate_ms: int) -> str:
    """Settle the call's cost, write the paid image (atomically, its record embedded) and log it
    as ``generated`` (inside :attr:`RunContext.lane`)."""
    cost = round(float(result.cost_usd or 0.0), 6)
    ctx.spend.settle(key, cost)
    target = ctx.layout.root / candidate.output
    write_clock = time.perf_counter()
    replaced = None
    params = {k: v for k, v in (result.params or {}).items() if k not in ("look",)}
    try:
        if target.exists() and ctx.archive_replaced:
            replaced = ctx.layout.relative(move_to_archive(target, ctx.layout.archive_replaced, "replaced"))
            ctx.recorder.audit_moves([{"from": candidate.output, "to": replaced}], reason="replaced")
        record = generation_record(ctx, job, candidate, model=result.model, cost_usd=cost, usage=result.usage)
        data = embed_record(to_png_bytes(result.image_bytes), record)
        atomic_write_bytes(target, data)
    except Exception as exc:  # noqa: BLE001 - paid but not written: record the money and the reason
        message = f"the image was paid (${cost}) but could not be saved to {candidate.output}: {exc}"

        ctx.log.set_candidate(job.id, index, status="failed", error=message, cost_usd=cost, usage=result.usage or {},
                              model=result.model, attempts=attempt_records(result.attempts),
                              paid=PaidCall(ctx.provider.code, result.model, cost, result.usage or {}))
        ctx.record(job.id)
        ctx.events.emit(ev.CandidateDone(ctx.log.run_id, job_id=job.id, candidate_index=index, status="failed",
                                         output=None, cost_usd=cost, error=message))
        return "failed"

    # The bytes just written atomically are the file's: hashed here, not read back from disk.
    digest, size = hashlib.sha256(data).hexdigest(), len(data)

    ctx.log.set_candidate(job.id, index, status="generated", error=None, sha256=digest, bytes=size,
                          cost_usd=cost, usage=result.usage or {}, model=result.model, provider_params=params,
                          attempts=attempt_records(result.attempts), replaced_archive=replaced,
                          timings={"started_at": started_at, "generate_ms": generate_ms,
                                   "write_ms": _ms(write_clock)},
                          paid=PaidCall(ctx.provider.code, result.model, cost, result.usage or {}), write=False)
    return "generated"


def adopt_orphan(ctx: RunContext, job: PlannedJob, index: int, candidate: CandidateRecord | None = None) -> bool:
    """Resume: a file at the candidate's target whose embedded record names this run, job and
    candidate was paid for by the process that died before logging it. Record it (with the cost
    it carries) instead of paying again. True when adopted. ``candidate``: the entry as the caller
    read it (its target is all that is used), to spare a copy of it."""
    target = ctx.layout.root / (candidate or ctx.log.candidate(job.id, index)).output
    record = read_record(target) if target.is_file() else None
    if not record or (record.get("run_id"), record.get("job_id"), record.get("candidate_index")) != (
            ctx.log.run_id, job.id, index):
        return False
    cost = round(float(record.get("cost_usd") or 0.0), 6)

    ctx.log.set_candidate(job.id, index, status="generated", error=None, sha256=sha256_file(target),
                          bytes=target.stat().st_size, cost_usd=cost, usage=record.get("usage") or {},
                          model=record.get("model"), adopted_from_file=True,
                          timings={"started_at": record.get("created_at")},
                          paid=PaidCall(record.get("provider") or ctx.provider.code, record.get("model"), cost,
                                        record.get("usage") or {}))
    return True


def _finish(ctx: RunContext, job: PlannedJob, index: int) -> str:
    """Post chain and guard on a generated candidate; settles it as done / failed_output_guard."""
    candidate = ctx.log.candidate(job.id, index)
    raw = ctx.layout.root / candidate.output
    timings = dict(candidate.timings)
    if not raw.is_file():
        message = (f"output file {candidate.output} is missing; it was paid (${candidate.cost_usd}) "
                   "and is not generated again")
        ctx.log.set_candidate(job.id, index, status="failed", error=message)
        ctx.record(job.id)
        ctx.events.emit(ev.CandidateDone(ctx.log.run_id, job_id=job.id, candidate_index=index, status="failed",
                                         output=None, cost_usd=float(candidate.cost_usd or 0), error=message))
        return "failed"
    clock = time.perf_counter()
    try:
        final, steps = run_post_chain(ctx, job, candidate, raw)
    except BudgetExceeded as exc:
        # A paid post step (the OpenAI refine) was refused by the budget before any call: the
        # image is paid for and kept; the candidate stays ``generated`` so a resume with a raised
        # budget finishes it instead of failing a candidate that nothing was wrong with.
        waiting = f"post-processing waits for budget: {exc}"
        steps = getattr(exc, "post_steps", {}) or {}
        ctx.log.set_candidate(job.id, index, error=waiting, **steps)
        ctx.record(job.id)
        ctx.events.emit(ev.CandidateDone(ctx.log.run_id, job_id=job.id, candidate_index=index, status="generated",
                                         output=candidate.output, cost_usd=float(candidate.cost_usd or 0),
                                         error=waiting))
        return "generated"
    except Exception as exc:  # noqa: BLE001 - a post step failure fails this candidate only
        message = f"post-processing failed: {exc}" if isinstance(exc, KromaError) else \
            f"post-processing failed: {type(exc).__name__}: {exc}"
        steps = getattr(exc, "post_steps", {}) or {}
        ctx.log.set_candidate(job.id, index, status="failed", error=message, **steps)
        ctx.record(job.id)
        ctx.events.emit(ev.CandidateDone(ctx.log.run_id, job_id=job.id, candidate_index=index, status="failed",
                                         output=candidate.output, cost_usd=float(candidate.cost_usd or 0),
                                         error=message))
        return "failed"
    if steps:
        timings["postprocess_ms"] = _ms(clock)
    if final != raw:
        embed_record_in_file(final, {**(read_record(raw) or {}), "post_steps": list(steps)})
    clock = time.perf_counter()
    # Decoded once for the guard and the continuity gate, outside the lane: decoding runs in
    # native code without the interpreter lock, so candidates answered together decode side by
    # side. A file that cannot be decoded is left to the guard, which records why.
    decoded = _decoded(final) if ctx.guard_settings.enabled else None
    with ctx.lane:
        status, events = _judge(ctx, job, index, candidate, raw, final, steps, timings, decoded, clock)
    for event in events:  # the caller's callbacks run outside the lane: a slow one holds up no other candidate
        ctx.events.emit(event)
    return status


def _judge(ctx: RunContext, job: PlannedJob, index: int, candidate: CandidateRecord, raw: Path, final: Path,
           steps: dict[str, Any], timings: dict[str, Any], decoded: Image.Image | None,
           clock: float) -> tuple[str, list[ev.RunEvent]]:
    """Guard, continuity gate and the candidate's settling (inside :attr:`RunContext.lane`): its
    status and the events that say so, for the caller to emit once out of the lane."""
    from kroma_kit.pipeline.guard import archive_failing, audit, rank_from_report

    final_rel = ctx.layout.relative(final)
    if ctx.guard_settings.enabled:
        report = audit(final, ctx.guard_settings, decoded=decoded)
        rank = rank_from_report(report).to_dict()
        guard = {"checked_input": final_rel, "summary": report["summary"],
                 "files": [{**entry, "file": ctx.layout.relative(entry["file"])} for entry in report["files"]]}
        status = "failed_output_guard" if report["summary"]["hard_failures"] else "done"
        verdict = "fail" if report["summary"]["hard_failures"] else ("warn" if report["summary"]["soft_warnings"]
                                                                      else "pass")
    else:
        rank = {"hard_failures": 0, "soft_warnings": 0, "avg_chroma_exceed": 0.0}
        guard, status, verdict = {"enabled": False, "checked_input": None}, "done", "skipped"
    timings["guard_ms"] = _ms(clock)
    continuity = ctx.continuity() if status == "done" else None
    if continuity is not None:
        continuity = continuity.check(final, job.mode, (job.source or {}).get("characters"),
                                      job.character_placements, decoded=decoded)
        timings["continuity_ms"] = int(continuity.get("elapsed_ms") or 0)
        if continuity["verdict"] == "fail":
            report = _fail_for_continuity(ctx, final, guard, report if ctx.guard_settings.enabled else None)
            status, verdict = "failed_output_guard", "fail"
            rank = {**rank, "hard_failures": int(rank.get("hard_failures") or 0) + 1}
    timings["finished_at"] = utcnow()

    post_cost = round(sum(float(step.get("cost_usd") or 0) for step in steps.values()), 6)

    def move_failing() -> str | None:
        # Runs inside the log's change (its data lock), together with the entry that says where
        # the file went (see RunLog.settle_candidate_guard).
        moved = archive_failing(report, ctx.layout.archive_bad)
        return ctx.layout.relative(moved["moved"][0]["to"]) if moved["moved"] else None

    extra = {"final_sha256": sha256_file(final)} if final != raw and status == "done" else {}
    settled = ctx.log.settle_candidate_guard(
        job.id, index, move_failing=move_failing if status == "failed_output_guard" else None,
        add_cost_usd=post_cost, status=status, rank=rank, output_guard=guard,
        final_output=final_rel if status == "done" else None, timings=timings, **steps, **extra,
        **({"continuity": continuity} if continuity is not None else {}))
    settled_guard = settled.guard_block()
    bad_archive = settled_guard.bad_archive if settled_guard is not None else None
    if bad_archive:
        ctx.recorder.audit_moves([{"from": final_rel, "to": bad_archive}], reason="failed_output_guard")
    ctx.record(job.id)
    return status, [ev.GuardResult(ctx.log.run_id, job_id=job.id, candidate_index=index, verdict=verdict, rank=rank,
                                   checked_input=final_rel),
                    ev.CandidateDone(ctx.log.run_id, job_id=job.id, candidate_index=index, status=status,
                                     output=final_rel, cost_usd=float(settled.cost_usd or 0))]


def _decoded(path: Path) -> Image.Image | None:
    """The image at ``path``, decoded (with :func:`open_image`'s checks), or None when it cannot be."""
    try:
        return open_image(path)
    except (ImageInputError, OSError, ValueError):
        return None


def _fail_for_continuity(ctx: RunContext, final: Path, guard: dict[str, Any],
                         report: dict[str, Any] | None) -> dict[str, Any]:
    """``continuity.fail_on_break``: the break is a hard failure. Its reason joins the guard report
    (a minimal one when the guard is off), so the file goes to archive/bad like any guard failure."""
    if report is None:
        report = {"summary": {"total_files": 1, "hard_failures": 0, "soft_warnings": 0},
                  "files": [{"file": str(final), "hard_fail_reasons": [], "soft_warnings": []}]}
    for entry in report["files"]:
        entry["hard_fail_reasons"].append("continuity_break")
        entry["verdict"] = "fail"
    report["summary"]["hard_failures"] = sum(1 for entry in report["files"] if entry["hard_fail_reasons"])
    guard.update(summary=report["summary"], checked_input=ctx.layout.relative(final),
                 files=[{**entry, "file": ctx.layout.relative(entry["file"])} for entry in report["files"]])
    return report


def existing_file(ctx: RunContext, rel: str | None) -> Path | None:
    if not rel:
        return None
    path = ctx.layout.root / rel
    return path if path.is_file() else None
