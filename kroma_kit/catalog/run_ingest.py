"""Writing one run log's rows: runs, run_jobs, run_candidates, assets (with lineage),
quality_reports and cost_events. Every write is an upsert on a stable key (uuid5 row ids from the
run id, job key and candidate index; ``event_key`` for costs; the storage URI for assets), which is
what makes ingest idempotent. Used by :func:`kroma_kit.catalog.runs.ingest_run_log` (whole log)
and by the executor's background recorder (job by job while a run goes on).

Asset lineage: a candidate's raw output is ``derived_from`` its scene and has each style or
character ref as ``reference_of`` parent; each post-process output is ``derived_from`` the file
it was made from. The job winner's final file is re-kinded ``final`` where it is (no copy).
"""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Any

from kroma_kit.catalog.assets import find_asset, link_assets, register_asset
from kroma_kit.catalog.db import to_json, utcnow

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


class Ingestor:
    """Writes one run log's rows on one connection. Keeps a path -> asset id cache so a file is
    hashed once per process even when the executor records a run candidate by candidate."""

    def __init__(self, conn: sqlite3.Connection, project: dict[str, Any]) -> None:
        self.conn = conn
        self.project_id = project["id"]
        self.root = Path(project["root"])
        self.assets: dict[str, str] = {}
        self.counts = {"assets_upserted": 0, "links": 0, "missing_files": 0}

    # ---------------------------------------------------------------- assets

    def asset(self, path: str | None, kind: str, run_id: str | None, metadata: dict[str, Any] | None = None,
              *, keep_existing: bool = False, refresh: bool = False) -> str | None:
        file = abs_path(self.root, path)
        if file is None or not file.is_file():
            if file is not None:
                self.counts["missing_files"] += 1
            return None
        key = file.resolve().as_posix()
        if key in self.assets and not refresh:
            return self.assets[key]
        if keep_existing:
            existing = find_asset(self.conn, self.project_id, file)
            if existing:
                self.assets[key] = existing["id"]
                return existing["id"]
        asset_id = register_asset(self.conn, self.project_id, file, kind, project_root=self.root,
                                  run_id=run_id, metadata=metadata)
        self.assets[key] = asset_id
        self.counts["assets_upserted"] += 1
        return asset_id

    def link(self, parent: str | None, child: str | None, link_type: str) -> None:
        if parent and child and parent != child:
            link_assets(self.conn, self.project_id, parent, child, link_type)
            self.counts["links"] += 1

    # ---------------------------------------------------------------- rows

    def run_row(self, log: dict[str, Any], log_rel: str) -> None:
        jobs = log["jobs"]
        done = sum(1 for job in jobs if job["status"] == "done")
        snapshot = {"settings": log.get("settings_snapshot", {}), "manifest_hash": log.get("manifest_hash"),
                    "generation": log.get("generation"), "postprocess": log.get("postprocess"),
                    "output_guard": log.get("output_guard"), "budgets": log.get("budgets")}
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
            (log["run_id"], self.project_id, log["mode"], log["status"], log.get("stage"), log.get("time"),
             log.get("weather"), log.get("model"), log.get("provider"), log_rel, log.get("pid"),
             log.get("host"), float(log.get("estimated_cost_usd") or 0), float(log.get("actual_cost_usd") or 0),
             len(jobs), done, log.get("status_reason"), to_json(snapshot), log.get("started_at"),
             log.get("finished_at"), log.get("timestamp") or utcnow()))

    def job(self, log: dict[str, Any], job: dict[str, Any], *, register_files: bool = True) -> dict[str, int]:
        """Upsert one job, its candidates, their assets, links and quality reports."""
        run_id = log["run_id"]
        job_row_id = stable_id("run_job", run_id, job["id"])
        inputs = [self.asset(path, "input" if position == 0 else "reference", None, {"role": "job_input"},
                         keep_existing=True) if register_files else None
                  for position, path in enumerate(job.get("input_images", []))]
        meta = {key: value for key, value in job.items() if key != "candidates"}
        self.conn.execute(
            "INSERT INTO run_jobs (id, run_id, job_key, status, prompt_text, selected_candidate_index, "
            "estimated_cost_usd, meta_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(run_id, job_key) DO UPDATE SET status = excluded.status, "
            "prompt_text = excluded.prompt_text, selected_candidate_index = excluded.selected_candidate_index, "
            "estimated_cost_usd = excluded.estimated_cost_usd, meta_json = excluded.meta_json",
            (job_row_id, run_id, job["id"], job["status"], job.get("prompt") or "", job.get("selected_candidate"),
             float(job.get("estimated_cost_usd") or 0), to_json(meta), utcnow()))
        job_row_id = self.conn.execute("SELECT id FROM run_jobs WHERE run_id = ? AND job_key = ?",
                                       (run_id, job["id"])).fetchone()[0]
        reports = 0
        final_asset = None
        for candidate in job.get("candidates", []):
            output_id, candidate_final = self._candidate_assets(run_id, job, candidate, inputs, register_files)
            if job.get("selected_candidate") == candidate["candidate_index"] and candidate_final:
                final_asset = candidate_final
            reports += self._candidate_row(log, job_row_id, job, candidate, output_id, candidate_final)
        if final_asset and job["status"] == "done":
            final_path = abs_path(self.root, job.get("final_output"))
            if final_path is not None and final_path.is_file():
                self.conn.execute("UPDATE assets SET kind = 'final' WHERE id = ?", (final_asset,))
        self.conn.execute("UPDATE run_jobs SET final_asset_id = ? WHERE id = ?", (final_asset, job_row_id))
        return {"candidates": len(job.get("candidates", [])), "quality_reports": reports}

    def _candidate_assets(self, run_id: str, job: dict[str, Any], candidate: dict[str, Any],
                          inputs: list[str | None], register_files: bool) -> tuple[str | None, str | None]:
        if not register_files or candidate["status"] == "planned":
            return None, None
        index = candidate["candidate_index"]
        meta = {"run_id": run_id, "job_id": job["id"], "candidate_index": index, "seed": candidate.get("seed")}
        guard = candidate.get("output_guard") or {}
        bad = guard.get("bad_archive")
        output_path = candidate.get("output")
        if bad and guard.get("checked_input") == output_path:
            output_path = bad  # the raw file itself failed the guard and now lives in archive/bad
            meta["archived"] = "bad"
        output_id = self.asset(output_path, "generated", run_id, {**meta, "role": "candidate_output"})
        if output_id and inputs:
            self.link(inputs[0], output_id, "derived_from")
            for parent in inputs[1:]:
                self.link(parent, output_id, "reference_of")
        current = output_id
        for step in ("bg_remove", "upscale", "color"):
            record = candidate.get(step) or {}
            path = record.get("output")
            if bad and guard.get("checked_input") == path:
                path = bad
            step_id = self.asset(path, POST_KINDS[step], run_id, {**meta, "role": step})
            if step_id:
                self.link(current, step_id, "derived_from")
                current = step_id
        final_id = current if candidate["status"] == "done" else None
        return output_id, final_id

    def _candidate_row(self, log: dict[str, Any], job_row_id: str, job: dict[str, Any], candidate: dict[str, Any],
                       output_id: str | None, final_id: str | None) -> int:
        rank = candidate.get("rank") or {}
        guard = candidate.get("output_guard") or {}
        files = guard.get("files") or []
        chroma = files[0].get("chroma_delta") if files else None
        latency = sum(int(a.get("latency_ms") or 0) for a in candidate.get("attempts", [])) or None
        row_id = stable_id("run_candidate", log["run_id"], job["id"], candidate["candidate_index"])
        self.conn.execute(
            "INSERT INTO run_candidates (id, job_id, candidate_index, status, output_asset_id, final_asset_id, "
            "rank_hard_failures, rank_soft_warnings, rank_avg_chroma_exceed, chroma_delta, rank_position, seed, "
            "cost_usd, latency_ms, meta_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(job_id, candidate_index) DO UPDATE SET status = excluded.status, "
            "output_asset_id = COALESCE(excluded.output_asset_id, output_asset_id), "
            "final_asset_id = excluded.final_asset_id, rank_hard_failures = excluded.rank_hard_failures, "
            "rank_soft_warnings = excluded.rank_soft_warnings, "
            "rank_avg_chroma_exceed = excluded.rank_avg_chroma_exceed, chroma_delta = excluded.chroma_delta, "
            "rank_position = excluded.rank_position, seed = excluded.seed, cost_usd = excluded.cost_usd, "
            "latency_ms = excluded.latency_ms, meta_json = excluded.meta_json",
            (row_id, job_row_id, candidate["candidate_index"], candidate["status"], output_id, final_id,
             int(rank.get("hard_failures") or 0), int(rank.get("soft_warnings") or 0),
             float(rank.get("avg_chroma_exceed") or 0), chroma, candidate.get("rank_position"),
             candidate.get("seed"), float(candidate.get("cost_usd") or 0), latency, to_json(candidate), utcnow()))
        if not guard.get("summary"):
            return 0
        candidate_row = self.conn.execute("SELECT id FROM run_candidates WHERE job_id = ? AND candidate_index = ?",
                                          (job_row_id, candidate["candidate_index"])).fetchone()[0]
        summary = guard["summary"]
        verdict = "fail" if summary.get("hard_failures") else ("warn" if summary.get("soft_warnings") else "pass")
        self.conn.execute(
            "INSERT INTO quality_reports (id, project_id, run_id, job_id, candidate_id, asset_id, report_type, "
            "verdict, chroma_delta, summary_json, created_at) VALUES (?, ?, ?, ?, ?, ?, 'output_guard', ?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET asset_id = excluded.asset_id, verdict = excluded.verdict, "
            "chroma_delta = excluded.chroma_delta, summary_json = excluded.summary_json",
            (stable_id("quality_report", log["run_id"], job["id"], candidate["candidate_index"], "output_guard"),
             self.project_id, log["run_id"], job_row_id, candidate_row, final_id or output_id, verdict, chroma,
             to_json({"status": candidate["status"], "rank": rank, **guard}), utcnow()))
        return 1

    def cost_events(self, log: dict[str, Any], only_job: str | None = None) -> int:
        written = 0
        for event in log.get("cost_events", []):
            if only_job is not None and event.get("job_id") != only_job:
                continue
            meta = {key: value for key, value in event.items()
                    if key not in ("provider_code", "operation_code", "model", "units", "cost_usd", "currency",
                                   "event_key", "job_id", "candidate_index")}
            self.conn.execute(
                "INSERT INTO cost_events (id, project_id, run_id, job_key, candidate_index, provider_code, "
                "operation_code, model_name, units, cost_usd, currency, event_key, meta_json, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(project_id, event_key) DO UPDATE SET cost_usd = excluded.cost_usd, "
                "units = excluded.units, model_name = excluded.model_name, meta_json = excluded.meta_json",
                (stable_id("cost_event", self.project_id, event["event_key"]), self.project_id, log["run_id"],
                 event.get("job_id"), event.get("candidate_index"), event["provider_code"], event["operation_code"],
                 event.get("model"), float(event.get("units") or 0), float(event["cost_usd"] or 0),
                 event.get("currency") or "USD", event["event_key"], to_json(meta), event.get("at") or utcnow()))
            written += 1
        return written
