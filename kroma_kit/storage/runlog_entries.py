"""How the entries of a run log change: cost events, attempts, a settled job, a winner choice.

These are the edits :class:`~kroma_kit.storage.runlog_live.RunLog` makes to the typed model it
holds (:mod:`kroma_kit.storage.runlog_model`), under its lock, one named method each. They set
fields by name through the model (``job.set(status=...)``, each value validated against its
type), never by string key into JSON data, so a renamed field fails here, at once, and the
executor and the review say only *what* happened (a job settled with this ranking, an artist chose
candidate 2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kroma_kit.clock import utcnow
from kroma_kit.storage.open_record import OpenRecord
from kroma_kit.storage.runlog_model import (
    WINNER_FIELDS,
    CandidateRecord,
    CostEventRecord,
    JobRecord,
    RunLogModel,
)

GENERATION_OPERATION = "image_generation"
# The blocks a job copies from its winning candidate (the seed's layout).
STEP_BLOCKS = ("bg_remove", "upscale", "color", "output_guard")
# The job fields a winner override writes (and a live executor adopts from the file).
REVIEW_FIELDS = WINNER_FIELDS


@dataclass(frozen=True)
class PaidCall:
    """One provider call's cost, to book as a cost event with the candidate it paid for."""

    provider: str
    model: str | None
    cost_usd: float
    usage: dict[str, Any]
    operation: str = GENERATION_OPERATION


@dataclass(frozen=True)
class JobSettlement:
    """What ranking decided for a job whose candidates have all settled (see
    :meth:`~kroma_kit.storage.runlog.RunLog.settle_job`).

    ``ranking`` is None when no candidate was tried (the budget or a cancel stopped the job): then
    only the status, the reason and the count of candidates not started change."""

    status: str
    failure_reason: str | None
    candidates_not_started: int
    ranking: list[dict[str, Any]] | None = None
    positions: dict[int, int] = field(default_factory=dict)
    winner_index: int | None = None
    winner_reason: str | None = None


def cost_event_key(run_id: str, job_id: str, candidate_index: int, operation: str) -> str:
    return f"{run_id}:{job_id}:c{candidate_index}:{operation}"


def attempt_records(attempts: list[Any]) -> list[dict[str, Any]]:
    """Provider attempts in the run log's shape: time, status, latency_ms, error, retry_wait_s."""
    records = []
    for attempt in attempts or []:
        data = attempt.to_dict() if hasattr(attempt, "to_dict") else dict(attempt)
        records.append({"time": data.get("started_at") or data.get("time"),
                        "status": data.get("status_code", data.get("status")),
                        "latency_ms": data.get("latency_ms"), "error": data.get("error"),
                        "retry_wait_s": data.get("retry_wait_s")})
    return records


def add_cost_event(log: RunLogModel, provider: str, model: str | None, job_id: str, index: int,
                   cost: float, usage: dict[str, Any], *, operation: str = GENERATION_OPERATION) -> None:
    """Append the call's cost event once (its ``event_key`` is unique per candidate and operation)."""
    key = cost_event_key(log.run_id, job_id, index, operation)
    if any(event.event_key == key for event in log.cost_events):
        return
    event = CostEventRecord(provider_code=provider, operation_code=operation, model=model, units=1, cost_usd=cost,
                            currency="USD", job_id=job_id, candidate_index=index, event_key=key, usage=usage,
                            at=utcnow())
    log.cost_events.append(event)
    log.model_fields_set.add("cost_events")  # a list changed in place is held like a set one


def actual_cost(log: RunLogModel | dict[str, Any]) -> float:
    """The sum of the log's cost events (the typed model, or a log's JSON data)."""
    if isinstance(log, RunLogModel):
        return round(sum(float(event.cost_usd or 0) for event in log.cost_events), 6)
    return round(sum(float(event.get("cost_usd") or 0) for event in log.get("cost_events", [])), 6)


def find_job(log: RunLogModel, job_id: str) -> JobRecord:
    job = log.job(job_id)
    if job is None:
        raise KeyError(job_id)
    return job


def find_candidate(log: RunLogModel, job_id: str, index: int) -> CandidateRecord:
    candidate = find_job(log, job_id).candidate(index)
    if candidate is None:
        raise KeyError(f"{job_id}#c{index}")
    return candidate


def apply_settlement(job: JobRecord, settled: JobSettlement) -> None:
    """Record a job's ranking, status and winner. A winner an artist chose (``winner_override``,
    maybe forced past the guard) stays when that candidate is still a finished one."""
    job.set(candidates_not_started=settled.candidates_not_started)
    if settled.ranking is None:
        job.set(status=settled.status, failure_reason=settled.failure_reason)
        return
    for candidate in job.candidates:
        candidate.set(rank_position=settled.positions.get(candidate.candidate_index))
    job.set(ranking=settled.ranking, status=settled.status, failure_reason=settled.failure_reason)
    override = (job.winner_override or {}).get("candidate_index")
    if any(c.candidate_index == override and c.status in ("done", "failed_output_guard") for c in job.candidates):
        return
    if settled.winner_index is not None:
        winner = job.candidate(settled.winner_index)
        if winner is None:
            raise KeyError(f"{job.id}#c{settled.winner_index}")
        job.set(selected_candidate=settled.winner_index, winner_reason=settled.winner_reason,
                final_output=winner.final_output, output=winner.final_output)
        for step in STEP_BLOCKS:
            if winner.has(step):
                job.set(**{step: winner.get(step)})
        return
    job.set(selected_candidate=None, final_output=None, output=None, winner_reason=settled.winner_reason)


def apply_winner_choice(job: JobRecord, index: int, review: dict[str, Any], reason: str) -> None:
    """An artist's choice of candidate ``index`` as the job's winner: the history keeps the
    ranking's pick first, then every review; the winner fields and step blocks follow the choice."""
    candidate = job.candidate(index)
    if candidate is None:
        raise KeyError(f"{job.id}#c{index}")
    history = list(job.winner_history)
    if not history:
        history.append({"source": "ranking", "candidate_index": job.selected_candidate,
                        "winner_reason": job.winner_reason})
    history.append({"source": "human_review", **review})
    job.set(winner_history=history, selected_candidate=index, final_output=review["final_output"],
            output=review["final_output"], winner_reason=reason, winner_override=review)
    _copy_steps(candidate, job)


def adopt_overrides(log: RunLogModel, disk: RunLogModel) -> bool:
    """Take into ``log`` (a live executor's log in memory) every winner choice that ``disk`` (the
    file, rewritten by an override from another process) has and ``log`` lacks. A job's
    ``winner_history`` only grows, one entry per review, so the longer history is the newer
    choice. Only the fields an override writes are taken; the executor's own state (statuses,
    candidates, costs) is left as it is. True when a job changed."""
    theirs = {job.id: job for job in disk.jobs}
    changed = False
    for job in log.jobs:
        other = theirs.get(job.id)
        if other is None or len(other.winner_history) <= len(job.winner_history):
            continue
        job.set(**{name: getattr(other, name) for name in REVIEW_FIELDS})
        _copy_steps(other, job)
        changed = True
    return changed


def _copy_steps(source: OpenRecord, job: JobRecord) -> None:
    """The winner's step blocks on the job: present ones copied, absent ones removed."""
    for step in STEP_BLOCKS:
        if source.has(step):
            job.set(**{step: source.get(step)})
        else:
            job.unset(step)


def reopen_unpaid_failures(log: RunLogModel) -> None:
    """Resume: in jobs without a winner, failed candidates that cost nothing go back to
    ``planned`` (the failure kept under ``previous_failures``); paid ones stay failed."""
    for job in log.jobs:
        if job.status == "done":
            continue
        for candidate in job.candidates:
            if candidate.status == "failed" and not float(candidate.cost_usd or 0):
                history = [*candidate.previous_failures, {"error": candidate.error, "attempts": candidate.attempts,
                                                          "timings": candidate.timings}]
                candidate.set(previous_failures=history, status="planned", error=None, attempts=[], timings={})


def begin_resume(log: RunLogModel, *, pid: int, host: str, process_start: str | None, budgets: dict[str, Any],
                 concurrency: int) -> None:
    """The run goes on again in process ``pid``: a ``resumes`` entry keeps what the run was
    (status, reason, cost so far) and the log says ``running`` with today's budgets."""
    log.set(resumes=[*log.resumes, {
        "at": utcnow(), "pid": pid, "host": host, "previous_status": log.status,
        "previous_reason": log.status_reason, "previous_actual_cost_usd": actual_cost(log)}])
    log.set(status="running", status_reason=None, finished_at=None, pid=pid, host=host,
            process_start=process_start, budgets=budgets, concurrency=concurrency)
