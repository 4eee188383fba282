"""The artist's choice against the machinery around it: re-ingesting a reviewed log keeps a forced
winner, an executor holding the log in memory adopts an override instead of overwriting it, a
resume keeps the choice through a re-rank, and an override made while a run is live (from another
process, the CLI) lands in the log and the catalog and stays there."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from kroma_kit.catalog.runs import get_run, ingest_run_log
from kroma_kit.errors import InputError
from kroma_kit.pipeline.execute import execute_run
from kroma_kit.pipeline.resume import resume_run
from kroma_kit.pipeline.review import override_winner
from kroma_kit.pipeline.runlog import RunLog, read_run_log, this_host
from kroma_kit.storage.atomic import atomic_write_json
from tests.conftest import REPO_ROOT, cli_env
from tests.pipeline.runsupport import local_request, table_counts

STRICT = {"output_guard": {"max_chroma_delta": 1.0, "fail_on_chroma_exceed": True}}
UPSCALE = {"upscale": True, "upscale_backend": "lanczos"}


def log_job(path: str | Path, job_key: str) -> dict:
    return next(job for job in read_run_log(path)["jobs"] if job["id"] == job_key)


def catalog_job(workspace, run_id: str, job_key: str) -> dict:
    return next(job for job in get_run(workspace, run_id)["jobs"] if job["job_key"] == job_key)


def asset_uri(workspace, asset_id: str | None) -> str | None:
    conn = workspace.connect()
    try:
        row = conn.execute("SELECT storage_uri FROM assets WHERE id = ?", (asset_id,)).fetchone()
    finally:
        conn.close()
    return row[0] if row else None


def assert_catalog_follows_the_log(workspace, root: Path, run_id: str, log_path: str | Path) -> None:
    for job in read_run_log(log_path)["jobs"]:
        row = catalog_job(workspace, run_id, job["id"])
        assert row["selected_candidate_index"] == job["selected_candidate"], job["id"]
        assert row["meta"].get("winner_override") == job.get("winner_override"), job["id"]
        if job["final_output"]:
            assert asset_uri(workspace, row["final_asset_id"]) == (root / job["final_output"]).resolve().as_posix()


def other_done(job: dict) -> int:
    return next(c["candidate_index"] for c in job["candidates"]
                if c["status"] == "done" and c["candidate_index"] != job["selected_candidate"])


@pytest.mark.parametrize("postprocess", [None, UPSCALE], ids=["raw", "upscaled"])
def test_reingest_keeps_a_forced_winner_from_archive_bad(workspace, demo, postprocess):
    summary = execute_run(workspace, local_request(scenes=1, candidates=2, manifest_overrides=STRICT,
                                                   postprocess=postprocess), concurrency=1)
    root = Path(demo["root"])
    result = override_winner(workspace, summary.run_id, "style_1_street", 2, note="the rain reads well", force=True)
    job = log_job(summary.run_log_path, "style_1_street")
    assert job["status"] == "failed_output_guard" and job["final_output"].startswith("archive/bad/")
    chosen = catalog_job(workspace, summary.run_id, "style_1_street")
    assert asset_uri(workspace, chosen["final_asset_id"]) == result["final_output"]  # the archived last file
    counts = table_counts(workspace)

    ingest_run_log(workspace, summary.run_log_path)
    ingest_run_log(workspace, summary.run_log_path)

    again = catalog_job(workspace, summary.run_id, "style_1_street")
    assert (again["selected_candidate_index"], again["final_asset_id"]) == (2, chosen["final_asset_id"])
    assert table_counts(workspace) == counts
    assert_catalog_follows_the_log(workspace, root, summary.run_id, summary.run_log_path)


def test_a_log_held_in_memory_adopts_an_override_instead_of_overwriting_it(workspace, demo):
    """What ``resume_run`` does: read the log, keep it in memory, write it as the run goes on."""
    summary = execute_run(workspace, local_request(scenes=1, candidates=2))
    held = RunLog(Path(summary.run_log_path), read_run_log(summary.run_log_path))
    chosen = other_done(held.job_snapshot("style_1_street").to_json_data())

    override_winner(workspace, summary.run_id, "style_1_street", chosen, note="kept the hat")
    held.set_run(status_reason="still going")  # the executor's next write

    job = log_job(summary.run_log_path, "style_1_street")
    assert job["selected_candidate"] == chosen and job["winner_override"]["note"] == "kept the hat"
    assert held.job("style_1_street").selected_candidate == chosen
    assert read_run_log(summary.run_log_path)["status_reason"] == "still going"  # its own change kept too


def test_resume_keeps_a_forced_choice_through_the_re_rank(workspace, demo):
    cancel = threading.Event()
    done = []

    def stop_after_two(event) -> None:
        if event.kind == "candidate_done":
            done.append(event)
            if len(done) == 2:
                cancel.set()

    first = execute_run(workspace, local_request(scenes=1, candidates=3, manifest_overrides=STRICT),
                        concurrency=1, cancel=cancel, on_event=stop_after_two)
    job = log_job(first.run_log_path, "style_1_street")
    assert first.status == "partial"
    assert [c["status"] for c in job["candidates"]] == ["failed_output_guard", "failed_output_guard", "planned"]
    override_winner(workspace, first.run_id, "style_1_street", 2, note="best of a bad lot", force=True)

    resumed = resume_run(workspace, first.run_id)  # candidate 3 runs, fails too, the job is ranked again

    job = log_job(first.run_log_path, "style_1_street")
    assert resumed.status == "failed" and job["candidates"][2]["status"] == "failed_output_guard"
    assert job["selected_candidate"] == 2 and job["final_output"].startswith("archive/bad/")
    assert job["winner_override"]["note"] == "best of a bad lot"
    assert_catalog_follows_the_log(workspace, Path(demo["root"]), first.run_id, first.run_log_path)


def test_an_override_from_the_cli_during_a_resume_lands_and_stays(workspace, demo, kroma_home):
    cancel = threading.Event()
    first = execute_run(workspace, local_request(scenes=2, candidates=2), concurrency=1, cancel=cancel,
                        on_event=lambda e: cancel.set() if e.kind == "candidate_done" and e.candidate_index == 2
                        else None)
    assert first.status == "partial"
    chosen = other_done(log_job(first.run_log_path, "style_1_street"))
    live, go = threading.Event(), threading.Event()

    def hold_first_call(event) -> None:  # the resume is live (log and catalog say running) and waits
        if event.kind == "started" and not live.is_set():
            live.set()
            go.wait(60)

    outcome: dict = {}
    worker = threading.Thread(target=lambda: outcome.update(summary=resume_run(workspace, first.run_id,
                                                                               on_event=hold_first_call)))
    worker.start()
    try:
        assert live.wait(60)
        assert read_run_log(first.run_log_path)["status"] == "running"
        done = subprocess.run([sys.executable, "-m", "kroma_kit", "review", "set-winner", "--run", first.run_id,
                               "--job", "style_1_street", "--candidate", str(chosen), "--note", "during the resume",
                               "--json"], capture_output=True, text=True, env=cli_env(kroma_home), cwd=REPO_ROOT,
                              timeout=120)
    finally:
        go.set()
        worker.join(120)
    assert done.returncode == 0, done.stderr
    assert outcome["summary"].status == "done"  # the resume went on and wrote the log many times since

    job = log_job(first.run_log_path, "style_1_street")
    assert job["selected_candidate"] == chosen and job["winner_override"]["note"] == "during the resume"
    assert [h["source"] for h in job["winner_history"]] == ["ranking", "human_review"]
    assert log_job(first.run_log_path, "style_2_room")["status"] == "done"
    assert_catalog_follows_the_log(workspace, Path(demo["root"]), first.run_id, first.run_log_path)


def test_a_run_whose_process_died_can_be_reviewed_one_on_another_host_cannot(workspace, demo):
    summary = execute_run(workspace, local_request(scenes=1, candidates=2))
    chosen = other_done(log_job(summary.run_log_path, "style_1_street"))
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    log = read_run_log(summary.run_log_path)

    log.update(status="running", host="render-02")
    atomic_write_json(summary.run_log_path, log)
    ingest_run_log(workspace, summary.run_log_path)
    with pytest.raises(InputError, match="still running on host render-02 .*Choose the winner there"):
        override_winner(workspace, summary.run_id, "style_1_street", chosen)

    log.update(host=this_host(), pid=child.pid, process_start=None)  # this host, its process gone
    atomic_write_json(summary.run_log_path, log)
    ingest_run_log(workspace, summary.run_log_path)
    result = override_winner(workspace, summary.run_id, "style_1_street", chosen, note="after the crash")

    assert result["changed"] and get_run(workspace, summary.run_id)["status"] == "interrupted"
    job = log_job(summary.run_log_path, "style_1_street")
    assert job["selected_candidate"] == chosen and read_run_log(summary.run_log_path)["status"] == "interrupted"
    assert job["winner_override"]["note"] == "after the crash"
