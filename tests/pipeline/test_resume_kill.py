"""Crash safety: a run killed with SIGKILL mid-flight is found interrupted and resumed under the
same id without paying any candidate twice; budget-stopped and failed runs resume too."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kroma_kit.catalog.runs import get_run
from kroma_kit.errors import InputError, SpendError
from kroma_kit.pipeline.execute import dry_run, execute_run
from kroma_kit.pipeline.metadata import embed_record, to_png_bytes
from kroma_kit.pipeline.resume import resume_run
from kroma_kit.storage.atomic import atomic_write_bytes
from kroma_kit.storage.runlog import read_run_log
from tests.conftest import cli_env
from tests.fakes.openai_images_server import Reply
from tests.pipeline.runsupport import TEST_KEY, local_request, openai_request, openai_settings, table_counts

PAID = ("generated", "done", "failed_output_guard")


def _kroma(home: Path, *args: str, env_extra: dict[str, str] | None = None, **popen) -> subprocess.Popen:
    env = {**cli_env(home), **(env_extra or {})}
    return subprocess.Popen([sys.executable, "-m", "kroma_kit", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **popen)


def _paid(log: dict) -> int:
    return sum(1 for job in log["jobs"] for c in job["candidates"] if c["status"] in PAID)


def _wait_for_paid(runs_dir: Path, count: int, timeout_s: float = 30.0) -> Path:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for path in runs_dir.glob("*.json"):
            try:
                if _paid(json.loads(path.read_text())) >= count:
                    return path
            except (ValueError, OSError):
                pass
        time.sleep(0.02)
    raise AssertionError(f"no run log reached {count} paid candidates in {timeout_s}s")


@pytest.mark.slow
def test_sigkill_then_resume_pays_no_candidate_twice(workspace, demo, fake, kroma_home):
    fake.latency_s = 0.3
    env = {"OPENAI_API_KEY": TEST_KEY, "OPENAI_BASE_URL": fake.base_url}
    child = _kroma(kroma_home, "run", "--project", "demo", "--provider", "openai", "--confirm-spend",
                   "--concurrency", "2", "--json", env_extra=env)
    try:
        log_path = _wait_for_paid(Path(demo["root"]) / "runs", 3)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    sent_before = len(fake.requests)
    killed = read_run_log(log_path)
    run_id = killed["run_id"]
    assert killed["status"] == "running"  # what the dead process left

    listing = _kroma(kroma_home, "runs", "list", "--project", "demo", "--json")
    out, err = listing.communicate(timeout=60)
    assert listing.returncode == 0, err
    assert [(run["id"], run["status"]) for run in json.loads(out)] == [(run_id, "interrupted")]
    interrupted = read_run_log(log_path)
    paid_before = _paid(interrupted)
    assert interrupted["status"] == "interrupted" and sent_before >= paid_before >= 3

    resume = _kroma(kroma_home, "run", "--resume", run_id[:8], "--confirm-spend", "--json", env_extra=env)
    out, err = resume.communicate(timeout=120)
    assert resume.returncode == 0, err
    summary = json.loads(out)
    final = read_run_log(log_path)
    adopted = sum(1 for job in final["jobs"] for c in job["candidates"] if c.get("adopted_from_file"))
    sent_by_resume = len(fake.requests) - sent_before
    assert sent_by_resume == 12 - paid_before - adopted  # only the unpaid candidates were requested
    assert len(fake.requests) <= 12 + 2  # at most the two calls in flight at the kill were lost

    assert summary["run_id"] == run_id and summary["status"] == final["status"] == "done"
    assert [r["previous_status"] for r in final["resumes"]] == ["interrupted"]
    assert len(final["cost_events"]) == 12 and len({e["event_key"] for e in final["cost_events"]}) == 12
    assert all(c["status"] == "done" for job in final["jobs"] for c in job["candidates"])
    run = get_run(workspace, run_id)
    assert run["status"] == "done" and run["jobs_done"] == run["jobs_total"] == 4
    assert run["actual_cost_usd"] == pytest.approx(final["actual_cost_usd"]) == pytest.approx(
        sum(e["cost_usd"] for e in final["cost_events"]))
    assert len(run["cost_events"]) == 12
    assert sum(len(job["candidates"]) for job in run["jobs"]) == 12
    assert {c["status"] for job in run["jobs"] for c in job["candidates"]} == {"done"}
    assert table_counts(workspace)["runs"] == 1


def test_budget_stopped_run_resumes_after_the_budget_is_raised(workspace, demo, fake, openai_key):
    settings_dir = Path(demo["root"]) / ".kroma"
    settings_dir.mkdir(exist_ok=True)
    settings_file = settings_dir / "pipeline.settings.json"
    settings_file.write_text(json.dumps({"budgets": {"per_run_usd": 0.3}}))
    settings = openai_settings(fake)
    settings.pop("budgets")
    first = execute_run(workspace, openai_request(fake, scenes=3, settings=settings), confirm_spend=True,
                        concurrency=1)
    assert first.status == "partial" and len(fake.requests) == 1

    # A crash right after a paid file hit the disk: the file (with its embedded record) exists, the log
    # does not know it. Resume must adopt it, not pay again.
    log = read_run_log(first.run_log_path)
    orphan = log["jobs"][1]["candidates"][0]
    record = {"run_id": first.run_id, "job_id": log["jobs"][1]["id"], "candidate_index": 1, "cost_usd": 0.26,
              "provider": "openai", "model": "gpt-image-1", "usage": {"output_tokens": 6240}}
    atomic_write_bytes(Path(demo["root"]) / orphan["output"], embed_record(to_png_bytes(fake_png()), record))

    with pytest.raises(SpendError, match="Spending is locked"):
        resume_run(workspace, first.run_id)
    settings_file.write_text(json.dumps({"budgets": {"per_run_usd": 5.0}}))
    resumed = resume_run(workspace, first.run_id, confirm_spend=True)
    assert resumed.run_id == first.run_id and resumed.status == "done"
    assert len(fake.requests) == 2  # job 1 paid before, job 2 adopted, only job 3 requested now
    final = read_run_log(first.run_log_path)
    assert final["jobs"][1]["candidates"][0]["adopted_from_file"] is True
    assert len(final["cost_events"]) == 3 and resumed.actual_cost_usd == pytest.approx(
        sum(e["cost_usd"] for e in final["cost_events"]))
    assert final["resumes"][0]["previous_status"] == "partial"


def test_failed_candidates_are_retried_on_resume_and_their_failure_kept(workspace, demo, fake, openai_key):
    fake.script(Reply.moderation_blocked())
    first = execute_run(workspace, openai_request(fake, scenes=2), confirm_spend=True, concurrency=1)
    assert first.status == "failed"
    resumed = resume_run(workspace, first.run_id, confirm_spend=True)
    assert resumed.status == "done" and len(fake.requests) == 3
    candidate = read_run_log(first.run_log_path)["jobs"][0]["candidates"][0]
    assert candidate["status"] == "done"
    assert "safety system" in candidate["previous_failures"][0]["error"]


def test_done_and_dry_runs_cannot_be_resumed(workspace, demo):
    done = execute_run(workspace, local_request(scenes=1, candidates=1))
    with pytest.raises(InputError, match="is done"):
        resume_run(workspace, done.run_id)
    planned = dry_run(workspace, local_request(scenes=1))
    with pytest.raises(InputError, match="dry run"):
        resume_run(workspace, planned.run_id)


def fake_png() -> bytes:
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (64, 96), (235, 235, 235))
    ImageDraw.Draw(image).ellipse((16, 24, 48, 72), fill=(40, 40, 40))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_cancelled_run_resumes_the_candidates_it_never_started(workspace, demo):
    import threading

    cancel = threading.Event()
    first = execute_run(workspace, local_request(scenes=2, candidates=2), concurrency=1, cancel=cancel,
                        on_event=lambda event: cancel.set() if event.kind == "candidate_done" else None)
    log = read_run_log(first.run_log_path)
    assert first.status == "partial" and log["jobs"][0]["status"] == "done"  # a provisional winner
    assert [c["status"] for c in log["jobs"][0]["candidates"]] == ["done", "planned"]
    resumed = resume_run(workspace, first.run_id)
    final = read_run_log(first.run_log_path)
    assert resumed.status == "done" and resumed.candidates_done == 4
    assert sorted(c["rank_position"] for c in final["jobs"][0]["candidates"]) == [1, 2]
