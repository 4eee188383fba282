"""The worker with real processes: three workers share a queue and each instruction runs once; a
worker killed with SIGKILL mid-run leaves nothing stuck (the next one takes the lock back and
resumes the same run); an external agent API is retried on 503 with Retry-After."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kroma_kit.catalog import instruction_queue as queue
from kroma_kit.catalog import instructions as ins
from kroma_kit.copilot.worker import WorkerOptions, process, run_worker
from tests.conftest import cli_env
from tests.fakes.chat_completions_server import ChatCompletionsServer, Scripted, error_reply


def _outputs(project: dict) -> None:
    root = Path(project["root"])
    (root / "outputs").mkdir(exist_ok=True)
    for scene in sorted((root / "inputs" / "scenes").glob("*.png")):
        shutil.copy(scene, root / "outputs" / scene.name)


def _qa(ws, project, n: int) -> list[str]:
    return [ins.create_instruction(ws, project["id"], "qa_check",
                                   {"project_slug": "demo", "objective": f"qa {i}", "inputs": {"path": "outputs"},
                                    "execution": {"action": "qa_check"}}, requires_confirmation=False).id
            for i in range(n)]


def _worker(home: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "kroma_kit", "worker", "--project", "demo", *extra],
                            env=cli_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_three_workers_run_each_instruction_once(kroma_home, workspace, demo_project):
    _outputs(demo_project)
    ids = _qa(workspace, demo_project, 9)
    workers = [_worker(kroma_home, "--drain", "--json") for _ in range(3)]
    stats = [json.loads(w.communicate(timeout=120)[0]) for w in workers]
    assert all(w.returncode == 0 for w in workers)
    assert sum(s["done"] for s in stats) == 9
    for ident in ids:
        item = ins.get_instruction(workspace, ident)
        assert (item.status, item.attempts) == ("done", 1)
        kinds = [e["event_type"] for e in ins.list_instruction_events(workspace, ident)]
        assert kinds.count("started") == 1 and kinds[-1] == "result"
    conn = workspace.connect()
    reports = conn.execute("SELECT COUNT(*) FROM quality_reports").fetchone()[0]
    conn.close()
    assert reports == 9 * 4
    assert len(list((Path(demo_project["root"]) / "exports" / "qa").glob("qa_*.json"))) == 9


def test_sigkill_mid_run_is_taken_back_and_resumed(kroma_home, workspace, demo_project):
    from kroma_kit.catalog.runs import list_runs
    from kroma_kit.copilot.service import confirm, send_message

    turn = send_message(workspace, "demo", "generate 3 candidates for street rooftop harbor and room")
    item = confirm(workspace, "demo", turn.instruction.id)
    worker = _worker(kroma_home, "--once")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(e["event_type"] == "run_started" for e in ins.list_instruction_events(workspace, item.id)):
            break
        time.sleep(0.05)
    else:
        worker.kill()
        pytest.fail("the worker never started the run")
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)
    stuck = ins.get_instruction(workspace, item.id)
    assert stuck.status == "running" and stuck.result.get("run_id")
    stats = run_worker(workspace, WorkerOptions(drain=True, project="demo", max_locked_seconds=600))
    assert stats.reclaimed == 1 and stats.done == 1
    final = ins.get_instruction(workspace, item.id)
    assert (final.status, final.attempts) == ("done", 2)
    kinds = [e["event_type"] for e in ins.list_instruction_events(workspace, item.id)]
    assert {"attempt_abandoned", "lock_reclaimed", "run_resumed"} <= set(kinds)
    runs = [r for r in list_runs(workspace, "demo") if r["run_mode"] == "run"]
    assert len(runs) == 1 and runs[0]["id"] == stuck.result["run_id"] and runs[0]["status"] == "done"
    assert final.result["jobs_done"] == 4


def test_dispatch_to_agent_api_retries_then_succeeds(workspace, demo_project, monkeypatch):
    with ChatCompletionsServer() as fake:
        monkeypatch.setenv("KROMA_AGENT_API_URL", fake.url("/agent"))
        monkeypatch.setenv("KROMA_AGENT_API_TOKEN", "agent-secret")
        fake.script("/agent", error_reply(503, "busy", retry_after="1"),
                    Scripted(body={"instruction_id": "x", "status": "accepted", "message": "on it"}))
        [ident] = _qa(workspace, demo_project, 1)
        item = queue.reserve_next(workspace, "w1")
        started = time.monotonic()
        final = process(workspace, item, WorkerOptions(worker_id="w1", dispatch_backoff_s=0.01))
        assert time.monotonic() - started >= 0.9  # Retry-After: 1 was honoured
        assert final.status == "done" and final.result["remote_status"] == "accepted"
        assert len(fake.requests) == 2
        sent = fake.requests[-1]
        assert sent.headers["authorization"] == "Bearer agent-secret"
        assert set(sent.json) >= {"instruction_id", "project_slug", "instruction_type", "objective", "constraints",
                                  "inputs", "execution", "confirmation_required", "requested_by", "callback"}
        assert sent.json["instruction_id"] == ident

        fake.script("/agent", *[error_reply(503, "down", retry_after="0")] * 3)
        [again] = _qa(workspace, demo_project, 1)
        item = queue.reserve_next(workspace, "w1")
        queued = process(workspace, item, WorkerOptions(worker_id="w1", dispatch_backoff_s=0.01,
                                                        retry_backoff_s=30))
        assert queued.status == "queued" and queued.next_attempt_at and "503" in queued.last_error
        assert queue.reserve_next(workspace, "w1") is None  # not before its backoff

        fake.script("/agent", Scripted(body={"instruction_id": again, "status": "rejected", "message": "no",
                                             "error": {"message": "not allowed"}}))
        [third] = _qa(workspace, demo_project, 1)
        rejected = process(workspace, queue.reserve_next(workspace, "w1"), WorkerOptions(worker_id="w1"))
        assert rejected.id == third and rejected.status == "failed" and "rejected" in rejected.last_error


def test_failed_instruction_and_cancel_request(workspace, demo_project):
    from kroma_kit.catalog.chat import list_messages
    from kroma_kit.copilot.service import cancel, confirm, send_message

    turn = send_message(workspace, "demo", "push everything to s3")
    confirm(workspace, "demo", turn.instruction.id)
    stats = run_worker(workspace, WorkerOptions(drain=True))
    failed = ins.get_instruction(workspace, turn.instruction.id)
    assert stats.failed == 1 and failed.status == "failed" and "S3 storage is disabled" in failed.last_error
    last = list_messages(workspace, turn.session.id)[-1]
    assert last.role == "assistant" and "failed" in last.text and failed.id[:8] in last.text

    _outputs(demo_project)
    outputs = sorted((Path(demo_project["root"]) / "outputs").glob("*.png"))
    turn = send_message(workspace, "demo", "remove the background then upscale")
    confirm(workspace, "demo", turn.instruction.id)
    item = queue.reserve_next(workspace, "w1")
    assert item.id == turn.instruction.id and item.status == "running"
    assert cancel(workspace, "demo", item.id).cancel_requested
    final = process(workspace, item, WorkerOptions(worker_id="w1"))
    assert final.status == "canceled" and final.finished_at
    kinds = [e["event_type"] for e in ins.list_instruction_events(workspace, item.id)]
    assert kinds[-2:] == ["cancel_requested", "canceled"] and "step_done" not in kinds
    assert sorted((Path(demo_project["root"]) / "outputs").glob("*.png")) == outputs
    assert not list((Path(demo_project["root"]) / "background_removed").glob("*.png"))
