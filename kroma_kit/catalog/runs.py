"""Runs in the catalog: ingest a run log into rows, list and show runs, find runs that died.

Ingest is idempotent by construction, not by delete-and-reinsert as the seed did (§6.3): row ids
are derived from the run id, job key and candidate index (uuid5), jobs and candidates are upserted
on their UNIQUE keys, cost events on their ``event_key``, assets on their storage URI. Ingesting
the same log twice gives the same rows; ingesting it again after a resume updates them.

Row writing lives in :mod:`kroma_kit.catalog.run_ingest` (lineage rules are documented there).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kroma_kit.catalog.assets import find_asset
from kroma_kit.catalog.audit import record_event
from kroma_kit.catalog.costs import project_spent_usd as spent_usd
from kroma_kit.catalog.db import from_json, new_id, pipelined, to_json, transaction, utcnow
from kroma_kit.catalog.projects import get_project
from kroma_kit.catalog.run_ingest import CurrentJob, Ingestor, abs_path
from kroma_kit.errors import InputError, NotFoundError
from kroma_kit.processes import process_alive, this_host
from kroma_kit.storage.runlog import as_run_log, load_run_log, mark_log_interrupted
from kroma_kit.storage.runlog_model import JobEntry, RunLogModel
from kroma_kit.workspace import Workspace


def _project_for_log(ws: Workspace, log: RunLogModel, known: dict[str, Any] | None = None) -> dict[str, Any]:
    """The catalog's project of ``log`` (``known``: the caller's row of it, when it has one)."""
    project = known if known is not None and known.get("slug") == log.project else get_project(ws, log.project)
    if log.project_id and log.project_id != project["id"]:
        raise InputError(f"Run log {log.run_id} was written for another project with the slug "
                         f"'{log.project}' (id {log.project_id}, now {project['id']}).")
    return project


def ingest_log_data(ws: Workspace,
                    log: RunLogModel | dict[str, Any] | Callable[[], RunLogModel | dict[str, Any]], path: Path, *,
                    audit: bool = True, current_job: CurrentJob | None = None,
                    mirrored: Mapping[str, bytes] | None = None, project: dict[str, Any] | None = None
                    ) -> dict[str, Any]:
    """Ingest an already-read run log (see :func:`ingest_run_log`): the typed model or its JSON data.

    ``log`` may be a function returning the log: it is called inside the catalog write
    transaction, so a winner override (which rewrites the log inside its own transaction) is
    either wholly in what is ingested or lands after it; the executor passes its live log this way.
    ``current_job(job_id)`` says where a job's files are now when one has moved since ``log`` was
    taken; by default the log file at ``path`` is read again (only when it changed).

    ``mirrored`` (job id -> the job's JSON text, :meth:`~kroma_kit.storage.open_record.OpenRecord.
    to_json_bytes`) names jobs whose rows this process already committed from exactly that job (the
    executor's live mirror, :mod:`kroma_kit.pipeline.recorder`): a job whose text is still the same is
    not written again, since writing it would give the same rows (hashing every file of the run once
    more was most of a run's closing ingest). A job that changed since, or that the mirror never
    wrote, is written as usual; without ``mirrored`` every job is. Texts are compared, not data:
    made in Rust, they cost a fraction of a Python walk of every job at the end of every run.

    ``project``: the catalog row of the log's project when the caller holds it (the executor
    does), so it is not looked up again; it must be the row of the project the log names.
    """
    conn = ws.connect()
    try:
        with transaction(conn):
            # The live log is read once, here: the project it names is checked on that same copy.
            raw = log() if callable(log) else log
            data = as_run_log(raw)
            project = _project_for_log(ws, data, project)
            log_rel = _relative(Path(project["root"]), path)
            ingestor = Ingestor(conn, project, current_job=current_job or _log_file_jobs(path))
            ingestor.run_row(data, log_rel)
            candidates = reports = 0
            unchanged: set[str] = set()
            with pipelined(conn):  # PostgreSQL: thousands of small writes without a round trip each
                for job in data.jobs:
                    known = mirrored.get(job.id) if mirrored else None
                    if known is not None and known == job.to_json_bytes():
                        candidates += len(job.candidates)
                        unchanged.add(job.id)
                        continue
                    counts = ingestor.job(data, job)
                    candidates += counts["candidates"]
                    reports += counts["quality_reports"]
                # The mirror books a job's cost events with the job (before the change that marks
                # it), so those of an unchanged job are in already.
                costs = ingestor.cost_events(data, skip_jobs=unchanged)
            log_asset = ingestor.asset(str(path), "run_log", data.run_id, {"role": "run_log"}, refresh=True)
            result = {"ok": True, "project_slug": project["slug"], "run_id": data.run_id, "run_log_path": log_rel,
                      "status": data.status, "jobs": len(data.jobs), "candidates": candidates,
                      "assets_upserted": ingestor.counts["assets_upserted"], "asset_links": ingestor.counts["links"],
                      "missing_files": ingestor.counts["missing_files"], "notes": ingestor.notes,
                      "quality_reports_written": reports, "cost_events_written": costs,
                      "jobs_unchanged": len(unchanged),
                      "run_log_asset_id": log_asset}
            if audit:
                record_event(conn, "run.ingested", {k: v for k, v in result.items() if k != "ok"},
                             project_id=project["id"])
    finally:
        conn.close()
    return result


def _log_file_jobs(path: Path) -> CurrentJob:
    """``current_job`` over the run log file: re-read (and cached) only when the file changed, so a
    log whose files were all deleted costs one read, not one per file.

    This reads the file's raw JSON by key on purpose, not through the whole typed model: it is a
    fallback asked only where a candidate's file has moved, and it needs one job's paths, while
    the log may be a live run's that changes after every candidate; validating the whole log
    (every job and candidate) at each change for one lookup would make the fallback cost more
    than the ingest it rescues. Only the job asked for is validated (once per version of the
    file), at this boundary, as the :data:`CurrentJob` contract wants it. It must also never
    raise: whatever state the file is in (unreadable, not JSON, a job that is not a valid job),
    the answer is None and the file is then reported missing. The log that is ingested is still
    read and validated as the model (:func:`ingest_run_log`)."""
    cache: dict[str, Any] = {"stamp": None, "jobs": {}, "typed": {}}

    def current_job(job_id: str) -> JobEntry | None:
        try:
            info = Path(path).stat()
            stamp = (info.st_ino, info.st_mtime_ns, info.st_size)
            if stamp != cache["stamp"]:
                data = json.loads(Path(path).read_bytes())
                cache.update(stamp=stamp, jobs={job.get("id"): job for job in data.get("jobs") or []}, typed={})
        except (OSError, ValueError, AttributeError):
            return None
        if job_id not in cache["typed"]:
            raw = cache["jobs"].get(job_id)
            try:
                cache["typed"][job_id] = JobEntry.model_validate(raw) if raw is not None else None
            except ValidationError:
                cache["typed"][job_id] = None
        return cache["typed"][job_id]

    return current_job


def ingest_run_log(ws: Workspace, path: str | Path) -> dict[str, Any]:
    """Read, validate and ingest a run log into runs / run_jobs / run_candidates / assets /
    asset_links / quality_reports / cost_events. Idempotent; returns counts."""
    file = Path(path).resolve()
    return ingest_log_data(ws, load_run_log(file), file)  # typed once: ingest reads fields


def _relative(root: Path, path: Path) -> str:
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return Path(path).resolve().as_posix()


# --------------------------------------------------------------------------- reading

_RUN_SELECT = ("SELECT r.*, p.slug AS project_slug, "
               "(SELECT COUNT(*) FROM run_jobs j WHERE j.run_id = r.id AND j.status LIKE 'failed%') AS jobs_failed "
               "FROM runs r JOIN projects p ON p.id = r.project_id")


def _run_dict(row: sqlite3.Row) -> dict[str, Any]:
    run = dict(row)
    run["settings_snapshot"] = from_json(run.pop("settings_snapshot_json"))
    return run


def list_runs(ws: Workspace, project_slug: str, *, limit: int = 200) -> list[dict[str, Any]]:
    """The project's runs, newest first. A pure read: a run whose process died still shows
    ``running`` until :func:`mark_interrupted_runs` is called (the CLI and resume call it first)."""
    project = get_project(ws, project_slug)
    conn = ws.connect()
    try:
        rows = conn.execute(f"{_RUN_SELECT} WHERE r.project_id = ? ORDER BY r.created_at DESC, r.id LIMIT ?",
                            (project["id"], limit)).fetchall()
    finally:
        conn.close()
    runs = []
    for row in rows:
        run = _run_dict(row)
        run.pop("settings_snapshot")
        runs.append(run)
    return runs


def resolve_run_id(conn: sqlite3.Connection, run_id: str) -> str:
    """A full run id, or a unique prefix of one (at least 6 characters), like git."""
    if conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone():
        return run_id
    if len(run_id) >= 6:
        matches = [r[0] for r in conn.execute("SELECT id FROM runs WHERE id LIKE ? LIMIT 3",
                                              (run_id.replace("%", "").replace("_", "\\_") + "%",)).fetchall()]
        matches = [m for m in matches if m.startswith(run_id)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise InputError(f"Run id prefix '{run_id}' is ambiguous ({', '.join(matches)}...). Give more of it.")
    raise NotFoundError(f"Unknown run '{run_id}'. List runs with `kroma runs list --project SLUG`.")


def get_run(ws: Workspace, run_id: str) -> dict[str, Any]:
    """One run with its jobs (each with its candidates) and cost events. A pure read (see
    :func:`list_runs` about runs whose process died)."""
    conn = ws.connect()
    try:
        full_id = resolve_run_id(conn, run_id)
        run = _run_dict(conn.execute(f"{_RUN_SELECT} WHERE r.id = ?", (full_id,)).fetchone())
        jobs = []
        for job_row in conn.execute("SELECT * FROM run_jobs WHERE run_id = ? ORDER BY created_at, job_key",
                                    (full_id,)).fetchall():
            job = dict(job_row)
            job["meta"] = from_json(job.pop("meta_json"))
            job["candidates"] = []
            for cand_row in conn.execute("SELECT * FROM run_candidates WHERE job_id = ? ORDER BY candidate_index",
                                         (job["id"],)).fetchall():
                candidate = dict(cand_row)
                candidate["meta"] = from_json(candidate.pop("meta_json"))
                job["candidates"].append(candidate)
            jobs.append(job)
        run["jobs"] = jobs
        run["cost_events"] = [dict(r) for r in conn.execute(
            "SELECT * FROM cost_events WHERE run_id = ? ORDER BY created_at, event_key", (full_id,)).fetchall()]
    finally:
        conn.close()
    return run


def project_spent_usd(ws: Workspace, project_id: str, *, exclude_run: str | None = None) -> float:
    """What the project has paid so far (sum of its cost events), optionally leaving one run out."""
    conn = ws.connect()
    try:
        return spent_usd(conn, project_id, exclude_run=exclude_run)
    finally:
        conn.close()


def running_jobs(ws: Workspace, project_id: str, host: str) -> list[dict[str, Any]]:
    """Every job of the project's runs still ``running`` on ``host``: ``id`` (the run), ``pid``,
    ``job_key``. What a new run checks so that two live runs never write the same files."""
    conn = ws.connect()
    try:
        rows = conn.execute(
            "SELECT r.id, r.pid, j.job_key FROM runs r JOIN run_jobs j ON j.run_id = r.id "
            "WHERE r.project_id = ? AND r.status = 'running' AND r.host = ?", (project_id, host)).fetchall()
    finally:
        conn.close()
    return [dict(row) for row in rows]


# --------------------------------------------------------------------------- crash detection

def mark_interrupted_runs(ws: Workspace, project_slug: str | None = None) -> list[str]:
    """Mark ``running`` runs whose process is gone as ``interrupted`` (catalog row and run log).

    The one explicit recovery call: listing or showing runs never writes; the CLI, resume, review
    and a new run call this first.

    Only runs started on this host can be checked (the pid through psutil plus the process start
    time, so a recycled pid does not look alive); runs from another host are left alone.
    """
    host = this_host()
    conn = ws.connect()
    try:
        query = ("SELECT r.id, r.pid, r.host, r.run_log_path, s.local_project_root, s.local_base_dir, p.slug "
                 "FROM runs r JOIN projects p ON p.id = r.project_id "
                 "LEFT JOIN project_storage s ON s.project_id = p.id WHERE r.status = 'running'")
        params: tuple[Any, ...] = ()
        if project_slug is not None:
            query += " AND p.slug = ?"
            params = (project_slug,)
        rows = conn.execute(query, params).fetchall()
    finally:
        conn.close()
    marked = []
    for row in rows:
        if row["host"] != host:
            continue
        root = Path(get_project(ws, row["slug"])["root"])
        log_path = abs_path(root, row["run_log_path"])
        log = None
        if log_path is not None and log_path.is_file():
            try:
                log = load_run_log(log_path)
            except InputError:
                log = None
        token = log.process_start if log else None
        if process_alive(row["pid"], token):
            continue
        reason = f"process {row['pid']} on {host} ended while the run was running (crash or kill)"
        if log is not None and log.status == "running":
            mark_log_interrupted(log_path, reason)
        conn = ws.connect()
        try:
            with transaction(conn):
                changed = conn.execute(
                    "UPDATE runs SET status = 'interrupted', status_reason = ? WHERE id = ? AND status = 'running'",
                    (reason, row["id"])).rowcount
                if changed:
                    record_event(conn, "run.interrupted", {"run_id": row["id"], "pid": row["pid"], "host": host},
                                 project_id=conn.execute("SELECT project_id FROM runs WHERE id = ?",
                                                         (row["id"],)).fetchone()[0])
        finally:
            conn.close()
        if changed:
            marked.append(row["id"])
    return marked


# --------------------------------------------------------------------------- stand-alone QA

def record_quality_reports(ws: Workspace, project: dict[str, Any], report: dict[str, Any]) -> int:
    """Store a ``kroma qa`` report: one ``quality_reports`` row per checked file (no run), linked
    to the file's asset when the catalog knows it. Each QA pass is a new observation, so rows
    are added, not replaced."""
    written = 0
    conn = ws.connect()
    try:
        with transaction(conn):
            for entry in report.get("files", []):
                if entry.get("hard_fail_reasons") and entry["hard_fail_reasons"][0] in (
                        "input_not_found", "no_images_found"):
                    continue
                asset = find_asset(conn, project["id"], entry["file"]) if Path(entry["file"]).is_file() else None
                verdict = entry.get("verdict") or ("fail" if entry.get("hard_fail_reasons") else
                                                   "warn" if entry.get("soft_warnings") else "pass")
                conn.execute(
                    "INSERT INTO quality_reports (id, project_id, asset_id, report_type, verdict, chroma_delta, "
                    "summary_json, created_at) VALUES (?, ?, ?, 'output_guard', ?, ?, ?, ?)",
                    (new_id(), project["id"], asset["id"] if asset else None, verdict, entry.get("chroma_delta"),
                     to_json({"source": "kroma qa", "settings": report.get("settings"), **entry}), utcnow()))
                written += 1
    finally:
        conn.close()
    return written
