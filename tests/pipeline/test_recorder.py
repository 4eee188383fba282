"""The live catalog mirror (:mod:`kroma_kit.pipeline.recorder`) on a real run log and a real
catalog: what one write copies, what ``close(flush=False)`` leaves to the closing ingest, and
that nothing is lost between them."""

from __future__ import annotations

import time
from pathlib import Path

from kroma_kit.catalog.projects import get_project
from kroma_kit.catalog.runs import get_run, ingest_log_data
from kroma_kit.pipeline.execute import execute_run
from kroma_kit.pipeline.recorder import CatalogRecorder
from kroma_kit.pipeline.runlog import RunLog
from kroma_kit.security.audit_hooks import ARCHIVED
from tests.pipeline.runsupport import local_request


def _finished_run(workspace) -> RunLog:
    summary = execute_run(workspace, local_request(scenes=2, candidates=2))
    return RunLog.open(Path(summary.run_log_path))


def _wait_mirrored(recorder: CatalogRecorder, job_id: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while job_id not in recorder.mirrored_jobs():
        assert time.monotonic() < deadline, f"the mirror never wrote {job_id}"
        time.sleep(0.02)


def _audit_count(workspace, code: str) -> int:
    conn = workspace.connect()
    try:
        return conn.execute("SELECT COUNT(*) FROM audit_events WHERE event_code = ?", (code,)).fetchone()[0]
    finally:
        conn.close()


def test_a_mirror_copy_holds_the_named_jobs_their_costs_and_the_counts_of_all(workspace, demo):
    runlog = _finished_run(workspace)
    first, second = runlog.job_ids()
    copy = runlog.mirror_copy({second})
    assert [job.id for job in copy.log.jobs] == [second]
    assert {event.job_id for event in copy.log.cost_events} == {second}
    assert copy.jobs_total == 2 and copy.jobs_done == sum(1 for job in runlog.model.jobs if job.status == "done")
    assert copy.log.run_id == runlog.run_id and copy.log.status == runlog.model.status
    assert copy.log.job(second).to_json_data() == runlog.job(second).to_json_data()  # the job as it is, whole
    whole = runlog.mirror_copy(None)
    assert [job.id for job in whole.log.jobs] == [first, second] and len(whole.log.cost_events) == 4


def test_close_without_flush_leaves_pending_jobs_to_the_closing_ingest_and_loses_nothing(workspace, demo):
    runlog = _finished_run(workspace)
    project = get_project(workspace, "demo")
    first, second = runlog.job_ids()
    archived_before = _audit_count(workspace, ARCHIVED)

    recorder = CatalogRecorder(workspace, project, runlog)
    recorder.record(first)
    _wait_mirrored(recorder, first)
    # A change the mirror is still gathering when the run closes, and an audit event queued with it.
    runlog.set_job(second, status="failed", failure_reason="changed after the mirror's last write")
    recorder.audit_moves([{"from": "outputs/a.png", "to": "archive/bad/a.png"}], reason="failed_output_guard")
    recorder.record(second)
    recorder.close(flush=False)

    assert _audit_count(workspace, ARCHIVED) == archived_before + 1  # queued audit events are written anyway
    mirrored = recorder.mirrored_jobs()
    assert first in mirrored
    result = ingest_log_data(workspace, runlog.current_model, runlog.path, mirrored=mirrored)
    assert result["jobs_unchanged"] == len(mirrored) >= 1
    statuses = {job["job_key"]: job["status"] for job in get_run(workspace, runlog.run_id)["jobs"]}
    assert statuses[second] == "failed"  # the change the mirror left is written by the closing ingest
