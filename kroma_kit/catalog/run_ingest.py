"""Writing one run log's rows: runs, run_jobs, run_candidates, assets (with lineage),
quality_reports and cost_events. Every write is an upsert on a stable key (uuid5 row ids from the
run id, job key and candidate index; ``event_key`` for costs; the storage URI for assets), which is
what makes ingest idempotent. Used by :func:`kroma_kit.catalog.runs.ingest_run_log` (whole log)
and by the executor's background recorder (job by job while a run goes on).

Asset lineage: a candidate's raw output is ``derived_from`` its scene and has each style or
character ref as ``reference_of`` parent; each post-process output is ``derived_from`` the file
it was made from. The job winner's final file is re-kinded ``final`` where it is (no copy). The
winner is the job's ``selected_candidate``, whoever chose it: the ranking, or an artist
(:mod:`kroma_kit.pipeline.review`), even a forced choice of a candidate that failed the guard,
whose file lives in ``archive/bad``; so re-ingesting a reviewed log keeps the review.

Files move while a run goes on: a candidate that fails the guard is moved to ``archive/bad`` by
its worker while the executor's catalog mirror may be registering the same candidate from a
snapshot taken a moment before. A file that is gone when it is checked or hashed is therefore
looked up again where the run log says it is now (``current_job``: the live log of the run, or
the log file read again); one that is really gone is skipped with a note, never a crash.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from kroma_kit.catalog.assets import find_asset, insert_link, register_asset, storage_uri
from kroma_kit.catalog.costs import upsert_cost_event
from kroma_kit.catalog.db import from_json, to_json, utcnow
from kroma_kit.storage.runlog import as_run_log, job_entry
from kroma_kit.storage.runlog_model import CandidateEntry, JobEntry, RunLogModel

_NS = uuid.UUID("6f1c2a52-4d0b-4c39-9a3e-6b1f0d9e7a11")
POST_KINDS = {"bg_remove": "bg_removed", "upscale": "upscaled", "color": "color_corrected"}


def stable_id(*parts: object) -> str:
    """A uuid5 from ``parts``: the same run/job/candidate always gets the same row id."""
    return str(uuid.uuid5(_NS, "/".join(str(part) for part in parts)))


def abs_path(root: Path, path: str | None) -> Path | None:
    if not path:
        return None
    candidate = Path(path)
    return candidate if candidate.is_absolute() else root / candidate


def candidate_file(candidate: CandidateEntry, role: str, *, follow_guard: bool = True) -> tuple[str | None, bool]:
    """Where a candidate's file of ``role`` (``candidate_output`` or a post step) is, as the run log
    records it, and whether that is ``archive/bad``: the file the guard failed was moved there.
    ``follow_guard=False`` gives where the file was before that move."""
    if role == "candidate_output":
        path = candidate.output
    else:
        step = candidate.step(role)
        path = step.output if step is not None else None
    guard = candidate.guard_block()
    if follow_guard and path and guard is not None and guard.bad_archive and guard.checked_input == path:
        return guard.bad_archive, True
    return path, False


# The job as the run log says it is now (typed), or None: ``RunLog.job_snapshot`` of a live log,
# or :func:`kroma_kit.catalog.runs._log_file_jobs` over the file (validated where it is read).
CurrentJob = Callable[[str], JobEntry | None]


class Ingestor:
    """Writes one run log's rows on one connection. Keeps a path -> asset id cache so a file is
    hashed once per process even when the executor records a run candidate by candidate.

    ``current_job(job_id)`` returns the job as the run log says it is now; it is asked only when a
    candidate's file is missing, to find where it went (see the module docstring)."""

    def __init__(self, conn: sqlite3.Connection, project: dict[str, Any], *,
                 current_job: CurrentJob | None = None) -> None:
        self.conn = conn
        self.project_id = project["id"]
        self.root = Path(project["root"])
        self._real_root: Path | None = None
        self.assets: dict[str, str] = {}
        self.counts = {"assets_upserted": 0, "links": 0, "missing_files": 0}
        self.notes: list[str] = []
        self.current_job = current_job

    # ---------------------------------------------------------------- assets

    def asset(self, path: str | None, kind: str, run_id: str | None, metadata: dict[str, Any] | None = None,
              *, keep_existing: bool = False, refresh: bool = False, note_missing: bool = True) -> str | None:
        """The asset id of the file at ``path`` (registered or refreshed), or None when there is no
        such file, including one that vanished between the check and the hash."""
        file = abs_path(self.root, path)
        if file is None:
            return None
        if not file.is_file():
            if note_missing:
                self._missing([file])
            return None
        real = file.resolve()  # once per file: the lookups and the row below take it as it is
        key = real.as_posix()
        if key in self.assets and not refresh:
            return self.assets[key]
        if keep_existing:
            existing = find_asset(self.conn, self.project_id, real, resolved=True)
            if existing:
                self.assets[key] = existing["id"]
                return existing["id"]
        if self._real_root is None:
            self._real_root = self.root.resolve()
        try:
            asset_id = register_asset(self.conn, self.project_id, real, kind, project_root=self._real_root,
                                      run_id=run_id, metadata=metadata, resolved=True)
        except FileNotFoundError:  # moved or deleted after the check (a guard failure being archived)
            if note_missing:
                self._missing([file])
            return None
        self.assets[key] = asset_id
        self.counts["assets_upserted"] += 1
        return asset_id

    def candidate_asset(self, run_id: str, job_id: str, candidate: CandidateEntry, role: str, kind: str,
                        metadata: dict[str, Any]) -> str | None:
        """Register a candidate's file of ``role`` where the log says it is; when it is not there,
        where the log says it is now (asked once per distinct place, at most three)."""
        tried: list[Path] = []
        record: CandidateEntry | None = candidate
        while record is not None and len(tried) < 3:
            path, archived = candidate_file(record, role)
            file = abs_path(self.root, path)
            if file is None or file in tried:
                break
            tried.append(file)
            if archived:
                self._follow_move(candidate_file(record, role, follow_guard=False)[0], file, metadata)
            meta = {**metadata, "role": role, **({"archived": "bad"} if archived else {})}
            asset_id = self.asset(path, kind, run_id, meta, note_missing=False)
            if asset_id:
                return asset_id
            record = self._current_candidate(job_id, candidate.candidate_index)
        if tried:
            self._missing(tried)
        return None

    def _follow_move(self, old_path: str | None, new_file: Path, metadata: dict[str, Any]) -> None:
        """A row registered for this very candidate's file before the guard moved it (the catalog
        mirror saw it in ``outputs/``) moves with the file: same id and links, no row left
        pointing at nothing. Rows of other runs or candidates at that path are not touched."""
        old_file = abs_path(self.root, old_path)
        if old_file is None or old_file.is_file() or not new_file.is_file():
            return
        row = find_asset(self.conn, self.project_id, old_file)
        if row is None or find_asset(self.conn, self.project_id, new_file) is not None:
            return
        owner = from_json(row["metadata_json"])
        if (row["run_id"], owner.get("job_id"), owner.get("candidate_index")) != (
                metadata["run_id"], metadata["job_id"], metadata["candidate_index"]):
            return
        self.conn.execute("UPDATE assets SET storage_uri = ? WHERE id = ?", (storage_uri(new_file), row["id"]))
        self.assets.pop(old_file.resolve().as_posix(), None)

    def _current_candidate(self, job_id: str, index: int) -> CandidateEntry | None:
        job = self.current_job(job_id) if self.current_job is not None else None
        return job.candidate(index) if job is not None else None

    def _missing(self, files: list[Path]) -> None:
        self.counts["missing_files"] += 1
        places = " nor ".join(self._rel(file) for file in files)
        self.notes.append(f"skipped {places}: not on disk (moved or deleted)")

    def _rel(self, file: Path) -> str:
        try:
            return file.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return file.as_posix()

    def link(self, parent: str | None, child: str | None, link_type: str) -> None:
        """Link two assets this ingest registered or found (both are the project's, so the
        ownership check of :func:`link_assets` is not asked again)."""
        if parent and child and parent != child:
            insert_link(self.conn, self.project_id, parent, child, link_type)
            self.counts["links"] += 1

    # ---------------------------------------------------------------- rows

    def run_row(self, log: RunLogModel | dict[str, Any], log_rel: str, *,
                counts: tuple[int, int] | None = None) -> None:
        """Upsert the ``runs`` row. ``counts`` (jobs total, jobs done) for a copy that holds only
        some of the run's jobs (the live mirror's); by default they are counted in ``log``."""
        log = as_run_log(log)
        jobs = log.jobs
        total, done = counts if counts is not None else (len(jobs), sum(1 for job in jobs if job.status == "done"))
        # ``generation`` is a key of the original tool's logs that the model does not name; the
        # others are fields, read as the log holds them (a field it lacks is null, as before).
        snapshot = {"settings": log.settings_snapshot if log.has("settings_snapshot") else {},
                    "manifest_hash": log.manifest_hash, "generation": log.get("generation"),
                    "postprocess": log.postprocess, "output_guard": log.output_guard,
                    "budgets": log.budgets if log.has("budgets") else None}
        self.conn.execute(
            "INSERT INTO runs (id, project_id, run_mode, status, stage, time_of_day, weather, model_name, "
            "provider_code, run_log_path, pid, host, estimated_cost_usd, actual_cost_usd, jobs_total, jobs_done, "
            "status_reason, settings_snapshot_json, started_at, finished_at, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET status = excluded.status, model_name = excluded.model_name, "
            "provider_code = excluded.provider_code, run_log_path = excluded.run_log_path, pid = excluded.pid, "
            "host = excluded.host, estimated_cost_usd = excluded.estimated_cost_usd, "
            "actual_cost_usd = excluded.actual_cost_usd, jobs_total = excluded.jobs_total, "
            "jobs_done = excluded.jobs_done, status_reason = excluded.status_reason, "
            "settings_snapshot_json = excluded.settings_snapshot_json, started_at = excluded.started_at, "
            "finished_at = excluded.finished_at",
            (log.run_id, self.project_id, log.mode, log.status, log.stage, log.time, log.weather, log.model,
             log.provider, log_rel, log.pid, log.host, float(log.estimated_cost_usd or 0),
             float(log.actual_cost_usd or 0), total, done, log.status_reason, to_json(snapshot),
             log.started_at, log.finished_at, log.timestamp or utcnow()))

    def job(self, log: RunLogModel | dict[str, Any], job: JobEntry | dict[str, Any], *,
            register_files: bool = True) -> dict[str, int]:
        """Upsert one job, its candidates, their assets, links and quality reports."""
        run_id = as_run_log(log).run_id  # typed at the boundary: a model is taken as it is
        job = job_entry(job)
        job_row_id = stable_id("run_job", run_id, job.id)
        inputs = [self.asset(path, "input" if position == 0 else "reference", None, {"role": "job_input"},
                         keep_existing=True) if register_files else None
                  for position, path in enumerate(job.input_images)]
        meta = job.model_dump(exclude_unset=True, exclude={"candidates"})  # stored with sorted keys
        job_row_id = self.conn.execute(  # RETURNING: the row's id, new or kept (one round trip)
            "INSERT INTO run_jobs (id, run_id, job_key, status, prompt_text, selected_candidate_index, "
            "estimated_cost_usd, meta_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(run_id, job_key) DO UPDATE SET status = excluded.status, "
            "prompt_text = excluded.prompt_text, selected_candidate_index = excluded.selected_candidate_index, "
            "estimated_cost_usd = excluded.estimated_cost_usd, meta_json = excluded.meta_json RETURNING id",
            (job_row_id, run_id, job.id, job.status, job.prompt or "", job.selected_candidate,
             float(job.estimated_cost_usd or 0), to_json(meta), utcnow())).fetchone()[0]
        reports = 0
        selected = job.selected_candidate
        winner_file = None
        for candidate in job.candidates:
            output_id, candidate_final, last_id = self._candidate_assets(run_id, job, candidate, inputs,
                                                                         register_files)
            if candidate.candidate_index == selected:
                winner_file = candidate_final or last_id
            reports += self._candidate_row(run_id, job_row_id, job, candidate, output_id, candidate_final)
        final_asset = self._job_final(job, winner_file) if selected is not None and register_files else None
        if final_asset and job.status == "done":
            self.conn.execute("UPDATE assets SET kind = 'final' WHERE id = ?", (final_asset,))
        self.conn.execute("UPDATE run_jobs SET final_asset_id = ? WHERE id = ?", (final_asset, job_row_id))
        return {"candidates": len(job.candidates), "quality_reports": reports}

    def _job_final(self, job: JobEntry, winner_file: str | None) -> str | None:
        """The winner's file as the job records it (``final_output``: for a forced choice of a
        guard failure that is its file in ``archive/bad``), else the winner candidate's own last
        file: its final output, or the file the guard left where it archived it."""
        final_path = abs_path(self.root, job.final_output)
        if final_path is not None and final_path.is_file():
            known = self.assets.get(final_path.resolve().as_posix())
            if known:
                return known
            found = self.asset(job.final_output, "generated", None, {"role": "job_final"}, keep_existing=True,
                               note_missing=False)
            if found:
                return found
        return winner_file

    def _candidate_assets(self, run_id: str, job: JobEntry, entry: CandidateEntry,
                          inputs: list[str | None], register_files: bool
                          ) -> tuple[str | None, str | None, str | None]:
        """Register a candidate's files with their lineage; (raw output, final if ``done``, last file)."""
        if not register_files or entry.status == "planned":
            return None, None, None
        index = entry.candidate_index
        meta = {"run_id": run_id, "job_id": job.id, "candidate_index": index, "seed": entry.seed}
        output_id = self.candidate_asset(run_id, job.id, entry, "candidate_output", "generated", meta)
        if output_id and inputs:
            self.link(inputs[0], output_id, "derived_from")
            for parent in inputs[1:]:
                self.link(parent, output_id, "reference_of")
        current = output_id
        for step in POST_KINDS:
            block = entry.step(step)
            if block is None or not block.output:
                continue
            step_id = self.candidate_asset(run_id, job.id, entry, step, POST_KINDS[step], meta)
            if step_id:
                self.link(current, step_id, "derived_from")
                current = step_id
        final_id = current if entry.status == "done" else None
        return output_id, final_id, current

    def _candidate_row(self, run_id: str, job_row_id: str, job: JobEntry, entry: CandidateEntry,
                       output_id: str | None, final_id: str | None) -> int:
        rank = entry.rank
        guard = entry.guard_block()
        files = guard.files if guard is not None else []
        chroma = files[0].chroma_delta if files else None
        latency = sum(int(a.get("latency_ms") or 0) for a in entry.attempts) or None
        row_id = stable_id("run_candidate", run_id, job.id, entry.candidate_index)
        candidate_row = self.conn.execute(  # RETURNING: the row's id, new or kept (one round trip)
            "INSERT INTO run_candidates (id, job_id, candidate_index, status, output_asset_id, final_asset_id, "
            "rank_hard_failures, rank_soft_warnings, rank_avg_chroma_exceed, chroma_delta, rank_position, seed, "
            "cost_usd, latency_ms, meta_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(job_id, candidate_index) DO UPDATE SET status = excluded.status, "
            "output_asset_id = COALESCE(excluded.output_asset_id, run_candidates.output_asset_id), "
            "final_asset_id = excluded.final_asset_id, rank_hard_failures = excluded.rank_hard_failures, "
            "rank_soft_warnings = excluded.rank_soft_warnings, "
            "rank_avg_chroma_exceed = excluded.rank_avg_chroma_exceed, chroma_delta = excluded.chroma_delta, "
            "rank_position = excluded.rank_position, seed = excluded.seed, cost_usd = excluded.cost_usd, "
            "latency_ms = excluded.latency_ms, meta_json = excluded.meta_json RETURNING id",
            (row_id, job_row_id, entry.candidate_index, entry.status, output_id, final_id,
             int(rank.hard_failures or 0) if rank else 0, int(rank.soft_warnings or 0) if rank else 0,
             float(rank.avg_chroma_exceed or 0) if rank else 0.0, chroma, entry.rank_position,
             entry.seed, float(entry.cost_usd or 0), latency, candidate_meta_json(entry), utcnow())).fetchone()[0]
        written = self._continuity_row(run_id, job_row_id, job.id, entry, candidate_row, final_id or output_id)
        summary = guard.summary if guard is not None else None
        if summary is None or not (summary.model_fields_set or summary.model_extra):  # no summary, or an empty one
            return written
        verdict = "fail" if summary.hard_failures else ("warn" if summary.soft_warnings else "pass")
        self.conn.execute(
            "INSERT INTO quality_reports (id, project_id, run_id, job_id, candidate_id, asset_id, report_type, "
            "verdict, chroma_delta, summary_json, created_at) VALUES (?, ?, ?, ?, ?, ?, 'output_guard', ?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET asset_id = excluded.asset_id, verdict = excluded.verdict, "
            "chroma_delta = excluded.chroma_delta, summary_json = excluded.summary_json",
            (stable_id("quality_report", run_id, job.id, entry.candidate_index, "output_guard"),
             self.project_id, run_id, job_row_id, candidate_row, final_id or output_id, verdict, chroma,
             to_json({"status": entry.status, "rank": rank.to_json_data() if rank else {}, **(entry.output_guard or {})}),
             utcnow()))
        return written + 1

    def _continuity_row(self, run_id: str, job_row_id: str, job_key: str, candidate: CandidateEntry,
                        candidate_row: str, asset_id: str | None) -> int:
        """The continuity gate's scores as a ``model_score`` quality report (style drift, identity
        per declared character, verdict and reasons); nothing when the candidate was not scored."""
        block = candidate.continuity_block()
        if block is None or block.verdict not in ("pass", "warn", "fail"):
            return 0
        self.conn.execute(
            "INSERT INTO quality_reports (id, project_id, run_id, job_id, candidate_id, asset_id, report_type, "
            "verdict, chroma_delta, summary_json, created_at) VALUES (?, ?, ?, ?, ?, ?, 'model_score', ?, NULL, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET asset_id = excluded.asset_id, verdict = excluded.verdict, "
            "summary_json = excluded.summary_json",
            (stable_id("quality_report", run_id, job_key, candidate.candidate_index, "continuity"),
             self.project_id, run_id, job_row_id, candidate_row, asset_id, block.verdict,
             to_json({"model": "continuity", "status": candidate.status, **(candidate.continuity or {})}), utcnow()))
        return 1

    def cost_events(self, log: RunLogModel | dict[str, Any], only_job: str | None = None, *,
                    skip_jobs: Collection[str] = ()) -> int:
        """Upsert the log's cost events: all, those of ``only_job``, or all but those of ``skip_jobs``."""
        log = as_run_log(log)
        written = 0
        for entry in log.cost_events:
            if (only_job is not None and entry.job_id != only_job) or entry.job_id in skip_jobs:
                continue
            event = entry.to_json_data()
            upsert_cost_event(self.conn, stable_id("cost_event", self.project_id, entry.event_key),
                              self.project_id, log.run_id, event)
            written += 1
        return written


def candidate_meta_json(candidate: CandidateEntry) -> str:
    """A candidate row's ``meta_json``: the candidate's JSON exactly as the run log file holds it
    (the bytes the live log writes, :meth:`~kroma_kit.storage.open_record.OpenRecord.to_json_bytes`), in the catalog's JSON
    layout (:func:`to_json`: sorted keys, compact). Serialised in Rust and parsed in C, not walked
    in Python: the mirror writes it for every candidate of every changed job."""
    return to_json(json.loads(candidate.to_json_bytes()))
