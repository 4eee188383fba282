"""Files that move while a run is mirrored into the catalog: a candidate that fails the guard is
moved to archive/bad by its worker while the catalog mirror may be registering it from a snapshot
taken a moment before. Ingest registers the file where the run log says it is now, or skips it
with a note when it is really gone; it never crashes."""

from __future__ import annotations

import copy
import logging
import threading
from pathlib import Path

import pytest

from kroma_kit.catalog.runs import ingest_log_data, ingest_run_log
from kroma_kit.pipeline.execute import execute_run
from kroma_kit.storage.runlog import read_run_log
from tests.pipeline.runsupport import local_request, table_counts

# The local provider draws in colour unless the manifest enforces grayscale (then it draws grey and
# passes), so "every candidate fails hard" is a chroma threshold the coloured outputs all exceed.
STRICT = {"output_guard": {"max_chroma_delta": 1.0, "fail_on_chroma_exceed": True}}


def candidate_assets(workspace, run_id: str) -> dict[tuple[str, int], str | None]:
    conn = workspace.connect()
    try:
        rows = conn.execute(
            "SELECT j.job_key, c.candidate_index, a.storage_uri FROM run_candidates c "
            "JOIN run_jobs j ON j.id = c.job_id LEFT JOIN assets a ON a.id = c.output_asset_id "
            "WHERE j.run_id = ?", (run_id,)).fetchall()
    finally:
        conn.close()
    return {(row[0], row[1]): row[2] for row in rows}


def dangling_assets(workspace) -> list[str]:
    conn = workspace.connect()
    try:
        uris = [row[0] for row in conn.execute("SELECT storage_uri FROM assets").fetchall()]
    finally:
        conn.close()
    return [uri for uri in uris if not Path(uri).is_file()]


@pytest.mark.slow
def test_four_workers_and_a_guard_that_fails_everything_never_crash_the_catalog_mirror(
        workspace, demo, monkeypatch, caplog):
    """The reported race: with four workers archiving failures, the mirror hashed a file its worker
    had just moved (FileNotFoundError, the mirror thread died). Six candidates a job and eight runs
    made it happen every time before the fix (first hit within 1 to 7 runs, ten tries)."""
    thread_errors: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: thread_errors.append(args.exc_value))
    caplog.set_level(logging.WARNING, logger="kroma_kit")
    root = Path(demo["root"])
    for _ in range(8):
        summary = execute_run(workspace, local_request(candidates=6, manifest_overrides=STRICT), concurrency=4)
        log = read_run_log(summary.run_log_path)
        candidates = [(job["id"], c) for job in log["jobs"] for c in job["candidates"]]
        assert summary.status == "failed" and len(candidates) == 24
        assert {c["status"] for _, c in candidates} == {"failed_output_guard"}
        registered = candidate_assets(workspace, summary.run_id)
        for job_id, candidate in candidates:
            archived = root / candidate["output_guard"]["bad_archive"]
            assert archived.is_file()
            assert registered[(job_id, candidate["candidate_index"])] == archived.resolve().as_posix()
    assert thread_errors == []
    problems = [r.getMessage() for r in caplog.records if "crashed" in r.getMessage() or "deferred" in r.getMessage()]
    assert problems == []
    assert dangling_assets(workspace) == []  # rows registered before a move moved with their file


def _as_seen_before_the_guard(log: dict) -> dict:
    """The log as a snapshot taken just before the candidates settled: ``generated``, in outputs/."""
    stale = copy.deepcopy(log)
    for job in stale["jobs"]:
        job.update(status="running", selected_candidate=None, final_output=None, output=None)
        for candidate in job["candidates"]:
            candidate.update(status="generated", output_guard=None, final_output=None)
    return stale


def test_a_stale_snapshot_registers_each_file_where_the_log_says_it_is_now(workspace, demo):
    summary = execute_run(workspace, local_request(scenes=1, candidates=2, manifest_overrides=STRICT),
                          concurrency=1)
    path = Path(summary.run_log_path)
    log = read_run_log(path)
    root = Path(demo["root"])
    assert not list((root / "outputs").glob("*.png"))  # both were moved to archive/bad

    result = ingest_log_data(workspace, _as_seen_before_the_guard(log), path)

    assert result["missing_files"] == 0 and result["notes"] == []
    registered = candidate_assets(workspace, summary.run_id)
    for candidate in log["jobs"][0]["candidates"]:
        archived = (root / candidate["output_guard"]["bad_archive"]).resolve().as_posix()
        assert registered[("style_1_street", candidate["candidate_index"])] == archived
    before = table_counts(workspace)
    ingest_run_log(workspace, path)  # and the settled log agrees: the same rows
    assert table_counts(workspace) == before


def test_a_file_that_is_really_gone_is_skipped_with_a_note(workspace, demo):
    summary = execute_run(workspace, local_request(scenes=1, candidates=2, manifest_overrides=STRICT),
                          concurrency=1)
    log = read_run_log(summary.run_log_path)
    gone = log["jobs"][0]["candidates"][0]["output_guard"]["bad_archive"]
    (Path(demo["root"]) / gone).unlink()

    result = ingest_run_log(workspace, summary.run_log_path)

    assert result["missing_files"] == 1
    assert result["notes"] == [f"skipped {gone}: not on disk (moved or deleted)"]
    registered = candidate_assets(workspace, summary.run_id)
    kept = log["jobs"][0]["candidates"][1]["output_guard"]["bad_archive"]
    assert registered[("style_1_street", 2)] == (Path(demo["root"]) / kept).resolve().as_posix()
