"""Write-behind of a live run log (what a run's workers use): a change returns once it is in
memory, the background writer puts the newest snapshot on disk, every file seen on the way is
one whole valid log, and stopping writes whatever is still pending."""

from __future__ import annotations

import json
import threading

from kroma_kit.storage.runlog import load_run_log, parse_run_log
from kroma_kit.storage.runlog_live import RunLog
from tests.storage.runlog_rows import FIXTURES

DEMO = FIXTURES / "demo_run.json"


def test_changes_made_behind_the_workers_all_reach_the_file(tmp_path):
    log = RunLog(tmp_path / "runs" / "r.json", json.loads(DEMO.read_text()))
    log.save()
    jobs = log.job_ids()
    seen: list[str] = []
    done = threading.Event()

    def watch() -> None:  # every file on disk while the writer works is one whole, valid log
        while not done.is_set():
            seen.append(parse_run_log(json.loads(log.path.read_bytes())).updated_at or "")

    watcher = threading.Thread(target=watch)
    watcher.start()
    log.start_write_behind()
    try:
        def settle(job_id: str) -> None:
            for index in (1, 2, 3):
                log.set_candidate(job_id, index, status="failed", error=f"{job_id} c{index} stopped")
        threads = [threading.Thread(target=settle, args=(job_id,)) for job_id in jobs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        log.stop_write_behind()
        done.set()
        watcher.join()
    on_disk = load_run_log(log.path)
    assert {(job.id, c.candidate_index): c.error for job in on_disk.jobs for c in job.candidates} == {
        (job_id, index): f"{job_id} c{index} stopped" for job_id in jobs for index in (1, 2, 3)}
    assert seen  # the watcher read the file while it was being rewritten


def test_a_change_that_moves_a_file_waits_for_its_write(tmp_path):
    log = RunLog(tmp_path / "runs" / "r.json", json.loads(DEMO.read_text()))
    log.save()
    job_id = log.job_ids()[0]
    log.start_write_behind()
    try:
        guard = {"checked_input": "outputs/x.png", "summary": {"hard_failures": 1}}
        log.settle_candidate_guard(job_id, 1, move_failing=lambda: "archive/bad/x.png", status="failed_output_guard",
                                   output_guard=guard)
        # No stop, no flush: the write that says where the file went is already on disk.
        written = load_run_log(log.path).job(job_id).candidate(1)
        assert (written.status, written.output_guard["bad_archive"]) == ("failed_output_guard", "archive/bad/x.png")
    finally:
        log.stop_write_behind()


def test_a_stop_without_flush_leaves_what_is_pending_to_the_next_write(tmp_path):
    """A run stops its writer with ``flush=False`` because settling the run writes next: one write
    of the file, not two back to back, and nothing pending is lost."""
    log = RunLog(tmp_path / "runs" / "r.json", json.loads(DEMO.read_text()))
    log.save()
    job_id = log.job_ids()[0]
    log.start_write_behind()
    log.set_candidate(job_id, 1, status="failed", error="pending", write=False)  # in memory only
    log.stop_write_behind(flush=False)
    assert load_run_log(log.path).job(job_id).candidate(1).error != "pending"  # the stop wrote nothing
    log.set_run(status_reason="settled")  # the next change writes (and waits for) everything pending
    on_disk = load_run_log(log.path)
    assert (on_disk.job(job_id).candidate(1).error, on_disk.status_reason) == ("pending", "settled")
