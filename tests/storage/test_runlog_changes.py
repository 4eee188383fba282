"""The named changes of a live run log (:class:`~kroma_kit.storage.runlog.RunLog`): what the
executor and the review say happened, and what the file then holds."""

from __future__ import annotations

import json

from kroma_kit.storage.runlog import JobSettlement, load_run_log
from kroma_kit.storage.runlog_live import RunLog
from tests.storage.runlog_rows import FIXTURES

DEMO = FIXTURES / "demo_run.json"
JOB = "style_1_street"  # ranked candidate 2 the winner


def live_log(tmp_path) -> RunLog:
    return RunLog(tmp_path / "runs" / "r.json", json.loads(DEMO.read_text()))


def review(index: int) -> dict:
    return {"candidate_index": index, "final_output": f"outputs/{JOB}__c{index}.png", "note": "kept the hat"}


def test_reads_are_copies_that_cannot_change_the_log(tmp_path):
    log = live_log(tmp_path)
    job = log.job(JOB)
    job.status = "failed"
    job.candidates[0].status = "failed"
    assert log.job(JOB).status == "done" and log.candidate(JOB, 1).status == "done"
    assert not hasattr(log, "data") and not hasattr(log, "update")


def test_a_settled_job_keeps_the_winner_an_artist_chose(tmp_path):
    log = live_log(tmp_path)
    log.choose_winner(JOB, 3, review(3), "chosen by local: kept the hat")
    ranking = [{"position": 1, "candidate_index": 1, "status": "done", "eligible": True}]
    settled = log.settle_job(JOB, JobSettlement("done", None, 0, ranking=ranking, positions={1: 1}, winner_index=1,
                                                winner_reason="fewest problems"))
    on_disk = load_run_log(log.path).job(JOB)
    assert (settled.selected_candidate, on_disk.selected_candidate) == (3, 3)
    assert on_disk.winner_override["note"] == "kept the hat"
    assert [entry.get("source") for entry in on_disk.winner_history] == ["ranking", "human_review"]
    assert [c.rank_position for c in on_disk.candidates] == [1, None, None]


def test_a_settled_job_without_an_override_takes_the_ranking_winner(tmp_path):
    log = live_log(tmp_path)
    settled = log.settle_job(JOB, JobSettlement("done", None, 0, ranking=[], positions={3: 1}, winner_index=3,
                                                winner_reason="fewest problems"))
    assert (settled.selected_candidate, settled.final_output, settled.winner_reason) == (
        3, f"outputs/{JOB}__c3.png", "fewest problems")


def test_a_job_nothing_was_tried_for_only_says_why(tmp_path):
    log = live_log(tmp_path)
    settled = log.settle_job(JOB, JobSettlement("skipped_budget", "budget reached", 3))
    assert (settled.status, settled.failure_reason, settled.candidates_not_started) == (
        "skipped_budget", "budget reached", 3)
    assert settled.selected_candidate == 2  # the earlier winner is not touched


def test_a_guard_failure_records_where_its_file_was_moved_and_its_post_cost(tmp_path):
    log = live_log(tmp_path)
    before = log.candidate(JOB, 1).cost_usd
    moves = []

    def move_failing() -> str:
        moves.append(log.candidate(JOB, 1).status)  # runs before the entry changes, under the lock
        return "archive/bad/c1.png"

    settled = log.settle_candidate_guard(JOB, 1, move_failing=move_failing, add_cost_usd=0.25,
                                         status="failed_output_guard", output_guard={"checked_input": "x.png"},
                                         final_output=None)
    assert moves == ["done"]
    on_disk = load_run_log(log.path).job(JOB).candidate(1)
    assert on_disk.output_guard == {"checked_input": "x.png", "bad_archive": "archive/bad/c1.png"}
    assert (settled.status, on_disk.cost_usd) == ("failed_output_guard", round(before + 0.25, 6))


def test_a_crashed_candidate_fails_only_when_it_had_not_settled(tmp_path):
    log = live_log(tmp_path)
    log.fail_unsettled_candidate(JOB, 1, "internal error")
    assert log.candidate(JOB, 1).status == "done"
    log.set_candidate(JOB, 2, status="generated")
    log.fail_unsettled_candidate(JOB, 2, "internal error")
    assert (log.candidate(JOB, 2).status, log.candidate(JOB, 2).error) == ("failed", "internal error")


def test_a_resume_reopens_only_unpaid_failures_of_jobs_without_a_winner(tmp_path):
    log = live_log(tmp_path)
    other = "style_2_room"
    log.set_job(JOB, status="failed")
    log.set_candidate(JOB, 1, status="failed", error="HTTP 500", cost_usd=0.0)
    log.set_candidate(JOB, 2, status="failed", error="paid, not saved", cost_usd=0.04)
    log.set_candidate(other, 1, status="failed", error="HTTP 500", cost_usd=0.0)  # its job is done
    log.reopen_unpaid_failures()
    first, paid = log.candidate(JOB, 1), log.candidate(JOB, 2)
    assert (first.status, first.error, first.get("previous_failures")[0]["error"]) == ("planned", None, "HTTP 500")
    assert (paid.status, log.candidate(other, 1).status) == ("failed", "failed")


def test_a_resume_keeps_what_the_run_was_and_says_running(tmp_path):
    log = live_log(tmp_path)
    log.set_run(status="partial", status_reason="budget reached")
    before = log.head().actual_cost_usd
    log.begin_resume(pid=4242, host="render-01", process_start="123.00", budgets={"per_run_usd": 5.0}, concurrency=2)
    on_disk = load_run_log(log.path)
    assert (on_disk.status, on_disk.status_reason, on_disk.pid, on_disk.concurrency) == ("running", None, 4242, 2)
    assert on_disk.resumes[-1]["previous_status"] == "partial"
    assert on_disk.resumes[-1]["previous_actual_cost_usd"] == before
