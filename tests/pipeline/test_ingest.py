"""Catalog ingest of run logs (idempotent), reading runs back, and finding runs whose process died."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from kroma_kit.catalog.runs import get_run, ingest_log_data, ingest_run_log, list_runs, mark_interrupted_runs
from kroma_kit.errors import InputError, NotFoundError
from kroma_kit.pipeline.execute import dry_run, execute_run
from kroma_kit.storage.atomic import atomic_write_json
from kroma_kit.storage.runlog import job_entry, read_run_log
from tests.pipeline.runsupport import local_request, table_counts


def test_ingest_twice_gives_the_same_rows(workspace, demo):
    summary = execute_run(workspace, local_request(scenes=2, candidates=2))
    first = table_counts(workspace)
    result = ingest_run_log(workspace, summary.run_log_path)
    again = ingest_run_log(workspace, summary.run_log_path)
    assert table_counts(workspace) == first
    assert result["jobs"] == 2 and result["candidates"] == 4 and result["cost_events_written"] == 4
    # output_guard + continuity (model_score) per candidate
    assert result["quality_reports_written"] == again["quality_reports_written"] == 8
    assert result["missing_files"] == 0
    conn = workspace.connect()
    try:
        ingests = conn.execute("SELECT COUNT(*) FROM audit_events WHERE event_code = 'run.ingested'").fetchone()[0]
    finally:
        conn.close()
    assert ingests == 3  # the run's own final ingest plus the two here: an audit trail, not state


def catalog_rows(ws) -> dict[str, list[tuple]]:
    """Every row of the tables a run's ingest writes (audit events aside: a trail, not state)."""
    conn = ws.connect()
    try:
        return {table: sorted((tuple(row) for row in conn.execute(f"SELECT * FROM {table}").fetchall()), key=repr)
                for table in ("runs", "run_jobs", "run_candidates", "assets", "asset_links", "quality_reports",
                              "cost_events")}
    finally:
        conn.close()


def ingest_events(ws) -> list[dict]:
    conn = ws.connect()
    try:
        rows = conn.execute("SELECT payload_json FROM audit_events WHERE event_code = 'run.ingested'").fetchall()
    finally:
        conn.close()
    return [json.loads(row[0]) for row in rows]


def test_the_closing_ingest_skips_jobs_the_mirror_wrote_as_they_are_and_loses_nothing(workspace, demo):
    summary = execute_run(workspace, local_request(scenes=2, candidates=2), concurrency=2)
    [closing] = ingest_events(workspace)  # the run's own closing ingest
    # A job the mirror committed as it is now is skipped; the one that settled last (left to this
    # ingest by the mirror's close) is written here: between them, every job.
    assert closing["jobs"] == 2 and 0 <= closing["jobs_unchanged"] <= 2
    before = catalog_rows(workspace)
    assert ingest_run_log(workspace, summary.run_log_path)["jobs_unchanged"] == 0  # in full
    assert catalog_rows(workspace) == before


def test_a_job_changed_since_the_mirror_wrote_it_is_written_again(workspace, demo):
    summary = dry_run(workspace, local_request(scenes=2))
    path = Path(summary.run_log_path)
    data = json.loads(path.read_text())
    first, second = data["jobs"]
    as_mirrored = {first["id"]: job_entry(copy.deepcopy(first)).to_json_bytes()}
    first["status"] = second["status"] = "failed"
    as_mirrored[second["id"]] = job_entry(copy.deepcopy(second)).to_json_bytes()  # pretend the mirror committed this one as it is now
    result = ingest_log_data(workspace, data, path, mirrored=as_mirrored)
    assert result["jobs_unchanged"] == 1
    statuses = {job["job_key"]: job["status"] for job in get_run(workspace, summary.run_id)["jobs"]}
    # the changed job is written; the one taken as mirrored is not touched (its row is the dry run's)
    assert statuses == {first["id"]: "failed", second["id"]: "planned"}


def test_get_run_returns_jobs_candidates_and_costs_matching_the_log(workspace, demo):
    summary = execute_run(workspace, local_request(scenes=2, candidates=3))
    log = read_run_log(summary.run_log_path)
    run = get_run(workspace, summary.run_id)
    assert run["status"] == "done" and run["project_slug"] == "demo" and run["jobs_done"] == 2
    assert run["run_log_path"] == f"runs/{summary.run_id}.json"
    assert run["settings_snapshot"]["manifest_hash"] == log["manifest_hash"]
    conn = workspace.connect()
    try:
        final_assets = {job["id"]: conn.execute(
            "SELECT id FROM assets WHERE storage_uri = ?",
            ((Path(demo["root"]) / job["final_output"]).resolve().as_posix(),)).fetchone()[0] for job in log["jobs"]}
    finally:
        conn.close()
    for job_row, job in zip(run["jobs"], log["jobs"], strict=True):
        assert job_row["job_key"] == job["id"] and job_row["selected_candidate_index"] == job["selected_candidate"]
        assert job_row["final_asset_id"] == final_assets[job["id"]]  # the asset of the winner's file
        for cand_row, cand in zip(job_row["candidates"], job["candidates"], strict=True):
            assert (cand_row["status"], cand_row["seed"], cand_row["rank_position"]) == (
                cand["status"], cand["seed"], cand["rank_position"])
            assert cand_row["rank_avg_chroma_exceed"] == pytest.approx(cand["rank"]["avg_chroma_exceed"])
    assert len(run["cost_events"]) == 6
    assert get_run(workspace, summary.run_id[:8])["id"] == summary.run_id
    with pytest.raises(NotFoundError, match="Unknown run 'nope'"):
        get_run(workspace, "nope")


def test_list_runs_newest_first_with_failures_counted(workspace, demo):
    planned = dry_run(workspace, local_request(scenes=1))
    done = execute_run(workspace, local_request(scenes=1, candidates=1))
    runs = list_runs(workspace, "demo")
    assert [run["id"] for run in runs] == [done.run_id, planned.run_id]
    assert [(run["status"], run["run_mode"], run["jobs_failed"]) for run in runs] == [
        ("done", "run", 0), ("planned", "dry", 0)]


def _running_log(workspace, demo, pid: int, host: str | None = None) -> tuple[str, Path]:
    summary = dry_run(workspace, local_request(scenes=1))
    path = Path(summary.run_log_path)
    log = json.loads(path.read_text())
    log.update(mode="run", status="running", pid=pid, process_start=None)
    if host:
        log["host"] = host
    atomic_write_json(path, log)
    ingest_run_log(workspace, path)
    return summary.run_id, path


def test_a_running_run_whose_process_is_gone_becomes_interrupted(workspace, demo):
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    alive, _ = _running_log(workspace, demo, __import__("os").getpid())
    elsewhere, _ = _running_log(workspace, demo, child.pid, host="another-machine")
    dead, dead_log = _running_log(workspace, demo, child.pid)  # last: a new dry run recovers first
    before = dead_log.read_bytes()
    assert {run["id"]: run["status"] for run in list_runs(workspace, "demo")}[dead] == "running"
    assert get_run(workspace, dead)["status"] == "running"
    assert dead_log.read_bytes() == before  # reading the catalog never writes a run log
    assert mark_interrupted_runs(workspace, "demo") == [dead]
    statuses = {run["id"]: run["status"] for run in list_runs(workspace, "demo")}
    assert statuses == {dead: "interrupted", alive: "running", elsewhere: "running"}
    log = read_run_log(dead_log)
    assert log["status"] == "interrupted" and f"process {child.pid}" in log["status_reason"]
    assert get_run(workspace, dead)["status_reason"] == log["status_reason"]
    assert mark_interrupted_runs(workspace) == []  # already marked


def test_ingest_refuses_a_log_of_another_project(workspace, demo, tmp_path):
    summary = dry_run(workspace, local_request(scenes=1))
    log = json.loads(Path(summary.run_log_path).read_text())
    log["project_id"] = "someone-else"
    other = tmp_path / "other.json"
    other.write_text(json.dumps(log))
    with pytest.raises(InputError, match="another project"):
        ingest_run_log(workspace, other)


def test_a_second_live_run_of_the_same_jobs_is_refused(workspace, demo):
    import os

    _running_log(workspace, demo, os.getpid())  # a live run (this process) holding style_1_street
    with pytest.raises(InputError, match="is still running job\\(s\\) style_1_street"):
        execute_run(workspace, local_request(scenes=1, candidates=1))
    other_stage = execute_run(workspace, local_request(scenes=1, candidates=1, stage="time"))
    assert other_stage.status == "done"
