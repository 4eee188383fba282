"""Building a run log from a plan: the pipeline's side of ``<project_root>/runs/<run_id>.json``.

:func:`log_from_plan` lists every job and candidate ``planned`` with its deterministic seed
(:func:`candidate_seed`) and target file (:func:`candidate_filename`), so even a dry run records
exactly what a real run would do and cost. Reading, validating, migrating and writing run logs is
:mod:`kroma_kit.storage.runlog` (the typed model is :mod:`kroma_kit.storage.runlog_model`); its
names stay importable from here for existing callers.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from kroma_kit.clock import utcnow
from kroma_kit.processes import process_alive, process_start_token, this_host
from kroma_kit.storage.runlog import (
    STEP_BLOCKS,
    actual_cost,
    cost_event_key,
    read_run_log,
    run_log_path,
    validate_run_log,
)
from kroma_kit.storage.runlog_live import RunLog
from kroma_kit.storage.runlog_model import (
    CANDIDATE_STATUSES,
    JOB_STATUSES,
    LOG_KIND,
    RUN_STATUSES,
    SCHEMA_VERSION,
    SETTLED_CANDIDATE,
    CandidateRecord,
    CostEventRecord,
    JobRecord,
    RunLogRecord,
)

# The run-log file, its model and its lock live in :mod:`kroma_kit.storage.runlog`; these names
# stay importable from here so existing callers keep working.
__all__ = ["CANDIDATE_STATUSES", "JOB_STATUSES", "LOG_KIND", "RUN_STATUSES", "SCHEMA_VERSION",
           "SETTLED_CANDIDATE", "STEP_BLOCKS", "CandidateRecord", "CostEventRecord", "JobRecord", "RunLog",
           "RunLogRecord", "actual_cost", "candidate_filename", "candidate_seed",
           "cost_event_key", "log_from_plan", "process_alive", "process_start_token", "read_run_log",
           "run_log_path", "this_host", "validate_run_log"]


def candidate_seed(run_id: str, job_id: str, candidate_index: int) -> int:
    """Deterministic per (run, job, candidate): a 31-bit int every provider accepts."""
    digest = hashlib.sha256(f"{run_id}/{job_id}/{candidate_index}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def candidate_filename(job_id: str, candidate_index: int, candidates: int) -> str:
    """The seed's naming: ``<job_id>.png`` for a single candidate, else ``<job_id>__c<k>.png``."""
    return f"{job_id}.png" if candidates == 1 else f"{job_id}__c{candidate_index}.png"


def log_from_plan(plan: Any, run_id: str, mode: str, request: dict[str, Any] | None = None) -> dict[str, Any]:
    """A new run log for ``plan`` (a :class:`~kroma_kit.pipeline.plan_model.Plan`): every job and every
    candidate listed as ``planned`` with its seed and target file, so even a dry run records exactly
    what a real run would do and cost."""
    now = utcnow()
    layout = plan.layout
    pid = os.getpid()
    jobs = []
    for job in plan.jobs:
        record = job.to_dict()
        record.pop("candidates")
        candidates = []
        for index in range(1, job.candidates + 1):
            target = layout.outputs / candidate_filename(job.id, index, job.candidates)
            candidates.append({"candidate_index": index, "seed": candidate_seed(run_id, job.id, index),
                               "status": "planned", "output": layout.relative(target), "final_output": None,
                               "rank": {"hard_failures": 0, "soft_warnings": 0, "avg_chroma_exceed": 0.0},
                               "rank_position": None, "cost_usd": 0.0, "usage": {}, "attempts": [],
                               "timings": {}, "error": None})
        record.update({
            "status": "planned", "selected_candidate": None, "final_output": None, "output": None,
            "winner_reason": None, "failure_reason": None, "ranking": [],
            "planned_generation": {"candidates": job.candidates},
            "planned_postprocess": dict(plan.postprocess), "planned_output_guard": dict(plan.output_guard),
            "candidates": candidates,
        })
        jobs.append(record)
    return {
        "schema_version": SCHEMA_VERSION, "kind": LOG_KIND, "run_id": run_id, "timestamp": now,
        "project": plan.project, "project_id": plan.project_id, "mode": mode,
        "stage": plan.stage, "time": plan.time, "weather": plan.weather,
        "provider": plan.provider, "paid": plan.paid, "model": plan.model, "size": plan.size,
        "quality": plan.quality, "provider_params": plan.provider_params,
        "status": "planned" if mode == "dry" else "running", "status_reason": None,
        "started_at": now, "updated_at": now, "finished_at": now if mode == "dry" else None,
        "pid": pid, "host": this_host(), "process_start": process_start_token(pid),
        "generation": {"candidates": plan.candidates, "max_candidates": plan.max_candidates},
        "postprocess": dict(plan.postprocess), "output_guard": dict(plan.output_guard),
        "storage": {"project_root": plan.project_root.as_posix(), "resolved_from_backend": True},
        "source": dict(plan.source), "request": request or {}, "warnings": list(plan.warnings),
        "settings_snapshot": plan.settings_snapshot(), "manifest": plan.manifest_dict(),
        "manifest_hash": plan.manifest_hash(), "budgets": dict(plan.budgets),
        "concurrency": plan.concurrency, "archive_replaced": plan.archive_replaced,
        "estimated_cost_usd": plan.estimated_cost_usd, "actual_cost_usd": 0.0,
        "resumes": [], "jobs": jobs, "cost_events": [],
    }
