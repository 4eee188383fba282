"""The artist's word over the ranking: choose another candidate as a job's winner.

Ranking picks the candidate with the fewest guard problems, but only a person can see that
candidate 2 kept the detective's hat. An override must not fork the truth, so one call changes
everything that names the winner, together:

- the run log on disk (``selected_candidate``, ``final_output``/``output``, ``winner_reason`` and
  the winner's step blocks, as the executor writes them), rewritten atomically with
  :class:`~kroma_kit.storage.runlog.RunLog`, plus ``winner_history`` (every choice, the ranking's
  first) and ``winner_override`` (the latest one) on the job, so a re-ingest of the log gives the
  same catalog;
- the catalog's ``run_jobs`` row (``selected_candidate_index``, ``final_asset_id``, ``meta_json``),
  the ``final`` asset kind, a ``human_review`` quality report that keeps the previous and the new
  choice with the note and the reviewer, and an audit event.

The log is read, checked and rewritten inside one ``BEGIN IMMEDIATE`` catalog transaction and
under the run log's write lock (:mod:`kroma_kit.storage.runlog_lock`), so two overrides of the same
run (two kernels, a kernel and the CLI) queue instead of losing one another's change; if the log
cannot be written the catalog rolls back, and if the commit fails the previous log is put back.

A run that is still going can be reviewed too: an artist looking at a finished job should not
wait for the other forty. The artist's choice always wins. The live executor (``execute_run`` or
``resume_run``, on this host) writes the log under the same lock and adopts the override before
each write (:meth:`~kroma_kit.storage.runlog.RunLog.adopt_foreign_changes`), its
catalog mirror adopts it inside its own catalog transaction, and a job ranked again later keeps the
chosen candidate. A run whose process died is marked ``interrupted`` first (as ``kroma runs list``
does) and reviewed like any stopped run. Refused: a run still going on another host, whose
process this machine can neither see nor share a lock with.
"""

from __future__ import annotations

import sqlite3
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kroma_kit.catalog.db import new_id, transaction, utcnow
from kroma_kit.catalog.reviews import (  # noqa: F401 (EVENT_CODE, KIND_BY_ROLE re-exported)
    EVENT_CODE,
    KIND_BY_ROLE,
    ReviewedJobRows,
    job_reviews,
    new_final_asset,
    record_winner_review,
    review_target,
    reviewed_rows,
    run_liveness,
)
from kroma_kit.catalog.runs import mark_interrupted_runs
from kroma_kit.errors import InputError, KromaError, NotFoundError, StorageError
from kroma_kit.processes import this_host
from kroma_kit.storage.runlog import write_run_log
from kroma_kit.storage.runlog_live import RunLog
from kroma_kit.storage.runlog_lock import run_log_lock
from kroma_kit.storage.runlog_model import CandidateRecord, JobRecord, OutputGuardBlock
from kroma_kit.sync.files import local_copy
from kroma_kit.workspace import ProjectLayout, Workspace


def override_winner(ws: Workspace, run_id: str, job_key: str, candidate_index: int, *, note: str = "",
                    reviewer: str = "local", force: bool = False) -> dict[str, Any]:
    """Make candidate ``candidate_index`` the winner of job ``job_key`` in run ``run_id``.

    Allowed while the run is still going on this host: the live executor adopts the choice and
    keeps it (see the module docstring). Refused: an unknown run, job or candidate; a dry run; a
    run still going on another host; a ``failed`` or unfinished candidate; a
    ``failed_output_guard`` candidate unless ``force=True``; a candidate whose image file is gone.
    Choosing the current winner again records the review (an approval) without changing anything
    else.
    """
    index = _check_index(candidate_index)
    run = review_target(ws, run_id)
    mark_interrupted_runs(ws, run["slug"])  # a crashed run must not look live (before our write lock)
    root = Path(run["project_root"])
    change: _Change | None = None
    _cache_candidate(ws, root, run, job_key, index)

    def put_back_the_log() -> None:  # the COMMIT failed after the log was written
        if change is not None:
            write_run_log(change.runlog.path, change.before)

    conn = ws.connect()
    try:
        # Lock order everywhere: catalog write lock, then the run log's lock (the executor's catalog
        # mirror does the same), held until the commit so a failed commit can restore the log.
        with ExitStack() as log_locked, transaction(conn, on_commit_error=put_back_the_log):
            run.update(run_liveness(conn, run["id"]))
            log_path = _log_path(root, run)
            log_locked.enter_context(run_log_lock(log_path))
            change = _Change.prepare(root, log_path, run["id"], job_key, index, force=force, note=note,
                                     reviewer=reviewer)
            rows = reviewed_rows(conn, run["id"], job_key, index)
            new_final = new_final_asset(conn, run["project_id"], rows, change.new_file)
            event_id = record_winner_review(
                conn, project_id=run["project_id"], run_id=run["id"], rows=rows, candidate_index=index,
                new_final=new_final, meta=change.meta, job_status=change.job_status,
                report_id=change.entry["report_id"], summary=_summary(run["id"], job_key, change, rows, new_final),
                reviewer=reviewer, reviewed_at=change.entry["reviewed_at"])
            change.runlog.save()  # last step before COMMIT: a failed write rolls the catalog back
    except sqlite3.Error as exc:
        raise StorageError(f"Could not record the winner override in the catalog {ws.catalog_path}: {exc}. "
                           "Nothing was changed.") from exc
    finally:
        conn.close()
    entry = change.entry
    return {"run_id": run["id"], "project": run["slug"], "job_key": job_key, "candidate_index": index,
            "previous_candidate": entry["previous_candidate"], "changed": entry["previous_candidate"] != index,
            "final_output": change.new_file.as_posix(), "final_asset_id": new_final, "winner_reason": change.reason,
            "note": note, "reviewer": reviewer, "forced": bool(force), "reviewed_at": entry["reviewed_at"],
            "report_id": entry["report_id"], "audit_event_id": event_id,
            "run_log_path": change.runlog.path.as_posix()}


def _summary(run_id: str, job_key: str, change: _Change, rows: ReviewedJobRows, new_final: str | None) -> dict[str, Any]:
    """What the ``human_review`` report and the audit event keep: the previous and the new choice."""
    entry = change.entry
    return {"action": "override_winner", "run_id": run_id, "job_key": job_key,
            "previous": {"candidate_index": entry["previous_candidate"],
                         "winner_reason": entry["previous_winner_reason"],
                         "final_output": entry["previous_final_output"], "asset_id": rows.old_final_asset_id},
            "new": {"candidate_index": entry["candidate_index"], "status": entry["candidate_status"],
                    "final_output": entry["final_output"], "asset_id": new_final},
            "changed": entry["previous_candidate"] != entry["candidate_index"], "note": entry["note"],
            "reviewer": entry["reviewer"], "forced": entry["forced"], "reviewed_at": entry["reviewed_at"]}


@dataclass
class _Change:
    """The override applied to the run log in memory (written by the caller), and what it records."""

    runlog: RunLog
    before: dict[str, Any]
    entry: dict[str, Any]
    reason: str
    meta: dict[str, Any]
    job_status: str
    new_file: Path

    @classmethod
    def prepare(cls, root: Path, log_path: Path, run_id: str, job_key: str, index: int, *, force: bool,
                note: str, reviewer: str) -> _Change:
        runlog = RunLog.open(log_path)
        job = _find_job(runlog, job_key, run_id)
        candidate = _find_candidate(job, index)
        new_file = _usable_file(root, candidate, force=force)
        before = runlog.snapshot()
        previous = job.selected_candidate
        entry = {"candidate_index": index, "previous_candidate": previous,
                 "previous_winner_reason": job.winner_reason, "previous_final_output": job.final_output,
                 "final_output": ProjectLayout(root).relative(new_file), "note": note, "reviewer": reviewer,
                 "forced": bool(force), "candidate_status": candidate.status, "reviewed_at": utcnow(),
                 "report_id": new_id()}
        reason = f"chosen by {reviewer}" + (f": {note}" if note else "") + \
            (f" (was candidate {previous})" if previous not in (None, index) else "")
        runlog.choose_winner(job_key, index, entry, reason, write=False)  # written by the caller
        changed = runlog.job_snapshot(job_key)
        meta = {key: value for key, value in (changed.to_json_data() if changed else {}).items() if key != "candidates"}
        return cls(runlog, before, entry, reason, meta, job.status, new_file)


def winner_history(ws: Workspace, run_id: str, job_key: str) -> list[dict[str, Any]]:
    """Every choice for the job, oldest first: the ranking's pick (``source`` "ranking"), then each
    human review (``source`` "human_review") with its note, reviewer and whether it was forced."""
    run = review_target(ws, run_id)
    job, reviews = job_reviews(ws, run["id"], job_key)
    meta = job["meta"]
    if reviews:
        first = reviews[0][1]["previous"]
        ranked = {"candidate_index": first.get("candidate_index"), "winner_reason": first.get("winner_reason")}
    else:
        ranked = {"candidate_index": job["selected_candidate_index"], "winner_reason": meta.get("winner_reason")}
    history = [{"source": "ranking", **ranked}]
    for report_id, summary in reviews:
        history.append({"source": "human_review", "candidate_index": summary["new"]["candidate_index"],
                        "previous_candidate": summary["previous"]["candidate_index"], "note": summary.get("note", ""),
                        "reviewer": summary.get("reviewer"), "forced": bool(summary.get("forced")),
                        "final_output": summary["new"].get("final_output"),
                        "reviewed_at": summary.get("reviewed_at"), "report_id": report_id})
    return history


# --------------------------------------------------------------------------- checks

def _check_index(candidate_index: int) -> int:
    if isinstance(candidate_index, bool) or not isinstance(candidate_index, int) or candidate_index < 1:
        raise InputError(f"Candidate index must be a whole number >= 1, got {candidate_index!r}.")
    return candidate_index


def _log_path(root: Path, run: dict[str, Any]) -> Path:
    if run["run_mode"] == "dry":
        raise InputError(f"Run {run['id']} is a dry run: it has no generated candidates to choose from.")
    if run["status"] == "running" and run.get("host") != this_host():
        raise InputError(f"Run {run['id']} is still running on host {run.get('host')} (pid {run.get('pid')}); "
                         "this machine cannot share the run log with that process safely. Choose the winner "
                         "there, or here once the run has finished.")
    if not run["run_log_path"]:
        raise StorageError(f"Run {run['id']} has no run log path in the catalog.")
    path = Path(run["run_log_path"])
    return path if path.is_absolute() else root / path


def _find_job(runlog: RunLog, job_key: str, run_id: str) -> JobRecord:
    try:
        return runlog.job(job_key)
    except KeyError:
        known = ", ".join(runlog.job_ids()[:12])
        raise NotFoundError(f"Run {run_id} has no job '{job_key}'. Its jobs: {known}.") from None


def _find_candidate(job: JobRecord, index: int) -> CandidateRecord:
    candidate = job.candidate(index)
    if candidate is None:
        known = sorted(c.candidate_index for c in job.candidates)
        raise NotFoundError(f"Job '{job.id}' has no candidate {index} "
                            f"(it has {', '.join(str(i) for i in known) or 'none'}).")
    status = candidate.status
    if status == "failed":
        raise InputError(f"Candidate {index} of job '{job.id}' failed ({candidate.error or 'no image'}); "
                         "it cannot be the winner.")
    if status in ("planned", "generated"):
        raise InputError(f"Candidate {index} of job '{job.id}' is not finished (status {status}); resume the "
                         "run first.")
    return candidate


def _usable_file(root: Path, candidate: CandidateRecord, *, force: bool) -> Path:
    """The file the winner points at: the final output, or for a forced guard failure the raw
    output where the guard left it (``archive/bad`` when it was moved there)."""
    if candidate.status == "failed_output_guard":
        if not force:
            raise InputError(f"Candidate {candidate.candidate_index} failed the output guard "
                             f"({_guard_reasons(candidate)}). Pass force=True (CLI: --force) to choose it anyway.")
        guard = candidate.guard_block() or OutputGuardBlock()
        options = [guard.bad_archive, guard.checked_input, candidate.output]
    else:
        options = [candidate.final_output, candidate.output]
    for rel in options:
        if rel and (root / rel).is_file():
            return (root / rel).resolve()
    raise StorageError(f"Candidate {candidate.candidate_index}'s image is missing on disk "
                       f"(looked for {', '.join(str(r) for r in options if r)}). Restore it or pick another.")


def _cache_candidate(ws: Workspace, root: Path, run: dict[str, Any], job_key: str, index: int) -> None:
    """An S3-first project may have evicted the candidate's image: fetch it into the local cache
    (sha256 verified) now, before the catalog write lock is taken, since the review reads its
    bytes. Any problem is left for :func:`_usable_file` to report."""
    try:
        job = RunLog.open(_log_path(root, run)).job(job_key)
    except (KromaError, KeyError, OSError, ValueError):
        return
    candidate = job.candidate(index)
    if candidate is None:
        return
    guard = candidate.guard_block() or OutputGuardBlock()
    for rel in (candidate.final_output, guard.bad_archive, guard.checked_input, candidate.output):
        if not rel or (root / rel).is_file():
            continue
        try:
            local_copy(ws, run["slug"], rel)
        except KromaError:
            continue


def _guard_reasons(candidate: CandidateRecord) -> str:
    guard = candidate.guard_block()
    files = guard.files if guard is not None else []
    reasons = sorted({reason for entry in files for reason in entry.hard_fail_reasons})
    return ", ".join(reasons) or "hard failures"
